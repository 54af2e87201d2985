"""The live channel without HTTP: display states, frames, tallies, what each page is sent."""

from __future__ import annotations

import base64
import json
from collections import deque
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.core.events import STATUS, Event
from simulator.core.fleet import ALERT_BITS
from simulator.server import live_frames as lf
from simulator.server.live import Client, LiveHub
from simulator.sim import Config, Simulator

FLAGS = ("locked", "riding", "charging", "dormant", "upgrading", "online", "transport",
         "activated")


def expected_state(v: dict[str, Any]) -> str:
    """The dashboard's rule, written out independently: the most pressing state wins."""
    if not v["activated"]:
        return "inactive"
    if not v["online"] or v["transport"]:
        return "offline"
    if v["upgrading"]:
        return "upgrading"
    if v["faults"]:
        return "fault"
    if v["alerts"] & ~ALERT_BITS[12]:
        return "alert"
    if v["riding"]:
        return "riding"
    if v["charging"]:
        return "charging"
    if v["power"] < 20 or v["alerts"] & ALERT_BITS[12]:
        return "low-battery"
    if v["dormant"]:
        return "dormant"
    return "locked" if v["locked"] else "unlocked"


vehicle_states = st.fixed_dictionaries({
    **{name: st.booleans() for name in FLAGS},
    "power": st.floats(0, 100),
    "alerts": st.sampled_from([0, *ALERT_BITS.values(), ALERT_BITS[12] | ALERT_BITS[1]]),
    "faults": st.sampled_from([0, 1, 1 << 40]),
})


def small_sim(n: int = 8) -> Simulator:
    return Simulator(Config(seed=3, vehicles=n, paused=True, riders=False))


@settings(max_examples=100)
@given(st.lists(vehicle_states, min_size=1, max_size=8))
def test_each_vehicle_shows_its_most_pressing_state(vehicles: list[dict[str, Any]]) -> None:
    sim = small_sim(len(vehicles))
    f = sim.fleet
    for row, v in enumerate(vehicles):
        for name in FLAGS:
            f.column(name)[row] = v[name]
        f.power[row], f.alerts[row], f.faults[row] = v["power"], v["alerts"], v["faults"]
    codes = lf.classify(f)
    assert [lf.STATES[c] for c in codes] == [expected_state(v) for v in vehicles]
    assert [lf.state_name(f, row) for row in range(len(vehicles))] == [
        expected_state(v) for v in vehicles]


def decode(data: bytes, name: str, dtype: str) -> list[int]:
    return np.frombuffer(base64.b64decode(json.loads(data)[name]), dtype=dtype).tolist()


@settings(max_examples=60)
@given(st.data())
def test_frames_carry_exactly_what_changed(data: st.DataObject) -> None:
    sim = small_sim(12)
    framer = lf.Framer()
    frame, changed = framer.next(sim)
    assert changed and frame.changed is None  # the first frame is a new roster: all rows
    full = frame.full_json()
    assert decode(full, "lat", "<i4") == np.round(sim.fleet.lat * 1e6).astype(int).tolist()
    assert decode(full, "st", "u1") == lf.classify(sim.fleet).tolist()

    moved = data.draw(st.lists(st.integers(0, 11), unique=True))
    steps = data.draw(st.lists(st.floats(-0.01, 0.01).filter(lambda x: abs(x) > 2e-6),
                               min_size=len(moved), max_size=len(moved)))
    before = frame
    for row, step in zip(moved, steps, strict=True):
        sim.fleet.lon[row] += step
    frame, changed = framer.next(sim)
    assert changed == bool(moved)
    if not moved:
        assert frame is before  # nothing new: no new frame number
        return
    assert frame.number == before.number + 1
    delta = frame.delta_json()
    assert delta is not None
    assert decode(delta, "idx", "<u4") == sorted(moved)
    assert decode(delta, "lon", "<i4") == np.round(sim.fleet.lon[sorted(moved)] * 1e6).tolist()


@settings(max_examples=100)
@given(st.lists(st.tuples(st.floats(0, 86_400 * 3), st.sampled_from(["a 0", "b 1", "c 0"])),
                max_size=60))
def test_tallies_keep_only_their_window(adds: list[tuple[float, str]]) -> None:
    tally = lf.Tally(minutes=30)
    for t, key in adds:
        tally.add(t, key)
        assert len(tally.counts) <= 30
    if not adds:
        assert tally.series(0)["counts"] == [[]] * 30
        return
    newest = max(int(t // 60) for t, _ in adds)
    series = tally.series(newest * 60)
    assert len(series["counts"]) == 30 and series["start"] == (newest - 29) * 60
    # Everything inside the window is counted once; what left it never comes back.
    total = sum(sum(row) for row in series["counts"])
    assert total == sum(1 for t, _ in adds if int(t // 60) > newest - 30)


def read(hub: LiveHub, client: Client) -> dict[str, Any] | None:
    raw = hub.message_for(client)
    if raw is None:
        return None
    head, _, data = raw.decode().rstrip("\n").rpartition("data: ")
    assert head.startswith("id: ") and "\nevent: frame\n" in head
    message: dict[str, Any] = json.loads(data)
    message["_id"] = head.split("\n")[0][4:]
    return message


operations = st.lists(st.one_of(
    st.tuples(st.just("publish"), st.integers(1, 12)),
    st.tuples(st.just("build"), st.just(0)),
    st.tuples(st.just("read"), st.integers(0, 1)),
    st.tuples(st.just("move"), st.integers(0, 7)),
), max_size=40)


@settings(max_examples=80)
@given(operations)
def test_slow_pages_skip_frames_never_events(ops: list[tuple[str, int]]) -> None:
    """However a page reads, it gets every event once and in order, or is told how many it
    missed; it always ends with the newest fleet; memory stays within the ring."""
    sim = small_sim(8)
    hub = LiveHub(sim, ring_size=10)
    hub.pending = deque(maxlen=1000)  # hold every event until the next build: only the ring drops
    clients = [hub.connect(None), hub.connect(None)]
    start = hub.seq
    got: list[list[int]] = [[], []]
    gaps = [0, 0]

    def drain(i: int) -> dict[str, Any] | None:
        last = None
        while (msg := read(hub, clients[i])) is not None:
            got[i] += [e["seq"] for e in msg["events"]]
            gaps[i] += msg.get("gap", 0)
            last = msg
            if msg["events"]:
                assert msg["_id"] == f"{hub.stream}:{msg['events'][-1]['seq']}"
        return last

    t = sim.clock.now
    for op, arg in ops:
        if op == "publish":
            for _ in range(arg):
                sim.bus.publish(Event(t, 0, STATUS, {"reason": "test"}))
        elif op == "build":
            hub.build()
        elif op == "move":
            sim.fleet.lat[arg] += 0.001
        else:
            drain(arg)
        assert len(hub.ring) <= 10
    hub.build()
    for i in (0, 1):
        drain(i)
        seqs = got[i]
        assert seqs == sorted(set(seqs))  # in order, no duplicates
        assert len(seqs) + gaps[i] == hub.seq - start  # every event delivered or counted
        assert clients[i].frame == hub.frame.number if hub.frame else True
    assert len(hub.ring) <= 10


def test_a_page_behind_by_two_frames_gets_a_full_frame() -> None:
    sim = small_sim(8)
    hub = LiveHub(sim)
    client = hub.connect(None)
    first = read(hub, client)
    assert first is not None and first["fleet"]["full"]
    sim.fleet.lat[2] += 0.001
    hub.build()
    sim.fleet.lat[5] += 0.001
    hub.build()
    msg = read(hub, client)
    assert msg is not None and msg["fleet"]["full"] and "roster" not in msg
    sim.fleet.lat[6] += 0.001
    hub.build()
    msg = read(hub, client)
    assert msg is not None and not msg["fleet"]["full"]
    assert np.frombuffer(base64.b64decode(msg["fleet"]["idx"]), "<u4").tolist() == [6]
    assert read(hub, client) is None  # nothing new: nothing sent


def test_journal_records_become_events_and_tallies() -> None:
    sim = small_sim(4)
    hub = LiveHub(sim)
    client = hub.connect(None)
    read(hub, client)
    now_ms = sim.clock.now_ms
    sim.requests.add({"endpoint": "unlock", "iotCode": sim.fleet.imeis[1], "code": 15301,
                      "t": now_ms, "params": {"iotCode": "x"}})
    sim.pushes.add({"type": "status", "iotCode": sim.fleet.imeis[1], "outcome": "retry",
                    "t": now_ms, "attempt": 1})
    hub.build()
    msg = read(hub, client)
    assert msg is not None
    api, push = msg["events"]
    assert (api["kind"], api["code"], api["t"], "params" in api) == ("api", 15301,
                                                                     sim.clock.now, False)
    assert (push["kind"], push["outcome"]) == ("push", "retry")
    assert msg["stats"]["api"]["keys"] == ["unlock 15301"]
    assert msg["stats"]["api"]["counts"][-1] == [1]
    assert msg["stats"]["pushes"]["keys"] == ["status retry"]
    hub.build()
    assert read(hub, client) is None  # records are taken once


def test_an_idle_hub_stops_listening_and_forgets_its_stream() -> None:
    sim = small_sim(4)
    hub = LiveHub(sim)
    client = hub.connect(None)
    msg = read(hub, client)
    assert msg is not None
    old = msg["_id"]
    hub.disconnect(client)
    hub.deactivate()
    assert hub._on_event not in sim.bus.listeners
    sim.bus.publish(Event(sim.clock.now, 0, STATUS, {"reason": "unseen"}))
    again = hub.connect(old)
    assert again.resync  # the old id cannot be resumed: the page starts afresh
    assert hub._on_event in sim.bus.listeners
