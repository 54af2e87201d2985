"""Bounded journals (API calls, push attempts): what happened, for tests to assert on."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any


class Journal:
    """A ring of dict records, newest last; each gets a sequence number `seq`."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.records: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self.seq = 0

    def add(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        record["seq"] = self.seq
        self.records.append(record)
        return record

    def clear(self) -> None:
        self.records.clear()

    def select(
        self, filters: dict[str, Any] | None = None, since: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Records whose fields equal every filter value (compared as strings), oldest first."""
        wanted = {k: str(v) for k, v in (filters or {}).items() if v is not None}
        found: Iterable[dict[str, Any]] = (
            r for r in self.records
            if r["seq"] > since and all(str(r.get(k)) == v for k, v in wanted.items())
        )
        out = list(found)
        return out[-limit:] if limit else out
