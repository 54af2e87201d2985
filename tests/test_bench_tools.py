"""The REST benchmark's own parts work (no speed is measured here: benchmarks/ does that)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.cli.bench import SCENARIOS, bench, harness_args
from simulator.core import readings
from simulator.sim import Simulator
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, VENDOR_PATHS

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import baseline_app  # noqa: E402
import bench_rest  # noqa: E402
import loadgen  # noqa: E402


async def test_the_baseline_answers_the_same_shape_as_the_simulator(client: TestClient,
                                                                    sim: Simulator) -> None:
    async with TestClient(TestServer(baseline_app.make_app(sim.fleet.imeis),
                                     host="127.0.0.1")) as base:
        resp = await base.get(VENDOR_PATHS["status"], params={"iotCode": EXAMPLE_IMEI},
                              headers=AUTH)
        theirs = await resp.json()
        assert resp.content_type == "application/json"
        ours = await (await client.get(VENDOR_PATHS["status"], params={"iotCode": EXAMPLE_IMEI},
                                       headers=AUTH)).json()
        assert list(theirs) == list(ours)
        assert list(theirs["data"]) == list(readings.status(sim.fleet, 0))
        bad = await (await base.get(VENDOR_PATHS["status"], params={"iotCode": EXAMPLE_IMEI},
                                    headers={"Authorization": "bearer x"})).json()
        unknown = await (await base.get(VENDOR_PATHS["status"], params={"iotCode": "1"},
                                        headers=AUTH)).json()
        sound = await (await base.post(VENDOR_PATHS["sound"], headers=AUTH, json={
            "iotCode": EXAMPLE_IMEI, "controlType": 2})).json()
        assert (bad["code"], unknown["code"], sound["code"]) == (15101, 15102, 0)


@pytest.mark.parametrize("mix", [0, 10])
async def test_the_python_load_generator_sends_what_it_says(client: TestClient, sim: Simulator,
                                                            mix: int) -> None:
    imeis = sim.fleet.imeis
    host = f"{client.server.host}:{client.server.port}"
    gen = loadgen.Generator(loadgen.build_requests(host, imeis, sim.tokens.newest["A20081"].value,
                                                   mix), seconds=60, max_requests=200)
    result = await gen.run(client.server.host, int(client.server.port or 0), connections=4)
    assert (result["requests"], result["errors"], result["non2xx"]) == (200, 0, 0)
    assert result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    calls = sim.requests.select()
    assert len(calls) == 200
    assert sum(r["endpoint"] == "sound" for r in calls) == (20 if mix else 0)
    assert {r["iotCode"] for r in calls} == set(imeis)  # it rotates over the whole fleet


def test_the_report_says_whether_each_goal_is_met() -> None:
    args = bench_rest.parse(["--rounds", "1", "--out", "-"])

    def run(rps: float, p99: float) -> dict[str, Any]:
        return {"rps": rps, "p50_ms": 1.0, "p99_ms": p99, "cpu_us": 50_000 / rps}

    status = bench_rest.Scenario("status", {"baseline": [run(1000, 5)], "sim": [run(950, 12)]})
    mix = bench_rest.Scenario("mix", {"baseline": [run(1000, 5)], "sim": [run(700, 9)]})
    text = bench_rest.report(args, [status, mix], "wrk")
    assert ("| status | sim | 950 | 1.00 | 12.00 | 0.95 | >= 0.9x, p99 <= 30 ms ok | 52.6 | 0.95 |"
            in text)
    assert "| mix | sim | 700 | 1.00 | 9.00 | 0.70 | >= 0.8x MISSED | 71.4 | 0.70 |" in text
    assert "- machine: " in text and "benchmarks/bench_rest.py --rounds 1 --out -" in text


def test_segway_sim_bench_declares_the_harness_options_and_defaults() -> None:
    harness = vars(bench_rest.parse([]))
    ours = bench.make_context("bench", []).params
    assert set(ours) == set(harness) - {"argv"}
    assert ours.pop("scenarios") == ",".join(bench_rest.TARGETS) == ",".join(SCENARIOS)
    assert ours.pop("out") is None and harness["out"] == str(BENCH / "RESULTS.md")  # as --help
    assert ours == {name: harness[name] for name in ours}


def test_segway_sim_bench_passes_the_harness_only_the_options_given() -> None:
    typed = ["--rounds", "2", "--seconds", "0.5", "--loop", "asyncio", "--quick", "--scenarios",
             "mix", "--out", "-"]
    given = harness_args(bench.make_context("bench", list(typed)))  # it consumes its list
    assert given == typed
    args = bench_rest.parse(given)
    assert (args.rounds, args.seconds, args.scenarios, args.loop, args.vehicles) == (
        1, 3.0, ["mix"], "asyncio", 10_000)  # --quick overrides, as from the harness's own CLI
    assert harness_args(bench.make_context("bench", [])) == []


def test_the_soak_benchmark_runs_and_reports_its_figures() -> None:
    """benchmarks/soak.py end to end, for seconds at tiny rates (its real run: RESULTS.md)."""
    run = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--minutes", "0.1", "--warmup", "2", "--rate",
         "40", "--pushes", "20", "--vehicles", "400", "--connections", "4"],
        capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"requests : [\d,]+ req/s .* 0 connection errors, 0 non-2xx", out), out
    retried = re.search(r"delivered ([\d,]+), retried ([\d,]+), failed [\d,]+, dropped", out)
    assert retried, out  # the receiver fails 10 % of the pushes: some are retried
    assert int(retried[1].replace(",", "")) > 0 and int(retried[2].replace(",", "")) > 0
    assert re.search(r"RSS      : [\d.]+ MB after warm-up, [\d.]+ MB at the end", out), out
    assert re.search(r"journals : requests [\d,]+/10,000 retained", out), out


def test_the_rush_hour_benchmark_plays_the_story_and_reports_its_figures() -> None:
    """benchmarks/bench_rush.py end to end at 40 vehicles, 600 times real time (its real run,
    100,000 vehicles at speed 1: RESULTS.md)."""
    run = subprocess.run(
        [sys.executable, str(BENCH / "bench_rush.py"), "--vehicles", "40", "--speed", "600",
         "--check"], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"75 min: rentals +\d+ +pushes +[\d,]+ +delivered", out), out
    found = re.search(r"pushes ([\d,]+) \(.*\); delivered ([\d,]+), retried 0, failed 0, "
                      r"dropped 0, unread 0", out)
    assert found and found[1] == found[2], out
    assert re.search(r"peak memory: the run [\d,]+ MB, the server [\d,]+ MB", out), out
    assert out.count("ok     ") == 6 and "targets: met" in out, out
