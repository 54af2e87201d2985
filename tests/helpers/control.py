"""Calling the control plane (`/_sim/...`) over HTTP and checking what it answers."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, settings

from simulator import snapshot
from simulator.core.events import Event
from simulator.sim import Simulator
from tests.helpers.vendor import EXAMPLE_IMEI

# Properties whose examples all go through the test's one server (the function-scoped `client`
# and `sim`): every example leaves the world as it found it or asserts on what changed, so
# sharing the fixture across examples is intended. Built when a test module imports it, after
# tests/conftest.py has loaded the Hypothesis profile, so the profile's settings still apply.
HTTP = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
VEHICLE = f"/_sim/vehicles/{EXAMPLE_IMEI}"


async def call(client: TestClient, method: str, path: str, body: Any = None,
               status: int = 200, **kwargs: Any) -> Any:
    """One control-plane request; checks its status and that the answer is JSON."""
    if body is not None:
        kwargs["json"] = body
    resp = await client.request(method, path, **kwargs)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


async def misuse(client: TestClient, sim: Simulator, method: str, path: str, body: Any,
                 field: str | None, status: int = 400, **kwargs: Any) -> dict[str, Any]:
    """A rejected request: the simulator's error naming `field`, and the world unchanged."""
    before = snapshot.dump(sim)
    payload = await call(client, method, path, body, status, **kwargs)
    assert set(payload) == {"error", "field"}
    assert payload["field"] == field
    assert isinstance(payload["error"], str) and payload["error"]
    assert snapshot.dump(sim) == before
    return payload


def listen(sim: Simulator) -> list[Event]:
    events: list[Event] = []
    sim.bus.subscribe(events.append)
    return events


def row(sim: Simulator, imei: str = EXAMPLE_IMEI) -> int:
    found = sim.fleet.find(imei)
    assert found is not None
    return found
