"""The vendor surface: one route table mirroring the reference, one handler per vendor operation.

Every handler runs the same pipeline, in the order the real cloud evidently checks things:
token (15101) -> parameters (15004) -> vehicle lookup (15102, 15103) -> injected faults ->
command in flight (15104) -> vehicle state (vehicle.GUARDS) -> effect -> envelope.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from .. import readings
from ..errors import VendorError
from ..platforms import Platform
from ..sim import Simulator
from .keys import SIM
from .oauth import request_token
from .params import command_params, query_params
from .wire import envelope, error_envelope, http_error, json_response

log = logging.getLogger("segway_sim.vendor")

MAX_BODY = 64 * 1024  # the vendor's bodies are tiny; anything bigger is refused with 413

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


class TooLarge(Exception):
    pass


async def read_json(request: web.Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise TooLarge
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise TooLarge
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise VendorError(15004, "body is not JSON") from exc


Work = Callable[[Simulator, web.Request, dict[str, Any]], Awaitable[tuple[Any, str]]]
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _answer(request: web.Request, op: str, id_field: str, work: Work) -> web.Response:
    """Run `work` and render its data or its vendor error; journal the call either way."""
    sim = request.app[SIM]
    started = time.perf_counter()
    record: dict[str, Any] = {"endpoint": op, "method": request.method, "path": request.path}
    try:
        data, msg = await work(sim, request, record)
        payload = envelope(0, msg, data, 0, id_field)
    except VendorError as err:
        payload = error_envelope(err, 0, id_field)
        record["detail"] = err.detail
    except TooLarge:
        return http_error(413, request.path, f"request body larger than {MAX_BODY} bytes",
                          sim.clock.now)
    except Exception:  # never a traceback on the wire: the vendor answers 15001
        log.exception("%s failed", op)
        payload = error_envelope(VendorError(15001), 0, id_field)
    payload["t"] = sim.clock.now_ms
    record.update(t=payload["t"], code=payload["code"], opId=payload[id_field],
                  latencyMs=round((time.perf_counter() - started) * 1000, 3))
    sim.requests.add(record)
    return json_response(payload)


async def _injected(sim: Simulator, platform: Platform, imei: str, op: str) -> None:
    rule = sim.faults.match(platform.code, imei, op)
    if rule is None:
        return
    if rule.delayMs:
        await asyncio.sleep(rule.delayMs / 1000)
    if rule.code is not None:
        raise VendorError(rule.code, f"fault rule {rule.id}")


def _query(op: str) -> Handler:
    reading, msg, id_field = QUERY_READINGS[op]

    async def work(sim: Simulator, request: web.Request, record: dict[str, Any]) -> tuple[Any, str]:
        platform = authenticate(sim, request)
        record["platformCode"] = platform.code
        params = query_params(op, request.query)
        record["iotCode"] = params["iotCode"]
        row = sim.lookup(platform, params["iotCode"])
        await _injected(sim, platform, params["iotCode"], op)
        sim.query(row, op)
        if params.get("realTimeLocation") and not sim.fleet.online[row]:
            raise VendorError(15301, "real-time location needs the vehicle online")
        return reading(sim.fleet, row), msg

    async def handler(request: web.Request) -> web.Response:
        return await _answer(request, op, id_field, work)

    return handler


def _command(op: str) -> Handler:
    async def work(sim: Simulator, request: web.Request, record: dict[str, Any]) -> tuple[Any, str]:
        platform = authenticate(sim, request)
        record["platformCode"] = platform.code
        body = await read_json(request)
        if isinstance(body, dict) and body.get("iotCode") is not None:
            record["iotCode"] = str(body["iotCode"])
        params = command_params(op, body)
        record["params"] = params
        row = sim.lookup(platform, params["iotCode"])
        sim.begin_command(row)
        try:
            await _injected(sim, platform, params["iotCode"], op)
            sim.command(row, op, params)
        finally:
            sim.end_command(row)
        return None, "Success"

    async def handler(request: web.Request) -> web.Response:
        return await _answer(request, op, "opId", work)

    return handler


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


def setup(app: web.Application) -> None:
    for method, path, handler, _ in ROUTES:
        app.router.add_route(method, path, handler)
