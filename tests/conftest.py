"""Shared fixtures: a paused simulator served over real HTTP on loopback."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from push_receiver import Receiver, Rig, point_demo_platform

from simulator.core.fleet import COLUMNS
from simulator.server.app import create_app
from simulator.server.vendor import ROUTES
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

AUTH = {"Authorization": f"bearer {DEMO_TOKEN}"}
EXAMPLE_IMEI = "861477038719116"

# Vendor operation -> its (first) path, from the route table.
VENDOR_PATHS: dict[str, str] = {}
for _method, _path, _handler, _op in ROUTES:
    VENDOR_PATHS.setdefault(_op, _path)


async def vendor_call(
    client: TestClient, op: str, body: Any = None, headers: dict[str, str] | None = None,
    **query: str,
) -> dict[str, Any]:
    """Call vendor operation `op` (queries: GET with `query`; commands: POST `body` as JSON) and
    return its envelope, checking it is HTTP 200 JSON as every vendor answer is."""
    headers = AUTH if headers is None else headers
    path = VENDOR_PATHS[op]
    if "/query/" in path:
        resp = await client.get(path, params=query, headers=headers)
    else:
        resp = await client.post(path, json=body, headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "application/json"
    payload: dict[str, Any] = await resp.json()
    return payload


def add_tenant(
    sim: Simulator, code: str = "E30001", secret: str = "other-secret", vehicles: int = 2
) -> tuple[dict[str, str], list[str]]:
    """A second platform with healthy vehicles and a token: (its auth headers, its IMEIs)."""
    platform = sim.add_platform(code, secret)
    rows = sim.add_vehicles(platform, vehicles, variety=False)
    sim.make_healthy(rows)
    token = sim.tokens.grant(platform, sim.clock.now)
    return {"Authorization": f"bearer {token.value}"}, [sim.fleet.imeis[r] for r in rows]


def row_state(sim: Simulator, row: int) -> dict[str, Any]:
    """Everything the simulator holds about one vehicle, for before/after comparisons."""
    f = sim.fleet
    state = {name: f.column(name)[row].tolist() for name in COLUMNS}
    state["extras"] = copy.deepcopy(f.extras.get(row) or {})
    state["inflight"] = row in sim.inflight
    return state


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
    """The demo platform pushing to a real receiver on loopback (tests/push_receiver.py)."""
    receiver = Receiver(sim)
    await receiver.start()
    point_demo_platform(sim, receiver.url)
    yield Rig(client, sim, receiver)
    assert receiver.server is not None
    await receiver.server.close()
