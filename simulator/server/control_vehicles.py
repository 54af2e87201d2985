"""Control-plane vehicles: list, create, inspect, set state, make things happen."""

from __future__ import annotations

import numpy as np
from aiohttp import web

from simulator.core.errors import SimError
from simulator.server.control_params import (
    IMEI,
    PLATFORM_CODE,
    Text,
    answers_sim_errors,
    check_query,
    query_bool,
    query_int,
    read_fields,
    read_object,
)
from simulator.server.control_state import (
    NEW_VEHICLE_FLAGS,
    apply_patch,
    current_flags,
    full_state,
    happen,
    read_patch,
    summary,
)
from simulator.server.keys import SIM
from simulator.server.wire import json_response
from simulator.sim import DEMO_CLIENT_ID, Simulator

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
# Boolean list filters: query name -> column.
LIST_FLAGS = {
    "online": "online",
    "locked": "locked",
    "riding": "riding",
    "charging": "charging",
    "activated": "activated",
    "dormant": "dormant",
    "upgrading": "upgrading",
    "transport": "transport",
}
LIST_QUERY = ("platformCode", "limit", "offset", *LIST_FLAGS, "hasAlerts", "hasFaults")
IOT_CODE = Text(IMEI, "an IMEI of 1-20 digits")
CREATE_FIELDS = {"platformCode": PLATFORM_CODE, "iotCode": IOT_CODE}


def row_of(sim: Simulator, request: web.Request) -> int:
    imei = request.match_info["iotCode"]
    row = sim.fleet.find(imei)
    if row is None:
        raise SimError("iotCode", f"no vehicle {imei}", status=404)
    return row


@answers_sim_errors
async def list_vehicles(request: web.Request) -> web.Response:
    sim, q = request.app[SIM], request.query
    check_query(q, LIST_QUERY)
    f = sim.fleet
    limit = query_int(q, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = query_int(q, "offset", 0, 0, 10**12)
    mask = np.ones(len(f), dtype=bool)
    code = q.get("platformCode")
    if code is not None:
        if code not in sim.platforms:
            raise SimError("platformCode", f"no platform {code}")
        mask &= f.platform == sim.platforms[code].index
    for name, column in LIST_FLAGS.items():
        wanted = query_bool(q, name)
        if wanted is not None:
            mask &= f.column(column) == wanted
    for name, bits in (("hasAlerts", f.alerts), ("hasFaults", f.faults)):
        wanted = query_bool(q, name)
        if wanted is not None:
            mask &= (bits != 0) == wanted
    rows = np.flatnonzero(mask)
    page = rows[offset:offset + limit]
    return json_response({"total": len(rows), "offset": offset, "limit": limit,
                          "items": [summary(sim, int(i)) for i in page]})


@answers_sim_errors
async def create_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    body = await read_object(request, empty_ok=True)
    ident = read_fields({k: v for k, v in body.items() if k in CREATE_FIELDS}, CREATE_FIELDS)
    params = read_patch({k: v for k, v in body.items() if k not in CREATE_FIELDS},
                        NEW_VEHICLE_FLAGS)
    code = ident.get("platformCode", DEMO_CLIENT_ID)
    platform = sim.platforms.get(code)
    if platform is None:
        raise SimError("platformCode", f"no platform {code}")
    imei = ident.get("iotCode")
    if imei is not None and sim.fleet.find(imei) is not None:
        raise SimError("iotCode", f"vehicle {imei} exists", status=409)
    row = int(sim.add_vehicles(platform, 1, imeis=[imei] if imei else None, variety=False)[0])
    # Like the reference's example vehicles: healthy, then whatever the request says.
    sim.make_healthy(np.array([row]))
    apply_patch(sim, row, params, publish=False)  # a new vehicle reports no changes
    return json_response(full_state(sim, row), status=201)


@answers_sim_errors
async def get_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return json_response(full_state(sim, row_of(sim, request)))


@answers_sim_errors
async def patch_vehicle(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    row = row_of(sim, request)
    body = await read_object(request)
    apply_patch(sim, row, read_patch(body, current_flags(sim.fleet, row)))
    return json_response(full_state(sim, row))


@answers_sim_errors
async def vehicle_event(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    row = row_of(sim, request)
    happen(sim, row, await read_object(request))
    return json_response(full_state(sim, row))


def setup(app: web.Application) -> None:
    app.router.add_get("/_sim/vehicles", list_vehicles)
    app.router.add_post("/_sim/vehicles", create_vehicle)
    app.router.add_get("/_sim/vehicles/{iotCode}", get_vehicle)
    app.router.add_patch("/_sim/vehicles/{iotCode}", patch_vehicle)
    app.router.add_post("/_sim/vehicles/{iotCode}/events", vehicle_event)

