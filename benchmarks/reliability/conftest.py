"""Held-out reliability suite: real `segway-sim serve` processes on loopback, probed from outside.

Written from issue 13, the issue's interface, the README, docs/*.md and the vendor reference
only (see README.md here). Every server is a subprocess on 127.0.0.1 with --port 0; its port is
read from the banner; every process started here is killed (by its pid) at the end.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The tree whose `simulator` package the servers run (default: this checkout).
SIM_ROOT = Path(os.environ.get("RELIABILITY_SIM_ROOT", ROOT))
HERE = Path(__file__).resolve().parent

CLIENT_ID = "A20081"
SECRET = "e2651be5-12d3-48f3-ba6c-bc2b04a447b6"
TOKEN = "f3bbd782-04c7-42e5-bed9-524cde3eb415"
IMEI = "861477038719116"
IMEI2 = "862785041281554"
IMEI3 = "8612345678901"
BANNER = re.compile(r"serving (\d+) vehicles on http://127\.0\.0\.1:(\d+)")

_STARTED: list[subprocess.Popen] = []


def pytest_addoption(parser):
    parser.addoption("--soak-seconds", type=float, default=30.0,
                     help="length of the reliability soak in wall seconds (default 30)")


@pytest.fixture(scope="session")
def soak_seconds(request) -> float:
    return float(request.config.getoption("--soak-seconds"))


def expect(condition, message: str) -> None:
    """Fail with one line saying what broke (no traceback, no introspection noise)."""
    if not condition:
        pytest.fail(message.replace("\n", " | ")[:600], pytrace=False)


def short(data: bytes | str, n: int = 160) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return repr(text[:n])


# ---------------------------------------------------------------------------------------------
# HTTP helpers


class Resp:
    def __init__(self, status: int | None, headers: dict, body: bytes, raw: bytes = b"",
                 closed: bool = False, elapsed: float = 0.0, status_line: bytes = b""):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw
        self.closed = closed
        self.elapsed = elapsed
        self.status_line = status_line

    @property
    def ctype(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"HTTP {self.status} {self.ctype!r} {short(self.body, 200)}"


def call(port: int, method: str, path: str, body=None, headers: dict | None = None,
         timeout: float = 15.0) -> Resp:
    """One request over http.client (a fresh connection). A dict/list body is sent as JSON."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=hdrs)
        answer = conn.getresponse()
        data = answer.read()
        return Resp(answer.status, {k.lower(): v for k, v in answer.getheaders()}, data,
                    elapsed=time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        pytest.fail(f"{method} {path}: no HTTP answer ({type(exc).__name__}: {exc})",
                    pytrace=False)
    finally:
        conn.close()


def vendor_get(port: int, path: str, token: str = TOKEN) -> Resp:
    return call(port, "GET", path, headers={"Authorization": f"bearer {token}"})


def vendor_post(port: int, path: str, body, token: str = TOKEN, headers=None) -> Resp:
    hdrs = {"Authorization": f"bearer {token}", "Content-Type": "application/json"}
    hdrs.update(headers or {})
    return call(port, "POST", path, body=body, headers=hdrs)


def status_of(port: int, imei: str = IMEI, token: str = TOKEN) -> dict:
    answer = vendor_get(port, f"/api/v2/vehicle/query/current/status?iotCode={imei}", token)
    return answer.json() or {}


def control(port: int, method: str, path: str, body=None, headers=None) -> Resp:
    return call(port, method, path, body=body, headers=headers)


def parse_response(data: bytes):
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None, {}, b"", head.split(b"\r\n", 1)[0]
    lines = head.split(b"\r\n")
    status_line = lines[0]
    match = re.match(rb"HTTP/\d\.\d (\d{3})", status_line)
    status = int(match.group(1)) if match else None
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    body = rest
    if "content-length" in headers:
        with contextlib.suppress(ValueError):
            body = rest[: int(headers["content-length"])]
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        out, buf = b"", rest
        while buf:
            size_line, _, buf = buf.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            out += buf[:size]
            buf = buf[size + 2:]
        body = out
    return status, headers, body, status_line


def _complete(data: bytes) -> bool:
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    if match:
        return len(rest) >= int(match.group(1))
    if re.search(rb"\r\ntransfer-encoding:\s*chunked", head, re.I):
        return rest.endswith(b"0\r\n\r\n")
    return False


def raw(port: int, data: bytes | list, timeout: float = 4.0, pause: float = 0.0) -> Resp:
    """Send raw bytes (or a list of pieces, `pause` seconds apart); read one answer or until the
    server closes or `timeout` passes."""
    started = time.monotonic()
    chunks: list[bytes] = []
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        pieces = data if isinstance(data, list) else [data]
        try:
            for i, piece in enumerate(pieces):
                if i and pause:
                    time.sleep(pause)
                sock.sendall(piece)
        except OSError:
            pass
        deadline = started + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                got = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not got:
                closed = True
                break
            chunks.append(got)
            if _complete(b"".join(chunks)):
                break
    blob = b"".join(chunks)
    status, headers, body, status_line = parse_response(blob)
    return Resp(status, headers, body, raw=blob, closed=closed,
                elapsed=time.monotonic() - started, status_line=status_line)


# ---------------------------------------------------------------------------------------------
# processes


def _pump(stream, sink: list, ready: threading.Event | None = None) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))
        if ready is not None and BANNER.search(line):
            ready.set()
    stream.close()


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGWAY_SIM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


class Server:
    """A `segway-sim serve` subprocess on 127.0.0.1 (--port 0)."""

    def __init__(self, *args: str, env: dict | None = None, wait: bool = True,
                 start_timeout: float = 30.0):
        self.args = [str(a) for a in args]
        self.cmd = [sys.executable, "-m", "simulator.cli.main", "serve", "--port", "0", *self.args]
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._ready = threading.Event()
        self.proc = subprocess.Popen(self.cmd, cwd=SIM_ROOT, env=_env(env), text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        _STARTED.append(self.proc)
        self._threads = [
            threading.Thread(target=_pump, args=(self.proc.stdout, self.stdout, self._ready),
                             daemon=True),
            threading.Thread(target=_pump, args=(self.proc.stderr, self.stderr), daemon=True)]
        for thread in self._threads:
            thread.start()
        self.port = 0
        self.vehicles = 0
        if wait:
            self.wait_ready(start_timeout)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        """The arguments, temporary paths shortened to their last component."""
        return " ".join(".../" + Path(a).name if a.startswith("/") else a for a in self.args)

    def banner(self) -> str:
        return "\n".join(self.stdout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                break
            if self.proc.poll() is not None:
                time.sleep(0.2)
                last = (self.stderr or self.stdout or ["(no output)"])[-1]
                pytest.fail(f"serve {self.describe()} did not start (exit "
                            f"{self.proc.returncode}): {last.strip()[:300]}", pytrace=False)
        else:
            self.kill()
            pytest.fail(f"serve {self.describe()} printed no banner within {timeout:.0f} s",
                        pytrace=False)
        for line in self.stdout:
            match = BANNER.search(line)
            if match:
                self.vehicles, self.port = int(match.group(1)), int(match.group(2))

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop_within(self, sig: int, bound: float) -> tuple[int | None, float]:
        """Send `sig`; return (exit code or None if still running after `bound`, seconds)."""
        started = time.monotonic()
        self.signal(sig)
        code = self.wait_exit(bound)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self, key: str = "VmRSS") -> int:
        return rss_kb(self.proc.pid, key)

    def log(self) -> str:
        return "\n".join(self.stdout + self.stderr)

    def close(self) -> None:
        self.kill()
        for thread in self._threads:
            thread.join(5)


class Receiver:
    """benchmarks/reliability/receiver.py as a subprocess on loopback."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "receiver.py"), *args],
                                     cwd=ROOT, env=_env(), text=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        _STARTED.append(self.proc)
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.close()
            pytest.fail(f"the suite's push receiver did not start: {line!r}", pytrace=False)
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def mode(self, **mode) -> None:
        request = urllib.request.Request(self.url + "/_r/mode", data=json.dumps(mode).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def received(self, items: bool = True) -> dict:
        with urllib.request.urlopen(self.url + "/_r/received?items=" + ("1" if items else "0"),
                                    timeout=10) as answer:
            return json.load(answer)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def serve():
    """Factory: serve(*args, env=None) -> a started Server, killed at the end of the test."""
    servers: list[Server] = []

    def start(*args, env=None, wait=True):
        server = Server(*args, env=env, wait=wait)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def receiver():
    """Factory: receiver(*args) -> a started Receiver, killed at the end of the test."""
    receivers: list[Receiver] = []

    def start(*args):
        rec = Receiver(*args)
        receivers.append(rec)
        return rec

    yield start
    for rec in receivers:
        rec.close()


def pytest_sessionfinish(session, exitstatus):
    for proc in _STARTED:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass


def module_server(request, *args, env=None) -> Server:
    """A Server shared by one module (for module-scoped fixtures)."""
    server = Server(*args, env=env)
    request.addfinalizer(server.close)
    return server


def wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
