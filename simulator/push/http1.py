"""A small HTTP/1.1 client for pushes: form POSTs over kept-alive connections, nothing more.

A push is one POST of a small form to a URL of a handful per platform, and all a sender needs of
the answer is its status. aiohttp's client, built for everything HTTP can be, spends about
90 µs of Python on each such request; at fleet scale (thousands of pushes a second) that is most
of a push's cost (benchmarks/bench_push.py, RESULTS.md "Push storm"). This client writes the
request head from a per-URL template, parses the answer with httptools (the parser uvicorn
uses), reads the answer's body to keep the connection (or closes it past MAX_ANSWER), and keeps
idle connections per origin. Redirects are answers like any other (not followed); TLS is the
event loop's. What it does not do, pushes do not need: cookies, auth, proxies, compression.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any

import httptools

MAX_ANSWER = 64 * 1024  # answer body bytes read; past them the connection is closed
MAX_IDLE = 64  # idle connections kept per origin


class AnswerError(Exception):
    """The receiver's bytes are not an HTTP answer, or the connection ended before one."""


class _Connection(asyncio.Protocol):
    """One connection; one request at a time on it."""

    def __init__(self) -> None:
        self.transport: Any = None  # an asyncio.Transport (uvloop's is not a subclass)
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[tuple[int, bool]] | None = None
        self.size = 0
        self.head_read = False
        self.closed = False
        self.used = False  # a request went out on it: a reused connection may have gone stale

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(AnswerError(f"not an HTTP answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_read:  # an answer whose body runs to the end of the connection (HTTP/1.0)
            self._done(keep=False)
        self._fail(AnswerError("the receiver closed the connection before answering"))

    # -- httptools callbacks
    def on_headers_complete(self) -> None:
        self.head_read = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_ANSWER:  # enough is read: the connection goes with the rest
            self._done(keep=False)
            self.close()

    def on_message_complete(self) -> None:
        self._done(keep=self.parser.should_keep_alive())

    # --
    def request(self, data: bytes) -> asyncio.Future[tuple[int, bool]]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.size = 0
        self.head_read = False
        self.used = True
        self.transport.write(data)
        return self.answer

    def _done(self, keep: bool) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((self.parser.get_status_code(), keep))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Target:
    """A parsed push URL: where to connect, and the head of every request to it."""

    def __init__(self, url: str) -> None:
        try:
            parsed = httptools.parse_url(url.encode())
        except httptools.HttpParserInvalidURLError:
            raise ValueError(f"not an http(s) URL: {url}") from None
        scheme = (parsed.schema or b"http").decode().lower()
        if scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"not an http(s) URL: {url}")
        self.host = parsed.host.decode()
        self.tls = scheme == "https"
        self.port = parsed.port or (443 if self.tls else 80)
        self.origin = (scheme, self.host, self.port)
        path = (parsed.path or b"/") + (b"?" + parsed.query if parsed.query else b"")
        default = self.port == (443 if self.tls else 80)
        host = self.host if ":" not in self.host else f"[{self.host}]"
        authority = host if default else f"{host}:{self.port}"
        self.head = (b"POST " + path + b" HTTP/1.1\r\nHost: " + authority.encode()
                     + b"\r\nUser-Agent: segway-sim\r\nAccept: */*\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ")


class Client:
    """Pooled connections per origin; `post` is one attempt, bounded by `timeout`."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], deque[_Connection]] = {}
        self._targets: dict[str, Target] = {}
        self._tls: ssl.SSLContext | None = None

    def target(self, url: str) -> Target:
        found = self._targets.get(url)
        if found is None:
            if len(self._targets) > 1000:  # callbacks change rarely; never grow unbounded
                self._targets.clear()
            found = self._targets[url] = Target(url)
        return found

    async def post(self, url: str, body: bytes, timeout: float) -> int:
        """The answer's status; raises TimeoutError, OSError (connecting) or AnswerError."""
        target = self.target(url)
        data = target.head + str(len(body)).encode() + b"\r\n\r\n" + body
        async with asyncio.timeout(timeout):
            while True:
                conn = self._take(target)
                reused = conn is not None
                if conn is None:
                    conn = await self._connect(target)
                try:
                    status, keep = await conn.request(data)
                except AnswerError:
                    conn.close()
                    if reused and conn.size == 0:
                        continue  # the receiver had closed the idle connection: a fresh one
                    raise
                except BaseException:
                    conn.close()  # cancelled or timed out mid-answer: the connection is spoilt
                    raise
                if keep and not conn.closed:
                    self._give_back(target, conn)
                else:
                    conn.close()
                return status

    def _take(self, target: Target) -> _Connection | None:
        idle = self._idle.get(target.origin)
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def _give_back(self, target: Target, conn: _Connection) -> None:
        idle = self._idle.setdefault(target.origin, deque())
        if len(idle) >= MAX_IDLE:
            conn.close()
        else:
            idle.append(conn)

    async def _connect(self, target: Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: Any = None
        if target.tls:
            tls = self._tls = self._tls or ssl.create_default_context()
        _, conn = await loop.create_connection(_Connection, target.host, target.port, ssl=tls)
        return conn

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
