"""The vendor surface: one route table mirroring the reference, one handler per vendor operation.

A handler parses (the query string, or the JSON body), calls the core's operation
(simulator/core/operations.py, which owns the whole check order and the effect) and renders the
vendor envelope, journaling the call. The envelope is made in one place, `_answer`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, Protocol, TypeVar

import orjson
from aiohttp import web
from orjson import dumps

from simulator.core.errors import MESSAGES, VendorError
from simulator.core.operations import BodyTooLarge, Pending, Trace, Unreadable
from simulator.server.http_errors import json_errors
from simulator.server.keys import SIM
from simulator.server.oauth import request_token
from simulator.server.wire import (
    JSON,
    TooLarge,
    Undecodable,
    new_op_id,
    read_body,
    too_large,
    unread,
)
from simulator.sim import Simulator

log = logging.getLogger("segway_sim.vendor")
LONG_NUMBER = re.compile(rb"\d{19}")  # 19 digits and more may be beyond 64 bits
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Success `msg` copies each endpoint's example ("Success" or "success"); battery-info's example
# names its id `resId` where the others say `opId`.
QUERY_WIRE: dict[str, tuple[str, str]] = {  # op: (msg, id field)
    "status": ("Success", "opId"),
    "location": ("success", "opId"),
    "battery-info": ("success", "resId"),
    "bluetooth-key": ("success", "opId"),
}
COMMAND_WIRE = ("Success", "opId")  # every control's and setting's example


def journal(sim: Simulator, request: web.Request, op: str, trace: Trace, started: float,
            code: int, error: VendorError | None) -> tuple[int, str]:
    """The call journaled; its virtual time (ms) and opId, for the envelope."""
    record: dict[str, Any] = {"endpoint": op, "method": request.method, "path": request.path}
    if trace.platform is not None:
        record["platformCode"] = trace.platform
    if trace.iot_code is not None:
        record["iotCode"] = trace.iot_code
    if trace.params is not None:
        record["params"] = trace.params
    if error is not None:
        record["detail"] = error.detail
    t = sim.clock.now_ms
    op_id = new_op_id()
    record["t"] = t
    record["code"] = code
    record["opId"] = op_id
    record["latencyMs"] = round((perf_counter() - started) * 1000, 3)
    sim.requests.add(record)
    return t, op_id


class Answer(Protocol):
    """Renders a call's answer (an envelope) and journals the call: `_answer` for v2,
    vendor_v1.py's for the first generation's paths."""

    def __call__(self, sim: Simulator, request: web.Request, op: str, trace: Trace,
                 started: float, code: int, data: Any = None,
                 error: VendorError | None = None) -> web.Response: ...


def _answer(sim: Simulator, request: web.Request, op: str, trace: Trace, started: float,
            code: int, data: Any = None, error: VendorError | None = None) -> web.Response:
    """The envelope of `code` (0: `data`), and the call journaled: made nowhere else."""
    t, op_id = journal(sim, request, op, trace, started, code, error)
    success, id_field = QUERY_WIRE.get(op, COMMAND_WIRE)
    return web.Response(body=dumps({"code": code, "msg": MESSAGES[code] if code else success,
                                    "data": data, "t": t, id_field: op_id}),
                        content_type=JSON)


async def held(pending: Pending[T]) -> T:
    """Wait out a fault rule's delay (wall time, as a slow device), then take the answer."""
    try:
        await asyncio.sleep(pending.delay)
        return pending.finish()
    finally:
        pending.abandon()  # cancelled meanwhile (the client went away): release the vehicle


async def read_json(request: web.Request) -> object:
    try:
        raw = await read_body(request)
    except TooLarge:
        return Unreadable.TOO_LARGE
    except Undecodable:
        return Unreadable.UNDECODABLE
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Unreadable.NOT_JSON
    # orjson reads an integer beyond 64 bits as a float; the cloud's Jackson keeps it exact (a
    # 20-digit iotCode number is read into its String field as its digits). The standard
    # library keeps it exact too: it reads the document again only when one might be there,
    # and only once orjson has found the document valid (stricter than the standard library).
    return json.loads(raw) if LONG_NUMBER.search(raw) else body


async def query(sim: Simulator, request: web.Request, op: str,
                answer: Answer = _answer) -> web.Response:
    started = perf_counter()
    trace = Trace()
    try:
        data = sim.vendor.query(op, request.headers.get("Authorization", ""), request.rel_url,
                                trace)
        if isinstance(data, Pending):
            data = await held(data)
    except VendorError as err:
        return answer(sim, request, op, trace, started, err.code, error=err)
    except Exception:  # never a traceback on the wire: the vendor answers 15001
        log.exception("%s failed", op)
        return answer(sim, request, op, trace, started, 15001)
    return answer(sim, request, op, trace, started, 0, data)


async def command(sim: Simulator, request: web.Request, op: str,
                  answer: Answer = _answer) -> web.Response:
    started = perf_counter()
    trace = Trace()
    body: object = None
    try:
        body = await read_json(request)
        pending = sim.vendor.command(op, request.headers.get("Authorization", ""), body, trace)
        if pending is not None:
            await held(pending)
        response = answer(sim, request, op, trace, started, 0)
    except VendorError as err:
        response = answer(sim, request, op, trace, started, err.code, error=err)
    except BodyTooLarge:
        return too_large(request.path, sim.clock.now)
    except Exception:  # never a traceback on the wire: the vendor answers 15001
        log.exception("%s failed", op)
        response = answer(sim, request, op, trace, started, 15001)
    # The rest of a body that does not decode is not read (aiohttp would go on decoding it
    # to find the next request, and fail again): the connection closes after the answer.
    return unread(response) if body is Unreadable.UNDECODABLE else response


# -- the vendor operations, named after the reference's headings ---------------------------------

async def get_current_status(request: web.Request) -> web.Response:
    return await query(request.app[SIM], request, "status")


async def get_current_location(request: web.Request) -> web.Response:
    return await query(request.app[SIM], request, "location")


async def get_battery_info(request: web.Request) -> web.Response:
    return await query(request.app[SIM], request, "battery-info")


async def get_bluetooth_key(request: web.Request) -> web.Response:
    return await query(request.app[SIM], request, "bluetooth-key")


async def unlock(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "unlock")


async def lock(request: web.Request) -> web.Response:  # the scooter's
    return await command(request.app[SIM], request, "lock")


async def light(request: web.Request) -> web.Response:  # the scooter's
    return await command(request.app[SIM], request, "light")


async def battery_component(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "battery-cover")


async def sound(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "sound")


async def mech_lock(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "mech-lock")


async def anti_theft(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "anti-theft")


async def ambient(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "ambient")


async def wireless_charging(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "wireless-charging")


async def transport_mode(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "whole-shutdown")


async def switch_setting(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/switch")


async def atmosphere_lamp_setting(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/ambient")


async def sound_setting(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/sound")


async def speed_mode(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/speed-mode")


async def scooter_setting(request: web.Request) -> web.Response:  # the scooter's
    return await command(request.app[SIM], request, "setting/scooter")


async def bluetooth_key(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/bluetooth-key")


async def upload_interval(request: web.Request) -> web.Response:
    return await command(request.app[SIM], request, "setting/interval")


Q, C, S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"

# (method, path, handler, operation): the whole v2 surface, the reference's and the scooter's
# (core/models says which vehicle answers which; the first generation's is vendor_v1.py).
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("POST", "/oauth/token", json_errors(request_token), "token"),  # its errors are not envelopes
    ("GET", f"{Q}/status", get_current_status, "status"),
    ("GET", f"{Q}/location", get_current_location, "location"),
    ("GET", "/api/v2/mopeds/query/current/battery-info", get_battery_info, "battery-info"),
    ("GET", f"{Q}/battery-info", get_battery_info, "battery-info"),  # what real clients call too
    ("GET", f"{Q}/bluetooth-key", get_bluetooth_key, "bluetooth-key"),
    ("POST", f"{C}/unlock", unlock, "unlock"),
    ("POST", f"{C}/lock", lock, "lock"),
    ("POST", f"{C}/light", light, "light"),
    ("POST", f"{C}/battery-cover", battery_component, "battery-cover"),
    ("POST", f"{C}/sound", sound, "sound"),
    ("POST", f"{C}/mech-lock", mech_lock, "mech-lock"),
    ("POST", f"{C}/anti-theft", anti_theft, "anti-theft"),
    ("POST", f"{C}/ambient", ambient, "ambient"),
    ("POST", f"{C}/wireless-charging", wireless_charging, "wireless-charging"),
    ("POST", f"{C}/whole-shutdown", transport_mode, "whole-shutdown"),
    ("POST", "/api/v2/ebike/setting/switch", switch_setting, "setting/switch"),
    ("POST", f"{S}/ambient", atmosphere_lamp_setting, "setting/ambient"),
    ("POST", f"{S}/sound", sound_setting, "setting/sound"),
    ("POST", f"{S}/speed-mode", speed_mode, "setting/speed-mode"),
    ("POST", f"{S}/scooter", scooter_setting, "setting/scooter"),
    ("POST", f"{S}/bluetooth-key", bluetooth_key, "setting/bluetooth-key"),
    ("POST", f"{S}/interval", upload_interval, "setting/interval"),
]


def setup(app: web.Application) -> None:
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
