"""Push delivery: performs what the outbox holds, asynchronously, a few at a time per platform.

Any 2xx is delivered; any other status, a refused connection or no answer within the timeout
(wall seconds: it is a real network wait) is reported back to the outbox, which journals the
attempt and retries once, 5 virtual seconds later. Delivery never holds the event loop: at most
`concurrency` requests per platform are in flight, and what waits beyond that sits in the
outbox's bounded queues. The HTTP itself is a sender's (sender.py): on this loop, or in a child
process on another core, so that at fleet scale the pushes do not take the REST surface's core.

The outbox keeps its identity across resets (it is cleared in place), so a dispatcher serves one
outbox for its whole life; the server starts and stops it with the app (server/app.py).
"""

from __future__ import annotations

import asyncio

from simulator.push.outbox import Outbox, Push
from simulator.push.sender import LocalSender, ProcessSender, Sender

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT_S", "DELIVERIES", "Dispatcher"]

# Requests in flight per platform. At fleet scale the loop's latency under REST load bounds
# each slot to a few hundred pushes a second, and a hung receiver holds a slot for its timeout:
# 16 delivered 1,700 of 4,100 pushes due a second, 128 all of them (benchmarks/RESULTS.md).
DEFAULT_CONCURRENCY = 128
DEFAULT_TIMEOUT_S = 5.0  # wall seconds for the receiver to answer
DELIVERIES = ("local", "process")  # where the HTTP of pushes runs (serve --push-delivery)


class Dispatcher:
    def __init__(self, outbox: Outbox, concurrency: int | None = None,
                 timeout: float | None = None, delivery: str = "local") -> None:
        self.outbox = outbox
        self.concurrency = int(concurrency or DEFAULT_CONCURRENCY)
        self.timeout = float(timeout or DEFAULT_TIMEOUT_S)
        if delivery not in DELIVERIES:  # Config.extra["push_delivery"]: a typo must not pass
            raise ValueError(f"push_delivery must be one of {', '.join(DELIVERIES)}, "
                             f"not {delivery!r}")
        self.delivery = delivery
        self.workers: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._settled = asyncio.Event()
        self._sender: Sender | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        sender = ProcessSender() if self.delivery == "process" else LocalSender()
        await sender.start()
        self._sender = sender
        self.outbox.wakeup = self._wake
        for platform in list(self.outbox.queues):  # what was queued before delivery started
            self._wake(platform)

    async def stop(self) -> None:
        if self.outbox.wakeup == self._wake:
            self.outbox.wakeup = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._sender is not None:
            await self._sender.stop()
        self._sender = None

    def _wake(self, platform: str) -> None:
        """Called by the outbox (synchronously) when `platform` has work: one worker per queued
        push, up to the concurrency (busy workers take more when they are done)."""
        if self._loop is None or self._sender is None:
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
        assert self._sender is not None
        status, error, ms = await self._sender.send(push.url, push.body, self.timeout)
        outbox.attempted(push, status, error, ms)

    def busy(self) -> bool:
        return any(self.workers.values()) or self.outbox.pending() > 0

    async def drain(self) -> None:
        """Wait until everything queued has been attempted (retries not yet due stay pending)."""
        while self.busy():
            self._settled.clear()
            await self._settled.wait()
