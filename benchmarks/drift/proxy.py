"""A mutating proxy: forwards every request to the mock and rewrites the vendor answers as one
drifted cloud release would. The control plane (`/_sim/...`) passes through untouched."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

# Request headers that belong to one hop, not to the request; and Accept-Encoding, so answers
# come uncompressed and a mutation can read them.
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive",
               "accept-encoding"}
QUERY = "/api/v2/vehicle/query/current/"


def endpoint_of(path: str) -> str:
    """The reference's operation for a path: `status`, `unlock`, `setting/speed-mode`, `token`."""
    path = path.rstrip("/")
    if path == "/oauth/token":
        return "token"
    if path.startswith(QUERY) or path.startswith("/api/v2/mopeds/query/current/"):
        return path.rsplit("/", 1)[1]
    if path.startswith("/api/v2/vehicle/control/"):
        return path.rsplit("/", 1)[1]
    if path.startswith(("/api/v2/vehicle/setting/", "/api/v2/ebike/setting/")):
        return "setting/" + path.rsplit("/", 1)[1]
    return path


@dataclass
class Exchange:
    """One request and its answer as the proxy sees them; a mutation rewrites them in place."""

    endpoint: str
    method: str
    query: dict[str, str]
    headers: dict[str, str]  # the request's
    request: Any  # the request body as JSON, or None when it is not JSON
    status: int = 0
    content_type: str = ""
    answer: Any = None  # the answer as JSON, or None when it is not JSON
    raw: bytes = b""  # the answer as received (sent as is unless `answer` was rewritten)
    vehicles: frozenset[str] = frozenset()  # the target's IMEIs (known to a drifted service)
    notes: dict[str, Any] = field(default_factory=dict)  # from a mutation's request rewrite

    @property
    def code(self) -> Any:
        return self.answer.get("code") if isinstance(self.answer, dict) else None

    @property
    def data(self) -> Any:
        return self.answer.get("data") if isinstance(self.answer, dict) else None


@dataclass
class Proxy:
    """Serve `app()` on a loop; `applied` counts the answers the mutation actually changed."""

    upstream: str
    mutation: Any  # a rest.RestMutation, or None: forward everything unchanged
    vehicles: frozenset[str] = frozenset()
    applied: int = 0
    forwarded: int = 0
    broken: list[str] = field(default_factory=list)  # mutations that raised: the proxy's bugs
    state: dict[str, Any] = field(default_factory=dict)  # a mutation's memory across requests
    _session: ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_cleanup.append(self._close)
        return app

    async def _close(self, _: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._session is None:
            self._session = ClientSession(auto_decompress=False)
        body = await request.read()
        exchange = Exchange(endpoint_of(request.path), request.method, dict(request.query),
                            dict(request.headers), _json(body), vehicles=self.vehicles)
        vendor = not request.path.startswith("/_sim") and self.mutation is not None
        changed = False
        if vendor and self.mutation.request is not None and exchange.request is not None:
            original = copy.deepcopy(exchange.request)
            try:
                changed = bool(self.mutation.request(exchange))
            except Exception as exc:  # a bug of the battery, never an answer of the "cloud"
                self.broken.append(f"{request.method} {request.path_qs}: {exc!r}")
                exchange.request = original
            if changed:
                body = json.dumps(exchange.request).encode()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with self._session.request(request.method, self.upstream + request.path_qs,
                                         headers=headers, data=body,
                                         allow_redirects=False) as answer:
            exchange.raw = await answer.read()
            exchange.status = answer.status
            exchange.content_type = answer.headers.get("Content-Type", "")
        self.forwarded += 1
        if not vendor:
            return _respond(exchange.status, exchange.content_type, exchange.raw)
        exchange.answer = _json(exchange.raw)
        received = (exchange.status, exchange.content_type, exchange.raw)
        try:
            changed = bool(self.mutation.answer(exchange, self.state)) or changed
        except Exception as exc:  # answer as received: a proxy bug must not fake a catch
            self.broken.append(f"{request.method} {request.path_qs}: {exc!r}")
            return _respond(*received)
        if not changed:
            return _respond(*received)
        self.applied += 1
        raw = exchange.raw
        if exchange.answer is not None:
            raw = json.dumps(exchange.answer, separators=(",", ":")).encode()
        return _respond(exchange.status, exchange.content_type, raw)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _respond(status: int, content_type: str, raw: bytes) -> web.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return web.Response(status=status, body=raw, headers=headers)
