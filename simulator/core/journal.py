"""Bounded journals (API calls, push attempts): what happened, for tests to assert on."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import Any

Listener = Callable[[dict[str, Any]], None]


class Journal:
    """A ring of dict records, newest last; each gets a sequence number `seq`.

    `seq` keeps counting when old records fall off the ring, so `since=seq` paging never sees a
    record twice and `seq - len(records)` says how many were dropped.
    """

    def __init__(self, maxlen: int = 10_000) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.seq = 0
        self.clears = 0  # a reader's `since` from before a clear means nothing after it
        # Told of every record as it is added, so a reader that needs them all (the metrics'
        # counters) does not depend on the ring still holding them when it looks.
        self.listeners: list[Listener] = []

    @property
    def capacity(self) -> int:
        return self.records.maxlen or 0

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        record["seq"] = self.seq
        self.records.append(record)
        for listener in self.listeners:
            listener(record)
        return record

    def clear(self) -> None:
        """Empty, numbering from 1 again (a reset: the next world's journal starts afresh)."""
        self.records.clear()
        self.seq = 0
        self.clears += 1

    def select(
        self,
        filters: dict[str, Any] | None = None,
        since: int = 0,
        limit: int | None = None,
        first: bool = False,
    ) -> list[dict[str, Any]]:
        """Records whose fields equal every filter value (compared as strings), oldest first.

        With a `limit`, the newest `limit` matches, or with `first` the oldest ones (paging forward
        with `since` must not skip the middle of a burst).
        """
        wanted = {k: str(v) for k, v in (filters or {}).items() if v is not None}
        found = (
            r for r in self.records
            if r["seq"] > since and all(str(r.get(k)) == v for k, v in wanted.items())
        )
        if limit and first:
            return list(islice(found, limit))
        out = list(found)
        return out[-limit:] if limit else out
