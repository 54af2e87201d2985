"""The control plane `/_sim/...`: the simulator's own JSON API (DESIGN.md's table).

Every route is documented in docs/control-plane.md. Misuse answers a SimError as
{"error", "field"} with 400 (404 unknown vehicle/rule/platform, 409 conflicts), and a rejected
request changes nothing: bodies are read and checked completely before anything is touched.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import numpy as np
from aiohttp import web

from simulator import snapshot
from simulator.core.errors import SimError
from simulator.server import control_vehicles
from simulator.server.control_params import (
    CALLBACK_URL,
    Bool,
    Int,
    Nullable,
    Num,
    Text,
    answers_sim_errors,
    check_query,
    query_int,
    read_fields,
    read_object,
    require,
)
from simulator.server.keys import SIM
from simulator.server.rule_routes import add_rule_routes
from simulator.server.wire import json_response
from simulator.sim import Simulator

MAX_ADVANCE_S = 7 * 86_400  # one request lives through at most a week (it holds the server)
MAX_SPEED = 1_000_000.0
MAX_NEW_VEHICLES = 1_000_000


def health_json(sim: Simulator) -> dict[str, Any]:
    return {"status": "ok", "vehicles": len(sim.fleet), "platforms": len(sim.platform_list),
            "clock": sim.clock.to_json()}


async def health(request: web.Request) -> web.Response:
    return json_response(health_json(request.app[SIM]))


# -- clock -------------------------------------------------------------------------------------

CLOCK_FIELDS = {
    "advance": Num(0, MAX_ADVANCE_S),
    "speed": Num(0, MAX_SPEED, lo_open=True),
    "paused": Bool(),
}


async def get_clock(request: web.Request) -> web.Response:
    return json_response(request.app[SIM].clock.to_json())


@answers_sim_errors
async def post_clock(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    params = read_fields(await read_object(request), CLOCK_FIELDS)
    if not params:
        raise SimError("body", f"give one of {', '.join(CLOCK_FIELDS)}")
    if "paused" in params:
        sim.clock.paused = params["paused"]
    if "speed" in params:
        sim.clock.set_speed(params["speed"])
    if "advance" in params:
        sim.advance(params["advance"])
    return json_response(sim.clock.to_json())


# -- reset and snapshots -----------------------------------------------------------------------


@answers_sim_errors
async def reset(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    read_fields(await read_object(request, empty_ok=True), {})
    sim.reset()
    return json_response(health_json(sim))


async def get_snapshot(request: web.Request) -> web.Response:
    return json_response(snapshot.dump(request.app[SIM]))


@answers_sim_errors
async def put_snapshot(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    snapshot.load(sim, await read_object(request))
    return json_response(health_json(sim))


# -- the request journal -----------------------------------------------------------------------

JOURNAL_FILTERS = ("endpoint", "iotCode", "platformCode", "code", "method", "httpStatus")


@answers_sim_errors
async def get_requests(request: web.Request) -> web.Response:
    sim, q = request.app[SIM], request.query
    check_query(q, (*JOURNAL_FILTERS, "since", "limit"))
    since = query_int(q, "since", 0, 0, 10**15)
    limit = query_int(q, "limit", 1000, 1, 1_000_000)
    journal = sim.requests
    # Paging forward (`since`) takes the oldest matches; otherwise the newest.
    items = journal.select({k: q.get(k) for k in JOURNAL_FILTERS}, since=since, limit=limit,
                           first="since" in q)
    return json_response({"items": items, "seq": journal.seq, "retained": len(journal.records),
                          "capacity": journal.capacity})


# -- platforms ---------------------------------------------------------------------------------

# The region letter picks the vendor's domain (the reference's Note1) and the simulated city.
NEW_PLATFORM_CODE = Text(re.compile(r"[AEUC][A-Za-z0-9_.-]{0,63}"),
                         "a platform code starting with its region letter A, E, U or C")
SECRET = Text(re.compile(r"[\x21-\x7e]{1,256}"), "1-256 printable characters")
PLATFORM_FIELDS = {
    "clientId": NEW_PLATFORM_CODE,
    "clientSecret": SECRET,
    "callbackUrl": Nullable(CALLBACK_URL),
    "vehicles": Int(0, MAX_NEW_VEHICLES),
}
PLATFORM_PATCH = {"clientSecret": SECRET, "callbackUrl": Nullable(CALLBACK_URL)}


def platform_json(sim: Simulator, code: str) -> dict[str, Any]:
    p = sim.platforms[code]
    count = int(np.count_nonzero(sim.fleet.platform == p.index))
    return {**p.to_json(), "vehicles": count}


async def list_platforms(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return json_response({"items": [platform_json(sim, p.code) for p in sim.platform_list]})


@answers_sim_errors
async def add_platform(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    params = read_fields(await read_object(request), PLATFORM_FIELDS)
    code = require(params, "clientId")
    if code in sim.platforms:
        raise SimError("clientId", f"platform {code} exists", status=409)
    secret = params.get("clientSecret")
    if secret is None:  # seeded, so the same requests give the same secret
        bits = sim.streams.generator("platform-secret", code).integers(0, 2**63, size=2)
        secret = str(uuid.UUID(int=int(bits[0]) << 64 | int(bits[1]), version=4))
    platform = sim.add_platform(code, secret, params.get("callbackUrl"))
    if params.get("vehicles"):
        sim.add_vehicles(platform, params["vehicles"])
    return json_response(platform_json(sim, code), status=201)


@answers_sim_errors
async def patch_platform(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    code = request.match_info["clientId"]
    platform = sim.platforms.get(code)
    if platform is None:
        raise SimError("clientId", f"no platform {code}", status=404)
    params = read_fields(await read_object(request), PLATFORM_PATCH)
    if "clientSecret" in params:
        platform.secret = params["clientSecret"]
    if "callbackUrl" in params:
        platform.callback_url = params["callbackUrl"]
    return json_response(platform_json(sim, code))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/clock", get_clock)
    r.add_post("/_sim/clock", post_clock)
    r.add_post("/_sim/reset", reset)
    r.add_get("/_sim/snapshot", get_snapshot)
    r.add_put("/_sim/snapshot", put_snapshot)
    r.add_get("/_sim/requests", get_requests)
    add_rule_routes(app, "/_sim/faults", lambda sim: sim.faults, "fault rule")
    r.add_get("/_sim/platforms", list_platforms)
    r.add_post("/_sim/platforms", add_platform)
    r.add_patch("/_sim/platforms/{clientId}", patch_platform)
    control_vehicles.setup(app)
