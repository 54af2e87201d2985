"""Shared fixtures: a paused simulator served over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.server.app import create_app
from simulator.sim import DEMO_TOKEN, Config, Simulator

AUTH = {"Authorization": f"bearer {DEMO_TOKEN}"}
EXAMPLE_IMEI = "861477038719116"


@pytest.fixture
def config() -> Config:
    """Paused clock, riders off: tests move time themselves."""
    return Config(seed=7, vehicles=20, paused=True, riders=False)


@pytest.fixture
def sim(config: Config) -> Simulator:
    return Simulator(config)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[TestClient]:
    """An aiohttp client talking HTTP over loopback to the real app (clock left to the test)."""
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as c:
        yield c
