"""A/B of source trees: how each change of the REST path was measured (docs/speed.md).

    .venv/bin/python benchmarks/bench_ab.py base /tmp/v/before /tmp/v/after
    .venv/bin/python benchmarks/bench_ab.py --mix 10 base_uv /tmp/v/after+--loop:asyncio

Each target is `base` (benchmarks/baseline_app.py), `base_uv` (the same on uvloop), or a
directory holding a copy of the `simulator` package (`cp -r simulator /tmp/v/NAME` at each step
of the work) served by `serve --vehicles N --riders off`, with extra serve options after a `+`
(colon-separated). A suffix `x2` on a baseline runs two processes. All targets run at once,
pinned to core 0 (unless --no-pin); rounds alternate them under the same wrk load on core 1.
Printed per target: median req/s, CPU microseconds per request of the server process (the
figure least disturbed by other work on the machine), p99, each relative to the first target.
Without --imeis, the fleet's IMEIs are read from the first simulator target's control plane
(every target has the same seeded fleet). CPU figures count the target's main process only.
`--scrape S` GETs /metrics of each simulator target every S seconds while it is under load, as a
Prometheus would (its default interval is 15 s); a tree without /metrics just answers 404. The
metrics' overhead (docs/metrics.md): a tree from before them against one with them, both scraped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
# The command line's entry point in either layout a tree may have (before and after the
# subpackages of docs/architecture.md), so older copies stay comparable.
SERVE = ("try:\n    from simulator.cli.main import main\n"
         "except ImportError:\n    from simulator.cli import main\nmain()")


def command(target: str, port: int, args: argparse.Namespace) -> tuple[list[str], str]:
    if target.startswith("base"):
        cmd = [sys.executable, str(HERE / "baseline_app.py"), "--imeis", args.imeis,
               "--port", str(port)]
        cmd += ["--uvloop"] if target.startswith("base_uv") else []
        cmd += ["--workers", "2"] if target.endswith("x2") else []
        return cmd, str(HERE.parent)
    tree, _, flags = target.partition("+")
    cmd = [sys.executable, "-c", SERVE, "serve",
           "--vehicles", str(args.vehicles), "--port", str(port), "--riders", "off"]
    return cmd + (flags.split(":") if flags else []), tree


def imeis_file(port: int) -> str:
    """The fleet's IMEIs, one a line, asked of the simulator on `port`."""
    sys.path.insert(0, str(HERE))
    from bench_rest import fleet_imeis

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(fleet_imeis(f"http://127.0.0.1:{port}")) + "\n")
    return fh.name


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@contextmanager
def scraping(port: int, every: float | None) -> Iterator[None]:
    """GET /metrics every `every` seconds meanwhile (None: not at all)."""
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(every):
            with suppress(urllib.error.HTTPError):  # a tree from before /metrics: 404
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()

    thread = threading.Thread(target=scrape, daemon=True)
    if every:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if every:
            thread.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--imeis", help="one IMEI per line (default: asked of the first simulator)")
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--mix", type=int, default=0)
    ap.add_argument("--no-pin", action="store_true")
    ap.add_argument("--scrape", type=float, help="GET /metrics of the simulators every S seconds")
    args = ap.parse_args()
    procs: dict[str, tuple[subprocess.Popen[str], int]] = {}
    ports = {target: 18400 + k for k, target in enumerate(args.targets)}
    sims = [t for t in args.targets if not t.startswith("base")]
    try:
        # Simulators first: without --imeis, the load (and the baselines) take the fleet's IMEIs
        # from the first simulator.
        for group in (sims, [t for t in args.targets if t not in sims]):
            if group is not sims and args.imeis is None:
                if not sims:
                    raise SystemExit("--imeis is needed when no target is a simulator")
                args.imeis = imeis_file(ports[sims[0]])
            for target in group:
                cmd, cwd = command(target, ports[target], args)
                pin = [] if args.no_pin else ["taskset", "-c", "0"]
                procs[target] = (subprocess.Popen([*pin, *cmd], cwd=cwd, stdout=subprocess.PIPE,
                                                  stderr=subprocess.STDOUT, text=True),
                                 ports[target])
            for target in group:
                proc = procs[target][0]
                assert proc.stdout is not None
                for _ in range(200):
                    line = proc.stdout.readline()
                    if "serving" in line or line.strip().isdigit() or not line:
                        break
        results: dict[str, list[tuple[float, float, float]]] = {t: [] for t in args.targets}
        for r in range(args.rounds):
            for target in (args.targets if r % 2 == 0 else args.targets[::-1]):
                proc, port = procs[target]
                before = cpu_ticks(proc.pid)
                with scraping(port, None if target.startswith("base") else args.scrape):
                    out = subprocess.run(
                        ["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{args.seconds}s", "-s",
                         str(HERE / "rest.lua"), f"http://127.0.0.1:{port}", "--", args.imeis,
                         TOKEN, str(args.mix)], capture_output=True, text=True,
                        timeout=120).stdout
                ticks = cpu_ticks(proc.pid) - before
                d = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
                assert not d["non2xx"] and not d["read_errors"], d
                results[target].append((d["requests"] / d["duration_us"] * 1e6,
                                        ticks / os.sysconf("SC_CLK_TCK") / d["requests"] * 1e6,
                                        d["p99_us"] / 1000))
        first: tuple[float, float] | None = None
        for target in args.targets:
            rps = statistics.median(x[0] for x in results[target])
            cpu = statistics.median(x[1] for x in results[target])
            p99 = statistics.median(x[2] for x in results[target])
            first = first or (rps, cpu)
            print(f"{target:28} {rps:7.0f} req/s ({rps / first[0]:.2f})  {cpu:5.1f} us CPU/req "
                  f"({first[1] / cpu:.2f})  p99 {p99:5.1f} ms")
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            proc.wait()


if __name__ == "__main__":
    main()
