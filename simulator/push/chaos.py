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
from dataclasses import asdict, dataclass
from typing import Any

from simulator.core.errors import SimError
from simulator.core.events import KINDS
from simulator.core.rules import RuleSet, check_probability, check_text, check_whole

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
        check_text("platformCode", self.platformCode)
        check_text("iotCode", self.iotCode)
        if self.type is not None and self.type not in KINDS:
            raise SimError("type", f"must be one of {', '.join(KINDS)}")
        self.probability = check_probability(self.probability)
        if self.times is not None:
            check_whole("times", self.times, 1)
        if not _number(self.delaySeconds) or not 0.0 < self.delaySeconds <= MAX_DELAY_S:
            raise SimError("delaySeconds", f"must be a number > 0 and <= {MAX_DELAY_S:g}")
        check_whole("fired", self.fired, 0)
        self.delaySeconds = float(self.delaySeconds)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)




class PushChaos(RuleSet[ChaosRule]):
    rule_class = ChaosRule
    name = "chaos"

    def match(self, platform: str, iot_code: str, kind: str) -> ChaosRule | None:
        """The first rule that matches and fires for this push (consuming one of its times)."""
        return self.first_firing(platformCode=platform, iotCode=iot_code, type=kind)
