"""The app factory: vendor routes, control plane, JSON errors for the rest, the clock's pacer."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from aiohttp import web

from simulator.core.clock import Pacer
from simulator.push.dispatcher import Dispatcher
from simulator.server import (
    control,
    dashboard,
    guard,
    metrics,
    model_routes,
    push_routes,
    scenario_routes,
    spec_routes,
    vendor,
    vendor_v1,
)
from simulator.server.control_wire import CONTROL_BODY
from simulator.server.http_errors import add_fallback
from simulator.server.keys import DISPATCHER, SIM
from simulator.sim import Simulator

PACE_INTERVAL_S = 0.05  # how often server mode catches the virtual clock up with wall time
PACE_SLICE_S = 1.0  # virtual seconds advanced between two chances for requests to run


async def _pace(sim: Simulator, pacer: Pacer) -> None:
    """Server mode: move the virtual clock with wall time times the speed factor.

    The clock is the simulator's for good (a reset or a snapshot load moves it in place); the
    pacer re-anchors whenever someone else moved it, so a reset never makes it jump.
    """
    pacer.reanchor(time.monotonic())  # from now: the app may have been made a while ago
    while True:
        await asyncio.sleep(PACE_INTERVAL_S)
        target = pacer.target(time.monotonic())
        # Catch up in slices, yielding between them: at a high --speed with many riders a wall
        # second can hold more work than it can do, and requests must still be answered. A
        # request in between may move the clock (a reset sets it back, an advance jumps): then
        # the pacer goes on from there at the next round (Pacer.target re-anchors).
        while sim.clock.now < target:
            sim.advance_to(min(target, sim.clock.now + PACE_SLICE_S))
            reached = sim.clock.now
            await asyncio.sleep(0)
            if sim.clock.now != reached:
                break


def _deliver_pushes(app: web.Application, sim: Simulator) -> None:
    """Give the app a dispatcher that delivers the outbox while the app runs (paced or not)."""
    extra = sim.config.extra
    dispatcher = Dispatcher(sim.outbox, extra.get("push_concurrency"), extra.get("push_timeout_s"),
                            extra.get("push_delivery", "local"))
    app[DISPATCHER] = dispatcher

    async def delivery(app: web.Application) -> AsyncIterator[None]:
        await dispatcher.start()
        yield
        await dispatcher.stop()

    app.cleanup_ctx.append(delivery)


def create_app(sim: Simulator, pace: bool = True,
               guarded_by: guard.Guard | None = None) -> web.Application:
    """The simulator's HTTP app. `pace=False` leaves the clock to the control plane (tests);
    `guarded_by`: the Host names and control token let in (default: loopback, no token)."""
    # Every route reads its body with its own limit (wire.read_body); this one only bounds a
    # plain request.read() should a route ever use one.
    app = web.Application(client_max_size=CONTROL_BODY)  # no middleware: http_errors.py
    app[SIM] = sim
    # Made here, not in the pacing task, so that /metrics can read how far the clock trails.
    pacer = Pacer(sim.clock, time.monotonic()) if pace else None
    vendor.setup(app)
    vendor_v1.setup(app)  # the first generation's paths, on the same host
    control.setup(app)
    model_routes.setup(app)  # /_sim/models
    dashboard.setup(app)  # the page at / and its live channel /_sim/live
    push_routes.setup(app)  # /_sim/pushes, /_sim/push-chaos
    spec_routes.setup(app)  # /_sim/openapi/{vendor,control}.json
    scenario_routes.setup(app)  # /_sim/scenarios: the scenario library on this server
    metrics.setup(app, pacer)  # /metrics: Prometheus text format
    add_fallback(app)  # last: JSON 404 and 405 for whatever no route takes
    guard.install(app, guarded_by or guard.Guard())  # after every route: Host, Origin, token
    _deliver_pushes(app, sim)  # app[DISPATCHER]: delivers pushes while the app runs

    if pacer is not None:
        async def pacing(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(_pace(sim, pacer))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(pacing)
    return app
