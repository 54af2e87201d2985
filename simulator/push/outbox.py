"""Pushes on their way out: the signed form of each push type, and bounded per-platform queues.

Never awaits: the cadence puts pushes here, chaos rules act on them on the way in, and the
delivery side (dispatcher.py) takes them, performs them and reports each attempt back through
`attempted`, which journals it and schedules the one retry 5 virtual seconds later. What does not
fit in a platform's queue is dropped and journaled as such, so a slow or dead receiver costs a
bounded amount of memory.

A reset clears the outbox in place and starts a new generation: attempts of pushes from before
it that are still in flight when they end are neither journaled nor retried (they belong to a
world that is gone).
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

from simulator.core import readings
from simulator.core.env import Env
from simulator.core.events import ALERT, COMPONENTS, FAULT, LOCATION, STATUS
from simulator.core.journal import Journal
from simulator.push.chaos import PushChaos
from simulator.push.signing import SIGNATURE, sign

RETRY_DELAY_S = 5.0  # "our server will retry in 5 seconds, this retry will only be done once"
DEFAULT_QUEUE = 20_000  # pushes waiting per platform before new ones are dropped
OUTCOMES = ("delivered", "retry", "failed", "dropped")


def _float_text(value: float) -> str:
    shown = repr(value)
    return shown if "e" not in shown else f"{value:.6f}".rstrip("0").rstrip(".")


_TEXT: dict[type, Any] = {bool: lambda b: "true" if b else "false", float: _float_text}


def text(value: Any) -> str:
    """A field value as the form carries it: booleans as true/false, floats never exponential."""
    return str(_TEXT.get(type(value), str)(value))


def form(env: Env, kind: str, row: int, t: float, data: dict[str, Any]) -> dict[str, str]:
    """The fields of push `kind` for fleet row `row` at virtual time `t`, as strings, unsigned.

    Field names and order follow the reference's PUSH tables (not the query tables).
    """
    fleet = env.fleet
    head: dict[str, Any] = {"iotCode": fleet.imeis[row],
                            "platformCode": env.platform_of(row).code}
    fields: dict[str, Any]
    if kind == STATUS:
        fields = {**head, **readings.status(fleet, row)}
        fields["statusUtcTime"] = int(t)  # the time of this report
    elif kind == LOCATION:
        loc = readings.location(fleet, row)
        valid = bool(fleet.location_valid[row] and fleet.has_fix[row])
        fields = {**head, "locationStatus": "valid" if valid else "invalid", **loc}
        # A report cannot carry a fix newer than itself (long steps settle state at their end).
        fields["gpsUtcTime"] = min(loc["gpsUtcTime"], int(t))
    elif kind == ALERT:
        fields = {**head, "statusUtcTime": int(t), "alertStatus": data["alertStatus"],
                  "code": data["code"]}
    elif kind == FAULT:
        fields = {**head, "statusUtcTime": int(t), "faultStatus": data["faultStatus"],
                  "code": data["code"]}
    elif kind == COMPONENTS:
        fields = {**head, "type": data.get("type", 5), "status": data.get("status", 2),
                  "statusUtcTime": int(t)}
    else:
        raise ValueError(f"no push of kind {kind!r}")
    return {k: v if type(v) is str else text(v) for k, v in fields.items()}


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]*")  # what percent-encoding leaves as it is


def encode(fields: dict[str, str]) -> bytes:
    """The form body. Push values are digits, letters, "." and "-", which need no escaping, so
    the body is usually the signed strings verbatim; anything else is percent-encoded."""
    if _UNRESERVED.fullmatch("".join(fields) + "".join(fields.values())):
        return "&".join(f"{k}={v}" for k, v in fields.items()).encode()
    return urlencode(fields, quote_via=quote).encode()


@dataclass(slots=True, eq=False)
class Push:
    id: int
    kind: str
    iot_code: str
    platform: str
    url: str
    fields: dict[str, str]  # exactly as sent, signature included
    body: bytes
    due: float  # virtual time the push is for
    attempt: int = 1
    chaos: str | None = None  # the chaos action applied to it, if any
    rule: int | None = None
    generation: int = 0  # of the outbox: a reset starts a new one

    def record(self, **outcome: Any) -> dict[str, Any]:
        """A journal record of this push with the attempt's outcome."""
        return {"pushId": self.id, "type": self.kind, "iotCode": self.iot_code,
                "platformCode": self.platform, "url": self.url, "fields": self.fields,
                "signature": self.fields.get(SIGNATURE), "attempt": self.attempt,
                "due": int(self.due * 1000), "chaos": self.chaos, "chaosRule": self.rule,
                **outcome}


Wakeup = Callable[[str], None]  # told the platform code whose queue got work


class Outbox:
    def __init__(self, env: Env, chaos: PushChaos, journal: Journal,
                 limit: int = DEFAULT_QUEUE) -> None:
        self.env = env
        self.chaos = chaos
        self.journal = journal
        self.limit = limit
        self.generation = 0
        self.queues: dict[str, deque[Push]] = {}
        self.held: dict[str, list[Push]] = {}  # reorder: waiting for the platform's next push
        self.wakeup: Wakeup | None = None  # set by the running dispatcher
        self.counters = dict.fromkeys(("queued", *OUTCOMES), 0)
        self._ids = itertools.count(1)

    def clear(self) -> None:
        """A reset: what waits is discarded unsent, counts and ids start again, and attempts
        still in flight from before are ignored when they end (a new generation)."""
        self.generation += 1
        self.queues.clear()
        self.held.clear()
        self.counters = dict.fromkeys(("queued", *OUTCOMES), 0)
        self._ids = itertools.count(1)

    # -- in -----------------------------------------------------------------------------------

    def push(self, kind: str, row: int, t: float, data: dict[str, Any] | None = None) -> None:
        """Sign and submit push `kind` of `row` for virtual time `t` (no callback: no push)."""
        platform = self.env.platform_of(row)
        if platform.callback_url is None:
            return
        url = f"{platform.callback_url.rstrip('/')}/v2/vehicle/{kind}"
        if self.full(platform.code):  # nothing will make room before this step ends: skip the form
            self._journal_drop(Push(next(self._ids), kind, self.env.fleet.imeis[row],
                                    platform.code, url, {}, b"", t,
                                    generation=self.generation), "overflow")
            return
        fields = form(self.env, kind, row, t, data or {})
        fields[SIGNATURE] = sign(fields, platform.secret)
        self.submit(Push(next(self._ids), kind, fields["iotCode"], platform.code, url, fields,
                         encode(fields), t, generation=self.generation))

    def submit(self, push: Push) -> None:
        """A push's first attempt: chaos rules act here, then it is queued."""
        rule = self.chaos.match(push.platform, push.iot_code, push.kind)
        if rule is None:
            self.queue(push)
            return
        push.chaos, push.rule = rule.action, rule.id
        now = self.env.clock.now
        if rule.action == "drop":
            self._journal_drop(push, "chaos")
        elif rule.action == "corrupt":
            good = push.fields[SIGNATURE]
            # Still 32 hex digits, so only a receiver that checks the value notices.
            push.fields = {**push.fields, SIGNATURE: format(int(good, 16) ^ 1, "032x")}
            push.body = encode(push.fields)
            self.queue(push)
        elif rule.action == "duplicate":
            self.queue(push)
            self.queue(replace(push))
        elif rule.action == "delay":
            self.env.timers.call_at(now + rule.delaySeconds, lambda: self.queue(push))
        else:  # reorder
            self.held.setdefault(push.platform, []).append(push)
            self.env.timers.call_at(now + rule.delaySeconds, lambda: self._release(push))

    def queue(self, push: Push) -> None:
        """Append to the platform's queue, or drop (journaled) when it is full."""
        q = self.queues.setdefault(push.platform, deque())
        if len(q) >= self.limit:
            self._journal_drop(push, "overflow")
            return
        q.append(push)
        self.counters["queued"] += 1
        held = self.held.pop(push.platform, None)
        if held:  # reordered pushes go right after the one that overtook them
            for h in held:
                self.queue(h)
        if self.wakeup is not None:
            self.wakeup(push.platform)

    def _release(self, push: Push) -> None:
        held = self.held.get(push.platform, [])
        if push in held:
            held.remove(push)
            self.queue(push)

    def full(self, platform: str) -> bool:
        q = self.queues.get(platform)
        return q is not None and len(q) >= self.limit

    # -- out ----------------------------------------------------------------------------------

    def take(self, platform: str) -> Push | None:
        q = self.queues.get(platform)
        return q.popleft() if q else None

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def attempted(self, push: Push, status: int | None, error: str | None,
                  latency_ms: float) -> None:
        """Journal one delivery attempt; a failed first attempt is retried once, 5 s later."""
        if push.generation != self.generation:  # sent before a reset: another world's push
            return
        delivered = status is not None and 200 <= status < 300
        retry = not delivered and push.attempt == 1
        outcome = "delivered" if delivered else "retry" if retry else "failed"
        self.counters[outcome] += 1
        self.journal.add(push.record(t=self.env.clock.now_ms, httpStatus=status, error=error,
                                     latencyMs=round(latency_ms, 3), outcome=outcome))
        if retry:
            again = replace(push, attempt=2)
            self.env.timers.call_at(self.env.clock.now + RETRY_DELAY_S, lambda: self.queue(again))

    def _journal_drop(self, push: Push, reason: str) -> None:
        self.counters["dropped"] += 1
        self.journal.add(push.record(t=self.env.clock.now_ms, httpStatus=None, error=None,
                                     latencyMs=None, outcome="dropped", reason=reason))
