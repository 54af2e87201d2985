"""The Segway E-bike A200: the vendor reference (reference/000_c6fd387209029181.txt), as is."""

from __future__ import annotations

from simulator.core.models import Profile
from simulator.core.params import BODIES

PROFILE = Profile(
    name="a200",
    title="Segway E-bike A200",
    queries=frozenset({"status", "location", "battery-info", "bluetooth-key"}),
    bodies=BODIES,
    # Exercise 20 km/h (the status example), Eco 25, Turbo 32 (the switch setting's speedLimit
    # tops out at 32); an empty battery leaves pedalling speed.
    mode_caps_kmh=(25.0, 20.0, 25.0, 32.0),
    top_kmh=32.0,
    unpowered_kmh=14.0,
    full_range_m=(60_000, 70_000, 60_000, 45_000),
    evidence="the vendor reference (Segway API-E-bike A200)",
)
