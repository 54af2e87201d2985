"""Restart with --state-dir: kill -TERM and kill -KILL mid-ride and mid push retry, restart,
and get back vehicles, tokens, platforms, fault rules and the clock; the same future after a
restore; pending pushes delivered to a loopback receiver; a corrupt state file stops the start
with one Error line and is left untouched."""

from __future__ import annotations

import json
import signal
import time

import pytest
from conftest import IMEI, IMEI2, TOKEN, Server, call, expect, short, status_of, wait_for

START = 1767225600          # 2026-01-01: far from the wall clock, so a restored clock shows
NEW_PLATFORM = {"clientId": "U70001", "clientSecret": "restart-secret-1", "vehicles": 5}
RIDE_FIELDS = ("locked", "riding", "online", "charging", "mechLockOpen")


def vendor_token(port, client_id, secret) -> str:
    resp = call(port, "POST", "/oauth/token",
                body=f"client_id={client_id}&client_secret={secret}&grant_type=client_credentials",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect(resp.status == 200, f"token for {client_id} answered {resp!r}")
    return resp.json()["access_token"]


def unlock(port, imei, token=TOKEN) -> None:
    resp = call(port, "POST", "/api/v2/vehicle/control/unlock", body={"iotCode": imei},
                headers={"Authorization": f"bearer {token}"})
    expect((resp.json() or {}).get("code") == 0, f"unlock {imei} answered {resp!r}")


def advance(port, seconds) -> dict:
    resp = call(port, "POST", "/_sim/clock", body={"advance": seconds})
    expect(resp.status == 200, f"advancing the clock {seconds} s answered {resp!r}")
    return resp.json()


def settle(port) -> dict:
    resp = call(port, "POST", "/_sim/pushes/settle?timeout=10", timeout=20)
    expect(resp.status == 200, f"POST /_sim/pushes/settle answered {resp!r}")
    return resp.json()


def world(port) -> dict:
    """What must come back after a restart."""
    vehicles = call(port, "GET", "/_sim/vehicles?limit=1000").json()
    platforms = call(port, "GET", "/_sim/platforms").json()["items"]
    return {
        "imeis": [v["iotCode"] for v in vehicles["items"]],
        "total": vehicles["total"],
        "platforms": sorted(platforms, key=lambda p: p["clientId"]),
        "faults": call(port, "GET", "/_sim/faults").json()["items"],
        "clock": call(port, "GET", "/_sim/clock").json(),
    }


def ride_view(port, imei) -> dict:
    doc = call(port, "GET", f"/_sim/vehicles/{imei}").json()
    view = {k: doc.get(k) for k in RIDE_FIELDS}
    view.update(lat=doc["location"]["latitude"], lon=doc["location"]["longitude"],
                power=doc["status"]["powerPercent"], odometer=doc["status"]["odometer"])
    return view


def save(port) -> dict:
    resp = call(port, "POST", "/_sim/snapshot/save")
    expect(resp.status == 200, f"POST /_sim/snapshot/save answered {resp!r}")
    return resp.json()


def restart(serve, state_dir, *extra) -> Server:
    server = serve("--state-dir", str(state_dir), "--vehicles", "3", "--seed", "99", *extra)
    expect("restored from" in server.banner(), "the restarted server's banner does not say "
           f"'restored from DIR': {short(server.banner(), 200)}")
    return server


def build_world(server, receiver_url=None) -> dict:
    platform = dict(NEW_PLATFORM)
    if receiver_url:
        platform["callbackUrl"] = receiver_url
    created = call(server.port, "POST", "/_sim/platforms", body=platform)
    expect(created.status == 201, f"creating platform U70001 answered {created!r}")
    token = vendor_token(server.port, "U70001", "restart-secret-1")
    rule = call(server.port, "POST", "/_sim/faults",
                body={"code": 15303, "endpoint": "sound", "iotCode": IMEI2, "times": 5})
    expect(rule.status == 201, f"creating a fault rule answered {rule!r}")
    unlock(server.port, IMEI)
    if not ride_view(server.port, IMEI)["riding"]:      # with --riders on a rider sets off
        ride = call(server.port, "POST", f"/_sim/vehicles/{IMEI}/events",
                    body={"type": "ride", "seconds": 900})
        expect(ride.status == 200, f"the ride event answered {ride!r}")
    advance(server.port, 30)
    expect(ride_view(server.port, IMEI)["riding"] is True, "the vehicle is not riding mid-ride")
    u_imeis = [v["iotCode"] for v in call(server.port, "GET", "/_sim/vehicles?platformCode=U70001"
                                          ).json()["items"]]
    return {"token": token, "u_imei": u_imeis[0]}


def expect_same_world(before: dict, after: dict, how: str) -> None:
    expect(after["total"] == before["total"] and after["imeis"] == before["imeis"],
           f"after {how} the fleet is {after['total']} vehicles, expected {before['total']} "
           "with the same IMEIs")
    expect(after["platforms"] == before["platforms"],
           f"after {how} the platforms differ: {[p['clientId'] for p in after['platforms']]}")
    expect(after["faults"] == before["faults"],
           f"after {how} the fault rules differ: {short(json.dumps(after['faults']), 200)}")
    expect(after["clock"]["now"] == before["clock"]["now"],
           f"after {how} the clock is {after['clock']['now']}, expected {before['clock']['now']}")


# ------------------------------------------------------------------------------------------ tests


def test_save_without_state_dir_is_409(serve):
    server = serve("--paused", "--vehicles", "5")
    resp = call(server.port, "POST", "/_sim/snapshot/save")
    expect(resp.status == 409 and (resp.json() or {}).get("field") == "state-dir",
           f"POST /_sim/snapshot/save without --state-dir answered {resp!r}, expected 409 "
           "naming state-dir")


def test_save_route_writes_state_atomically(serve, tmp_path):
    state_dir = tmp_path / "not" / "yet"
    server = serve("--paused", "--vehicles", "12", "--state-dir", str(state_dir))
    answer = save(server.port)
    state = state_dir / "state.json"
    expect(state.exists(), f"POST /_sim/snapshot/save answered {answer} but {state} is missing")
    expect(answer.get("saved") == str(state) and answer.get("bytes") == state.stat().st_size
           and answer.get("vehicles") == 12 and "pushes" in answer,
           f"the save answer {answer} does not match the file ({state.stat().st_size} bytes)")
    expect(not (state_dir / "state.json.tmp").exists(), "DIR/state.json.tmp left behind")
    doc = json.loads(state.read_text())
    expect(doc.get("format") == "segway-sim/state" and doc.get("version") == 1
           and isinstance(doc.get("pushes"), list),
           f"state.json is not {{format: segway-sim/state, version: 1, snapshot, pushes}}: "
           f"{sorted(doc)}")
    live = call(server.port, "GET", "/_sim/snapshot").json()
    expect(doc["snapshot"] == live, "the saved snapshot differs from GET /_sim/snapshot")


def test_sigterm_mid_ride_restart_gives_everything_back(serve, tmp_path):
    state_dir = tmp_path / "state"
    server = serve("--paused", "--start", str(START), "--riders", "on", "--vehicles", "30",
                   "--state-dir", str(state_dir), "--save-every", "3600")
    made = build_world(server)
    before = world(server.port)
    riding = ride_view(server.port, IMEI)
    code, took = server.stop_within(signal.SIGTERM, 5.0)
    expect(code == 0, f"SIGTERM mid-ride: exit code {code} after {took:.1f} s, expected 0 "
           "within 5 s")
    again = restart(serve, state_dir)
    expect_same_world(before, world(again.port), "SIGTERM and a restart")
    expect(again.vehicles == before["total"], f"the restart banner says {again.vehicles} "
           f"vehicles, expected {before['total']} (--vehicles 3 must be ignored)")
    expect(ride_view(again.port, IMEI) == riding, "the vehicle mid-ride came back different: "
           f"{ride_view(again.port, IMEI)} vs {riding}")
    expect(status_of(again.port).get("code") == 0, "the demo token does not work after restart")
    doc = status_of(again.port, made["u_imei"], made["token"])
    expect(doc.get("code") == 0, f"U70001's token does not work after restart: code "
           f"{doc.get('code')}")
    sound = call(again.port, "POST", "/api/v2/vehicle/control/sound",
                 body={"iotCode": IMEI2, "controlType": 2},
                 headers={"Authorization": f"bearer {TOKEN}"}).json()
    expect(sound.get("code") == 15303, f"the fault rule did not fire after restart: {sound}")


def test_sigkill_mid_ride_restores_the_save_and_lives_the_same_future(serve, tmp_path):
    state_dir = tmp_path / "state"
    server = serve("--paused", "--start", str(START), "--riders", "on", "--vehicles", "30",
                   "--state-dir", str(state_dir), "--save-every", "3600")
    build_world(server)
    saved_world = world(server.port)
    save(server.port)
    advance(server.port, 450)
    expected_view = ride_view(server.port, IMEI)
    expected_fleet = call(server.port, "GET", "/_sim/snapshot").json()["fleet"]
    server.signal(signal.SIGKILL)
    server.wait_exit(10)
    again = restart(serve, state_dir)
    expect_same_world(saved_world, world(again.port), "SIGKILL and a restart")
    advance(again.port, 450)
    got = ride_view(again.port, IMEI)
    expect(got == expected_view, f"restore then advance 450 s differs from advance 450 s for the "
           f"riding vehicle: {got} vs {expected_view}")
    fleet = call(again.port, "GET", "/_sim/snapshot").json()["fleet"]
    differing = [name for name in expected_fleet["columns"]
                 if fleet["columns"].get(name) != expected_fleet["columns"][name]]
    expect(not differing, f"restore then advance differs from advance in fleet columns "
           f"{differing[:6]}")


def test_sigkill_loses_at_most_the_save_interval_and_clock_comes_back(serve, tmp_path):
    state_dir = tmp_path / "state"
    server = serve("--start", str(START), "--riders", "off", "--vehicles", "10",
                   "--state-dir", str(state_dir), "--save-every", "1")
    created = call(server.port, "POST", "/_sim/vehicles", body={"iotCode": "990000000007777"})
    expect(created.status == 201, f"creating a vehicle answered {created!r}")
    time.sleep(2.5)
    server.signal(signal.SIGKILL)
    server.wait_exit(10)
    again = restart(serve, state_dir)
    expect(call(again.port, "GET", "/_sim/vehicles/990000000007777").status == 200,
           "a vehicle created 2.5 s before SIGKILL with --save-every 1 is gone")
    now = call(again.port, "GET", "/_sim/clock").json()["now"]
    expect(START <= now <= START + 60, f"after restart the clock is {now}, expected it back "
           f"near {START} (+ a few seconds), not the wall time")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_kill_mid_push_retry_delivers_after_restart(serve, receiver, tmp_path, sig):
    rec = receiver("--fail-all")
    state_dir = tmp_path / "state"
    server = serve("--paused", "--riders", "off", "--vehicles", "10", "--callback", rec.url,
                   "--state-dir", str(state_dir), "--save-every",
                   "3600" if sig == signal.SIGTERM else "1")
    unlock(server.port, IMEI)
    settle(server.port)
    retry = call(server.port, "GET", "/_sim/pushes?outcome=retry").json()["items"]
    expect(retry, "the failing receiver did not cause a retry to wait for")
    signatures = {r["signature"] for r in retry}
    if sig == signal.SIGKILL:
        time.sleep(2.5)              # --save-every 1 has saved the waiting retry by now
    code, took = server.stop_within(sig, 5.0)
    expect(code == (0 if sig == signal.SIGTERM else -signal.SIGKILL),
           f"{sig.name} mid push retry: exit code {code} after {took:.1f} s")
    state = json.loads((state_dir / "state.json").read_text())
    expect(len(state.get("pushes", [])) >= len(signatures),
           f"state.json holds {len(state.get('pushes', []))} pending pushes, expected "
           f">= {len(signatures)}")
    rec.mode(fail_all=False)
    again = restart(serve, state_dir, "--callback", rec.url)
    advance(again.port, 10)
    settle(again.port)

    def delivered():
        got = {item["body"].rsplit("signature=", 1)[-1] for item in rec.received()["items"]
               if item["status"] == 200}
        return signatures <= got

    expect(wait_for(delivered, 5.0, 0.2), f"{len(signatures)} pushes waiting for their retry at "
           f"{sig.name} were not delivered after the restart")


def test_sigkill_with_push_in_flight_delivers_after_restart(serve, receiver, tmp_path):
    rec = receiver("--hang-rate", "1.0", "--hang-seconds", "60")
    state_dir = tmp_path / "state"
    server = serve("--paused", "--riders", "off", "--vehicles", "10", "--callback", rec.url,
                   "--state-dir", str(state_dir), "--save-every", "3600")
    unlock(server.port, IMEI)
    time.sleep(0.5)                  # the status push is now hanging at the receiver
    answer = save(server.port)
    expect(answer.get("pushes", 0) >= 1, f"a save with a push in flight reports {answer} pushes")
    server.signal(signal.SIGKILL)
    server.wait_exit(10)
    rec.mode(hang_rate=0.0, fail_all=False)
    again = restart(serve, state_dir, "--callback", rec.url)
    advance(again.port, 10)
    settle(again.port)

    def delivered():
        return any(item["status"] == 200 and item["path"].endswith("/v2/vehicle/status")
                   and f"iotCode={IMEI}" in item["body"] for item in rec.received()["items"])

    expect(wait_for(delivered, 5.0, 0.2), "the status push in flight at SIGKILL (saved) was not "
           "delivered after the restart")


GOOD_SNAPSHOT_HEAD = {"format": "segway-sim/state", "version": 1,
                      "snapshot": {"format": "segway-sim/snapshot", "version": 1, "seed": "x"},
                      "pushes": []}
CORRUPT = [
    ("not-json", b"{not json"),
    ("empty", b""),
    ("binary", bytes(range(256)) * 4),
    ("foreign-format", json.dumps({"format": "other/thing", "version": 1}).encode()),
    ("future-version", json.dumps({"format": "segway-sim/state", "version": 99,
                                   "snapshot": {}, "pushes": []}).encode()),
    ("bad-snapshot", json.dumps(GOOD_SNAPSHOT_HEAD).encode()),
    ("array", b"[1, 2, 3]"),
]


def test_state_dir_that_is_a_file_or_unreadable_state_is_one_error_line(tmp_path):
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("keep me")
    dir_state = tmp_path / "dir-state"
    (dir_state / "state.json").mkdir(parents=True)
    for state_dir, what in ((not_a_dir, "a --state-dir that is a file"),
                            (dir_state, "a state.json that is a directory")):
        server = Server("--state-dir", str(state_dir), "--vehicles", "5", wait=False)
        try:
            code = server.wait_exit(20)
            started = any("serving" in line for line in server.stdout)
        finally:
            server.close()
        lines = [line for line in server.stderr if line.strip()]
        expect(code is not None and not started, f"{what} did not stop the start")
        expect(code in (1, 2) and len(lines) == 1 and lines[0].startswith("Error:"),
               f"{what}: exit {code} with stderr {[line[:100] for line in lines[:3]]}, "
               "expected one 'Error:' line")
    expect(not_a_dir.read_text() == "keep me", "the --state-dir file was modified")
    expect((dir_state / "state.json").is_dir(), "the state.json directory was removed")


@pytest.mark.parametrize("name,content", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_state_file_stops_start_and_is_untouched(tmp_path, name, content):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    state = state_dir / "state.json"
    state.write_bytes(content)
    mtime = state.stat().st_mtime_ns
    server = Server("--state-dir", str(state_dir), "--vehicles", "5", wait=False)
    try:
        code = server.wait_exit(20)
        started = any("serving" in line for line in server.stdout)
    finally:
        server.close()
    lines = [line for line in server.stderr if line.strip()]
    expect(code is not None and not started, f"a {name} state.json did not stop the start")
    expect(code == 2, f"a {name} state.json: exit code {code}, expected 2")
    expect(len(lines) == 1 and lines[0].startswith("Error:") and "state.json" in lines[0],
           f"a {name} state.json: stderr is not one 'Error: DIR/state.json: ...' line: "
           f"{[line[:120] for line in lines[:3]]}")
    expect("move it away" in lines[0], f"the error does not say to move the file away: {lines[0]}")
    expect(state.read_bytes() == content and state.stat().st_mtime_ns == mtime,
           f"a {name} state.json was modified by the failed start")
    expect(sorted(p.name for p in state_dir.iterdir()) == ["state.json"],
           f"the failed start left files in DIR: {sorted(p.name for p in state_dir.iterdir())}")
