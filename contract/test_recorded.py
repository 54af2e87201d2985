"""Recorded truth: the target's answer in each recorded situation, compared field by field.

The packaged recordings start with the reference's example responses; a live run with --record
adds a dated snapshot (see recordings.py). On a simulator, drift that is not an accepted, documented
choice fails; on a live target, the live answer is the truth, so drift is reported, not failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from simulator.contract import recordings
from simulator.contract.stash import DRIFT, PROFILE, RECORDED
from simulator.contract.surface import BY_NAME, CONTROL, QUERY, json_copy
from simulator.contract.target import Reply, Target

REFERENCE = recordings.load(recordings.PACKAGED)
READABLE_SETTINGS = {"setting/speed-mode", "setting/bluetooth-key"}  # restorable: queries show them


def _marks(situation: str) -> list[pytest.MarkDecorator]:
    name, _, error = situation.partition(":")
    if error and name != "token":
        return [pytest.mark.mock_only]  # the error is produced by an injected fault
    endpoint = BY_NAME.get(name)
    if endpoint is None or endpoint.kind == QUERY:
        return [pytest.mark.unvalidated]
    if endpoint.kind == CONTROL:
        extra = [pytest.mark.irreversible] if name == "whole-shutdown" else []
        return [pytest.mark.unvalidated, pytest.mark.controls, *extra]
    if name in READABLE_SETTINGS:
        return [pytest.mark.unvalidated, pytest.mark.changes_settings]
    return [pytest.mark.unvalidated, pytest.mark.changes_settings, pytest.mark.irreversible]


def _produce(target: Target, situation: str) -> Reply:
    name, _, error = situation.partition(":")
    if name == "token":
        return target.token_request(client_secret="wrong" if error else None)
    endpoint = BY_NAME[name]
    if error:
        code = int(error.removeprefix("error-"))
        target.control("POST", "/_sim/faults", {"code": code, "iotCode": target.iot_code,
                                                "endpoint": name, "times": 1})
    if endpoint.kind == QUERY:
        return target.get(endpoint.path, {"iotCode": target.iot_code})
    if name == "battery-cover":
        target.post(BY_NAME["unlock"].path, {"iotCode": target.iot_code})  # opens when unlocked
    return target.post(endpoint.path, {"iotCode": target.iot_code, **json_copy(endpoint.example)})


@pytest.fixture
def restore_readable_settings(target: Target) -> Iterator[None]:
    """Settings that queries can read are put back as they were found."""
    if not target.allow_settings:
        yield
        return
    status = target.get(BY_NAME["status"].path, {"iotCode": target.iot_code}).body["data"]
    key = target.get(BY_NAME["bluetooth-key"].path, {"iotCode": target.iot_code}).body["data"]
    yield
    for name, body in (("setting/speed-mode", {"speedMode": status["speedMode"]}),
                       ("setting/bluetooth-key", {"key": key["key"]})):
        target.post(BY_NAME[name].path, {"iotCode": target.iot_code, **body})


@pytest.mark.parametrize("situation", [pytest.param(s, id=s, marks=_marks(s))
                                       for s in REFERENCE])
def test_answer_matches_recorded_truth(target: Target, situation: str,
                                       request: pytest.FixtureRequest) -> None:
    config = request.config
    profile = config.stash[PROFILE]
    folders = [recordings.PACKAGED] + ([profile["recordings"]] if profile["recordings"] else [])
    truth = recordings.load(*folders)[situation]
    if situation.partition(":")[0] in READABLE_SETTINGS:
        request.getfixturevalue("restore_readable_settings")
    reply = _produce(target, situation)

    drift = recordings.compare(situation, truth["body"], reply.body)
    if reply.status != truth["status"]:
        drift.insert(0, recordings.Drift(situation, "(HTTP status)", "value", truth["status"],
                                         reply.status))
    config.stash[DRIFT].extend(drift)
    for d in drift:
        request.node.user_properties.append(("drift", json.dumps(d.to_json())))
    if profile["record"]:
        config.stash[RECORDED][situation] = {"status": reply.status, "body": reply.body}

    if target.mock:
        unexplained = [d.describe() for d in drift if not d.accepted]
        source = f"{truth['source']} {truth['recorded']}"
        assert not unexplained, f"drift from {source}:\n  " + "\n  ".join(unexplained)
