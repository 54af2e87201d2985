"""`segway-sim bench`: the REST benchmark (benchmarks/bench_rest.py) from a source checkout.

The harness, its baseline app and its load generator live in the repository's benchmarks/ folder
(they are not part of the installed package); this command finds them beside the `simulator`
package and runs the harness in this Python with the arguments given (`segway-sim bench --help`
lists them). How it measures: docs/speed.md; what it measured: benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rest.py"


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
               add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Benchmark the REST surface against a bare aiohttp baseline (benchmarks/bench_rest.py)."""
    if not HARNESS.is_file():
        raise click.ClickException(
            f"segway-sim bench runs {HARNESS.relative_to(HARNESS.parents[1])} from a source "
            "checkout of segway-sim (an installed wheel does not ship benchmarks/)")
    env = {**os.environ, "SEGWAY_SIM_BENCH_CLI": "1"}
    sys.exit(subprocess.call([sys.executable, str(HARNESS), *args], env=env))
