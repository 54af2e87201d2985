"""The contract suite (contract/, installed as simulator.contract), run as partners run it:
`segway-sim contract` in a fresh process, against the mock and against a pretend live target."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.cli.contract import suite_dir
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_IMEIS, Config
from simulator.testing.plugin import ServerThread, http_json
from simulator.world.physics import PhysicsConfig

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"unlock", "battery-cover", "sound", "mech-lock", "anti-theft", "ambient",
            "wireless-charging", "whole-shutdown", "setting/switch", "setting/ambient",
            "setting/sound", "setting/speed-mode", "setting/bluetooth-key", "setting/interval"}
VEHICLE = DEMO_IMEIS[0]


def contract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from simulator.cli.main import main; main()", "contract", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300)


def junit(path: Path) -> dict[str, int]:
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    return {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}


@pytest.fixture
def pretend_live() -> Iterator[ServerThread]:
    """A simulator standing in for the real cloud (the suite is told to treat it as live): its
    clock runs in wall time, as the cloud's does, over a fleet where nothing happens by chance."""
    server = ServerThread(Config(seed=1, vehicles=20, paused=False, riders=False,
                                 physics=PhysicsConfig.parse("quiet")), pace=True).start()
    yield server
    server.stop()


def live_args(server: ServerThread, *more: str) -> list[str]:
    return ["--base-url", server.url, "--assume-live", "--client-id", DEMO_CLIENT_ID,
            "--client-secret", DEMO_CLIENT_SECRET, "--iot-code", VEHICLE, *more]


def vehicle(server: ServerThread) -> dict[str, Any]:
    status, state = http_json("GET", f"{server.url}/_sim/vehicles/{VEHICLE}")
    assert status == 200
    return {k: v for k, v in state.items() if k not in ("lastActive", "columns")}


def journal(server: ServerThread) -> list[dict[str, Any]]:
    status, page = http_json("GET", f"{server.url}/_sim/requests?limit=100000")
    assert status == 200
    return list(page["items"])


def test_the_suite_passes_against_the_mock_with_junit_and_a_summary(tmp_path: Path) -> None:
    report = tmp_path / "contract.xml"
    run = contract("--junit-xml", str(report), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    counts = junit(report)
    assert counts["tests"] > 400 and counts["failures"] == counts["errors"] == 0
    assert counts["skipped"] == 0
    assert "Segway contract: in-process simulator" in run.stdout
    # Known, documented drift from the reference's examples is reported field by field.
    assert "data.remainderRange" in run.stdout and "data.gpsUtcTime" in run.stdout
    assert run.stdout.count("data.gpsUtcTime") == 1  # once: the summary's table, not pytest's too
    assert "\nunvalidated: written from the reference; not yet checked against the real cloud" \
        in run.stdout
    assert not (tmp_path / ".pytest_cache").exists()


def test_against_a_live_target_it_reads_only(tmp_path: Path, pretend_live: ServerThread) -> None:
    before = vehicle(pretend_live)
    run = contract(*live_args(pretend_live), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "needs --allow-control" in run.stdout and "mock_only: live target" in run.stdout
    calls = journal(pretend_live)
    assert {c["endpoint"] for c in calls} >= {"token", "status", "location", "battery-info",
                                              "bluetooth-key"}
    # Commands named the test vehicle only without a valid token; the rest went to nobody's
    # IMEI or to none: nothing could move, and every command's error envelope was still seen.
    named = [c for c in calls if c["endpoint"] in COMMANDS and c.get("iotCode") == VEHICLE]
    assert {c["code"] for c in named} <= {15101}
    assert {c["endpoint"] for c in calls if c.get("code") == 15102} >= COMMANDS
    assert not any(c["path"].startswith("/_sim") for c in calls)
    assert vehicle(pretend_live) == before


def test_settings_are_restored_and_irreversible_commands_never_run(
        tmp_path: Path, pretend_live: ServerThread) -> None:
    before = vehicle(pretend_live)
    recordings = tmp_path / "recordings"
    run = contract(*live_args(pretend_live, "--allow-control", "--allow-settings", "--record",
                              "--recordings", str(recordings)), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    calls = journal(pretend_live)
    assert any(c["endpoint"] == "unlock" and c["code"] == 0 for c in calls)
    assert not any(c["endpoint"] == "whole-shutdown" and c["code"] == 0 for c in calls)
    after = vehicle(pretend_live)
    assert after["settings"]["speedMode"] == before["settings"]["speedMode"]
    assert after["settings"]["bluetoothKey"] == before["settings"]["bluetoothKey"]
    assert after["settings"]["switch"] == before["settings"]["switch"]  # only refused requests
    (recorded,) = recordings.glob("*.json")
    doc = json.loads(recorded.read_text())
    assert doc["source"] == pretend_live.url and len(doc["recorded"]) == 10
    assert {"token", "status", "unlock", "setting/speed-mode"} <= set(doc["situations"])
    assert doc["situations"]["token"]["body"]["access_token"] == "<uuid>"  # never a credential


def test_the_mock_reports_drift_from_newer_recordings_field_by_field(tmp_path: Path) -> None:
    reference = json.loads((suite_dir() / "recordings" / "2020-06-28-reference.json").read_text())
    status = json.loads(json.dumps(reference["situations"]["status"]))
    data = status["body"]["data"]
    data["remainingRange"] = data.pop("remainderRange")  # what the real cloud might now send
    data["batteryTemp"] = 21  # a field the cloud added
    data["speed"] = "20"  # a type it changed
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "2031-01-02-eu-api.json").write_text(json.dumps({
        "source": "https://eu-api.example", "recorded": "2031-01-02",
        "situations": {"status": status}}))
    run = contract("--recordings", str(recordings), "-k", "recorded", cwd=tmp_path)
    assert run.returncode == 1
    assert "test_answer_matches_recorded_truth[status]" in run.stdout
    for line in ("data.batteryTemp", "data.speed", "not accepted"):
        assert line in run.stdout, line
    assert "data.remainderRange" not in run.stdout  # the newer recording agrees with the mock


def test_every_contract_test_must_carry_one_validation_marker(pytester: pytest.Pytester) -> None:
    suite = pytester.path / "suite_copy"
    shutil.copytree(suite_dir(), suite, ignore=shutil.ignore_patterns("__pycache__"))
    (suite / "test_new.py").write_text(
        "import pytest\n\n"
        "def test_forgot_the_marker():\n    assert True\n\n"
        "@pytest.mark.unvalidated\n@pytest.mark.mock_only\n"
        "def test_two_markers():\n    assert True\n")
    result = pytester.runpytest_subprocess(str(suite), "-c", str(suite / "pytest.ini"),
                                           "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*exactly one of validated_live, unvalidated, mock_only*",
        "*test_new.py::test_forgot_the_marker: none*",
        "*test_new.py::test_two_markers: ?'unvalidated', 'mock_only'?",
    ])


@pytest.mark.parametrize(("args", "message"), [
    (["--base-url", "http://127.0.0.1:9", "--iot-code", VEHICLE],
     "a live target needs --client-id, --client-secret"),
    (["--record"], "--record records a live target"),
])
def test_unsafe_or_incomplete_runs_are_refused(pytester: pytest.Pytester, args: list[str],
                                               message: str) -> None:
    suite = suite_dir()
    result = pytester.runpytest_inprocess(str(suite), "-c", str(suite / "pytest.ini"), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


def test_the_wheel_maps_contract_under_the_simulator_namespace() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = setuptools["package-dir"]
    assert mapped["simulator.contract"] == "contract"
    assert all(name.startswith("simulator.") for name in mapped)
    packages = set(setuptools["packages"])
    assert not any(p.split(".")[0] != "simulator" for p in packages)
    # Every package folder of the source tree is listed (find cannot rename, so it is a list).
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "simulator").rglob("__init__.py")}
    assert on_disk <= packages
    assert suite_dir().resolve() == (ROOT / "contract").resolve()


def test_the_failure_table_shows_endpoints_and_brackets_as_text() -> None:
    from rich.console import Console

    from simulator.cli.contract import Summary, render

    summary = Summary()
    nodeid = "contract/test_envelopes.py::test_success_msg[status]"
    summary.outcome[nodeid] = "failed"
    summary.failures[nodeid] = "AssertionError: msg [Success] != [success]"
    console = Console(record=True, width=160)
    render(summary, "http://target", console)
    shown = console.export_text()
    assert "test_success_msg[status]" in shown  # rich would read [status] as markup
    assert "msg [Success] != [success]" in shown


@pytest.mark.parametrize(("content_type", "json"), [
    ("application/json", True),
    ("application/json;charset=UTF-8", True),
    ('Application/JSON; charset="utf-8"', True),
    ("text/plain", False),
    ("text/plain; charset=utf-8", False),
    ("application/json; charset=ISO-8859-1", False),
    ("", False),
])
def test_an_answer_not_served_as_json_is_drift(content_type: str, json: bool) -> None:
    from simulator.contract import checks
    from simulator.contract.target import Reply

    body = {"code": 0, "msg": "Success", "data": None, "t": 1_767_225_600_000,
            "opId": "7dba3f91-5fc3-4ffc-b579-3e9d9d4ce8e0"}
    reply = Reply(200, body, {"Content-Type": content_type} if content_type else {})
    if json:
        assert checks.envelope(reply) == body
    else:
        with pytest.raises(AssertionError, match="Content-Type"):
            checks.envelope(reply)
