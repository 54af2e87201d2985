"""Push delivery: performs what the outbox holds, asynchronously, a few at a time per platform.

Any 2xx is delivered; any other status, a refused connection or no answer within the timeout
(wall seconds: it is a real network wait) is reported back to the outbox, which journals the
attempt and retries once, 5 virtual seconds later. Delivery shares the event loop with the REST
surface but never holds it: at most `concurrency` requests per platform are in flight, and what
waits beyond that sits in the outbox's bounded queues.

The outbox keeps its identity across resets (it is cleared in place), so a dispatcher serves one
outbox for its whole life; the server starts and stops it with the app (server/app.py).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from simulator.push.outbox import Outbox, Push

DEFAULT_CONCURRENCY = 16  # requests in flight per platform
DEFAULT_TIMEOUT_S = 5.0  # wall seconds for the receiver to answer
MAX_ANSWER = 64 * 1024  # what is read of a receiver's answer (the rest is discarded)
FORM = CIMultiDict({"Content-Type": "application/x-www-form-urlencoded"})


class Dispatcher:
    def __init__(self, outbox: Outbox, concurrency: int | None = None,
                 timeout: float | None = None) -> None:
        self.outbox = outbox
        self.concurrency = int(concurrency or DEFAULT_CONCURRENCY)
        self.timeout = float(timeout or DEFAULT_TIMEOUT_S)
        self.workers: dict[str, int] = {}
        self._urls: dict[str, URL] = {}  # parsed once: a platform has five push URLs
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # No connector-wide limit: concurrency is bounded per platform instead.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.outbox.wakeup = self._wake
        for platform in list(self.outbox.queues):  # what was queued before delivery started
            self._wake(platform)

    async def stop(self) -> None:
        if self.outbox.wakeup == self._wake:
            self.outbox.wakeup = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._session = None

    def _wake(self, platform: str) -> None:
        """Called by the outbox (synchronously) when `platform` has work: one worker per queued
        push, up to the concurrency (busy workers take more when they are done)."""
        if self._loop is None or self._session is None:
            return
        outbox = self.outbox
        busy = self.workers.get(platform, 0)
        for _ in range(min(self.concurrency - busy, len(outbox.queues.get(platform, ())))):
            self.workers[platform] = self.workers.get(platform, 0) + 1
            task = self._loop.create_task(self._work(outbox, platform))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _work(self, outbox: Outbox, platform: str) -> None:
        try:
            while (push := outbox.take(platform)) is not None:
                await self._deliver(outbox, push)
        finally:
            self.workers[platform] -= 1
            self._settled.set()

    async def _deliver(self, outbox: Outbox, push: Push) -> None:
        assert self._session is not None
        status: int | None = None
        error: str | None = None
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        started = time.perf_counter()
        try:
            # A redirect is an answer like any other non-2xx: it is not followed.
            url = self._urls.get(push.url) or self._url(push.url)
            async with self._session.post(url, data=push.body, headers=FORM,
                                          allow_redirects=False, timeout=timeout) as resp:
                status = resp.status
                await resp.content.read(MAX_ANSWER)
        except TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except aiohttp.ClientConnectorError as exc:
            error = f"connection failed: {exc.os_error.strerror or exc.os_error}"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a receiver must never stop delivery: record what happened
            error = f"{type(exc).__name__}: {exc}"
        outbox.attempted(push, status, error, (time.perf_counter() - started) * 1000)

    def _url(self, text: str) -> URL:
        if len(self._urls) > 1000:  # callbacks change rarely; never let the cache grow unbounded
            self._urls.clear()
        url = self._urls[text] = URL(text)
        return url

    def busy(self) -> bool:
        return any(self.workers.values()) or self.outbox.pending() > 0

    async def drain(self) -> None:
        """Wait until everything queued has been attempted (retries not yet due stay pending)."""
        while self.busy():
            self._settled.clear()
            await self._settled.wait()
