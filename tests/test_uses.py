"""`segway-sim uses`: a uses file for `contract --uses`, derived from what a partner's code did
against the simulator (its request and push journals), in a fresh process as partners run it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from simulator.contract.drift import load_uses
from simulator.testing.plugin import http_json


def segway_sim_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from simulator.cli.main import main; main()",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_what_the_code_called_and_received_becomes_the_uses_file(
        segway_sim: Any, push_receiver: Any, tmp_path: Path) -> None:
    imei = segway_sim.imeis[0]
    for method, path, body in (
        ("GET", f"/api/v2/vehicle/query/current/status?iotCode={imei}", None),
        ("POST", "/api/v2/vehicle/control/unlock", {"iotCode": imei}),
    ):
        status, answer = http_json(method, segway_sim.url + path, body, headers=segway_sim.auth)
        assert status == 200 and answer["code"] == 0
    push_receiver.wait(type="status", iotCode=imei)
    out = tmp_path / "uses.toml"
    run = segway_sim_cli("uses", segway_sim.url, "-o", str(out), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert tomllib.loads(out.read_text()) == {"uses": {
        "push:status": ["*"], "status": ["*"], "unlock": ["*"]}}
    assert load_uses(out).endpoint("push:status")  # what contract --uses reads
    assert run.stderr.strip() == f"3 endpoints and pushes written to {out}"


def test_another_platform_sees_none_of_it(segway_sim: Any, tmp_path: Path) -> None:
    imei = segway_sim.imeis[0]
    http_json("GET", f"{segway_sim.url}/api/v2/vehicle/query/current/status?iotCode={imei}",
              headers=segway_sim.auth)
    run = segway_sim_cli("uses", segway_sim.url, "--platform", "E99999", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"Error: {segway_sim.url} has journaled no vendor call of E99999: run your tests against "
        "it first"]
    mine = segway_sim_cli("uses", segway_sim.url, "--platform", segway_sim.client_id,
                          cwd=tmp_path)
    assert mine.returncode == 0 and '"status" = ["*"]' in mine.stdout


def test_only_a_simulator_keeps_a_journal(tmp_path: Path) -> None:
    run = segway_sim_cli("uses", "http://127.0.0.1:1", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.startswith("Error: cannot reach http://127.0.0.1:1")
    assert len(run.stderr.splitlines()) == 1
