"""The latency model of `serve --latency` (core/latency.py): round trips that hold answers back.

Latencies here are tens of milliseconds, fixed (median = p99) where a test needs to know the
draw: they are wall-clock waits by nature, as a fault rule's delayMs, and the journal's
`latencyMs` says how long each answer took.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from simulator.cli.main import main
from simulator.core.errors import SimError
from simulator.core.latency import LATENCY_OPERATIONS, REALISTIC, LatencyModel, Spread
from simulator.server.app import create_app
from simulator.sim import DEMO_IMEIS, Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import call
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

OTHER = DEMO_IMEIS[1]


def fixed(ms: float) -> dict[str, float]:
    return {"median_ms": ms, "p99_ms": ms}


def model(**table: Any) -> LatencyModel:
    return LatencyModel.from_mapping({"cloud": fixed(20), "device": fixed(60), **table})


@pytest.fixture
def latency() -> LatencyModel:
    return model()


@pytest.fixture
async def slow(latency: LatencyModel) -> AsyncIterator[tuple[TestClient, Simulator]]:
    sim = Simulator(Config(seed=7, vehicles=20, paused=True, riders=False,
                           physics=PhysicsConfig.quiet(), latency=latency))
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as client:
        yield client, sim


def took_ms(sim: Simulator) -> float:
    """How long the last vendor answer was held back (the request journal's latencyMs)."""
    return float(sim.requests.records[-1]["latencyMs"])


async def test_queries_take_a_cloud_round_trip(slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    assert (await vendor_call(client, "status", iotCode=EXAMPLE_IMEI))["code"] == 0
    assert 20 <= took_ms(sim) < 60


async def test_real_time_location_asks_the_device(slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    answer = await vendor_call(client, "location", iotCode=EXAMPLE_IMEI, realTimeLocation="true")
    assert answer["code"] == 0
    assert took_ms(sim) >= 60
    await vendor_call(client, "location", iotCode=EXAMPLE_IMEI)
    assert took_ms(sim) < 60  # the cloud's last known fix


async def test_a_command_holds_its_vehicle_for_the_round_trip(
        slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    taken = asyncio.Event()  # told when the server has taken the command (as test_control_faults)
    begin = sim.inflight.begin

    def begin_and_tell(row: int) -> None:
        begin(row)
        taken.set()

    sim.inflight.begin = begin_and_tell  # type: ignore[method-assign]
    first = asyncio.create_task(vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))
    await taken.wait()
    state = await call(client, "GET", f"/_sim/vehicles/{EXAMPLE_IMEI}")
    assert state["commandInFlight"] is True and state["locked"] is True
    second = await vendor_call(client, "sound", {"iotCode": EXAMPLE_IMEI, "controlType": 2})
    assert second["code"] == 15104
    assert (await vendor_call(client, "unlock", {"iotCode": OTHER}))["code"] == 0  # others free
    assert (await first)["code"] == 0
    assert not sim.fleet.locked[0] and not sim.inflight
    assert took_ms(sim) >= 60


async def test_the_cloud_refuses_without_asking_the_device(
        slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    await call(client, "PATCH", f"/_sim/vehicles/{EXAMPLE_IMEI}", {"online": False})
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 15301
    assert 20 <= took_ms(sim) < 60
    assert not sim.inflight


@pytest.mark.parametrize(("trip_ms", "happened"), [(150, True), (300, False)])
@pytest.mark.parametrize("latency", [None], ids=[""])
async def test_a_round_trip_past_the_timeout_is_15302(
        trip_ms: int, happened: bool, latency: None) -> None:
    """15302 when the timeout runs out; the unlock took effect if the way down fitted in it."""
    sim = Simulator(Config(seed=7, vehicles=20, paused=True, riders=False,
                           physics=PhysicsConfig.quiet(),
                           latency=model(timeout_ms=100, device=fixed(trip_ms))))
    async with TestClient(TestServer(create_app(sim, pace=False), host="127.0.0.1")) as client:
        answer = await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI})
        assert answer["code"] == 15302
        assert answer["msg"] == "device response timeout"
        assert 100 <= took_ms(sim) < trip_ms
        assert bool(sim.fleet.locked[0]) is not happened
        assert not sim.inflight


async def test_the_token_takes_a_cloud_round_trip(slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    resp = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "A20081",
        "client_secret": "e2651be5-12d3-48f3-ba6c-bc2b04a447b6"})
    assert resp.status == 200
    assert took_ms(sim) >= 20


async def test_weak_signal_makes_the_device_slower(slow: tuple[TestClient, Simulator]) -> None:
    client, sim = slow
    sim.fleet.network_signal[0] = 5  # under weak_signal_below (10): 2.5 x the round trip
    answer = await vendor_call(client, "sound", {"iotCode": EXAMPLE_IMEI, "controlType": 2})
    assert answer["code"] == 0
    assert took_ms(sim) >= 150


def test_realistic_keeps_its_promises() -> None:
    """Done-when of issue 15 in the model's own terms: unlock's median 0.3-3 s, queries well
    under 200 ms, and a tail that reaches the timeout."""
    assert 0.3 <= REALISTIC.spread("unlock", device=True).median_s <= 3
    assert REALISTIC.spread("status", device=False).median_s < 0.2
    assert REALISTIC.cloud.share_over(0.2) == pytest.approx(0.01)
    assert 0 < REALISTIC.device.share_over(REALISTIC.timeout_s) < 0.01
    weak = REALISTIC.device.share_over(REALISTIC.timeout_s, REALISTIC.factor(5))
    assert weak > 10 * REALISTIC.device.share_over(REALISTIC.timeout_s)


medians = st.floats(1, 5_000)


@given(median=medians, spread=st.floats(1.5, 20), seed=st.integers(0, 2**32))
def test_draws_have_the_median_and_tail_they_are_given(median: float, spread: float,
                                                       seed: int) -> None:
    s = Spread(median / 1000, median * spread / 1000)
    rng = np.random.default_rng(seed)
    draws = np.array([s.draw(rng) for _ in range(4000)])
    assert np.all(draws > 0)
    assert abs(np.median(draws) / s.median_s - 1) < 0.1 * max(1.0, s.sigma)
    over = float(np.mean(draws > s.p99_s))
    assert over == pytest.approx(0.01, abs=0.008)
    limit = s.median_s * 2
    assert float(np.mean(draws > limit)) == pytest.approx(s.share_over(limit), abs=0.03)


@given(median=medians, factor=st.floats(1, 10))
def test_a_fixed_round_trip_is_exactly_its_median(median: float, factor: float) -> None:
    s = Spread(median / 1000, median / 1000)
    assert s.draw(np.random.default_rng(0), factor) == median / 1000 * factor
    assert s.share_over(median / 1000 * factor * 1.01, factor) == 0


def tables() -> st.SearchStrategy[dict[str, Any]]:
    spread = st.tuples(medians, st.floats(1, 50)).map(
        lambda m: {"median_ms": m[0], "p99_ms": m[0] * m[1]})
    return st.fixed_dictionaries({}, optional={
        "timeout_ms": st.integers(1, 600_000),
        "weak_signal_below": st.integers(0, 32),
        "weak_signal_factor": st.floats(1, 100),
        "cloud": spread,
        "device": spread,
        "operations": st.dictionaries(st.sampled_from(LATENCY_OPERATIONS), spread, max_size=4),
    })


@given(table=tables())
def test_every_valid_file_is_read_as_written(table: dict[str, Any]) -> None:
    got = LatencyModel.from_mapping(table)
    assert got.timeout_s == table.get("timeout_ms", 10_000) / 1000
    for op, spread in table.get("operations", {}).items():
        assert got.spread(op, device=False).median_s == pytest.approx(spread["median_ms"] / 1000)


BAD_VALUES = st.one_of(st.just(-1), st.just(0), st.just(math.nan), st.just(math.inf),
                       st.just("10"), st.just(True), st.just(10**9))


@given(field=st.sampled_from(["timeout_ms", "weak_signal_factor", "cloud.median_ms",
                              "device.p99_ms", "operations.unlock.median_ms"]),
       value=BAD_VALUES)
def test_a_bad_value_is_refused_naming_its_field(field: str, value: Any) -> None:
    table: dict[str, Any] = {"cloud": fixed(10), "device": fixed(10),
                             "operations": {"unlock": fixed(10)}}
    *path, key = field.split(".")
    where = table
    for part in path:
        where = where[part]
    where[key] = value
    with pytest.raises(SimError) as err:
        LatencyModel.from_mapping(table)
    assert str(err.value).startswith(field)


@pytest.mark.parametrize(("text", "said"), [
    ("timeout_ms = 0", "timeout_ms: must be between 1 and 600000"),
    ("[device]\nmedian_ms = 5", "device.p99_ms: missing"),
    ("[device]\nmedian_ms = 5\np99_ms = 1", "device.p99_ms: must be at least median_ms"),
    ("[operations.launch]\nmedian_ms = 5\np99_ms = 9", "operations.launch: unknown"),
    ("nonsense = 1", "nonsense: unknown"),
    ("timeout_ms = ", "not TOML"),
])
def test_serve_names_what_is_wrong_in_a_latency_file(tmp_path: Path, text: str,
                                                     said: str) -> None:
    path = tmp_path / "latency.toml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["serve", "--latency", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'--latency'" in lines[0] and said in lines[0], result.stderr


def test_instant_is_no_model_at_all() -> None:
    assert LatencyModel.parse("instant") is None
    assert LatencyModel.parse("realistic") is REALISTIC
