"""The first-generation (v1) surface, on the same host: paths under /api/vehicle/.

As public partner code calls it (reference/real-clients.md; FIDELITY.md, "Vehicle models"): every
call names the vehicle twice (`iotCode` and `vehicleCode`), answers carry a boolean `success`, a
`message` and `code` (0 ok) and, for the v2 host's clients that read it, `msg` too; query/get
and query/version answer flat, at the top level. The operations are the core's (names "v1/...",
checked in the same order as v2's); only the envelope is this module's.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from orjson import dumps

from simulator.core.errors import MESSAGES, VendorError
from simulator.core.operations import Trace
from simulator.server.keys import SIM
from simulator.server.vendor import Handler, command, journal, query
from simulator.server.wire import JSON
from simulator.sim import Simulator

SUCCESS = "Success"


def _answer(sim: Simulator, request: web.Request, op: str, trace: Trace, started: float,
            code: int, data: Any = None, error: VendorError | None = None) -> web.Response:
    """The v1 envelope of `code`, `data` at its top level, and the call journaled."""
    t, op_id = journal(sim, request, op, trace, started, code, error)
    msg = MESSAGES[code] if code else SUCCESS
    body: dict[str, Any] = {"success": code == 0, "code": code, "message": msg, "msg": msg,
                            **(data or {}), "t": t, "opId": op_id}
    if code == 15101:  # what makes a v1 client fetch a new token: an OAuth-style error key
        body["error"] = "invalid_token"
        body["error_description"] = "Invalid access token"
    return web.Response(body=dumps(body), content_type=JSON)


async def _query(request: web.Request, op: str) -> web.Response:
    return await query(request.app[SIM], request, op, _answer)


async def _command(request: web.Request, op: str) -> web.Response:
    return await command(request.app[SIM], request, op, _answer)


# -- the v1 operations, named after the fact sheet's calls ---------------------------------------

async def query_vehicle(request: web.Request) -> web.Response:
    return await _query(request, "v1/get")


async def query_version(request: web.Request) -> web.Response:
    return await _query(request, "v1/version")


async def unlock(request: web.Request) -> web.Response:
    return await _command(request, "v1/unlock")


async def lock(request: web.Request) -> web.Response:
    return await _command(request, "v1/lock")


async def toot(request: web.Request) -> web.Response:
    return await _command(request, "v1/toot")


async def headlight(request: web.Request) -> web.Response:
    return await _command(request, "v1/headlight")


async def speed_mode(request: web.Request) -> web.Response:
    return await _command(request, "v1/speed-mode")


async def battery_cover(request: web.Request) -> web.Response:
    return await _command(request, "v1/battery/cover")


async def speed_limit(request: web.Request) -> web.Response:
    return await _command(request, "v1/setting/speed-limit")


async def upload_location(request: web.Request) -> web.Response:
    return await _command(request, "v1/setting/location")


async def iot_bind(request: web.Request) -> web.Response:
    return await _command(request, "v1/iot/bind")


V1 = "/api/vehicle"
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("GET", f"{V1}/query/get", query_vehicle, "v1/get"),
    ("GET", f"{V1}/query/version", query_version, "v1/version"),
    ("POST", f"{V1}/control/unlock", unlock, "v1/unlock"),
    ("POST", f"{V1}/control/lock", lock, "v1/lock"),
    ("POST", f"{V1}/control/toot", toot, "v1/toot"),
    ("POST", f"{V1}/control/headlight", headlight, "v1/headlight"),
    ("POST", f"{V1}/control/speed-mode", speed_mode, "v1/speed-mode"),
    ("POST", f"{V1}/control/battery/cover", battery_cover, "v1/battery/cover"),
    ("POST", f"{V1}/setting/speed-limit", speed_limit, "v1/setting/speed-limit"),
    ("POST", f"{V1}/setting/location", upload_location, "v1/setting/location"),
    ("POST", f"{V1}/iot/bind", iot_bind, "v1/iot/bind"),
]


def setup(app: web.Application) -> None:
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
