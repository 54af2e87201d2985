"""Control plane: health, the clock (advance, to, speed, pause) and the server's pacer."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from simulator.core.clock import Clock, Pacer
from simulator.sim import DEFAULT_START, Simulator
from tests.helpers.control import HTTP, call, misuse


async def test_health(client: TestClient, sim: Simulator) -> None:
    health = await call(client, "GET", "/_sim/health")
    assert health == {"status": "ok", "vehicles": 20, "platforms": 1,
                      "clock": {"now": DEFAULT_START, "nowMs": int(DEFAULT_START * 1000),
                                "speed": 1.0, "paused": True, "tokenClock": "virtual"}}


async def test_get_clock(client: TestClient, sim: Simulator) -> None:
    sim.advance(1.5)
    assert await call(client, "GET", "/_sim/clock") == {
        "now": DEFAULT_START + 1.5, "nowMs": int((DEFAULT_START + 1.5) * 1000), "speed": 1.0,
        "paused": True, "tokenClock": "virtual"}


async def test_advance_lives_through_the_time(client: TestClient, sim: Simulator) -> None:
    steps: list[tuple[float, float]] = []
    sim.tickers.append(lambda now, dt: steps.append((now, dt)))
    fired: list[float] = []
    sim.call_at(DEFAULT_START + 2.5, lambda: fired.append(sim.clock.now))
    clock = await call(client, "POST", "/_sim/clock", {"advance": 5})
    assert clock["now"] == DEFAULT_START + 5 and sim.clock.now == DEFAULT_START + 5
    assert sum(dt for _, dt in steps) == pytest.approx(5)
    assert max(dt for _, dt in steps) <= sim.config.tick_s
    assert fired == [DEFAULT_START + 2.5]  # a timer fires at its exact virtual time


@HTTP
@given(seconds=st.one_of(st.integers(0, 600), st.floats(0, 600, allow_nan=False)))
async def test_advance_any_amount(client: TestClient, sim: Simulator, seconds: float) -> None:
    before = sim.clock.now
    clock = await call(client, "POST", "/_sim/clock", {"advance": seconds})
    assert clock["now"] == sim.clock.now == before + seconds


async def test_speed_and_pause(client: TestClient, sim: Simulator) -> None:
    clock = await call(client, "POST", "/_sim/clock", {"speed": 60})
    assert clock["speed"] == 60.0 and sim.clock.speed == 60.0
    clock = await call(client, "POST", "/_sim/clock", {"paused": False})
    assert clock["paused"] is False and sim.clock.paused is False
    clock = await call(client, "POST", "/_sim/clock", {"paused": True, "speed": 0.5,
                                                       "advance": 10})
    assert clock == {"now": DEFAULT_START + 10, "nowMs": int((DEFAULT_START + 10) * 1000),
                     "speed": 0.5, "paused": True, "tokenClock": "virtual"}


async def test_to_lives_through_the_time_to_an_instant(client: TestClient,
                                                       sim: Simulator) -> None:
    fired: list[float] = []
    sim.call_at(DEFAULT_START + 2.5, lambda: fired.append(sim.clock.now))
    clock = await call(client, "POST", "/_sim/clock", {"to": DEFAULT_START + 60})
    assert clock["now"] == sim.clock.now == DEFAULT_START + 60
    assert fired == [DEFAULT_START + 2.5]
    assert (await call(client, "POST", "/_sim/clock", {"to": DEFAULT_START + 60}))["now"] == \
        DEFAULT_START + 60  # now itself: nothing to live through


@HTTP
@given(offset=st.one_of(st.integers(-3, 600), st.floats(-600, 3_600, allow_nan=False),
                        st.sampled_from([-1e-6, 0.0, 7 * 86_400.0, 7 * 86_400 + 1e-3])))
async def test_to_accepts_now_up_to_a_week_ahead(client: TestClient, sim: Simulator,
                                                 offset: float) -> None:
    now = sim.clock.now
    to = now + offset
    if now <= to <= now + 7 * 86_400:
        assert (await call(client, "POST", "/_sim/clock", {"to": to}))["now"] == to
    else:
        await misuse(client, sim, "POST", "/_sim/clock", {"to": to}, "to")


@pytest.mark.parametrize(("body", "field"), [
    ({"advance": -1}, "advance"),
    ({"advance": "10"}, "advance"),
    ({"advance": True}, "advance"),
    ({"advance": 7 * 86_400 + 1}, "advance"),
    ({"speed": 0}, "speed"),
    ({"speed": -2}, "speed"),
    ({"speed": "fast"}, "speed"),
    ({"paused": "yes"}, "paused"),
    ({"paused": 1}, "paused"),
    ({"speed": 2, "advance": -1}, "advance"),  # nothing of a bad request happens
    ({"rewind": 5}, "rewind"),
    ({"to": DEFAULT_START - 0.5}, "to"),  # before now
    ({"to": DEFAULT_START + 7 * 86_400 + 1}, "to"),
    ({"to": DEFAULT_START + 5, "advance": 5}, "to"),
    ({"to": "tomorrow"}, "to"),
    ({"paused": False, "to": -1}, "to"),
    ({}, "body"),
    ([{"advance": 1}], "body"),
])
async def test_clock_misuse(client: TestClient, sim: Simulator, body: Any, field: str) -> None:
    await misuse(client, sim, "POST", "/_sim/clock", body, field)


@HTTP
@given(speed=st.floats(allow_nan=False, allow_infinity=False))
async def test_speed_range(client: TestClient, sim: Simulator, speed: float) -> None:
    if 0 < speed <= 1_000_000:
        assert (await call(client, "POST", "/_sim/clock", {"speed": speed}))["speed"] == speed
    else:
        await misuse(client, sim, "POST", "/_sim/clock", {"speed": speed}, "speed")


# -- the pacer: server mode's wall-to-virtual mapping, under control-plane changes --------------


def test_pacer_follows_wall_time_times_speed() -> None:
    clock = Clock(now=1000.0, speed=2.0)
    pacer = Pacer(clock, wall=50.0)
    assert pacer.target(51.0) == 1002.0


def test_pacer_speed_change_does_not_jump() -> None:
    clock = Clock(now=1000.0)
    pacer = Pacer(clock, wall=0.0)
    clock.now = pacer.target(10.0)  # 1010
    clock.set_speed(100.0)
    clock.now = pacer.target(10.0)
    assert clock.now == 1010.0  # no jump of 10 s x 100 at the change
    assert pacer.target(11.0) == 1110.0


def test_pacer_pause_holds_and_resumes_without_a_jump() -> None:
    clock = Clock(now=1000.0)
    pacer = Pacer(clock, wall=0.0)
    clock.paused = True
    assert pacer.target(100.0) == 1000.0
    clock.paused = False
    assert pacer.target(100.0) == 1000.0
    assert pacer.target(101.0) == 1001.0


@pytest.mark.parametrize("moved_to", [5000.0, 500.0])  # an advance, a snapshot from the past
def test_pacer_goes_on_from_a_clock_moved_elsewhere(moved_to: float) -> None:
    clock = Clock(now=1000.0)
    pacer = Pacer(clock, wall=0.0)
    clock.now = pacer.target(1.0)
    clock.now = moved_to  # the control plane moved it
    assert pacer.target(2.0) == moved_to  # neither stalls nor snaps back
    assert pacer.target(3.0) == moved_to + 1.0
