"""One tick of the living fleet: 1 s of virtual time over N vehicles with a share riding.

    taskset -c 0 .venv/bin/python benchmarks/bench_tick.py                 # 100,000, 20 % riding
    taskset -c 0 .venv/bin/python benchmarks/bench_tick.py --vehicles 1000000

Prints the median and p90/p99/max wall time of the world's 1 s step (riders + physics; every
SLOW_S-th one also runs the slow processes of the whole fleet, reported separately), of a whole
`Simulator.advance(1)` (which adds the other tickers, e.g. the push cadence), and the memory:
RSS growth per vehicle and the fleet's column bytes per vehicle.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import numpy as np

from simulator.core.fleet import COLUMNS
from simulator.sim import Config, Simulator
from simulator.world.physics import SLOW_S


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def summary(label: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return (f"{label:<34} n={len(ms):<5} median {statistics.median(ms):7.2f} ms   "
            f"p90 {pick(0.9):7.2f}   p99 {pick(0.99):7.2f}   max {ms[-1]:7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--riding", type=float, default=0.2, help="share of the fleet riding")
    ap.add_argument("--ticks", type=int, default=300, help="1 s world steps to time")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    sim = Simulator(Config(seed=args.seed, vehicles=args.vehicles, paused=True))
    built = time.perf_counter() - started
    f = sim.fleet
    n = len(f)
    # A share of the fleet unlocked and ridden, for longer than the benchmark runs.
    rows = np.flatnonzero(np.arange(n) % max(1, round(1 / args.riding)) == 0) if args.riding else []
    sim.make_healthy(np.asarray(rows, dtype=np.int64))
    f.locked[rows] = False
    for row in rows:
        sim.world.start_ride(int(row), seconds=10 * 3600.0)
    sim.advance(30)  # everyone mounted and on the way
    gc.collect()
    rss = rss_bytes() - before
    column_bytes = sum(f.column(name).nbytes for name in COLUMNS)

    whole = []
    for _ in range(min(args.ticks, 100)):
        t0 = time.perf_counter()
        sim.advance(1)
        whole.append(time.perf_counter() - t0)
    # The world's step alone (the clock stays behind: nothing else runs).
    world = sim.world
    step, slow, cpu = [], [], []
    for _ in range(args.ticks):
        t = world.cursor + 1
        t0, c0 = time.perf_counter(), time.process_time()
        world.step(t)
        (slow if t % SLOW_S == 0 else step).append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        world.cursor = t

    print(f"vehicles {n:,}  riding {int(f.riding.sum()):,}  (built in {built:.2f} s)")
    print(summary("world step (1 s, riding only)", step))
    print(summary("world step on the minute (+ slow)", slow))
    print(summary("all 1 s steps", step + slow))
    print(summary("all 1 s steps, CPU time", cpu))
    print(summary("Simulator.advance(1) (all tickers)", whole))
    print(f"memory: RSS +{rss / 2**20:.0f} MiB = {rss / n:.0f} B/vehicle; "
          f"fleet columns {column_bytes / n:.0f} B/vehicle")


if __name__ == "__main__":
    main()
