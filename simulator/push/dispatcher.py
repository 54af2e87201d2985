"""Push delivery: performs what the outbox holds, asynchronously, a few at a time per platform.

Any 2xx is delivered; any other status, a refused connection or no answer within the timeout
(wall seconds: it is a real network wait) is reported back to the outbox, which journals the
attempt and retries once, 5 virtual seconds later. Delivery shares the event loop with the REST
surface but never holds it: at most `concurrency` requests per platform are in flight, and what
waits beyond that sits in the outbox's bounded queues.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from simulator.push.outbox import Outbox, Push
from simulator.sim import Simulator

DEFAULT_CONCURRENCY = 16  # requests in flight per platform
DEFAULT_TIMEOUT_S = 5.0  # wall seconds for the receiver to answer
MAX_ANSWER = 64 * 1024  # what is read of a receiver's answer (the rest is discarded)
FORM = CIMultiDict({"Content-Type": "application/x-www-form-urlencoded"})


class Dispatcher:
    def __init__(self, sim: Simulator, concurrency: int | None = None,
                 timeout: float | None = None) -> None:
        extra = sim.config.extra
        self.sim = sim
        self.concurrency = int(concurrency or extra.get("push_concurrency", DEFAULT_CONCURRENCY))
        self.timeout = float(timeout or extra.get("push_timeout_s", DEFAULT_TIMEOUT_S))
        self.workers: dict[str, int] = {}
        self._outbox: Outbox | None = None
        self._urls: dict[str, URL] = {}  # parsed once: a platform has five push URLs
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # No connector-wide limit: concurrency is bounded per platform instead.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.sim.reset_hooks.append(self._attach)
        self._attach()

    async def stop(self) -> None:
        if self._attach in self.sim.reset_hooks:
            self.sim.reset_hooks.remove(self._attach)
        if self.sim.outbox.wakeup == self._wake:
            self.sim.outbox.wakeup = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        self._session = None

    def _attach(self) -> None:
        """Serve the simulator's current outbox (a reset replaces it: the old one is closed)."""
        outbox = self.sim.outbox
        if self._outbox is not None and self._outbox is not outbox:
            self._outbox.close()
        self._outbox = outbox
        outbox.wakeup = self._wake
        for platform in list(outbox.queues):
            self._wake(platform)

    def _wake(self, platform: str) -> None:
        """Called by the outbox (synchronously) when `platform` has work: one worker per queued
        push, up to the concurrency (busy workers take more when they are done)."""
        if self._loop is None or self._session is None:
            return
        outbox = self.sim.outbox
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
        return any(self.workers.values()) or self.sim.outbox.pending() > 0

    async def drain(self) -> None:
        """Wait until everything queued has been attempted (retries not yet due stay pending)."""
        while self.busy():
            self._settled.clear()
            await self._settled.wait()


DISPATCHER = web.AppKey("push_dispatcher", Dispatcher)


def setup(app: web.Application, sim: Simulator) -> None:
    """Give the app a dispatcher that delivers while the app runs (tests use app[DISPATCHER])."""
    dispatcher = Dispatcher(sim)
    app[DISPATCHER] = dispatcher

    async def delivery(app: web.Application) -> AsyncIterator[None]:
        await dispatcher.start()
        yield
        await dispatcher.stop()

    app.cleanup_ctx.append(delivery)

