"""`segway-sim serve --vehicles N`: wall time from launch to the first answered requests.

    taskset -c 0 .venv/bin/python benchmarks/bench_serve_start.py            # 100,000 vehicles
    taskset -c 0 .venv/bin/python benchmarks/bench_serve_start.py --vehicles 1000000

Starts the real console script in a subprocess on a free loopback port and polls until the
control plane's health and a vendor status query (the reference's example vehicle, with the
demo token) both answer 200; then stops it. Prints the seconds to each answer, and the latency
of a few requests once the living fleet is running (riders on, clock at speed 1).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
IMEI = "861477038719116"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def wait_for(url: str, started: float, deadline: float, headers: dict[str, str] | None = None,
             ) -> float:
    while time.perf_counter() < deadline:
        try:
            status, _ = get(url, headers)
            if status == 200:
                return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.02)  # a benchmark polling a subprocess, not a test
    raise SystemExit(f"no answer from {url} within the deadline")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=100_000)
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    script = Path(sys.executable).with_name("segway-sim")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), "serve", "--vehicles", str(args.vehicles), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    try:
        deadline = started + args.timeout
        health = wait_for(f"{base}/_sim/health", started, deadline)
        auth = {"Authorization": f"bearer {TOKEN}"}
        status_url = f"{base}/api/v2/vehicle/query/current/status?iotCode={IMEI}"
        vendor = wait_for(status_url, started, deadline, auth)
        latencies = []
        for _ in range(20):
            t0 = time.perf_counter()
            get(status_url, auth)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)  # spread over a second of the running fleet
        latencies.sort()
        print(f"serve --vehicles {args.vehicles:,}: health 200 after {health:.2f} s, "
              f"vendor status 200 after {vendor:.2f} s; then status latency median "
              f"{latencies[len(latencies) // 2]:.1f} ms, max {latencies[-1]:.1f} ms")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
