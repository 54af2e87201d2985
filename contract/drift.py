"""Drift: one difference between what a target does and what the contract expects, and the rules
that say which differences fail a run.

Every check of the suite (the reference's rules in checks.py, recorded truth in recordings.py, the
push contract in pushes.py) reports a difference as a `Drift`: where (an endpoint such as
`status`, a push such as `push:status`, `token`), which field (a dotted path, or `(HTTP status)`,
`(Content-Type)`, `(signature)`), what kind of difference, and both sides. A check that finds
drift raises `DriftError`; the suite's conftest then asks the run's `Policy` which of them fail.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# what: the kinds of difference
MISSING, EXTRA, TYPE, VALUE, RANGE, FORMAT = "missing", "extra", "type", "value", "range", "format"
WHATS = (MISSING, EXTRA, TYPE, VALUE, RANGE, FORMAT)


@dataclass(frozen=True)
class Drift:
    where: str  # endpoint ("status", "unlock", "token"), push ("push:status"), or a situation
    field: str  # dotted path: data.batteryData[].batteryPort; or (HTTP status), (Content-Type)
    what: str  # one of WHATS
    expected: Any  # what the reference or the recording says (normalised)
    actual: Any  # what the target did (normalised)
    against: str = "reference"  # or "recording <source> <date>"

    def describe(self) -> str:
        if self.what == MISSING:
            return f"{self.where} {self.field}: expected {self.expected!r}, absent"
        if self.what == EXTRA:
            return f"{self.where} {self.field}: added ({self.actual!r}), not in the {self.against}"
        return f"{self.where} {self.field}: expected {self.expected!r}, got {self.actual!r}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class DriftError(AssertionError):
    """A check found drift: one failure line per difference, each naming where and the field."""

    def __init__(self, drift: list[Drift] | Drift) -> None:
        self.drift = [drift] if isinstance(drift, Drift) else list(drift)
        super().__init__("\n".join(d.describe() for d in self.drift))


def check(condition: object, where: str, field_: str, what: str, expected: Any,
          actual: Any) -> None:
    """Raise DriftError(Drift(...)) unless `condition`: the suite's assert, with a name."""
    if not condition:
        raise DriftError(Drift(where, field_, what, expected, actual))


_noted: list[Drift] = []


def note(drift: Drift) -> None:
    """Drift that need not stop a check (an added field): the test goes on; the conftest takes the
    notes after the test and fails it if the run's policy does not excuse them."""
    _noted.append(drift)


def take_notes() -> list[Drift]:
    out = _noted[:]
    _noted.clear()
    return out


# -- which drift fails --------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    field: str  # a field path; fnmatch patterns allowed (data.*)
    reason: str
    where: str = "*"  # endpoint / push / situation; fnmatch patterns allowed
    what: str = "*"

    def matches(self, d: Drift) -> bool:
        return (fnmatch.fnmatchcase(d.where, self.where)
                and fnmatch.fnmatchcase(d.field, self.field)
                and fnmatch.fnmatchcase(d.what, self.what))


class PolicyFileError(ValueError):
    """An accepted-drift or uses file that cannot be read: the message names file and entry."""


def load_accepted(path: Path) -> list[Acceptance]:
    """An accepted-drift file (TOML): `[[accept]]` tables of field, reason, optional where/what."""
    doc = _toml(path)
    out = []
    for i, entry in enumerate(doc.get("accept", []), 1):
        if not isinstance(entry, dict) or not entry.get("field") or not entry.get("reason"):
            raise PolicyFileError(f"{path}: [[accept]] number {i} needs a field and a reason")
        what = str(entry.get("what", "*"))
        if what != "*" and what not in WHATS:
            raise PolicyFileError(f"{path}: [[accept]] number {i}: what = {what!r}, not one of "
                                  + ", ".join(WHATS))
        out.append(Acceptance(str(entry["field"]), str(entry["reason"]),
                              str(entry.get("where", "*")), what))
    return out


@dataclass(frozen=True)
class Uses:
    """What a partner's code uses: {where: field patterns}; `["*"]` is every field."""

    fields: dict[str, tuple[str, ...]]

    def endpoint(self, where: str) -> bool:
        return any(fnmatch.fnmatchcase(where, w) for w in self.fields)

    def field(self, where: str, path: str) -> bool:
        # the envelope (code, msg, the id, HTTP status, content type) of a call, and the path,
        # content type, body and signature of a push, matter to whoever uses it at all
        if path.startswith("(") or (not path.startswith("data") and not where.startswith("push:")):
            return self.endpoint(where)
        return any(fnmatch.fnmatchcase(where, pattern_where) and any(
            p == "*" or fnmatch.fnmatchcase(path, p) or path.startswith((p + ".", p + "[]"))
            for p in patterns) for pattern_where, patterns in self.fields.items())


def load_uses(path: Path) -> Uses:
    """A uses file (TOML or JSON): `{where: [field, ...]}` under `[uses]` or at the top."""
    doc = _toml(path) if path.suffix != ".json" else _json(path)
    table = doc.get("uses", doc)
    if not isinstance(table, dict) or not table:
        raise PolicyFileError(f"{path}: expected a table of endpoint = [fields]")
    out = {}
    for where, patterns in table.items():
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise PolicyFileError(f"{path}: {where}: expected a list of field paths")
        out[str(where)] = tuple(patterns) or ("*",)
    return Uses(out)


@dataclass
class Policy:
    """Which drift fails this run, and why the rest does not."""

    accepted: list[Acceptance] = field(default_factory=list)
    strict_fields: bool = False  # added fields fail too
    uses: Uses | None = None
    fail_on_drift: bool = True  # drift from a recording fails (not only drift from the reference)

    def excuse(self, d: Drift) -> str | None:
        """Why `d` does not fail this run, or None: it fails."""
        for acceptance in self.accepted:
            if acceptance.matches(d):
                return f"accepted: {acceptance.reason}"
        if d.what == EXTRA and not self.strict_fields:
            return "added field: tolerated (--strict-fields fails it)"
        if self.uses is not None and not self.uses.field(d.where, d.field):
            return "not used by your code (--uses)"
        if d.against != "reference" and not self.fail_on_drift:
            return "reported only (--no-fail-on-drift)"
        return None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as err:
        raise PolicyFileError(f"{path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise PolicyFileError(f"{path}: not TOML: {err}") from None


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except OSError as err:
        raise PolicyFileError(f"{path}: {err.strerror}") from None
    except ValueError as err:
        raise PolicyFileError(f"{path}: not JSON: {err}") from None
    if not isinstance(doc, dict):
        raise PolicyFileError(f"{path}: expected a JSON object")
    return doc
