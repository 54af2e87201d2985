"""An advance of 24 virtual hours over a fleet: how long the clock jump takes in wall time.

    taskset -c 0 .venv/bin/python benchmarks/bench_advance.py              # 10,000 vehicles
    taskset -c 0 .venv/bin/python benchmarks/bench_advance.py --vehicles 100000 --hours 1

Three days of the same fleet (same seed), each one `Simulator.advance(hours * 3600)` call:
- idle: nobody unlocks (chance incidents, drain, GPS drift, signal, pushes due);
- morning: 20 % of the fleet unlocked at the start, riders ride and lock, then idle;
- demand: riders unlock vehicles all day (--rides-per-vehicle a day, spread evenly, each an
  unlock command as a partner's app would send), so some vehicles ride at every moment.
Prints wall and CPU seconds, the number of clock steps and the events published.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np

from simulator.core.errors import VendorError
from simulator.sim import Config, Simulator


def run(args: argparse.Namespace, label: str) -> None:
    sim = Simulator(Config(seed=args.seed, vehicles=args.vehicles, paused=True))
    events = []
    sim.bus.subscribe(events.append)
    f, n = sim.fleet, len(sim.fleet)
    seconds = args.hours * 3600.0
    rng = np.random.default_rng(args.seed)
    if label == "morning":
        for row in range(0, n, 5):
            with contextlib.suppress(VendorError):  # offline, dormant, ... as in a real fleet
                sim.vendor.execute(row, "unlock", {})
    elif label == "demand":
        rides = int(args.rides_per_vehicle * n * args.hours / 24)

        def unlock(row: int) -> None:
            if f.locked[row]:
                with contextlib.suppress(VendorError):
                    sim.vendor.execute(row, "unlock", {})

        for at, row in zip(np.sort(rng.uniform(0, seconds, rides)), rng.integers(0, n, rides),
                           strict=True):
            sim.call_at(sim.clock.now + float(at), lambda r=int(row): unlock(r))
    steps0, w0, c0 = sim.step_count, time.perf_counter(), time.process_time()
    sim.advance(seconds)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"{label:<8} {n:>9,} vehicles  {args.hours:g} h in {wall:6.2f} s wall "
          f"({cpu:6.2f} s CPU), {sim.step_count - steps0:>6,} steps, {len(events):>7,} events, "
          f"riding at the end {int(f.riding.sum())}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=10_000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--rides-per-vehicle", type=float, default=2.0, help="per day (demand)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=("idle", "morning", "demand"))
    args = ap.parse_args()
    for label in ("idle", "morning", "demand"):
        if args.only in (None, label):
            run(args, label)


if __name__ == "__main__":
    main()
