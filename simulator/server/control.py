"""The control plane `/_sim/...`: the simulator's own JSON API (DESIGN.md's table).

Every route is documented in docs/control-plane.md. Misuse answers a SimError as
{"error", "field"} with 400 (404 unknown vehicle/rule/platform, 409 conflicts), and a rejected
request changes nothing: bodies are read and checked completely before anything is touched.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from aiohttp import web

from simulator import snapshot
from simulator.core.errors import SimError
from simulator.core.models import DEFAULT as DEFAULT_MODEL
from simulator.server import control_vehicles
from simulator.server.control_models import (
    MAX_ADVANCE_S,
    ClockChange,
    FaultRuleIn,
    PlatformCreate,
    PlatformPatch,
    RequestsQuery,
    Reset,
    filters,
)
from simulator.server.control_wire import (
    SNAPSHOT_BODY,
    answers_sim_errors,
    read_body,
    read_object,
    read_query,
)
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.rule_routes import add_rule_routes
from simulator.server.state_dir import STATE_DIR
from simulator.server.wire import json_response
from simulator.sim import Simulator

__all__ = ["MAX_ADVANCE_S", "health_json", "setup"]  # scenario drivers step by MAX_ADVANCE_S


def health_json(sim: Simulator) -> dict[str, Any]:
    return {"status": "ok", "vehicles": len(sim.fleet), "platforms": len(sim.platform_list),
            "clock": clock_json(sim)}


async def health(request: web.Request) -> web.Response:
    return json_response(health_json(request.app[SIM]))


# -- clock -------------------------------------------------------------------------------------


def clock_json(sim: Simulator) -> dict[str, Any]:
    return {**sim.clock.to_json(), "tokenClock": sim.tokens.clock}


async def get_clock(request: web.Request) -> web.Response:
    return json_response(clock_json(request.app[SIM]))


@answers_sim_errors
async def post_clock(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    change = (await read_body(request, ClockChange)).values()
    if "to" in change:
        _check_clock_target(sim, change)
    if "paused" in change:
        sim.clock.paused = change["paused"]
    if "speed" in change:
        sim.clock.set_speed(change["speed"])
    if "token_clock" in change:
        sim.tokens.use_clock(change["token_clock"], sim.clock.now)
    if "advance" in change:
        sim.advance(change["advance"])
    if "to" in change:
        sim.advance_to(change["to"])
    return json_response(clock_json(sim))


def _check_clock_target(sim: Simulator, change: dict[str, Any]) -> None:
    now, to = sim.clock.now, change["to"]
    if "advance" in change:
        raise SimError("to", "give advance or to, not both")
    if to < now:
        raise SimError("to", f"{to} is before the clock's now ({now}): time only moves forward")
    if to > now + MAX_ADVANCE_S:
        raise SimError("to", f"{to} is more than {MAX_ADVANCE_S} s (a week) after now ({now}): "
                             "move the clock in steps")


# -- reset and snapshots -----------------------------------------------------------------------


@answers_sim_errors
async def reset(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    await read_body(request, Reset, empty_ok=True)
    sim.reset()
    return json_response(health_json(sim))


async def get_snapshot(request: web.Request) -> web.Response:
    return json_response(snapshot.dump(request.app[SIM]))


@answers_sim_errors
async def put_snapshot(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    # The snapshot reads its own document; only it may be large.
    snapshot.load(sim, await read_object(request, SNAPSHOT_BODY))
    return json_response(health_json(sim))


@answers_sim_errors
async def save_snapshot(request: web.Request) -> web.Response:
    """`POST /_sim/snapshot/save`: write the state directory now (serve --state-dir)."""
    await read_body(request, Reset, empty_ok=True)  # nothing to say but {} (or nothing)
    state = request.app.get(STATE_DIR)
    if state is None:
        raise SimError("state-dir", "this server has no state directory (serve --state-dir "
                                    "DIR saves there)", status=409)
    try:
        saved = state.save(request.app[SIM])
    except OSError as err:  # the disk refuses (full, gone): try again later; the old file stays
        raise SimError("state-dir", f"cannot write {state.file}: {err.strerror or err}",
                       status=503) from None
    return json_response(saved.to_json())


# -- the request journal -----------------------------------------------------------------------

@answers_sim_errors
async def get_requests(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    q = read_query(request, RequestsQuery)
    journal = sim.requests
    # Paging forward (`since`) takes the oldest matches; otherwise the newest.
    items = journal.select(filters(q), since=q.since, limit=q.limit,
                           first="since" in q.model_fields_set)
    return json_response({"items": items, "seq": journal.seq, "retained": len(journal.records),
                          "capacity": journal.capacity})


# -- platforms ---------------------------------------------------------------------------------

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
    new = await read_body(request, PlatformCreate)
    code = new.client_id
    if code in sim.platforms:
        raise SimError("clientId", f"platform {code} exists", status=409)
    secret = new.client_secret
    if secret is None:  # seeded, so the same requests give the same secret
        bits = sim.streams.generator("platform-secret", code).integers(0, 2**63, size=2)
        secret = str(uuid.UUID(int=int(bits[0]) << 64 | int(bits[1]), version=4))
    platform = sim.add_platform(code, secret, new.callback_url)
    platform.push_format = new.push_format or platform.push_format
    if new.vehicles:
        sim.add_vehicles(platform, new.vehicles, model=new.model or DEFAULT_MODEL)
    return json_response(platform_json(sim, code), status=201)


@answers_sim_errors
async def patch_platform(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    code = request.match_info["clientId"]
    platform = sim.platforms.get(code)
    if platform is None:
        raise SimError("clientId", f"no platform {code}", status=404)
    change = (await read_body(request, PlatformPatch)).values()
    if "client_secret" in change:
        platform.secret = change["client_secret"]
    if "callback_url" in change:
        platform.callback_url = change["callback_url"]
    if "push_format" in change:
        platform.push_format = change["push_format"]
    return json_response(platform_json(sim, code))


def setup(app: web.Application) -> None:
    r = JsonRoutes(app)
    r.add_get("/_sim/health", health)
    r.add_get("/_sim/clock", get_clock)
    r.add_post("/_sim/clock", post_clock)
    r.add_post("/_sim/reset", reset)
    r.add_get("/_sim/snapshot", get_snapshot)
    r.add_put("/_sim/snapshot", put_snapshot)
    r.add_post("/_sim/snapshot/save", save_snapshot)
    r.add_get("/_sim/requests", get_requests)
    add_rule_routes(app, "/_sim/faults", lambda sim: sim.faults, "fault rule", FaultRuleIn)
    r.add_get("/_sim/platforms", list_platforms)
    r.add_post("/_sim/platforms", add_platform)
    r.add_patch("/_sim/platforms/{clientId}", patch_platform)
    control_vehicles.setup(app)
