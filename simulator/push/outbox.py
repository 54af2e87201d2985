"""Pushes on their way out: the signed form of each push type, and bounded per-platform queues.

Never awaits: the cadence puts pushes here, chaos rules act on them on the way in, and the
delivery side (dispatcher.py) takes them, performs them and reports each attempt back through
`attempted`, which journals it and schedules the one retry 5 virtual seconds later. What does not
fit in a platform's queue is dropped and journaled as such, so a slow or dead receiver costs a
bounded amount of memory.

A reset clears the outbox in place and starts a new generation: attempts of pushes from before
it that are still in flight when they end are neither journaled nor retried (they belong to a
world that is gone).

Every push not yet delivered is known here, wherever it is (queued, in flight, waiting for its
retry or a chaos delay), so `undelivered` can list them for the state directory and `restore`
can queue them again after a restart (server/state_dir.py): delivery is at-least-once, a push in
flight at the save may arrive twice.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

from simulator.core import readings
from simulator.core.env import Env
from simulator.core.errors import SimError
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


def v1_form(env: Env, row: int, t: float) -> dict[str, str]:
    """A first-generation status push: query/get's flat fields (odometer and range in 10 m),
    with vehicleCode, as strings; a v1 receiver gets its positions from these too."""
    fields = readings.v1_get(env.fleet, row)
    fields["statusUtcTime"] = int(t)
    fields["gpsUtcTime"] = min(fields["gpsUtcTime"], int(t))
    return {k: v if type(v) is str else text(v) for k, v in fields.items()}


# The first generation pushes status reports only, carrying the position: a v1 platform gets its
# vehicles' location reports as status pushes too, and no alert, fault or components push.
V1_KINDS = (STATUS, LOCATION)


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
        # Taken by the dispatcher, not yet reported back (a stopped dispatcher leaves them here).
        self.inflight: dict[Push, None] = {}
        # Waiting for a virtual time (the retry, a chaos delay or reorder): push -> that time.
        self.waiting: dict[Push, float] = {}
        self.wakeup: Wakeup | None = None  # set by the running dispatcher
        self.counters = dict.fromkeys(("queued", *OUTCOMES), 0)
        self._ids = itertools.count(1)

    def clear(self) -> None:
        """A reset: what waits is discarded unsent, counts and ids start again, and attempts
        still in flight from before are ignored when they end (a new generation)."""
        self.generation += 1
        self.queues.clear()
        self.held.clear()
        self.inflight.clear()
        self.waiting.clear()
        self.counters = dict.fromkeys(("queued", *OUTCOMES), 0)
        self._ids = itertools.count(1)

    # -- in -----------------------------------------------------------------------------------

    def push(self, kind: str, row: int, t: float, data: dict[str, Any] | None = None) -> None:
        """Sign and submit push `kind` of `row` for virtual time `t` (no callback: no push)."""
        platform = self.env.platform_of(row)
        if platform.callback_url is None:
            return
        v1 = platform.push_format == "v1"
        if v1:
            if kind not in V1_KINDS:
                return
            kind = STATUS
            url = f"{platform.callback_url.rstrip('/')}/vehicle/status"
        else:
            url = f"{platform.callback_url.rstrip('/')}/v2/vehicle/{kind}"
        if self.full(platform.code):  # nothing will make room before this step ends: skip the form
            self._journal_drop(Push(next(self._ids), kind, self.env.fleet.imeis[row],
                                    platform.code, url, {}, b"", t,
                                    generation=self.generation), "overflow")
            return
        fields = v1_form(self.env, row, t) if v1 else form(self.env, kind, row, t, data or {})
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
            self._later(push, now + rule.delaySeconds)
        else:  # reorder
            self.held.setdefault(push.platform, []).append(push)
            self._later(push, now + rule.delaySeconds)

    def _later(self, push: Push, t: float) -> None:
        """Queue `push` at virtual time `t` (unless it has gone: a reset, or released early)."""
        self.waiting[push] = t
        self.env.timers.call_at(t, lambda: self._due(push))

    def _due(self, push: Push) -> None:
        if self.waiting.pop(push, None) is None:
            return
        held = self.held.get(push.platform)
        if held and push in held:
            held.remove(push)
        self.queue(push)

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
                self.waiting.pop(h, None)
                self.queue(h)
        if self.wakeup is not None:
            self.wakeup(push.platform)

    def full(self, platform: str) -> bool:
        q = self.queues.get(platform)
        return q is not None and len(q) >= self.limit

    # -- out ----------------------------------------------------------------------------------

    def take(self, platform: str) -> Push | None:
        q = self.queues.get(platform)
        if not q:
            return None
        push = q.popleft()
        self.inflight[push] = None
        return push

    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    def attempted(self, push: Push, status: int | None, error: str | None,
                  latency_ms: float) -> None:
        """Journal one delivery attempt; a failed first attempt is retried once, 5 s later."""
        self.inflight.pop(push, None)
        if push.generation != self.generation:  # sent before a reset: another world's push
            return
        delivered = status is not None and 200 <= status < 300
        retry = not delivered and push.attempt == 1
        outcome = "delivered" if delivered else "retry" if retry else "failed"
        self.counters[outcome] += 1
        self.journal.add(push.record(t=self.env.clock.now_ms, httpStatus=status, error=error,
                                     latencyMs=round(latency_ms, 3), outcome=outcome))
        if retry:
            self._later(replace(push, attempt=2), self.env.clock.now + RETRY_DELAY_S)

    def _journal_drop(self, push: Push, reason: str) -> None:
        self.counters["dropped"] += 1
        self.journal.add(push.record(t=self.env.clock.now_ms, httpStatus=None, error=None,
                                     latencyMs=None, outcome="dropped", reason=reason))

    # -- across a restart ---------------------------------------------------------------------

    def undelivered(self) -> list[dict[str, Any]]:
        """Every push of this world not yet delivered, as journal-like records: in flight first,
        then queued, then waiting (`waitUntil`: the virtual time it waits for)."""
        now = [p for p in self.inflight if p.generation == self.generation]
        now += [p for q in self.queues.values() for p in q]
        return ([p.record(waitUntil=None) for p in now]
                + [p.record(waitUntil=t) for p, t in self.waiting.items()])

    def drop_waiting(self) -> None:
        """Forget the pushes waiting for a virtual time: a snapshot load drops their timers
        (they were for the world it replaces), so they would never be queued."""
        self.waiting.clear()
        self.held.clear()

    def restore(self, pending: list[tuple[Push, float | None]]) -> None:
        """Take back what `read_undelivered` read: due now, queued; waiting, queued at its time.
        New pushes are numbered after them."""
        for push, wait_until in pending:
            push.generation = self.generation
            if wait_until is not None and wait_until > self.env.clock.now:
                self._later(push, wait_until)
            else:
                self.queue(push)
        last = max((push.id for push, _ in pending), default=0)
        self._ids = itertools.count(max(last + 1, next(self._ids)))


KINDS = (STATUS, LOCATION, ALERT, FAULT, COMPONENTS)


def read_undelivered(name: str, data: Any) -> list[tuple[Push, float | None]]:
    """The pushes of `Outbox.undelivered`, checked (a SimError names the first bad field)."""
    if not isinstance(data, list):
        raise SimError(name, "must be a list")
    return [_read_push(f"{name}[{n}]", raw) for n, raw in enumerate(data)]


def _read_push(name: str, raw: Any) -> tuple[Push, float | None]:
    if not isinstance(raw, dict):
        raise SimError(name, "must be an object")

    def get(key: str, what: str, kinds: tuple[type, ...],
            ok: Callable[[Any], bool] = bool) -> Any:
        value = raw.get(key)
        if type(value) not in kinds or (value is not None and not ok(value)):
            raise SimError(f"{name}.{key}", f"must be {what}")
        return value

    push_id = get("pushId", "an integer > 0", (int,), lambda i: i > 0)
    kind = get("type", f"one of {', '.join(KINDS)}", (str,), KINDS.__contains__)
    iot_code = get("iotCode", "non-empty text", (str,))
    platform = get("platformCode", "non-empty text", (str,))
    url = get("url", "an http(s) URL", (str,), lambda u: u.startswith(("http://", "https://")))
    fields = get("fields", "an object of text values", (dict,),
                 lambda f: all(type(v) is str for v in f.values()))
    push = Push(push_id, kind, iot_code, platform, url, fields, encode(fields),
                due=get("due", "epoch milliseconds", (int,), lambda d: 0 <= d < 2**53) / 1000,
                attempt=get("attempt", "1 or 2", (int,), (1, 2).__contains__),
                chaos=get("chaos", "text or null", (str, type(None))),
                rule=get("chaosRule", "an integer > 0 or null", (int, type(None)),
                         lambda r: r > 0))
    wait_until = get("waitUntil", "a finite number or null", (int, float, type(None)),
                     math.isfinite)
    return push, None if wait_until is None else float(wait_until)
