"""Shared fixtures: a paused simulator served over real HTTP on loopback.

Helpers that tests import by name live in tests/helpers/; this file holds only fixtures and the
one place where the Hypothesis profile is chosen (tests/helpers/profiles.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.server.app import create_app
from simulator.sim import Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers import profiles
from tests.helpers.push import Receiver, Rig, point_demo_platform

profiles.load()  # before any test module is imported, so their `settings(...)` inherit it


@pytest.fixture
def config() -> Config:
    """Paused clock, riders off, no chance events: tests move time themselves, and advancing
    it only brings what follows from their requests (physics.PhysicsConfig.quiet)."""
    return Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet())


@pytest.fixture
def sim(config: Config) -> Simulator:
    return Simulator(config)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[TestClient]:
    """An aiohttp client talking HTTP over loopback to the real app (clock left to the test)."""
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as c:
        yield c


@pytest.fixture
async def rig(client: TestClient, sim: Simulator) -> AsyncIterator[Rig]:
    """The demo platform pushing to a real receiver on loopback (tests/helpers/push.py)."""
    receiver = Receiver(sim)
    await receiver.start()
    point_demo_platform(sim, receiver.url)
    yield Rig(client, sim, receiver)
    assert receiver.server is not None
    await receiver.server.close()
