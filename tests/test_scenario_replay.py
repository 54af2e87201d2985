"""Record and replay: a run's event log reproduces the same pushes, byte for byte."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from simulator.scenarios import get
from simulator.scenarios.model import plan
from simulator.scenarios.receiver import Receiver
from simulator.scenarios.record import FORMAT, LogError, read
from simulator.server.runner import start
from simulator.server.scenario_session import play, replay
from simulator.sim import Config, Simulator

# theft: queries, events, carrying off; rush-hour (small): rentals, rides, an injected fault
STORIES = [("theft", None), ("rush-hour", 24), ("fall-and-fault", 6)]


def push_bodies(path: Path) -> list[bytes]:
    return [line["body"].encode() for line in read(path).pushes]


@pytest.mark.parametrize(("name", "vehicles"), STORIES[::2])  # rush-hour: the replay below
async def test_two_runs_of_a_seed_write_the_same_log_byte_for_byte(
        tmp_path: Path, name: str, vehicles: int | None) -> None:
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    a = await play(plan(get(name), vehicles=vehicles), record=first)
    b = await play(plan(get(name), vehicles=vehicles), record=second)
    assert a.ok and b.ok
    assert first.read_bytes() == second.read_bytes()
    assert len(read(first).pushes) == a.counters["pushes"] > 0


@pytest.mark.parametrize(("name", "vehicles"), STORIES)
async def test_a_replay_makes_the_recorded_pushes_byte_for_byte(
        tmp_path: Path, name: str, vehicles: int | None) -> None:
    log = tmp_path / "run.jsonl"
    recording = Receiver(keep=True)
    await recording.start()
    try:
        result = await play(plan(get(name), vehicles=vehicles), record=log, receiver=recording)
    finally:
        await recording.stop()
    recorded = push_bodies(log)
    # The log holds what went over the wire: the receiver got exactly those bodies.
    assert Counter(recording.bodies) == Counter(recorded)
    assert result.counters["pushes"] == len(recorded)

    replaying = Receiver(keep=True)
    await replaying.start()
    try:
        replayed = await replay(log, receiver=replaying)
    finally:
        await replaying.stop()
    assert replayed.ok, replayed.differences
    assert [p["body"].encode() for p in replayed.pushes] == recorded
    assert Counter(replaying.bodies) == Counter(recorded)


async def test_a_replay_that_comes_out_otherwise_says_where(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    await play(plan(get("theft")), record=log)
    lines = log.read_bytes().splitlines()
    n = next(i for i, raw in enumerate(lines) if b'"push":' in raw and b'"alert"' in raw)
    changed = orjson.loads(lines[n])
    changed["body"] = changed["body"].replace("alertStatus=0", "alertStatus=1")
    lines[n] = orjson.dumps(changed)
    log.write_bytes(b"\n".join(lines) + b"\n")
    replayed = await replay(log)
    assert not replayed.ok
    assert len(replayed.differences) == 1
    assert replayed.differences[0].startswith(f"push {changed['push']}: recorded alert")


async def test_another_seed_is_another_story(tmp_path: Path) -> None:
    one, two = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    await play(plan(get("theft"), seed=1), record=one)
    await play(plan(get("theft"), seed=2), record=two)
    assert push_bodies(one) != push_bodies(two)
    header = read(one).header
    assert header["format"] == FORMAT and header["seed"] == 1 and header["target"] == "in-process"


async def test_only_an_in_process_log_replays(tmp_path: Path) -> None:
    sim = Simulator(Config(seed=2, vehicles=3, paused=True, riders=False))
    running = await start(sim, pace=False)
    log = tmp_path / "remote.jsonl"
    try:
        await play(plan(get("firmware-rollout"), vehicles=4), base_url=running.url, record=log)
    finally:
        await running.stop()
    assert read(log).header["target"] == "remote" and read(log).summary is not None
    with pytest.raises(LogError, match="only an in-process run"):
        await replay(log)


@pytest.mark.parametrize("content", [b"", b"not json\n", b'{"format": "other"}\n',
                                     b'{"format": "segway-sim/scenario-log", "version": 9}\n'])
async def test_what_is_not_a_log_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(LogError):
        await replay(path)
