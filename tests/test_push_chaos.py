"""Push chaos over loopback: duplicate, delay, reorder, drop and corrupt, by platform, vehicle,
type and probability, seeded; and the rules' control-plane routes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.core import alerts
from simulator.push.signing import verify_signature
from simulator.sim import DEMO_CLIENT_SECRET, Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.push import Receiver, Rig
from tests.helpers.vendor import EXAMPLE_IMEI, add_tenant, vendor_call

OTHER_IMEI = "862785041281554"


@pytest.fixture
def config() -> Config:
    # One delivery at a time: the order pushes go out in is the order they arrive in.
    return Config(seed=7, vehicles=3, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  extra={"push_concurrency": 1})


async def chaos(rig: Rig, **rule: Any) -> dict[str, Any]:
    response = await rig.client.post("/_sim/push-chaos", json=rule)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


def alert(rig: Rig, code: int, imei: str = EXAMPLE_IMEI) -> None:
    row = rig.sim.fleet.find(imei)
    assert row is not None
    alerts.raise_alert(rig.sim.fleet, row, code, rig.sim.clock.now, rig.sim.bus)


def codes(rig: Rig) -> list[str]:
    return [g.form["code"] for g in rig.receiver.of("alert")]


async def test_duplicate_sends_the_same_signed_form_twice(rig: Rig) -> None:
    rule = await chaos(rig, action="duplicate", type="alert")
    alert(rig, 1)
    await rig.settle()
    first, second = rig.receiver.of("alert")
    assert first.raw == second.raw and first.signed_by()
    records = rig.journal(type="alert")
    assert [r["chaos"] for r in records] == ["duplicate", "duplicate"]
    assert [r["chaosRule"] for r in records] == [rule["id"]] * 2
    assert records[0]["pushId"] == records[1]["pushId"]


async def test_delay_holds_a_push_back_in_virtual_time(rig: Rig) -> None:
    await chaos(rig, action="delay", type="alert", delaySeconds=30)
    t0 = rig.sim.clock.now
    alert(rig, 1)
    await rig.advance(29.5)
    assert codes(rig) == []
    await rig.advance(0.5)
    [got] = rig.receiver.of("alert")
    assert got.t == t0 + 30
    assert got.form["statusUtcTime"] == str(int(t0))  # when it happened, not when it was sent
    assert got.signed_by()


async def test_reorder_swaps_a_push_with_the_next_one(rig: Rig) -> None:
    await chaos(rig, action="reorder", type="alert", times=1)
    alert(rig, 1)
    alert(rig, 3)
    await rig.settle()
    assert codes(rig) == ["3", "1"]
    assert [g.form["statusUtcTime"] for g in rig.receiver.of("alert")] == [str(int(
        rig.sim.clock.now))] * 2


async def test_reorder_releases_a_push_when_nothing_overtakes_it(rig: Rig) -> None:
    await chaos(rig, action="reorder", iotCode=EXAMPLE_IMEI, type="alert", delaySeconds=7)
    alert(rig, 1)
    await rig.advance(6)
    assert codes(rig) == []
    await rig.advance(1)
    assert codes(rig) == ["1"]


async def test_drop_never_sends_and_says_so(rig: Rig) -> None:
    await chaos(rig, action="drop", type="alert", iotCode=EXAMPLE_IMEI)
    alert(rig, 1)
    alert(rig, 1, OTHER_IMEI)
    await rig.advance(60)
    assert [g.form["iotCode"] for g in rig.receiver.of("alert")] == [OTHER_IMEI]
    [dropped] = rig.journal(outcome="dropped")
    assert (dropped["reason"], dropped["chaos"], dropped["iotCode"]) == ("chaos", "drop",
                                                                         EXAMPLE_IMEI)
    assert dropped["fields"]["code"] == "1"  # what would have been sent


async def test_corrupt_sends_a_signature_that_does_not_verify(rig: Rig) -> None:
    await chaos(rig, action="corrupt", type="status")
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.settle()
    [got] = rig.receiver.of("status")
    assert len(got.form["signature"]) == 32 and got.form["signature"].isalnum()
    assert not got.signed_by()
    assert not verify_signature(got.raw, DEMO_CLIENT_SECRET)
    # Only the signature is wrong: the fields are what a good push would carry.
    [record] = rig.journal(type="status")
    assert record["fields"] == got.form and record["chaos"] == "corrupt"


async def test_a_rejected_corrupt_push_is_retried_as_it_was(rig: Rig) -> None:
    async def reject_bad(got: Any) -> int:
        return 200 if got.signed_by() else 401

    rig.receiver.behaviour = reject_bad
    await chaos(rig, action="corrupt", type="alert", times=1)
    alert(rig, 1)
    await rig.settle()
    await rig.advance(5)
    first, second = rig.receiver.of("alert")
    assert first.raw == second.raw and not second.signed_by()
    assert [r["outcome"] for r in rig.journal(type="alert")] == ["retry", "failed"]


async def test_rules_match_by_platform_vehicle_and_type(rig: Rig) -> None:
    headers, [imei] = add_tenant(rig.sim, "E30001", "other-secret", vehicles=1)
    other = Receiver(rig.sim)
    await other.start()
    try:
        rig.sim.platforms["E30001"].callback_url = other.url
        await chaos(rig, action="drop", platformCode="E30001", type="alert")
        await chaos(rig, action="drop", iotCode=OTHER_IMEI)
        alert(rig, 1)  # demo platform, example vehicle: untouched
        alert(rig, 1, OTHER_IMEI)  # dropped by vehicle
        alert(rig, 1, imei)  # dropped by platform and type
        await vendor_call(rig.client, "unlock", {"iotCode": imei}, headers=headers)  # a status
        await rig.settle()
        assert [g.form["iotCode"] for g in rig.receiver.of("alert")] == [EXAMPLE_IMEI]
        assert [g.kind for g in other.got] == ["status"]
    finally:
        assert other.server is not None
        await other.server.close()


async def test_times_counts_down_and_the_rule_goes(rig: Rig) -> None:
    rule = await chaos(rig, action="drop", type="alert", times=2)
    for code in (1, 2, 3):
        alert(rig, code)
    await rig.settle()
    assert codes(rig) == ["3"]
    rules = await (await rig.client.get("/_sim/push-chaos")).json()
    assert rules["items"] == [] and rule["times"] == 2


def dropped_ids(probability: float, seed: int) -> list[int]:
    sim = Simulator(Config(seed=seed, vehicles=40, paused=True, riders=False,
                           physics=PhysicsConfig.quiet(), callback_url="http://127.0.0.1:9/x"))
    sim.push_chaos.add(action="drop", probability=probability)
    sim.advance(900)
    return [r["pushId"] for r in sim.pushes.select({"outcome": "dropped"})]


def test_probability_is_seeded() -> None:
    assert dropped_ids(0.5, seed=4) == dropped_ids(0.5, seed=4)
    assert dropped_ids(0.5, seed=4) != dropped_ids(0.5, seed=5)
    some = dropped_ids(0.5, seed=4)
    assert 5 <= len(some) <= 33  # about half of the ~38 online vehicles' reports
    assert dropped_ids(0.0, seed=4) == []


# -- the routes ----------------------------------------------------------------------------------


async def test_list_and_delete_rules(rig: Rig) -> None:
    a = await chaos(rig, action="duplicate")
    b = await chaos(rig, action="delay", delaySeconds=2.5, probability=0.25)
    listed = (await (await rig.client.get("/_sim/push-chaos")).json())["items"]
    assert [r["id"] for r in listed] == [a["id"], b["id"]]
    assert listed[1] == {"id": b["id"], "action": "delay", "platformCode": None, "iotCode": None,
                         "type": None, "probability": 0.25, "times": None, "delaySeconds": 2.5,
                         "fired": 0}
    gone = await rig.client.delete(f"/_sim/push-chaos/{a['id']}")
    assert (await gone.json()) == {"deleted": 1}
    missing = await rig.client.delete(f"/_sim/push-chaos/{a['id']}")
    assert missing.status == 404 and (await missing.json())["field"] == "id"
    cleared = await rig.client.delete("/_sim/push-chaos")
    assert (await cleared.json()) == {"deleted": 1}
    assert rig.sim.push_chaos.rules == []


BAD_RULES: list[tuple[Any, str]] = [
    ({}, "action"),
    ({"action": "explode"}, "action"),
    ({"action": "drop", "probability": 1.5}, "probability"),
    ({"action": "drop", "probability": "1"}, "probability"),
    ({"action": "drop", "probability": True}, "probability"),
    ({"action": "drop", "times": 0}, "times"),
    ({"action": "drop", "times": 1.5}, "times"),
    ({"action": "delay", "delaySeconds": 0}, "delaySeconds"),
    ({"action": "delay", "delaySeconds": 86_401}, "delaySeconds"),
    ({"action": "drop", "type": "lock"}, "type"),
    ({"action": "drop", "platformCode": "E99999"}, "platformCode"),
    ({"action": "drop", "iotCode": "1"}, "iotCode"),
    ({"action": "drop", "iotCode": 861477038719116}, "iotCode"),
    ({"action": "drop", "id": 5}, "id"),
    ({"action": "drop", "color": "red"}, "color"),
    ([], "body"),
    ("drop", "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_RULES)
async def test_bad_rules_are_refused_naming_the_field(rig: Rig, body: Any, field: str) -> None:
    response = await rig.client.post("/_sim/push-chaos", json=body)
    assert response.status == 400
    assert (await response.json())["field"] == field
    assert rig.sim.push_chaos.rules == []


async def test_malformed_json_is_refused(rig: Rig) -> None:
    response = await rig.client.post("/_sim/push-chaos", data=b"{nope",
                                     headers={"Content-Type": "application/json"})
    assert response.status == 400 and (await response.json())["field"] == "body"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(probability=st.floats(-1, 2, allow_nan=False),
       delay=st.floats(-10, 100_000, allow_nan=False))
async def test_rule_ranges(rig: Rig, probability: float, delay: float) -> None:
    before = len(rig.sim.push_chaos.rules)
    response = await rig.client.post("/_sim/push-chaos", json={
        "action": "delay", "probability": probability, "delaySeconds": delay})
    ok = 0 <= probability <= 1 and 0 < delay <= 86_400
    assert response.status == (201 if ok else 400)
    assert len(rig.sim.push_chaos.rules) == before + ok
