"""The app factory: vendor routes, control plane, HTTP-level JSON errors, the clock's pacer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from simulator.core.clock import Pacer
from simulator.push import dispatcher as push
from simulator.server import (
    control,
    dashboard,
    fastpath,
    push_routes,
    scenario_routes,
    spec_routes,
    vendor,
)
from simulator.server.keys import SIM
from simulator.server.wire import http_error
from simulator.sim import Simulator

log = logging.getLogger("segway_sim.server")

PACE_INTERVAL_S = 0.05  # how often server mode catches the virtual clock up with wall time
PACE_SLICE_S = 1.0  # virtual seconds advanced between two chances for requests to run
MAX_CONTROL_BODY = 512 * 1024 * 1024  # snapshots of large fleets; vendor bodies have their own cap


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """No HTML and no tracebacks: every HTTP-level error has a JSON body."""
    now = request.app[SIM].clock.now
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        response = http_error(exc.status, request.path, message, now)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return http_error(500, request.path, "internal simulator error", now)


async def _pace(sim: Simulator) -> None:
    """Server mode: move the virtual clock with wall time times the speed factor."""
    pacer = Pacer(sim.clock, time.monotonic())
    while True:
        await asyncio.sleep(PACE_INTERVAL_S)
        if pacer.clock is not sim.clock:  # a reset made a new clock
            pacer = Pacer(sim.clock, time.monotonic())
        target = pacer.target(time.monotonic())
        # Catch up in slices, yielding between them: at a high --speed with many riders a wall
        # second can hold more work than it can do, and requests must still be answered.
        while sim.clock.now < target and pacer.clock is sim.clock:
            sim.advance_to(min(target, sim.clock.now + PACE_SLICE_S))
            await asyncio.sleep(0)


def create_app(sim: Simulator, pace: bool = True) -> web.Application:
    """The simulator's HTTP app. `pace=False` leaves the clock to the control plane (tests)."""
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_CONTROL_BODY)
    app[SIM] = sim
    vendor.setup(app)
    control.setup(app)
    dashboard.setup(app)  # the page at / and its live channel /_sim/live
    push_routes.setup(app)  # /_sim/pushes, /_sim/push-chaos
    spec_routes.setup(app)  # /_sim/openapi/{vendor,control}.json
    scenario_routes.setup(app)  # /_sim/scenarios: the scenario library on this server
    push.setup(app, sim)  # delivers pushes while the app runs, paced or not
    fastpath.install(app, sim)  # vendor routes skip router and middlewares (docs/speed.md)

    if pace:
        async def pacing(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(_pace(sim))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(pacing)
    return app
