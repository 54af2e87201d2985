"""Recorded truth: snapshots of the real cloud's answers, and the drift of a target from them.

A recording file holds one session's answers, by situation ("status", "unlock:error-15302"):
`{"source", "recorded": "YYYY-MM-DD", "situations": {name: {"status", "body"}}}`. The reference's
example responses are the first one; a live run with --record adds one, dated. For each situation
the newest snapshot is the truth. Answers are compared after normalising ids and times: what must
match is the shape (field names, JSON types, id and time formats) and the constants (code, msg,
token type, scope, error texts), not values that differ from vehicle to vehicle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from simulator.contract.drift import EXTRA, MISSING, TYPE, VALUE, Acceptance, Drift

PACKAGED = Path(__file__).parent / "recordings"
CONSTANTS = {"code", "msg", "token_type", "scope", "error", "error_description"}
IDS = {"opId", "resId", "access_token"}
MS_TIMES = {"t"}
S_TIMES = {"statusUtcTime", "gpsUtcTime"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SECRETS = {"access_token"}

# Where the simulator departs from a recording on purpose, and why (FIDELITY.md has the rows).
ACCEPTED = [
    Acceptance("data.remainderRange", "the field table says remainingRange; the example says "
               "remainderRange", where="status", what=MISSING),
    Acceptance("data.remainingRange", "the field table says remainingRange; the example says "
               "remainderRange", where="status", what=EXTRA),
    Acceptance("data.gpsUtcTime", "the field table says Number; the example sends a string",
               where="location", what=TYPE),
]


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def normalise(name: str, value: Any) -> Any:
    """The comparable form of one scalar: constants stay, ids and times become their format."""
    if name in CONSTANTS:
        return value
    if name in IDS:
        if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
            return value  # already normalised (a redacted credential)
        return "<uuid>" if isinstance(value, str) and _UUID.fullmatch(value) else f"<{kind(value)}>"
    if name in MS_TIMES or name in S_TIMES:
        digits = 13 if name in MS_TIMES else 10
        text = str(value) if kind(value) in ("number", "string") else ""
        unit = "epoch-ms" if name in MS_TIMES else "epoch-s"
        shape = unit if re.fullmatch(rf"\d{{{digits}}}", text) else "not-" + unit
        return f"<{shape} {kind(value)}>"
    return f"<{kind(value)}>"


def compare(situation: str, recorded: Any, actual: Any, against: str, path: str = "",
            name: str = "") -> list[Drift]:
    """Field-by-field drift of `actual` from `recorded` (both decoded JSON)."""
    here = path or "(body)"
    if isinstance(recorded, dict) and isinstance(actual, dict):
        out: list[Drift] = []
        for key in recorded:
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(Drift(situation, sub, MISSING, _show(key, recorded[key]), None, against))
            else:
                out += compare(situation, recorded[key], actual[key], against, sub, key)
        for key in actual:
            if key not in recorded:
                sub = f"{path}.{key}" if path else key
                out.append(Drift(situation, sub, EXTRA, None, _show(key, actual[key]), against))
        return out
    if isinstance(recorded, list) and isinstance(actual, list):
        if recorded and actual:  # elements are alike: compare the first of each
            return compare(situation, recorded[0], actual[0], against, f"{path}[]", name)
        return []
    if kind(recorded) != kind(actual) and name not in IDS | MS_TIMES | S_TIMES:
        return [Drift(situation, here, TYPE, kind(recorded), kind(actual), against)]
    want, got = normalise(name, recorded), normalise(name, actual)
    if want != got:
        what = VALUE if name in CONSTANTS else TYPE
        return [Drift(situation, here, what, want, got, against)]
    return []


def _show(name: str, value: Any) -> Any:
    return value if isinstance(value, dict | list) else normalise(name, value)


# -- files --------------------------------------------------------------------------------------


def load(*folders: Path) -> dict[str, dict[str, Any]]:
    """The newest snapshot of each situation: {name: {"status", "body", "source", "recorded"}}."""
    files: list[dict[str, Any]] = []
    for folder in dict.fromkeys(folders):
        for path in sorted(folder.glob("*.json")):
            doc = json.loads(path.read_text())
            if isinstance(doc, dict) and isinstance(doc.get("situations"), dict):
                files.append(doc)
    newest: dict[str, dict[str, Any]] = {}
    for doc in sorted(files, key=lambda d: str(d.get("recorded", ""))):
        for name, snap in doc["situations"].items():
            newest[name] = {**snap, "source": doc.get("source"), "recorded": doc.get("recorded")}
    return newest


def redact(body: Any) -> Any:
    """A live answer as it may be kept in a file: no credentials."""
    if isinstance(body, dict):
        return {k: (normalise(k, v) if k in _SECRETS else redact(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [redact(v) for v in body]
    return body


def save(folder: Path, source: str, recorded: str, situations: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", source.split("://")[-1]).strip("-")
    path = folder / f"{recorded}-{host}.json"
    previous: dict[str, Any] = {}
    if path.exists():
        previous = json.loads(path.read_text()).get("situations", {})
    doc = {"source": source, "recorded": recorded,
           "situations": {**previous, **{k: {"status": v["status"], "body": redact(v["body"])}
                                         for k, v in sorted(situations.items())}}}
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return path
