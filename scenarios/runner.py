"""Plays a scenario's plan against a simulator through a driver, and checks its outcomes.

The run creates the scenario's platform (its fleet) on the target, takes an access token as a
partner app would, then lives through the story: at each step's virtual time it performs the
step's action (rentals and commands through the vendor API, everything else through the control
plane), and between steps it moves the clock in slices of `step_s` (a wall second's worth at
most when paced), collecting the pushes of each slice from the push journal and counting what
the outcomes need of them. At the end it reads the states the outcomes need and checks every
outcome. A watcher hears what happens (notes, progress, counters); a log records every operation
and every push for replay (record.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.core import models
from simulator.scenarios.drivers import VENDOR_PATHS, Driver
from simulator.scenarios.model import (
    Carry,
    ClearFaults,
    Command,
    FaultRule,
    Happen,
    Patch,
    Plan,
    Query,
    Rent,
    Step,
)
from simulator.scenarios.outcomes import Answer, Observed, Seen, State, Verdict, verdict
from simulator.scenarios.record import Log, PushIds, first_attempts

COUNTERS = ("rentals", "refused", "calls", "pushes", "delivered", "retried", "failed", "alerts",
            "faults", "conflicts", "unread")
# Push journal outcomes -> the counter of each attempt.
OUTCOME_COUNTERS = {"delivered": "delivered", "retry": "retried", "failed": "failed",
                    "dropped": "failed"}
TOKEN_FAILED = 15101
PACED_SLICE_S = 1.0  # wall seconds between two moves of the clock of a paced run, at most


class Watcher:
    """Hears what a run does; the CLI draws it, the server keeps it for GET. No-ops here."""

    def started(self, run: Run) -> None:
        """The fleet exists; the story begins."""

    def note(self, t: float, text: str) -> None:
        """A step with a note happened at virtual second `t` of the story."""

    def progressed(self, t: float, counters: Mapping[str, int]) -> None:
        """The story has reached virtual second `t`."""


class Pacing:
    """As fast as possible (`speed` None), or `speed` virtual seconds per wall second. The
    wall clock and the sleep are given, so the pacing is testable without waiting."""

    def __init__(self, speed: float | None, wall: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        if speed is not None and not (math.isfinite(speed) and speed > 0):
            raise ValueError("speed must be a number > 0")
        self.speed, self.wall, self.sleep = speed, wall, sleep
        self.origin = wall()

    def begin(self) -> None:
        """The story's second 0 is now (setting up a fleet of 100,000 takes a while: the story
        must not rush through its first minute to make that up)."""
        self.origin = self.wall()

    async def wait(self, elapsed: float) -> None:
        """Until `elapsed` virtual seconds of the story are due in wall time."""
        if self.speed is None:
            await self.sleep(0)  # let the loop breathe (a run inside the server)
            return
        delay = self.origin + elapsed / self.speed - self.wall()
        if delay > 0:
            await self.sleep(delay)

    def slice(self, step_s: float) -> float:
        """Virtual seconds between two moves of the clock: the story's step, or when paced at
        most a wall second's worth, so that the pushes come as their cadence spreads them
        rather than a step's at once (and a server's push journal is read before its ring
        wraps: 10,000 records are 3 s of a 100,000-vehicle rush hour)."""
        return step_s if self.speed is None else min(step_s, self.speed * PACED_SLICE_S)


@dataclass
class Result:
    plan: Plan
    target: str
    platform: str
    t0: float
    verdicts: list[Verdict]
    counters: dict[str, int]
    pushes_by_type: dict[str, int]
    wall_s: float

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.plan.scenario.name, "seed": self.plan.seed,
                "vehicles": self.plan.size, "platform": self.platform, "target": self.target,
                "ok": self.ok, "outcomes": [v.to_json() for v in self.verdicts],
                "counters": self.counters, "pushesByType": self.pushes_by_type}


@dataclass
class Run:
    plan: Plan
    driver: Driver
    callback: str | None  # the platform's push URL (None: no pushes)
    watcher: Watcher = field(default_factory=Watcher)
    pacing: Pacing = field(default_factory=lambda: Pacing(None))
    log: Log | None = None  # when recording

    def __post_init__(self) -> None:
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.seen = Observed(self.plan.outcomes, counters=self.counters)
        self.by_type: Counter[str] = Counter()
        self.t0 = 0.0
        self.t = 0.0  # virtual seconds of the story lived so far
        self.platform = ""
        self.imeis: list[str] = []
        self.index: dict[str, int] = {}
        self.token = ""
        self.rules: list[int] = []
        self._sent = PushIds()
        self._started = 0.0

    # -- the run --------------------------------------------------------------------------------

    async def play(self) -> Result:
        await self.start()
        return await self.finish()

    async def start(self) -> None:
        """Open the driver and create the fleet (a failure leaves nothing open)."""
        self._started = time.monotonic()
        await self.driver.open()
        try:
            await self._setup()
        except BaseException:
            await self.driver.close()
            raise
        self.watcher.started(self)

    async def finish(self) -> Result:
        """Live through the story, then check its outcomes."""
        try:
            await self._live()
            await self.driver.settle()
            await self._collect()
            verdicts = await self._check()
        finally:
            await self.driver.close()
        result = Result(self.plan, self.driver.kind, self.platform, self.t0, verdicts,
                        dict(self.counters), dict(sorted(self.by_type.items())),
                        time.monotonic() - self._started)
        if self.log is not None:
            self.log.summary(result.to_json())
        return result

    async def _setup(self) -> None:
        plan = self.plan
        # Whole milliseconds, as the push journal's `due` is: a running server's clock has
        # fractions, and a push at t0 + 600 would otherwise land just before 600.
        self.t0 = math.floor(await self.driver.now() * 1000) / 1000
        if self.log is not None:
            self.log.begin(plan.scenario.name, plan.seed, plan.size, self.driver.kind)
        base = plan.scenario.fleet.platform
        body: dict[str, Any] = {"clientSecret": plan.secret, "callbackUrl": self.callback,
                                "vehicles": plan.size}
        if plan.scenario.fleet.model != models.DEFAULT:  # the A200's body stays as it was
            body["model"] = plan.scenario.fleet.model
        for n in range(1, 1000):  # a simulator that already has the platform: the next name
            code = base if n == 1 else f"{base}-{n}"
            status, _ = await self.driver.add_platform({"clientId": code, **body})
            if status == 201:
                break
        else:
            raise RuntimeError(f"no free platform code like {base}")
        self.platform = code
        self.imeis = await self.driver.imeis(code)
        self.index = {imei: n for n, imei in enumerate(self.imeis)}
        self.token = await self.driver.token(code, plan.secret)

    async def _live(self) -> None:
        plan, step_s = self.plan, self.pacing.slice(self.plan.scenario.step_s)
        self.pacing.begin()
        steps, i = plan.steps, 0
        while True:
            while i < len(steps) and steps[i].t <= self.t:
                await self._perform(steps[i])
                i += 1
            if self.t >= plan.scenario.duration:
                return
            target = min(plan.scenario.duration, (math.floor(self.t / step_s) + 1) * step_s)
            if i < len(steps):
                target = min(target, steps[i].t)
            await self.driver.advance_to(self.t0 + target)
            self.t = target
            await self._collect()
            self.watcher.progressed(self.t, self.counters)
            await self.pacing.wait(self.t)

    # -- actions --------------------------------------------------------------------------------

    async def _perform(self, step: Step) -> None:
        if step.note:
            self.watcher.note(step.t, step.note)
        a, imeis = step.action, self.imeis
        if isinstance(a, Rent):
            if await self._command(a.vehicle, "unlock", {}) == 0:
                self.counters["rentals"] += 1
                await self._event(a.vehicle, {"type": "ride", "seconds": a.ride_s})
            else:
                self.counters["refused"] += 1
        elif isinstance(a, Command):
            for v in a.vehicles:
                await self._command(v, a.op, dict(a.body))
        elif isinstance(a, Query):
            for v in a.vehicles:
                await self._vendor(v, a.op, None, dict(a.params))
        elif isinstance(a, Happen):
            for v in a.vehicles:
                await self._event(v, {"type": a.type, **a.fields})
        elif isinstance(a, Patch):
            for v in a.vehicles:
                await self.driver.patch(imeis[v], dict(a.fields))
        elif isinstance(a, Carry):
            await self._carry(a)
        elif isinstance(a, FaultRule):
            targets = [{"iotCode": imeis[v]} for v in a.vehicles] or [
                {"platformCode": self.platform}]
            for target in targets:
                self.rules.append(await self.driver.add_fault({**a.rule, **target}))
        elif isinstance(a, ClearFaults):
            for rule in self.rules:
                await self.driver.delete_fault(rule)
            self.rules.clear()

    async def _command(self, v: int, op: str, body: dict[str, Any]) -> int:
        return await self._vendor(v, op, {"iotCode": self.imeis[v], **body}, None)

    async def _vendor(self, v: int, op: str, body: dict[str, Any] | None,
                      params: dict[str, str] | None) -> int:
        path = VENDOR_PATHS[op]
        method, query = ("POST", None) if body is not None else (
            "GET", {"iotCode": self.imeis[v], **(params or {})})
        for _ in range(2):
            answer = await self.driver.vendor(method, path, self.token, body, query)
            if answer["code"] != TOKEN_FAILED:
                break
            self.token = await self.driver.token(self.platform, self.plan.secret)  # expired
        self.counters["calls"] += 1
        code = int(answer["code"])
        self.seen.answer(Answer(self.t, op, v, code, answer.get("data")))
        return code

    async def _event(self, v: int, body: dict[str, Any]) -> None:
        # 409: the state does not allow it (a ride the target's own rider already took).
        if await self.driver.event(self.imeis[v], body) == 409:
            self.counters["conflicts"] += 1

    async def _carry(self, a: Carry) -> None:
        where = (await self.driver.vehicle(self.imeis[a.vehicle]))["location"]
        lat, lon = float(where["latitude"]), float(where["longitude"])
        m_lat = math.pi / 180 * 6_371_008.8
        lat2 = max(-90.0, min(90.0, lat + a.north_m / m_lat))
        lon2 = lon + a.east_m / (m_lat * math.cos(math.radians(lat)))
        await self.driver.patch(self.imeis[a.vehicle],
                                {"latitude": round(lat2, 7), "longitude": round(lon2, 7)})

    # -- observing ------------------------------------------------------------------------------

    async def _collect(self) -> None:
        records = await self.driver.pushes(self.platform)
        self.counters["unread"] = self.driver.unread
        for r in records:
            outcome = r["outcome"]
            if outcome in OUTCOME_COUNTERS:
                self.counters[OUTCOME_COUNTERS[outcome]] += 1
        firsts = first_attempts(records, self._sent)
        for r in firsts:
            fields = r["fields"]
            self.counters["pushes"] += 1
            self.by_type[r["type"]] += 1
            if fields.get("alertStatus") == "0":
                self.counters["alerts"] += 1
            if fields.get("faultStatus") == "0":
                self.counters["faults"] += 1
            self.seen.push(Seen(r["due"] / 1000 - self.t0, r["type"], self.index.get(r["iotCode"]),
                                fields))
        if self.log is not None:
            self.log.pushes(firsts)

    async def _check(self) -> list[Verdict]:
        wanted = sorted({v for o in self.plan.outcomes if isinstance(o, State)
                         for v in o.vehicles})
        for v in wanted:
            self.seen.states[v] = await self.driver.vehicle(self.imeis[v])
        return [verdict(o, self.seen) for o in self.plan.outcomes]
