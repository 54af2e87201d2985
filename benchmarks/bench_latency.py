"""How long answers take under `serve --latency`: the done-when of issue 15's latency model.

    .venv/bin/python benchmarks/bench_latency.py [--requests 400] [--check]

For each model (instant, realistic, and a file whose timeout sits inside the device tail) a
server of 2,000 vehicles answers one unlock to each of --requests vehicles and --requests status
queries, sent by --clients keep-alive clients at once (a partner's connection pool), over
loopback from the same process. Reported: the median, p90 and
p99 wall time of unlocks and of status queries, and the share of 15302 next to the share the
model predicts for those vehicles (their `networkSignal` included). `--check` exits 1 unless
instant answers both under 50 ms (median), realistic's median unlock is 0.3-3 s and its status
under 200 ms, and the tail file's 15302 share is within 5 points of the prediction.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import aiohttp
import numpy as np

from simulator.core.latency import REALISTIC, LatencyModel
from simulator.server.runner import start
from simulator.sim import DEMO_TOKEN, Config, Simulator
from simulator.world.physics import PhysicsConfig

AUTH = {"Authorization": f"bearer {DEMO_TOKEN}"}
STATUS = "/api/v2/vehicle/query/current/status"
UNLOCK = "/api/v2/vehicle/control/unlock"
# Inside the tail on purpose: about a fifth of device trips outlast it.
TAIL = LatencyModel.from_mapping({"timeout_ms": 2_500, "cloud": {"median_ms": 40, "p99_ms": 200},
                                  "device": {"median_ms": 1_200, "p99_ms": 6_000}})


async def _timed(session: aiohttp.ClientSession, method: str, url: str,
                 **kw: Any) -> tuple[float, int]:
    began = time.perf_counter()
    async with session.request(method, url, headers=AUTH, **kw) as resp:
        body = await resp.json()
    return time.perf_counter() - began, int(body["code"])


async def measure(model: LatencyModel | None, n: int, clients: int) -> dict[str, Any]:
    sim = Simulator(Config(seed=3, vehicles=2_000, paused=True, riders=False,
                           physics=PhysicsConfig.quiet(), latency=model))
    sim.make_healthy(np.arange(len(sim.fleet)))
    running = await start(sim, pace=False)
    imeis = sim.fleet.imeis[:n]
    try:
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(running.url, connector=connector) as session:
            # Open the pool's connections first: their handshakes are not the model's.
            await asyncio.gather(*(_timed(session, "GET", STATUS, params={"iotCode": imeis[0]})
                                   for _ in range(clients)))
            work = [("POST", UNLOCK, {"json": {"iotCode": i}}) for i in imeis]
            work += [("GET", STATUS, {"params": {"iotCode": i}}) for i in imeis]
            work = [work[k] for k in np.random.default_rng(0).permutation(len(work))]
            answers: list[tuple[float, int]] = [(0.0, 0)] * len(work)
            queue = iter(enumerate(work))

            async def client() -> None:
                for k, (method, path, kw) in queue:
                    answers[k] = await _timed(session, method, path, **kw)

            await asyncio.gather(*(client() for _ in range(clients)))
            unlock = [a for a, w in zip(answers, work, strict=True) if w[1] == UNLOCK]
            status = [a for a, w in zip(answers, work, strict=True) if w[1] == STATUS]
    finally:
        await running.stop()
    predicted = 0.0
    if model is not None:
        signals = sim.fleet.network_signal[:n]
        predicted = float(np.mean([model.device.share_over(model.timeout_s, model.factor(int(s)))
                                   for s in signals]))
    return {"unlock": np.array([t for t, _ in unlock]),
            "status": np.array([t for t, _ in status]),
            "timeouts": float(np.mean([code == 15302 for _, code in unlock])),
            "predicted": predicted,
            "other_codes": sorted({c for _, c in answers} - {0, 15302})}


def _ms(a: np.ndarray, q: float) -> str:
    return f"{np.percentile(a, q) * 1000:8.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    runs = {"instant": None, "realistic": REALISTIC, "tail (timeout 2.5 s)": TAIL}
    print(f"{args.requests} unlocks and {args.requests} status queries by {args.clients} "
          "clients, ms:")
    print(f"{'model':22} {'op':7} {'p50':>8} {'p90':>8} {'p99':>8}  15302 share (predicted)")
    got = {}
    for name, model in runs.items():
        r = got[name] = asyncio.run(measure(model, args.requests, args.clients))
        for op in ("unlock", "status"):
            share = (f"  {r['timeouts']:.1%} ({r['predicted']:.1%})" if op == "unlock" else "")
            print(f"{name:22} {op:7} {_ms(r[op], 50)} {_ms(r[op], 90)} {_ms(r[op], 99)}{share}")
        if r["other_codes"]:
            print(f"  other codes: {r['other_codes']}")
    med = {name: {op: float(np.median(r[op])) for op in ("unlock", "status")}
           for name, r in got.items()}
    tail = got["tail (timeout 2.5 s)"]
    ok = (med["instant"]["unlock"] < 0.05 and med["instant"]["status"] < 0.05
          and 0.3 <= med["realistic"]["unlock"] <= 3 and med["realistic"]["status"] < 0.2
          and abs(tail["timeouts"] - tail["predicted"]) <= 0.05
          and not any(r["other_codes"] for r in got.values()))
    print("targets: instant < 50 ms; realistic unlock 0.3-3 s, status < 200 ms; 15302 share "
          f"as predicted: {'met' if ok else 'MISSED'}")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
