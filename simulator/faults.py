"""Injection rules: which request, to which vehicle, gets which vendor error or delay.

Rules are data set through the control plane, matched at the edge of the REST surface, and
drawn from their own seeded stream, so the same rules and requests fail the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import MESSAGES


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
        if self.code is not None and self.code not in MESSAGES:
            raise ValueError(f"code: {self.code} is not a vendor code")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability: must be within 0-1")
        if self.times is not None and self.times < 1:
            raise ValueError("times: must be >= 1")
        if not 0 <= self.delayMs <= 600_000:
            raise ValueError("delayMs: must be within 0-600000")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
