"""The scooter-rental story: a scenario on a scooter fleet (`FleetSpec.model`), played in process
and against a running simulator, its slow zone holding the riders to its limit, its log
replaying byte for byte; plans keep the rental rules for every seed and fleet size."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import aiohttp
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.cli.main import main
from simulator.core.control_token import control_headers
from simulator.scenarios import get
from simulator.scenarios.model import MIN, Command, FleetSpec, Rent, Scenario, Story, plan
from simulator.scenarios.outcomes import Count
from simulator.scenarios.record import read
from simulator.scenarios.runner import Result
from simulator.scenarios.scooter_rental import SLOW_ZONE, SLOW_ZONE_KMH
from simulator.server.runner import start
from simulator.server.scenario_session import play, replay
from simulator.sim import Config, Simulator

SCOOTER_RENTAL = get("scooter-rental")
SCOOTER_PATH = "/api/v2/vehicle/setting/scooter"


def failures(result: Result) -> list[str]:
    return [f"{v.what}: {v.expected} expected, {v.observed} observed"
            for v in result.verdicts if not v.ok]


def status_speeds(log: Path) -> dict[str, list[float]]:
    """Every status push's speed (km/h), by IMEI, from the run's event log."""
    out: dict[str, list[float]] = {}
    for push in read(log).pushes:
        if push["type"] == "status":
            fields = dict(parse_qsl(push["body"]))
            out.setdefault(fields["iotCode"], []).append(float(fields["speed"]))
    return out


async def test_the_story_plays_on_a_scooter_fleet_and_the_slow_zone_holds(
        tmp_path: Path) -> None:
    log = tmp_path / "scooters.jsonl"
    result = await play(plan(SCOOTER_RENTAL), record=log)
    assert result.ok, failures(result)
    c = result.counters
    assert c["rentals"] >= 30 and c["refused"] == 0 and c["failed"] == 0
    assert result.platform == "E30003"
    recorded = read(log)
    (platform,) = [op for op in recorded.ops if op["op"] == "platform"]
    assert platform["body"]["model"] == "scooter" and platform["status"] == 201
    # The scooter's own operations went over the vendor API, and were answered 0.
    answered = {op["path"] for op in recorded.ops if op["op"] == "vendor" and op["code"] == 0}
    assert {f"/api/v2/vehicle/{path}" for path in ("control/lock", "control/light",
                                                   "setting/scooter", "setting/sound")} <= answered
    # Every scooter of the slow zone was ridden, and never faster than its limit; elsewhere
    # riders go faster (the limit is what held them).
    zone = {op["body"]["iotCode"] for op in recorded.ops
            if op["op"] == "vendor" and op["path"] == SCOOTER_PATH}
    speeds = status_speeds(log)
    assert zone and all(max(speeds[imei]) > 0 for imei in zone)
    assert max(s for imei in zone for s in speeds[imei]) <= SLOW_ZONE_KMH
    assert max(s for imei, pushed in speeds.items() if imei not in zone
               for s in pushed) > SLOW_ZONE_KMH


async def test_the_log_of_a_scooter_story_replays_byte_for_byte(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    result = await play(plan(SCOOTER_RENTAL, vehicles=8), record=log)
    assert result.ok, failures(result)
    replayed = await replay(log)
    assert replayed.ok, replayed.differences
    assert [p["body"] for p in replayed.pushes] == [p["body"] for p in read(log).pushes]


async def test_a_running_simulator_gets_a_platform_of_scooters() -> None:
    sim = Simulator(Config(seed=3, vehicles=4, paused=True, riders=False))
    running = await start(sim, pace=False)
    try:
        result = await play(plan(SCOOTER_RENTAL, seed=4, vehicles=7), base_url=running.url)
        assert result.ok, failures(result)
        async with aiohttp.ClientSession(headers=control_headers()) as session:
            async def listed(**query: str) -> list[str]:
                async with session.get(f"{running.url}/_sim/vehicles",
                                       params={"platformCode": "E30003", **query}) as resp:
                    return [item["model"] for item in (await resp.json())["items"]]

            assert await listed() == ["scooter"] * 7
            assert await listed(model="a200") == []
    finally:
        await running.stop()


def one_rental(s: Story) -> None:
    s.at(MIN, Rent(0, 60.0))
    s.expect(Count("a rental", "rentals", at_least=1))


async def test_an_a200_story_creates_its_platform_as_before(tmp_path: Path) -> None:
    log = tmp_path / "a200.jsonl"
    story = Scenario("a200", "one rental", 1, FleetSpec(2, "E40001"), 3 * MIN, one_rental)
    assert (await play(plan(story), record=log)).ok
    (platform,) = [op for op in read(log).ops if op["op"] == "platform"]
    assert set(platform["body"]) == {"clientId", "clientSecret", "vehicles"}


def test_a_fleet_of_an_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="'moped' is not a model: one of a200, scooter"):
        FleetSpec(3, "E40001", model="moped")


def test_the_list_names_the_fleet_model() -> None:
    result = CliRunner().invoke(main, ["scenario", "--list"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "30 vehicles (scooter) in Amsterdam · 1:40:00 · seed 23" in result.output
    assert "40 vehicles in Singapore" in result.output  # the A200 stories say what they said


def test_the_command_plays_it_and_names_the_model() -> None:
    result = CliRunner().invoke(main, ["scenario", "scooter-rental", "--vehicles", "6"],
                                env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "6 vehicles (scooter) of platform E30003 (Amsterdam), seed 23" in result.output
    assert "the app locks it where it stands" in result.output  # a note, as it happens
    assert "all outcomes happened" in result.output


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32), size=st.integers(6, 300))
def test_every_rental_ends_with_the_apps_lock_before_the_rider_would_stop(
        seed: int, size: int) -> None:
    p = plan(SCOOTER_RENTAL, seed, size)
    locks: dict[int, list[float]] = {}  # vehicle -> the times the app locks it
    for step in p.steps:
        a = step.action
        if isinstance(a, Command) and a.op == "lock":
            for v in a.vehicles:
                locks.setdefault(v, []).append(step.t)
    out_until: dict[int, float] = {}
    for step in p.steps:
        rent = step.action
        if not isinstance(rent, Rent):
            continue
        assert step.t >= out_until.get(rent.vehicle, 0.0)  # never rented while out
        ends = [t for t in locks.get(rent.vehicle, []) if t > step.t]
        assert ends and min(ends) < step.t + rent.ride_s  # the app's lock, not the rider's
        out_until[rent.vehicle] = min(ends)
    zone = {v for s in p.steps if isinstance(s.action, Command)
            and s.action.op == "setting/scooter" for v in s.action.vehicles}
    assert zone and zone <= set(out_until)  # every scooter of the slow zone is ridden
    assert all(dict(s.action.body) == SLOW_ZONE for s in p.steps
               if isinstance(s.action, Command) and s.action.op == "setting/scooter")
