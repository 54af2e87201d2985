"""Scenarios: the library plays at full virtual speed with its outcome checks; plans, outcomes
and pacing keep their rules; remote runs; the /_sim/scenarios routes."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenarios import NAMES, get, library
from simulator.scenarios.drivers import LocalDriver
from simulator.scenarios.model import MIN, FleetSpec, Rent, Scenario, Story, plan, vehicles_of
from simulator.scenarios.outcomes import (
    Answer,
    Answers,
    Count,
    Observed,
    Pushes,
    Seen,
    State,
    Travelled,
    at_least,
    contains,
    distance_m,
    excludes,
    share,
    verdict,
)
from simulator.scenarios.receiver import Receiver
from simulator.scenarios.record import PushIds
from simulator.scenarios.runner import Pacing, Run
from simulator.server.keys import DISPATCHER
from simulator.server.runner import start
from simulator.server.scenario_routes import RUNS, own_url
from simulator.server.scenario_session import local_config, play
from simulator.sim import DEFAULT_START, Config, Simulator
from tests.helpers.openapi import CONTROL, response_validator

REQUIRED = {"rush-hour", "theft", "battery-depletion", "cellular-outage", "firmware-rollout",
            "fall-and-fault", "warehouse"}


def failures(result: Any) -> list[str]:
    return [f"{v.what}: expected {v.expected}, observed {v.observed}"
            for v in result.verdicts if not v.ok]


# -- the library -------------------------------------------------------------------------------


def test_the_library_holds_every_story_of_the_issue() -> None:
    assert set(NAMES) >= REQUIRED
    for s in library():
        assert s.name in NAMES and s.description and s.duration > 0
        assert s.fleet.minimum <= s.fleet.size
        assert plan(s).outcomes, f"{s.name} expects nothing: it would not be a test"


@pytest.mark.parametrize("name", NAMES)
async def test_each_scenario_plays_at_full_speed_and_its_outcomes_happen(name: str) -> None:
    result = await play(plan(get(name)))
    assert result.ok, failures(result)
    c = result.counters
    assert c["pushes"] > 0 and c["delivered"] >= c["pushes"]  # every push really went out
    assert c["failed"] == 0 and c["retried"] == 0
    assert result.target == "in-process" and result.platform == get(name).fleet.platform
    if name == "rush-hour":  # hundreds of rentals through the vendor API, each a real ride
        assert c["rentals"] >= 200 and c["calls"] >= c["rentals"] + c["refused"]
        assert result.pushes_by_type["components"] >= 0.9 * c["rentals"]


def impossible(s: Story) -> None:
    s.at(MIN, Rent(0, 60.0), "one short ride")
    s.expect(Count("ten rentals", "rentals", at_least=10),
             Pushes("a components push", "components"))


async def test_an_outcome_that_does_not_happen_fails_the_run() -> None:
    story = Scenario("impossible", "expects too much", 1, FleetSpec(3, "E40001"), 5 * MIN,
                     impossible)
    result = await play(plan(story))
    assert not result.ok
    ten, components = result.verdicts
    assert not ten.ok and ten.observed in ("0", "1") and ten.expected == ">= 10"
    assert components.ok == (result.counters["rentals"] == 1)


# -- plans: pure, seeded, inside the story ------------------------------------------------------

SIZES = st.integers(1, 300)


@settings(max_examples=60)
@given(name=st.sampled_from(NAMES), seed=st.integers(0, 2**32), size=SIZES)
def test_plans_are_seeded_timed_inside_the_story_and_the_fleet(name: str, seed: int,
                                                               size: int) -> None:
    scenario = get(name)
    size = max(size, scenario.fleet.minimum)
    a, b = plan(scenario, seed, size), plan(scenario, seed, size)
    assert a.steps == b.steps and a.secret == b.secret
    assert [s.t for s in a.steps] == sorted(s.t for s in a.steps)
    assert all(0 <= s.t <= scenario.duration for s in a.steps)
    assert all(0 <= v < size for s in a.steps for v in vehicles_of(s.action))
    for o in a.outcomes:
        assert all(0 <= v < size for v in (getattr(o, "vehicles", None) or ()))


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32), size=st.integers(4, 300))
def test_rush_hour_never_rents_a_vehicle_that_is_still_out(seed: int, size: int) -> None:
    p = plan(get("rush-hour"), seed, size)
    back: dict[int, float] = {}
    rentals = [s for s in p.steps if isinstance(s.action, Rent)]
    assert len(rentals) >= size  # hundreds in the hour for a fleet of hundreds
    for step in rentals:
        rent = step.action
        assert isinstance(rent, Rent)
        assert step.t >= back.get(rent.vehicle, 0.0)
        assert 60 <= rent.ride_s <= 15 * MIN
        back[rent.vehicle] = step.t + rent.ride_s
        assert back[rent.vehicle] <= p.scenario.duration  # parked before the story ends


def test_a_fleet_smaller_than_the_story_needs_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4 vehicles"):
        plan(get("rush-hour"), vehicles=3)


# -- outcomes -----------------------------------------------------------------------------------

PUSH = st.builds(Seen, t=st.floats(0, 100), type=st.sampled_from(["status", "alert"]),
                 vehicle=st.one_of(st.none(), st.integers(0, 4)),
                 fields=st.fixed_dictionaries({"code": st.sampled_from(["1", "2"])}))


@settings(max_examples=100)
@given(pushes=st.lists(PUSH, max_size=30), lo=st.integers(0, 8),
       hi=st.one_of(st.none(), st.integers(0, 8)), window=st.tuples(st.floats(0, 100),
                                                                    st.floats(0, 100)),
       chosen=st.one_of(st.none(), st.frozensets(st.integers(0, 4), min_size=1)),
       each=st.booleans())
def test_push_counts_hold_exactly_when_the_matches_are_within_bounds(
        pushes: list[Seen], lo: int, hi: int | None, window: tuple[float, float],
        chosen: frozenset[int] | None, each: bool) -> None:
    vehicles = tuple(sorted(chosen)) if chosen is not None else None
    outcome = Pushes("x", "alert", {"code": 1}, vehicles, window, lo, hi, each and bool(chosen))
    hits = [p.vehicle for p in pushes if p.type == "alert" and p.fields["code"] == "1"
            and window[0] <= p.t <= window[1] and (chosen is None or p.vehicle in chosen)]

    def within(n: int) -> bool:
        return n >= lo and (hi is None or n <= hi)

    expected = (all(within(hits.count(v)) for v in vehicles or ()) if outcome.each
                else within(len(hits)))
    seen = Observed([outcome])
    for p in pushes:
        seen.push(p)
    assert verdict(outcome, seen).ok == expected


@settings(max_examples=100)
@given(rentals=st.integers(0, 10_000), fraction=st.floats(0.01, 10), seen=st.integers(0, 10_000))
def test_a_share_of_a_counter_is_its_floor(rentals: int, fraction: float, seen: int) -> None:
    outcome = Pushes("x", "components", at_least=share("rentals", fraction))
    observed = Observed([outcome], counters={"rentals": rentals})
    for _ in range(seen):
        observed.push(Seen(1, "components", 0, {}))
    assert verdict(outcome, observed).ok == (seen >= math.floor(fraction * rentals))


def test_answers_state_travelled_and_counts() -> None:
    outcomes = [Answers("x", "unlock", 15301, (0,), (0, 6)), Answers("x", "unlock", 15301, (1,)),
                 State("x", (0,), {"online": True, "faults": contains("21"),
                                   "status.powerPercent": at_least(40)}),
                 State("x", (0, 1), {"faults": excludes("21")}),
                 Travelled("x", 2, 990), Travelled("x", 2, 1010), Travelled("x", 2, 500, (15, 30)),
                 Travelled("x", 3, 1), Count("x", "rentals", 3, 3), Count("x", "rentals", 4)]
    seen = Observed(outcomes, states={0: {"online": True, "faults": ["21"],
                                          "status": {"powerPercent": 40}}},
                    counters={"rentals": 3})
    for a in [Answer(5, "unlock", 0, 15301), Answer(9, "unlock", 1, 0),
              Answer(10, "location", 2, 0, {"latitude": 52.0, "longitude": 4.0}),
              Answer(20, "location", 2, 0, {"latitude": 52.009, "longitude": 4.0})]:
        seen.answer(a)
    # A location push is a fix too (a valid one); another vehicle's is not this one's.
    seen.push(Seen(25, "location", 3, {"locationStatus": "valid", "latitude": "52.0",
                                       "longitude": "4.0"}))
    seen.push(Seen(26, "location", 3, {"locationStatus": "invalid", "latitude": "53.0",
                                       "longitude": "4.0"}))
    ok = [verdict(o, seen).ok for o in outcomes]
    assert ok == [True, False, True, False, True, False, False, False, True, False]
    bad = verdict(outcomes[3], seen)
    assert "vehicle 0: faults=['21']" in bad.observed and "vehicle 1" in bad.observed
    assert verdict(outcomes[7], seen).observed == "0 m over 1 fixes"
    far = distance_m((52.0, 4.0), (52.009, 4.0))
    assert 995 < far < 1005


@settings(max_examples=200)
@given(ids=st.lists(st.integers(1, 100_000), max_size=60).flatmap(
    lambda far: st.lists(st.one_of(st.sampled_from(far), st.integers(1, 300)) if far
                         else st.integers(1, 300), max_size=200)))
def test_a_push_id_is_new_exactly_once_in_any_order(ids: list[int]) -> None:
    # A byte per id from the first seen (a set of millions of ints would cost hundreds of MB).
    seen = PushIds()
    assert [seen.add(i) for i in ids] == [i not in ids[:n] for n, i in enumerate(ids)]


# -- pacing -------------------------------------------------------------------------------------


class FakeWall:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@settings(max_examples=100)
@given(speed=st.floats(0.1, 1e5), work=st.lists(st.tuples(st.floats(0, 600), st.floats(0, 5)),
                                                 min_size=1, max_size=20))
async def test_paced_runs_reach_each_step_when_wall_time_says(
        speed: float, work: list[tuple[float, float]]) -> None:
    wall = FakeWall()
    pacing = Pacing(speed, wall, wall.sleep)
    elapsed = 0.0
    for virtual, busy in work:
        elapsed += virtual
        wall.now += busy  # the step itself took wall time
        before = wall.now
        await pacing.wait(elapsed)
        due = 100.0 + elapsed / speed
        # Never early; never later than the step's own work made it.
        assert wall.now == pytest.approx(max(before, due))


@settings(max_examples=100)
@given(speed=st.one_of(st.none(), st.floats(0.01, 1e5)), step=st.floats(0.1, 600))
def test_a_paced_run_moves_the_clock_a_wall_second_at_most(speed: float | None,
                                                           step: float) -> None:
    # A 100,000-vehicle rush hour at speed 1 would push a step's 20,000 pushes at once, and
    # overrun a served journal's 10,000 records before the run read them.
    got = Pacing(speed).slice(step)
    assert 0 < got <= step
    assert got == (step if speed is None else min(step, speed))


async def test_the_pace_counts_from_the_story_not_from_the_set_up() -> None:
    wall = FakeWall()
    pacing = Pacing(2.0, wall, wall.sleep)
    wall.now += 30  # building the fleet
    pacing.begin()
    await pacing.wait(10)
    assert wall.slept == [5.0]  # 10 virtual seconds at speed 2, from the story's start


async def test_as_fast_as_possible_only_yields() -> None:
    wall = FakeWall()
    pacing = Pacing(None, wall, wall.sleep)
    for t in (10.0, 1e6):
        await pacing.wait(t)
    assert wall.slept == [0, 0]
    with pytest.raises(ValueError):
        Pacing(0)


# -- a running simulator, driven through its control plane ---------------------------------------


async def test_a_remote_simulator_plays_the_story_and_gets_its_clock_back() -> None:
    # A running server's clock stands between milliseconds; push times are whole milliseconds.
    sim = Simulator(Config(seed=2, vehicles=4, paused=False, riders=False,
                           start=DEFAULT_START + 0.5624673))
    running = await start(sim, pace=False)
    try:
        result = await play(plan(get("theft")), base_url=running.url)
        assert result.ok, failures(result)
        assert result.target == "remote" and result.platform == "E30001"
        assert sim.clock.paused is False  # as the run found it
        assert sim.clock.now == pytest.approx(result.t0 + get("theft").duration)
        again = await play(plan(get("firmware-rollout"), vehicles=6), base_url=running.url)
        assert again.ok, failures(again)
        third = await play(plan(get("theft"), seed=4), base_url=running.url)
        assert third.platform == "E30001-2"  # the code was taken: the next free one
        assert third.ok, failures(third)
        assert result.counters["unread"] == again.counters["unread"] == 0
    finally:
        await running.stop()


async def test_a_remote_run_says_how_many_push_records_it_could_not_read() -> None:
    sim = Simulator(Config(seed=2, vehicles=4, paused=True, riders=False,
                           extra={"push_journal_size": 3}))
    running = await start(sim, pace=False)
    try:
        result = await play(plan(get("rush-hour"), vehicles=40), base_url=running.url)
    finally:
        await running.stop()
    delivered = sim.outbox.counters["delivered"]
    # The run reads after each slice; of what the ring held then, it missed nothing else.
    assert 0 < result.counters["unread"] < delivered
    assert result.counters["pushes"] + result.counters["unread"] >= delivered
    assert not result.ok  # its push outcomes count short


async def test_an_in_process_run_reads_every_push_however_small_the_journal() -> None:
    # The driver hears each record as it is journaled (the way a hosted run on a busy server,
    # or a fleet of 100,000, reads them all).
    chosen = plan(get("rush-hour"), vehicles=40)
    whole = await play(chosen)
    sim = Simulator(replace(local_config(chosen), extra={"push_journal_size": 3}))
    running = await start(sim, "127.0.0.1", 0, pace=False)
    receiver = await Receiver().start()
    try:
        driver = LocalDriver(sim, running.url, running.runner.app[DISPATCHER])
        small = await Run(chosen, driver, callback=receiver.url).play()
    finally:
        await receiver.stop()
        await running.stop()
    assert receiver.received == small.counters["delivered"]
    assert small.counters == whole.counters and small.counters["pushes"] > 100
    assert small.pushes_by_type == whole.pushes_by_type
    assert [v.observed for v in small.verdicts] == [v.observed for v in whole.verdicts]


# -- /_sim/scenarios -----------------------------------------------------------------------------


async def call(client: TestClient, method: str, path: str, body: Any = None,
               status: int = 200) -> Any:
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


async def test_the_dashboard_list_shape(client: TestClient) -> None:
    listed = await call(client, "GET", "/_sim/scenarios")
    assert [item["name"] for item in listed["items"]] == list(NAMES)
    for item in listed["items"]:
        assert set(item) == {"name", "description", "status", "progress"}
        assert item["status"] == "idle" and item["progress"] == 0


async def test_start_a_scenario_on_the_server_and_watch_it_finish(client: TestClient,
                                                                  sim: Simulator) -> None:
    started = await call(client, "POST", "/_sim/scenarios/theft", {"seed": 3}, 202)
    assert started["status"] == "running" and started["mode"] == "drive"
    assert started["platformCode"] == "E30001" and started["seed"] == 3
    busy = await call(client, "POST", "/_sim/scenarios/warehouse", {}, 409)
    assert busy["field"] == "name" and "theft is running" in busy["error"]
    await client.app[RUNS].hosted["theft"].task
    done = await call(client, "GET", "/_sim/scenarios/theft")
    assert done["status"] == "passed" and done["progress"] == 1
    # What the routes answer is what the OpenAPI description says.
    response_validator(CONTROL, "/_sim/scenarios/{name}", "post", "202").validate(started)
    response_validator(CONTROL, "/_sim/scenarios/{name}", "get").validate(done)
    listed = await call(client, "GET", "/_sim/scenarios")
    response_validator(CONTROL, "/_sim/scenarios", "get").validate(listed)
    assert done["outcomes"] and all(o["ok"] for o in done["outcomes"])
    assert done["counters"]["pushes"] > 0 and done["notes"]
    assert sim.clock.paused  # handed back as it was
    assert {i["name"]: i["status"] for i in listed["items"]}["theft"] == "passed"
    assert (await call(client, "DELETE", "/_sim/scenarios/theft", status=409))["field"] == "name"


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/_sim/scenarios/nope", {}, 404, "name"),
    ("/_sim/scenarios/theft", {"seeds": 1}, 400, "seeds"),
    ("/_sim/scenarios/theft", {"seed": "1"}, 400, "seed"),
    ("/_sim/scenarios/theft", {"vehicles": 0}, 400, "vehicles"),
    ("/_sim/scenarios/rush-hour", {"vehicles": 3}, 400, "vehicles"),
    ("/_sim/scenarios/theft", {"speed": 0}, 400, "speed"),
    ("/_sim/scenarios/theft", {"callbackUrl": "ftp://x"}, 400, "callbackUrl"),
    ("/_sim/scenarios/theft", [1], 400, "body"),
])
async def test_misuse_answers_the_field_and_starts_nothing(
        client: TestClient, sim: Simulator, path: str, body: Any, status: int,
        field: str) -> None:
    answer = await call(client, "POST", path, body, status)
    assert answer["field"] == field and answer["error"]
    assert list(sim.platforms) == ["A20081"] and not client.app[RUNS].running()
    assert (await call(client, "GET", "/_sim/scenarios/nope", status=404))["field"] == "name"


async def test_a_run_follows_a_running_clock_and_can_be_stopped(client: TestClient,
                                                               sim: Simulator) -> None:
    sim.clock.paused = False  # server mode: someone else moves the clock
    started = await call(client, "POST", "/_sim/scenarios/theft", {}, 202)
    assert started["mode"] == "follow" and started["progress"] == 0
    await call(client, "POST", "/_sim/clock", {"advance": 600})
    following = await call(client, "GET", "/_sim/scenarios/theft")
    assert following["status"] == "running"
    assert following["progress"] == pytest.approx(600 / get("theft").duration, abs=1e-4)
    stopped = await call(client, "DELETE", "/_sim/scenarios/theft")
    assert stopped["status"] == "cancelled"
    assert sim.clock.paused is False


async def test_a_reset_ends_the_run(client: TestClient, sim: Simulator) -> None:
    sim.clock.paused = False
    await call(client, "POST", "/_sim/scenarios/warehouse", {}, 202)
    await call(client, "POST", "/_sim/reset", {})
    after = await call(client, "GET", "/_sim/scenarios/warehouse")
    assert after["status"] == "cancelled" and after["error"] == "the simulator was reset"
    await call(client, "POST", "/_sim/scenarios/theft", {}, 202)  # free for the next one


class Transport:
    def __init__(self, sockname: Any) -> None:
        self.sockname = sockname

    def get_extra_info(self, name: str) -> Any:
        return self.sockname


class Request:
    def __init__(self, sockname: Any) -> None:
        self.transport = Transport(sockname)


@pytest.mark.parametrize(("sockname", "url"), [
    (("127.0.0.1", 8080), "http://127.0.0.1:8080"),
    (("0.0.0.0", 80), "http://127.0.0.1:80"),
    (("::", 9000, 0, 0), "http://[::1]:9000"),
])
def test_a_hosted_run_reaches_its_own_server(sockname: Any, url: str) -> None:
    assert own_url(Request(sockname)) == url  # type: ignore[arg-type]
