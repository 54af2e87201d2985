"""`segway-sim serve` as a real process (signals, restarts, its state directory), and a partner's
push endpoint on loopback that fails or answers on command, for tests/test_state_dir.py and
tests/test_shutdown.py."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

SERVE = [sys.executable, "-m", "simulator.cli.main", "serve", "--port", "0"]
# A quiet world whose clock moves only when a test moves it.
QUIET = ["--paused", "--riders", "off", "--physics", "quiet", "--start", "1780000000"]
JSON = {"Content-Type": "application/json"}


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    url: str
    banner: list[str]
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: Any = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": {**(JSON if body is not None else {}),
                                              **(headers or {})}}
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.url + path, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = await self.call(method, path, body)
        assert status < 300, f"{method} {path} answered {status}: {answer}"
        return answer

    async def stop(self, sig: int = signal.SIGTERM) -> tuple[float, int, str, str]:
        """Send `sig`; (wall seconds until the process ended, its exit code, stdout, stderr)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        out, err = await asyncio.wait_for(self.proc.communicate(), 60)
        return time.monotonic() - started, self.proc.returncode or 0, out.decode(), err.decode()


async def start_serve(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start `segway-sim serve args`; (the process, its first line: the banner or nothing)."""
    proc = await asyncio.create_subprocess_exec(
        *SERVE, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    return proc, first


@asynccontextmanager
async def serving(*args: str) -> AsyncIterator[Served]:
    """A `segway-sim serve` process on a free loopback port, killed at the end if still alive."""
    proc, first = await start_serve(*args)
    try:
        if " on http://127.0.0.1:" not in first:
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            raise AssertionError(f"serve did not start: {first!r} {err.decode()}")
        assert proc.stdout is not None
        banner = [first]
        last = "  state: " if "--state-dir" in args else "  control plane: "  # its last line
        while line := (await proc.stdout.readline()).decode():
            banner.append(line)
            if line.startswith(last):
                break
        url = first.rsplit(" on ", 1)[1].strip()
        async with aiohttp.ClientSession() as session:
            yield Served(proc, url, banner, session)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()


@dataclass
class Hook:
    """A partner's push endpoint: records every push, answers `failing` ones with 500."""

    failing: int = 0  # the next this many pushes are answered 500
    hanging: bool = False  # pushes get no answer until the hook closes
    got: list[dict[str, str]] = field(default_factory=list)  # every attempt, failed or not
    refused: list[dict[str, str]] = field(default_factory=list)
    delivered: list[dict[str, str]] = field(default_factory=list)
    server: TestServer | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def _receive(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.got.append(form)
        if self.hanging:
            async with self._changed:
                self._changed.notify_all()
            await self._closing.wait()
        status = 200
        if self.failing:
            self.failing -= 1
            status = 500
            self.refused.append(form)
        else:
            self.delivered.append(form)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"code": 0, "message": "success"}, status=status)

    async def wait_delivered(self, n: int, timeout: float = 10) -> None:
        """Until `n` pushes were delivered (the handler signals each: no polling)."""
        await self.wait_until(lambda: len(self.delivered) >= n, timeout)

    async def wait_until(self, done: Callable[[], bool], timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), timeout)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hook"))


@asynccontextmanager
async def hook() -> AsyncIterator[Hook]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook/v2/vehicle/{kind}", h._receive)
    h.server = TestServer(app, host="127.0.0.1")
    await h.server.start_server()
    try:
        yield h
    finally:
        h._closing.set()
        await h.server.close()
