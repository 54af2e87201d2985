"""Recorded truth: the target's answer in each recorded situation, compared field by field.

The packaged recordings start with the reference's example responses; a live run with --record
adds a dated snapshot (see recordings.py). Drift fails unless the run's policy excuses it (an
accepted difference, an added field, a field the partner does not use, --no-fail-on-drift);
settings the test changes are restored and verified by the conftest's guard.
"""

from __future__ import annotations

import pytest

from simulator.contract import recordings
from simulator.contract.drift import VALUE, Drift, DriftError
from simulator.contract.stash import PROFILE, RECORDED
from simulator.contract.surface import BY_NAME, CONTROL, QUERY, json_copy
from simulator.contract.target import Reply, Target

pytestmark = pytest.mark.model("a200")  # the reference's E-bike A200

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


@pytest.mark.parametrize("situation", [pytest.param(s, id=s, marks=_marks(s))
                                       for s in REFERENCE])
def test_answer_matches_recorded_truth(target: Target, situation: str,
                                       request: pytest.FixtureRequest) -> None:
    config = request.config
    profile = config.stash[PROFILE]
    folders = [recordings.PACKAGED] + ([profile["recordings"]] if profile["recordings"] else [])
    truth = recordings.load(*folders)[situation]
    reply = _produce(target, situation)
    if profile["record"]:
        config.stash[RECORDED][situation] = {"status": reply.status, "body": reply.body}

    against = f"recording {truth['source']} {truth['recorded']}"
    drift = recordings.compare(situation, truth["body"], reply.body, against)
    if reply.status != truth["status"]:
        drift.insert(0, Drift(situation, "(HTTP status)", VALUE, truth["status"], reply.status,
                              against))
    if drift:  # the conftest applies the run's policy: accepted, added, unused, --no-fail-on-drift
        raise DriftError(drift)
