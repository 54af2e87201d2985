"""A snapshot is the whole future: restore -> advance gives exactly the world advance gives.

Timers (a ride's exact-time end), rides in progress, the random streams, the push cadence and
the world's knobs travel; a fresh simulator started otherwise (another seed, fleet, riders,
chance rates) that loads a snapshot lives the saved world's future bit for bit. And the loader
checks what refers to what: a bad reference is a 400 naming it, changing nothing.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import snapshot
from simulator.core import readings
from simulator.core.errors import SimError, VendorError
from simulator.core.events import Event
from simulator.push.outbox import Push
from simulator.server.app import create_app
from simulator.sim import DEMO_CLIENT_ID, Config, Simulator
from simulator.world import happenings
from simulator.world.physics import PhysicsConfig
from tests.helpers.control import VEHICLE, call, misuse, row
from tests.helpers.vendor import EXAMPLE_IMEI, vendor_call

CALLBACK = "http://127.0.0.1:9/partner"  # pushes queue in the outbox; nothing delivers them here

# -- the property: random worlds, random requests, a random cut --------------------------------

Action = tuple[str, int, int]  # (what, a row (modulo the fleet), a number for it)


def act(sim: Simulator, action: Action) -> None:
    """One request a tester or a partner makes; refusals (a vehicle offline by chance, a ride
    on a locked vehicle) are part of the story, the same in every run."""
    what, pick, n = action
    r = pick % len(sim.fleet)
    with contextlib.suppress(VendorError, SimError):
        if what == "unlock":
            sim.vendor.execute(r, "unlock", {})
        elif what == "ride":
            sim.world.start_ride(r, float(60 + n * 7) if n % 3 else None)
        elif what == "end-ride":
            sim.world.end_ride(r)
        elif what == "speed-limit":
            sim.vendor.execute(r, "setting/switch", {"speedLimit": 6 + n % 27})
        elif what == "charger":
            sim.world.charger(r, bool(n % 2))
        elif what == "event":
            events: list[tuple[str, dict[str, Any]]] = [
                ("offline", {}), ("online", {}), ("fault", {"code": "E3"}),
                ("alert", {"code": 12}), ("power-on", {})]
            kind, fields = events[n % 5]
            happenings.happen(sim.fleet, r, kind, fields, sim.clock.now, sim.bus, sim.world)
        elif what == "fault-rule":
            sim.faults.add(code=15302, probability=0.5, times=1 + n % 4)
        elif what == "status-query":  # matching the rules draws from the fault stream
            sim.faults.match(sim.platform_of(r).code, sim.fleet.imeis[r], "status")
        elif what == "chaos-rule":  # delay and reorder hold pushes in the outbox: saved apart
            sim.push_chaos.add(action=("duplicate", "drop", "corrupt")[n % 3], probability=0.5)
        elif what == "token":  # near expiry a new value is drawn from the token stream
            sim.tokens.grant(sim.platform_of(r), sim.clock.now + n * 1000.0)
        elif what == "vehicles":
            sim.add_vehicles(sim.platform_of(r), 1 + n % 2)


ACTIONS = ("unlock", "ride", "end-ride", "speed-limit", "charger", "event", "fault-rule",
           "status-query", "chaos-rule", "token", "vehicles")
rates = st.builds(
    PhysicsConfig,
    offline_per_hour=st.sampled_from([0.0, 0.3, 2.0]),
    falls_per_hour=st.sampled_from([0.0, 0.2]),
    ride_falls_per_hour=st.sampled_from([0.0, 1.0, 5.0]),
    illegal_moving_per_hour=st.sampled_from([0.0, 0.2]),
    faults_per_hour=st.sampled_from([0.0, 0.3]),
    fault_clear_per_hour=st.sampled_from([0.0, 1.0]),
    invalid_fix_chance=st.sampled_from([0.0, 0.1]),
    dormancy_idle_s=st.sampled_from([0.0, 1800.0, 4 * 3600.0]),
    ride_median_s=st.sampled_from([60.0, 300.0, 900.0]),
)
quarter_seconds = st.integers(0, 4 * 3 * 3600).map(lambda q: q / 4)  # fractional instants too


@dataclass
class Seen:
    """What a simulator does after the cut: its events, new push records, queued pushes."""

    events: list[Event]
    journal_from: int
    queued_from: dict[str, int]


def watch(sim: Simulator) -> Seen:
    seen = Seen([], sim.pushes.seq, {code: len(q) for code, q in sim.outbox.queues.items()})
    sim.bus.subscribe(seen.events.append)
    return seen


def push_view(push: Push) -> tuple[Any, ...]:
    """A push as the receiver gets it (its id is the outbox's counter, saved with the pushes)."""
    return (push.kind, push.iot_code, push.platform, push.url, push.fields, push.body, push.due,
            push.attempt, push.chaos, push.rule)


def after(sim: Simulator, seen: Seen) -> dict[str, Any]:
    return {
        "snapshot": snapshot.dump(sim),
        "events": [(e.t, e.row, e.kind, sorted(e.data.items())) for e in seen.events],
        "journal": [{k: v for k, v in r.items() if k not in ("pushId", "seq")}
                    for r in sim.pushes.records if r["seq"] > seen.journal_from],
        "queued": {code: new for code, q in sim.outbox.queues.items()
                   if (new := [push_view(p) for p in list(q)[seen.queued_from.get(code, 0):]])},
    }


def play(sim: Simulator, script: list[tuple[float, Action]], start: float, until: float) -> None:
    """The script's requests at their times in [start, until), then the clock to `until`."""
    t0 = sim.config.start
    for at, action in script:
        if start <= at < until:
            sim.advance_to(t0 + at)
            act(sim, action)
    sim.advance_to(t0 + until)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**16), vehicles=st.integers(1, 6), riders=st.booleans(),
       physics=rates, pushes=st.booleans(), cut=quarter_seconds, rest=quarter_seconds,
       script=st.lists(st.tuples(quarter_seconds,
                                 st.tuples(st.sampled_from(ACTIONS), st.integers(0, 99),
                                           st.integers(0, 99))), max_size=25))
def test_restore_then_advance_is_advance(seed: int, vehicles: int, riders: bool,
                                         physics: PhysicsConfig, pushes: bool, cut: float,
                                         rest: float,
                                         script: list[tuple[float, Action]]) -> None:
    config = Config(seed=seed, vehicles=vehicles, paused=True, riders=riders, physics=physics,
                    callback_url=CALLBACK if pushes else None)
    script = sorted(script, key=lambda s: s[0])
    end = cut + rest

    def first_part() -> Simulator:
        sim = Simulator(config)
        sim.make_healthy(np.arange(len(sim.fleet)))
        play(sim, script, 0.0, cut)
        return sim

    straight = first_part()
    seen_straight = watch(straight)
    play(straight, script, cut, end)

    # The same world to the cut, saved as JSON and loaded by a simulator started otherwise.
    saved = json.loads(json.dumps(snapshot.dump(first_part())))
    restored = Simulator(Config(seed=seed + 1, vehicles=2, paused=True, riders=not riders,
                                physics=PhysicsConfig.quiet()))
    snapshot.load(restored, saved)
    assert snapshot.dump(restored) == saved
    seen_restored = watch(restored)
    play(restored, script, cut, end)

    assert after(restored, seen_restored) == after(straight, seen_straight)


# -- the defect: a ride in progress lives on after a round trip ------------------------


async def test_a_ride_in_progress_survives_a_snapshot_round_trip(client: TestClient,
                                                                 sim: Simulator) -> None:
    """A ride begun between two whole seconds ends at its exact time after a load too (it used
    to end at the next whole second: its timer did not travel)."""
    await call(client, "POST", "/_sim/clock", {"advance": 0.5})
    assert (await vendor_call(client, "unlock", {"iotCode": EXAMPLE_IMEI}))["code"] == 0
    await call(client, "POST", f"{VEHICLE}/events", {"type": "ride", "seconds": 100})
    end = sim.clock.now + 100
    await call(client, "POST", "/_sim/clock", {"advance": 30})
    saved = await call(client, "GET", "/_sim/snapshot")
    assert saved["timers"] == [{"at": end, "kind": "ride-end", "row": row(sim), "args": [end]}]

    async def ride_to_the_end() -> dict[str, Any]:
        await call(client, "POST", "/_sim/clock", {"advance": 69.75})
        assert (await call(client, "GET", VEHICLE))["riding"]
        await call(client, "POST", "/_sim/clock", {"advance": 0.5})
        state: dict[str, Any] = await call(client, "GET", VEHICLE)
        assert state["locked"] and not state["riding"]
        return state

    lived = await ride_to_the_end()
    assert lived["columns"]["status_time"] == int(end)  # locked at its end, not a second later
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert (await call(client, "GET", VEHICLE))["riding"]
    assert await ride_to_the_end() == lived


async def test_a_second_server_lives_the_same_future() -> None:
    """GET /_sim/snapshot from one server, PUT into another started otherwise, mid-ride with
    riders and chance on: advancing both gives the same world. (No callback: each server's
    dispatcher would retry on its own wall time; the property above covers the pushes.)"""
    config = Config(seed=11, vehicles=5, paused=True, riders=True,
                    physics=PhysicsConfig(ride_falls_per_hour=3.0, offline_per_hour=0.5))
    first = Simulator(config)
    first.make_healthy(np.arange(5))
    other = Simulator(Config(seed=3, vehicles=9, paused=True))
    async with TestClient(TestServer(create_app(first, pace=False), host="127.0.0.1")) as one, \
            TestClient(TestServer(create_app(other, pace=False), host="127.0.0.1")) as two:
        await call(one, "POST", "/_sim/clock", {"advance": 2.25})
        for imei in first.fleet.imeis[:4]:
            await vendor_call(one, "unlock", {"iotCode": imei})
        await call(one, "POST", "/_sim/faults", {"code": 15302, "probability": 0.5}, 201)
        await call(one, "POST", "/_sim/clock", {"advance": 40.5})
        assert first.fleet.riding.sum() >= 3 and len(first.timers) >= 3
        saved = await call(one, "GET", "/_sim/snapshot")
        await call(two, "PUT", "/_sim/snapshot", saved)
        for c in (one, two):
            await call(c, "POST", "/_sim/clock", {"advance": 3 * 3600.5})
        answers = [[(await vendor_call(c, "status", iotCode=EXAMPLE_IMEI))["code"]
                    for _ in range(12)] for c in (one, two)]
        assert answers[0] == answers[1]
        assert await call(one, "GET", "/_sim/snapshot") == await call(two, "GET", "/_sim/snapshot")
        assert not first.fleet.riding[:4].any()  # every ride ended, in both


# -- the loader checks what refers to what ------------------------------------------------------


def _edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(snap: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = snap
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
    return edit


def _timer(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(snap: dict[str, Any]) -> None:
        snap["timers"] = [{"at": 1.0, "kind": "ride-end", "row": 0, "args": [1.0], **fields}]
    return edit


def _schedule_rows(snap: dict[str, Any]) -> None:
    schedule = snap["parts"]["pushes"]["schedule"]
    for name in schedule:
        schedule[name] = schedule[name] + schedule[name][:1]


BAD_REFERENCES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("token of an unknown platform", _edit("tokens/items/0/clientId", "E404"),
     "tokens.items[0].clientId"),
    ("token platform not text", _edit("tokens/items/0/clientId", []), "tokens.items[0].clientId"),
    ("newest token elsewhere", _edit("tokens/newest/A20081", "f00"), "tokens.newest.A20081"),
    ("vehicle of a missing platform", _edit("fleet/columns/platform/2", 7),
     "fleet.columns.platform"),
    ("timer row beyond the fleet", _timer(row=20), "timers[0].row"),
    ("timer row negative", _timer(row=-1), "timers[0].row"),
    ("timer kind unknown", _timer(kind="explode"), "timers[0].kind"),
    ("timer time not finite", _timer(at="NaN"), "timers[0].at"),
    ("timer args", _timer(args=[]), "timers[0].args"),
    ("timer arg type", _timer(args=[{}]), "timers[0].args[0]"),
    ("timer shape", _edit("timers", [[1.0, "ride-end", 0, [1.0]]]), "timers[0]"),
    ("timers not a list", _edit("timers", {}), "timers"),
    ("schedule longer than the fleet", _schedule_rows, "parts.pushes.schedule.next"),
    ("schedule next NaN", _edit("parts/pushes/schedule/next/0/0", "NaN"),
     "parts.pushes.schedule.next[0]"),
    ("schedule flood", _edit("parts/pushes/schedule/next/1/0", 0.0),
     "parts.pushes.schedule.next[1]"),
    ("schedule period", _edit("parts/pushes/schedule/period/0/1", -5.0),
     "parts.pushes.schedule.period[0]"),
    ("chaos rule", _edit("parts/pushes/chaos/rules", [{"id": 1, "action": "melt"}]),
     "parts.pushes.chaos.rules[0].action"),
    ("world cursor far behind", _edit("parts/world/cursor", 0), "parts.world.cursor"),
    ("world cursor ahead", _edit("parts/world/cursor", 4_000_000_000), "parts.world.cursor"),
    ("riders", _edit("parts/world/riders", "on"), "parts.world.riders"),
    ("physics rate", _edit("parts/world/physics/falls_per_hour", -1),
     "parts.world.physics.falls_per_hour"),
    ("physics rate certain every step", _edit("parts/world/physics/illegal_moving_per_hour", 225),
     "parts.world.physics.illegal_moving_per_hour"),
    ("physics name", _edit("parts/world/physics/meteors_per_hour", 1),
     "parts.world.physics.meteors_per_hour"),
    ("physics type", _edit("parts/world/physics/ride_median_s", "long"),
     "parts.world.physics.ride_median_s"),
    ("clock past any date", _edit("clock/now", 1e300), "clock.now"),
    ("clock speed", _edit("clock/speed", 1e300), "clock.speed"),
    ("token lifetime", _edit("tokens/lifetime", 10**9), "tokens.lifetime"),
    ("token expiry", _edit("tokens/items/0/expiresAt", 1e300), "tokens.items[0].expiresAt"),
    ("extras setting", _edit("fleet/extras/0", {"ambientSetting": 5}),
     "fleet.extras.0.ambientSetting"),
]


@pytest.mark.parametrize(("edit", "field"), [(e, f) for _, e, f in BAD_REFERENCES],
                         ids=[name for name, _, _ in BAD_REFERENCES])
async def test_a_bad_reference_is_named_and_changes_nothing(
        client: TestClient, sim: Simulator, edit: Callable[[dict[str, Any]], None],
        field: str) -> None:
    sim.fleet.locked[1] = False
    sim.world.start_ride(1, 300.0)  # a timer, and a fleet that differs from the snapshot's
    sim.advance(12)
    saved = await call(client, "GET", "/_sim/snapshot")
    await call(client, "POST", "/_sim/clock", {"advance": 1})
    bad = copy.deepcopy(saved)
    edit(bad)
    pending = len(sim.timers)
    await misuse(client, sim, "PUT", "/_sim/snapshot", bad, field)
    assert len(sim.timers) == pending


async def test_an_older_snapshot_still_loads(client: TestClient, sim: Simulator) -> None:
    """Version 1 from before timers, token lifetimes and the world's knobs travelled: what it
    lacks keeps the server's setting, and its rides end at the world's next whole second."""
    sim.fleet.locked[0] = False
    sim.advance(0.5)
    sim.world.start_ride(0, 100.0)
    saved = await call(client, "GET", "/_sim/snapshot")
    del saved["timers"], saved["tokens"]["lifetime"]
    saved["parts"]["world"] = {"cursor": saved["parts"]["world"]["cursor"]}
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert len(sim.timers) == 0 and sim.config.physics == PhysicsConfig.quiet()
    await call(client, "POST", "/_sim/clock", {"advance": 101})
    assert not sim.fleet.riding[0]
    assert sim.fleet.status_time[0] == int(sim.config.start) + 101
    del saved["parts"]
    await call(client, "PUT", "/_sim/snapshot", saved)
    assert sim.world.cursor == int(saved["clock"]["now"])


def test_a_loaded_platform_keeps_its_pushes() -> None:
    """Vehicles added after the cadence's last step keep the schedule of the others."""
    sim = Simulator(Config(vehicles=3, paused=True, callback_url=CALLBACK,
                           physics=PhysicsConfig.quiet()))
    sim.advance(30)
    sim.add_vehicles(sim.platforms[DEMO_CLIENT_ID], 2)
    saved = snapshot.dump(sim)
    assert len(saved["parts"]["pushes"]["schedule"]["next"]) == 3
    other = Simulator(Config(seed=5, vehicles=1, paused=True))
    snapshot.load(other, saved)
    for s in (sim, other):
        s.advance(2000)
    assert snapshot.dump(other) == snapshot.dump(sim)


# -- any one bad value: a 400 naming it, or a world that lives on --------------------------------


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _busy_world() -> Simulator:
    sim = Simulator(Config(seed=3, vehicles=3, paused=True, callback_url=CALLBACK))
    sim.make_healthy(np.arange(3))
    sim.advance(0.5)
    sim.vendor.execute(1, "unlock", {})
    sim.vendor.execute(0, "ambient", {"bright": 1, "mode": 3, "color": 5})
    sim.faults.add(code=15302, probability=0.5)
    sim.push_chaos.add(action="duplicate", probability=0.5)
    sim.advance(30)
    return sim


BUSY_SNAPSHOT = json.loads(json.dumps(snapshot.dump(_busy_world())))
LEAVES = _leaves(BUSY_SNAPSHOT)
json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["NaN", "Infinity"]),
    st.text(max_size=5), st.lists(st.integers(-3, 3), max_size=3), st.just({}))


@settings(max_examples=150)
@given(where=st.sampled_from(LEAVES), value=json_values)
def test_any_bad_value_is_refused_or_lived_with(where: tuple[Any, ...], value: Any) -> None:
    """Whatever one field holds, the loader refuses it (SimError, nothing changed) or the world
    it loads serves every reading and lives on (orjson, as the server renders)."""
    doc = copy.deepcopy(BUSY_SNAPSHOT)
    node: Any = doc
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    sim = _busy_world()
    before = snapshot.dump(sim)
    try:
        snapshot.load(sim, doc)
    except SimError as err:
        assert err.field and snapshot.dump(sim) == before
        return
    sim.advance(900.25)
    for r in range(len(sim.fleet)):
        for reading in (readings.status, readings.location, readings.battery_info,
                        readings.bluetooth_key):
            orjson.dumps(reading(sim.fleet, r))
    orjson.dumps(snapshot.dump(sim))
