"""Timers on the virtual clock: something happens when virtual time reaches a given instant.

Two sorts, one heap (equal times fire in the order they were set, whatever their sort):

- data timers, `at(t, kind, row, *args)`: a kind its component registered (`register`), a fleet
  row and plain JSON arguments. A ride that ends at an exact time is one. They are state: they
  travel in snapshots (`dump`, `read`, `install`) in their firing order, so a loaded world lives
  the same future as the one that was saved.
- closure timers, `call_at(t, fn)`: for things that travel by other means (the outbox's delayed
  pushes and its one retry, saved with the undelivered pushes) and for tests. A reset or a
  snapshot load drops them.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.core.errors import SimError

Timer = Callable[[], None]
Arg = int | float | str | bool


@dataclass(frozen=True, slots=True)
class Due:
    """A data timer: `kind`'s handler is called with (row, *args)."""

    kind: str
    row: int
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True, slots=True)
class Kind:
    handler: Callable[..., None]  # (row, *args)
    arity: int  # how many args after the row


class Timers:
    """A heap of (virtual time, sequence, what); equal times fire in the order they were set."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer | Due]] = []
        self._seq = itertools.count()
        self.kinds: dict[str, Kind] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def register(self, kind: str, handler: Callable[..., None], arity: int) -> None:
        """What a data timer of `kind` does: `handler(row, *args)` with `arity` args."""
        self.kinds[kind] = Kind(handler, arity)

    def at(self, t: float, kind: str, row: int, *args: Arg) -> None:
        """At virtual time `t`, the handler of `kind` for fleet row `row` (a data timer)."""
        if len(args) != self.kinds[kind].arity:
            raise TypeError(f"a {kind} timer takes {self.kinds[kind].arity} args")
        heapq.heappush(self._heap, (t, next(self._seq), Due(kind, row, args)))

    def call_at(self, t: float, fn: Timer) -> None:
        """Run `fn` when the clock reaches virtual time `t` (at once, if `t` has passed)."""
        heapq.heappush(self._heap, (t, next(self._seq), fn))

    def next_due(self) -> float:
        """The time of the earliest pending timer (+inf when none)."""
        return self._heap[0][0] if self._heap else math.inf

    def pop_due(self, now: float) -> Timer | None:
        """The earliest timer due by `now`, removed from the heap, or None."""
        if not self._heap or self._heap[0][0] > now:
            return None
        what = heapq.heappop(self._heap)[2]
        if isinstance(what, Due):
            handler, row, args = self.kinds[what.kind].handler, what.row, what.args
            return lambda: handler(row, *args)
        return what

    def clear(self) -> None:
        self._heap.clear()
        self._seq = itertools.count()

    # -- snapshots: the data timers, in firing order --------------------------------------------

    def dump(self) -> list[dict[str, Any]]:
        return [{"at": t, "kind": d.kind, "row": d.row, "args": list(d.args)}
                for t, _, d in sorted(self._heap, key=lambda e: e[:2]) if isinstance(d, Due)]

    def read(self, name: str, data: Any, rows: int) -> list[tuple[float, Due]]:
        """Data timers from `dump`'s form, checked against the kinds and a fleet of `rows`."""
        if not isinstance(data, list):
            raise SimError(name, "must be a list")
        out: list[tuple[float, Due]] = []
        for n, raw in enumerate(data):
            here = f"{name}[{n}]"
            if not isinstance(raw, dict) or set(raw) != {"at", "kind", "row", "args"}:
                raise SimError(here, "must be {at, kind, row, args}")
            t, kind, row, args = raw["at"], raw["kind"], raw["row"], raw["args"]
            if not _number(t):
                raise SimError(f"{here}.at", "must be a finite number")
            if not isinstance(kind, str) or kind not in self.kinds:
                raise SimError(f"{here}.kind", f"must be one of {', '.join(sorted(self.kinds))}")
            if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < rows:
                raise SimError(f"{here}.row", f"must be a row of the fleet (0 to {rows - 1})")
            arity = self.kinds[kind].arity
            if not isinstance(args, list) or len(args) != arity:
                raise SimError(f"{here}.args", f"must be a list of {arity} values")
            for i, arg in enumerate(args):
                if not (isinstance(arg, str | bool) or _number(arg)):
                    raise SimError(f"{here}.args[{i}]", "must be a finite number, text or bool")
            out.append((float(t), Due(kind, row, tuple(args))))
        return out

    def install(self, timers: list[tuple[float, Due]]) -> None:
        """Replace every timer by `timers` (as `read` returns them), in their order."""
        self.clear()
        for t, due in timers:
            heapq.heappush(self._heap, (t, next(self._seq), due))


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
