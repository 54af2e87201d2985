"""Property tests of the physics: invariants that hold whatever the seed, the requests and the way
the clock is advanced (a Hypothesis state machine drives the core synchronously)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from simulator.core.errors import VendorError
from simulator.core.fleet import PACKS
from simulator.core.vehicle import MODE_CAP_KMH, UNASSISTED_KMH
from simulator.sim import Config, Simulator
from simulator.world import battery
from simulator.world.gps import NO_FIX_HDOP, max_drift_m
from simulator.world.physics import PhysicsConfig

# Chances turned up so that a short run meets every kind of incident; short rides.
BUSY = PhysicsConfig(offline_per_hour=0.5, falls_per_hour=0.5, ride_falls_per_hour=2.0,
                     illegal_moving_per_hour=0.5, faults_per_hour=0.5, fault_clear_per_hour=2.0,
                     invalid_fix_chance=0.2, dormancy_idle_s=1800.0, ride_median_s=150.0)
N = 12


def local_m(sim: Simulator, rows: np.ndarray, lat: np.ndarray, lon: np.ndarray):
    city = sim.platform_list[0].city
    return ((lon - city.lon) * city.meters_per_deg_lon(),
            (lat - city.lat) * city.meters_per_deg_lat())


def true_position(sim: Simulator) -> tuple[np.ndarray, np.ndarray]:
    """The fix minus its stored error (gps.py keeps the fleet this way)."""
    f, city = sim.fleet, sim.platform_list[0].city
    return (f.lat - f.gps_dn / city.meters_per_deg_lat(),
            f.lon - f.gps_de / city.meters_per_deg_lon())


@dataclass
class Seen:
    """What the fleet looked like at the previous observation."""

    power: np.ndarray
    charging: np.ndarray
    plugged: np.ndarray
    odometer: np.ndarray
    riding_secs: np.ndarray
    anchor: dict[int, tuple[float, float]]  # locked rows: true position when first seen locked


def observe(sim: Simulator, before: Seen | None) -> Seen:
    """Check every invariant against the fleet now (and against `before`); return what was seen."""
    f = sim.fleet
    city = sim.platform_list[0].city
    # Charge within 0-100; packs within 0-100 and their mean is the vehicle percent.
    assert np.all((f.power >= 0) & (f.power <= 100))
    count = np.clip(f.battery_count, 1, PACKS)
    present = np.arange(PACKS)[None, :] < count[:, None]
    assert np.all((f.pack_percent >= 0) & (f.pack_percent <= 100.0001))
    assert np.all(f.pack_percent[~present] == 0)
    mean = (f.pack_percent * present).sum(axis=1) / count
    np.testing.assert_allclose(mean, f.power, atol=1e-3)
    assert np.all((f.iot_percent >= 0) & (f.iot_percent <= 100))
    # Positions finite and inside the service disc.
    assert np.all(np.isfinite(f.lat) & np.isfinite(f.lon))
    x, y = local_m(sim, np.arange(len(f)), f.lat, f.lon)
    assert np.all(np.hypot(x, y) <= city.radius_m + 1e-3)
    # Speed within the caps; nobody moves without a rider.
    cap = np.minimum(MODE_CAP_KMH[np.clip(f.speed_mode, 0, 3)], f.speed_limit)
    cap = np.where(f.power > 0, cap, np.minimum(cap, UNASSISTED_KMH))
    assert np.all((f.speed >= 0) & (f.speed <= cap))
    assert np.all(f.speed[~f.riding] == 0)
    assert not np.any(f.riding & f.locked)
    # GPS quality hangs together.
    valid = f.location_valid
    assert np.all((f.hdop[valid] >= 0.6) & (f.hdop[valid] <= 5.0) | (f.hdop[valid] == 1.0))
    assert np.all(f.hdop[~valid] == np.float32(NO_FIX_HDOP))
    assert np.all((f.network_signal >= 2) & (f.network_signal <= 32))
    assert np.all(f.satellites >= 0) and np.all(f.satellites <= 20)

    tlat, tlon = true_position(sim)
    anchor: dict[int, tuple[float, float]] = {}
    for i in np.flatnonzero(f.locked).tolist():
        anchor[int(i)] = (before.anchor.get(int(i)) if before else None) or (tlat[i], tlon[i])
    if before is not None:
        # Odometer and riding seconds never decrease.
        assert np.all(f.odometer >= before.odometer)
        assert np.all(f.riding_secs >= before.riding_secs)
        # Without a charger, charge never increases (riding, standing, whatever happens).
        uncharged = ~before.charging & ~before.plugged
        assert np.all(f.power[uncharged] <= before.power[uncharged])
        # A locked vehicle stays where it is: its fixes wander within what the hdop allows.
        for i, (alat, alon) in anchor.items():
            ax, ay = local_m(sim, np.array([i]), np.array([alat]), np.array([alon]))
            tx, ty = local_m(sim, np.array([i]), tlat[i:i + 1], tlon[i:i + 1])
            assert np.hypot(tx - ax, ty - ay)[0] < 0.01
            if f.location_valid[i]:
                fx, fy = local_m(sim, np.array([i]), f.lat[i:i + 1], f.lon[i:i + 1])
                assert np.hypot(fx - ax, fy - ay)[0] <= max_drift_m(f.hdop[i]) + 1e-3
    return Seen(f.power.copy(), f.charging.copy(), f.plugged.copy(), f.odometer.copy(),
                f.riding_secs.copy(), anchor)


class LivingFleet(RuleBasedStateMachine):
    """Requests and clock advances in any order: every invariant holds after each of them."""

    def __init__(self) -> None:
        super().__init__()
        self.sim: Simulator | None = None
        self.seen: Seen | None = None

    @initialize(seed=st.integers(0, 2**16))
    def build(self, seed: int) -> None:
        self.sim = Simulator(Config(seed=seed, vehicles=N, paused=True, physics=BUSY))
        self.sim.make_healthy(np.arange(6))
        self.seen = observe(self.sim, None)

    @property
    def s(self) -> Simulator:
        assert self.sim is not None
        return self.sim

    def _unlocked(self, row: int) -> None:
        self.seen = observe(self.s, self.seen)
        if self.seen is not None:
            self.seen.anchor.pop(row, None)

    @rule(seconds=st.one_of(st.floats(0, 900), st.integers(0, 3 * 3600).map(float)))
    def advance(self, seconds: float) -> None:
        self.s.advance(seconds)

    @rule(row=st.integers(0, N - 1))
    def unlock(self, row: int) -> None:
        try:
            self.s.vendor.execute(row, "unlock", {})
        except VendorError:
            return
        self._unlocked(row)

    @rule(row=st.integers(0, N - 1), seconds=st.floats(1, 1200))
    def ride(self, row: int, seconds: float) -> None:
        f = self.s.fleet
        if not f.locked[row] and not f.riding[row]:
            self.s.world.start_ride(row, seconds)

    @rule(row=st.integers(0, N - 1), plugged=st.booleans())
    def charger(self, row: int, plugged: bool) -> None:
        self.s.world.charger(row, plugged)

    @rule(row=st.integers(0, N - 1), limit=st.integers(6, 32), low=st.integers(0, 30),
          mode=st.integers(1, 3))
    def settings(self, row: int, limit: int, low: int, mode: int) -> None:
        try:
            self.s.vendor.execute(row, "setting/switch",
                                  {"speedLimit": limit, "lowPowerValue": low})
            self.s.vendor.execute(row, "setting/speed-mode", {"speedMode": mode})
        except VendorError:
            pass

    @rule(row=st.integers(0, N - 1), power=st.floats(0, 12))
    def nearly_empty(self, row: int, power: float) -> None:
        """The battery is swapped for a nearly empty one (as a control-plane PATCH does)."""
        f = self.s.fleet
        f.power[row] = power
        battery.sync_packs(f, np.array([row]))
        self.seen = observe(self.s, None if self.seen is None else
                            Seen(f.power.copy(), self.seen.charging, self.seen.plugged,
                                 self.seen.odometer, self.seen.riding_secs, self.seen.anchor))

    @invariant()
    def holds(self) -> None:
        if self.sim is not None:
            self.seen = observe(self.sim, self.seen)


LivingFleet.TestCase.settings = settings(
    max_examples=50, stateful_step_count=12, suppress_health_check=[HealthCheck.too_slow])
TestLivingFleet = LivingFleet.TestCase


def test_a_lower_speed_limit_holds_from_the_moment_it_is_set() -> None:
    """Found by the machine above: a rider at 8.64 km/h, then speedLimit 6 (and speed mode 1);
    the status right after the setting reported 8.64, over the limit the vehicle had accepted."""
    machine = LivingFleet()
    machine.build(seed=0)
    machine.unlock(row=0)
    machine.advance(seconds=11.0)
    assert machine.s.fleet.speed[0] > 6  # riding faster than the limit about to be set
    machine.settings(row=0, limit=6, low=0, mode=1)
    machine.holds()
    assert machine.s.fleet.speed[0] == 6
    machine.teardown()
