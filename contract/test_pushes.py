"""Pushes, checked against the push contract (pushes.py) where a partner's receiver gets them.

On the mock the suite is the receiver: it points the platform's callback at a loopback server of
its own, makes every push type happen through the control plane, and checks each push as it
arrived (path, Content-Type, fields, encodings, signature), the interval setting's cadence and the
one retry. A real cloud's pushes cannot be triggered: `--push-capture FILE` checks the pushes a
partner's receiver recorded (`segway-sim listen --capture FILE`), one test per push.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from simulator.contract import checks
from simulator.contract.drift import Drift, DriftError
from simulator.contract.pushes import Captured, check_push, read_capture
from simulator.contract.stash import PROFILE
from simulator.contract.surface import BY_NAME
from simulator.contract.target import Target

ARRIVAL_TIMEOUT_S = 10.0  # wall seconds for a push to arrive once the simulator has sent it
OK = json.dumps({"message": "success", "code": 0}).encode()  # the reference's answer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def kind(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def form(self) -> dict[str, str]:
        return dict(p.split("=", 1) for p in self.body.decode().split("&") if "=" in p)


class Receiver:
    """A partner's push endpoint on loopback (standard library only): keeps what arrives at the
    current test's callback URL, and refuses (HTTP 500) the next `refuse` pushes."""

    def __init__(self) -> None:
        self.got: list[Received] = []
        self.refuse = 0
        self.test = 0  # a callback path per test: a late push of the test before is not kept
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    refused = receiver.refuse > 0
                    receiver.refuse -= refused
                status = 500 if refused else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(OK)))
                self.end_headers()
                self.wfile.write(OK)
                with receiver.changed:
                    if self.path.startswith(receiver.prefix + "/"):
                        receiver.got.append(Received(self.path, dict(self.headers), body))
                        receiver.changed.notify_all()

            def log_message(self, *_: Any) -> None:  # a quiet receiver
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def prefix(self) -> str:
        return f"/partner/{self.test}"  # a callback URL with a path of its own

    def begin(self) -> str:
        """A new test: nothing received, nothing to refuse; the callback URL to give."""
        with self.changed:
            self.test += 1
            self.got.clear()
            self.refuse = 0
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    def wait(self, kind: str, iot_code: str, count: int) -> list[Received]:
        """Block until `count` pushes of `kind` from the vehicle have arrived (arrival order)."""
        def mine() -> list[Received]:
            return [r for r in self.got
                    if r.kind == kind and r.form.get("iotCode") == iot_code]

        with self.changed:
            arrived = self.changed.wait_for(lambda: len(mine()) >= count, ARRIVAL_TIMEOUT_S)
            got = mine()
        assert arrived, f"{len(got)} {kind} pushes of {iot_code} arrived, expected {count}"
        return got

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(target: Target, _receiver: Receiver) -> Iterator[Receiver]:
    """The platform pushes to the suite's receiver for this test (then to where it did before)."""
    platforms = target.control("GET", "/_sim/platforms")["items"]
    before = next(p["callbackUrl"] for p in platforms if p["clientId"] == target.client_id)
    url = _receiver.begin()
    target.control("PATCH", f"/_sim/platforms/{target.client_id}", {"callbackUrl": url})
    yield _receiver
    target.control("PATCH", f"/_sim/platforms/{target.client_id}", {"callbackUrl": before})


def settle(target: Target) -> None:
    """Every push already due has been attempted (a refused one has its retry scheduled)."""
    target.control("POST", "/_sim/pushes/settle")


def advance(target: Target, seconds: float) -> None:
    """Live through `seconds`: pushes due are attempted first, so a refused one is retried at its
    right virtual time, and the ones falling due meanwhile before this returns."""
    settle(target)
    target.control("POST", "/_sim/clock", {"advance": seconds})
    settle(target)


def vehicle(target: Target, change: dict[str, Any] | None = None, **event: Any) -> None:
    """Set the test vehicle's state (PATCH), or make something happen to it (an event)."""
    if change is not None:
        target.control("PATCH", f"/_sim/vehicles/{target.iot_code}", change)
    else:
        target.control("POST", f"/_sim/vehicles/{target.iot_code}/events", event)


def no_drift(received: list[Received], target: Target) -> None:
    """Every push as the reference has it, or one failure line per difference."""
    secrets = {target.client_id: target.client_secret}
    drift: list[Drift] = []
    for push in received:
        drift += check_push(push.path, push.headers, push.body, secrets)
    if drift:
        raise DriftError(drift)


def unlock(target: Target) -> None:
    vehicle(target, {"locked": False})


def unlocked_for_10_s(target: Target) -> None:
    unlock(target)
    advance(target, 10)  # an unlocked vehicle reports its location every 10 s


def alert_comes_and_goes(target: Target) -> None:
    vehicle(target, type="alert", code=4)
    vehicle(target, type="alert-cleared", code=4)  # a fall clears as 2


def fault_comes_and_goes(target: Target) -> None:
    vehicle(target, type="fault", code="E3")
    vehicle(target, type="fault-cleared", code="E3")


def ridden_and_locked(target: Target) -> None:
    unlock(target)
    vehicle(target, type="rider-lock")  # status, then components (type 5, status 2)


# What makes each push happen, and how many of that type it makes.
TRIGGERS: dict[str, tuple[Callable[[Target], None], int]] = {
    "status": (unlock, 1), "location": (unlocked_for_10_s, 1), "alert": (alert_comes_and_goes, 2),
    "fault": (fault_comes_and_goes, 2), "components": (ridden_and_locked, 1),
}


@pytest.mark.mock_only
@pytest.mark.parametrize("push", [f"push:{kind}" for kind in TRIGGERS])
def test_the_mocks_pushes_meet_the_push_contract(target: Target, receiver: Receiver,
                                                 push: str) -> None:
    kind = push.removeprefix("push:")
    trigger, count = TRIGGERS[kind]
    trigger(target)
    pushed = receiver.wait(kind, target.iot_code, count)
    no_drift(receiver.got, target)  # these, and whatever else the fleet pushed meanwhile
    if kind in ("alert", "fault"):  # appearing and disappearing (delivered concurrently)
        assert sorted(p.form[f"{kind}Status"] for p in pushed) == ["0", "1"], pushed


@pytest.mark.mock_only
@pytest.mark.about("push:status")
@pytest.mark.model("a200")  # the upload interval setting is the A200's
def test_the_interval_setting_sets_the_cadence(target: Target, receiver: Receiver) -> None:
    """A locked vehicle reports no status by default; with statusInterval.lockStatus = 20 it
    reports every 20 s of virtual time, and its location every 30 s instead of 900."""
    setting = BY_NAME["setting/interval"]
    advance(target, 60)
    set_at = int(target.control("GET", "/_sim/clock")["now"])
    body = {"iotCode": target.iot_code,
            "locationInterval": {"unlockStatus": 10, "lockStatus": 30},
            "statusInterval": {"ridingStatus": 10, "nonRiding": 60, "lockStatus": 20}}
    checks.success(target.post(setting.path, body), setting)
    advance(target, 110)
    statuses = receiver.wait("status", target.iot_code, 5)
    times = sorted(int(p.form["statusUtcTime"]) for p in statuses)  # arrival order is not theirs
    assert times == list(range(times[0], times[0] + 100, 20)), times
    assert set_at < times[0] <= set_at + 20, (set_at, times)
    receiver.wait("location", target.iot_code, 3)  # at most 1 in 110 s at the default 900 s
    no_drift(receiver.got, target)


@pytest.mark.mock_only
@pytest.mark.about("push:status")
def test_a_refused_push_comes_again_once_5_s_later(target: Target, receiver: Receiver) -> None:
    receiver.refuse = 1
    unlock(target)
    [first] = receiver.wait("status", target.iot_code, 1)
    settle(target)  # the refusal is on record: the retry is due 5 s from its answer
    attempts = pushes_journal(target, type="status", outcome="retry")
    advance(target, 4)  # the retry must not come early ...
    advance(target, 1)  # ... and comes now
    _, second = receiver.wait("status", target.iot_code, 2)
    assert second.body == first.body and second.path == first.path  # same form and signature
    attempts = [a for a in pushes_journal(target, type="status")
                if a["pushId"] == attempts[0]["pushId"]]
    assert [(a["attempt"], a["httpStatus"]) for a in attempts] == [(1, 500), (2, 200)]
    assert attempts[1]["t"] - attempts[0]["t"] == 5000, attempts
    no_drift(receiver.got, target)


def pushes_journal(target: Target, **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = target.control("GET", "/_sim/pushes", **filters)["items"]
    return items


# -- pushes a partner's receiver captured (--push-capture FILE) ---------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per captured push. Without --push-capture the test stays unparametrised and the
    conftest leaves it out, saying so (the file was read and checked when the run began)."""
    option = metafunc.config.getoption("--push-capture")
    if "captured" not in metafunc.fixturenames or not option:
        return
    captured = read_capture(Path(option))
    metafunc.parametrize("captured", [  # about: --uses leaves out the pushes code does not use
        pytest.param(c, id=c.id, marks=pytest.mark.about(f"push:{c.kind}")) for c in captured])


@pytest.mark.unvalidated
def test_a_captured_push(request: pytest.FixtureRequest, captured: Captured) -> None:
    profile = request.config.stash[PROFILE]
    drift = check_push(captured.path, captured.headers, captured.body,
                       {profile["client_id"]: profile["client_secret"]})
    if drift:
        raise DriftError(drift)
