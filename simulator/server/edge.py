"""What the server answers before any route: malformed HTTP, HTTP versions it does not speak.

aiohttp answers a request its parser refuses with a `text/plain` 400 that quotes the offending
bytes back, and it serves any version its parser reads (`HTTP/0.9`, `HTTP/2.0`) as if it were
HTTP/1.x. Both happen in its connection protocol (`web_protocol.RequestHandler`), before the app
and its routes, so they are answered here, by a protocol of our own that the runner installs:
every such answer is the Spring Boot error JSON of the rest of the app (wire.http_error), names
the kind of defect without echoing the input, and closes the connection.

Private aiohttp API used (checked against aiohttp 3.14.1-3.14.5, the declared lower bound up):
`AppRunner._make_server`, `Server._kwargs`, `RequestHandler._handle_request`,
`BaseRequest._message` and `_cache`; tests/test_edge_input.py fails if any of them changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http import HttpVersion10, HttpVersion11
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from simulator.server.keys import SIM
from simulator.server.wire import http_error

Now = Callable[[], float]
SUPPORTED = (HttpVersion10, HttpVersion11)


def _now(app: web.Application) -> Now:
    """The simulator's virtual clock if the app serves one (timestamps match the rest)."""
    sim = app.get(SIM)
    return (lambda: sim.clock.now) if sim is not None else time.time


class _Protocol(RequestHandler):
    """aiohttp's connection protocol, with JSON answers to what never reaches a route."""

    now: Now = time.time

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
        if status >= 500:
            self.log_exception("error handling request from %s", request.remote, exc_info=exc)
        else:  # the client's mistake: one line, not a traceback
            self.logger.info("refused a malformed request from %s: %s", request.remote,
                             type(exc).__name__ if exc else status)
        if request.writer.output_size > 0:  # as aiohttp: an answer has begun, none can follow
            raise ConnectionError("response already started")
        if status == 400 and exc is not None:
            # The parser's own message quotes the raw input: name the defect's kind instead.
            text, path = f"malformed HTTP request ({type(exc).__name__})", ""
        else:
            text, path = "internal simulator error" if status >= 500 else "", request.path
        response = http_error(status, path, text, self.now())
        response.force_close()
        return response

    async def _handle_request(
        self, request: web.BaseRequest, start_time: float | None,
        request_handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
    ) -> tuple[web.StreamResponse, bool]:
        if request.version not in SUPPORTED:
            # Answer in HTTP/1.1 (as Tomcat does): a status line in the client's own version
            # ("HTTP/2.0 505") would claim to speak it.
            request._message = request._message._replace(version=HttpVersion11)
            request._cache["version"] = HttpVersion11  # `version` is reified
            request_handler = self._unsupported_version
        return await super()._handle_request(request, start_time, request_handler)

    async def _unsupported_version(self, request: web.BaseRequest) -> web.StreamResponse:
        response = http_error(505, request.path, "only HTTP/1.0 and HTTP/1.1 are served",
                              self.now())
        response.force_close()
        return response


class _Server(web.Server):
    def __init__(self, server: web.Server, now: Now) -> None:
        super().__init__(server.request_handler, request_factory=server.request_factory,
                         handler_cancellation=server.handler_cancellation,
                         loop=asyncio.get_running_loop(), **server._kwargs)
        self.now = now

    def __call__(self) -> RequestHandler:
        protocol = _Protocol(self, loop=self._loop, **self._kwargs)
        protocol.now = self.now
        return protocol


class EdgeRunner(web.AppRunner):
    """`web.AppRunner` whose connections answer malformed HTTP and unknown versions in JSON."""

    async def _make_server(self) -> web.Server:
        return _Server(await super()._make_server(), _now(self.app))
