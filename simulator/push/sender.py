"""The HTTP side of push delivery: a sender posts one signed push and says how it went.

Two senders with one interface, so the dispatcher's rules (per-platform concurrency, the
outbox's journal and retry, chaos) are the same whichever does the HTTP; both post with the small
client of http1.py (a push costs it about a fifth of what aiohttp's client spends):

- `LocalSender`: on the simulator's own event loop (tests, one core);
- `ProcessSender`: a child process with its own event loop, on the machine's other core, fed
  over a socket pair. At fleet scale the HTTP client is most of a push's cost; in the child it no
  longer competes with the REST surface for the simulator's core (benchmarks/bench_storm.py).

The frames on the socket are tiny fixed headers with the bytes after them: the simulator writes
`(key, url, body)`, the child answers `(key, status, milliseconds, error)` as each attempt ends.
`python -m simulator.push.sender FD` is the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import struct
import sys
import time
from typing import Protocol

from simulator.push import http1

Outcome = tuple[int | None, str | None, float]  # HTTP status, error, wall milliseconds

STUCK_S = 5.0  # past a push's timeout: the child is stuck
_PUSH = struct.Struct("<QfIH")  # key, timeout, body length, url length; then url, body
_DONE = struct.Struct("<QhfH")  # key, status (-1: none), milliseconds, error length; then error


class Sender(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, url: str, body: bytes, timeout: float) -> Outcome: ...


async def post(client: http1.Client, url: str, body: bytes, timeout: float) -> Outcome:
    """One attempt: its status, or why there is none (the journal's `error`)."""
    status: int | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        status = await client.post(url, body, timeout)
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
    except OSError as exc:
        error = f"connection failed: {exc.strerror or exc}"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a receiver must never stop delivery: record what happened
        error = f"{type(exc).__name__}: {exc}"
    return status, error, (time.perf_counter() - started) * 1000


class LocalSender:
    def __init__(self) -> None:
        self._client: http1.Client | None = None

    async def start(self) -> None:
        self._client = http1.Client()

    async def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    async def send(self, url: str, body: bytes, timeout: float) -> Outcome:
        assert self._client is not None
        return await post(self._client, url, body, timeout)


class ProcessSender:
    """Pushes posted by a child process; a child that dies fails what it held and is replaced."""

    def __init__(self, stuck_s: float = STUCK_S) -> None:
        self.stuck_s = stuck_s
        self._keys = itertools.count(1)
        # key -> the push's answer to be, and when a child that has not answered it is stuck
        self._waiting: dict[int, tuple[asyncio.Future[Outcome], float]] = {}
        self._child: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None
        self._restarting = asyncio.Lock()

    async def start(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "simulator.push.sender", str(theirs.fileno()),
                pass_fds=(theirs.fileno(),))
        reader, self._writer = await asyncio.open_unix_connection(sock=ours)
        self._reading = asyncio.create_task(self._read(reader))
        self._watching = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()  # the child ends at the end of its input
        for task in (self._reading, self._watching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._child is not None and self._child.returncode is None:
            try:
                await asyncio.wait_for(self._child.wait(), 2)
            except TimeoutError:
                self._child.kill()
                await self._child.wait()
        self._fail("delivery stopped")
        self._writer = self._reading = self._watching = self._child = None

    async def send(self, url: str, body: bytes, timeout: float) -> Outcome:
        if self._writer is None or self._writer.is_closing():
            async with self._restarting:  # many sends find it gone at once: one restart
                if self._writer is None or self._writer.is_closing():
                    await self.stop()
                    await self.start()
        assert self._writer is not None
        key = next(self._keys)
        done = asyncio.get_running_loop().create_future()
        # The child gives up after `timeout`; a stuck child is the watchdog's (no timer per push:
        # at fleet scale asyncio.wait_for cost the REST surface more than the push itself).
        self._waiting[key] = (done, time.monotonic() + timeout + self.stuck_s)
        raw = url.encode()
        self._writer.write(_PUSH.pack(key, timeout, len(body), len(raw)) + raw + body)
        try:
            return await done
        finally:
            self._waiting.pop(key, None)

    async def _watch(self) -> None:
        """Fail the pushes a stuck child has held past their timeout (it answers every push
        within its timeout, so any left are its fault)."""
        while True:
            await asyncio.sleep(min(1.0, self.stuck_s))
            now = time.monotonic()
            for done, deadline in list(self._waiting.values()):
                if deadline < now and not done.done():
                    done.set_result((None, "delivery process did not answer",
                                     self.stuck_s * 1000))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                key, status, ms, size = _DONE.unpack(await reader.readexactly(_DONE.size))
                error = (await reader.readexactly(size)).decode() if size else None
                waiting = self._waiting.get(key)
                if waiting is not None and not waiting[0].done():
                    waiting[0].set_result((None if status < 0 else status, error, ms))
        except (asyncio.IncompleteReadError, ConnectionError):
            self._fail("delivery process exited")
            if self._writer is not None:
                self._writer.close()

    def _fail(self, why: str) -> None:
        for done, _ in self._waiting.values():
            if not done.done():
                done.set_result((None, why, 0.0))


# -- the child -----------------------------------------------------------------------------------


async def _child(fd: int) -> None:
    reader, writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=fd))
    tasks: set[asyncio.Task[None]] = set()
    client = http1.Client()

    async def attempt(key: int, timeout: float, url: str, body: bytes) -> None:
        status, error, ms = await post(client, url, body, round(timeout, 3))
        said = (error or "").encode()[:65535]
        writer.write(_DONE.pack(key, -1 if status is None else status, ms, len(said)) + said)

    try:
        while True:
            key, timeout, size, url_size = _PUSH.unpack(await reader.readexactly(_PUSH.size))
            url = (await reader.readexactly(url_size)).decode()
            body = await reader.readexactly(size)
            task = asyncio.create_task(attempt(key, timeout, url, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the simulator closed its end: finish nothing more
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    client.close()


def main() -> None:
    fd = int(sys.argv[1])
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        try:
            import uvloop  # optional: the faster loop, as the server's --loop auto
        except ImportError:
            asyncio.run(_child(fd))
        else:
            uvloop.run(_child(fd))
    os._exit(0)  # nothing of ours is left to flush; skip the interpreter's slow teardown


if __name__ == "__main__":
    main()
