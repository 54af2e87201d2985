"""The world's knobs: chance rates of incidents, idle times and the median ride.

PhysicsConfig's defaults are realistic but low; `PhysicsConfig.quiet()` turns every chance (and
dormancy) off for deterministic tests; `parse` reads the command line's `--physics` text.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from simulator.core.errors import SimError

MAX_RATE_PER_HOUR = 100.0  # one event every 36 s per vehicle: past it, chances round to certain
MAX_SECONDS = 1e7  # about four months


@dataclass(frozen=True)
class PhysicsConfig:
    """Chances per vehicle (Poisson rates per hour unless named otherwise) and idle times."""

    offline_per_hour: float = 0.02  # network spells: about one every two days
    offline_median_s: float = 300.0  # how long a spell lasts (log-normal)
    falls_per_hour: float = 0.002  # a parked vehicle knocked over: about once in three weeks
    ride_falls_per_hour: float = 0.01  # per hour of riding
    illegal_moving_per_hour: float = 0.002  # at alertSensitivity 2 (1 halves it, 3 doubles it)
    faults_per_hour: float = 0.0005  # an A200 fault code appears
    fault_clear_per_hour: float = 0.5  # each active fault clears (about 2 h on average)
    invalid_fix_chance: float = 0.01  # per GPS fix
    dormancy_idle_s: float = 72 * 3600.0  # locked and untouched this long: dormant (0: never)
    ride_median_s: float = 660.0  # a virtual rider's ride (log-normal, 1 min - 3 h)

    @classmethod
    def quiet(cls) -> PhysicsConfig:
        """No chance events and no dormancy: only what follows from requests and time."""
        return cls(offline_per_hour=0.0, falls_per_hour=0.0, ride_falls_per_hour=0.0,
                   illegal_moving_per_hour=0.0, faults_per_hour=0.0, fault_clear_per_hour=0.0,
                   invalid_fix_chance=0.0, dormancy_idle_s=0.0)

    @classmethod
    def parse(cls, text: str) -> PhysicsConfig:
        """`quiet`, or `name=value` pairs separated by commas (after an optional `quiet`)."""
        config, changes = cls(), {}
        names = {f.name for f in fields(cls)}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if part == "quiet":
                config = cls.quiet()
                continue
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise SimError("physics", f"{part!r}: expected quiet or name=value, the name "
                                          f"one of {', '.join(sorted(names))}")
            try:
                number = float(value)
            except ValueError:
                raise SimError("physics", f"{name} must be a number") from None
            changes[name] = number
        return config.checked(**changes)

    def checked(self, **changes: float) -> PhysicsConfig:
        """A copy with `changes`, refusing negative, non-finite or absurd values (a rate so high
        that an event is certain within a step, a duration beyond float's reach in the draws)."""
        config = replace(self, **changes)
        for f in fields(config):
            value = getattr(config, f.name)
            if not (np.isfinite(value) and value >= 0):
                raise SimError(f.name, "must be a finite number >= 0")
            top = MAX_RATE_PER_HOUR if f.name.endswith("_per_hour") else MAX_SECONDS
            if f.name.endswith(("_per_hour", "_s")) and value > top:
                raise SimError(f.name, f"must be at most {top:g}")
        if config.invalid_fix_chance > 1:
            raise SimError("invalid_fix_chance", "must be a probability (0-1)")
        if config.ride_median_s <= 0 or config.offline_median_s <= 0:
            raise SimError("ride_median_s" if config.ride_median_s <= 0 else "offline_median_s",
                           "must be > 0")
        return config
