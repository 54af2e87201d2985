"""The contract suite's target, safety rules and markers.

Target: --base-url/--client-id/--client-secret/--iot-code (or SEGWAY_BASE_URL, SEGWAY_CLIENT_ID,
SEGWAY_CLIENT_SECRET, SEGWAY_IOT_CODE); without a base URL, an in-process simulator. A target that
answers the simulator's control plane is a mock; anything else is live (--assume-live forces it).

Safety against a live target: read-only unless told otherwise. Tests marked `controls` (they move
hardware) run only with --allow-control and a named test vehicle; `changes_settings` only with
--allow-settings (and they restore what they found); `irreversible` and `mock_only` never run
against a live target. Each test carries exactly one of validated_live / unvalidated / mock_only,
or collection fails.

Model: the test vehicle's vehicle model decides which tests run (marker `model(name, ...)`: the
reference's A200 tests, test_scooter.py's kick-scooter tests; unmarked tests run for every
model). On a simulator it is the vehicle's own (its full state); live, `--model` names it
(default a200). In-process, `--model` picks the model of the simulator's fleet.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.contract import recordings
from simulator.contract.drift import (
    Drift,
    DriftError,
    Policy,
    PolicyFileError,
    Uses,
    load_accepted,
    load_uses,
    take_notes,
)
from simulator.contract.pushes import CaptureError, read_capture
from simulator.contract.stash import DRIFT, PROFILE, RECORDED
from simulator.contract.surface import BY_NAME, MODELS, Endpoint
from simulator.contract.target import Target, probe_mock, request

VALIDATION = {
    "validated_live": "checked against the real cloud (date and region in the test's docstring)",
    "unvalidated": "written from the reference; not yet checked against the real cloud",
    "mock_only": "needs the simulator's control plane (clock, faults, state); never runs live",
}
SAFETY = {
    "refused_command": "sends the test vehicle a command the reference says is refused (an "
                       "invalid parameter): read-only runs include it, --queries-only does not",
    "controls": "moves real hardware: live only with --allow-control and --iot-code",
    "changes_settings": "changes a vehicle setting: live only with --allow-settings (restored)",
    "irreversible": "cannot be undone remotely: never against a live target",
}
DEMO = {"client_id": "A20081", "client_secret": "e2651be5-12d3-48f3-ba6c-bc2b04a447b6",
        "iot_code": "861477038719116"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segway contract", "Segway vendor-surface contract suite")
    for name, env, what in (
        ("--base-url", "SEGWAY_BASE_URL", "target, e.g. https://eu-api.segwaydiscovery.com "
                                          "(default: an in-process simulator)"),
        ("--client-id", "SEGWAY_CLIENT_ID", "platform code (client_id)"),
        ("--client-secret", "SEGWAY_CLIENT_SECRET", "client secret"),
        ("--iot-code", "SEGWAY_IOT_CODE", "IMEI of the named test vehicle"),
        ("--other-iot-code", "SEGWAY_OTHER_IOT_CODE", "IMEI of a vehicle of another platform "
                                                      "(15103 expected; e.g. your staging "
                                                      "platform's test vehicle)"),
        ("--recordings", "SEGWAY_RECORDINGS", "extra folder of recordings (and where --record "
                                              "writes; default: the packaged recordings)"),
        ("--push-capture", "SEGWAY_PUSH_CAPTURE", "JSON-lines file of pushes a receiver recorded "
                                                  "(segway-sim listen --capture): each is checked "
                                                  "against the push contract"),
        ("--accept-drift", "SEGWAY_ACCEPT_DRIFT", "TOML file of accepted drift ([[accept]] field, "
                                                  "reason, where, what)"),
        ("--uses", "SEGWAY_USES", "TOML/JSON file of the endpoints and fields your code uses: "
                                  "only their drift fails"),
        ("--model", "SEGWAY_MODEL", f"the test vehicle's model ({', '.join(MODELS)}): live, "
                                    "default a200; a simulator's vehicle says its own"),
    ):
        group.addoption(name, default=os.environ.get(env), help=f"{what} [env {env}]")
    group.addoption("--allow-control", action="store_true",
                    help="live: run commands that move the test vehicle (unlock, sound, ...)")
    group.addoption("--allow-settings", action="store_true",
                    help="live: run setting changes on the test vehicle (values restored)")
    group.addoption("--record", action="store_true",
                    help="live: record the target's answers as a new dated snapshot")
    group.addoption("--fail-on-drift", action="store_true", default=None,
                    help="drift from the newest recording fails (default on; "
                         "--no-fail-on-drift only reports it)")
    group.addoption("--no-fail-on-drift", dest="fail_on_drift", action="store_false")
    group.addoption("--queries-only", action="store_true",
                    help="live: send the test vehicle no command at all, not even ones the "
                         "reference says are refused")
    group.addoption("--strict-fields", action="store_true",
                    help="an added field fails too (default: tolerated and reported)")
    group.addoption("--assume-live", action="store_true",
                    help="treat the target as live even if it is a simulator (dry runs)")


def _profile(config: pytest.Config) -> dict[str, Any]:
    opt = config.getoption
    base_url = (opt("--base-url") or "").rstrip("/")
    mock = not base_url or (not opt("--assume-live") and probe_mock(base_url))
    profile = {
        "base_url": base_url, "mock": mock, "in_process": not base_url,
        "client_id": opt("--client-id") or (DEMO["client_id"] if mock else None),
        "client_secret": opt("--client-secret") or (DEMO["client_secret"] if mock else None),
        "iot_code": opt("--iot-code") or (DEMO["iot_code"] if mock else None),
        # A simulator is a safe place to do everything.
        "allow_control": mock or opt("--allow-control"),
        "allow_settings": mock or opt("--allow-settings"),
        "record": opt("--record"),
        "recordings": Path(opt("--recordings")) if opt("--recordings") else None,
        "push_capture": Path(opt("--push-capture")) if opt("--push-capture") else None,
        "queries_only": opt("--queries-only"),
        "other_iot_code": opt("--other-iot-code"),
        "policy": _policy(config),
    }
    profile["model"] = _model(profile, opt("--model"))
    if not mock:
        missing = [k for k in ("client_id", "client_secret", "iot_code") if not profile[k]]
        if missing:
            flags = ", ".join("--" + k.replace("_", "-") for k in missing)
            raise pytest.UsageError(f"a live target needs {flags} (the named test vehicle)")
    if profile["record"] and mock:
        raise pytest.UsageError("--record records a live target; this target is a simulator")
    if profile["push_capture"] is not None:
        try:
            read_capture(profile["push_capture"])
        except CaptureError as err:
            raise pytest.UsageError(f"--push-capture {err}") from None
    return profile


def _model(profile: dict[str, Any], named: str | None) -> str:
    """The test vehicle's model: live, as --model names it; on a simulator, the vehicle's own
    (from its full state), which --model, if given, must agree with."""
    if named is not None and named not in MODELS:
        raise pytest.UsageError(f"--model {named!r}: one of {', '.join(MODELS)}")
    if not profile["mock"] or profile["in_process"]:
        return named or MODELS[0]  # in-process, the fleet is made of the named model
    reply = request("GET", f"{profile['base_url']}/_sim/vehicles/{profile['iot_code']}")
    own = reply.body.get("model") if isinstance(reply.body, dict) else None
    if reply.status != 200 or not isinstance(own, str):
        raise pytest.UsageError(f"the simulator has no vehicle {profile['iot_code']} "
                                f"(GET /_sim/vehicles/...: HTTP {reply.status})")
    if named is not None and own != named:
        raise pytest.UsageError(f"--model {named}: the test vehicle {profile['iot_code']}'s model "
                                f"is {own} (name one of model {named} with --iot-code)")
    if own not in MODELS:
        raise pytest.UsageError(f"the test vehicle {profile['iot_code']}'s model is {own}: the "
                                f"suite knows {', '.join(MODELS)}")
    return own


def _policy(config: pytest.Config) -> Policy:
    opt = config.getoption
    try:
        accepted = load_accepted(Path(opt("--accept-drift"))) if opt("--accept-drift") else []
        uses = load_uses(Path(opt("--uses"))) if opt("--uses") else None
    except PolicyFileError as err:
        raise pytest.UsageError(str(err)) from None
    if uses is not None:  # every caller takes a token
        uses = Uses({"token": ("*",), **uses.fields})
    # --record makes this run's answers the new truth: drift from the old one is reported
    fail = opt("fail_on_drift") is not False and not opt("--record")
    return Policy(recordings.ACCEPTED + accepted, bool(opt("--strict-fields")), uses, fail)


def pytest_configure(config: pytest.Config) -> None:
    for name, what in {**VALIDATION, **SAFETY}.items():
        config.addinivalue_line("markers", f"{name}: {what}")
    config.addinivalue_line("markers", "about(where): the endpoint or push a test is about "
                                       "(--uses leaves it out when the code does not use it)")
    config.addinivalue_line("markers", "model(*names): the vehicle models a test is for (it runs "
                                       "only when the test vehicle is one; unmarked: every model)")
    config.stash[DRIFT] = []
    config.stash[RECORDED] = {}
    if config.option.collectonly or config.option.help:
        return
    config.stash[PROFILE] = _profile(config)


def _why_not(item: pytest.Item, profile: dict[str, Any]) -> str | None:
    uses: Uses | None = profile["policy"].uses
    where = _where(item)
    if uses is not None and where is not None and not uses.endpoint(where):
        return "not used by your code (--uses)"
    model = item.get_closest_marker("model")
    if model is not None and profile["model"] not in model.args:
        return (f"for model {', '.join(model.args)}: the test vehicle's model is "
                f"{profile['model']} (--model)")
    if "captured" in getattr(item, "fixturenames", ()) and profile["push_capture"] is None:
        return "needs --push-capture FILE (unseen: the pushes your receiver gets)"
    if profile["mock"]:
        return None
    if item.get_closest_marker("mock_only"):
        return "mock_only: live target"
    if item.get_closest_marker("irreversible"):
        return "irreversible: never against a live target"
    if "other_vehicle" in getattr(item, "fixturenames", ()) and not profile["other_iot_code"]:
        return "needs --other-iot-code (unseen: 15103 for a vehicle of another platform)"
    if item.get_closest_marker("refused_command") and profile["queries_only"]:
        return "sends a refused command to the test vehicle: left out by --queries-only"
    if item.get_closest_marker("controls") and not profile["allow_control"]:
        return "moves hardware: needs --allow-control (unseen: a command's success msg and effect)"
    if item.get_closest_marker("changes_settings") and not profile["allow_settings"]:
        return ("changes settings: needs --allow-settings (unseen: a setting's success msg and "
                "effect)")
    return None


def _where(item: pytest.Item) -> str | None:
    """The endpoint (or push) a test is about, where its parameters say."""
    about = item.get_closest_marker("about")
    if about is not None:
        return str(about.args[0])
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("name") in BY_NAME:
        return str(params["name"])
    if isinstance(params.get("endpoint"), Endpoint):
        return str(params["endpoint"].name)
    if isinstance(params.get("situation"), str):
        return params["situation"].partition(":")[0]
    if isinstance(params.get("push"), str):
        return str(params["push"])
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    wrong = []
    for item in items:
        if here not in Path(item.path).parents:
            continue
        marks = [m for m in VALIDATION if item.get_closest_marker(m)]
        if len(marks) != 1:
            wrong.append(f"{item.nodeid}: {marks or 'none'}")
    if wrong:
        raise pytest.UsageError(
            "every contract test carries exactly one of " + ", ".join(VALIDATION)
            + ":\n  " + "\n  ".join(wrong))
    profile = config.stash.get(PROFILE, None)
    if profile is None:
        return
    keep, drop = [], []
    for item in items:
        reason = _why_not(item, profile)
        if reason:
            item.user_properties.append(("deselected", reason))  # read by the CLI's summary
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Iterator[Target]:
    profile = pytestconfig.stash[PROFILE]
    server = None
    base_url = profile["base_url"]
    if profile["in_process"]:
        from simulator.sim import Config
        from simulator.testing.plugin import ServerThread

        server = ServerThread(Config(seed=1, vehicles=20, paused=True, riders=False,
                                     models=((profile["model"], 1.0),))).start()
        base_url = server.url
    yield Target(base_url, profile["client_id"], profile["client_secret"], profile["iot_code"],
                 profile["mock"], profile["allow_control"], profile["allow_settings"])
    if server is not None:
        server.stop()


@pytest.fixture
def other_vehicle(target: Target, pytestconfig: pytest.Config) -> str:
    """A vehicle of another platform: --other-iot-code, or on a simulator one made for the test."""
    given: str | None = pytestconfig.stash[PROFILE]["other_iot_code"]
    if given or not target.mock:
        assert given, "deselected without --other-iot-code"
        return given
    target.control("POST", "/_sim/platforms", {"clientId": "E20082", "vehicles": 1})
    page = target.control("GET", "/_sim/vehicles", platformCode="E20082", limit=1)
    return str(page["items"][0]["iotCode"])


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    """On a simulator every test starts from the seeded fleet (and a fresh token)."""
    if "target" not in request.fixturenames:
        return
    target: Target = request.getfixturevalue("target")
    if target.mock:
        target.control("POST", "/_sim/reset")
        target.forget_token()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Apply the run's policy to the drift a test found: what it excuses does not fail (accepted,
    an added field, a field the partner's code does not use); what it does not excuse fails, even
    drift only noted on the way (an added field under --strict-fields)."""
    report: pytest.TestReport = yield
    if call.when != "call":
        if call.when == "setup":
            take_notes()
        return report
    raised = call.excinfo.value if call.excinfo is not None else None
    found = (raised.drift if isinstance(raised, DriftError) else []) + take_notes()
    profile = item.config.stash.get(PROFILE, None)
    if not found or profile is None:
        return report
    policy: Policy = profile["policy"]
    failing = []
    for d in found:
        excuse = policy.excuse(d)
        item.config.stash[DRIFT].append((d, excuse))
        report.user_properties.append(("drift", json.dumps({**d.to_json(), "excused": excuse},
                                                           default=str)))
        if excuse is None:
            failing.append(d)
    if failing and (raised is None or isinstance(raised, DriftError)):
        report.outcome = "failed"
        report.longrepr = "\n".join(d.describe() for d in failing)
    elif not failing and isinstance(raised, DriftError):
        report.outcome, report.longrepr = "passed", None
    return report


# Settings a query can read back, and the command that puts each back.
READABLE = {"speedMode": ("status", "setting/speed-mode"), "key": ("bluetooth-key",
                                                                   "setting/bluetooth-key")}


def _readable(target: Target) -> dict[str, Any]:
    found = {}
    for name, (query, _) in READABLE.items():
        reply = target.get(BY_NAME[query].path, {"iotCode": target.iot_code})
        data = reply.body.get("data") if isinstance(reply.body, dict) else None
        found[name] = data.get(name) if isinstance(data, dict) else None
    return found


@pytest.fixture(autouse=True)
def _settings_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Live, a test that may change a setting (or sends a command that should be refused) leaves
    the test vehicle's readable settings as it found them: put back, then read again to verify."""
    risky = any(request.node.get_closest_marker(m) for m in ("changes_settings",
                                                             "refused_command"))
    if not risky or "target" not in request.fixturenames:
        yield
        return
    target: Target = request.getfixturevalue("target")
    if target.mock:  # every test starts from the seeded fleet anyway
        yield
        return
    before = _readable(target)
    yield
    changed = {k: v for k, v in _readable(target).items() if v != before[k]}
    for name in changed:
        _, setting = READABLE[name]
        target.post(BY_NAME[setting].path, {"iotCode": target.iot_code, name: before[name]})
    after = _readable(target)
    left = {k: (before[k], after[k]) for k in changed if after[k] != before[k]}
    assert not left, f"the test vehicle's settings stay changed (found, now): {left}"
    assert not changed or request.node.get_closest_marker("changes_settings"), (
        f"a command the reference says is refused changed the test vehicle: {changed} (restored)")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    drift: list[tuple[Drift, str | None]] = config.stash.get(DRIFT, [])
    if drift:
        terminalreporter.section("drift, field by field")
        for d, excuse in drift:
            terminalreporter.write_line(f"{d.describe()}  [{excuse or 'FAILS'}]")
    deselected = terminalreporter.stats.get("deselected", [])
    reasons: dict[str, int] = {}
    for item in deselected:
        why = dict(getattr(item, "user_properties", ())).get("deselected")
        if why:
            reasons[why] = reasons.get(why, 0) + 1
    if reasons:
        terminalreporter.section("not run against this target")
        for why, count in sorted(reasons.items()):
            terminalreporter.write_line(f"{count:4d}  {why}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    answers: dict[str, Any] = config.stash.get(RECORDED, {})
    profile = config.stash.get(PROFILE, None)
    if not answers or profile is None or not profile["record"]:
        return
    folder = profile["recordings"] or recordings.PACKAGED
    day = dt.datetime.now(dt.UTC).date().isoformat()
    path = recordings.save(folder, profile["base_url"], day, answers)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"recorded {len(answers)} answers to {path}")
