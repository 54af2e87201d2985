"""`GET /metrics`: Prometheus text that prometheus-client's own parser reads, carrying every
family of docs/metrics.md, whose figures move with real vendor calls over loopback, real pushes
to a real receiver, and the virtual clock."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from simulator.core.clock import Clock, Pacer
from simulator.server.app import create_app
from simulator.server.metrics import (
    LAG_BUCKETS,
    REQUEST_BUCKETS,
    STATES,
    Histogram,
)
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import HTTP, VEHICLE, call
from tests.helpers.push import Got, Rig
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

QUERIES = ("status", "location", "battery-info", "bluetooth-key")
DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"
FAMILIES = {  # name as the parser gives it (a counter without _total): type
    "segway_sim_requests": "counter",
    "segway_sim_request_duration_seconds": "histogram",
    "segway_sim_pushes": "counter",
    "segway_sim_push_retries": "counter",
    "segway_sim_push_drops": "counter",
    "segway_sim_push_attempt_duration_seconds": "histogram",
    "segway_sim_push_lag_seconds": "histogram",
    "segway_sim_push_queue_depth": "gauge",
    "segway_sim_push_queue_capacity": "gauge",
    "segway_sim_vehicles": "gauge",
    "segway_sim_commands_in_flight": "gauge",
    "segway_sim_clock_speed": "gauge",
    "segway_sim_clock_paused": "gauge",
    "segway_sim_clock_virtual_time_seconds": "gauge",
    "segway_sim_clock_lag_seconds": "gauge",
    "process_cpu_seconds": "counter",
}


@dataclass
class Scrape:
    """One answer of /metrics, as prometheus-client's parser reads it."""

    types: dict[str, str]
    samples: list[Sample]

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels (0 if there is none: a series not yet
        seen counts nothing)."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels)
        return found[0] if found else 0.0

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {frozenset(s.labels.items()): s.value for s in self.samples if s.name == name}

    def buckets(self, name: str, **labels: str) -> dict[float, float]:
        """le -> cumulative count of histogram `name`."""
        return {float(s.labels["le"]): s.value for s in self.samples
                if s.name == f"{name}_bucket"
                and {k: v for k, v in s.labels.items() if k != "le"} == labels}

    def vehicles(self) -> dict[str, float]:
        return {state: self.value("segway_sim_vehicles", platform=DEMO_CLIENT_ID, model="a200",
                                  state=state) for state in STATES}


async def scrape(client: TestClient) -> Scrape:
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = list(text_string_to_metric_families(await resp.text()))
    return Scrape({f.name: f.type for f in families}, [s for f in families for s in f.samples])


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


@pytest.fixture
def config() -> Config:
    """conftest's, with one delivery at a time: what waits behind a stuck receiver stays in the
    queue."""
    return Config(seed=7, vehicles=20, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  extra={"push_concurrency": 1})


# -- the format ---------------------------------------------------------------------------------


async def test_the_answer_parses_and_carries_every_family(client: TestClient) -> None:
    got = await scrape(client)
    assert {name: got.types.get(name) for name in FAMILIES} == FAMILIES


async def test_the_grafana_dashboard_asks_only_for_served_families(client: TestClient) -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    asked = {re.sub(r"_(bucket|total)$", "", name) for panel in panels
             for target in panel["targets"]
             for name in re.findall(r"\b(?:segway_sim|process)_\w+", target["expr"])}
    assert len(asked) >= 10
    assert asked <= set((await scrape(client)).types)


async def test_every_app_counts_for_itself(sim: Simulator, client: TestClient) -> None:
    """A registry per app: a second app in the same process starts from nothing."""
    await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    other_sim = Simulator(Config(seed=7, vehicles=5, paused=True, riders=False))
    async with TestClient(TestServer(create_app(other_sim, pace=False),
                                     host="127.0.0.1")) as other:
        assert (await scrape(other)).series("segway_sim_requests_total") == {}
        vehicles = (await scrape(other)).vehicles()
    assert sum(vehicles.values()) == 5
    assert (await scrape(client)).value("segway_sim_requests_total", operation="status",
                                        code="0", status="200") == 1


# -- vendor requests ----------------------------------------------------------------------------


@HTTP
@given(calls=st.lists(st.tuples(st.sampled_from(QUERIES),
                                st.sampled_from((0, 15001, 15302, 15303, 15500))),
                      max_size=8))
async def test_requests_count_by_operation_and_vendor_code(
        client: TestClient, calls: list[tuple[str, int]]) -> None:
    before = await scrape(client)
    for op, code in calls:
        if code:  # the next call of `op` answers `code`
            await call(client, "POST", "/_sim/faults", {"code": code, "endpoint": op,
                                                         "times": 1}, status=201)
        assert (await vendor_call(client, op, iotCode=EXAMPLE_IMEI))["code"] == code
    after = await scrape(client)
    for (op, code), n in Counter(calls).items():
        assert delta(before, after, "segway_sim_requests_total", operation=op, code=str(code),
                     status="200") == n
    for op, n in Counter(op for op, _ in calls).items():
        assert delta(before, after, "segway_sim_request_duration_seconds_count",
                     operation=op) == n
    assert sum(after.series("segway_sim_requests_total").values()) \
        - sum(before.series("segway_sim_requests_total").values()) == len(calls)


async def test_refusals_count_under_their_codes(client: TestClient) -> None:
    before = await scrape(client)
    assert (await vendor_call(client, "status", iotCode="000000000000000"))["code"] == 15102
    assert (await vendor_call(client, "status", headers={}, iotCode=EXAMPLE_IMEI))["code"] \
        == 15101
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    assert (await vendor_call(client, "battery-cover", {"iotCode": "x"}))["code"] == 15004
    after = await scrape(client)
    for op, code in (("status", 15102), ("status", 15101), ("unlock", 0),
                     ("battery-cover", 15004)):
        assert delta(before, after, "segway_sim_requests_total", operation=op, code=str(code),
                     status="200") == 1


async def test_the_token_route_counts_by_http_status(client: TestClient) -> None:
    form = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
            "grant_type": "client_credentials"}
    before = await scrape(client)
    for changed, status in (({}, 200), ({}, 200), ({"client_secret": "wrong"}, 401),
                            ({"grant_type": "password"}, 400)):
        resp = await client.post("/oauth/token", data={**form, **changed})
        assert resp.status == status
    after = await scrape(client)
    assert delta(before, after, "segway_sim_requests_total", operation="token", code="0",
                 status="200") == 2
    for refused in ("401", "400"):
        assert delta(before, after, "segway_sim_requests_total", operation="token",
                     code="error", status=refused) == 1
    assert delta(before, after, "segway_sim_request_duration_seconds_count",
                 operation="token") == 4


async def test_a_slow_device_shows_in_the_latency_histogram(client: TestClient) -> None:
    """A fault rule's delay (wall ms: the device is slow) lands above the buckets below it."""
    await call(client, "POST", "/_sim/faults", {"endpoint": "sound", "delayMs": 300,
                                                 "times": 1}, status=201)
    before = await scrape(client)
    body = {"iotCode": EXAMPLE_IMEI, "controlType": 3}
    assert (await vendor_call(client, "sound", body))["code"] == 0
    after = await scrape(client)
    le = {bound: after.buckets("segway_sim_request_duration_seconds", operation="sound")[bound]
          - before.buckets("segway_sim_request_duration_seconds", operation="sound").get(bound, 0)
          for bound in (0.25, float("inf"))}
    assert le == {0.25: 0, float("inf"): 1}
    assert delta(before, after, "segway_sim_request_duration_seconds_sum",
                 operation="sound") >= 0.3


async def test_histograms_are_cumulative_and_end_with_the_count(client: TestClient) -> None:
    for op in QUERIES:
        await vendor_call(client, op, iotCode=EXAMPLE_IMEI)
    got = await scrape(client)
    for op in QUERIES:
        buckets = got.buckets("segway_sim_request_duration_seconds", operation=op)
        assert sorted(buckets) == [*REQUEST_BUCKETS, float("inf")]
        counts = [buckets[le] for le in sorted(buckets)]
        assert counts == sorted(counts)
        assert counts[-1] == got.value("segway_sim_request_duration_seconds_count",
                                       operation=op) == 1


@given(ms=st.lists(st.floats(0, 100_000, allow_nan=False), max_size=50))
def test_an_observation_counts_in_every_bucket_at_or_above_it(ms: list[float]) -> None:
    """Prometheus' rule: bucket `le` counts the observations <= le (its bound included)."""
    hist = Histogram(REQUEST_BUCKETS)
    for value in ms:
        hist.observe(value)
    assert dict(hist.buckets()) == {
        **{format_le(le): sum(v <= le * 1000 for v in ms) for le in REQUEST_BUCKETS},
        "+Inf": len(ms)}
    assert hist.total_ms == pytest.approx(sum(ms))


def format_le(bound: float) -> str:
    return repr(float(bound))


async def test_counts_survive_a_reset(client: TestClient) -> None:
    """Prometheus counters only go up: a simulator reset leaves them, the gauges follow it."""
    await vendor_call(client, "status", iotCode=EXAMPLE_IMEI)
    await call(client, "POST", "/_sim/clock", {"advance": 60})
    await call(client, "POST", "/_sim/reset", {})
    got = await scrape(client)
    assert got.value("segway_sim_requests_total", operation="status", code="0",
                     status="200") == 1
    assert got.value("segway_sim_clock_virtual_time_seconds") == Config().start


# -- pushes -------------------------------------------------------------------------------------


def first_then(first: int, then: int) -> Any:
    """A receiver behaviour: `first` to the first push, `then` to every other."""
    answers = iter([first])

    async def behaviour(got: Got) -> int:
        return next(answers, then)

    return behaviour


async def alert(rig: Rig) -> None:
    """One alert push of the example vehicle, now, attempted."""
    await call(rig.client, "POST", f"{VEHICLE}/events", {"type": "alert", "code": 1})
    await rig.settle()


async def advance(rig: Rig, seconds: float) -> None:
    await call(rig.client, "POST", "/_sim/clock", {"advance": seconds})
    await rig.settle()


async def test_a_delivered_push_counts_with_its_lag(rig: Rig) -> None:
    before = await scrape(rig.client)
    await alert(rig)
    after = await scrape(rig.client)
    assert len(rig.receiver.of("alert")) == 1
    assert delta(before, after, "segway_sim_pushes_total", type="alert",
                 outcome="delivered") == 1
    # The clock is paused: delivered at the virtual moment it was due.
    lag = after.buckets("segway_sim_push_lag_seconds", type="alert")
    assert lag[LAG_BUCKETS[0]] == lag[float("inf")] == 1
    assert delta(before, after, "segway_sim_push_attempt_duration_seconds_count",
                 type="alert") == 1


@pytest.mark.parametrize(("second", "outcome"), [(200, "delivered"), (503, "failed")])
async def test_a_failed_attempt_counts_as_a_retry_and_the_retry_by_its_outcome(
        rig: Rig, second: int, outcome: str) -> None:
    rig.receiver.behaviour = first_then(500, second)
    before = await scrape(rig.client)
    await alert(rig)
    await advance(rig, 5)
    after = await scrape(rig.client)
    assert {o: delta(before, after, "segway_sim_pushes_total", type="alert", outcome=o)
            for o in ("retry", "delivered", "failed")} == {"retry": 1, "delivered": 0,
                                                           "failed": 0} | {outcome: 1}
    assert delta(before, after, "segway_sim_push_retries_total", type="alert") == 1
    lag = after.buckets("segway_sim_push_lag_seconds", type="alert")
    if outcome == "delivered":  # due, then delivered 5 virtual seconds later
        assert (lag[2.5], lag[5.0]) == (0, 1)
        assert after.value("segway_sim_push_lag_seconds_sum", type="alert") == 5
    else:  # only a delivered push has a lag
        assert lag == {}


async def test_drops_count_by_reason(rig: Rig, sim: Simulator) -> None:
    await call(rig.client, "POST", "/_sim/push-chaos", {"action": "drop", "type": "alert",
                                                        "times": 1}, status=201)
    await alert(rig)
    sim.outbox.limit = 5
    for row in range(len(sim.fleet)):
        sim.fleet.loc_lock_interval[row] = 10
    online = int((sim.fleet.online & sim.fleet.activated).sum())
    await advance(rig, 10)  # every online vehicle reports its location at once: 5 fit
    got = await scrape(rig.client)
    assert got.value("segway_sim_push_drops_total", type="alert", reason="chaos") == 1
    assert got.value("segway_sim_push_drops_total", type="location",
                     reason="overflow") == online - 5
    assert got.value("segway_sim_pushes_total", type="location", outcome="dropped") \
        == online - 5
    assert got.value("segway_sim_push_queue_capacity") == 5


async def test_queue_depth_is_what_waits_behind_a_stuck_receiver(rig: Rig, sim: Simulator
                                                                 ) -> None:
    release = asyncio.Event()

    async def stuck(got: Got) -> int:
        await release.wait()
        return 200

    rig.receiver.behaviour = stuck
    for row in range(len(sim.fleet)):
        sim.fleet.loc_lock_interval[row] = 10
    online = int((sim.fleet.online & sim.fleet.activated).sum())
    await call(rig.client, "POST", "/_sim/clock", {"advance": 10})
    await rig.receiver.wait_for(1)  # the one delivery under way: the rest wait
    got = await scrape(rig.client)
    assert got.value("segway_sim_push_queue_depth", platform=DEMO_CLIENT_ID) == online - 1
    release.set()
    await rig.settle()
    got = await scrape(rig.client)
    assert got.value("segway_sim_push_queue_depth", platform=DEMO_CLIENT_ID) == 0
    assert got.value("segway_sim_pushes_total", type="location", outcome="delivered") == online


# -- the fleet ----------------------------------------------------------------------------------


def expected_state(flags: dict[str, bool]) -> str:
    """docs/metrics.md's order, written out: the first state that holds."""
    if not flags["activated"]:
        return "inactive"
    if flags["transport"]:
        return "transport"
    if not flags["online"]:
        return "offline"
    for state in ("upgrading", "dormant", "charging"):
        if flags[state]:
            return state
    return "locked" if flags["locked"] else "unlocked"


FLAGS = ("activated", "online", "transport", "upgrading", "dormant", "charging", "locked")


@HTTP
@given(flags=st.fixed_dictionaries({name: st.booleans() for name in FLAGS}).filter(
    lambda f: not (f["online"] and f["transport"])))  # a vehicle in transport mode is offline
async def test_a_vehicle_counts_in_the_first_state_that_holds(
        client: TestClient, sim: Simulator, flags: dict[str, bool]) -> None:
    await call(client, "PATCH", VEHICLE, {name: False for name in FLAGS if name != "online"}
               | {"activated": True, "online": True, "locked": True})  # locked, healthy
    before = (await scrape(client)).vehicles()
    await call(client, "PATCH", VEHICLE, flags)
    after = (await scrape(client)).vehicles()
    moved = {state: after[state] - before[state] for state in STATES
             if after[state] != before[state]}
    state = expected_state(flags)
    assert moved == ({} if state == "locked" else {"locked": -1, state: 1})
    assert sum(after.values()) == len(sim.fleet)


async def test_a_ride_counts_as_riding(client: TestClient) -> None:
    before = (await scrape(client)).vehicles()
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    unlocked = (await scrape(client)).vehicles()
    assert unlocked["unlocked"] - before["unlocked"] == 1
    await call(client, "POST", f"{VEHICLE}/events", {"type": "ride", "seconds": 600})
    await call(client, "POST", "/_sim/clock", {"advance": 60})
    riding = (await scrape(client)).vehicles()
    assert (riding["riding"] - before["riding"], riding["locked"] - before["locked"]) == (1, -1)
    await call(client, "POST", "/_sim/clock", {"advance": 1200})  # parked and locked by hand
    assert (await scrape(client)).vehicles() == before


async def test_a_command_waiting_for_its_device_is_in_flight(client: TestClient) -> None:
    await call(client, "POST", "/_sim/faults", {"endpoint": "sound", "delayMs": 1500,
                                                 "times": 1}, status=201)
    waiting = asyncio.ensure_future(vendor_call(
        client, "sound", {"iotCode": EXAMPLE_IMEI, "controlType": 3}))
    # Scrape until the command has reached the simulator (each scrape a round trip; no sleep):
    # its device holds it 1.5 s.
    in_flight = 0.0
    while not in_flight and not waiting.done():
        in_flight = (await scrape(client)).value("segway_sim_commands_in_flight")
    assert in_flight == 1
    assert (await waiting)["code"] == 0
    assert (await scrape(client)).value("segway_sim_commands_in_flight") == 0


# -- the clock ----------------------------------------------------------------------------------


async def test_the_clock_gauges_follow_the_clock(client: TestClient, sim: Simulator) -> None:
    start = sim.clock.now
    await call(client, "POST", "/_sim/clock", {"speed": 25, "advance": 90})
    got = await scrape(client)
    assert got.value("segway_sim_clock_speed") == 25
    assert got.value("segway_sim_clock_paused") == 1
    assert got.value("segway_sim_clock_virtual_time_seconds") == start + 90
    assert got.value("segway_sim_clock_lag_seconds") == 0  # not paced: nothing to trail
    await call(client, "POST", "/_sim/clock", {"paused": False})
    assert (await scrape(client)).value("segway_sim_clock_paused") == 0


@given(speed=st.floats(0.1, 1000), wall=st.floats(0, 3600), done=st.floats(0, 1))
def test_the_lag_is_what_the_pacer_has_not_yet_reached(speed: float, wall: float,
                                                       done: float) -> None:
    """Virtual seconds behind wall time times the speed; nothing while paused or ahead."""
    clock = Clock(now=1000.0, speed=speed)
    pacer = Pacer(clock, wall=0.0)
    wanted = wall * speed
    clock.now = 1000.0 + wanted * done  # the pacer got this far in its catching up
    assert pacer.behind(wall) == pytest.approx(wanted * (1 - done), abs=1e-6)
    clock.now = 1000.0 + wanted + 1  # moved ahead by hand
    assert pacer.behind(wall) == 0
    clock.paused = True
    assert pacer.behind(wall + 10) == 0
