"""The control plane's push routes: the push journal and push chaos rules (docs/pushes.md).

GET /_sim/pushes ?type=&iotCode=&platformCode=&outcome=&attempt=&httpStatus=&chaos=&since=&limit=
POST /_sim/push-chaos · GET /_sim/push-chaos · DELETE /_sim/push-chaos[/{id}]
"""

from __future__ import annotations

from aiohttp import web

from simulator.core.errors import SimError
from simulator.core.events import KINDS
from simulator.push.outbox import OUTCOMES
from simulator.server.control_params import answers_sim_errors, check_query, query_int
from simulator.server.keys import SIM
from simulator.server.rule_routes import add_rule_routes
from simulator.server.wire import json_response

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


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/_sim/pushes", get_pushes)
    add_rule_routes(app, "/_sim/push-chaos", lambda sim: sim.push_chaos, "push chaos rule",
                    required=("action",))
