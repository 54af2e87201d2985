"""What the server answers before any route: malformed HTTP, HTTP versions it does not speak.

aiohttp answers a request its parser refuses with a `text/plain` 400 that quotes the offending
bytes back, and it serves any version its parser reads (`HTTP/0.9`, `HTTP/2.0`) as if it were
HTTP/1.x. Both happen in its connection protocol (`web_protocol.RequestHandler`), before the app
and its routes, so they are answered here, by a protocol of our own that the runner installs:
every such answer is the Spring Boot error JSON of the rest of the app (wire.http_error), names
the kind of defect without echoing the input, and closes the connection.

The same protocol bounds what a slow or greedy client can hold (aiohttp has no read timeouts and
no connection cap): a request head not complete within `read_timeout` seconds of its first byte,
or a body that stalls that long between two chunks while the server waits for it, is answered
408 and the connection closes; beyond `max_connections` open connections a new one is answered
503 and closed at once, with one warning line per spell of refusals. An idle keep-alive
connection (no byte of a next request yet) is left to aiohttp's keep-alive timeout.

Private aiohttp API used (checked against aiohttp 3.14.1-3.14.5, the declared lower bound up):
`AppRunner._make_server`, `Server._kwargs`, `RequestHandler._handle_request`, `_messages`,
`_waiter`, `_request_count`, `_ErrInfo`, `BaseProtocol._reading_paused`, `BaseRequest._message`
and `_cache`; tests/test_edge_input.py and tests/test_edge_limits.py fail if any of them changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from aiohttp import web
from aiohttp.http import HttpVersion10, HttpVersion11
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError, _ErrInfo

from simulator.server.keys import SIM
from simulator.server.wire import http_error

Now = Callable[[], float]
SUPPORTED = (HttpVersion10, HttpVersion11)
READ_TIMEOUT = 10.0  # seconds: serve --read-timeout
MAX_CONNECTIONS = 1000  # serve --max-connections

log = logging.getLogger("segway_sim.server")


class Refusal(Exception):
    """A request refused here, before aiohttp's parser has a message: its text is the answer's."""


class ReadTimeout(Refusal):
    """The client took longer than the read timeout to send its request head or body."""


class NoVersion(Refusal):
    """An HTTP/0.9 request line (no version): the C parser would wait for headers that such a
    client never sends, so it is refused as soon as its line ends."""


def _now(app: web.Application) -> Now:
    """The simulator's virtual clock if the app serves one (timestamps match the rest)."""
    sim = app.get(SIM)
    return (lambda: sim.clock.now) if sim is not None else time.time


class _Protocol(RequestHandler):
    """aiohttp's connection protocol, with JSON answers to what never reaches a route."""

    raw_bodies = True  # wire.read_body inflates: auto_decompress is off (EdgeRunner)

    now: Now = time.time
    read_timeout = READ_TIMEOUT
    _timer: asyncio.TimerHandle | None = None
    _body: StreamReader | None = None  # the body being received, while it is incomplete
    _stalled: asyncio.Future[None] | None = None  # set when `_body` stalls
    _last_data = 0.0  # loop time of the last bytes of `_body`
    _refused = False  # a refusal is queued: what the client sends next is ignored
    _line: bytes | None = b""  # the first request line, until it ends (HTTP/0.9: one line)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        manager = self._manager
        if isinstance(manager, _Server) and not manager.admit(transport):
            self._manager = None  # never registered: connection_lost has nothing to undo
            return
        super().connection_made(transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        parsed = self._request_count
        super().data_received(data)
        if self._force_close or self._close or self._upgraded:
            self._stop_timer()
            return
        if self._request_count != parsed and self._messages:
            # A head is complete: its body (if any is still to come) is what is waited for now.
            self._stop_timer()
            self._line = None  # HTTP/0.9 has no keep-alive: only a first request can be one
            payload = self._messages[-1][1]
            if not payload.is_eof():
                self._body, self._stalled = payload, self._loop.create_future()
        if self._body is not None:
            if self._body.is_eof():
                self._body = self._stalled = None
                self._stop_timer()
            elif data:
                self._last_data = self._loop.time()
                self._start_timer()
        elif data and self._request_count == parsed:
            self._start_timer()  # from the first bytes of a head: read_timeout to complete
            if self._line is not None:
                self._check_version(data)

    def _check_version(self, data: bytes) -> None:
        assert self._line is not None
        self._line += data
        end = self._line.find(b"\n")
        if end < 0:
            if len(self._line) > 8190:  # the parser refuses a line this long itself
                self._line = None
            return
        line, self._line = self._line[:end].rstrip(b"\r"), None
        if len(line.split()) == 2:  # method and target, no version
            self._refuse(505, NoVersion("only HTTP/1.0 and HTTP/1.1 are served"))

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = self._loop.call_later(self.read_timeout, self._expire)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self.transport is None or self._force_close:
            return
        if self._body is not None:
            idle = self._loop.time() - self._last_data
            # Paused reading is the server's backpressure (the handler is not reading), not a
            # stalled client: only time the client while the server is ready for its bytes.
            if self._reading_paused or idle < self.read_timeout:
                self._timer = self._loop.call_later(
                    max(self.read_timeout - idle, 0.01) if not self._reading_paused
                    else self.read_timeout, self._expire)
            elif self._stalled is not None and not self._stalled.done():
                self._stalled.set_result(None)  # _guarded answers 408 (or it never started)
            return
        if self._reading_paused:  # pipelined requests queued: the head waits on the server
            self._start_timer()
            return
        self._refuse(408, ReadTimeout(f"request head not received within "
                                      f"{self.read_timeout:g} s"))

    def _refuse(self, status: int, error: Refusal) -> None:
        """Answer a head that will not complete through aiohttp's own error path (the queue of
        parsed messages), after any request still in progress on the connection."""
        self._stop_timer()
        self._refused = True
        self._messages.append((_ErrInfo(status=status, exc=error, message=str(error)),
                               EMPTY_PAYLOAD))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        # After answering a body that does not decode, aiohttp reads what is left of it before
        # closing (so that the client sees the answer, not a reset) and fails again: expected.
        if isinstance(kw.get("exc_info"), RequestPayloadError):
            self.logger.debug("discarded the rest of a body that does not decode")
            return
        super().log_exception(*args, **kw)

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status >= 500 and not isinstance(exc, Refusal):
            self.log_exception("error handling request from %s", request.remote, exc_info=exc)
        else:  # the client's mistake: one line, not a traceback
            self.logger.info("refused a malformed request from %s: %s", request.remote,
                             type(exc).__name__ if exc else status)
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, none can follow
            raise ConnectionError("response already started")
        if isinstance(exc, Refusal):
            text, path = str(exc), ""
        elif status == 400 and exc is not None:
            # The parser's own message quotes the raw input: name the defect's kind instead.
            text, path = f"malformed HTTP request ({type(exc).__name__})", ""
        else:
            text, path = "internal simulator error" if status >= 500 else "", request.path
        response = http_error(status, path, text, self.now())
        response.force_close()
        return response

    def _handle_request(
        self, request: web.BaseRequest, start_time: float | None,
        request_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
    ) -> Coroutine[Any, Any, tuple[web.StreamResponse, bool]]:
        # A plain method handing back aiohttp's own coroutine: the common request (a supported
        # version, its body in) pays no frame of ours (bench_ab.py measured it).
        if request.version not in SUPPORTED:
            # Answer in HTTP/1.1 (as Tomcat does): a status line in the client's own version
            # ("HTTP/2.0 505") would claim to speak it.
            request._message = request._message._replace(version=HttpVersion11)
            request._cache["version"] = HttpVersion11  # `version` is reified
            request_handler = self._unsupported_version
        elif request.content is self._body and self._stalled is not None:
            return self._handle_arriving(request, start_time, request_handler, self._stalled)
        return super()._handle_request(request, start_time, request_handler)

    async def _handle_arriving(
        self, request: web.BaseRequest, start_time: float | None,
        request_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        stalled: asyncio.Future[None],
    ) -> tuple[web.StreamResponse, bool]:
        """A request whose body is still arriving: the handler may wait on a client that
        stalls."""
        async def guarded(request: web.BaseRequest) -> web.StreamResponse:
            return await self._guarded(request, request_handler, stalled)

        answer = await super()._handle_request(request, start_time, guarded)
        if stalled.done():  # close now: aiohttp would linger, reading the rest of the body
            self.force_close()
        return answer

    async def _guarded(
        self, request: web.BaseRequest,
        handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
        stalled: asyncio.Future[None],
    ) -> web.StreamResponse:
        """`handler`, or a 408 if the body stalls before it is done: whatever route reads the
        body, however it reads it, never waits on a silent client for longer than the timeout."""
        task = asyncio.ensure_future(handler(request))
        try:
            await asyncio.wait((task, stalled), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not stalled.done() or (task.done() and not task.cancelled()):
            return task.result()
        self.logger.info("request body from %s stalled", request.remote)
        if request.writer.output_size > 0:  # an answer has begun: the connection just closes
            raise ConnectionError("request body stalled mid-answer")
        response = http_error(408, request.path, f"request body stalled for more than "
                              f"{self.read_timeout:g} s", self.now())
        response.force_close()
        return response

    async def _unsupported_version(self, request: web.BaseRequest) -> web.StreamResponse:
        response = http_error(505, request.path, "only HTTP/1.0 and HTTP/1.1 are served",
                              self.now())
        response.force_close()
        return response


class _Server(web.Server):
    def __init__(self, server: web.Server, now: Now, read_timeout: float,
                 max_connections: int) -> None:
        super().__init__(server.request_handler, request_factory=server.request_factory,
                         handler_cancellation=server.handler_cancellation,
                         loop=asyncio.get_running_loop(), **server._kwargs)
        self.now = now
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.refused = 0  # connections refused in the current spell of refusals

    def __call__(self) -> RequestHandler:
        protocol = _Protocol(self, loop=self._loop, **self._kwargs)
        protocol.now = self.now
        protocol.read_timeout = self.read_timeout
        return protocol

    def admit(self, transport: asyncio.BaseTransport) -> bool:
        """Whether a new connection may open; if not, it is answered 503 and closed."""
        open_now = len(self.connections)
        if open_now < self.max_connections:
            if self.refused:
                log.info("accepting connections again (refused %d at the cap of %d)",
                         self.refused, self.max_connections)
                self.refused = 0
            return True
        if not self.refused:  # one line per spell, not one per connection
            log.warning("refusing new connections: %d open, the cap is %d (serve "
                        "--max-connections)", open_now, self.max_connections)
        self.refused += 1
        answer = http_error(503, "", f"more than {self.max_connections} connections open; "
                            "try again later", self.now())
        body = answer.body
        assert isinstance(body, bytes)
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        cast(asyncio.Transport, transport).write(head.encode("ascii") + body)  # uvloop's too
        transport.close()
        return False


class EdgeRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer malformed HTTP and unknown versions in JSON,
    time out slow request heads and bodies, and are capped in number."""

    def __init__(self, app: web.Application, *, read_timeout: float = READ_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS, **kwargs: Any) -> None:
        # Bodies are inflated by wire.read_body, which alone can tell a truncated stream or an
        # unknown coding from a complete body (aiohttp passes both through as they are).
        super().__init__(app, auto_decompress=False, **kwargs)
        self.read_timeout = read_timeout
        self.max_connections = max_connections

    async def _make_server(self) -> web.Server:
        return _Server(await super()._make_server(), _now(self.app), self.read_timeout,
                       self.max_connections)
