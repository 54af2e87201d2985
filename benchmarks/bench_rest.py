"""The REST benchmark: the simulator next to a bare aiohttp baseline, same load, same run.

    .venv/bin/python benchmarks/bench_rest.py                 # or: segway-sim bench
    .venv/bin/python benchmarks/bench_rest.py --quick         # 3 s rounds, 10,000 vehicles
    .venv/bin/python benchmarks/bench_rest.py --scenarios status,mix --rounds 5 --seconds 10

Starts, on loopback: `segway-sim serve --vehicles N --riders off` (the living fleet, paced at
speed 1) and benchmarks/baseline_app.py, each pinned to the server core (`taskset -c 0`), and a
push receiver on the client core. Then, per scenario, rounds alternate baseline and simulator
(each: a warm-up, then a measured run of --seconds) under the same load generator pinned to the
client core (wrk when installed, benchmarks/loadgen.py otherwise), on --connections keep-alive
connections:

  status   status GETs rotating over every IMEI, `Authorization: bearer`, pushes off
  mix      the same with 10 % sound control POSTs
  push     status GETs while --riding vehicles ride and push (status + location every 10 s) to
           the local receiver: how much the REST figures fall

While one server is measured the other is idle (the simulator's clock is paused over the control
plane, so its living fleet does not tick). Reported per scenario: median requests/s, latency p50
and p99 (ms) over the rounds, and the ratio simulator/baseline; written to --out (default
benchmarks/RESULTS.md) with the date, the machine and this command line. Everything is bounded:
each load run stops by itself after --seconds; every process started here is stopped by its id.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # loadgen.py beside this file, also when run from elsewhere

import loadgen  # noqa: E402

from simulator.server import loops  # noqa: E402

TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
PLATFORM = "A20081"
TARGETS = {"status": (0.9, 0), "mix": (0.8, 10), "push": (None, 0)}
RECEIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ok_receiver.py")


# -- processes ------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def launch(name: str, cmd: list[str], core: int | None, pattern: str, timeout: float) -> Server:
    """Start `cmd` (pinned to `core`) and wait for the stdout line that says where it listens."""
    proc = subprocess.Popen(loadgen.pinned(cmd, core), stdout=subprocess.PIPE, text=True,
                            cwd=HERE.parent)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(pattern, line)
        if found:
            url = found.group(1)
            return Server(name, proc, url if url.startswith("http") else f"http://127.0.0.1:{url}")
    proc.kill()
    raise SystemExit(f"{name} did not start: {' '.join(cmd)}")


def sim_command(args: argparse.Namespace) -> list[str]:
    return [sys.executable, "-c", "from simulator.cli.main import main; main()", "serve",
            "--vehicles", str(args.vehicles), "--port", "0", "--riders", "off",
            "--loop", args.loop]


def baseline_command(args: argparse.Namespace, imeis: str) -> list[str]:
    """The baseline on the simulator's event loop: the ratio is about the simulator's work."""
    cmd = [sys.executable, str(HERE / "baseline_app.py"), "--imeis", imeis]
    return cmd + (["--uvloop"] if loops.loop_name(args.loop) == "uvloop" else [])


def http(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read())


def fleet_imeis(sim_url: str, **flags: str) -> Iterator[str]:
    query = "".join(f"&{k}={v}" for k, v in flags.items())
    offset = 0
    while True:
        page = http("GET", f"{sim_url}/_sim/vehicles?limit=1000&offset={offset}{query}")
        yield from (item["iotCode"] for item in page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return


def check_answers(url: str, imeis: list[str]) -> None:
    """Before measuring: the status query gets vendor envelopes (some code 0) from `url`."""
    headers = {"Authorization": f"bearer {TOKEN}"}
    for imei in imeis:
        request = urllib.request.Request(
            f"{url}/api/v2/vehicle/query/current/status?iotCode={imei}", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            answer = json.loads(resp.read())
        assert set(answer) == {"code", "msg", "data", "t", "opId"}, answer
        if answer["code"] == 0:
            assert set(answer["data"]) >= {"iotCode", "powerPercent", "statusUtcTime"}, answer
            return
    raise SystemExit(f"{url}: no status query answered code 0")


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def median(self, target: str, key: str) -> float:
        return statistics.median(r[key] for r in self.runs[target])

    def ratio(self, sim: str = "sim", base: str = "baseline") -> float:
        return self.median(sim, "rps") / self.median(base, "rps")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) so far of process `pid` and its children."""
    ticks, children = 0, {pid}
    stats = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats.append((int(entry.name), int(fields[1]), int(fields[11]) + int(fields[12])))
    for _ in range(3):  # the server and any children it started
        children |= {p for p, ppid, _ in stats if ppid in children}
    ticks = sum(t for p, _, t in stats if p in children)
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(args: argparse.Namespace, url: str, pid: int, imeis: str, mix: int
            ) -> dict[str, Any]:
    common = dict(url=url, imeis=imeis, token=TOKEN, mix=mix, connections=args.connections,
                  core=args.client_core, generator=args.loadgen)
    loadgen.run(seconds=args.warmup, **common)  # type: ignore[arg-type]
    cpu = tree_cpu(pid)
    result = loadgen.run(seconds=args.seconds, **common)  # type: ignore[arg-type]
    # CPU time per request: the figure least moved by other work sharing the machine.
    result["cpu_us"] = (tree_cpu(pid) - cpu) / max(1, result["requests"]) * 1e6
    if result["errors"] or result["non2xx"]:
        raise SystemExit(f"{url}: {result['errors']} errors, {result['non2xx']} non-2xx: "
                         f"{result}")
    return result


def clock(sim_url: str, paused: bool) -> None:
    http("POST", f"{sim_url}/_sim/clock", {"paused": paused})


def push_counters(sim_url: str) -> dict[str, int]:
    counters: dict[str, int] = http("GET", f"{sim_url}/_sim/pushes?limit=1")["counters"]
    return counters


def start_rides(sim_url: str, n: int, seconds: float) -> int:
    """`n` healthy vehicles unlocked and ridden for `seconds` (control plane)."""
    started = 0
    for imei in fleet_imeis(sim_url, activated="true", online="true", locked="true",
                            dormant="false", upgrading="false", transport="false"):
        if started >= n:
            break
        base = f"{sim_url}/_sim/vehicles/{imei}"
        http("PATCH", base, {"locked": False})
        http("POST", f"{base}/events", {"type": "ride", "seconds": seconds})
        started += 1
    return started


def run_scenario(args: argparse.Namespace, name: str, targets: dict[str, tuple[Server, bool]],
                 imeis: str) -> Scenario:
    """Rounds alternating the targets: {label: (server, whether it is a simulator whose clock
    runs only meanwhile)}."""
    _, mix = TARGETS[name]
    scenario = Scenario(name)
    for n in range(args.rounds):
        order = list(targets.items())
        if n % 2:
            order.reverse()  # neither side always goes first
        for label, (server, is_sim) in order:
            sim_url = server.url if is_sim else None
            if sim_url:
                clock(sim_url, paused=False)
                before = push_counters(sim_url)
            result = measure(args, server.url, server.proc.pid, imeis, mix)
            if sim_url:
                after = push_counters(sim_url)
                clock(sim_url, paused=True)
                result["pushes_delivered"] = after["delivered"] - before["delivered"]
                result["pushes_dropped"] = after["dropped"] - before["dropped"]
            scenario.runs.setdefault(label, []).append(result)
            print(f"  {name:8} round {n + 1} {label:10} {result['rps']:8.0f} req/s  "
                  f"{result['cpu_us']:5.1f} us CPU/req  p50 {result['p50_ms']:6.2f} ms  "
                  f"p99 {result['p99_ms']:6.2f} ms"
                  + (f"  pushes {result['pushes_delivered']}" if sim_url else ""), flush=True)
    return scenario


# -- report ---------------------------------------------------------------------------------------


def machine(loop: str = "auto") -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import aiohttp

    name = loops.loop_name(loop)
    if name == "uvloop":
        import uvloop

        name = f"uvloop {uvloop.__version__}"
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
            f"servers on {name}")


def report(args: argparse.Namespace, scenarios: list[Scenario], generator: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now}",
        "",
        f"- machine: {machine(args.loop)}",
        f"- command: `{' '.join(shlex.quote(a) for a in args.argv)}`",
        f"- {args.vehicles:,} vehicles, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds:g} s (after {args.warmup:g} s warm-up) per target, load generator "
        f"{generator} on core {args.client_core}, servers on core {args.server_core}",
        "- ratio: simulator req/s / baseline req/s (the goal's measure); CPU µs/req: server CPU "
        "time per request, CPU ratio = baseline's / simulator's: the same "
        "comparison less moved by other work on a shared machine",
        "",
        "| scenario | target | req/s | p50 ms | p99 ms | ratio | goal | CPU µs/req | CPU ratio |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for s in scenarios:
        goal, _ = TARGETS[s.name]
        labels = list(s.runs)
        for label in labels:
            ratio = ""
            if label != "baseline":
                ratio = f"{s.ratio(label):.2f}"
            goal_text = ""
            if label != "baseline" and goal is not None:
                ok = s.ratio(label) >= goal and (s.name != "status"
                                                 or s.median(label, "p99_ms") <= 30)
                goal_text = (f">= {goal}x" + (", p99 <= 30 ms" if s.name == "status" else "")
                             + (" ok" if ok else " MISSED"))
            cpu = s.median(label, "cpu_us")
            cpu_ratio = "" if label == "baseline" else f"{s.median('baseline', 'cpu_us') / cpu:.2f}"
            lines.append(f"| {s.name} | {label} | {s.median(label, 'rps'):,.0f} | "
                         f"{s.median(label, 'p50_ms'):.2f} | {s.median(label, 'p99_ms'):.2f} | "
                         f"{ratio} | {goal_text} | {cpu:.1f} | {cpu_ratio} |")
        lines += [f"| | {note} | | | | | | | |" for note in s.notes]
    return "\n".join(lines) + "\n"


def write_results(path: Path, section: str) -> None:
    header = ("# REST benchmark results\n\nWritten by benchmarks/bench_rest.py (`segway-sim "
              "bench`); newest first. How it is measured: docs/speed.md.\n\n")
    old = path.read_text() if path.exists() else ""
    rest = old.split("\n## ", 1)[1] if "\n## " in old else ""
    path.write_text(header + section + ("\n## " + rest if rest else ""))


# -- main -----------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenarios", default="status,mix,push",
                    help="comma-separated: status, mix, push")
    ap.add_argument("--riding", type=int, default=10_000, help="riding vehicles of `push`")
    ap.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--loop", choices=loops.CHOICES, default="auto",
                    help="event loop of the simulator, and of the baseline with it")
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-core", type=int, default=1)
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="'-': print only")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 10,000 vehicles, 1 round of 3 s, 1,000 riding")
    args = ap.parse_args(argv)
    args.argv = ["segway-sim bench" if os.environ.get("SEGWAY_SIM_BENCH_CLI") else
                 "benchmarks/bench_rest.py", *argv]
    if args.quick:
        args.vehicles, args.rounds, args.seconds, args.warmup, args.riding = (
            min(args.vehicles, 10_000), 1, 3.0, 1.0, min(args.riding, 1_000))
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(TARGETS)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    generator = "wrk" if args.loadgen == "wrk" or (args.loadgen == "auto" and loadgen.wrk_path()) \
        else "python"
    print(f"bench_rest: {machine(args.loop)}\n  load generator: {generator}", flush=True)
    servers: list[Server] = []
    receiver: subprocess.Popen[str] | None = None
    scenarios: list[Scenario] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            sim = launch("simulator", sim_command(args), args.server_core,
                         r"serving \d+ vehicles on (http://\S+)", 300)
            servers.append(sim)
            clock(sim.url, paused=True)
            imeis_file = os.path.join(tmp, "imeis.txt")
            imeis = list(fleet_imeis(sim.url))
            Path(imeis_file).write_text("\n".join(imeis) + "\n")
            base = launch("baseline", baseline_command(args, imeis_file), args.server_core,
                          r"^(\d+)$", 60)
            servers.append(base)
            check_answers(sim.url, imeis)
            check_answers(base.url, imeis)
            pair = {"baseline": (base, False), "sim": (sim, True)}
            for name in ("status", "mix"):
                if name in args.scenarios:
                    print(f"scenario {name}", flush=True)
                    scenarios.append(run_scenario(args, name, pair, imeis_file))
            if "push" in args.scenarios:
                print(f"scenario push: starting {args.riding:,} rides", flush=True)
                receiver = subprocess.Popen(
                    [sys.executable, RECEIVER, str(args.client_core)],
                    stdout=subprocess.PIPE, text=True)
                assert receiver.stdout is not None
                hook = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hook"
                http("PATCH", f"{sim.url}/_sim/platforms/{PLATFORM}", {"callbackUrl": hook})
                clock(sim.url, paused=False)  # rides start spread over wall time, as in life
                riding = start_rides(sim.url, args.riding, 6 * 3600.0)
                clock(sim.url, paused=True)
                s = run_scenario(args, "push", {"baseline": (base, False),
                                                "sim+pushes": (sim, True)}, imeis_file)
                pushes = statistics.median(r["pushes_delivered"] / r["seconds"]
                                           for r in s.runs["sim+pushes"])
                s.notes.append(f"{riding:,} riding; {pushes:,.0f} pushes/s delivered meanwhile")
                scenarios.append(s)
        finally:
            for server in servers:
                server.stop()
            if receiver is not None:
                receiver.terminate()
                receiver.wait()
    section = report(args, scenarios, generator)
    print("\n" + section)
    if args.out != "-":
        write_results(Path(args.out), section)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
