"""Components keep their identity for the Simulator's lifetime: a reset and a snapshot load
clear and refill them in place, so whoever holds one (the pacer, the dispatcher, the world
engine) keeps holding the current one. And the scenarios' own copy of the wire (vendor paths,
the clock advance limit) agrees with the server's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simulator import snapshot
from simulator.core.errors import SimError
from simulator.push.outbox import Push
from simulator.scenarios.drivers import ADVANCE_STEP_S, VENDOR_PATHS
from simulator.server.control_models import MAX_ADVANCE_S
from simulator.server.vendor import ROUTES
from simulator.sim import DEMO_CLIENT_ID, Config, Simulator
from simulator.world.physics import PhysicsConfig

COMPONENTS = ("bus", "clock", "timers", "streams", "platforms", "platform_list", "fleet",
              "tokens", "inflight", "faults", "requests", "pushes", "push_chaos", "outbox",
              "env", "cadence", "world", "vendor", "config")


def identities(sim: Simulator) -> dict[str, int]:
    return {name: id(getattr(sim, name)) for name in COMPONENTS}


def busy(sim: Simulator) -> None:
    """Change every component: time, rides, rules, tokens, journals, timers, a new platform."""
    sim.platforms[DEMO_CLIENT_ID].callback_url = "http://127.0.0.1:9/partner"
    sim.add_vehicles(sim.add_platform("E20081", "secret"), 3)
    sim.faults.add(code=15704)
    sim.push_chaos.add(action="delay")
    sim.requests.add({"path": "/x"})
    sim.fleet.locked[1] = False
    sim.world.start_ride(1, 600.0)
    sim.advance(120)


def test_reset_keeps_every_component_and_matches_a_fresh_simulator() -> None:
    config = Config(vehicles=6, paused=True, physics=PhysicsConfig.quiet())
    sim = Simulator(config)
    before = identities(sim)
    busy(sim)
    assert len(sim.timers) and sim.outbox.pending() and sim.requests.seq
    sim.reset()
    assert identities(sim) == before
    assert snapshot.dump(sim) == snapshot.dump(Simulator(config))
    assert len(sim.timers) == 0 and sim.outbox.pending() == 0
    assert sim.requests.seq == sim.pushes.seq == 0
    assert sim.env.fleet is sim.fleet and sim.env.platforms is sim.platform_list


def test_a_snapshot_loads_into_the_same_components() -> None:
    config = Config(vehicles=6, paused=True)
    sim = Simulator(config)
    busy(sim)
    saved = snapshot.dump(sim)
    other = Simulator(Config(seed=7, vehicles=2, paused=True))
    before = identities(other)
    snapshot.load(other, saved)
    assert identities(other) == before
    assert snapshot.dump(other) == saved
    # The same future from here, in both.
    sim.advance(900)
    other.advance(900)
    assert snapshot.dump(other) == snapshot.dump(sim)


@pytest.mark.parametrize("breakage", [
    {"fleet": {"imeis": "not a list"}},
    {"parts": {"pushes": {"schedule": []}}},
    {"parts": {"world": {"cursor": "noon"}}},
    {"faults": {"nextId": 0, "rules": []}},
])
def test_a_rejected_snapshot_changes_nothing(breakage: dict[str, Any]) -> None:
    sim = Simulator(Config(vehicles=4, paused=True))
    busy(sim)
    saved = snapshot.dump(sim)
    donor = Simulator(Config(seed=9, vehicles=3, paused=True))
    bad = {**snapshot.dump(donor), **breakage}
    before = identities(sim)
    pending = len(sim.timers)
    with pytest.raises(SimError):
        snapshot.load(sim, bad)
    assert identities(sim) == before
    assert snapshot.dump(sim) == saved
    assert len(sim.timers) == pending


def test_an_attempt_from_before_a_reset_is_not_journaled() -> None:
    """A push in flight across a reset ends in the new world: neither journaled nor retried."""
    sim = Simulator(Config(vehicles=3, paused=True, physics=PhysicsConfig.quiet(),
                           callback_url="http://127.0.0.1:9/partner"))
    sim.fleet.locked[0] = False  # the 10 s location cadence
    sim.advance(30)
    push = sim.outbox.take(DEMO_CLIENT_ID)
    assert isinstance(push, Push)
    sim.reset()
    sim.outbox.attempted(push, None, "connection failed", 1.0)
    assert sim.pushes.seq == 0 and len(sim.timers) == 0
    assert sim.outbox.counters["retry"] == 0


def test_the_world_cache_follows_a_reset_in_place() -> None:
    """The world's derived per-vehicle constants are recomputed for the refilled fleet."""
    sim = Simulator(Config(vehicles=5, paused=True))
    sim.advance(120)
    sky = sim.world.ctx.sky.copy()
    sim.config.seed = 2
    sim.reset()
    sim.advance(120)
    assert len(sim.world.ctx.sky) == len(sim.fleet)
    assert not np.array_equal(sim.world.ctx.sky, sky)


def test_scenario_vendor_paths_are_the_servers() -> None:
    first: dict[str, str] = {}
    for _method, path, _handler, op in ROUTES:
        first.setdefault(op, path)
    assert first == VENDOR_PATHS


def test_scenario_clock_steps_fit_the_control_plane() -> None:
    assert 0 < ADVANCE_STEP_S <= MAX_ADVANCE_S
