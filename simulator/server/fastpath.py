"""Vendor requests go straight to their pipeline, past aiohttp's router and middleware chain.

aiohttp hands every request to `Application._handle`, which resolves the route (a match info per
request) and then runs the middleware chain (`json_errors` and aiohttp's own current-app fixer)
around the handler. On the vendor surface that machinery cost about 10 µs of the ~65 µs a status
query took (docs/speed.md), and it does nothing there: the vendor pipelines answer every failure
themselves (a vendor envelope, or the 413 body), so `json_errors` never sees one.

`install` puts an exact (method, path) table in front of `_handle`. A request for a vendor route
with its method runs its pipeline at once; everything else takes aiohttp's way unchanged: the
control plane and the dashboard, unknown paths (404) and wrong methods (405) with their JSON
bodies, the token endpoint, and any request with `Expect: 100-continue` (aiohttp answers the
interim 100 on the routed way). Paths compare as the router compares them (`path_safe`).

`_handle` is where aiohttp's server and test server take the request handler from
(`Application._make_handler`), so tests run this path too; tests/test_fastpath.py checks that it
is in place and answers exactly as the routed way does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial

from aiohttp import hdrs, web

from simulator.server import vendor
from simulator.sim import Simulator

Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install(app: web.Application, sim: Simulator) -> None:
    """The vendor routes of `sim`'s app: their pipelines, given the simulator."""
    install_table(app, {key: partial(serve, sim) for key, serve in vendor.FAST.items()})


def install_table(app: web.Application, table: Mapping[tuple[str, str], Route]) -> None:
    """Serve (method, path) -> route from `table` ahead of `app`'s router (workers.py too)."""
    routes = dict(table)
    routed = app._handle

    async def handle(request: web.Request) -> web.StreamResponse:
        route = routes.get((request.method, request.rel_url.path_safe))
        if route is None or hdrs.EXPECT in request.headers:
            return await routed(request)
        return await route(request)

    handle.routed = routed  # type: ignore[attr-defined]  # for tests: the way it bypasses
    # Application warns about unknown attributes in debug mode; this one is deliberate.
    object.__setattr__(app, "_handle", handle)


def installed(app: web.Application) -> bool:
    return hasattr(app._handle, "routed")
