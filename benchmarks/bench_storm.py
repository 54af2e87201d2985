"""The push storm: a city fleet pushing while a partner's status load runs (issue 15, item 3).

    .venv/bin/python benchmarks/bench_storm.py                      # 100,000 vehicles, 20 % riding
    .venv/bin/python benchmarks/bench_storm.py --push-delivery local --rounds 3

Starts `segway-sim serve --vehicles N --riders off --push-delivery D` pinned to the server core
(its sender process, if any, moved to the client core: the second core it exists to use), a
push receiver that answers 200 and the load generator on the client core (wrk when installed).
--riding vehicles ride for hours (each pushes status and location every 10 s, about 0.2 pushes
a second). Then rounds alternate, on the same riding fleet:

  off   the status load with the demo platform's callback unset: the rides tick, nothing pushes
  on    the same load with the callback set: every push is made, signed, journaled and sent

Reported: REST req/s of each (median over rounds) and their ratio (target >= 0.8), pushes
delivered per second during `on` next to the pushes due meanwhile, drops, and the push lag p99
(from /metrics' histogram; target < 1 s). Then the capacity: how fast this dispatcher delivers
a backlog next to a bare aiohttp client on one core (benchmarks/bench_push.py throughput; target
>= 0.9). `--check` exits 1 if a target is missed. Every process started here is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_push  # noqa: E402
import loadgen  # noqa: E402
from bench_rest import (  # noqa: E402
    PLATFORM,
    RECEIVER,
    TOKEN,
    clock,
    fleet_imeis,
    http,
    launch,
    machine,
    push_counters,
    start_rides,
    tree_cpu,
)

CLOCK_LAG = re.compile(r"^segway_sim_clock_lag_seconds (\S+)$", re.MULTILINE)
LAG = re.compile(r'^segway_sim_push_lag_seconds_bucket\{le="([^"]+)",type="[^"]+"\} (\S+)$',
                 re.MULTILINE)


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as resp:
        return str(resp.read().decode())


def clock_lag(url: str) -> float:
    """Virtual seconds the simulator trails wall time: > 0 when it cannot keep up."""
    found = CLOCK_LAG.search(scrape(url))
    return float(found.group(1)) if found else float("nan")


def lag_buckets(url: str) -> dict[float, float]:
    """Delivered pushes by lag bucket (cumulative, every type summed) from /metrics."""
    text = scrape(url)
    out: dict[float, float] = {}
    for le, count in LAG.findall(text):
        bound = float("inf") if le == "+Inf" else float(le)
        out[bound] = out.get(bound, 0.0) + float(count)
    return out


def p99(before: dict[float, float], after: dict[float, float]) -> tuple[float, float]:
    """(the smallest bucket bound holding 99 % of the pushes delivered meanwhile, share <= 1 s)."""
    delta = {le: after.get(le, 0) - before.get(le, 0) for le in sorted(after)}
    total = delta.get(float("inf"), 0)
    if not total:
        return float("nan"), float("nan")
    bound = next(le for le, n in delta.items() if n >= 0.99 * total)
    return bound, delta.get(1.0, 0) / total


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def storm(args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "simulator.cli.main", "serve", "--vehicles", str(args.vehicles),
           "--port", "0", "--riders", "off", "--physics", "quiet", "--push-delivery",
           args.push_delivery, *(["--push-concurrency", str(args.push_concurrency)]
                                 if args.push_concurrency else [])]
    receiver = subprocess.Popen([sys.executable, RECEIVER, str(args.client_core)],
                                stdout=subprocess.PIPE, text=True)
    assert receiver.stdout is not None
    hook = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hook"
    sim = launch("simulator", cmd, args.server_core, r"serving \d+ vehicles on (http://\S+)", 600)
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    try:
        for child in children(sim.proc.pid):  # the sender process: onto the other core
            os.sched_setaffinity(child, {args.client_core})
        clock(sim.url, paused=False)  # rides start spread over wall time, as in life
        riding = start_rides(sim.url, args.riding, 6 * 3600.0)
        clock(sim.url, paused=True)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(fleet_imeis(sim.url)) + "\n")
            imeis = f.name
        common = dict(url=sim.url, imeis=imeis, token=TOKEN, mix=0, connections=args.connections,
                      core=args.client_core, generator=args.loadgen)
        for n in range(args.rounds):
            for mode in (("off", "on") if n % 2 == 0 else ("on", "off")):
                http("PATCH", f"{sim.url}/_sim/platforms/{PLATFORM}",
                     {"callbackUrl": hook if mode == "on" else None})
                clock(sim.url, paused=False)
                loadgen.run(seconds=args.warmup, **common)  # type: ignore[arg-type]
                before, lag_before = push_counters(sim.url), lag_buckets(sim.url)
                cpu = tree_cpu(sim.proc.pid)
                result = loadgen.run(seconds=args.seconds, **common)  # type: ignore[arg-type]
                result["cpu_s"] = tree_cpu(sim.proc.pid) - cpu
                after, lag_after = push_counters(sim.url), lag_buckets(sim.url)
                result["clock_lag"] = clock_lag(sim.url)
                clock(sim.url, paused=True)
                result["delivered"] = (after["delivered"] - before["delivered"]) / result["seconds"]
                result["queued"] = (after["queued"] - before["queued"]) / result["seconds"]
                result["dropped"] = after["dropped"] - before["dropped"]
                result["retried"] = after["retry"] - before["retry"]
                result["lag_p99"], result["lag_1s"] = p99(lag_before, lag_after)
                runs[mode].append(result)
                print(f"  round {n + 1} pushes {mode:3} {result['rps']:8.0f} req/s  p99 "
                      f"{result['p99_ms']:6.2f} ms"
                      + (f"  queued {result['queued']:6.0f}/s  delivered "
                         f"{result['delivered']:6.0f}/s  dropped {result['dropped']}  lag p99 <= "
                         f"{result['lag_p99']:g} s" if mode == "on" else "")
                      + f"  clock lag {result['clock_lag']:.1f} s", flush=True)
    finally:
        sim.stop()
        receiver.terminate()
        receiver.wait()
    return {"riding": riding, "runs": runs}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--riding", type=int, default=20_000)
    ap.add_argument("--push-delivery", choices=("process", "local"), default="process")
    ap.add_argument("--push-concurrency", type=int, default=None,
                    help="serve's --push-concurrency (default: serve's own)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-core", type=int, default=1)
    ap.add_argument("--capacity-rounds", type=int, default=3, choices=range(1, 101),
                    metavar="1-100")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    print(f"bench_storm: {machine()}; --push-delivery {args.push_delivery}"
          + (f" --push-concurrency {args.push_concurrency}" if args.push_concurrency else ""),
          flush=True)
    got = storm(args)
    off = statistics.median(r["rps"] for r in got["runs"]["off"])
    on = statistics.median(r["rps"] for r in got["runs"]["on"])
    delivered = statistics.median(r["delivered"] for r in got["runs"]["on"])
    dropped = sum(r["dropped"] for r in got["runs"]["on"])
    lag = max(r["lag_p99"] for r in got["runs"]["on"])
    behind = max(r["clock_lag"] for rs in got["runs"].values() for r in rs)
    print(f"\n{args.vehicles:,} vehicles, {got['riding']:,} riding; status load on "
          f"{args.connections} connections:")
    print(f"  REST pushes off {off:8.0f} req/s | on {on:8.0f} req/s | ratio {on / off:.2f} "
          "(target >= 0.8)")
    print(f"  pushes delivered {delivered:,.0f}/s, dropped {dropped}, lag p99 <= {lag:g} s "
          f"(target < 1 s); the clock trailed wall time by up to {behind:.1f} s")
    print("capacity (benchmarks/bench_push.py throughput, this process on the server core):",
          flush=True)
    os.sched_setaffinity(0, {args.server_core})
    hook_proc, hook = bench_push.start_receiver()
    try:
        ratio = asyncio.run(bench_push.throughput(hook, args.capacity_rounds))
    finally:
        hook_proc.terminate()
        hook_proc.wait()
    ok = on / off >= 0.8 and lag < 1 and dropped == 0 and ratio >= 0.9 and behind < 1
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
