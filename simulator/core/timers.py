"""Timers on the virtual clock: call a function when virtual time reaches a given instant.

Rides that end at an exact time, chaos-delayed pushes and the one push retry 5 s later are
timers. They are closures, so they do not travel in snapshots; a reset or a snapshot load clears
them (the components they belong to keep what must survive in columns or snapshot parts).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable

Timer = Callable[[], None]


class Timers:
    """A heap of (virtual time, sequence, function); equal times fire in the order they were set."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def call_at(self, t: float, fn: Timer) -> None:
        """Run `fn` when the clock reaches virtual time `t` (at once, if `t` has passed)."""
        heapq.heappush(self._heap, (t, next(self._seq), fn))

    def next_due(self) -> float:
        """The time of the earliest pending timer (+inf when none)."""
        return self._heap[0][0] if self._heap else math.inf

    def pop_due(self, now: float) -> Timer | None:
        """The earliest timer due by `now`, removed from the heap, or None."""
        if self._heap and self._heap[0][0] <= now:
            return heapq.heappop(self._heap)[2]
        return None

    def clear(self) -> None:
        self._heap.clear()
        self._seq = itertools.count()
