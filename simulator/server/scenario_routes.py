"""Scenarios on a running server: start one of the library, watch its progress, stop it.

GET /_sim/scenarios · GET|POST|DELETE /_sim/scenarios/{name} (docs/scenarios.md).

A run hosted here plays against this server's own simulator as the CLI's in-process runs do:
rentals and commands through the vendor API over HTTP to this very server, the rest through
the control plane. If the clock is paused when the run starts, the run moves it itself (as fast
as possible, or `speed` virtual seconds per wall second); if the clock is running (server mode),
the run follows it, and the story unfolds at the server's own speed. One run at a time: they
would share the clock. A reset ends the run (its world is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from simulator.core.errors import SimError
from simulator.scenarios import NAMES, get
from simulator.scenarios.drivers import LocalDriver
from simulator.scenarios.model import Plan, plan
from simulator.scenarios.receiver import Receiver
from simulator.scenarios.runner import Pacing, Result, Run, Watcher
from simulator.server.control_models import ScenarioStart
from simulator.server.control_wire import answers_sim_errors, read_body
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import DISPATCHER, SIM
from simulator.server.wire import json_response
from simulator.sim import DEMO_CLIENT_ID, Simulator

NOTES_KEPT = 50


class Hosted(Watcher):
    """One scenario of the library on this server: its latest run, as GET shows it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scenario = get(name)
        self.status = "idle"  # running, passed, failed, error, cancelled
        self.plan: Plan | None = None
        self.run: Run | None = None
        self.mode = ""
        self.task: asyncio.Task[None] | None = None
        self.receiver: Receiver | None = None
        self.t = 0.0
        self.counters: Mapping[str, int] = {}
        self.notes: deque[dict[str, Any]] = deque(maxlen=NOTES_KEPT)
        self.result: Result | None = None
        self.error: str | None = None

    # -- the watcher --------------------------------------------------------------------------

    def note(self, t: float, text: str) -> None:
        self.notes.append({"t": t, "text": text})

    def progressed(self, t: float, counters: Mapping[str, int]) -> None:
        self.t = t

    # -- what GET shows -----------------------------------------------------------------------

    def progress(self, sim: Simulator) -> float:
        if self.status in ("passed", "failed"):
            return 1.0
        if self.run is None:
            return 0.0
        lived = self.t
        if self.mode == "follow" and self.status == "running":  # the server's clock leads
            lived = max(lived, sim.clock.now - self.run.t0)
        return round(min(1.0, max(0.0, lived / self.scenario.duration)), 4)

    def summary(self, sim: Simulator) -> dict[str, Any]:
        return {"name": self.name, "description": self.scenario.description,
                "status": self.status, "progress": self.progress(sim)}

    def detail(self, sim: Simulator) -> dict[str, Any]:
        run, size = self.run, self.plan.size if self.plan else self.scenario.fleet.size
        return {
            **self.summary(sim),
            "seed": self.plan.seed if self.plan else self.scenario.seed,
            "vehicles": size,
            "duration": self.scenario.duration,
            "mode": self.mode or None,
            "platformCode": run.platform if run else None,
            "startedAt": run.t0 if run else None,
            "elapsed": self.t,
            "counters": dict(run.counters) if run else {},
            "notes": list(self.notes),
            "outcomes": [v.to_json() for v in self.result.verdicts] if self.result else [],
            "error": self.error,
        }

    # -- a run --------------------------------------------------------------------------------

    def reset(self, chosen: Plan, mode: str) -> None:
        self.plan, self.mode, self.status = chosen, mode, "running"
        self.run, self.result, self.error, self.t = None, None, None, 0.0
        self.notes.clear()

    async def finish(self, run: Run) -> None:
        try:
            self.result = await run.finish()
            self.status = "passed" if self.result.ok else "failed"
        except asyncio.CancelledError:
            self.status = "cancelled"
            raise
        except Exception as exc:  # the run's world changed under it (a reset, a snapshot)
            self.status, self.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            await self.stop_receiver()

    async def stop_receiver(self) -> None:
        if self.receiver is not None:
            await self.receiver.stop()
            self.receiver = None

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class Runs:
    def __init__(self) -> None:
        self.hosted = {name: Hosted(name) for name in NAMES}

    def running(self) -> Hosted | None:
        return next((h for h in self.hosted.values() if h.status == "running"), None)

    def find(self, request: web.Request) -> Hosted:
        name = request.match_info["name"]
        if name not in self.hosted:
            raise SimError("name", f"no scenario {name!r}; the library: {', '.join(NAMES)}",
                           status=404)
        return self.hosted[name]

    def on_reset(self) -> None:
        for hosted in self.hosted.values():
            if hosted.status == "running":  # said at once: the task hears of it a moment later
                hosted.status, hosted.error = "cancelled", "the simulator was reset"
            hosted.cancel()


RUNS = web.AppKey("scenario_runs", Runs)


def own_url(request: web.Request) -> str:
    """Where this server listens, as the run's HTTP client reaches it."""
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if isinstance(sock, tuple) and len(sock) >= 2:
        host = str(sock[0])
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
        return f"http://{f'[{host}]' if ':' in host else host}:{sock[1]}"
    return str(request.url.origin())


async def list_scenarios(request: web.Request) -> web.Response:
    sim, runs = request.app[SIM], request.app[RUNS]
    return json_response({"items": [h.summary(sim) for h in runs.hosted.values()]})


@answers_sim_errors
async def get_scenario(request: web.Request) -> web.Response:
    return json_response(request.app[RUNS].find(request).detail(request.app[SIM]))


@answers_sim_errors
async def start_scenario(request: web.Request) -> web.Response:
    sim, runs = request.app[SIM], request.app[RUNS]
    hosted = runs.find(request)
    params = await read_body(request, ScenarioStart, empty_ok=True)
    try:
        chosen = plan(hosted.scenario, params.seed, params.vehicles)
    except ValueError as exc:
        raise SimError("vehicles", str(exc)) from None
    busy = runs.running()
    if busy is not None:
        raise SimError("name", f"scenario {busy.name} is running (DELETE it first)", status=409)
    follow = not sim.clock.paused
    callback = params.callback_url or sim.platforms[DEMO_CLIENT_ID].callback_url
    hosted.reset(chosen, "follow" if follow else "drive")
    if callback is None:  # pushes stay real: a receiver of the run's own, on loopback
        hosted.receiver = await Receiver().start()
        callback = hosted.receiver.url
    driver = LocalDriver(sim, own_url(request), request.app[DISPATCHER], follow=follow)
    run = Run(chosen, driver, callback, hosted, Pacing(None if follow else params.speed))
    try:
        await run.start()
    except Exception as exc:
        hosted.status, hosted.error = "error", f"{type(exc).__name__}: {exc}"
        await hosted.stop_receiver()
        raise SimError("name", f"the scenario could not start: {hosted.error}",
                       status=409) from None
    hosted.run = run
    hosted.task = asyncio.create_task(hosted.finish(run))
    return json_response(hosted.detail(sim), status=202)


@answers_sim_errors
async def stop_scenario(request: web.Request) -> web.Response:
    hosted = request.app[RUNS].find(request)
    if hosted.status != "running" or hosted.task is None:
        raise SimError("name", f"scenario {hosted.name} is not running", status=409)
    hosted.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await hosted.task
    return json_response(hosted.detail(request.app[SIM]))


def setup(app: web.Application) -> None:
    runs = Runs()
    app[RUNS] = runs
    app[SIM].reset_hooks.append(runs.on_reset)
    r = JsonRoutes(app)
    r.add_get("/_sim/scenarios", list_scenarios)
    r.add_get("/_sim/scenarios/{name}", get_scenario)
    r.add_post("/_sim/scenarios/{name}", start_scenario)
    r.add_delete("/_sim/scenarios/{name}", stop_scenario)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        yield
        for hosted in runs.hosted.values():
            hosted.cancel()
            if hosted.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await hosted.task

    app.cleanup_ctx.append(lifetime)
