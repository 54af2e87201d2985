"""Instructions, not seconds: valgrind's callgrind counts of a REST request and of a fleet tick.

    .venv/bin/python benchmarks/bench_instructions.py rest TREE [TREE ...] [--mix 10]
    .venv/bin/python benchmarks/bench_instructions.py tick TREE [TREE ...]

Wall-clock figures on a shared machine move by 10-30 % between runs; an instruction count
repeats to within about 1 %, so it decides whether a change costs or saves (docs/speed.md). Each
TREE is a directory holding a `simulator` package (with `scenarios` and `contract` copied inside
it when the tree predates its own install, e.g. `git archive REV simulator scenarios contract`),
or `.` for this checkout. Needs `valgrind` (Debian's package).

rest: `serve --vehicles 2000 --riders off` under callgrind with instrumentation off; the clock is
  paused over the control plane, 300 keep-alive status GETs warm it up, then instrumentation is
  switched on for --requests sequential ones (every tenth a sound POST with --mix 10). Printed:
  user-space instructions per request (the socket syscalls are not counted).
tick: a 10,000-vehicle fleet with 20 % riding, run for 5 and for 35 extra `advance(1)` ticks;
  printed: the difference per tick (everything but the tick cancels out).
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
IMEIS = ("861477038719116", "862785041281554", "8612345678901")
# The command line's entry point in either layout a tree may have.
SERVE = ("try:\n    from simulator.cli.main import main\n"
         "except ImportError:\n    from simulator.cli import main\nmain()")
TICKS = """
import sys
import numpy as np
from simulator.sim import Config, Simulator
sim = Simulator(Config(seed=1, vehicles=10_000, paused=True))
f = sim.fleet
rows = np.flatnonzero(np.arange(len(f)) % 5 == 0)
sim.make_healthy(rows)
f.locked[rows] = False
for row in rows:
    if hasattr(sim.world, "start_ride"):
        sim.world.start_ride(int(row), seconds=36000.0)
    else:  # trees before the world engine took rides
        from simulator import riders
        riders.start_ride(sim, int(row), seconds=36000.0)
sim.advance(30)
for _ in range(int(sys.argv[1])):
    sim.advance(1)
"""


def requests(port: int, n: int, mix: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    auth = {"Authorization": f"bearer {TOKEN}"}
    for k in range(n):
        imei = IMEIS[k % len(IMEIS)]
        if mix and k % (100 // mix) == 0:
            conn.request("POST", "/api/v2/vehicle/control/sound",
                         body=json.dumps({"iotCode": imei, "controlType": 2}),
                         headers={**auth, "Content-Type": "application/json"})
        else:
            conn.request("GET", f"/api/v2/vehicle/query/current/status?iotCode={imei}",
                         headers=auth)
        answer = conn.getresponse()
        body = answer.read()
        if answer.status != 200 or b'"code":0' not in body:
            raise SystemExit(f"unexpected answer: {answer.status} {body[:200]!r}")
    conn.close()


def collected(out: str) -> int:
    """The instructions callgrind counted, over every part it wrote for `out` (the part written
    at exit holds the total when instrumentation was switched on and off)."""
    totals = [int(line.split()[1]) for part in glob.glob(out + "*")
              for line in Path(part).read_text().splitlines()
              if line.startswith(("totals:", "summary:"))]
    if not totals or not max(totals):
        raise SystemExit(f"callgrind counted nothing for {out}")
    return max(totals)


def rest(tree: str, n: int, mix: int, port: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={out}", sys.executable, "-c", SERVE, "serve",
             "--vehicles", "2000", "--port", str(port), "--riders", "off"],
            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert proc.stdout is not None
            for _ in range(100):
                if "serving" in proc.stdout.readline():
                    break
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{port}/_sim/clock", data=b'{"paused": true}', method="POST",
                headers={"Content-Type": "application/json"}), timeout=300).read()
            requests(port, 300, mix)
            subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True,
                           capture_output=True)
            requests(port, n, mix)
            subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True,
                           capture_output=True)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=300)
        return collected(out) / n


def tick(tree: str) -> float:
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for ticks in (5, 35):
            out = os.path.join(tmp, f"callgrind.{ticks}")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            sys.executable, "-c", TICKS, str(ticks)], cwd=tree, check=True,
                           env={**os.environ, "PYTHONPATH": os.path.abspath(tree)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            counts.append(collected(out))
    return (counts[1] - counts[0]) / 30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("rest", "tick"))
    ap.add_argument("trees", nargs="+")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--mix", type=int, default=0, help="percent of sound POSTs (rest)")
    ap.add_argument("--port", type=int, default=18501)
    args = ap.parse_args()
    first = None
    for tree in args.trees:
        if args.what == "rest":
            count = rest(tree, args.requests, args.mix, args.port)
            unit = "instructions per request"
        else:
            count = tick(tree)
            unit = "instructions per advance(1)"
        first = first or count
        name = re.sub(r"^\./?$", "this checkout", tree)
        print(f"{name:30} {count:14,.0f} {unit}  ({count / first:.3f})", flush=True)


if __name__ == "__main__":
    main()
