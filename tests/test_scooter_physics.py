"""The kick scooter's physics: its speed caps by mode (15 / 20 / 25 km/h), the limits of
setting/scooter, and its range (60 / 50 / 40 km on a full charge), with virtual riders on.

The figures are restated from FIDELITY.md ("scooter speed modes and range"), not read from the
profile, so a drift of either shows. The A200's are tests/test_vendor_settings.py and
tests/test_physics_battery.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.models import INDEX
from simulator.core.operations import Query
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world import battery
from simulator.world.physics import PhysicsConfig

AUTH = f"bearer {DEMO_TOKEN}"
CAP_KMH = {1: 15.0, 2: 20.0, 3: 25.0}  # low, medium, high
FULL_RANGE_M = {1: 60_000, 2: 50_000, 3: 40_000}
LIMIT_FIELDS = {1: "lowSpeedLimit", 2: "mediumSpeedLimit", 3: "highSpeedLimit"}
N = 24


def scooters(seed: int = 5, n: int = N) -> Simulator:
    """A healthy scooter fleet, charged full, riders on (an unlock brings a rider)."""
    sim = Simulator(Config(seed=seed, vehicles=n, paused=True, riders=True,
                           physics=PhysicsConfig.quiet(), models=(("scooter", 1.0),)))
    f = sim.fleet
    assert (f.model == INDEX["scooter"]).all()
    rows = np.arange(n)
    sim.make_healthy(rows)
    f.power[rows] = 100.0
    battery.sync_packs(f, rows)
    return sim


def command(sim: Simulator, op: str, row: int, **body: Any) -> None:
    assert sim.vendor.command(op, AUTH, {"iotCode": sim.fleet.imeis[row], **body}) is None


def status(sim: Simulator, row: int) -> dict[str, Any]:
    answer = sim.vendor.query("status", AUTH, Query.of(iotCode=sim.fleet.imeis[row]))
    assert isinstance(answer, dict)
    return answer


class Limits:
    """What each scooter may go: its mode's cap, or the limit set for that mode."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.limit = np.zeros((len(sim.fleet), 4))  # km/h by [row, mode], 0 none

    def set(self, row: int, mode: int, kmh: int) -> None:
        command(self.sim, "setting/scooter", row, **{LIMIT_FIELDS[mode]: kmh})
        self.limit[row, mode] = kmh

    def cap(self) -> npt.NDArray[np.float64]:
        f = self.sim.fleet
        mode = f.speed_mode.astype(np.intp)
        caps = np.array([np.nan, *CAP_KMH.values()])[mode]
        limit = self.limit[np.arange(len(f)), mode]
        return np.where(limit > 0, limit, caps)


def ride_an_hour(sim: Simulator, limits: Limits, seconds: int = 3600) -> npt.NDArray[np.float64]:
    """Keep the fleet rented for `seconds` (a locked scooter is unlocked again each minute),
    checking every step that no scooter goes faster than it may; the top speed of each."""
    f = sim.fleet
    top = np.zeros(len(f))

    def check(now: float, dt: float) -> None:
        speed = f.speed.astype(np.float64)
        over = speed > limits.cap() + 1e-4
        assert not over.any(), (now, np.flatnonzero(over), speed[over], limits.cap()[over])
        np.maximum(top, speed, out=top)

    sim.tickers.append(check)  # after the world's step: sees every speed the physics sets
    for _ in range(seconds // 60):
        for row in np.flatnonzero(f.locked).tolist():
            command(sim, "unlock", row)  # the next rental: a rider gets on
        sim.advance(60)
    sim.tickers.remove(check)
    return top


def test_a_scooter_never_goes_faster_than_its_mode_or_its_limit() -> None:
    sim = scooters()
    f, limits = sim.fleet, Limits(sim)
    for row in range(N):
        command(sim, "setting/speed-mode", row, speedMode=1 + row % 3)
    # A quarter of the fleet limited in the mode it rides, below and near its cap.
    for row in range(0, N, 4):
        mode = int(f.speed_mode[row])
        limits.set(row, mode, 10 if row % 8 == 0 else int(CAP_KMH[mode]) - 2)
    top = ride_an_hour(sim, limits)
    modes = f.speed_mode.astype(np.intp)
    caps = limits.cap()
    # The caps bind: riders cruise at ~18 km/h, so low mode and the limits are reached.
    low = (modes == 1) | (caps <= 13)
    assert np.all(top[low] >= caps[low] - 0.5), (top[low], caps[low])
    assert np.all(top <= caps + 1e-4)
    assert np.all(top > 0)  # every scooter was ridden


def test_a_limit_set_mid_ride_holds_at_once() -> None:
    sim = scooters(seed=9, n=6)
    f, limits = sim.fleet, Limits(sim)
    for row in range(6):
        command(sim, "setting/speed-mode", row, speedMode=3)
    ride_an_hour(sim, limits, seconds=600)
    riding = np.flatnonzero(f.riding & (f.speed > 8))
    assert riding.size  # someone is going at speed now
    for row in riding.tolist():
        limits.set(row, 3, 8)
        assert float(f.speed[row]) <= 8.0
        assert status(sim, row)["speed"] <= 8
    ride_an_hour(sim, limits, seconds=600)


@settings(max_examples=6)
@given(mode=st.integers(1, 3), limit=st.none() | st.integers(6, 25), seed=st.integers(0, 99))
def test_any_mode_and_limit_caps_the_rider(mode: int, limit: int | None, seed: int) -> None:
    sim = scooters(seed=seed, n=4)
    limits = Limits(sim)
    for row in range(4):
        command(sim, "setting/speed-mode", row, speedMode=mode)
        if limit is not None:
            limits.set(row, mode, limit)
    top = ride_an_hour(sim, limits, seconds=900)
    assert np.all(top <= (limit or CAP_KMH[mode]) + 1e-4)


def test_remaining_range_follows_the_scooters_full_range() -> None:
    sim = scooters(n=9)
    f = sim.fleet
    for row in range(9):
        mode = 1 + row % 3
        command(sim, "setting/speed-mode", row, speedMode=mode)
        # In the vendor's unit of 10 m: a full scooter goes 60, 50 or 40 km.
        assert status(sim, row)["remainingRange"] == FULL_RANGE_M[mode] // 10
        v1 = sim.vendor.query("v1/get", AUTH, Query.of(iotCode=f.imeis[row],
                                                       vehicleCode=f.imeis[row]))
        assert isinstance(v1, dict) and v1["remainingRange"] == FULL_RANGE_M[mode] // 10
    for row, power in ((0, 50.0), (1, 25.0), (2, 10.0)):
        f.power[row] = power
        mode = int(f.speed_mode[row])
        assert status(sim, row)["remainingRange"] == round(power / 100 * FULL_RANGE_M[mode] / 10)


def test_riding_drains_about_what_the_remaining_range_promises() -> None:
    """Per percent of charge, a scooter rides about a hundredth of its mode's full range."""
    sim = scooters(seed=11, n=9)
    f = sim.fleet
    for row in range(9):
        command(sim, "setting/speed-mode", row, speedMode=1 + row % 3)
        f.locked[row] = False
        sim.world.start_ride(row, 3600.0)  # one hour's ride each, none parked meanwhile
    start = f.odometer[:9].astype(np.float64)
    sim.advance(3600)
    used = 100.0 - f.power[:9].astype(np.float64)
    per_pct = (f.odometer[:9] - start) / used
    for mode, metres in FULL_RANGE_M.items():
        got = per_pct[f.speed_mode[:9] == mode].mean()
        assert 0.5 * metres / 100 <= got <= 1.3 * metres / 100, (mode, got)
