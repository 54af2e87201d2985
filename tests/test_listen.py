"""`segway-sim listen`: verifies, prints one line per push, answers 200; misbehaves on request
(--fail-rate, --delay) so the simulator's retry shows; relays verified pushes (--forward-to)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import click
import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from simulator.cli.listen import Listener, parse_secrets
from simulator.cli.main import main
from simulator.contract.pushes import read_capture
from simulator.core import alerts
from simulator.sim import DEMO_CLIENT_SECRET, Config
from simulator.world.physics import PhysicsConfig
from tests.helpers.push import Receiver, Rig, answer_200
from tests.helpers.vendor import EXAMPLE_IMEI, add_tenant, vendor_call


@pytest.fixture
def config() -> Config:
    return Config(seed=7, vehicles=3, paused=True, riders=False, physics=PhysicsConfig.quiet(),
                  extra={"push_concurrency": 1})


class Printed(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
async def listening(rig: Rig) -> AsyncIterator[tuple[Listener, Printed]]:
    """A listener in place of the rig's receiver: the demo platform pushes to it."""
    printed = Printed()
    listener = Listener(parse_secrets(()), seed=1, echo=printed)
    server = TestServer(listener.app(), host="127.0.0.1")
    await server.start_server()
    rig.sim.platforms["A20081"].callback_url = str(server.make_url("/partner"))
    yield listener, printed
    await server.close()


async def unlock(rig: Rig) -> None:
    await vendor_call(rig.client, "unlock", {"iotCode": EXAMPLE_IMEI})
    await rig.settle()


async def test_one_line_per_push_with_type_imei_key_fields_and_signature_ok(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    _, printed = listening
    await unlock(rig)
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_alert(rig.sim.fleet, row, 12, rig.sim.clock.now, rig.sim.bus)
    await rig.advance(10)
    status, alert, location = printed
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ status +861477038719116 online=true "
                    r"locked=false .* sig ok +-> 200$", status)
    assert "alert" in alert and "appearing code=12 (low power)" in alert and "sig ok" in alert
    assert "location" in location and "valid" in location and "sig ok" in location
    assert [r["outcome"] for r in rig.journal()] == ["delivered"] * 3


async def test_a_bad_signature_is_flagged_and_answered_401(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    _, printed = listening
    await rig.client.post("/_sim/push-chaos", json={"action": "corrupt", "times": 1})
    await unlock(rig)
    assert "sig BAD" in printed[0] and printed[0].endswith("-> 401")
    assert rig.journal(type="status")[0]["httpStatus"] == 401  # the simulator saw it refused


async def test_accept_bad_signatures_answers_200_anyway(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, printed = listening
    listener.accept_bad_signatures = True
    await rig.client.post("/_sim/push-chaos", json={"action": "corrupt", "times": 1})
    await unlock(rig)
    assert "sig BAD" in printed[0] and printed[0].endswith("-> 200")
    assert [r["outcome"] for r in rig.journal(type="status")] == ["delivered"]


async def test_several_platforms_each_with_its_secret(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, printed = listening
    headers, [imei] = add_tenant(rig.sim, "E30001", "other-secret", vehicles=1)
    rig.sim.platforms["E30001"].callback_url = rig.sim.platforms["A20081"].callback_url
    await unlock(rig)
    await vendor_call(rig.client, "unlock", {"iotCode": imei}, headers=headers)
    await rig.settle()
    assert "sig ok" in printed[0]
    assert "sig BAD (no secret for E30001)" in printed[1]
    listener.secrets = parse_secrets([f"A20081={DEMO_CLIENT_SECRET}", "E30001=other-secret"])
    vehicle_row = rig.sim.fleet.find(imei)
    assert vehicle_row is not None
    alerts.raise_alert(rig.sim.fleet, vehicle_row, 1, rig.sim.clock.now, rig.sim.bus)
    await rig.settle()
    assert imei in printed[2] and "sig ok" in printed[2]


async def test_fail_rate_makes_the_simulator_retry(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, printed = listening
    listener.fail_rate = 1.0
    await unlock(rig)
    await rig.advance(5)
    assert [r["outcome"] for r in rig.journal(type="status")] == ["retry", "failed"]
    assert [r["httpStatus"] for r in rig.journal(type="status")] == [500, 500]
    assert printed[0].endswith("-> 500 (--fail-rate)")


def test_fail_rate_draws_are_seeded() -> None:
    def draws(seed: int) -> list[bool]:
        listener = Listener(fail_rate=0.5, seed=seed)
        return [bool(listener.rng.random() < 0.5) for _ in range(40)]

    assert draws(3) == draws(3) and True in draws(3) and False in draws(3)


async def test_delay_beyond_the_timeout_makes_the_simulator_retry(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, _ = listening
    listener.delay = 0.3
    rig.dispatcher.timeout = 0.1
    await unlock(rig)
    [record] = rig.journal(type="status")
    assert record["outcome"] == "retry" and "no answer" in record["error"]
    rig.dispatcher.timeout = 5.0
    await rig.advance(5)
    second = rig.journal(type="status")[1]
    assert second["outcome"] == "delivered" and second["latencyMs"] >= 300


async def test_forward_to_relays_verified_pushes_and_answers_with_the_partners_status(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, printed = listening
    partner = Receiver(rig.sim)
    await partner.start()
    try:
        listener.forward_to = partner.url
        await unlock(rig)
        [got] = partner.got
        assert got.path == "/hook/v2/vehicle/status" and got.signed_by()
        assert got.form == rig.journal(type="status")[0]["fields"]  # the body, as sent

        async def busy(got: object) -> int:
            return 503

        partner.behaviour = busy
        row = rig.sim.fleet.find(EXAMPLE_IMEI)
        assert row is not None
        alerts.raise_alert(rig.sim.fleet, row, 1, rig.sim.clock.now, rig.sim.bus)
        await rig.settle()
        assert rig.journal(type="alert")[0]["httpStatus"] == 503  # the partner's answer
        assert "(forwarded:" in printed[-1]

        partner.behaviour = answer_200
        await rig.client.post("/_sim/push-chaos", json={"action": "corrupt", "times": 1})
        alerts.raise_alert(rig.sim.fleet, row, 3, rig.sim.clock.now, rig.sim.bus)
        await rig.settle()
        assert len(partner.got) == 2  # the bad one was not relayed
        assert "sig BAD" in printed[-1] and "not forwarded" in printed[-1]
    finally:
        assert partner.server is not None
        await partner.server.close()


async def test_forward_to_a_dead_receiver_answers_502(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    listener, printed = listening
    listener.forward_to = "http://127.0.0.1:9/nowhere"
    await unlock(rig)
    assert rig.journal(type="status")[0]["httpStatus"] == 502
    assert "forward failed" in printed[0]


async def test_other_paths_get_404(rig: Rig, listening: tuple[Listener, Printed]) -> None:
    _, printed = listening
    url = rig.sim.platforms["A20081"].callback_url
    assert url is not None
    async with rig.client.session.post(url + "/v2/vehicle/teleport", data=b"a=1") as resp:
        assert resp.status == 404
    assert "/v2/vehicle/teleport  -> 404" in printed[0]


def test_secret_arguments() -> None:
    assert parse_secrets(()) == {"A20081": DEMO_CLIENT_SECRET}
    assert parse_secrets(["s3cret", "E1=x"]) == {None: "s3cret", "E1": "x"}
    with pytest.raises(click.BadParameter):
        parse_secrets(["E1="])


def test_the_cli_offers_listen_and_checks_its_options() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["listen", "--help"]).exit_code == 0
    for bad in (["--fail-rate", "2"], ["--delay", "-1"], ["--port", "70000"]):
        result = runner.invoke(main, ["listen", *bad])
        assert result.exit_code == 2, bad


async def test_segway_sim_listen_end_to_end(rig: Rig) -> None:
    """The real command in its own process: the simulator pushes, it prints `sig ok`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from simulator.cli.main import main; main()", "listen",
        "--port", "0",
        "--secret", f"A20081={DEMO_CLIENT_SECRET}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        url = re.search(r"listening on (http://\S+)", first)
        assert url, first
        rig.sim.platforms["A20081"].callback_url = url.group(1)
        await unlock(rig)
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "status" in line and EXAMPLE_IMEI in line and "sig ok" in line, line
        assert rig.journal(type="status")[0]["outcome"] == "delivered"
    finally:
        proc.terminate()
        await proc.wait()


async def test_capture_keeps_every_push_as_received_one_json_line_each(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    """--capture: what `segway-sim contract --push-capture` reads; bad signatures and unknown
    paths too (a cloud that pushes those has drifted, and the contract should say so)."""
    listener, _ = listening
    listener.capture = io.StringIO()
    await unlock(rig)
    await rig.client.post("/_sim/push-chaos", json={"action": "corrupt", "times": 1})
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_alert(rig.sim.fleet, row, 12, rig.sim.clock.now, rig.sim.bus)
    await rig.settle()
    url = rig.sim.platforms["A20081"].callback_url
    assert url is not None
    async with rig.client.session.post(url + "/v2/vehicle/teleport", data=b"a=1") as resp:
        assert resp.status == 404
    status, alert, teleport = [json.loads(line)
                               for line in listener.capture.getvalue().splitlines()]
    sent = {r["type"]: r["fields"] for r in rig.journal()}
    assert status["path"] == "/partner/v2/vehicle/status"
    assert status["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(status["body"])) == sent["status"]
    assert alert["path"].endswith("/v2/vehicle/alert")
    assert dict(parse_qsl(alert["body"])) == sent["alert"]  # the corrupt signature as sent
    assert teleport["path"] == "/partner/v2/vehicle/teleport" and teleport["body"] == "a=1"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00", c["receivedAt"])
               for c in (status, alert, teleport))


async def test_capture_keeps_a_body_that_is_not_utf8_byte_for_byte(
    rig: Rig, listening: tuple[Listener, Printed], tmp_path: Path
) -> None:
    listener, _ = listening
    listener.capture = io.StringIO()
    url = rig.sim.platforms["A20081"].callback_url
    assert url is not None
    raw = b"iotCode=\xff\xfe&platformCode=A20081"
    async with rig.client.session.post(url + "/v2/vehicle/status", data=raw) as resp:
        assert resp.status == 401
    capture = tmp_path / "pushes.jsonl"
    capture.write_text(listener.capture.getvalue())
    [captured] = read_capture(capture)
    assert captured.body == raw


def test_capture_to_a_file_that_cannot_be_opened_is_one_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["listen", "--capture", str(tmp_path / "no" / "x.jsonl")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("Error:"), result.output
    assert "--capture" in result.output


async def test_a_v1_platforms_status_pushes_are_heard_and_verified(
    rig: Rig, listening: tuple[Listener, Printed]
) -> None:
    """pushFormat v1: {callback}/vehicle/status, no platformCode; the demo secret verifies it
    (an alert, which has no v1 form, is not pushed at all)."""
    _, printed = listening
    rig.sim.platforms["A20081"].push_format = "v1"
    await unlock(rig)
    row = rig.sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    alerts.raise_alert(rig.sim.fleet, row, 12, rig.sim.clock.now, rig.sim.bus)
    await rig.advance(10)
    assert len(printed) == 2 and all(" status " in line for line in printed), printed
    assert all("sig ok" in line and line.endswith("-> 200") for line in printed), printed
    assert [r["url"].rsplit("/", 2)[-2:] for r in rig.journal()] == [["vehicle", "status"]] * 2
