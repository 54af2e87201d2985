"""`POST /oauth/token`: OAuth2 client credentials, as the vendor's Spring Security answers it.

Credentials are read from the form body (the reference's way), the query string, or HTTP Basic
(both of which Spring's token endpoint also accepts); the rules that answer them (client
authentication 401, grant type 400, the token) are the core's (core/operations.py, `token`).
See FIDELITY.md.
"""

from __future__ import annotations

import asyncio
import base64
from time import perf_counter
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from simulator.server.keys import SIM
from simulator.server.wire import (
    TooLarge,
    Undecodable,
    json_response,
    read_body,
    too_large,
    unread,
)
from simulator.sim import Simulator

# A body whose Content-Encoding does not decode: OAuth's error for a malformed request.
UNDECODABLE = {"error": "invalid_request",
               "error_description": "The request body cannot be decoded (Content-Encoding)"}


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII (a header byte >= 0x80), not UTF-8
        return None
    return (unquote(user), unquote(password)) if sep else None


async def request_token(request: web.Request) -> web.Response:
    sim: Simulator = request.app[SIM]
    started = perf_counter()
    try:
        raw = await read_body(request)
    except TooLarge:
        record(sim, request, None, 413, started)
        return too_large(request.path, sim.clock.now)
    except Undecodable:
        record(sim, request, None, 400, started)
        return unread(json_response(UNDECODABLE, 400))
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
    answer = sim.vendor.token(fields)
    if sim.vendor.latency is not None:  # serve --latency: a cloud round trip
        await asyncio.sleep(sim.vendor.latency.cloud("token"))
    record(sim, request, answer.client, answer.status, started)
    return json_response(answer.body, answer.status)


def record(sim: Simulator, request: web.Request, client_id: str | None, status: int,
           started: float) -> None:
    sim.requests.add({"endpoint": "token", "method": request.method, "path": request.path,
                      "platformCode": client_id, "httpStatus": status, "t": sim.clock.now_ms,
                      "latencyMs": round((perf_counter() - started) * 1000, 3)})
