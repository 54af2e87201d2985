"""Seeded rule sets: "which requests or pushes, how often, how many times" as data.

Fault rules (faults.py) and push chaos (chaos.py) say the same things about what they match, so
they share this machinery: first matching rule that fires wins, a probability drawn from the
set's own seeded stream, an optional count of times, snapshots that name the bad field.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import numpy as np

from simulator.core.errors import SimError


class Rule(Protocol):
    id: int
    probability: float
    times: int | None
    fired: int

    def to_json(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Rule)


def check_whole(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SimError(name, "must be an integer")
    if value < lo or (hi is not None and value > hi):
        raise SimError(name, f"must be within {lo}-{hi}" if hi is not None else f"must be >= {lo}")


def check_text(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise SimError(name, "must be a non-empty string")


def check_probability(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise SimError("probability", "must be a number within 0-1")
    return float(value)


class RuleSet(Generic[R]):
    rule_class: ClassVar[type]  # the rule dataclass: validates itself in __post_init__
    name: ClassVar[str]  # the snapshot part, for error fields ("faults", "chaos")

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rules: list[R] = []
        self._next_id = 1

    def reset(self, rng: np.random.Generator) -> None:
        """No rules, ids from 1 again, draws from `rng` (a reset keeps this object)."""
        self.rng = rng
        self.rules = []
        self._next_id = 1

    def copy_from(self, other: RuleSet[R]) -> None:
        """Take `other`'s rules, ids and stream (a snapshot load, read into `other` first)."""
        self.rng, self.rules, self._next_id = other.rng, other.rules, other._next_id

    def add(self, **values: Any) -> R:
        rule: R = self.rule_class(id=self._next_id, **values)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def get(self, rule_id: int) -> R | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: int | None = None) -> int:
        """Remove one rule (or all, with None); returns how many went."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if rule_id is not None and r.id != rule_id]
        return before - len(self.rules)

    def first_firing(self, **selectors: str | None) -> R | None:
        """The first rule whose selectors (None: any) match and that fires, consuming a time."""
        for rule in self.rules:
            if any(getattr(rule, k) not in (None, v) for k, v in selectors.items()):
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
    def from_json(cls, data: Any, rng: np.random.Generator) -> Self:
        """Rebuild the rules of `to_json`; raises SimError naming the field of a bad one."""
        name = cls.name
        if not isinstance(data, dict):
            raise SimError(name, "must be {nextId, rules: [...]}")
        if not isinstance(data.get("rules"), list):
            raise SimError(f"{name}.rules", "must be a list of rules")
        known = frozenset(f.name for f in fields(cls.rule_class))
        out = cls(rng)
        for n, raw in enumerate(data["rules"]):
            where = f"{name}.rules[{n}]"
            if not isinstance(raw, dict) or set(raw) - known or "id" not in raw:
                raise SimError(where, "not a rule")
            try:
                rule = cls.rule_class(**raw)
            except SimError as err:
                raise SimError(f"{where}.{err.field}", err.message) from err
            except TypeError as err:  # a required field missing
                raise SimError(where, str(err)) from err
            if isinstance(rule.id, bool) or not isinstance(rule.id, int) or out.get(rule.id):
                raise SimError(f"{where}.id", "must be a unique integer")
            out.rules.append(rule)
        next_id = data.get("nextId")
        biggest = max((r.id for r in out.rules), default=0)
        if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id <= biggest:
            raise SimError(f"{name}.nextId", f"must be an integer > {biggest}")
        out._next_id = next_id
        return out
