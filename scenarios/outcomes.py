"""What a scenario expects to observe, and the check of it against what was observed.

Observations are what a partner sees and what the simulator can show: the pushes sent to the
callback (from the push journal, one per push, with its virtual time), the vendor API's answers
to the partner app's calls, the vehicles' states at the end, and the run's counters. Outcomes
are small declarative records; `verdict()` checks one and says what it saw, so a failed run
tells the user what was expected and what happened instead.

Times are virtual seconds from the start of the story; a window `during=(a, b)` includes both
ends. Vehicles are indices in the scenario's fleet.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Vehicles = tuple[int, ...]
Window = tuple[float, float]


# -- predicates for state fields ---------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A named test of a state value (`at_least(90)`, `contains("21")`)."""

    text: str
    test: Callable[[Any], bool]

    def __call__(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except TypeError:
            return False

    def __str__(self) -> str:
        return self.text


def at_least(n: float) -> Check:
    return Check(f">= {n:g}", lambda v: v >= n)


def at_most(n: float) -> Check:
    return Check(f"<= {n:g}", lambda v: v <= n)


def contains(item: Any) -> Check:
    return Check(f"contains {item!r}", lambda v: item in v)


def excludes(*items: Any) -> Check:
    shown = " or ".join(repr(i) for i in items)
    return Check(f"excludes {shown}", lambda v: not any(i in v for i in items))


# -- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """A bound that is a share of a run counter: `share("rentals", 0.95)`."""

    counter: str
    fraction: float = 1.0

    def of(self, counters: Mapping[str, int]) -> int:
        return math.floor(self.fraction * counters.get(self.counter, 0))

    def __str__(self) -> str:
        if self.fraction == 1:
            return self.counter
        if self.fraction > 1:
            return f"{self.fraction:g} x {self.counter}"
        return f"{self.fraction:.0%} of {self.counter}"


def share(counter: str, fraction: float = 1.0) -> Share:
    return Share(counter, fraction)


Bound = int | Share


@dataclass(frozen=True)
class Pushes:
    """Pushes of `type` (any, if None) whose fields have these values, from `vehicles` (any),
    in the window: between `at_least` (a number, or a share of a run counter) and `at_most`;
    with `each`, the bounds hold for every vehicle of `vehicles`."""

    what: str
    type: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    vehicles: Vehicles | None = None
    during: Window | None = None
    at_least: Bound = 1
    at_most: int | None = None
    each: bool = False


@dataclass(frozen=True)
class Answers:
    """Vendor answers with `code` to the partner app's `op` calls (same bounds as Pushes)."""

    what: str
    op: str
    code: int
    vehicles: Vehicles | None = None
    during: Window | None = None
    at_least: Bound = 1
    at_most: int | None = None
    each: bool = False


@dataclass(frozen=True)
class State:
    """At the end, every vehicle of `vehicles` has these full-state values (GET
    /_sim/vehicles/{iotCode} keys: `online`, `locked`, `firmware`, `alerts`, ...; a dotted key
    reaches inside: `status.powerPercent`), each equal or passing a Check."""

    what: str
    vehicles: Vehicles
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Travelled:
    """The vehicle was seen (location pushes and location answers) at least `at_least_m`
    metres from where it was first seen in the window."""

    what: str
    vehicle: int
    at_least_m: float
    during: Window | None = None


@dataclass(frozen=True)
class Count:
    """A run counter (`rentals`, `refused`, `pushes`, `alerts`, ...) within bounds."""

    what: str
    counter: str
    at_least: int = 0
    at_most: int | None = None


Outcome = Pushes | Answers | State | Travelled | Count


# -- observations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One push as the partner got it."""

    t: float  # virtual seconds from the start (the time the push is for)
    type: str
    vehicle: int | None  # fleet index; None: not one of the scenario's vehicles
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Answer:
    """One vendor answer to the partner app."""

    t: float
    op: str
    vehicle: int | None
    code: int
    data: Any = None


class Observed:
    """What a run saw, kept as its outcomes need it. Each push and answer is matched against the
    outcomes as it arrives and counted, never kept: a run at 100,000 vehicles sees millions of
    pushes. Only the fixes of the vehicle a `Travelled` outcome measures are kept."""

    def __init__(self, outcomes: Sequence[Outcome] = (),
                 states: dict[int, dict[str, Any]] | None = None,
                 counters: dict[str, int] | None = None) -> None:
        self.states = states if states is not None else {}
        self.counters = counters if counters is not None else {}
        # id(outcome) -> its matches by vehicle (None: not one of the scenario's vehicles)
        self.hits: dict[int, Counter[int | None]] = {}
        self.fixes: dict[int | None, list[tuple[float, float, float]]] = {}  # vehicle -> fixes
        self._pushes: dict[str | None, list[tuple[Pushes, dict[str, str], set[int] | None,
                                                  Counter[int | None]]]] = {}
        self._answers: dict[str, list[tuple[Answers, set[int] | None, Counter[int | None]]]] = {}
        for o in outcomes:
            if isinstance(o, Pushes | Answers):
                hits = self.hits.setdefault(id(o), Counter())
                chosen = None if o.vehicles is None else set(o.vehicles)
            if isinstance(o, Pushes):
                want = {k: wire(v) for k, v in o.fields.items()}
                self._pushes.setdefault(o.type, []).append((o, want, chosen, hits))
            elif isinstance(o, Answers):
                self._answers.setdefault(o.op, []).append((o, chosen, hits))
            elif isinstance(o, Travelled):
                self.fixes.setdefault(o.vehicle, [])

    def push(self, p: Seen) -> None:
        for o, want, chosen, hits in (*self._pushes.get(p.type, ()), *self._pushes.get(None, ())):
            if ((chosen is None or p.vehicle in chosen) and _inside(p.t, o.during)
                    and all(p.fields.get(k) == v for k, v in want.items())):
                hits[p.vehicle] += 1
        fixes = self.fixes.get(p.vehicle)
        if (fixes is not None and p.type == "location"
                and p.fields.get("locationStatus") == "valid"):
            _fix(fixes, p.t, p.fields)

    def answer(self, a: Answer) -> None:
        for o, chosen, hits in self._answers.get(a.op, ()):
            if a.code == o.code and (chosen is None or a.vehicle in chosen) and _inside(
                    a.t, o.during):
                hits[a.vehicle] += 1
        fixes = self.fixes.get(a.vehicle)
        if fixes is not None and a.op == "location" and a.code == 0:
            _fix(fixes, a.t, a.data or {})


def _fix(fixes: list[tuple[float, float, float]], t: float, where: Mapping[str, Any]) -> None:
    lat, lon = where.get("latitude"), where.get("longitude")
    if lat is not None and lon is not None:
        fixes.append((t, float(lat), float(lon)))


@dataclass(frozen=True)
class Verdict:
    what: str
    ok: bool
    expected: str
    observed: str

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "ok": self.ok, "expected": self.expected,
                "observed": self.observed}


def wire(value: Any) -> str:
    """A field value as a push carries it (booleans true/false)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _inside(t: float, window: Window | None) -> bool:
    return window is None or window[0] <= t <= window[1]


def _bounds(lo: int, hi: int | None) -> str:
    if hi is None:
        return f">= {lo}"
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _counted(outcome: Pushes | Answers, seen: Observed) -> Verdict:
    hits = seen.hits[id(outcome)]
    bound = outcome.at_least
    lo = bound.of(seen.counters) if isinstance(bound, Share) else bound
    hi = outcome.at_most
    expected = _bounds(lo, hi)
    if isinstance(bound, Share):
        expected += f" ({bound})"
    if not outcome.each:
        n = sum(hits.values())
        return Verdict(outcome.what, n >= lo and (hi is None or n <= hi), expected, str(n))
    per = {v: hits[v] for v in outcome.vehicles or ()}
    good = sum(1 for n in per.values() if n >= lo and (hi is None or n <= hi))
    return Verdict(outcome.what, good == len(per), f"{expected} each of {len(per)}",
                   f"{good} of {len(per)} vehicles")


def verdict(outcome: Outcome, seen: Observed) -> Verdict:
    """`outcome` checked against what `seen` (made with it among its outcomes) observed."""
    if isinstance(outcome, Pushes | Answers):
        return _counted(outcome, seen)
    if isinstance(outcome, State):
        return _state(outcome, seen)
    if isinstance(outcome, Travelled):
        return _travelled(outcome, seen)
    n = seen.counters.get(outcome.counter, 0)
    ok = n >= outcome.at_least and (outcome.at_most is None or n <= outcome.at_most)
    return Verdict(outcome.what, ok, _bounds(outcome.at_least, outcome.at_most), str(n))


def _state(outcome: State, seen: Observed) -> Verdict:
    expected = ", ".join(f"{k} {v}" if isinstance(v, Check) else f"{k}={v!r}"
                         for k, v in outcome.fields.items())
    wrong: list[str] = []
    for v in outcome.vehicles:
        state = seen.states.get(v)
        if state is None:
            wrong.append(f"vehicle {v}: no state")
            continue
        for key, want in outcome.fields.items():
            have: Any = state
            for part in key.split("."):
                have = have.get(part) if isinstance(have, dict) else None
            if not (want(have) if isinstance(want, Check) else have == want):
                wrong.append(f"vehicle {v}: {key}={have!r}")
    n = len(outcome.vehicles)
    observed = f"all {n}" if not wrong else "; ".join(wrong[:3]) + (
        f" (+{len(wrong) - 3} more)" if len(wrong) > 3 else "")
    return Verdict(outcome.what, not wrong, expected, observed)


def _travelled(outcome: Travelled, seen: Observed) -> Verdict:
    fixes = sorted(f for f in seen.fixes[outcome.vehicle] if _inside(f[0], outcome.during))
    far = max((distance_m(fixes[0][1:], f[1:]) for f in fixes), default=0.0)
    return Verdict(outcome.what, far >= outcome.at_least_m, f">= {outcome.at_least_m:g} m",
                   f"{far:.0f} m over {len(fixes)} fixes")


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points, metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(min(1.0, math.sqrt(h)))
