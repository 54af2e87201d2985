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
    """Strictly: the mock adds no field the reference lacks (--strict-fields)."""
    report = tmp_path / "contract.xml"
    run = contract("--junit-xml", str(report), "--strict-fields", cwd=tmp_path)
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
    # the kick scooter's tests are not run for the A200, and the summary says why
    assert "for model scooter: the test vehicle's model is a200" in run.stdout


def test_against_a_live_target_it_reads_only(tmp_path: Path, pretend_live: ServerThread) -> None:
    before = vehicle(pretend_live)
    run = contract(*live_args(pretend_live), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "needs --allow-control" in run.stdout and "mock_only: live target" in run.stdout
    calls = journal(pretend_live)
    assert {c["endpoint"] for c in calls} >= {"token", "status", "location", "battery-info",
                                              "bluetooth-key"}
    # Commands named the test vehicle only without a valid token or with an invalid parameter
    # (refused, as the reference guarantees); the rest went to nobody's IMEI or to none:
    # nothing could move, and every command's error envelope was still seen.
    named = [c for c in calls if c["endpoint"] in COMMANDS and c.get("iotCode") == VEHICLE]
    assert {c["code"] for c in named} <= {15101, 15004}
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
    for line in ("data.batteryTemp", "data.speed", "fails"):
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
    from simulator.contract.drift import DriftError
    from simulator.contract.surface import BY_NAME
    from simulator.contract.target import Reply

    body = {"code": 0, "msg": "Success", "data": None, "t": 1_767_225_600_000,
            "opId": "7dba3f91-5fc3-4ffc-b579-3e9d9d4ce8e0"}
    reply = Reply(200, body, {"Content-Type": content_type} if content_type else {})
    if json:
        assert checks.envelope(reply, BY_NAME["unlock"]) == body
    else:
        with pytest.raises(DriftError, match=r"^unlock \(Content-Type\): expected") as err:
            checks.envelope(reply, BY_NAME["unlock"])
        assert [(d.where, d.field) for d in err.value.drift] == [("unlock", "(Content-Type)")]


# -- which drift fails: accepted-drift files, added fields, --uses, --no-fail-on-drift ----------


def newer_recording(folder: Path, **changes: Any) -> Path:
    """A recording of the status query dated after the reference, its data changed: a field
    name=None is dropped from it (the target then sends an added field), any other value set."""
    reference = json.loads((suite_dir() / "recordings" / "2020-06-28-reference.json").read_text())
    status = json.loads(json.dumps(reference["situations"]["status"]))
    data = status["body"]["data"]
    data["remainingRange"] = data.pop("remainderRange")
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value
    folder.mkdir(exist_ok=True)
    (folder / "2031-01-02-eu-api.json").write_text(json.dumps({
        "source": "https://eu-api.example", "recorded": "2031-01-02",
        "situations": {"status": status}}))
    return folder


def test_an_added_field_is_tolerated_unless_strict(tmp_path: Path) -> None:
    recordings = newer_recording(tmp_path / "recordings", powerPercent=None)
    run = contract("--recordings", str(recordings), "-k", "recorded", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "data.powerPercent" in run.stdout and "added field: tolerated" in run.stdout
    strict = contract("--recordings", str(recordings), "-k", "recorded", "--strict-fields",
                      cwd=tmp_path)
    assert strict.returncode == 1
    assert "status data.powerPercent: added" in strict.stdout


def test_an_accepted_drift_file_excuses_exactly_its_fields(tmp_path: Path) -> None:
    recordings = newer_recording(tmp_path / "recordings", batteryTemp=21, speed="20")
    accepted = tmp_path / "accepted-drift.toml"
    accepted.write_text('[[accept]]\nwhere = "status"\nfield = "data.speed"\n'
                        'reason = "SEG-123: the cloud sends speed as a number again"\n')
    run = contract("--recordings", str(recordings), "-k", "recorded", "--accept-drift",
                   str(accepted), cwd=tmp_path)
    assert run.returncode == 1  # batteryTemp is still missing from the target
    assert "status data.batteryTemp: expected '<number>', absent" in run.stdout
    assert "status data.speed: expected" not in run.stdout  # not among the failures
    assert "accepted: SEG-123" in run.stdout
    accepted.write_text(accepted.read_text() + '\n[[accept]]\nfield = "data.batteryTemp"\n'
                        'reason = "we never read it"\n')
    run = contract("--recordings", str(recordings), "-k", "recorded", "--accept-drift",
                   str(accepted), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]


def test_no_fail_on_drift_reports_recorded_drift_only(tmp_path: Path) -> None:
    recordings = newer_recording(tmp_path / "recordings", batteryTemp=21)
    run = contract("--recordings", str(recordings), "-k", "recorded", "--no-fail-on-drift",
                   cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "data.batteryTemp" in run.stdout and "reported only" in run.stdout


def test_uses_narrows_the_checks_to_what_the_code_uses(tmp_path: Path) -> None:
    recordings = newer_recording(tmp_path / "recordings", batteryTemp=21)
    uses = tmp_path / "uses.toml"
    uses.write_text('[uses]\nstatus = ["data.powerPercent", "data.locked"]\nunlock = ["*"]\n')
    run = contract("--recordings", str(recordings), "--uses", str(uses),
                   "--junit-xml", str(tmp_path / "j.xml"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "not used by your code (--uses)" in run.stdout
    cases = ET.parse(tmp_path / "j.xml").getroot().iter("testcase")
    ran = {str(case.get("name")) for case in cases}
    assert "test_answer_matches_recorded_truth[status]" in ran
    assert "test_a_command_to_an_unknown_vehicle_gets_15102[unlock]" in ran
    assert not any("[sound" in name or "[location" in name for name in ran), sorted(ran)
    uses.write_text('[uses]\nstatus = ["data.batteryTemp"]\n')
    used = contract("--recordings", str(recordings), "--uses", str(uses), "-k", "recorded",
                    cwd=tmp_path)
    assert used.returncode == 1 and "status data.batteryTemp" in used.stdout


@pytest.mark.parametrize(("flag", "text", "message"), [
    ("--accept-drift", "[[accept]]\nreason = 'no field'\n", "needs a field and a reason"),
    ("--accept-drift", "[[accept]]\nfield='x'\nreason='y'\nwhat='renamed'\n", "not one of"),
    ("--accept-drift", "not toml [", "not TOML"),
    ("--uses", "[uses]\nstatus = 3\n", "status: expected a list of field paths"),
])
def test_a_broken_policy_file_is_one_line(tmp_path: Path, flag: str, text: str,
                                          message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    run = contract(flag, str(path), cwd=tmp_path)
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"Error: Invalid value for '{flag}': {path}")
    assert message in line and line.endswith(" contract --help)")


def test_read_only_still_sends_refused_commands_and_queries_only_does_not(
        tmp_path: Path, pretend_live: ServerThread) -> None:
    run = contract(*live_args(pretend_live, "-k", "invalid_parameter"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    refused = [c for c in journal(pretend_live) if c.get("code") == 15004]
    assert {c["endpoint"] for c in refused} == COMMANDS - {"unlock", "battery-cover",
                                                             "mech-lock", "whole-shutdown"}
    assert all(c["iotCode"] == VEHICLE for c in refused)
    http_json("POST", f"{pretend_live.url}/_sim/reset")
    quiet = contract(*live_args(pretend_live, "--queries-only"), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout[-3000:]
    assert "left out by --queries-only" in quiet.stdout
    assert not any(c["method"] == "POST" and c.get("iotCode") == VEHICLE
                   for c in journal(pretend_live))


def test_a_laxer_cloud_that_changes_a_setting_is_put_back_and_named(
        pytester: pytest.Pytester, pretend_live: ServerThread) -> None:
    """Were the cloud to act on a command the reference says it refuses, the guard puts the
    readable settings back, verifies them, and fails the test naming what changed."""
    suite = pytester.path / "suite_copy"
    shutil.copytree(suite_dir(), suite, ignore=shutil.ignore_patterns("__pycache__", "test_*.py"))
    (suite / "test_lax.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.unvalidated\n@pytest.mark.refused_command\n"
        "def test_a_laxer_cloud(target):\n"
        "    target.post('/api/v2/vehicle/setting/speed-mode',\n"
        "                {'iotCode': target.iot_code, 'speedMode': 3})\n")
    before = vehicle(pretend_live)["settings"]["speedMode"]
    assert before != 3
    result = pytester.runpytest_subprocess(str(suite), "-c", str(suite / "pytest.ini"),
                                           *live_args(pretend_live))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*a command the reference says is refused changed the test "
                                 "vehicle: {'speedMode': 3} (restored)*"])
    assert vehicle(pretend_live)["settings"]["speedMode"] == before


def test_another_platforms_vehicle_is_checked_live_when_named(
        tmp_path: Path, pretend_live: ServerThread) -> None:
    unnamed = contract(*live_args(pretend_live, "-k", "15103"), cwd=tmp_path)
    assert unnamed.returncode == 5, unnamed.stdout[-2000:]  # pytest: no test ran
    assert "needs --other-iot-code" in unnamed.stdout
    status, _ = http_json("POST", f"{pretend_live.url}/_sim/platforms",
                          {"clientId": "E20082", "vehicles": 1})
    assert status == 201
    _, page = http_json("GET", f"{pretend_live.url}/_sim/vehicles?platformCode=E20082")
    other = page["items"][0]["iotCode"]
    named = contract(*live_args(pretend_live, "-k", "15103", "--other-iot-code", other),
                     cwd=tmp_path)
    assert named.returncode == 0, named.stdout[-2000:]
    refused = {c["endpoint"] for c in journal(pretend_live) if c.get("iotCode") == other}
    assert refused == COMMANDS | {"status", "location", "battery-info", "bluetooth-key"}
    assert {c["code"] for c in journal(pretend_live) if c.get("iotCode") == other} == {15103}


# -- per vehicle model: the kick scooter (contract/test_scooter.py) ------------------------------

SCOOTER_ONLY = {"lock", "light", "setting/scooter", "v1/get", "v1/version", "v1/unlock", "v1/lock",
                "v1/toot", "v1/headlight", "v1/speed-mode", "v1/battery/cover",
                "v1/setting/speed-limit", "v1/setting/location", "v1/iot/bind"}
A200_ONLY = {"mech-lock", "anti-theft", "ambient", "wireless-charging", "setting/switch",
             "setting/ambient", "setting/interval"}


def scooters(**more: Any) -> Config:
    return Config(seed=1, vehicles=20, riders=False, models=(("scooter", 1.0),), **more)


@pytest.fixture
def scooter_sim() -> Iterator[ServerThread]:
    """`segway-sim serve --models scooter`: the whole demo fleet kick scooters."""
    server = ServerThread(scooters(paused=True)).start()
    yield server
    server.stop()


@pytest.fixture
def pretend_live_scooter() -> Iterator[ServerThread]:
    server = ServerThread(scooters(paused=False, physics=PhysicsConfig.parse("quiet")),
                          pace=True).start()
    yield server
    server.stop()


def test_against_a_scooter_simulator_the_scooter_tests_run(tmp_path: Path,
                                                           scooter_sim: ServerThread) -> None:
    """The model is the test vehicle's own (its full state): no option needed."""
    report = tmp_path / "contract.xml"
    run = contract("--base-url", scooter_sim.url, "--strict-fields", "--junit-xml", str(report),
                   cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    counts = junit(report)
    assert counts["tests"] > 400 and counts["failures"] == counts["errors"] == 0
    assert "for model a200: the test vehicle's model is scooter" in run.stdout
    cases = {str(c.get("name")) for c in ET.parse(report).getroot().iter("testcase")}
    assert "test_an_operation_the_scooter_lacks_gets_15705[mech-lock]" in cases
    assert "test_scooter_query_answers_the_fields_clients_read[location]" in cases
    assert not any(c.startswith("test_query_answers_the_documented_fields") for c in cases)
    # every scooter and v1 operation succeeded in some test (each test resets the simulator,
    # and its journal with it: the passed tests say it)
    ran = {c.split("[", 1)[1].rstrip("]") for c in cases
           if c.startswith(("test_scooter_query_answers", "test_an_injected_fault_is_answered"))}
    assert ran >= SCOOTER_ONLY
    assert {c.split("[", 1)[1].rstrip("]") for c in cases
            if c.startswith("test_an_operation_the_scooter_lacks_gets_15705")} == A200_ONLY


def test_against_a_live_scooter_it_reads_only_and_relocks(
        tmp_path: Path, pretend_live_scooter: ServerThread) -> None:
    before = vehicle(pretend_live_scooter)
    run = contract(*live_args(pretend_live_scooter, "--model", "scooter"), cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "for model a200: the test vehicle's model is scooter (--model)" in run.stdout
    calls = journal(pretend_live_scooter)
    named = [c for c in calls if c["method"] == "POST" and c.get("iotCode") == VEHICLE]
    assert named and {c["code"] for c in named} <= {15101, 15004, 15705, 15304}
    assert {c["endpoint"] for c in named if c["code"] == 15705} == A200_ONLY
    assert vehicle(pretend_live_scooter) == before
    moved = contract(*live_args(pretend_live_scooter, "--model", "scooter", "--allow-control",
                                "--allow-settings", "-k", "scooter"), cwd=tmp_path)
    assert moved.returncode == 0, moved.stdout[-3000:] + moved.stderr[-3000:]
    succeeded = {c["endpoint"] for c in journal(pretend_live_scooter) if c.get("code") == 0}
    assert {"unlock", "lock", "light", "v1/toot", "v1/battery/cover"} <= succeeded
    assert not succeeded & {"whole-shutdown", "v1/iot/bind", "setting/scooter"}  # never live
    after = vehicle(pretend_live_scooter)
    assert after["locked"] is True  # the scooter's remote lock leaves it as it was found
    assert after["settings"]["speedMode"] == before["settings"]["speedMode"]


def test_a_live_target_is_an_a200_unless_model_says_otherwise(
        tmp_path: Path, pretend_live_scooter: ServerThread) -> None:
    run = contract(*live_args(pretend_live_scooter, "-k", "documented_fields"), cwd=tmp_path)
    assert run.returncode == 1  # the A200's location table: gpsUtcTime, which a scooter lacks
    assert "location data.gpsUtcTime" in run.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "a200"], "--model a200: the test vehicle 861477038719116's model is scooter"),
    (["--model", "bicycle"], "Invalid value for '--model': 'bicycle' is not one of"),
])
def test_a_model_the_test_vehicle_is_not_is_one_line(tmp_path: Path, scooter_sim: ServerThread,
                                                     args: list[str], message: str) -> None:
    run = contract("--base-url", scooter_sim.url, *args, cwd=tmp_path)
    assert run.returncode == 2
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
