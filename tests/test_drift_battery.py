"""The held-out drift battery (benchmarks/drift_battery.py) is honest: its proxy really applies
each mutation and nothing else, its push mutations really change the pushes (and are signed as
a drifted cloud would sign them), a catch needs the run to fail naming the operation and the
field, and the clean runs pass. The figures themselves: `python benchmarks/drift_battery.py
--check` (about 5 minutes on 2 cores)."""

from __future__ import annotations

import importlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from simulator.push.signing import verify_signature
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_IMEIS, Config
from simulator.testing.plugin import ServerThread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
battery = importlib.import_module("drift_battery")
rest = importlib.import_module("drift.rest")
push = importlib.import_module("drift.push")
proxy_module = importlib.import_module("drift.proxy")

TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"  # the demo platform's pre-issued token
ALL_REST = [*rest.MUTATIONS, rest.ADDED_FIELD]
JSON = {"Content-Type": "application/json"}  # what the control plane takes a body as


@pytest.fixture(scope="module")
def mock() -> Iterator[ServerThread]:
    """A paused mock: the same requests after a reset get the same answers."""
    server = ServerThread(Config(seed=1, vehicles=20, riders=False, paused=True)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clean_capture() -> list[str]:
    lines: list[str] = battery.capture(Config(seed=1, vehicles=20, riders=False))
    return lines


def send(url: str, method: str, path: str, headers: dict[str, str], body: bytes,
         ) -> tuple[int, str, Any]:
    request = urllib.request.Request(url + path, data=body or None, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request) as answer:
            status, content_type, raw = answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as error:
        status, content_type, raw = error.code, error.headers["Content-Type"], error.read()
    try:
        parsed = json.loads(raw)
    except ValueError:
        return status, content_type, raw
    if isinstance(parsed, dict):  # envelope ids are fresh UUIDs on every answer
        parsed = {k: "<id>" if k in ("opId", "resId") else v for k, v in parsed.items()}
    return status, content_type, json.dumps(parsed)  # as text: 1 is not true


def observe(mock: ServerThread, probe: Any, mutation: Any) -> tuple[Any, ...]:
    """A probe's last answer through a proxy playing `mutation` (None: no mutation), the test
    vehicle after it, and how many answers the proxy changed."""
    send(mock.url, "POST", "/_sim/reset", JSON, b"{}")
    proxy = proxy_module.Proxy(mock.url, mutation, vehicles=frozenset(DEMO_IMEIS))
    runner = web.AppRunner(proxy.app(), access_log=None, handle_signals=False)
    mock.submit(runner.setup()).result(10)
    mock.submit(web.TCPSite(runner, "127.0.0.1", 0).start()).result(10)
    host, port = runner.addresses[0][:2]
    try:
        for method, path, headers, body in probe.requests(
                battery.path_of(probe.endpoint), DEMO_IMEIS[0], DEMO_CLIENT_ID,
                DEMO_CLIENT_SECRET, TOKEN):
            answer = send(f"http://{host}:{port}", method, path, headers, body)
    finally:
        mock.submit(runner.cleanup()).result(10)
    assert proxy.broken == []
    _, _, text = send(mock.url, "GET", f"/_sim/vehicles/{DEMO_IMEIS[0]}", {}, b"")
    state = json.loads(text)
    return answer, state["locked"], state["settings"]["speedMode"], proxy.applied


@pytest.mark.parametrize("mutation", ALL_REST, ids=lambda m: m.name)
def test_each_rest_mutation_changes_what_the_client_sees(mock: ServerThread,
                                                         mutation: Any) -> None:
    *plain, applied = observe(mock, mutation.probe, None)
    *drifted, drifted_applied = observe(mock, mutation.probe, mutation)
    assert applied == 0 and drifted_applied >= 1
    assert drifted != plain


def test_the_unmutated_proxy_and_the_control_plane_answer_as_the_mock(mock: ServerThread,
                                                                      ) -> None:
    for mutation in (None, rest.UNCHANGED, rest.MUTATIONS[0]):
        send(mock.url, "POST", "/_sim/reset", JSON, b"{}")
        direct = send(mock.url, "GET", f"/_sim/vehicles/{DEMO_IMEIS[0]}", {}, b"")
        proxy = proxy_module.Proxy(mock.url, mutation)
        runner = web.AppRunner(proxy.app(), access_log=None, handle_signals=False)
        mock.submit(runner.setup()).result(10)
        mock.submit(web.TCPSite(runner, "127.0.0.1", 0).start()).result(10)
        host, port = runner.addresses[0][:2]
        try:
            through = send(f"http://{host}:{port}", "GET", f"/_sim/vehicles/{DEMO_IMEIS[0]}",
                           {}, b"")
        finally:
            mock.submit(runner.cleanup()).result(10)
        assert through == direct and proxy.applied == 0
    for probe in {repr(m.probe): m.probe for m in ALL_REST}.values():
        assert observe(mock, probe, None) == observe(mock, probe, rest.UNCHANGED)


def test_the_clean_capture_holds_every_push_type_signed_by_the_reference(
        clean_capture: list[str]) -> None:
    pushes = [push.Push.read(line) for line in clean_capture]
    assert {p.type for p in pushes} == {"status", "location", "alert", "fault", "components"}
    for p, line in zip(pushes, clean_capture, strict=True):
        body = json.loads(line)["body"]
        assert p.content_type == push.FORM
        assert verify_signature(body, DEMO_CLIENT_SECRET)  # the simulator's own checker
        assert dict(p.fields)["signature"] == push.signature(p.fields, DEMO_CLIENT_SECRET)


@pytest.mark.parametrize("mutation", push.MUTATIONS, ids=lambda m: m.name)
def test_each_push_mutation_changes_its_pushes_only(clean_capture: list[str],
                                                    mutation: Any) -> None:
    mutated = push.mutate(clean_capture, mutation, DEMO_CLIENT_SECRET)
    assert len(mutated) == len(clean_capture)
    for before, after in zip(clean_capture, mutated, strict=True):
        of_type = push.Push.read(before).type == mutation.type
        assert (before != after) == of_type, (before, after)
        record = json.loads(after)
        assert set(record) == {"path", "headers", "body"}
        if of_type and mutation.field not in ("signature", "Content-Type"):
            # A drifted release still signs what it sends: only the drift itself differs.
            assert verify_signature(record["body"], DEMO_CLIENT_SECRET)
        if of_type and mutation.field == "signature":  # as a strict receiver checks it
            fields = push.parse(record["body"])
            assert dict(fields).get("signature") != push.signature(fields, DEMO_CLIENT_SECRET)


def test_the_battery_is_a_single_change_per_mutation_with_unique_names() -> None:
    names = [m.name for m in [*rest.MUTATIONS, *push.MUTATIONS]]
    assert len(names) == len(set(names))
    read_only = [m for m in rest.MUTATIONS if m.mode == "read-only"]
    assert 25 <= len(read_only) <= 35 and 10 <= len(push.MUTATIONS) <= 15
    assert {m.type for m in push.MUTATIONS} == {"status", "location", "alert", "fault",
                                                "components"}


def test_a_catch_needs_a_failure_naming_the_operation_and_the_field() -> None:
    assert battery.mentions("sound code: expected 15004, got 0", ["sound"])
    assert not battery.mentions("setting/sound code: expected 15004", ["sound"])
    assert not battery.mentions("bluetooth-key data.bluetoothKey absent", ["key"])
    assert not battery.mentions("status data.iotCode: expected 'string'", ["code"])

    def judged(exit_code: int, failures: list[str], applied: int = 1) -> str:
        case = battery.Case("m", "rest", "sound", "controlType", "", ["sound"],
                            ["controlType"], applied=applied, exit_code=exit_code,
                            failures=failures)
        battery.judge(case)
        return str(case.result)

    assert judged(1, ["t::x[sound] sound controlType: expected 15004"]) == "caught"
    assert judged(1, ["t::x[sound] sound code: expected 15004, got 0"]) == "not named"
    assert judged(1, ["t::x[setting/sound] controlType"]) == "not named"
    assert judged(1, ["t::x[setting/sound] sound controlType"]) == "caught"
    assert judged(0, []) == "missed"
    assert judged(1, ["t::x[sound] sound controlType"], applied=0) == "not applied"
    assert judged(4, ["t::x[sound] sound controlType"]) == "error"


def test_a_sample_run_catches_and_raises_no_false_alarm() -> None:
    sample = ["unmutated", "status-adds-batteryTemp", "clean-capture", "status-msg-lowercase",
              "push-components-as-json"]
    done, figures = battery.run(sample, jobs=2)
    results = {c.name: c.result for c in done}
    assert results == {"unmutated": "pass", "status-adds-batteryTemp": "pass",
                       "clean-capture": "pass", "status-msg-lowercase": "caught",
                       "push-components-as-json": "caught"}, [(c.name, c.evidence) for c in done]
    assert figures["rest"] == {"caught": 1, "total": 1, "share": 1.0, "not_named": 0}
    assert figures["false_alarms"] == []
    assert battery.passes_check(figures)
