"""The control plane's push routes: the push journal and push chaos rules (docs/pushes.md).

GET /_sim/pushes ?type=&iotCode=&platformCode=&outcome=&attempt=&httpStatus=&chaos=&since=&limit=
POST /_sim/push-chaos · GET /_sim/push-chaos · DELETE /_sim/push-chaos[/{id}]
"""

from __future__ import annotations

import re

from aiohttp import web

from ..chaos import RULE_FIELDS
from ..errors import SimError
from ..events import KINDS
from ..outbox import OUTCOMES
from .control_params import answers_sim_errors, check_query, query_int, read_object
from .keys import SIM
from .wire import json_response

# Filter -> allowed values (None: any text).
FILTERS: dict[str, tuple[str, ...] | None] = {
    "type": KINDS, "iotCode": None, "platformCode": None, "outcome": OUTCOMES,
    "attempt": ("1", "2"), "httpStatus": None, "chaos": None,
}


@answers_sim_errors
async def get_pushes(request: web.Request) -> web.Response:
    sim, q = request.app[SIM], request.query
    check_query(q, (*FILTERS, "since", "limit"))
    for name, allowed in FILTERS.items():
        if allowed is not None and name in q and q[name] not in allowed:
            raise SimError(name, f"must be one of {', '.join(allowed)}")
    since = query_int(q, "since", 0, 0, 10**15)
    limit = query_int(q, "limit", 1000, 1, 1_000_000)
    journal = sim.pushes
    # Paging forward (`since`) takes the oldest matches; otherwise the newest (as /_sim/requests).
    items = journal.select({k: q.get(k) for k in FILTERS}, since=since, limit=limit,
                           first="since" in q)
    return json_response({"items": items, "seq": journal.seq, "retained": len(journal.records),
                          "capacity": journal.capacity, "counters": sim.outbox.counters,
                          "pending": sim.outbox.pending()})


@answers_sim_errors
async def add_chaos(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    body = await read_object(request)
    for name in body:
        if name not in RULE_FIELDS or name in ("id", "fired"):
            known = sorted(RULE_FIELDS - {"id", "fired"})
            raise SimError(name, f"unknown field; known: {', '.join(known)}")
    if "action" not in body:
        raise SimError("action", "is required")
    code, imei = body.get("platformCode"), body.get("iotCode")
    if isinstance(code, str) and code not in sim.platforms:
        raise SimError("platformCode", f"no platform {code}")
    if isinstance(imei, str) and sim.fleet.find(imei) is None:
        raise SimError("iotCode", f"no vehicle {imei}")
    rule = sim.push_chaos.add(**body)
    return json_response(rule.to_json(), status=201)


async def list_chaos(request: web.Request) -> web.Response:
    return json_response({"items": [r.to_json() for r in request.app[SIM].push_chaos.rules]})


async def delete_all_chaos(request: web.Request) -> web.Response:
    return json_response({"deleted": request.app[SIM].push_chaos.remove()})


@answers_sim_errors
async def delete_chaos(request: web.Request) -> web.Response:
    chaos = request.app[SIM].push_chaos
    raw = request.match_info["id"]
    if not re.fullmatch(r"\d{1,18}", raw) or chaos.get(int(raw)) is None:
        raise SimError("id", f"no push chaos rule {raw}", status=404)
    return json_response({"deleted": chaos.remove(int(raw))})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/pushes", get_pushes)
    r.add_post("/_sim/push-chaos", add_chaos)
    r.add_get("/_sim/push-chaos", list_chaos)
    r.add_delete("/_sim/push-chaos", delete_all_chaos)
    r.add_delete("/_sim/push-chaos/{id}", delete_chaos)
