"""Push chaos: what the real cloud may do to a partner's receiver, as seeded rules.

A rule matches pushes by platform, vehicle and type, fires with a probability (drawn from the
simulator's own seeded stream, so the same rules and fleet misbehave the same way), optionally a
limited number of times, and does one thing to a push's first attempt:

- duplicate: send it twice (same form, same signature): receivers must be idempotent;
- delay: hold it back `delaySeconds` of virtual time;
- reorder: hold it back until the next push to the same platform has been queued, so the two
  go out swapped (released after `delaySeconds` of virtual time if no other push comes);
- drop: never send it (journaled as dropped, reason "chaos");
- corrupt: send it with a wrong signature: receivers must reject it.

The first rule that matches and fires applies; retries go out as they are. The rule table has
the shape of the REST fault rules (faults.py) on purpose: one way to say "which, how often".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from .errors import SimError
from .events import KINDS

ACTIONS = ("duplicate", "delay", "reorder", "drop", "corrupt")
MAX_DELAY_S = 86_400.0


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass
class ChaosRule:
    id: int
    action: str
    platformCode: str | None = None  # noqa: N815 - wire names
    iotCode: str | None = None  # noqa: N815
    type: str | None = None  # push type: status, location, alert, fault, components
    probability: float = 1.0
    times: int | None = None  # how many more pushes it fires on; None: unlimited
    delaySeconds: float = 10.0  # noqa: N815 - virtual seconds (delay; reorder's longest hold)
    fired: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise SimError("action", f"must be one of {', '.join(ACTIONS)}")
        for name in ("platformCode", "iotCode"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise SimError(name, "must be a non-empty string")
        if self.type is not None and self.type not in KINDS:
            raise SimError("type", f"must be one of {', '.join(KINDS)}")
        if not _number(self.probability) or not 0.0 <= self.probability <= 1.0:
            raise SimError("probability", "must be a number within 0-1")
        if self.times is not None and (
                isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1):
            raise SimError("times", "must be an integer >= 1")
        if not _number(self.delaySeconds) or not 0.0 < self.delaySeconds <= MAX_DELAY_S:
            raise SimError("delaySeconds", f"must be a number > 0 and <= {MAX_DELAY_S:g}")
        if isinstance(self.fired, bool) or not isinstance(self.fired, int) or self.fired < 0:
            raise SimError("fired", "must be an integer >= 0")
        self.probability = float(self.probability)
        self.delaySeconds = float(self.delaySeconds)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


RULE_FIELDS = frozenset(f.name for f in fields(ChaosRule))


class PushChaos:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.rules: list[ChaosRule] = []
        self._next_id = 1

    def add(self, **fields: Any) -> ChaosRule:
        rule = ChaosRule(id=self._next_id, **fields)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def get(self, rule_id: int) -> ChaosRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def remove(self, rule_id: int | None = None) -> int:
        """Remove one rule (or all, with None); returns how many went."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if rule_id is not None and r.id != rule_id]
        return before - len(self.rules)

    def match(self, platform: str, iot_code: str, kind: str) -> ChaosRule | None:
        """The first rule that matches and fires for this push (consuming one of its times)."""
        for rule in self.rules:
            if (rule.platformCode not in (None, platform)
                    or rule.iotCode not in (None, iot_code)
                    or rule.type not in (None, kind)):
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

    # -- snapshots ----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"nextId": self._next_id, "rules": [r.to_json() for r in self.rules]}

    @classmethod
    def from_json(cls, data: Any, rng: np.random.Generator) -> PushChaos:
        """Rebuild the rules of `to_json`; raises SimError naming the field of a bad one."""
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            raise SimError("chaos", "must be {nextId, rules: [...]}")
        out = cls(rng)
        for n, raw in enumerate(data["rules"]):
            if not isinstance(raw, dict) or set(raw) - RULE_FIELDS or "id" not in raw:
                raise SimError(f"chaos.rules[{n}]", "not a rule")
            try:
                rule = ChaosRule(**raw)
            except SimError as err:
                raise SimError(f"chaos.rules[{n}].{err.field}", err.message) from err
            except TypeError as err:  # a required field missing
                raise SimError(f"chaos.rules[{n}]", str(err)) from err
            if isinstance(rule.id, bool) or not isinstance(rule.id, int) or out.get(rule.id):
                raise SimError(f"chaos.rules[{n}].id", "must be a unique integer")
            out.rules.append(rule)
        next_id = data.get("nextId")
        biggest = max((r.id for r in out.rules), default=0)
        if isinstance(next_id, bool) or not isinstance(next_id, int) or next_id <= biggest:
            raise SimError("chaos.nextId", f"must be an integer > {biggest}")
        out._next_id = next_id
        return out
