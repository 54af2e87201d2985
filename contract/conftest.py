"""The contract suite's target, safety rules and markers.

Target: --base-url/--client-id/--client-secret/--iot-code (or SEGWAY_BASE_URL, SEGWAY_CLIENT_ID,
SEGWAY_CLIENT_SECRET, SEGWAY_IOT_CODE); without a base URL, an in-process simulator. A target that
answers the simulator's control plane is a mock; anything else is live (--assume-live forces it).

Safety against a live target: read-only unless told otherwise. Tests marked `controls` (they move
hardware) run only with --allow-control and a named test vehicle; `changes_settings` only with
--allow-settings (and they restore what they found); `irreversible` and `mock_only` never run
against a live target. Each test carries exactly one of validated_live / unvalidated / mock_only,
or collection fails.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.contract import recordings
from simulator.contract.stash import DRIFT, PROFILE, RECORDED
from simulator.contract.target import Target, probe_mock

VALIDATION = {
    "validated_live": "checked against the real cloud (date and region in the test's docstring)",
    "unvalidated": "written from the reference; not yet checked against the real cloud",
    "mock_only": "needs the simulator's control plane (clock, faults, state); never runs live",
}
SAFETY = {
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
        ("--recordings", "SEGWAY_RECORDINGS", "extra folder of recordings (and where --record "
                                              "writes; default: the packaged recordings)"),
    ):
        group.addoption(name, default=os.environ.get(env), help=f"{what} [env {env}]")
    group.addoption("--allow-control", action="store_true",
                    help="live: run commands that move the test vehicle (unlock, sound, ...)")
    group.addoption("--allow-settings", action="store_true",
                    help="live: run setting changes on the test vehicle (values restored)")
    group.addoption("--record", action="store_true",
                    help="live: record the target's answers as a new dated snapshot")
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
    }
    if not mock:
        missing = [k for k in ("client_id", "client_secret", "iot_code") if not profile[k]]
        if missing:
            flags = ", ".join("--" + k.replace("_", "-") for k in missing)
            raise pytest.UsageError(f"a live target needs {flags} (the named test vehicle)")
    if profile["record"] and mock:
        raise pytest.UsageError("--record records a live target; this target is a simulator")
    return profile


def pytest_configure(config: pytest.Config) -> None:
    for name, what in {**VALIDATION, **SAFETY}.items():
        config.addinivalue_line("markers", f"{name}: {what}")
    config.stash[DRIFT] = []
    config.stash[RECORDED] = {}
    if config.option.collectonly or config.option.help:
        return
    config.stash[PROFILE] = _profile(config)


def _why_not(item: pytest.Item, profile: dict[str, Any]) -> str | None:
    if profile["mock"]:
        return None
    if item.get_closest_marker("mock_only"):
        return "mock_only: live target"
    if item.get_closest_marker("irreversible"):
        return "irreversible: never against a live target"
    if item.get_closest_marker("controls") and not profile["allow_control"]:
        return "moves hardware: needs --allow-control (unseen: a command's success msg and effect)"
    if item.get_closest_marker("changes_settings") and not profile["allow_settings"]:
        return ("changes settings: needs --allow-settings (unseen: a setting's success msg and "
                "effect)")
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

        server = ServerThread(Config(seed=1, vehicles=20, paused=True, riders=False)).start()
        base_url = server.url
    yield Target(base_url, profile["client_id"], profile["client_secret"], profile["iot_code"],
                 profile["mock"], profile["allow_control"], profile["allow_settings"])
    if server is not None:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    """On a simulator every test starts from the seeded fleet (and a fresh token)."""
    if "target" not in request.fixturenames:
        return
    target: Target = request.getfixturevalue("target")
    if target.mock:
        target.control("POST", "/_sim/reset")
        target.forget_token()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    drift: list[Any] = config.stash.get(DRIFT, [])
    if drift:
        terminalreporter.section("drift from recorded truth")
        for d in drift:
            note = f"  [accepted: {d.accepted}]" if d.accepted else ""
            terminalreporter.write_line(f"{d.situation}: {d.describe()}{note}")
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
