"""The control plane's push routes: the push journal and push chaos rules (docs/pushes.md).

GET /_sim/pushes ?type=&iotCode=&platformCode=&outcome=&attempt=&httpStatus=&chaos=&since=&limit=
POST /_sim/pushes/settle
POST /_sim/push-chaos · GET /_sim/push-chaos · DELETE /_sim/push-chaos[/{id}]
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from simulator.core.errors import SimError
from simulator.server.control_models import ChaosRuleIn, PushesQuery, SettleQuery, filters
from simulator.server.control_wire import answers_sim_errors, read_query
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import DISPATCHER, SIM
from simulator.server.rule_routes import add_rule_routes
from simulator.server.wire import json_response


@answers_sim_errors
async def get_pushes(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    q = read_query(request, PushesQuery)
    journal = sim.pushes
    # Paging forward (`since`) takes the oldest matches; otherwise the newest (as /_sim/requests).
    items = journal.select(filters(q), since=q.since, limit=q.limit,
                           first="since" in q.model_fields_set)
    return json_response({"items": items, "seq": journal.seq, "retained": len(journal.records),
                          "capacity": journal.capacity, "counters": sim.outbox.counters,
                          "pending": sim.outbox.pending()})


@answers_sim_errors
async def settle_pushes(request: web.Request) -> web.Response:
    """Answer once every push already due has been attempted (delivered, or refused with its
    retry scheduled): what a test in any language waits on after a command or a clock advance,
    instead of sleeping and polling the journal. `?timeout=` bounds the wait (default 30 s, six
    times the dispatcher's answer timeout: only receivers that hold many pushes reach it)."""
    timeout = read_query(request, SettleQuery).timeout
    try:
        await asyncio.wait_for(request.app[DISPATCHER].drain(), timeout)
    except TimeoutError:
        raise SimError("timeout", f"pushes still being attempted after {timeout} s: receivers "
                                  "that accept connections and answer slowly or never?",
                       status=409) from None
    outbox = request.app[SIM].outbox
    return json_response({"pending": outbox.pending(), "counters": outbox.counters})


def setup(app: web.Application) -> None:
    r = JsonRoutes(app)
    r.add_get("/_sim/pushes", get_pushes)
    r.add_post("/_sim/pushes/settle", settle_pushes)
    add_rule_routes(app, "/_sim/push-chaos", lambda sim: sim.push_chaos, "push chaos rule",
                    ChaosRuleIn)
