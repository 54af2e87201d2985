"""`segway-sim bench`: the REST benchmark (benchmarks/bench_rest.py) from a source checkout.

The harness, its baseline app and its load generator live in the repository's benchmarks/ folder
(they are not part of the installed package); this command checks its options as every command
does, finds the harness beside the `simulator` package and runs it in this Python with the
options given (the harness's own defaults for the rest, which these declare for --help; a test
keeps them equal). How it measures: docs/speed.md; what it measured: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from simulator.cli.checks import Failed, FiniteRange
from simulator.server import loops

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rest.py"
SCENARIOS = ("status", "mix", "push")


def _scenarios(ctx: click.Context, param: click.Parameter, value: str) -> str:
    unknown = {s.strip() for s in value.split(",") if s.strip()} - set(SCENARIOS)
    if unknown:
        raise click.BadParameter(f"unknown scenario(s) {', '.join(sorted(unknown))}; "
                                 f"the scenarios: {', '.join(SCENARIOS)}")
    return value


@click.command(short_help="Benchmark the REST surface against a bare aiohttp baseline.")
@click.option("--vehicles", type=click.IntRange(1), default=100_000, show_default=True,
              help="Fleet size of the simulator (the baseline serves the same IMEIs).")
@click.option("--connections", type=click.IntRange(1), default=64, show_default=True,
              help="Keep-alive connections of the load generator.")
@click.option("--seconds", type=FiniteRange(0, min_open=True), default=10.0, show_default=True,
              help="Measured seconds per run.")
@click.option("--warmup", type=FiniteRange(0), default=2.0, show_default=True,
              help="Seconds of load before each measured run.")
@click.option("--rounds", type=click.IntRange(1), default=3, show_default=True,
              help="Runs per server and scenario (baseline and simulator alternate).")
@click.option("--scenarios", default=",".join(SCENARIOS), show_default=True,
              callback=_scenarios, help="Comma-separated: status (GETs), mix (10 % sound "
                                        "POSTs), push (GETs while vehicles ride and push).")
@click.option("--riding", type=click.IntRange(0), default=10_000, show_default=True,
              help="Riding vehicles of the push scenario.")
@click.option("--loadgen", type=click.Choice(["auto", "wrk", "python"]), default="auto",
              show_default=True, help="auto: wrk when installed, else benchmarks/loadgen.py.")
@click.option("--loop", type=click.Choice(loops.CHOICES), default="auto", show_default=True,
              help="Event loop of the simulator, and of the baseline with it.")
@click.option("--server-core", type=click.IntRange(0), default=0, show_default=True,
              help="CPU the servers are pinned to (taskset).")
@click.option("--client-core", type=click.IntRange(0), default=1, show_default=True,
              help="CPU the load generator and the push receiver are pinned to.")
@click.option("--out", default=None, metavar="FILE",
              help="Where the report goes ('-': print only).  [default: benchmarks/RESULTS.md]")
@click.option("--quick", is_flag=True,
              help="A smoke run: 10,000 vehicles, 1 round of 3 s, 1,000 riding.")
@click.pass_context
def bench(ctx: click.Context, **options: object) -> None:
    """Benchmark the REST surface against a bare aiohttp baseline, same load, same run.

    Starts the simulator and benchmarks/bench_rest.py's baseline on loopback, pinned to
    --server-core, and measures requests/s and latency under the same load generator; writes
    the report to benchmarks/RESULTS.md. Runs from a source checkout (docs/speed.md).
    """
    if not HARNESS.is_file():
        raise Failed("segway-sim bench runs benchmarks/bench_rest.py from a source checkout of "
                     "segway-sim (an installed wheel does not ship benchmarks/)")
    env = {**os.environ, "SEGWAY_SIM_BENCH_CLI": "1"}
    ctx.exit(subprocess.call([sys.executable, str(HARNESS), *harness_args(ctx)], env=env))


def harness_args(ctx: click.Context) -> list[str]:
    """The options given, as the harness reads them; only those, as its report quotes them."""
    argv: list[str] = []
    for name, value in ctx.params.items():
        if ctx.get_parameter_source(name) in (ParameterSource.DEFAULT, None):
            continue
        flag = "--" + name.replace("_", "-")
        text = f"{value:g}" if isinstance(value, float) else str(value)
        argv += [flag] if value is True else [] if value is False else [flag, text]
    return argv
