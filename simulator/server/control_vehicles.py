"""Control-plane vehicles: list, create, inspect, set state, make things happen.

Parse (control_models), call the world (overrides: PATCH; happenings: events), render
(control_state). A field the world refuses is named as the caller wrote it.
"""

from __future__ import annotations

import numpy as np
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from simulator.core import models
from simulator.core.errors import SimError
from simulator.server.control_models import (
    VehicleCreate,
    VehicleEvent,
    VehicleListQuery,
    VehiclePatch,
)
from simulator.server.control_state import full_state, summary
from simulator.server.control_wire import (
    aliases,
    answers_sim_errors,
    parse_body,
    read_query,
    read_raw,
    renamed,
    sim_error,
)
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.wire import json_response
from simulator.sim import DEMO_CLIENT_ID, Simulator
from simulator.world import overrides
from simulator.world.happenings import happen

EVENT = TypeAdapter[VehicleEvent](VehicleEvent)
PATCH_NAMES = aliases(VehicleCreate)
# Boolean list filters: query field -> column ("has_alerts"/"has_faults": bits set).
LIST_FLAGS = ("online", "locked", "riding", "charging", "activated", "dormant", "upgrading",
              "transport")


def row_of(sim: Simulator, request: web.Request) -> int:
    imei = request.match_info["iotCode"]
    row = sim.fleet.find(imei)
    if row is None:
        raise SimError("iotCode", f"no vehicle {imei}", status=404)
    return row


@answers_sim_errors
async def list_vehicles(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    q = read_query(request, VehicleListQuery)
    f = sim.fleet
    mask = np.ones(len(f), dtype=bool)
    if q.platform_code is not None:
        if q.platform_code not in sim.platforms:
            raise SimError("platformCode", f"no platform {q.platform_code}")
        mask &= f.platform == sim.platforms[q.platform_code].index
    if q.model is not None:
        mask &= f.model == models.INDEX[q.model]
    for name in LIST_FLAGS:
        wanted = getattr(q, name)
        if wanted is not None:
            mask &= f.column(name) == wanted
    for wanted, bits in ((q.has_alerts, f.alerts), (q.has_faults, f.faults)):
        if wanted is not None:
            mask &= (bits != 0) == wanted
    rows = np.flatnonzero(mask)
    page = rows[q.offset:q.offset + q.limit]
    return json_response({"total": len(rows), "offset": q.offset, "limit": q.limit,
                          "items": [summary(sim, int(i)) for i in page]})


@answers_sim_errors
async def create_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    body = parse_body(VehicleCreate, await read_raw(request), empty_ok=True)
    values = body.values()
    code = values.pop("platform_code", DEMO_CLIENT_ID)
    imei = values.pop("iot_code", None)
    model = values.pop("model", models.DEFAULT)
    try:
        overrides.check(overrides.NEW_VEHICLE_FLAGS, values)
    except SimError as err:
        raise renamed(err, PATCH_NAMES) from None
    platform = sim.platforms.get(code)
    if platform is None:
        raise SimError("platformCode", f"no platform {code}")
    if imei is not None and sim.fleet.find(imei) is not None:
        raise SimError("iotCode", f"vehicle {imei} exists", status=409)
    row = int(sim.add_vehicles(platform, 1, imeis=[imei] if imei else None, variety=False,
                               model=model)[0])
    # Like the reference's example vehicles: healthy, then whatever the request says.
    sim.make_healthy(np.array([row]))
    overrides.set_up(sim.fleet, row, values, sim.clock.now)  # a new vehicle reports nothing
    return json_response(full_state(sim, row), status=201)


@answers_sim_errors
async def get_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return json_response(full_state(sim, row_of(sim, request)))


@answers_sim_errors
async def patch_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    row = row_of(sim, request)
    values = parse_body(VehiclePatch, await read_raw(request)).values()
    try:
        overrides.check(overrides.flags(sim.fleet, row), values)
    except SimError as err:
        raise renamed(err, PATCH_NAMES) from None
    overrides.apply_patch(sim.fleet, row, values, sim.clock.now, sim.bus)
    return json_response(full_state(sim, row))


@answers_sim_errors
async def vehicle_event(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    row = row_of(sim, request)
    raw = await read_raw(request)
    if not raw.strip():
        raise SimError("body", "a JSON object is required")
    try:
        event = EVENT.validate_json(raw)
    except ValidationError as exc:
        raise sim_error(exc, tagged=True) from None
    fields = event.values()
    kind = fields.pop("type")
    happen(sim.fleet, row, kind, fields, sim.clock.now, sim.bus, sim.world)
    return json_response(full_state(sim, row))


def setup(app: web.Application) -> None:
    r = JsonRoutes(app)
    r.add_get("/_sim/vehicles", list_vehicles)
    r.add_post("/_sim/vehicles", create_vehicle)
    r.add_get("/_sim/vehicles/{iotCode}", get_vehicle)
    r.add_patch("/_sim/vehicles/{iotCode}", patch_vehicle)
    r.add_post("/_sim/vehicles/{iotCode}/events", vehicle_event)
