"""Injection rules: which request, to which vehicle, gets which vendor error or delay.

Rules are data set through the control plane, matched at the edge of the REST surface, and
drawn from their own seeded stream, so the same rules and requests fail the same way. A rule
validates itself (types and ranges) and names the offending field, so every way of making one
(control plane, snapshot, scenario) gets the same checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from simulator.core.errors import MESSAGES, SimError
from simulator.core.rules import RuleSet, check_probability, check_text, check_whole
from simulator.core.vehicle import OPERATIONS

MAX_DELAY_MS = 600_000
MAX_TIMES = 1_000_000_000


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
            check_whole("code", self.code, 1)
            if self.code not in MESSAGES:
                raise SimError("code", f"{self.code} is not a vendor code (Appendix 1)")
        check_text("iotCode", self.iotCode)
        check_text("platformCode", self.platformCode)
        check_text("endpoint", self.endpoint)
        if self.endpoint is not None and self.endpoint not in OPERATIONS:
            raise SimError("endpoint", f"must be one of {', '.join(OPERATIONS)}")
        self.probability = check_probability(self.probability)
        if self.times is not None:
            check_whole("times", self.times, 1, MAX_TIMES)
        check_whole("delayMs", self.delayMs, 0, MAX_DELAY_MS)
        check_whole("fired", self.fired, 0)
        if self.code is None and not self.delayMs:
            raise SimError("code", "a rule needs a code, a delayMs, or both")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)




class FaultRules(RuleSet[Rule]):
    rule_class = Rule
    name = "faults"

    def match(self, platform: str, imei: str | None, endpoint: str) -> Rule | None:
        """The first rule that matches and fires for this request (consuming one of its times)."""
        return self.first_firing(platformCode=platform, iotCode=imei, endpoint=endpoint)
