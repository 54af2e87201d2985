"""The simulator served from a daemon thread with its own event loop (the pytest plugin's
server, and the contract suite's when it targets the mock).

Partners' tests are often synchronous (requests, httpx sync) and sometimes async on a loop of
their own; a server on a separate loop answers both, and a test that blocks its own loop cannot
stall it. Everything that touches the simulator runs on that loop, through `call`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from simulator.sim import Config, Simulator

T = TypeVar("T")
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 120.0  # a long clock advance over a big fleet is still a bounded wait


class ServerThread:
    """The simulator served from a daemon thread with its own event loop."""

    def __init__(self, config: Config, host: str = "127.0.0.1", pace: bool = False) -> None:
        self.config = config
        self.host = host
        self.pace = pace  # a clock that runs in wall time (unless paused), as `serve` has
        self.url = ""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="segway-sim", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._sim: Simulator | None = None
        self._app: web.Application | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError("segway-sim did not start in time")
        if self._failure is not None:
            raise RuntimeError("segway-sim failed to start") from self._failure
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def _serve(self) -> None:
        # The server (aiohttp's app, the control plane's models) loads when a test first asks
        # for it, not whenever pytest loads the plugin.
        from simulator.server.runner import start

        try:
            self._sim = Simulator(self.config)
            running = await start(self._sim, self.host, 0, pace=self.pace)
        except BaseException as exc:  # reported to the starting thread, not lost in this one
            self._failure = exc
            self._ready.set()
            return
        self.url = running.url
        self._app = running.runner.app
        self._stop = asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await running.stop()

    @property
    def sim(self) -> Simulator:
        """The simulator object; touch it only through `call` (it lives on the server thread)."""
        assert self._sim is not None, "server not started"
        return self._sim

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, fn: Callable[[Simulator], T]) -> T:
        """Run `fn(sim)` on the server thread, between two requests, and return its result."""

        async def run() -> T:
            return fn(self.sim)

        return self.submit(run()).result(CALL_TIMEOUT_S)

    def settle(self, timeout: float = CALL_TIMEOUT_S) -> None:
        """Wait until every push already due has been attempted (retries not yet due wait)."""
        from simulator.server.keys import DISPATCHER

        assert self._app is not None, "server not started"
        dispatcher = self._app[DISPATCHER]

        async def drain() -> None:
            await asyncio.wait_for(dispatcher.drain(), timeout)

        self.submit(drain()).result(timeout + 5)

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(START_TIMEOUT_S)
