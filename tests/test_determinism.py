"""Determinism: the same seed and the same requests give the same trajectories, batteries and
events, bit for bit, however the clock is advanced; a vehicle added perturbs nobody."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import snapshot
from simulator.core.errors import VendorError
from simulator.core.events import Event
from simulator.core.fleet import COLUMNS
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig

# Every chance turned up, so that a few hours hold every kind of event.
BUSY = PhysicsConfig(offline_per_hour=0.3, falls_per_hour=0.2, ride_falls_per_hour=1.0,
                     illegal_moving_per_hour=0.2, faults_per_hour=0.2, fault_clear_per_hour=1.0,
                     invalid_fix_chance=0.1, dormancy_idle_s=4 * 3600.0, ride_median_s=300.0)
HOURS = 2
Advance = Callable[[Simulator, float], None]


def at_once(sim: Simulator, until: float) -> None:
    sim.advance_to(until)


def second_by_second(sim: Simulator, until: float) -> None:
    while sim.clock.now < until:
        sim.advance_to(min(until, sim.clock.now + 1.0))


def in_slices(rng: np.random.Generator) -> Advance:
    def run(sim: Simulator, until: float) -> None:
        while sim.clock.now < until:
            sim.advance_to(min(until, sim.clock.now + float(rng.exponential(40.0))))
    return run


def without_horizons(sim: Simulator, until: float) -> None:
    """Force tick_s steps everywhere: a ticker that cannot tell when it next has work."""
    def noop(now: float, dt: float) -> None:
        pass

    sim.tickers.append(noop)
    try:
        sim.advance_to(until)
    finally:
        sim.tickers.remove(noop)


def live(seed: int, advance: Advance, vehicles: int = 30) -> tuple[Simulator, list[Event]]:
    """A few hours of a busy fleet, with requests at whole and fractional virtual times."""
    sim = Simulator(Config(seed=seed, vehicles=vehicles, paused=True, riders=True, physics=BUSY))
    sim.make_healthy(np.arange(24))
    seen: list[Event] = []
    sim.bus.subscribe(seen.append)
    start = sim.clock.now

    def command(op: str, params: dict[str, int], *rows: int) -> None:
        for row in rows:
            with contextlib.suppress(VendorError):  # offline or dormant by chance, every run alike
                sim.vendor.execute(row, op, params)

    def unlock(*rows: int) -> None:
        command("unlock", {}, *rows)

    requests: list[tuple[float, Callable[[], None]]] = [
        *((17.0 * n, lambda row=row: unlock(row)) for n, row in enumerate(range(0, 24, 2))),
        (600.5, lambda: sim.world.charger(1, True)),
        (900.25, lambda: command("setting/switch", {"speedLimit": 12}, 3)),
        (1500.0, lambda: unlock(5)),
        (2400.75, lambda: unlock(7)),
        (3000.0, lambda: sim.world.charger(1, False)),
        (3600.0, lambda: unlock(*range(9, 24, 3))),
        (7201.5, lambda: unlock(11)),
    ]
    for offset, request in requests:
        advance(sim, start + offset)
        request()
    advance(sim, start + HOURS * 3600)
    return sim, seen


def state(sim: Simulator, rows: slice = slice(None)) -> dict[str, np.ndarray]:
    return {name: sim.fleet.column(name)[rows].copy() for name in COLUMNS}


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for name, column in a.items():
        assert column.tobytes() == b[name].tobytes(), name  # bit for bit


def story(events: list[Event]) -> list[tuple[Any, ...]]:
    return [(e.t, e.row, e.kind, sorted(e.data.items())) for e in events]


def test_same_seed_same_requests_same_world_bit_for_bit() -> None:
    sim_a, events_a = live(4, at_once)
    sim_b, events_b = live(4, at_once)
    assert_same(state(sim_a), state(sim_b))
    assert story(events_a) == story(events_b)
    kinds = {e.kind for e in events_a}
    assert kinds == {"status", "components", "alert", "fault"}  # the run holds every kind
    assert sim_a.fleet.odometer.sum() > 0


def test_second_steps_and_jumps_live_the_same_seconds() -> None:
    sim_a, events_a = live(4, at_once)
    for advance in (second_by_second, without_horizons):
        sim_b, events_b = live(4, advance)
        assert_same(state(sim_a), state(sim_b))
        assert story(events_a) == story(events_b)
        assert sim_a.step_count < sim_b.step_count  # the idle stretches took fewer steps


@settings(max_examples=6)
@given(seed=st.integers(0, 2**16), slicing=st.integers(0, 2**16))
def test_how_the_clock_is_advanced_changes_nothing(seed: int, slicing: int) -> None:
    sim_a, events_a = live(seed, at_once)
    sim_b, events_b = live(seed, in_slices(np.random.default_rng(slicing)))
    assert_same(state(sim_a), state(sim_b))
    assert story(events_a) == story(events_b)


def test_another_seed_is_another_world() -> None:
    sim_a, events_a = live(4, at_once)
    sim_b, events_b = live(5, at_once)
    assert not np.array_equal(sim_a.fleet.lat, sim_b.fleet.lat)
    assert story(events_a) != story(events_b)


def test_a_vehicle_added_perturbs_nobody() -> None:
    sim_a, _ = live(4, at_once, vehicles=30)
    sim_b, _ = live(4, at_once, vehicles=31)
    assert_same(state(sim_a), state(sim_b, slice(0, 30)))


def test_a_snapshot_taken_mid_ride_continues_the_same_world() -> None:
    sim = Simulator(Config(seed=6, vehicles=12, paused=True, riders=True, physics=BUSY))
    sim.make_healthy(np.arange(12))
    for row in range(12):
        sim.vendor.execute(row, "unlock", {})
    sim.advance(200)
    assert sim.fleet.riding.sum() >= 6
    saved = snapshot.dump(sim)
    sim.advance(1800)
    first = state(sim)
    snapshot.load(sim, saved)
    sim.advance(1800)
    assert_same(first, state(sim))
    assert not sim.fleet.riding.any() or sim.fleet.ride_end[sim.fleet.riding].min() > sim.clock.now
