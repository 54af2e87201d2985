"""Injection rules: which request, to which vehicle, gets which vendor error or delay.

Rules are data set through the control plane, matched at the edge of the REST surface, and
drawn from their own seeded stream, so the same rules and requests fail the same way. A rule
validates itself (types and ranges) and names the offending field, so every way of making one
(control plane, snapshot, scenario) gets the same checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .errors import MESSAGES, SimError
from .vehicle import OPERATIONS

MAX_DELAY_MS = 600_000
MAX_TIMES = 1_000_000_000


def _whole(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimError(name, "must be an integer")
    if value < lo or (hi is not None and value > hi):
        raise SimError(name, f"must be within {lo}-{hi}" if hi is not None else f"must be >= {lo}")


def _text(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise SimError(name, "must be a non-empty string")


@dataclass
class Rule:
    id: int
    code: int | None = None  # vendor code to answer with; None: only delay
    iotCode: str | None = None  # noqa: N815 - wire names
    endpoint: str | None = None  # operation name ("unlock", "setting/interval") or None: any
    platformCode: str | None = None  # noqa: N815
    probability: float = 1.0
    times: int | None = None  # how many more matches fire; None: unlimited
    delayMs: int = 0  # noqa: N815 - wall milliseconds before the answer (commands stay in flight)
    fired: int = 0

    def __post_init__(self) -> None:
        if self.code is not None:
            _whole("code", self.code, 1)
            if self.code not in MESSAGES:
                raise SimError("code", f"{self.code} is not a vendor code (Appendix 1)")
        _text("iotCode", self.iotCode)
        _text("platformCode", self.platformCode)
        _text("endpoint", self.endpoint)
        if self.endpoint is not None and self.endpoint not in OPERATIONS:
            raise SimError("endpoint", f"must be one of {', '.join(OPERATIONS)}")
        p = self.probability
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
            raise SimError("probability", "must be a number within 0-1")
        self.probability = float(p)
        if self.times is not None:
            _whole("times", self.times, 1, MAX_TIMES)
        _whole("delayMs", self.delayMs, 0, MAX_DELAY_MS)
        _whole("fired", self.fired, 0)
        if self.code is None and not self.delayMs:
            raise SimError("code", "a rule needs a code, a delayMs, or both")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


RULE_FIELDS = frozenset(f.name for f in fields(Rule))


class FaultRules:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rules: list[Rule] = []
        self._next_id = 1

    def add(self, **fields: Any) -> Rule:
        rule = Rule(id=self._next_id, **fields)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def get(self, rule_id: int) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: int | None = None) -> int:
        before = len(self.rules)
        self.rules = [r for r in self.rules if rule_id is not None and r.id != rule_id]
        return before - len(self.rules)

    def match(self, platform: str, imei: str | None, endpoint: str) -> Rule | None:
        """The first rule that matches and fires for this request (consuming one of its times)."""
        for rule in self.rules:
            if (rule.platformCode not in (None, platform)
                    or rule.iotCode not in (None, imei)
                    or rule.endpoint not in (None, endpoint)):
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.times is not None:
                rule.times -= 1
                if rule.times == 0:
                    self.rules.remove(rule)
            return rule
        return None

    # -- snapshots (see snapshot.py) -------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"nextId": self._next_id, "rules": [r.to_json() for r in self.rules]}

    @classmethod
    def from_json(cls, data: Any, rng: np.random.Generator) -> FaultRules:
        """Rebuild the rules of `to_json`; raises SimError naming the field of a bad one."""
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise SimError("faults", "must be {nextId, rules: [...]}")
        out = cls(rng)
        for n, raw in enumerate(data["rules"]):
            if not isinstance(raw, dict) or set(raw) - RULE_FIELDS or "id" not in raw:
                raise SimError(f"faults.rules[{n}]", "not a rule")
            try:
                rule = Rule(**raw)
            except SimError as err:
                raise SimError(f"faults.rules[{n}].{err.field}", err.message) from err
            if isinstance(rule.id, bool) or not isinstance(rule.id, int) or out.get(rule.id):
                raise SimError(f"faults.rules[{n}].id", "must be a unique integer")
            out.rules.append(rule)
        next_id = data.get("nextId")
        biggest = max((r.id for r in out.rules), default=0)
        if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id <= biggest:
            raise SimError("faults.nextId", f"must be an integer > {biggest}")
        out._next_id = next_id
        return out
