"""The rush hour at fleet scale, as the push storm (issue 15, item 4).

    .venv/bin/python benchmarks/bench_rush.py                      # 100,000 vehicles at speed 1
    .venv/bin/python benchmarks/bench_rush.py --vehicles 20000 --speed 4 --check

Starts `segway-sim serve --vehicles 1 --riders off --push-delivery process` pinned to the server
core (its sender process moved to the client core, as bench_storm.py does) and a push receiver
that answers 200 on the client core, then plays the `rush-hour` scenario against it from this
process, as `segway-sim scenario rush-hour --vehicles N --base-url URL --callback RECEIVER
--speed S` does (the same code: server/scenario_session.play), pinned to the client core too.
The full story is 1 h 16 min of virtual time: at speed 1, that long in wall time, its peak about
20 % riding.

Reported each virtual 5 minutes and at the end: how far the story trails its pace (wall time
behind virtual time / speed), pushes delivered per wall second, push lag p99 (from /metrics),
drops and records the run could not read, the memory of the run and of the server (peak RSS),
and every outcome. `--check` exits 1 unless the outcomes all happened, nothing was dropped or
unread and, from its first minute on, the story never trailed its pace by more than 5 s (at
second 0 it sets up: at 100,000 vehicles, 8,333 control-plane calls make some vehicles nearly
flat, and the minute after it catches up). (The push lag is virtual time:
the run moves a paused clock a second at a time, so a push due early in a slice is delivered at
its end, up to a second "late" by design.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_rest import RECEIVER, launch, machine, push_counters  # noqa: E402
from bench_storm import children, lag_buckets, p99  # noqa: E402

from simulator.scenarios import get  # noqa: E402
from simulator.scenarios.model import plan  # noqa: E402
from simulator.scenarios.runner import Result, Run, Watcher  # noqa: E402
from simulator.server.scenario_session import play  # noqa: E402

REPORT_EVERY_S = 300.0  # virtual seconds between two lines of the report
CATCH_UP_S = 60.0  # the story's set-up at second 0 may leave it behind until then
MAX_BEHIND_S = 5.0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Pace(Watcher):
    """Samples how far the story trails its pace, and reports every few virtual minutes."""

    def __init__(self, speed: float, sim_url: str) -> None:
        self.speed, self.sim_url = speed, sim_url
        self.created = self.origin = time.monotonic()
        self.behind: list[float] = []  # wall seconds behind pace, at each slice
        self.first_step_s = 0.0  # how long the story's second 0 took (its set-up patches)
        self.next_report = REPORT_EVERY_S
        self.last = (0.0, 0)  # (wall, delivered) at the last report
        self.reported = 0  # samples of `behind` reported so far

    def started(self, run: Run) -> None:
        self.origin = time.monotonic()
        self.last = (self.origin, 0)
        print(f"  fleet of {run.plan.size:,} on platform {run.platform} set up in "
              f"{time.monotonic() - self.created:.0f} s; the story begins", flush=True)

    def progressed(self, t: float, counters: Mapping[str, int]) -> None:
        now = time.monotonic()
        behind = max(0.0, now - self.origin - t / self.speed)
        if not self.first_step_s:  # second 0 does the story's set-up: caught up in a minute
            self.first_step_s = now - self.origin
        elif t > CATCH_UP_S:
            self.behind.append(behind)
        if t < self.next_report:
            return
        self.next_report += REPORT_EVERY_S
        wall, delivered = self.last
        rate = (counters["delivered"] - delivered) / max(now - wall, 1e-9)
        window = self.behind[self.reported:] or [0.0]
        self.last, self.reported = (now, counters["delivered"]), len(self.behind)
        print(f"  {t / 60:5.0f} min: rentals {counters['rentals']:7,}  pushes "
              f"{counters['pushes']:9,}  delivered {rate:6,.0f}/s  behind pace at most "
              f"{max(window):4.1f} s", flush=True)


def rush(args: argparse.Namespace) -> tuple[Result, Pace, dict[str, Any]]:
    cmd = [sys.executable, "-m", "simulator.cli.main", "serve", "--vehicles", "1", "--port", "0",
           "--riders", "off", "--push-delivery", args.push_delivery]
    receiver = subprocess.Popen([sys.executable, RECEIVER, str(args.client_core)],
                                stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    hook = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hook"
    sim = launch("simulator", cmd, args.server_core, r"serving \d+ vehicles on (http://\S+)", 120)
    try:
        for pid in (*children(sim.proc.pid), 0):  # the sender process and this one
            with contextlib.suppress(OSError, ValueError):  # a machine with one core
                os.sched_setaffinity(pid, {args.client_core})
        pace = Pace(args.speed, sim.url)
        lag_before = lag_buckets(sim.url)
        began = time.monotonic()
        chosen = plan(get("rush-hour"), vehicles=args.vehicles)
        print(f"  the story planned in {time.monotonic() - began:.1f} s: {len(chosen.steps):,} "
              "steps", flush=True)
        result = asyncio.run(play(chosen, speed=args.speed, callback=hook, base_url=sim.url,
                                  watcher=pace))
        lag_p99, within_1s = p99(lag_before, lag_buckets(sim.url))
        server = {"counters": push_counters(sim.url), "lag_p99": lag_p99, "within_1s": within_1s,
                  "rss": peak_rss_mb(sim.proc.pid),
                  "sender_rss": [peak_rss_mb(c) for c in children(sim.proc.pid)]}
    finally:
        sim.stop()
        receiver.terminate()
        receiver.wait()
    return result, pace, server


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--speed", type=float, default=1.0)
    ap.add_argument("--push-delivery", choices=("process", "local"), default="process",
                    help="serve's (pinned to one core, its auto would choose local)")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-core", type=int, default=1)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    print(f"bench_rush: {machine()}; rush-hour, {args.vehicles:,} vehicles, speed {args.speed:g}",
          flush=True)
    result, pace, server = rush(args)
    c, wall = result.counters, result.wall_s
    worst = max(pace.behind, default=0.0)
    dropped = server["counters"]["dropped"]
    run_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{result.plan.scenario.duration / 60:.0f} min of virtual time in {wall / 60:.1f} min "
          f"(set-up included); rentals {c['rentals']:,}, refused {c['refused']:,}, vendor calls "
          f"{c['calls']:,}")
    by_type = ", ".join(f"{k} {n:,}" for k, n in result.pushes_by_type.items())
    print(f"  pushes {c['pushes']:,} ({by_type}); delivered {c['delivered']:,}, retried "
          f"{c['retried']:,}, failed {c['failed']:,}, dropped {dropped}, unread {c['unread']}")
    last = pace.behind[-1] if pace.behind else 0.0
    print(f"  the story's second 0 took {pace.first_step_s:.1f} s; from its minute 1 on it "
          f"trailed its pace by {worst:.1f} s at most, {last:.1f} s at the end; push lag p99 <= "
          f"{server['lag_p99']:g} s ({server['within_1s']:.1%} within 1 s)")
    print(f"  peak memory: the run {run_rss:,.0f} MB, the server {server['rss']:,.0f} MB, its "
          f"sender {', '.join(f'{m:,.0f}' for m in server['sender_rss']) or '-'} MB")
    for v in result.verdicts:
        print(f"  {'ok    ' if v.ok else 'FAILED'} {v.what}: expected {v.expected}, observed "
              f"{v.observed}")
    ok = result.ok and dropped == 0 and c["unread"] == 0 and worst <= MAX_BEHIND_S
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
