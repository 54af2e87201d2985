"""The pytest plugin, exercised as a partner would: pytest's own pytester writes a partner-style
test file and runs it in a fresh process, with the plugin loaded from its pytest11 entry point."""

from __future__ import annotations

import pytest

from simulator.testing.plugin import Push, push_signature

pytest_plugins = ["pytester"]

PARTNER_TESTS = '''
import asyncio
import json
import urllib.error
import urllib.request

import pytest

STATUS = "/api/v2/vehicle/query/current/status"
UNLOCK = "/api/v2/vehicle/control/unlock"


def call(sim, method, path, body=None, query=""):
    # A partner's synchronous client: plain blocking HTTP, as `requests` would do it.
    req = urllib.request.Request(
        sim.url + path + query, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"bearer {sim.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def test_the_facade_knows_the_demo_platform(segway_sim):
    assert segway_sim.url.startswith("http://127.0.0.1:")
    assert segway_sim.client_id == "A20081"
    assert segway_sim.imeis[:3] == ["861477038719116", "862785041281554", "8612345678901"]
    assert len(segway_sim.imeis) == 7  # segway_sim_vehicles in the ini


def test_unlock_is_journaled_and_pushed(segway_sim, push_receiver):
    imei = segway_sim.imeis[0]
    assert call(segway_sim, "POST", UNLOCK, {"iotCode": imei})["code"] == 0
    assert segway_sim.vehicle(imei)["locked"] is False
    assert [r["endpoint"] for r in segway_sim.requests(iotCode=imei)] == ["unlock"]
    push_receiver.wait(type="status", iotCode=imei)
    (push,) = push_receiver.assert_pushed(type="status", iotCode=imei, count=1, locked=False)
    assert push.verified and push.fields["platformCode"] == "A20081"
    journal = segway_sim.pushes(type="status", iotCode=imei)
    assert [p["outcome"] for p in journal] == ["delivered"]


def test_every_test_starts_from_the_seeded_fleet(segway_sim, push_receiver):
    imei = segway_sim.imeis[0]
    assert segway_sim.vehicle(imei)["locked"] is True  # the test before unlocked it
    assert segway_sim.requests() == []
    assert push_receiver.received == []


def test_faults_are_injected(segway_sim):
    imei = segway_sim.imeis[1]
    segway_sim.fault(15302, endpoint="status", iotCode=imei, times=1)
    assert call(segway_sim, "GET", STATUS, query=f"?iotCode={imei}")["code"] == 15302
    assert call(segway_sim, "GET", STATUS, query=f"?iotCode={imei}")["code"] == 0


def test_time_moves_only_when_told(segway_sim):
    start = segway_sim.now()
    imei = segway_sim.imeis[0]
    assert call(segway_sim, "GET", STATUS, query=f"?iotCode={imei}")["t"] == int(start * 1000)
    segway_sim.advance(43_200 + 1)  # past the demo token's lifetime
    assert segway_sim.now() == start + 43_201
    assert call(segway_sim, "GET", STATUS, query=f"?iotCode={imei}")["code"] == 15101


def test_state_can_be_set(segway_sim):
    imei = segway_sim.imeis[2]
    segway_sim.set_vehicle(imei, online=False, powerPercent=5)
    assert call(segway_sim, "POST", UNLOCK, {"iotCode": imei})["code"] == 15301
    status = call(segway_sim, "GET", STATUS, query=f"?iotCode={imei}")["data"]
    assert status["online"] is False and status["powerPercent"] == 5


async def test_async_tests_await_pushes(segway_sim, push_receiver):
    imei = segway_sim.imeis[0]
    segway_sim.set_vehicle(imei, locked=False)
    pushes = await push_receiver.wait_for(type="status", iotCode=imei, locked=False)
    assert len(pushes) == 1
    segway_sim.advance(30)  # unlocked: a location every 10 s
    located = await push_receiver.wait_for(type="location", iotCode=imei, count=3)
    assert len(located) >= 3


def test_a_push_that_never_comes_fails_clearly(segway_sim, push_receiver):
    with pytest.raises(AssertionError, match="no 1 matching push"):
        push_receiver.wait(type="alert", timeout=0.2)
    with pytest.raises(AssertionError, match="expected 2 verified push"):
        push_receiver.assert_pushed(type="status", count=2)


def test_refused_pushes_are_retried(segway_sim, push_receiver):
    imei = segway_sim.imeis[0]
    push_receiver.fail_next(1, status=503)
    segway_sim.set_vehicle(imei, locked=False)
    segway_sim.advance(6)  # the retry comes 5 s later
    push_receiver.wait(type="status", iotCode=imei)
    attempts = segway_sim.pushes(type="status", iotCode=imei)
    assert [(p["attempt"], p["httpStatus"]) for p in attempts] == [(1, 503), (2, 200)]
'''


@pytest.fixture
def partner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nsegway_sim_vehicles = 7\n")
    pytester.makepyfile(test_partner=PARTNER_TESTS)
    return pytester


def test_a_partner_suite_runs_against_the_fixture(partner: pytest.Pytester) -> None:
    result = partner.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=PARTNER_TESTS.count("\ndef test_")
                           + PARTNER_TESTS.count("\nasync def test_"))


def test_a_partner_can_override_the_config(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('''
import pytest
from simulator.sim import Config

@pytest.fixture(scope="session")
def segway_sim_config():
    return Config(seed=99, vehicles=4, paused=True, riders=False)
''')
    pytester.makepyfile('''
def test_small_fleet(segway_sim):
    assert len(segway_sim.imeis) == 4
    assert segway_sim.call(lambda sim: sim.config.seed) == 99
''')
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


MIXED_FLEET_TESTS = '''
import json
import urllib.request

STATUS = "/api/v2/vehicle/query/current/status"
LOCK = "/api/v2/vehicle/control/lock"
HEALTHY = {"activated": True, "online": True, "dormant": False, "upgrading": False,
           "transport": False}


def call(sim, path, body=None, query=""):
    req = urllib.request.Request(
        sim.url + path + query, method="GET" if body is None else "POST",
        data=None if body is None else json.dumps(body).encode(),
        headers={**sim.auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)


def test_the_fleet_is_the_ini_mix(segway_sim):
    scooters, a200s = segway_sim.imeis_of("scooter"), segway_sim.imeis_of("a200")
    assert (len(a200s), len(scooters)) == (7, 3)
    assert sorted(scooters + a200s) == sorted(segway_sim.imeis)
    assert a200s[:3] == segway_sim.imeis[:3]  # the reference's examples: the first model named
    assert {segway_sim.vehicle(imei)["model"] for imei in scooters} == {"scooter"}


def test_a_scooter_locks_remotely_and_an_a200_answers_15705(segway_sim):
    scooter, a200 = segway_sim.imeis_of("scooter")[0], segway_sim.imeis_of("a200")[0]
    segway_sim.set_vehicle(scooter, locked=False, **HEALTHY)
    assert call(segway_sim, LOCK, {"iotCode": scooter})["code"] == 0
    assert segway_sim.vehicle(scooter)["locked"] is True
    answer = call(segway_sim, LOCK, {"iotCode": a200})
    assert answer["code"] == 15705
    assert answer["msg"] == "This feature is not supported on the vehicle"


def test_tokens_on_the_wall_clock_outlive_a_jump(segway_sim):
    segway_sim.advance(3 * 86_400)  # days past the demo token's virtual lifetime
    imei = segway_sim.imeis[0]
    assert call(segway_sim, STATUS, query=f"?iotCode={imei}")["code"] == 0
    assert segway_sim.control("GET", "/_sim/clock")["tokenClock"] == "wall"
'''


def test_the_fleet_takes_a_model_mix_and_a_token_clock_from_the_ini(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nsegway_sim_vehicles = 10\n"
                     "segway_sim_models = a200=70,scooter=30\nsegway_sim_token_clock = wall\n")
    pytester.makepyfile(test_mixed=MIXED_FLEET_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=MIXED_FLEET_TESTS.count("\ndef test_"))


@pytest.mark.parametrize(("ini", "message"), [
    ("segway_sim_models = moped", "segway_sim_models: 'moped' is not a model: one of a200, "
                                  "scooter"),
    ("segway_sim_models = a200=-1", "segway_sim_models: 'a200=-1': the share must be a number > 0"),
    ("segway_sim_token_clock = sundial", "segway_sim_token_clock: 'sundial' is not one of "
                                         "virtual, wall"),
])
def test_a_mistake_in_the_ini_is_one_clear_line(pytester: pytest.Pytester, ini: str,
                                                message: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_never(segway_sim):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.stderr.lines if line.strip()] == [f"ERROR: {message}"]
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_is_registered_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    found = [e.value for e in entry_points(group="pytest11") if e.name == "segway_sim"]
    assert found == ["simulator.testing.plugin"]


def test_signatures_follow_the_reference_steps() -> None:
    # Step 1-4 by hand: sorted by key, k=v joined by &, &client_secret=..., MD5 hex.
    fields = {"platformCode": "A20081", "iotCode": "861477038719116", "code": "1"}
    text = "code=1&iotCode=861477038719116&platformCode=A20081&client_secret=s3cret"
    import hashlib

    assert push_signature(fields, "s3cret") == hashlib.md5(text.encode()).hexdigest()
    signed = {**fields, "signature": push_signature(fields, "s3cret")}
    assert push_signature(signed, "s3cret") == signed["signature"]  # signature never signs


def test_push_matching_reads_values_as_the_wire_carries_them() -> None:
    push = Push("status", {"iotCode": "1", "locked": "false", "speedMode": "2"}, True)
    assert push.matches("status", "1", {"locked": False, "speedMode": 2})
    assert not push.matches("status", "1", {"locked": True})
    assert not push.matches("location", None, {})
