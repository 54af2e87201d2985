"""The vendor surface: one route table mirroring the reference, one handler per vendor operation.

Every handler runs the same pipeline, in the order the real cloud evidently checks things:
token (15101) -> parameters (15004) -> vehicle lookup (15102, 15103) -> injected faults ->
command in flight (15104) -> vehicle state (vehicle.GUARDS) -> effect -> envelope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from time import perf_counter
from typing import Any

import orjson
from aiohttp import web
from orjson import dumps

from simulator.core import readings, vehicle
from simulator.core.errors import MESSAGES, VendorError
from simulator.core.faults import Rule
from simulator.core.params import command_params, only_imei, query_params
from simulator.core.platforms import Platform
from simulator.server.keys import SIM
from simulator.server.oauth import request_token
from simulator.server.wire import JSON, TooLarge, new_op_id, read_body, too_large
from simulator.sim import Simulator

log = logging.getLogger("segway_sim.vendor")

# Success `msg` copies each endpoint's example ("Success" or "success").
QUERY_READINGS: dict[str, tuple[Callable[[Any, int], dict[str, Any]], str, str]] = {
    # op: (reading, msg, id field)
    "status": (readings.status, "Success", "opId"),
    "location": (readings.location, "success", "opId"),
    "battery-info": (readings.battery_info, "success", "resId"),
    "bluetooth-key": (readings.bluetooth_key, "success", "opId"),
}


def authenticate(sim: Simulator, request: web.Request) -> Platform:
    """`Authorization: bearer <token>`; the scheme is case-insensitive, as real clients vary."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise VendorError(15101, "no bearer token")
    platform = sim.tokens.verify(token.strip(), sim.clock.now)
    if platform is None:
        raise VendorError(15101, "unknown or expired token")
    return platform


async def read_json(request: web.Request) -> Any:
    raw = await read_body(request)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise VendorError(15004, "body is not JSON") from exc


Handler = Callable[[web.Request], Awaitable[web.Response]]
# A vendor pipeline, given the simulator: fastpath.py calls it straight for the vendor routes.
Serve = Callable[[Simulator, web.Request], Coroutine[Any, Any, web.Response]]
_SERVES: dict[Handler, Serve] = {}


def _routed(serve: Serve) -> Handler:
    """The router's handler for `serve` (taken when the fast path hands a request back)."""

    async def handler(request: web.Request) -> web.Response:
        return await serve(request.app[SIM], request)

    _SERVES[handler] = serve
    return handler


# Every vendor request runs through here, so each handler is one coroutine doing its pipeline
# inline, and the envelope is made and journaled by one plain function (see docs/speed.md).
def _answer(sim: Simulator, record: dict[str, Any], started: float, code: int, msg: str,
            data: Any, id_field: str) -> web.Response:
    """Render the envelope of `code` (0: `data`), and journal the call as `record`."""
    t = sim.clock.now_ms
    op_id = new_op_id()
    record["t"] = t
    record["code"] = code
    record["opId"] = op_id
    record["latencyMs"] = round((perf_counter() - started) * 1000, 3)
    sim.requests.add(record)
    return web.Response(body=dumps({"code": code, "msg": msg, "data": data, "t": t,
                                    id_field: op_id}), content_type=JSON)


async def _injected(rule: Rule) -> None:
    """A matched fault rule's effect: its delay (wall time, as a slow device), then its code."""
    if rule.delayMs:
        await asyncio.sleep(rule.delayMs / 1000)
    if rule.code is not None:
        raise VendorError(rule.code, f"fault rule {rule.id}")


def _query(op: str) -> Handler:
    reading, msg, id_field = QUERY_READINGS[op]

    async def serve(sim: Simulator, request: web.Request) -> web.Response:
        started = perf_counter()
        record: dict[str, Any] = {"endpoint": op, "method": request.method, "path": request.path}
        try:
            platform = authenticate(sim, request)
            record["platformCode"] = platform.code
            imei = only_imei(request.rel_url.raw_query_string)
            params = {"iotCode": imei} if imei is not None else query_params(op, request.query)
            imei = record["iotCode"] = params["iotCode"]
            row = sim.lookup(platform, imei)
            rule = sim.faults.match(platform.code, imei, op) if sim.faults.rules else None
            if rule is not None:
                await _injected(rule)
            if params.get("realTimeLocation"):
                # Asking the device itself: like a command, it needs the vehicle reachable.
                vehicle.admit_realtime(sim.fleet, row)
            sim.query(row, op)
            data = reading(sim.fleet, row)
        except VendorError as err:
            record["detail"] = err.detail
            return _answer(sim, record, started, err.code, err.msg, None, id_field)
        except Exception:  # never a traceback on the wire: the vendor answers 15001
            log.exception("%s failed", op)
            return _answer(sim, record, started, 15001, MESSAGES[15001], None, id_field)
        return _answer(sim, record, started, 0, msg, data, id_field)

    return _routed(serve)


def _command(op: str) -> Handler:
    async def serve(sim: Simulator, request: web.Request) -> web.Response:
        started = perf_counter()
        record: dict[str, Any] = {"endpoint": op, "method": request.method, "path": request.path}
        try:
            platform = authenticate(sim, request)
            record["platformCode"] = platform.code
            body = await read_json(request)
            if isinstance(body, dict) and body.get("iotCode") is not None:
                record["iotCode"] = str(body["iotCode"])
            params = command_params(op, body)
            record["params"] = params
            row = sim.lookup(platform, params["iotCode"])
            rule = (sim.faults.match(platform.code, params["iotCode"], op) if sim.faults.rules
                    else None)
            if rule is not None and rule.code is not None and not rule.delayMs:
                raise VendorError(rule.code, f"fault rule {rule.id}")  # answered before in-flight
            sim.begin_command(row)
            try:
                if rule is not None:
                    await _injected(rule)  # a delayed answer keeps the command in flight meanwhile
                sim.command(row, op, params)
            finally:
                sim.end_command(row)
        except VendorError as err:
            record["detail"] = err.detail
            return _answer(sim, record, started, err.code, err.msg, None, "opId")
        except TooLarge:
            return too_large(request.path, sim.clock.now)
        except Exception:  # never a traceback on the wire: the vendor answers 15001
            log.exception("%s failed", op)
            return _answer(sim, record, started, 15001, MESSAGES[15001], None, "opId")
        return _answer(sim, record, started, 0, "Success", None, "opId")

    return _routed(serve)


# -- the vendor operations, named after the reference's headings ---------------------------------

get_current_status = _query("status")
get_current_location = _query("location")
get_battery_info = _query("battery-info")
get_bluetooth_key = _query("bluetooth-key")

unlock = _command("unlock")
battery_component = _command("battery-cover")
sound = _command("sound")
mech_lock = _command("mech-lock")
anti_theft = _command("anti-theft")
ambient = _command("ambient")
wireless_charging = _command("wireless-charging")
transport_mode = _command("whole-shutdown")

switch_setting = _command("setting/switch")
atmosphere_lamp_setting = _command("setting/ambient")
sound_setting = _command("setting/sound")
speed_mode = _command("setting/speed-mode")
bluetooth_key = _command("setting/bluetooth-key")
upload_interval = _command("setting/interval")

Q, C, S = "/api/v2/vehicle/query/current", "/api/v2/vehicle/control", "/api/v2/vehicle/setting"

# (method, path, handler, operation): the whole vendor surface of the reference.
ROUTES: list[tuple[str, str, Handler, str]] = [
    ("POST", "/oauth/token", request_token, "token"),
    ("GET", f"{Q}/status", get_current_status, "status"),
    ("GET", f"{Q}/location", get_current_location, "location"),
    ("GET", "/api/v2/mopeds/query/current/battery-info", get_battery_info, "battery-info"),
    ("GET", f"{Q}/battery-info", get_battery_info, "battery-info"),  # what real clients call too
    ("GET", f"{Q}/bluetooth-key", get_bluetooth_key, "bluetooth-key"),
    ("POST", f"{C}/unlock", unlock, "unlock"),
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
    ("POST", f"{S}/bluetooth-key", bluetooth_key, "setting/bluetooth-key"),
    ("POST", f"{S}/interval", upload_interval, "setting/interval"),
]


# (method, path) -> pipeline, for the fast path (fastpath.py): every route but the token's.
FAST: dict[tuple[str, str], Serve] = {
    (method, path): _SERVES[handler] for method, path, handler, _ in ROUTES if handler in _SERVES
}


def setup(app: web.Application) -> None:
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
