"""`serve --state-dir DIR`: the world and its undelivered pushes survive a restart.

Real `segway-sim serve` processes are stopped by SIGTERM or SIGKILL and started again on the
same directory: vehicles, tokens, platforms, fault rules and the clock come back, and the pushes
a failing receiver had refused are delivered to a real loopback receiver after the restart. Time
moves by the control plane's clock; only the periodic save is waited for in wall time (it is
wall time by nature). A state file the simulator cannot read stops the start on one line and
is left untouched.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from click.testing import CliRunner

from simulator import snapshot
from simulator.cli.main import main
from simulator.core.events import STATUS
from simulator.server.app import create_app
from simulator.server.state_dir import FILE, FORMAT, STATE_DIR, StateDir
from simulator.sim import DEMO_CLIENT_ID, DEMO_IMEIS, DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig
from tests.helpers.serve_process import QUIET, Hook, Served, hook, serving

AUTH = {"Authorization": f"bearer {DEMO_TOKEN}"}
NEW = "E0042"  # a platform the first run adds


async def make_history(server: Served, receiver: Hook) -> dict[str, Any]:
    """A platform with vehicles and a token of its own, a fault rule, an unlocked vehicle whose
    status pushes the receiver refused (their retries wait), and the clock moved."""
    await server.control("POST", "/_sim/clock", {"advance": 120})
    await server.control("POST", "/_sim/platforms",
                         {"clientId": NEW, "clientSecret": "s3cret", "vehicles": 4})
    async with server.session.post(server.url + "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": NEW,
            "client_secret": "s3cret"}) as resp:
        token = (await resp.json())["access_token"]
    await server.control("POST", "/_sim/faults", {"code": 15301, "iotCode": DEMO_IMEIS[1]})
    await server.control("POST", "/_sim/pushes/settle")  # what the advance pushed has arrived
    receiver.failing = 1000
    status, answer = await server.call("POST", "/api/v2/vehicle/control/unlock",
                                       {"iotCode": DEMO_IMEIS[0]}, AUTH)
    assert status == 200 and answer["code"] == 0, answer
    await server.control("POST", "/_sim/pushes/settle")
    refused = list(receiver.refused)
    assert refused, "the unlock pushed nothing"
    journal = await server.control("GET", "/_sim/pushes?outcome=retry")
    assert len(journal["items"]) == len(refused)
    return {"token": token, "refused": refused}


async def check_restored(server: Served, receiver: Hook, history: dict[str, Any]) -> None:
    """The platform's token, the fault rule and the unlocked vehicle answer as before, and the
    refused pushes arrive once their retry falls due on the restored clock."""
    assert any("restored from" in line for line in server.banner), server.banner
    snap = await server.control("GET", "/_sim/snapshot")
    new_rows = [i for i, p in enumerate(snap["fleet"]["columns"]["platform"]) if p == 1]
    imei = snap["fleet"]["imeis"][new_rows[0]]
    status, answer = await server.call(
        "GET", f"/api/v2/vehicle/query/current/status?iotCode={imei}",
        headers={"Authorization": f"bearer {history['token']}"})
    assert answer["code"] == 0, f"the token issued before the restart is refused: {answer}"
    status, answer = await server.call(
        "GET", f"/api/v2/vehicle/query/current/status?iotCode={DEMO_IMEIS[1]}", headers=AUTH)
    assert answer["code"] == 15301, f"the fault rule did not survive: {answer}"
    status, answer = await server.call(
        "GET", f"/api/v2/vehicle/query/current/status?iotCode={DEMO_IMEIS[0]}", headers=AUTH)
    assert answer["data"]["locked"] is False, "the unlocked vehicle is locked again"

    receiver.failing = 0
    await server.control("POST", "/_sim/clock", {"advance": 5})  # the retries fall due
    await receiver.wait_delivered(len(history["refused"]))
    await server.control("POST", "/_sim/pushes/settle")
    delivered = {p["signature"] for p in receiver.delivered}
    missing = [p for p in history["refused"] if p["signature"] not in delivered]
    assert not missing, f"pushes refused before the restart never arrived: {missing}"
    retried = await server.control("GET", "/_sim/pushes?attempt=2&outcome=delivered")
    assert len(retried["items"]) >= len(history["refused"]), retried


async def test_sigterm_then_restart_gives_back_the_world_and_delivers_the_pushes(
        tmp_path: Path) -> None:
    async with hook() as receiver:
        world = [*QUIET, "--state-dir", str(tmp_path), "--callback", receiver.url]
        async with serving(*world, "--vehicles", "8") as first:
            history = await make_history(first, receiver)
            before = await first.control("GET", "/_sim/snapshot")
            took, code, out, err = await first.stop(signal.SIGTERM)
        assert code == 0 and took < 5, f"SIGTERM: exit {code} after {took:.1f} s: {err}"
        assert "saved 12 vehicles" in out, out
        doc = json.loads((tmp_path / FILE).read_bytes())
        assert doc["format"] == FORMAT and doc["version"] == 1
        assert len(doc["pushes"]) == len(history["refused"])
        assert not (tmp_path / (FILE + ".tmp")).exists()

        # Other world options on the restart are ignored: the saved world is what serves.
        async with serving(*world, "--vehicles", "3", "--seed", "99") as second:
            assert await second.control("GET", "/_sim/snapshot") == before
            await check_restored(second, receiver, history)


async def test_sigkill_loses_only_what_came_after_the_last_save(tmp_path: Path) -> None:
    async with hook() as receiver:
        world = [*QUIET, "--state-dir", str(tmp_path), "--callback", receiver.url]
        async with serving(*world, "--save-every", "0") as first:
            history = await make_history(first, receiver)
            saved = await first.control("POST", "/_sim/snapshot/save")
            assert saved == {"saved": str(tmp_path / FILE), "vehicles": 24,
                             "pushes": len(history["refused"]),
                             "bytes": (tmp_path / FILE).stat().st_size}
            clock = await first.control("GET", "/_sim/clock")
            await first.control("POST", "/_sim/platforms", {"clientId": "U0099"})  # not saved
            _, code, _, _ = await first.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL
        async with serving(*world) as second:
            codes = [p["clientId"] for p in (await second.control("GET", "/_sim/platforms"))
                     ["items"]]
            assert codes == ["A20081", NEW], "the world after the last save came back"
            assert await second.control("GET", "/_sim/clock") == clock
            await check_restored(second, receiver, history)


async def test_a_push_in_flight_at_sigterm_is_delivered_after_the_restart(
        tmp_path: Path) -> None:
    async with hook() as receiver:
        world = [*QUIET, "--state-dir", str(tmp_path), "--callback", receiver.url]
        async with serving(*world) as first:
            receiver.hanging = True  # takes the push and never answers
            await first.call("POST", "/api/v2/vehicle/control/unlock",
                             {"iotCode": DEMO_IMEIS[0]}, AUTH)
            await receiver.wait_until(lambda: len(receiver.got) >= 1)
            took, code, _, err = await first.stop(signal.SIGTERM)
        assert code == 0 and took < 5, f"SIGTERM: exit {code} after {took:.1f} s: {err}"
        in_flight = receiver.got[0]
        receiver.hanging = False
        async with serving(*world):  # delivered at start: no clock needs to move
            await receiver.wait_until(lambda: in_flight["signature"] in
                                      [p["signature"] for p in receiver.delivered])


async def test_the_state_is_saved_every_save_every_seconds(tmp_path: Path) -> None:
    state = tmp_path / FILE
    async with serving(*QUIET, "--state-dir", str(tmp_path), "--save-every", "0.2") as first:
        assert any("every 0.2 s" in line for line in first.banner), first.banner
        await first.control("POST", "/_sim/platforms", {"clientId": "C0007"})
        # The save is wall-clock by nature: wait for the file to show the change (bounded).
        deadline = time.monotonic() + 10
        while b'"C0007"' not in (state.read_bytes() if state.exists() else b""):
            assert time.monotonic() < deadline, "no periodic save within 10 s"
            await asyncio.sleep(0.05)
        await first.stop(signal.SIGKILL)
    async with serving("--state-dir", str(tmp_path)) as second:
        platforms = await second.control("GET", "/_sim/platforms")
        assert "C0007" in [p["clientId"] for p in platforms["items"]]


def test_undelivered_pushes_travel_in_flight_queued_and_waiting(tmp_path: Path) -> None:
    def quiet(**config: Any) -> Config:
        return Config(paused=True, riders=False, physics=PhysicsConfig.quiet(), **config)

    sim = Simulator(quiet(seed=3, vehicles=6, callback_url="http://127.0.0.1:9/hook"))
    sim.push_chaos.add(action="delay", iotCode=DEMO_IMEIS[2], delaySeconds=30)
    for imei in DEMO_IMEIS:
        sim.outbox.push(STATUS, sim.fleet.index[imei], sim.clock.now)
    in_flight = sim.outbox.take(DEMO_CLIENT_ID)  # as a dispatcher posting it would
    assert in_flight is not None
    queued = sim.outbox.queues[DEMO_CLIENT_ID][0]
    [(delayed, due)] = sim.outbox.waiting.items()
    StateDir(tmp_path).save(sim)

    again = Simulator(quiet(seed=9, vehicles=3))
    assert StateDir(tmp_path).load(again)
    out = again.outbox
    assert [(p.id, p.body, p.attempt) for p in out.queues[DEMO_CLIENT_ID]] == [
        (in_flight.id, in_flight.body, 1), (queued.id, queued.body, 1)]
    assert [(p.body, t) for p, t in out.waiting.items()] == [(delayed.body, due)]
    again.advance(30)
    assert out.queues[DEMO_CLIENT_ID][-1].body == delayed.body and not out.waiting
    out.push(STATUS, 0, again.clock.now)
    assert out.queues[DEMO_CLIENT_ID][-1].id > delayed.id  # new pushes are numbered after


# -- files that do not read -------------------------------------------------------------------

def valid_state() -> dict[str, Any]:
    sim = Simulator(Config(vehicles=4, paused=True))
    return {"format": FORMAT, "version": 1, "snapshot": snapshot.dump(sim), "pushes": []}


def _with(path: str, value: Any) -> bytes:
    doc = valid_state()
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    node[last] = value
    return json.dumps(doc).encode()


BAD_FILES = {
    "not JSON": (b'{"format": "segway-sim/state", ', "not JSON"),
    "empty": (b"", "not JSON"),
    "foreign": (json.dumps({"format": "something/else", "version": 1}).encode(),
                'not a segway-sim state file (no "format": "segway-sim/state")'),
    "a list": (b"[1, 2]", "not a segway-sim state file"),
    "newer": (_with("version", 2), "version 2 is not one this simulator reads (1)"),
    "bad snapshot": (_with("snapshot.clock", "noon"), "snapshot.clock: must be an object"),
    "no snapshot": (_with("snapshot", None), "snapshot: must be an object"),
    "bad pushes": (_with("pushes", {"a": 1}), "pushes: must be a list"),
    "bad push": (_with("pushes", [{"pushId": 1, "type": "weather"}]),
                 "pushes[0].type: must be one of status, location, alert, fault, components"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_state_file_that_does_not_read_stops_the_start_and_stays(tmp_path: Path,
                                                                   case: str) -> None:
    content, why = BAD_FILES[case]
    state = tmp_path / FILE
    state.write_bytes(content)
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: {state}: ") and why in lines[0], lines[0]
    assert lines[0].endswith("(move it away to start fresh)"), lines[0]
    assert state.read_bytes() == content, "the state file was changed"


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--state-dir", str(blocker)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "taken" in result.stderr, result.stderr


def test_save_every_needs_a_state_dir() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--save-every", "5"])
    assert result.exit_code == 2
    assert "'--save-every': needs --state-dir" in result.stderr, result.stderr


# -- POST /_sim/snapshot/save in-process ------------------------------------------------------

async def test_save_without_a_state_dir_is_a_conflict(client: TestClient) -> None:
    resp = await client.post("/_sim/snapshot/save")
    assert resp.status == 409
    assert (await resp.json())["field"] == "state-dir"


async def test_save_writes_what_a_fresh_simulator_loads(tmp_path: Path, sim: Simulator) -> None:
    app = create_app(sim, pace=False)
    state = StateDir(tmp_path / "new" / "dir")
    state.prepare()  # created when missing
    app[STATE_DIR] = state
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        sim.advance(30)
        resp = await client.post("/_sim/snapshot/save", json={})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["vehicles"] == len(sim.fleet)
        again = Simulator(Config(vehicles=3, seed=5))
        assert state.load(again)
        assert snapshot.dump(again) == snapshot.dump(sim)

        (tmp_path / "new" / "dir" / FILE).unlink()
        (tmp_path / "new" / "dir" / FILE).mkdir()  # the rename cannot replace a directory
        resp = await client.post("/_sim/snapshot/save")
        assert resp.status == 503
        assert (await resp.json())["field"] == "state-dir"
