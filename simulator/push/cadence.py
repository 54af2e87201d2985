"""When vehicles push: periodic location and status reports, and pushes on every change.

The reference: location every 10 s while unlocked and every 900 s while locked; status every
10 s while riding; alert, fault and components pushes as they happen; /setting/interval changes
each period (locationInterval unlockStatus/lockStatus, statusInterval ridingStatus/nonRiding/
lockStatus; 0 in the fleet's interval columns means no periodic push of that kind).

Periodic reports are found vectorised over the fleet each clock step: every vehicle has the
exact virtual time of its next location and status report; a step emits all reports due inside
it in time order (several per vehicle when a step is longer than a period, as in a 24 h jump),
each stamped with its own due time. The period in effect is recomputed from the fleet's columns
every step, so the schedule follows any change of lock, riding, online or interval, whoever made
it: a change takes effect from the start of the step that sees it, and the next report comes at
the earlier of the old schedule and one new period after the change. Vehicles start at a seeded
random phase of their period, so a fleet's reports spread evenly over time. Every report of a
step carries the state the vehicle is in during that step: the other tickers (physics, riders)
end their steps where the state changes.

Change-driven pushes come from the bus (STATUS, ALERT, FAULT, COMPONENTS events) as they happen.
Only activated, online vehicles push (and not in transport mode); the status change that takes a
vehicle offline is still reported once, as the cloud sees the disconnection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from simulator.core.env import Env
from simulator.core.errors import SimError
from simulator.core.events import LOCATION, STATUS, Event
from simulator.core.fleet import Column
from simulator.core.rng import hash_uniform, stream_id
from simulator.core.serial import Loading, column_from_json, column_json, rng_from_json, rng_json
from simulator.push.chaos import PushChaos
from simulator.push.outbox import Outbox

PERIODIC = (LOCATION, STATUS)  # column order of the schedule arrays
_PHASE_STREAM = stream_id("push-phase")
MAX_PERIOD_S = 65535  # the interval settings' largest value
SLACK_S = 1.0  # rounding: every step leaves each next report after the clock, within a period


class Cadence:
    """The push schedule of the fleet. The simulator (simulator/sim.py) wires it in: `tick` as a
    ticker (`horizon`: it never needs a step to end), `on_event` on the bus, `reset` on a reset,
    `dump` and `prepare` as the snapshot part "pushes" (the schedule and the chaos rules)."""

    def __init__(self, env: Env, outbox: Outbox) -> None:
        self.env = env
        self.outbox = outbox
        self.chaos: PushChaos = outbox.chaos
        self.reset()

    def reset(self) -> None:
        """No vehicle scheduled: each gets its seeded phase at the next step that sees it."""
        self._n = 0
        # Per vehicle, per periodic kind: the period in effect (s, 0: none) and the next due time
        # (virtual epoch s, +inf: none).
        self.period = np.zeros((0, 2))
        self.next = np.zeros((0, 2))
        self.reported_online = np.zeros(0, dtype=bool)  # what the last status push said

    @staticmethod
    def horizon(now: float) -> float:
        """Reports due inside a step go out with their own exact times, so the cadence never
        needs a step to end at one: it lets the other tickers choose the step length."""
        return math.inf

    # -- the schedule -------------------------------------------------------------------------

    def periods(self, rows: slice = slice(None)) -> np.ndarray:
        """(n, 2) location and status periods (s) the vehicles are on now; 0: no periodic push."""
        f = self.env.fleet
        locked = f.locked[rows]
        out = np.empty((len(locked), 2))
        out[:, 0] = np.where(locked, f.loc_lock_interval[rows], f.loc_unlock_interval[rows])
        out[:, 1] = np.where(f.riding[rows], f.status_riding_interval[rows],
                             np.where(locked, f.status_lock_interval[rows],
                                      f.status_nonriding_interval[rows]))
        out *= (f.activated[rows] & f.online[rows] & ~f.transport[rows])[:, None]
        return out

    def _sync(self, start: float) -> None:
        """Match the arrays to the fleet; new vehicles begin at a seeded phase of their period."""
        f = self.env.fleet
        n = len(f)
        if n == self._n:
            return
        new = slice(self._n, n)
        period = self.periods(new)
        phase = 1.0 - hash_uniform(self.env.seed, f.uid[new], 0, _PHASE_STREAM)  # (0, 1]
        due = np.where(period > 0, start + period * phase[:, None], np.inf)
        self.period = np.concatenate([self.period, period])
        self.next = np.concatenate([self.next, due])
        self.reported_online = np.concatenate([self.reported_online, f.online[new]])
        self._n = n

    def tick(self, now: float, dt: float) -> None:
        start = now - dt
        self._sync(start)
        period = self.periods()
        changed = np.flatnonzero(self.period != period)
        if changed.size:
            p = period.ravel()[changed]
            nxt = self.next.ravel()
            nxt[changed] = np.where(p > 0, np.minimum(nxt[changed], start + p), np.inf)
            self.period.ravel()[changed] = p
        due = np.flatnonzero(self.next <= now)
        if due.size:
            self._emit(due, now)

    def _emit(self, due: np.ndarray, now: float) -> None:
        """Push every report due by `now`, in time order, and move the schedule past `now`."""
        nxt, per = self.next.ravel(), self.period.ravel()
        first, p = nxt[due], per[due]
        count = np.floor((now - first) / p).astype(np.int64) + 1
        nxt[due] = first + count * p
        rep = np.repeat(np.arange(due.size), count)
        k = np.arange(rep.size) - np.repeat(np.cumsum(count) - count, count)  # k-th of its run
        times, cells = first[rep] + k * p[rep], due[rep]
        outbox = self.outbox
        # By time, then vehicle, location before status (cells are row * 2 + kind).
        order = np.lexsort((cells, times))
        for cell, t in zip(cells[order].tolist(), times[order].tolist(), strict=True):
            row, kind = divmod(cell, 2)
            outbox.push(PERIODIC[kind], row, t)

    # -- changes ------------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        f, row = self.env.fleet, event.row
        if not f.activated[row]:
            return
        if event.kind == STATUS:
            self._sync(event.t)
            online = bool(f.online[row])
            was = bool(self.reported_online[row])
            self.reported_online[row] = online
            if not (online or was):
                return
        elif not f.online[row] or f.transport[row]:
            return
        self.outbox.push(event.kind, row, event.t, event.data)

    # -- snapshots (see snapshot.py): the schedule and the chaos rules travel with the world --

    def dump(self) -> dict[str, Any]:
        n = self._n
        chaos = self.chaos
        return {
            "schedule": {"period": column_json(self.period[:n]),
                         "next": column_json(self.next[:n]),
                         "reportedOnline": column_json(self.reported_online[:n])},
            "chaos": {**chaos.to_json(), "rng": rng_json(chaos.rng)},
        }

    def prepare(self, data: Any, loading: Loading) -> Callable[[], None]:
        if data is None:  # a snapshot from before pushes had a part: every phase afresh
            return self.reset
        if not isinstance(data, dict) or not isinstance(data.get("schedule"), dict):
            raise SimError("parts.pushes", "must be {schedule, chaos}")
        raw = data["schedule"]
        n = len(raw["next"]) if isinstance(raw.get("next"), list) else 0
        name = "parts.pushes.schedule."
        if n > loading.rows:  # fewer is fine: vehicles added since the last step get a phase
            raise SimError(name + "next", f"must have at most a row per vehicle ({loading.rows})")
        period = column_from_json(name + "period", Column(np.float64, 0, 2), raw.get("period"), n)
        nxt = column_from_json(name + "next", Column(np.float64, 0, 2), raw.get("next"), n)
        online = column_from_json(name + "reportedOnline", Column(np.bool_, False),
                                  raw.get("reportedOnline"), n)
        _check_schedule(name, period, nxt, loading.now)
        chaos_data = data.get("chaos")
        if not isinstance(chaos_data, dict):
            raise SimError("parts.pushes.chaos", "must be {nextId, rules, rng}")
        rng = rng_from_json("parts.pushes.chaos.rng", chaos_data.get("rng"))
        try:
            chaos = PushChaos.from_json({k: v for k, v in chaos_data.items() if k != "rng"}, rng)
        except SimError as exc:
            raise SimError(f"parts.pushes.{exc.field}", exc.message) from None

        def install() -> None:
            self.chaos.copy_from(chaos)
            self.period, self.next, self.reported_online = period, nxt, online
            self._n = n

        return install


def _check_schedule(name: str, period: np.ndarray, nxt: np.ndarray, now: float) -> None:
    """A period within the interval settings' range, and a next report after the clock and at
    most a period ahead (as every step leaves it), or none without a period: anything else would
    push garbage, or a flood of overdue reports, at the next step."""
    with np.errstate(invalid="ignore"):
        bad_period = ~((period >= 0) & (period <= MAX_PERIOD_S))
        due = period > 0
        bad_next = np.where(due, ~((nxt >= now - SLACK_S) & (nxt <= now + period + SLACK_S)),
                            nxt != np.inf)
    for column, bad, what in (
        ("period", bad_period, f"a number of seconds within 0 to {MAX_PERIOD_S}"),
        ("next", bad_next, "the time of the next report: within a period of the clock, "
                           "Infinity without a period"),
    ):
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise SimError(f"{name}{column}[{row}]", f"must be {what}")
