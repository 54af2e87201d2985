"""The soak benchmark: a long run of mixed load and pushes to a flaky receiver; is memory flat?

    .venv/bin/python benchmarks/soak.py                  # 10 minutes, then the figures
    .venv/bin/python benchmarks/soak.py --minutes 1 --check

Starts, on loopback: the simulator (as `segway-sim serve` runs it: paced clock at speed 1, the
living fleet, riders off) pinned to the server core, and on the client core a push receiver that
answers 500 to 10 % of the pushes and never answers 1 % of them (the dispatcher's timeout cuts
those), and a load generator (benchmarks/loadgen.py's protocol, paced) sending --rate mixed
requests per second on --connections keep-alive connections: in every 20, 11 status and 6
location queries rotating over the fleet, an unlock command and a lock (`PATCH /_sim/vehicles`,
the vendor has no lock command) of the same vehicle, and a token request. --pushes x 7.5
vehicles are unlocked first: each pushes its location every 10 s; the status pushes of the
mix's unlocks and locks and the retries of the failed pushes make up the rest of --pushes.

Printed: the server's RSS every 30 s, after --warmup and at the end; achieved requests/s and
pushes/s (attempts, each an HTTP request to the receiver) over the measured window; the request
and push journals (retained of capacity), the push queue, and pushes dropped, counted and
journaled. `--check` exits 1 if RSS grew more than 10 % after the warm-up or a rate was not
reached (requests/s >= --rate, pushes/s >= 95 % of --pushes). Every process started here is
stopped by its id.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # loadgen.py and bench_rest.py beside this file

import bench_rest  # noqa: E402
import loadgen  # noqa: E402

from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TOKEN  # noqa: E402

LOCATION = "/api/v2/vehicle/query/current/location?iotCode="
UNLOCK = "/api/v2/vehicle/control/unlock"
PACE_HEADROOM = 1.05  # the generator aims a little above --rate: its edges lose a few
SAMPLE_S = 30.0  # how often the server's RSS is printed


# -- the load -------------------------------------------------------------------------------------


def mixed_requests(host: str, queried: list[str], commanded: list[str], token: str
                   ) -> list[bytes]:
    """Cycles of 20 requests: 11 status, 6 location, an unlock, a lock, a token request."""
    auth = f"Host: {host}\r\nAuthorization: bearer {token}\r\n"
    form = (f"grant_type=client_credentials&client_id={DEMO_CLIENT_ID}"
            f"&client_secret={DEMO_CLIENT_SECRET}").encode()
    token_request = (f"POST /oauth/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: "
                     f"{len(form)}\r\n\r\n").encode() + form

    def json_request(method: str, path: str, body: dict[str, Any], head: str) -> bytes:
        raw = json.dumps(body, separators=(",", ":")).encode()
        return (f"{method} {path} HTTP/1.1\r\n{head}Content-Type: application/json\r\n"
                f"Content-Length: {len(raw)}\r\n\r\n").encode() + raw

    out: list[bytes] = []
    cycles = max(len(queried) // 17, len(commanded), 1)
    for n in range(cycles):
        for k in range(17):
            imei = queried[(17 * n + k) % len(queried)]
            path = loadgen.STATUS if k < 11 else LOCATION
            out.append(f"GET {path}{imei} HTTP/1.1\r\n{auth}\r\n".encode())
        imei = commanded[n % len(commanded)]
        out.append(json_request("POST", UNLOCK, {"iotCode": imei}, auth))
        out.append(json_request("PATCH", f"/_sim/vehicles/{imei}", {"locked": True},
                                f"Host: {host}\r\n"))
        out.append(token_request)
    return out


class Paced(loadgen.Generator):
    """loadgen's generator, sending at `rate` requests per second in all (each connection
    waits for the time slot it reserved, then for its answer)."""

    def __init__(self, requests: list[bytes], seconds: float, rate: float) -> None:
        super().__init__(requests, seconds, max_requests=10**12)
        self.rate = rate
        self.start = 0.0
        self.reserved = 0

    def slot(self) -> float:
        self.reserved += 1
        return self.start + self.reserved / self.rate

    async def run(self, host: str, port: int, connections: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.start = time.perf_counter()
        self.deadline = self.start + self.seconds
        conns = []
        for _ in range(connections):
            _, proto = await loop.create_connection(lambda: PacedConnection(self), host, port)
            conns.append(proto)
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), self.seconds + 30)
        elapsed = time.perf_counter() - self.start
        lat = sorted(self.latencies)
        n = len(lat)
        return {"requests": n, "seconds": elapsed, "rps": n / elapsed,
                "p50_ms": lat[n // 2] * 1000 if n else 0.0,
                "p99_ms": lat[min(n - 1, int(0.99 * n))] * 1000 if n else 0.0,
                "errors": self.errors, "non2xx": self.non2xx}


class PacedConnection(loadgen.Connection):
    gen: Paced

    def send(self) -> None:
        delay = self.gen.slot() - time.perf_counter()
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, super().send)
        else:
            super().send()


def load(url: str, queries: str, commands: str, rate: float, seconds: float,
         connections: int) -> None:
    """The load generator process: prints its summary as one JSON line."""
    host = urlsplit(url).netloc
    requests = mixed_requests(host, Path(queries).read_text().split(),
                              Path(commands).read_text().split(), DEMO_TOKEN)
    gen = Paced(requests, seconds, rate)
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(gen.run(urlsplit(url).hostname or "127.0.0.1",
                                    urlsplit(url).port or 80, connections))
    print(json.dumps(result), flush=True)


async def unlock_all(url: str, imeis: list[str]) -> dict[str, Any]:
    """Unlock `imeis` over the control plane, 32 requests at a time."""
    host = urlsplit(url).netloc
    patches = []
    for imei in imeis:
        body = b'{"locked":false}'
        patches.append(f"PATCH /_sim/vehicles/{imei} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                       f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    gen = loadgen.Generator(patches, seconds=600, max_requests=len(patches))
    return await gen.run(urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 80, 32)


# -- the run --------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident MB of the server and its children (its push sender process)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    total = 0.0
    for proc in (pid, *kids):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


def pushes(url: str) -> dict[str, Any]:
    answer: dict[str, Any] = bench_rest.http("GET", f"{url}/_sim/pushes?limit=1")
    return answer


def attempts(counters: dict[str, int]) -> int:
    return counters["delivered"] + counters["retry"] + counters["failed"]


def me(*role: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *role]


def run(args: argparse.Namespace) -> int:
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, seconds / 4)
    procs: list[subprocess.Popen[str]] = []
    server: bench_rest.Server | None = None
    print(f"soak: {bench_rest.machine(args.loop)}\n  {args.minutes:g} min, {args.rate:g} req/s "
          f"on {args.connections} connections, ~{args.pushes:g} pushes/s to a receiver failing "
          f"{args.fail:.0%} and hanging {args.hang:.0%}, warm-up {warmup:g} s", flush=True)
    try:
        rec = subprocess.Popen([sys.executable, str(HERE / "ok_receiver.py"),
                                str(args.client_core), str(args.fail), str(args.hang)],
                               stdout=subprocess.PIPE, text=True)
        procs.append(rec)
        assert rec.stdout is not None
        hook = f"http://127.0.0.1:{int(rec.stdout.readline())}/hook"
        pushing = round(args.pushes * 7.5)  # each: a location push every 10 s (docstring)
        vehicles = max(args.vehicles, pushing + 100)
        server = bench_rest.launch(
            "simulator", [sys.executable, "-m", "simulator.cli.main", "serve", "--port", "0",
                          "--vehicles", str(vehicles), "--callback", hook, "--riders", "off",
                          "--push-concurrency", str(args.push_concurrency), "--loop", args.loop],
            args.server_core, r"serving \d+ vehicles on (http://\S+)",
            300)
        healthy = list(bench_rest.fleet_imeis(
            server.url, activated="true", online="true", locked="true", dormant="false",
            upgrading="false", transport="false"))
        everyone = list(bench_rest.fleet_imeis(server.url))
        if len(healthy) < pushing + 2:
            raise SystemExit(f"only {len(healthy)} healthy vehicles for {pushing} pushing: "
                             "raise --vehicles")
        unlocked = asyncio.run(unlock_all(server.url, healthy[:pushing]))
        if unlocked["non2xx"] or unlocked["errors"]:
            raise SystemExit(f"unlocking the pushing vehicles failed: {unlocked}")
        commanded = healthy[pushing:pushing + 2000]
        with tempfile.TemporaryDirectory() as tmp:
            queries, commands = Path(tmp, "queries"), Path(tmp, "commands")
            queries.write_text("\n".join(everyone))
            commands.write_text("\n".join(commanded))
            gen = subprocess.Popen(loadgen.pinned(me(
                "load", "--url", server.url, "--queries", str(queries), "--commands",
                str(commands), "--rate", str(args.rate * PACE_HEADROOM), "--seconds",
                str(seconds), "--connections", str(args.connections)), args.client_core),
                stdout=subprocess.PIPE, text=True)
            procs.append(gen)
            started = time.monotonic()
            pid = server.proc.pid
            time.sleep(max(0.0, started + warmup - time.monotonic()))
            rss_warm, before, t_warm = rss_mb(pid), pushes(server.url), time.monotonic()
            print(f"  after warm-up ({warmup:g} s): RSS {rss_warm:.1f} MB", flush=True)
            peak = rss_warm
            while gen.poll() is None:
                wait = min(SAMPLE_S, max(0.5, started + seconds - time.monotonic()))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    gen.wait(timeout=wait)
                if gen.poll() is None:
                    peak = max(peak, rss_mb(pid))
                    print(f"  {time.monotonic() - started:5.0f} s: RSS {rss_mb(pid):.1f} MB",
                          flush=True)
            assert gen.stdout is not None
            summary = json.loads(gen.stdout.read().strip().splitlines()[-1])
        rss_end, after, t_end = rss_mb(pid), pushes(server.url), time.monotonic()
        peak = max(peak, rss_end)
        journal = bench_rest.http("GET", f"{server.url}/_sim/requests?limit=1")
        dropped_records = bench_rest.http(
            "GET", f"{server.url}/_sim/pushes?outcome=dropped&limit=10000")["items"]
    finally:
        if server is not None:
            server.stop()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
    window = t_end - t_warm
    c0, c1 = before["counters"], after["counters"]
    push_rate = (attempts(c1) - attempts(c0)) / window
    growth = rss_end / rss_warm - 1
    print(f"\nrequests : {summary['rps']:,.0f} req/s ({summary['requests']:,} in "
          f"{summary['seconds']:.0f} s), p50 {summary['p50_ms']:.2f} ms, p99 "
          f"{summary['p99_ms']:.2f} ms, {summary['errors']} connection errors, "
          f"{summary['non2xx']} non-2xx")
    print(f"pushes   : {push_rate:,.0f} attempts/s over the last {window:.0f} s; in all "
          f"delivered {c1['delivered']:,}, retried {c1['retry']:,}, failed {c1['failed']:,}, "
          f"dropped {c1['dropped']:,} ({len(dropped_records):,} of them in the journal)")
    print(f"journals : requests {journal['retained']:,}/{journal['capacity']:,} retained of "
          f"{journal['seq']:,}; pushes {after['retained']:,}/{after['capacity']:,} of "
          f"{after['seq']:,}; push queue {after['pending']:,} pending at the end")
    print(f"RSS      : {rss_warm:.1f} MB after warm-up, {rss_end:.1f} MB at the end "
          f"({growth:+.1%}), peak {peak:.1f} MB")
    failures = []
    if growth > 0.10:
        failures.append(f"RSS grew {growth:.1%} after the warm-up (limit 10 %)")
    if summary["rps"] < args.rate:
        failures.append(f"{summary['rps']:,.0f} req/s < {args.rate:g}")
    if push_rate < 0.95 * args.pushes:
        failures.append(f"{push_rate:,.0f} pushes/s < 95 % of {args.pushes:g}")
    if summary["errors"] or summary["non2xx"]:
        failures.append(f"{summary['errors']} connection errors, {summary['non2xx']} non-2xx")
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures and args.check else 0


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="role")  # the processes this script starts (internal)
    g = sub.add_parser("load")
    for name in ("--url", "--queries", "--commands"):
        g.add_argument(name, required=True)
    g.add_argument("--rate", type=float, required=True)
    g.add_argument("--seconds", type=float, required=True)
    g.add_argument("--connections", type=int, required=True)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before the RSS baseline (default: a quarter, at most 60)")
    ap.add_argument("--rate", type=float, default=2000.0, help="mixed requests per second")
    ap.add_argument("--pushes", type=float, default=1000.0, help="pushes per second (about)")
    ap.add_argument("--fail", type=float, default=0.10, help="share of pushes answered 500")
    ap.add_argument("--hang", type=float, default=0.01, help="share of pushes never answered")
    ap.add_argument("--vehicles", type=int, default=12_000)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--push-concurrency", type=int, default=128,
                    help="pushes in flight (the server's 16 cannot carry 1 %% hung at 1,000/s)")
    ap.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-core", type=int, default=1)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if RSS grows > 10 %% after the warm-up or a rate is missed")
    args = ap.parse_args(argv)
    if args.role == "load":
        load(args.url, args.queries, args.commands, args.rate, args.seconds, args.connections)
    else:
        sys.exit(run(args))


if __name__ == "__main__":
    main()
