"""Create, list and delete routes for a seeded rule set (fault rules, push chaos)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from simulator.core.errors import SimError
from simulator.core.rules import RuleSet
from simulator.server.control_wire import WireModel, answers_sim_errors, read_body
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.wire import json_response
from simulator.sim import Simulator


def add_rule_routes(
    app: web.Application,
    path: str,
    rules_of: Callable[[Simulator], RuleSet[Any]],
    label: str,
    model: type[WireModel],
) -> None:
    """POST `path` (201 with the rule), GET `path`, DELETE `path` (all), DELETE `path`/{id}.

    `model` is what a caller may set of a rule (`id` and `fired` are the simulator's); the
    rule class checks its own whole (a fault rule needs a code or a delay), as it does when a
    snapshot or a scenario makes one.
    """
    async def add(request: web.Request) -> web.Response:
        sim = request.app[SIM]
        rules = rules_of(sim)
        body = (await read_body(request, model)).model_dump(by_alias=True, exclude_unset=True)
        _check_targets(sim, body.get("platformCode"), body.get("iotCode"))
        return json_response(rules.add(**body).to_json(), status=201)

    async def list_rules(request: web.Request) -> web.Response:
        return json_response({"items": [r.to_json() for r in rules_of(request.app[SIM]).rules]})

    async def delete_all(request: web.Request) -> web.Response:
        return json_response({"deleted": rules_of(request.app[SIM]).remove()})

    async def delete_one(request: web.Request) -> web.Response:
        rules = rules_of(request.app[SIM])
        raw = request.match_info["id"]
        if not re.fullmatch(r"\d{1,18}", raw) or rules.get(int(raw)) is None:
            raise SimError("id", f"no {label} {raw}", status=404)
        return json_response({"deleted": rules.remove(int(raw))})

    r = JsonRoutes(app)
    r.add_post(path, answers_sim_errors(add))
    r.add_get(path, list_rules)
    r.add_delete(path, delete_all)
    r.add_delete(path + "/{id}", answers_sim_errors(delete_one))


def _check_targets(sim: Simulator, code: Any, imei: Any) -> None:
    """A rule naming a platform or vehicle that does not exist could never fire: refuse it."""
    if isinstance(code, str) and code not in sim.platforms:
        raise SimError("platformCode", f"no platform {code}")
    row = sim.fleet.find(imei) if isinstance(imei, str) else None
    if isinstance(imei, str) and row is None:
        raise SimError("iotCode", f"no vehicle {imei}")
    if row is not None and code is not None and sim.platform_of(row).code != code:
        raise SimError("iotCode", f"{imei} belongs to platform {sim.platform_of(row).code}")
