"""The push contract (contract/pushes.py): the mock's real pushes meet it, the drifts a partner's
receiver breaks on are caught and named (push type and field), and `segway-sim contract
--push-capture` checks what `segway-sim listen --capture` recorded."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.contract.drift import EXTRA, FORMAT, MISSING, RANGE, TYPE, VALUE
from simulator.contract.pushes import CaptureError, check_push, read_capture
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.helpers.push import Got, Rig, reference_signature
from tests.helpers.vendor import EXAMPLE_IMEI

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SECRETS = {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET}
KINDS = ("status", "location", "alert", "fault", "components")


def signed(pairs: list[tuple[str, str]], secret: str = DEMO_CLIENT_SECRET) -> str:
    """A form body of `pairs` (in their order), signed by the reference's four steps."""
    raw = "&".join(f"{k}={v}" for k, v in pairs)
    return f"{raw}&signature={reference_signature(raw, secret)}"


# Pushes as the reference's tables have them, signed here: no simulator involved.
STATUS = [("iotCode", EXAMPLE_IMEI), ("platformCode", DEMO_CLIENT_ID), ("online", "true"),
          ("locked", "false"), ("lockVoltage", "412"), ("networkSignal", "21"),
          ("charging", "false"), ("powerPercent", "85"), ("speedMode", "2"), ("speed", "12"),
          ("odometer", "1230"), ("remainingRange", "3100"), ("totalRidingSecs", "5400"),
          ("statusUtcTime", "1780000000")]
LOCATION = [("iotCode", EXAMPLE_IMEI), ("platformCode", DEMO_CLIENT_ID),
            ("locationStatus", "valid"), ("latitude", "1.262967"), ("longitude", "103.881699"),
            ("satelliteNumber", "9"), ("hdop", "1.37"), ("altitude", "12.5"),
            ("gpsUtcTime", "1780000000")]
# docs/pushes.md's example alert, verbatim: signed with the demo platform's secret
ALERT_BODY = ("iotCode=861477038719116&platformCode=A20081&statusUtcTime=1780000000"
              "&alertStatus=0&code=12&signature=6d2140030391dc724cfcb06b752add69")


def drift_of(path: str, body: str | bytes, headers: dict[str, str] | None = None) -> set[tuple]:
    return {(d.where, d.field, d.what)
            for d in check_push(path, FORM if headers is None else headers, body, SECRETS)}


def test_reference_built_pushes_and_the_docs_example_meet_the_contract() -> None:
    assert drift_of("/v2/vehicle/status", signed(STATUS)) == set()
    assert drift_of("/hooks/v2/vehicle/location", signed(LOCATION)) == set()
    assert drift_of("/v2/vehicle/alert", ALERT_BODY) == set()
    charset = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
    assert drift_of("/v2/vehicle/alert", ALERT_BODY, charset) == set()


# -- the mock's own pushes ----------------------------------------------------------------------


async def every_push(rig: Rig) -> list[Got]:
    """Every push type of the demo vehicle, both ways where there are two (appear, disappear)."""
    async def control(method: str, path: str, body: dict[str, Any]) -> None:
        async with rig.client.request(method, path, json=body) as resp:
            assert resp.status == 200, await resp.text()

    vehicle = f"/_sim/vehicles/{EXAMPLE_IMEI}"
    await control("PATCH", vehicle, {"locked": False})  # status
    await rig.advance(10)  # location, valid
    await control("PATCH", vehicle, {"locationValid": False})
    await rig.advance(10)  # location, invalid
    for event in ({"type": "alert", "code": 4}, {"type": "alert-cleared", "code": 4},
                  {"type": "fault", "code": "E3"}, {"type": "fault-cleared", "code": "E3"},
                  {"type": "fault", "code": "61"}, {"type": "rider-lock"},  # status, components
                  {"type": "offline"}):
        await control("POST", vehicle + "/events", event)
    await rig.settle()
    return rig.receiver.got


async def test_the_mocks_real_pushes_of_every_type_meet_the_push_contract(rig: Rig) -> None:
    got = await every_push(rig)
    assert {g.kind for g in got} == set(KINDS)
    assert {g.form.get("locationStatus") for g in got} >= {"valid", "invalid"}
    assert {g.form.get("online") for g in got} >= {"true", "false"}
    for push in got:
        assert check_push(push.path, {"Content-Type": push.content_type}, push.raw,
                          SECRETS) == [], push


# -- drift that breaks a partner's receiver is caught and named ---------------------------------


def pairs_of(body: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in (p.split("=", 1) for p in body.split("&")) if k != "signature"]


def resigned(change: Callable[[list[tuple[str, str]]], list[tuple[str, str]]]) -> Callable:
    """A change to the fields, signed correctly afterwards: only the change itself is drift."""
    return lambda body: signed(change(pairs_of(body)))


def with_signature_text(text: Callable[[list[tuple[str, str]]], str]) -> Callable:
    """The right fields, signed over the wrong text."""
    def mutate(body: str) -> str:
        pairs = pairs_of(body)
        sig = hashlib.md5(text(pairs).encode()).hexdigest()
        return "&".join(f"{k}={v}" for k, v in pairs) + f"&signature={sig}"
    return mutate


def renamed(old: str, new: str) -> Callable:
    return resigned(lambda pairs: [(new if k == old else k, v) for k, v in pairs])


def valued(name: str, value: Callable[[str], str]) -> Callable:
    return resigned(lambda pairs: [(k, value(v) if k == name else v) for k, v in pairs])


def joined(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs)


BOOLEANS = ("online", "locked", "charging")
# name: (push type, how the body changes, the drift it must show: {(field, what)})
MUTATIONS: dict[str, tuple[str, Callable[[str], str], set[tuple[str, str]]]] = {
    "signed over unsorted fields": (
        "status", with_signature_text(lambda p: joined(p) + f"&client_secret={DEMO_CLIENT_SECRET}"),
        {("(signature)", VALUE)}),
    "secret appended without client_secret=": (
        "status", with_signature_text(lambda p: joined(sorted(p)) + f"&{DEMO_CLIENT_SECRET}"),
        {("(signature)", VALUE)}),
    "booleans as 1/0": (
        "status", resigned(lambda p: [(k, {"true": "1", "false": "0"}[v] if k in BOOLEANS
                                        else v) for k, v in p]),
        {(name, TYPE) for name in BOOLEANS}),
    "booleans capitalised": ("status", valued("online", str.capitalize), {("online", FORMAT)}),
    "a renamed field": ("status", renamed("remainingRange", "remainderRange"),
                        {("remainingRange", MISSING), ("remainderRange", EXTRA)}),
    "a dropped field": ("location", resigned(lambda p: [x for x in p if x[0] != "hdop"]),
                        {("hdop", MISSING)}),
    "an added field": ("location", resigned(lambda p: [*p, ("vehicleCode", "V1")]),
                       {("vehicleCode", EXTRA)}),
    "an integer as 85.0": ("status", valued("powerPercent", lambda v: f"{v}.0"),
                           {("powerPercent", TYPE)}),
    "a time in ms": ("status", valued("statusUtcTime", lambda v: v + "000"),
                     {("statusUtcTime", RANGE)}),
    "out of range": ("status", valued("networkSignal", lambda _: "33"),
                     {("networkSignal", RANGE)}),
    "a latitude in exponent form": ("location", valued("latitude", lambda _: "1e-05"),
                                    {("latitude", FORMAT)}),
    "an unknown location status": ("location", valued("locationStatus", str.upper),
                                   {("locationStatus", VALUE)}),
    "the signature in capitals": ("status", lambda b: b[:-32] + b[-32:].upper(),
                                  {("(signature)", FORMAT)}),
    "no signature": ("status", lambda b: b.rsplit("&", 1)[0], {("signature", MISSING)}),
    "a field sent twice": ("status", lambda b: b.replace("&locked=false&",
                                                         "&locked=false&locked=true&"),
                           {("locked", FORMAT), ("(signature)", VALUE)}),
    "another platform": ("status", valued("platformCode", lambda _: "E30001"),
                         {("platformCode", VALUE)}),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_each_mutation_is_caught_and_names_the_push_type_and_field(mutation: str) -> None:
    kind, mutate, expected = MUTATIONS[mutation]
    body = mutate(signed({"status": STATUS, "location": LOCATION}[kind]))
    assert drift_of(f"/v2/vehicle/{kind}", body) == {(f"push:{kind}", f, w) for f, w in expected}


def test_the_signature_drift_says_which_mistake_explains_it() -> None:
    for mutation, hint in (("signed over unsorted fields", "unsorted fields"),
                           ("secret appended without client_secret=", "without client_secret=")):
        _, mutate, _ = MUTATIONS[mutation]
        [drift] = check_push("/v2/vehicle/status", FORM, mutate(signed(STATUS)), SECRETS)
        assert drift.field == "(signature)" and hint in drift.actual, drift


def test_a_json_body_is_no_form() -> None:
    body = json.dumps(dict(pairs_of(signed(STATUS))))
    assert drift_of("/v2/vehicle/status", body, {"Content-Type": "application/json"}) == {
        ("push:status", "(Content-Type)", VALUE), ("push:status", "(body)", FORMAT)}


def test_a_wrong_path_is_named_with_the_push_its_fields_make() -> None:
    assert drift_of("/v2/vehicle/state", signed(STATUS)) == {("push:status", "(path)", VALUE)}
    assert drift_of("/v2/alert", ALERT_BODY) == {("push:alert", "(path)", VALUE)}
    assert drift_of("/v2/vehicle/x", "a=1") == {("push:?", "(path)", VALUE)}


def test_a_wrong_content_type_and_a_disappearing_fall_as_4() -> None:
    assert drift_of("/v2/vehicle/alert", ALERT_BODY, {"Content-Type": "text/plain"}) == {
        ("push:alert", "(Content-Type)", VALUE)}
    assert drift_of("/v2/vehicle/alert", ALERT_BODY, {}) == {
        ("push:alert", "(Content-Type)", MISSING)}
    cleared = signed([("iotCode", EXAMPLE_IMEI), ("platformCode", DEMO_CLIENT_ID),
                      ("statusUtcTime", "1780000000"), ("alertStatus", "1"), ("code", "4")])
    assert drift_of("/v2/vehicle/alert", cleared) == {("push:alert", "code", RANGE)}


@given(st.permutations(STATUS))
def test_the_signature_does_not_depend_on_the_bodys_field_order(
        order: list[tuple[str, str]]) -> None:
    assert drift_of("/v2/vehicle/status", signed(order)) == set()


@given(st.sampled_from(STATUS), st.text("0123456789abcdefXYZ.-", min_size=1, max_size=12))
def test_any_value_changed_after_signing_breaks_the_signature(
        field: tuple[str, str], value: str) -> None:
    name, old = field
    body = signed(STATUS).replace(f"{name}={old}&", f"{name}={value}&", 1)
    found = drift_of("/v2/vehicle/status", body)
    assert (("push:status", "(signature)", VALUE) in found) == (value != old)


@given(st.integers(-1000, 1000))
def test_documented_ranges_hold_at_their_edges(signal: int) -> None:
    body = signed([(k, str(signal) if k == "networkSignal" else v) for k, v in STATUS])
    found = drift_of("/v2/vehicle/status", body)
    assert found == (set() if 2 <= signal <= 32 else {("push:status", "networkSignal", RANGE)})


@given(st.sampled_from(["1", "0", "yes", "no", "", "TRUE", "False", "on"]))
def test_booleans_are_true_or_false_and_nothing_else(text: str) -> None:
    body = signed([(k, text if k == "charging" else v) for k, v in STATUS])
    [drift] = check_push("/v2/vehicle/status", FORM, body, SECRETS)
    assert (drift.where, drift.field) == ("push:status", "charging")
    assert drift.what == (FORMAT if text.lower() in ("true", "false") else TYPE)


# -- capture files ------------------------------------------------------------------------------


def test_a_capture_file_is_read_line_by_line_and_bad_lines_are_named(tmp_path: Path) -> None:
    capture = tmp_path / "pushes.jsonl"
    line = {"path": "/v2/vehicle/alert", "headers": FORM, "body": ALERT_BODY, "seen": 1}
    capture.write_text(json.dumps(line) + "\n\n" + json.dumps(line) + "\n")
    first, second = read_capture(capture)
    assert (first.line, second.line, first.id) == (1, 3, "push:alert:line-1")
    assert first.body == ALERT_BODY.encode() and first.headers == FORM
    for bad, why in (("not json", "not JSON"), ('{"path": "/v2/vehicle/alert"}', "expected"),
                     ('{"path": 1, "headers": {}, "body": ""}', "expected"),
                     ('{"path": "/p", "headers": {"a": 1}, "body": ""}', "expected")):
        capture.write_text(json.dumps(line) + "\n" + bad + "\n")
        with pytest.raises(CaptureError, match=re.escape(f"{capture}:2: {why}")):
            read_capture(capture)
    with pytest.raises(CaptureError, match="cannot read"):
        read_capture(tmp_path / "nowhere.jsonl")


def contract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from simulator.cli.main import main; main()", "contract", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300)


async def test_contract_push_capture_checks_what_listen_capture_recorded(
        rig: Rig, tmp_path: Path) -> None:
    """The real commands: `listen --capture` records the mock's pushes of every type; `contract
    --push-capture` passes on them, and fails on a mutated copy naming push type and field."""
    capture = tmp_path / "pushes.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from simulator.cli.main import main; main()", "listen",
        "--port", "0", "--capture", str(capture),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = re.search(r"listening on (http://\S+)", first)
        assert url and f"capturing to {capture}" in first, first
        rig.sim.platforms[DEMO_CLIENT_ID].callback_url = url.group(1) + "/partner"
        await every_push(rig)  # settled: every push answered, so written and flushed
    finally:
        proc.terminate()
        await proc.wait()
    lines = capture.read_text().splitlines()
    assert len(lines) == len(rig.journal(outcome="delivered")) >= 10
    assert {json.loads(line)["path"].rsplit("/", 1)[-1] for line in lines} == set(KINDS)

    clean = contract("--push-capture", str(capture), "-k", "captured", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    assert re.search(rf"unvalidated\W+{len(lines)}\W+0\W+0", clean.stdout), clean.stdout

    status = next(i for i, line in enumerate(lines) if "/v2/vehicle/status" in line)
    doc = json.loads(lines[status])

    def rewritten(body: str) -> None:
        lines[status] = json.dumps({**doc, "body": body})
        capture.write_text("\n".join(lines) + "\n")

    rewritten(doc["body"].replace("online=true", "online=1", 1))
    drifted = contract("--push-capture", str(capture), "-k", "captured", cwd=tmp_path)
    assert drifted.returncode == 1, drifted.stdout[-3000:] + drifted.stderr[-3000:]
    assert f"push:status:line-{status + 1}" in drifted.stdout
    assert "push:status online: expected 'true or false', got '1'" in drifted.stdout

    # An added field (signed as the reference says) is reported, and fails only when strict.
    rewritten(signed([*pairs_of(doc["body"]), ("vehicleCode", "V1")]))
    added = contract("--push-capture", str(capture), "-k", "captured", cwd=tmp_path)
    assert added.returncode == 0, added.stdout[-3000:] + added.stderr[-3000:]
    assert "vehicleCode" in added.stdout and "tolerated" in added.stdout
    strict = contract("--push-capture", str(capture), "-k", "captured", "--strict-fields",
                      cwd=tmp_path)
    assert strict.returncode == 1 and "push:status vehicleCode: added" in strict.stdout

