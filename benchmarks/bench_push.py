"""Push figures: signed-push throughput next to a bare aiohttp client, and delivery lag at scale.

    taskset -c 0 .venv/bin/python benchmarks/bench_push.py            # both figures
    taskset -c 0 .venv/bin/python benchmarks/bench_push.py throughput
    taskset -c 0 .venv/bin/python benchmarks/bench_push.py lag --seconds 30

The receiver runs in its own process on the other core (core 1 when there is one) and answers
200 from a minimal asyncio protocol, so it is never what limits the sender.

throughput: 10,000 unlocked vehicles; each round the simulator makes, signs and queues 20,000
  location pushes (advance 20 virtual s), then its dispatcher delivers them; the bare client
  sends the same pre-encoded bodies to the same URLs with the same concurrency, in the same run,
  alternating rounds. Reported: pushes/s of each, and the ratio (target >= 0.9), both for
  delivery alone and for making + signing + delivering.
lag: `segway-sim serve` as it runs (paced virtual clock, speed 1) with 10,000 unlocked vehicles
  (1,000 location pushes due per second), for --seconds; lag = delivery time - due time, from
  the push journal (virtual ms) and from wall time. Target: p99 < 1 s, no drops. A vendor status
  query every 100 ms measures the REST surface meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import numpy as np

from simulator.push.dispatcher import Dispatcher
from simulator.push.outbox import Outbox, Push
from simulator.server.runner import start
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ok_receiver.py")


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    core = str((os.cpu_count() or 1) - 1)
    proc = subprocess.Popen([sys.executable, RECEIVER, core], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/hook"


def unlocked_fleet(n: int, url: str, **extra: Any) -> Simulator:
    sim = Simulator(Config(seed=1, vehicles=n, paused=True, riders=False, callback_url=url,
                           physics=PhysicsConfig.quiet(), extra=extra))
    rows = np.arange(n)
    sim.make_healthy(rows)
    sim.fleet.locked[:] = False  # directly: no unlock status pushes, only the 10 s cadence
    return sim


# -- throughput -----------------------------------------------------------------------------------


class Timer:
    """Wall and CPU (this process only: robust when others share the machine) seconds."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


async def bare(bodies: list[tuple[str, bytes]], concurrency: int) -> Timer:
    """Send pre-encoded forms with a plain aiohttp client."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        work = iter(bodies)

        async def worker() -> None:
            for url, body in work:
                async with session.post(url, data=body, headers=FORM) as resp:
                    await resp.read()
                    assert resp.status == 200

        with Timer() as timer:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return timer


def other_core(dispatcher: Dispatcher) -> None:
    """Pin a process dispatcher's sender to the other core (this process is pinned to one)."""
    child = getattr(dispatcher._sender, "_child", None)
    if child is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(child.pid, {(os.cpu_count() or 1) - 1})


async def throughput(url: str, rounds: int) -> float:
    """Prints the figures; returns the process sender's wall ratio to the bare client."""
    sim = unlocked_fleet(10_000, url, push_queue=50_000, push_journal_size=1000)
    dispatchers = {"sim": Dispatcher(sim.outbox), "proc": Dispatcher(sim.outbox,
                                                                     delivery="process")}
    rates: dict[str, list[float]] = {}
    n = 0
    for _ in range(rounds):
        plain: Timer | None = None
        for name, dispatcher in dispatchers.items():
            with Timer() as made:
                sim.advance(20)  # 20,000 location pushes made, signed and queued
            queued: list[Push] = [p for q in sim.outbox.queues.values() for p in q]
            n = len(queued)
            if plain is None:
                plain = await bare([(p.url, p.body) for p in queued], dispatcher.concurrency)
                rates.setdefault("bare", []).append(n / plain.wall)
                rates.setdefault("bare_cpu", []).append(n / plain.cpu)
            before = sim.outbox.counters["delivered"]
            await dispatcher.start()
            other_core(dispatcher)
            with Timer() as sent:
                await dispatcher.drain()
            await dispatcher.stop()
            assert sim.outbox.counters["delivered"] - before == n
            for key, t in ((name, sent.wall), (f"{name}_full", sent.wall + made.wall),
                           (f"{name}_cpu", sent.cpu), (f"{name}_full_cpu", sent.cpu + made.cpu)):
                rates.setdefault(key, []).append(n / t)
    m = {k: statistics.median(v) for k, v in rates.items()}
    print(f"throughput: {rounds} rounds of {n} pushes, concurrency "
          f"{dispatchers['sim'].concurrency}, medians; per wall second | per CPU second of this "
          "process")
    print(f"  bare aiohttp client, pre-encoded forms : {m['bare']:6.0f} /s | "
          f"{m['bare_cpu']:6.0f} /s")
    for name, where in (("sim", "its own loop"), ("proc", "a sender process")):
        print(f"  dispatcher, HTTP on {where:17}: {m[name]:6.0f} /s | {m[name + '_cpu']:6.0f} /s"
              f"   ratio {m[name] / m['bare']:.2f} | {m[name + '_cpu'] / m['bare_cpu']:.2f}")
        print(f"    with making + signing              : {m[name + '_full']:6.0f} /s | "
              f"{m[name + '_full_cpu']:6.0f} /s   ratio {m[name + '_full'] / m['bare']:.2f} | "
              f"{m[name + '_full_cpu'] / m['bare_cpu']:.2f}")
    return m["proc"] / m["bare"]


# -- lag at scale ---------------------------------------------------------------------------------


async def lag(url: str, seconds: float) -> None:
    sim = unlocked_fleet(10_000, url, push_journal_size=200_000)
    sim.clock.paused = False
    done: list[tuple[float, float]] = []  # (wall at completion, due)
    original = Outbox.attempted

    def attempted(self: Outbox, push: Push, *args: Any) -> None:
        done.append((time.monotonic(), push.due))
        original(self, push, *args)

    Outbox.attempted = attempted  # type: ignore[method-assign]
    anchor_wall, anchor_virt = time.monotonic(), sim.clock.now
    running = await start(sim, pace=True)
    rest: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            query = (f"{running.url}/api/v2/vehicle/query/current/status"
                     f"?iotCode={sim.fleet.imeis[0]}")
            headers = {"Authorization": f"bearer {DEMO_TOKEN}"}
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                t = time.perf_counter()
                async with session.get(query, headers=headers) as resp:
                    assert (await resp.json())["code"] == 0
                rest.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.1)
    finally:
        await running.stop()
        Outbox.attempted = original  # type: ignore[method-assign]
    records = sim.pushes.select({"outcome": "delivered"})
    virtual = np.array([r["t"] - r["due"] for r in records], dtype=float)
    wall = np.array([(w - anchor_wall) - (due - anchor_virt) for w, due in done]) * 1000
    c = sim.outbox.counters
    warm = virtual.size
    print(f"lag: 10,000 unlocked vehicles, paced at speed 1 for {seconds:g} s wall "
          f"({sim.clock.now - anchor_virt:.1f} virtual s):")
    print(f"  delivered {c['delivered']} ({c['delivered'] / seconds:.0f}/s), retried "
          f"{c['retry']}, failed {c['failed']}, dropped {c['dropped']}, still queued "
          f"{sim.outbox.pending()}")
    for name, arr in (("journal (virtual ms)", virtual), ("wall ms", wall)):
        if arr.size:
            p50, p99 = np.percentile(arr, [50, 99])
            print(f"  lag {name:20}: p50 {p50:7.1f}  p99 {p99:7.1f}  max {arr.max():7.1f}")
    if rest:
        p50, p99 = np.percentile(rest, [50, 99])
        print(f"  REST status query meanwhile: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"({len(rest)} queries)")
    assert warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=("throughput", "lag", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    if hasattr(os, "sched_getaffinity"):
        print(f"sender on cores {sorted(os.sched_getaffinity(0))} "
              f"(pin with taskset -c 0), python {sys.version.split()[0]}, "
              f"aiohttp {aiohttp.__version__}")
    proc, url = start_receiver()
    try:
        if args.what in ("throughput", "all"):
            asyncio.run(throughput(url, args.rounds))
        if args.what in ("lag", "all"):
            asyncio.run(lag(url, args.seconds))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
