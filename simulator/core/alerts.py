"""Alerts and A200 fault codes: appearing and disappearing, each published once per change."""

from __future__ import annotations

import numpy as np

from simulator.core.events import ALERT, FAULT, Bus, Event
from simulator.core.fleet import ALERT_BITS, Fleet

ALERT_NAMES = {
    1: "illegal moving",
    2: "vehicle fell down when locked",
    3: "illegal dismantling",
    4: "vehicle fell down when unlocked",
    12: "low power",
}
# The alert push lists 4 among appearing codes only: a fall clears as "2->vehicle fell down".
DISAPPEARING_CODE = {1: 1, 2: 2, 3: 3, 4: 2, 12: 12}

# Appendix 2 (E-bike A200 only), in the reference's order; the index is the bit in `faults`.
FAULT_CODES: tuple[str, ...] = (
    *(f"E{n}" for n in range(10)),
    *(str(n) for n in range(10, 45)),
    "60",
    "61",
)
FAULT_BITS = {code: np.uint64(1) << np.uint64(n) for n, code in enumerate(FAULT_CODES)}
RESERVED_FAULTS = ("17", "32", "37", "39")  # listed as "Reserved": never raised by physics


def active_alerts(fleet: Fleet, i: int) -> list[int]:
    mask = int(fleet.alerts[i])
    return [code for code, bit in ALERT_BITS.items() if mask & bit]


def active_faults(fleet: Fleet, i: int) -> list[str]:
    mask = int(fleet.faults[i])
    return [code for n, code in enumerate(FAULT_CODES) if mask >> n & 1]


def raise_alert(fleet: Fleet, i: int, code: int, now: float, bus: Bus) -> bool:
    """Set alert `code` on row `i`; publishes only if it was not already active."""
    bit = ALERT_BITS[code]
    if int(fleet.alerts[i]) & bit:
        return False
    fleet.alerts[i] |= np.uint32(bit)
    bus.publish(Event(now, i, ALERT, {"code": code, "alertStatus": 0}))
    return True


def clear_alert(fleet: Fleet, i: int, code: int, now: float, bus: Bus) -> bool:
    bit = ALERT_BITS[code]
    if not int(fleet.alerts[i]) & bit:
        return False
    fleet.alerts[i] &= np.uint32(~bit & 0xFFFFFFFF)
    bus.publish(Event(now, i, ALERT, {"code": DISAPPEARING_CODE[code], "alertStatus": 1}))
    return True


def raise_fault(fleet: Fleet, i: int, code: str, now: float, bus: Bus) -> bool:
    bit = FAULT_BITS[code]
    if fleet.faults[i] & bit:
        return False
    fleet.faults[i] |= bit
    bus.publish(Event(now, i, FAULT, {"code": code, "faultStatus": 0}))
    return True


def clear_fault(fleet: Fleet, i: int, code: str, now: float, bus: Bus) -> bool:
    bit = FAULT_BITS[code]
    if not fleet.faults[i] & bit:
        return False
    fleet.faults[i] &= ~bit
    bus.publish(Event(now, i, FAULT, {"code": code, "faultStatus": 1}))
    return True
