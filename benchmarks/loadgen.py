"""Load generators of the REST benchmark: wrk when installed, a Python one otherwise.

Both send the same load (benchmarks/rest.lua is the wrk side): status GETs rotating over every
IMEI of a file with `Authorization: bearer <token>`, and with `mix` > 0 that share (percent) of
sound control POSTs, on `connections` keep-alive connections, for `seconds` (and, for the Python
generator, at most `max_requests`). Each returns one summary dict: requests, seconds, rps,
p50_ms, p99_ms, max_ms, errors, non2xx.

The Python generator, as a script (the harness runs it in its own process, pinned to a core):

    .venv/bin/python benchmarks/loadgen.py --url http://127.0.0.1:PORT --imeis FILE \
        --token TOKEN [--mix 10] [--connections 64] [--seconds 10] [--max-requests N]

It is a minimal asyncio protocol (uvloop when installed) that writes prebuilt requests and
parses only the status line and Content-Length; it measures each request from write to the last
byte of its answer. It is slower than wrk: with it, a fast server may be measured at the
generator's limit (the summary says which generator ran).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
STATUS = "/api/v2/vehicle/query/current/status?iotCode="
SOUND = "/api/v2/vehicle/control/sound"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def pinned(cmd: list[str], core: int | None) -> list[str]:
    """`cmd` run on `core` (taskset when installed; the harness checks the affinity it got)."""
    if core is None or core >= (os.cpu_count() or 1) or not shutil.which("taskset"):
        return cmd
    return ["taskset", "-c", str(core), *cmd]


def run_wrk(url: str, imeis: str, token: str, mix: int, connections: int, seconds: float,
            core: int | None = None, threads: int = 1) -> dict[str, Any]:
    wrk = wrk_path()
    assert wrk is not None
    cmd = pinned([wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                  "--timeout", "5s", "-s", str(HERE / "rest.lua"), url, "--", imeis, token,
                  str(mix)], core)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    line = next(ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("{"))
    raw = json.loads(line)
    secs = raw["duration_us"] / 1e6
    return {
        "generator": "wrk",
        "requests": raw["requests"],
        "seconds": secs,
        "rps": raw["requests"] / secs,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]
        + raw["timeouts"],
        "non2xx": raw["non2xx"],
    }


def run_python(url: str, imeis: str, token: str, mix: int, connections: int, seconds: float,
               core: int | None = None, max_requests: int = 10_000_000) -> dict[str, Any]:
    cmd = pinned([sys.executable, str(Path(__file__).resolve()), "--url", url, "--imeis", imeis,
                  "--token", token, "--mix", str(mix), "--connections", str(connections),
                  "--seconds", str(seconds), "--max-requests", str(max_requests)], core)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(url: str, imeis: str, token: str, mix: int, connections: int, seconds: float,
        core: int | None = None, generator: str = "auto") -> dict[str, Any]:
    if generator == "wrk" or (generator == "auto" and wrk_path()):
        return run_wrk(url, imeis, token, mix, connections, seconds, core)
    return run_python(url, imeis, token, mix, connections, seconds, core)


# -- the Python generator -------------------------------------------------------------------------


def build_requests(host: str, imeis: list[str], token: str, mix: int) -> list[bytes]:
    """One request per IMEI (stride order, as rest.lua), every (100/mix)-th a sound POST."""
    every = round(100 / mix) if mix > 0 else 0
    n = len(imeis)
    out = []
    for i in range(n):
        imei = imeis[(i * 7919) % n]
        if every and i % every == 0:
            body = f'{{"iotCode":"{imei}","controlType":2}}'.encode()
            out.append(f"POST {SOUND} HTTP/1.1\r\nHost: {host}\r\nAuthorization: bearer {token}"
                       f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                       f"\r\n\r\n".encode() + body)
        else:
            out.append(f"GET {STATUS}{imei} HTTP/1.1\r\nHost: {host}\r\n"
                       f"Authorization: bearer {token}\r\n\r\n".encode())
    return out


class Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight, the next written when it is answered."""

    def __init__(self, gen: Generator) -> None:
        self.gen = gen
        self.buf = b""
        self.need = -1  # bytes of the current answer (head + body); -1: head not complete
        self.sent = 0.0
        self.status = 0
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        request = self.gen.next_request()
        if request is None or self.transport is None:
            if self.transport is not None:
                self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                length = 0
                for line in self.buf[:head_end].split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                self.status = int(self.buf[9:12])
                self.need = head_end + 4 + length
            if len(self.buf) < self.need:
                return
            self.buf = self.buf[self.need:]
            self.need = -1
            self.gen.answered(time.perf_counter() - self.sent, self.status)
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.gen.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


class Generator:
    def __init__(self, requests: list[bytes], seconds: float, max_requests: int) -> None:
        self.requests = requests
        self.i = 0
        self.deadline = 0.0
        self.seconds = seconds
        self.max_requests = max_requests
        self.latencies: list[float] = []
        self.errors = 0
        self.non2xx = 0

    def next_request(self) -> bytes | None:
        if self.i >= self.max_requests or time.perf_counter() >= self.deadline:
            return None
        request = self.requests[self.i % len(self.requests)]
        self.i += 1
        return request

    def answered(self, latency: float, status: int) -> None:
        self.latencies.append(latency)
        if not 200 <= status < 300:
            self.non2xx += 1

    async def run(self, host: str, port: int, connections: int) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self.deadline = time.perf_counter() + self.seconds
        started = time.perf_counter()
        conns = []
        for _ in range(connections):
            _, proto = await loop.create_connection(lambda: Connection(self), host, port)
            conns.append(proto)
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), self.seconds + 10)
        elapsed = time.perf_counter() - started
        lat = sorted(self.latencies)
        n = len(lat)

        def pct(q: float) -> float:
            return lat[min(n - 1, int(q * n))] * 1000 if n else 0.0

        return {"generator": "python", "requests": n, "seconds": elapsed, "rps": n / elapsed,
                "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": pct(1.0),
                "errors": self.errors, "non2xx": self.non2xx}


def main() -> None:
    ap = argparse.ArgumentParser(description="the Python load generator of bench_rest.py")
    ap.add_argument("--url", required=True)
    ap.add_argument("--imeis", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--mix", type=int, default=0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--max-requests", type=int, default=10_000_000)
    args = ap.parse_args()
    host_port = args.url.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.partition(":")
    with open(args.imeis) as fh:
        imeis = [line.strip() for line in fh if line.strip()]
    gen = Generator(build_requests(host_port, imeis, args.token, args.mix), args.seconds,
                    args.max_requests)
    loop_factory = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(gen.run(host, int(port or 80), args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
