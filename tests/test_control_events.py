"""Control plane: POST /_sim/vehicles/{iotCode}/events, things happening to a vehicle."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from simulator.core.alerts import FAULT_CODES
from simulator.core.events import ALERT, COMPONENTS, FAULT, STATUS
from simulator.sim import Simulator
from tests.helpers.control import HTTP, VEHICLE, call, listen, misuse, row
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

EVENTS = f"{VEHICLE}/events"


async def unlock(client: TestClient) -> None:
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0


async def test_rider_lock(client: TestClient, sim: Simulator) -> None:
    await unlock(client)
    events = listen(sim)
    state = await call(client, "POST", EVENTS, {"type": "rider-lock"})
    assert state["locked"] and not state["riding"] and not state["mechLockOpen"]
    assert [(e.kind, e.row) for e in events] == [(STATUS, row(sim)), (COMPONENTS, row(sim))]
    assert events[0].data == {"reason": "lock"} and events[1].data == {"type": 5, "status": 2}
    status = await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    assert status["data"]["locked"] is True
    events.clear()
    await call(client, "POST", EVENTS, {"type": "rider-lock"})  # already locked: nothing new
    assert events == []


async def test_ride_then_park_and_lock(client: TestClient, sim: Simulator) -> None:
    await misuse(client, sim, "POST", EVENTS, {"type": "ride"}, "type", 409)
    await unlock(client)
    state = await call(client, "POST", EVENTS, {"type": "ride", "seconds": 120})
    assert state["riding"] and not state["locked"]
    await misuse(client, sim, "POST", EVENTS, {"type": "ride"}, "type", 409)
    events = listen(sim)
    await call(client, "POST", "/_sim/clock", {"advance": 121})
    state = await call(client, "GET", VEHICLE)
    assert state["locked"] and not state["riding"]
    assert STATUS in [e.kind for e in events] and COMPONENTS in [e.kind for e in events]


@pytest.mark.parametrize("seconds", [0, -5, "60", True, 86_401, None])
async def test_ride_bad_seconds(client: TestClient, sim: Simulator, seconds: Any) -> None:
    await unlock(client)
    await misuse(client, sim, "POST", EVENTS, {"type": "ride", "seconds": seconds}, "seconds")


@pytest.mark.parametrize(("code", "cleared_as"), [(1, 1), (2, 2), (3, 3), (4, 2), (12, 12)])
async def test_alert_raised_and_cleared(client: TestClient, sim: Simulator, code: int,
                                        cleared_as: int) -> None:
    events = listen(sim)
    state = await call(client, "POST", EVENTS, {"type": "alert", "code": code})
    assert state["alerts"] == [code]
    await call(client, "POST", EVENTS, {"type": "alert", "code": code})  # still active
    state = await call(client, "POST", EVENTS, {"type": "alert-cleared", "code": code})
    assert state["alerts"] == []
    await call(client, "POST", EVENTS, {"type": "alert-cleared", "code": code})
    # each change once; a fall clears as "2->vehicle fell down", as the alert push lists
    assert [(e.kind, e.data) for e in events] == [
        (ALERT, {"code": code, "alertStatus": 0}), (ALERT, {"code": cleared_as, "alertStatus": 1})]


@HTTP
@given(code=st.one_of(st.integers().filter(lambda c: c not in (1, 2, 3, 4, 12)),
                      st.text(max_size=3), st.booleans(), st.none(), st.floats(0, 13)))
@example(code=1.0)
@example(code=True)
async def test_alert_bad_code(client: TestClient, sim: Simulator, code: Any) -> None:
    kind = "alert" if isinstance(code, int) else "alert-cleared"
    await misuse(client, sim, "POST", EVENTS, {"type": kind, "code": code}, "code")


async def test_fault_raised_and_cleared(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    await call(client, "POST", EVENTS, {"type": "fault", "code": "E0"})
    state = await call(client, "POST", EVENTS, {"type": "fault", "code": 23})  # number is fine
    assert state["faults"] == ["E0", "23"]
    state = await call(client, "POST", EVENTS, {"type": "fault-cleared", "code": "E0"})
    assert state["faults"] == ["23"]
    assert [(e.kind, e.data) for e in events] == [
        (FAULT, {"code": "E0", "faultStatus": 0}), (FAULT, {"code": "23", "faultStatus": 0}),
        (FAULT, {"code": "E0", "faultStatus": 1})]


@HTTP
@given(code=st.sampled_from(FAULT_CODES))
async def test_every_appendix_2_code(client: TestClient, sim: Simulator, code: str) -> None:
    state = await call(client, "POST", EVENTS, {"type": "fault", "code": code})
    assert code in state["faults"]
    state = await call(client, "POST", EVENTS, {"type": "fault-cleared", "code": code})
    assert code not in state["faults"]


@HTTP
@given(code=st.one_of(st.text(max_size=4).filter(lambda c: c not in FAULT_CODES),
                      st.integers().filter(lambda c: str(c) not in FAULT_CODES),
                      st.none(), st.booleans()))
async def test_fault_bad_code(client: TestClient, sim: Simulator, code: Any) -> None:
    await misuse(client, sim, "POST", EVENTS, {"type": "fault", "code": code}, "code")


async def test_charger(client: TestClient, sim: Simulator) -> None:
    sim.fleet.power[row(sim)] = 50.0
    events = listen(sim)
    state = await call(client, "POST", EVENTS, {"type": "charger", "plugged": True})
    assert state["plugged"] and state["charging"]
    assert state["status"]["charging"] and state["battery"]["charging"]
    await call(client, "POST", EVENTS, {"type": "charger", "plugged": True})
    state = await call(client, "POST", EVENTS, {"type": "charger", "plugged": False})
    assert not state["charging"] and not state["plugged"]
    assert [e.data["reason"] for e in events] == ["charging", "charge-end"]
    await misuse(client, sim, "POST", EVENTS, {"type": "charger"}, "plugged")
    await misuse(client, sim, "POST", EVENTS, {"type": "charger", "plugged": 1}, "plugged")


async def test_offline_online_and_power_on(client: TestClient, sim: Simulator) -> None:
    events = listen(sim)
    state = await call(client, "POST", EVENTS, {"type": "offline"})
    assert not state["online"]
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 15301
    state = await call(client, "POST", EVENTS, {"type": "online"})
    assert state["online"]
    assert [e.data["reason"] for e in events] == ["offline", "online"]
    # transport mode (whole-shutdown) holds until a power-on
    body = {"iotCode": EXAMPLE_IMEI}
    assert (await vendor_call(client, "whole-shutdown", body))["code"] == 0
    await misuse(client, sim, "POST", EVENTS, {"type": "online"}, "type", 409)
    events.clear()
    state = await call(client, "POST", EVENTS, {"type": "power-on"})
    assert state["online"] and not state["transport"]
    assert [(e.kind, e.data) for e in events] == [(STATUS, {"reason": "online"})]
    assert (await vendor_call(client, "unlock", body))["code"] == 0


async def test_battery_cover_closed(client: TestClient, sim: Simulator) -> None:
    await unlock(client)
    answer = await vendor_call(client, "battery-cover", {"iotCode": EXAMPLE_IMEI})
    assert answer["code"] == 0
    assert (await call(client, "GET", VEHICLE))["coverOpen"]
    state = await call(client, "POST", EVENTS, {"type": "battery-cover-closed"})
    assert not state["coverOpen"]


async def test_upgrade(client: TestClient, sim: Simulator) -> None:
    state = await call(client, "POST", EVENTS, {"type": "upgrade-start"})
    assert state["upgrading"]
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 15500
    await misuse(client, sim, "POST", EVENTS, {"type": "upgrade-end", "firmware": "2"},
                 "firmware")
    state = await call(client, "POST", EVENTS, {"type": "upgrade-end", "firmware": "1.6.1"})
    assert not state["upgrading"] and state["firmware"] == "1.6.1"
    state = await call(client, "POST", EVENTS, {"type": "upgrade-end"})
    assert state["firmware"] == "1.6.1"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "type"),
    ({"type": "explode"}, "type"),
    ({"type": 3}, "type"),
    ({"type": "rider-lock", "force": True}, "force"),
    ({"type": "alert"}, "code"),
    ({"type": "fault-cleared"}, "code"),
    ({"type": "offline", "code": 1}, "code"),
])
async def test_event_misuse(client: TestClient, sim: Simulator, body: dict[str, Any],
                            field: str) -> None:
    await misuse(client, sim, "POST", EVENTS, body, field)


async def test_event_body_must_be_an_object(client: TestClient, sim: Simulator) -> None:
    await misuse(client, sim, "POST", EVENTS, ["rider-lock"], "body")
    await misuse(client, sim, "POST", EVENTS, None, "body", data=b"{",
                 headers={"Content-Type": "application/json"})
