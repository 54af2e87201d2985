"""`POST /oauth/token`: OAuth2 client credentials, as the vendor's Spring Security answers it.

Credentials are read from the form body (the reference's way), the query string, or HTTP Basic
(both of which Spring's token endpoint also accepts). Client authentication comes first (401
invalid_client), then the grant type (400), as in Spring Security OAuth2. See FIDELITY.md.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from simulator.server.keys import SIM
from simulator.server.wire import TooLarge, json_response, read_body, too_large
from simulator.sim import Simulator

BAD_CLIENT = {"error": "invalid_client", "error_description": "Bad client credentials"}


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (unquote(user), unquote(password)) if sep else None


async def request_token(request: web.Request) -> web.Response:
    sim: Simulator = request.app[SIM]
    try:
        raw = await read_body(request)
    except TooLarge:
        record(sim, request, None, 413)
        return too_large(request.path, sim.clock.now)
    fields: dict[str, str] = dict(request.query)
    if request.content_type == "application/x-www-form-urlencoded":
        # The first value of a repeated field wins, as a servlet's getParameter.
        for key, value in reversed(parse_qsl(raw.decode("utf-8", "replace"),
                                             keep_blank_values=True)):
            fields[key] = value
    basic = _basic(request.headers.get("Authorization", ""))
    if basic:
        fields.setdefault("client_id", basic[0])
        fields.setdefault("client_secret", basic[1])

    platform = sim.platforms.get(fields.get("client_id", ""))
    secret = fields.get("client_secret", "")
    if platform is None or not hmac.compare_digest(platform.secret.encode(), secret.encode()):
        record(sim, request, fields.get("client_id"), 401)
        return json_response(BAD_CLIENT, status=401)
    grant = fields.get("grant_type")
    if grant != "client_credentials":
        record(sim, request, platform.code, 400)
        if not grant:
            return json_response(
                {"error": "invalid_request", "error_description": "Missing grant type"}, 400
            )
        return json_response(
            {"error": "unsupported_grant_type",
             "error_description": f"Unsupported grant type: {grant}"},
            400,
        )
    token = sim.tokens.grant(platform, sim.clock.now)
    record(sim, request, platform.code, 200)
    return json_response(
        {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": token.remaining(sim.clock.now),
            "scope": "read write trust",
        }
    )


def record(sim: Simulator, request: web.Request, client_id: str | None, status: int) -> None:
    sim.requests.add({"endpoint": "token", "method": request.method, "path": request.path,
                      "platformCode": client_id, "httpStatus": status, "t": sim.clock.now_ms})
