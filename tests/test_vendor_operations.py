"""The vendor operations' check order, called in the core (no HTTP, no event loop).

token (15101) -> parameters (15004) -> lookup (15102, 15103) -> fault rule -> in flight (15104)
-> vehicle state -> effect; a rule's delay is a Pending the caller finishes or abandons.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.core.errors import VendorError
from simulator.core.operations import (
    BodyTooLarge,
    InFlight,
    Operations,
    Pending,
    Query,
    Trace,
    Unreadable,
)
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN, Simulator
from tests.helpers.vendor import EXAMPLE_IMEI, add_tenant, example_row, row_state

AUTH = f"bearer {DEMO_TOKEN}"
UNLOCK = {"iotCode": EXAMPLE_IMEI}
SOUND = {"iotCode": EXAMPLE_IMEI, "controlType": 2}


def code_of(call: Callable[..., object], *args: object) -> int | None:
    """The vendor code `call` answers (None: success), a delay's Pending finished at once."""
    try:
        answer = call(*args)
        if isinstance(answer, Pending):
            answer.finish()
    except VendorError as err:
        return err.code
    return None


@pytest.fixture
def ops(sim: Simulator) -> Operations:
    return sim.vendor


# -- token, then parameters, then lookup ---------------------------------------------------------

@pytest.mark.parametrize("authorization", ["", "bearer", "basic " + DEMO_TOKEN, "bearer nope",
                                           "token " + DEMO_TOKEN])
def test_the_token_comes_first(ops: Operations, authorization: str) -> None:
    assert code_of(ops.command, "sound", authorization, {"controlType": 99}) == 15101
    assert code_of(ops.command, "unlock", authorization, Unreadable.NOT_JSON) == 15101
    assert code_of(ops.command, "unlock", authorization, Unreadable.TOO_LARGE) == 15101
    assert code_of(ops.query, "status", authorization, Query.of(iotCode="x")) == 15101


def test_the_scheme_is_case_insensitive(ops: Operations) -> None:
    for scheme in ("bearer", "Bearer", "BEARER"):
        assert code_of(ops.query, "status", f" {scheme}  {DEMO_TOKEN} ",
                       Query.of(iotCode=EXAMPLE_IMEI)) is None


def test_an_expired_token_is_refused(sim: Simulator, ops: Operations) -> None:
    token = sim.tokens.by_value[DEMO_TOKEN]
    sim.clock.now = token.expires_at
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode=EXAMPLE_IMEI)) == 15101


def test_parameters_come_before_the_lookup(ops: Operations) -> None:
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode="12ab")) == 15004
    assert code_of(ops.query, "location", AUTH,
                   Query.of(iotCode="999", realTimeLocation="maybe")) == 15004
    assert code_of(ops.command, "sound", AUTH, {"iotCode": "999", "controlType": 99}) == 15004
    assert code_of(ops.command, "unlock", AUTH, Unreadable.NOT_JSON) == 15004
    assert code_of(ops.command, "unlock", AUTH, ["not", "an", "object"]) == 15004


def test_a_body_too_large_is_refused_after_the_token(ops: Operations) -> None:
    trace = Trace()
    with pytest.raises(BodyTooLarge):
        ops.command("unlock", AUTH, Unreadable.TOO_LARGE, trace)
    assert trace == Trace(platform=DEMO_CLIENT_ID)


def test_lookup(sim: Simulator, ops: Operations) -> None:
    _, (foreign, _) = add_tenant(sim)
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode="999999999999999")) == 15102
    assert code_of(ops.command, "unlock", AUTH, {"iotCode": foreign}) == 15103
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode=foreign)) == 15103


def test_the_trace_says_how_far_a_call_got(ops: Operations) -> None:
    trace = Trace()
    assert code_of(ops.command, "sound", AUTH, {"iotCode": 861477038719116, "controlType": 0},
                   trace) == 15004
    assert trace == Trace(platform=DEMO_CLIENT_ID, iot_code=EXAMPLE_IMEI)  # as sent
    trace = Trace()
    ops.command("sound", AUTH, SOUND, trace)
    assert trace == Trace(DEMO_CLIENT_ID, EXAMPLE_IMEI, {"iotCode": EXAMPLE_IMEI,
                                                         "controlType": 2})
    trace = Trace()
    assert code_of(ops.query, "status", "bearer nope", Query.of(iotCode=EXAMPLE_IMEI),
                   trace) == 15101
    assert trace == Trace()


# -- fault rules ---------------------------------------------------------------------------------

def test_no_rule_fires_for_a_request_refused_before_the_lookup_ends(sim: Simulator,
                                                                    ops: Operations) -> None:
    _, (foreign, _) = add_tenant(sim)
    rule = sim.faults.add(code=15302, times=5)
    assert code_of(ops.query, "status", "bearer nope", Query.of(iotCode=EXAMPLE_IMEI)) == 15101
    assert code_of(ops.command, "unlock", AUTH, {"iotCode": "x"}) == 15004
    assert code_of(ops.command, "unlock", AUTH, {"iotCode": "999999999999999"}) == 15102
    assert code_of(ops.command, "unlock", AUTH, {"iotCode": foreign}) == 15103
    assert (rule.fired, rule.times) == (0, 5)
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15302
    assert (rule.fired, rule.times) == (1, 4)


def test_a_rule_comes_before_the_vehicle_state(sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    sim.fleet.online[row] = False
    sim.fleet.activated[row] = False
    sim.faults.add(code=15303, times=2)
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15303
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode=EXAMPLE_IMEI)) == 15303
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15300


def test_a_rule_with_a_code_and_no_delay_beats_the_command_in_flight(sim: Simulator,
                                                                       ops: Operations) -> None:
    sim.faults.add(delayMs=300, endpoint="sound", times=1)
    held = ops.command("sound", AUTH, SOUND)
    assert isinstance(held, Pending) and held.delay == 0.3
    sim.faults.add(code=15601, endpoint="unlock", times=1)
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15601
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15104
    held.finish()
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) is None


def test_a_delayed_command_holds_its_vehicle_only(sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    other = sim.fleet.imeis[row + 1]
    sim.make_healthy(row + 1)
    sim.faults.add(delayMs=300, endpoint="setting/speed-mode", iotCode=EXAMPLE_IMEI)
    sim.fleet.speed_mode[row] = 2
    held = ops.command("setting/speed-mode", AUTH, {"iotCode": EXAMPLE_IMEI, "speedMode": 1})
    assert isinstance(held, Pending) and row in sim.inflight
    assert code_of(ops.command, "unlock", AUTH, UNLOCK) == 15104
    assert code_of(ops.command, "unlock", AUTH, {"iotCode": other}) is None
    status = ops.query("status", AUTH, Query.of(iotCode=EXAMPLE_IMEI))
    assert isinstance(status, dict) and status["speedMode"] == 2  # not applied before the answer
    assert held.finish() is None
    assert sim.fleet.speed_mode[row] == 1 and row not in sim.inflight


def test_the_vehicle_is_asked_when_the_delay_is_over(sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    sim.faults.add(delayMs=300, endpoint="unlock", times=1)
    held = ops.command("unlock", AUTH, UNLOCK)
    assert isinstance(held, Pending)
    sim.fleet.online[row] = False  # went offline meanwhile
    with pytest.raises(VendorError) as caught:
        held.finish()
    assert caught.value.code == 15301 and row not in sim.inflight and sim.fleet.locked[row]


def test_a_delay_then_its_code(sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    sim.faults.add(delayMs=50, code=15302, endpoint="unlock", times=1)
    before = row_state(sim, row)
    held = ops.command("unlock", AUTH, UNLOCK)
    assert isinstance(held, Pending) and held.delay == 0.05
    with pytest.raises(VendorError) as caught:
        held.finish()
    assert caught.value.code == 15302
    assert row_state(sim, row) == before


def test_an_abandoned_command_releases_its_vehicle_and_changes_nothing(
        sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    sim.faults.add(delayMs=300, endpoint="unlock", times=1)
    before = row_state(sim, row)
    held = ops.command("unlock", AUTH, UNLOCK)
    assert isinstance(held, Pending) and row in sim.inflight
    held.abandon()
    held.abandon()
    assert row_state(sim, row) == before
    assert code_of(ops.command, "sound", AUTH, SOUND) is None


def test_a_query_rule_delays_before_the_vehicle_is_looked_at(sim: Simulator,
                                                             ops: Operations) -> None:
    row = example_row(sim)
    sim.faults.add(delayMs=200, endpoint="location", times=1)
    held = ops.query("location", AUTH, Query.of(iotCode=EXAMPLE_IMEI, realTimeLocation="true"))
    assert isinstance(held, Pending) and not sim.inflight  # a query is not a command in flight
    sim.fleet.online[row] = False
    with pytest.raises(VendorError) as caught:
        held.finish()
    assert caught.value.code == 15301
    reading = ops.query("location", AUTH, Query.of(iotCode=EXAMPLE_IMEI))  # last known: offline ok
    assert isinstance(reading, dict) and reading["iotCode"] == EXAMPLE_IMEI


def test_a_query_rule_with_a_delay_and_a_code(sim: Simulator, ops: Operations) -> None:
    sim.faults.add(delayMs=200, code=15302, endpoint="status", times=1)
    held = ops.query("status", AUTH, Query.of(iotCode=EXAMPLE_IMEI))
    assert isinstance(held, Pending) and held.delay == 0.2
    with pytest.raises(VendorError) as caught:
        held.finish()
    assert caught.value.code == 15302


# -- state guards and effect ---------------------------------------------------------------------

def test_real_time_location_needs_the_vehicle_reachable_before_a_fix(sim: Simulator,
                                                                     ops: Operations) -> None:
    row = example_row(sim)
    sim.fleet.online[row] = False
    sim.fleet.has_fix[row] = False
    realtime = Query.of(iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert code_of(ops.query, "location", AUTH, realtime) == 15301
    assert code_of(ops.query, "location", AUTH, Query.of(iotCode=EXAMPLE_IMEI)) == 15400
    assert code_of(ops.query, "status", AUTH, Query.of(iotCode=EXAMPLE_IMEI)) is None


def test_execute_guards_then_applies(sim: Simulator, ops: Operations) -> None:
    row = example_row(sim)
    with pytest.raises(VendorError) as caught:
        ops.execute(row, "battery-cover", {})
    assert caught.value.code == 15635
    ops.execute(row, "unlock", {})
    assert not sim.fleet.locked[row]


def test_in_flight() -> None:
    inflight = InFlight()
    inflight.begin(3)
    with pytest.raises(VendorError) as caught:
        inflight.begin(3)
    assert caught.value.code == 15104
    inflight.begin(4)
    assert 3 in inflight and sorted(inflight) == [3, 4] and len(inflight) == 2
    inflight.end(3)
    inflight.end(3)
    assert list(inflight) == [4]
    inflight.clear()
    assert not inflight


# -- the token endpoint --------------------------------------------------------------------------

def test_token_client_authentication_comes_before_the_grant_type(ops: Operations) -> None:
    answer = ops.token({"client_id": DEMO_CLIENT_ID, "client_secret": "wrong"})
    assert (answer.status, answer.body["error"], answer.client) == (401, "invalid_client",
                                                                     DEMO_CLIENT_ID)
    answer = ops.token({"client_secret": DEMO_CLIENT_SECRET})
    assert (answer.status, answer.client) == (401, None)
    answer = ops.token({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET})
    assert (answer.status, answer.body["error"]) == (400, "invalid_request")
    answer = ops.token({"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
                        "grant_type": "password"})
    assert answer.status == 400 and answer.body == {
        "error": "unsupported_grant_type", "error_description": "Unsupported grant type: password"}


def test_token_grant_returns_the_current_token(sim: Simulator, ops: Operations) -> None:
    fields = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
              "grant_type": "client_credentials"}
    answer = ops.token(fields)
    assert (answer.status, answer.client) == (200, DEMO_CLIENT_ID)
    assert answer.body == {"access_token": DEMO_TOKEN, "token_type": "bearer",
                           "expires_in": sim.tokens.by_value[DEMO_TOKEN].remaining(sim.clock.now),
                           "scope": "read write trust"}
