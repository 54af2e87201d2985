"""Who the contract suite talks to, and a small blocking client for the vendor surface.

The client is the standard library's: the suite must run wherever a partner can run pytest, and
it sees the wire exactly as sent (no client library smoothing over types or statuses).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from simulator.core.control_token import control_headers

TIMEOUT_S = 30.0
# A syntactically valid IMEI that no platform owns: requests naming it move no hardware.
NOBODY_IMEI = "000000000000000"


@dataclass
class Reply:
    status: int
    body: Any  # decoded JSON, or the raw text when it is not JSON
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> Any:
        return self.body.get("code") if isinstance(self.body, dict) else None

    def __repr__(self) -> str:
        return f"Reply(HTTP {self.status}, {json.dumps(self.body)[:400]})"


def request(method: str, url: str, *, data: bytes | None = None,
            headers: dict[str, str] | None = None) -> Reply:
    """One blocking request; a control-plane one (`/_sim/...`) carries the control token of the
    environment (SEGWAY_SIM_CONTROL_TOKEN), unless `headers` say who is asking."""
    headers = dict(headers or {})
    if urllib.parse.urlsplit(url).path.startswith("/_sim/") and "Authorization" not in headers:
        headers.update(control_headers())
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
            status, raw, hdrs = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        status, raw, hdrs = err.code, err.read(), dict(err.headers)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Reply(status, body, hdrs)


@dataclass
class Target:
    base_url: str
    client_id: str
    client_secret: str
    iot_code: str
    mock: bool  # the target answers the simulator's control plane (/_sim/...)
    allow_control: bool
    allow_settings: bool
    _token: str | None = None

    # -- OAuth ----------------------------------------------------------------------------------

    def token_request(self, client_id: str | None = None, client_secret: str | None = None,
                      grant_type: str | None = "client_credentials") -> Reply:
        form = {"client_id": self.client_id if client_id is None else client_id,
                "client_secret": self.client_secret if client_secret is None else client_secret}
        if grant_type is not None:
            form["grant_type"] = grant_type
        return request("POST", self.base_url + "/oauth/token",
                       data=urllib.parse.urlencode(form).encode(),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})

    def token(self) -> str:
        if self._token is None:
            reply = self.token_request()
            assert reply.status == 200, f"no token: {reply}"
            self._token = str(reply.body["access_token"])
        return self._token

    def forget_token(self) -> None:
        self._token = None

    def auth(self, scheme: str = "bearer", token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"{scheme} {self.token() if token is None else token}"}

    # -- the vendor surface ---------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Reply:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        return request("GET", self.base_url + path + query,
                       headers=self.auth() if headers is None else headers)

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> Reply:
        hdrs = {"Content-Type": "application/json",
                **(self.auth() if headers is None else headers)}
        data = raw if raw is not None else json.dumps(body).encode()
        return request("POST", self.base_url + path, data=data, headers=hdrs)

    # -- the simulator's control plane (mock targets only) --------------------------------------

    def control(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        assert self.mock, "the control plane exists on the simulator only"
        params = {k: v for k, v in query.items() if v is not None}
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = None if body is None else json.dumps(body).encode()
        reply = request(method, url, data=data, headers={"Content-Type": "application/json"})
        assert 200 <= reply.status < 300, f"control plane {method} {path}: {reply}"
        return reply.body


def probe_mock(base_url: str) -> bool:
    """Does `base_url` answer the simulator's health route? (A harmless GET on the real cloud.)"""
    try:
        reply = request("GET", base_url + "/_sim/health")
    except OSError:
        return False
    return reply.status == 200 and isinstance(reply.body, dict) and reply.body.get("status") == "ok"
