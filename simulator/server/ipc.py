"""Vendor requests forwarded from HTTP worker processes to the process that owns the fleet.

In `segway-sim serve --workers N` (workers.py) N processes parse HTTP and write answers, and one
process, the owner, holds the whole simulator. A worker forwards each vendor request, as
received, over a Unix socket; the owner runs the very pipeline a single process runs
(`vendor.FAST`, with this module's `ForwardedRequest` standing for the aiohttp request) and sends
back the status and the body. So every vendor rule holds across workers exactly as in one process:
one token table, one fleet, one set of fault rules drawing from one seeded stream, one in-flight
set (15104), one journal, one clock.

Frames, each prefixed by its length (u32, big-endian):
  request   u32 id, u16 route (index into ROUTE_KEYS), u16 n, n bytes of JSON
            [method, path, raw query, authorization|null, content_length|null], then the
            body read so far
  answer    u32 id, u16 HTTP status, then the body (always JSON)
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Coroutine
from typing import Any, cast

import orjson
from aiohttp import web
from multidict import MultiDictProxy
from yarl import URL

from ..sim import Simulator
from . import vendor

ROUTE_KEYS: list[tuple[str, str]] = list(vendor.FAST)  # the same order in every process
_LEN = struct.Struct(">I")
_REQUEST_HEAD = struct.Struct(">IHH")
_ANSWER_HEAD = struct.Struct(">IH")


def request_frame(rid: int, route: int, method: str, path: str, raw_query: str,
                  authorization: str | None, content_length: int | None, body: bytes) -> bytes:
    fields = orjson.dumps([method, path, raw_query, authorization, content_length])
    head = _REQUEST_HEAD.pack(rid, route, len(fields))
    return _LEN.pack(len(head) + len(fields) + len(body)) + head + fields + body


def answer_frame(rid: int, status: int, body: bytes) -> bytes:
    return _LEN.pack(_ANSWER_HEAD.size + len(body)) + _ANSWER_HEAD.pack(rid, status) + body


def frames(buffer: bytearray) -> list[bytes]:
    """Take every complete frame off the front of `buffer`."""
    out = []
    start = 0
    while len(buffer) - start >= 4:
        (size,) = _LEN.unpack_from(buffer, start)
        if len(buffer) - start - 4 < size:
            break
        out.append(bytes(buffer[start + 4:start + 4 + size]))
        start += 4 + size
    del buffer[:start]
    return out


class _Body:
    """`request.content` of a forwarded request: the bytes the worker read, then EOF."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, n: int = -1) -> bytes:
        data = self._data if n < 0 else self._data[:n]
        self._data = self._data[len(data):]
        return data


class _Headers:
    """The one header the pipelines read (`Authorization`, first value as aiohttp gives it)."""

    def __init__(self, authorization: str | None) -> None:
        self.authorization = authorization

    def get(self, name: str, default: str | None = None) -> str | None:
        if name.lower() == "authorization" and self.authorization is not None:
            return self.authorization
        return default


class _RelUrl:
    def __init__(self, raw_query_string: str) -> None:
        self.raw_query_string = raw_query_string


class ForwardedRequest:
    """What the vendor pipelines read of an aiohttp request, rebuilt from a request frame:
    method, decoded path, raw query string (parsed only if the pipeline asks for `query`),
    Authorization, declared length and body."""

    def __init__(self, method: str, path: str, raw_query: str, authorization: str | None,
                 content_length: int | None, body: bytes) -> None:
        self.method = method
        self.path = path
        self.rel_url = _RelUrl(raw_query)
        self.headers = _Headers(authorization)
        self.content_length = content_length
        self.content = _Body(body)

    @property
    def query(self) -> MultiDictProxy[str]:
        # Parsed as aiohttp parses request.query: yarl, from the raw (encoded) query string.
        return URL.build(query_string=self.rel_url.raw_query_string, encoded=True).query


class _OwnerConnection(asyncio.Protocol):
    """One worker's connection: requests in, answers out (in any order, matched by id)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.out: list[bytes] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for task in self.tasks:
            task.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for frame in frames(self.buffer):
            rid, route, n = _REQUEST_HEAD.unpack_from(frame)
            head = _REQUEST_HEAD.size
            method, path, raw_query, authorization, length = orjson.loads(frame[head:head + n])
            request = ForwardedRequest(method, path, raw_query, authorization, length,
                                       frame[head + n:])
            coro = vendor.FAST[ROUTE_KEYS[route]](self.sim, cast(web.Request, request))
            if self.sim.faults.rules:  # a rule's delay may hold the answer: a task waits for it
                task = asyncio.get_running_loop().create_task(self._later(rid, coro))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            else:  # nothing in a pipeline waits then: run it to its end now, without a task
                self._reply(rid, _run_now(coro))

    async def _later(self, rid: int, coro: Coroutine[Any, Any, web.Response]) -> None:
        self._reply(rid, await coro)

    def _reply(self, rid: int, response: web.Response) -> None:
        body = response.body
        assert isinstance(body, bytes)
        if not self.out:  # answers of one loop pass go out in one write
            asyncio.get_running_loop().call_soon(self._flush)
        self.out.append(answer_frame(rid, response.status, body))

    def _flush(self) -> None:
        if self.transport is not None and self.out:
            self.transport.write(b"".join(self.out))
        self.out.clear()


def _run_now(coro: Coroutine[Any, Any, web.Response]) -> web.Response:
    """Run a pipeline that does not wait on anything to its end (first step) and return its
    answer. Without fault rules nothing in it awaits a future (the forwarded body is all there);
    should that ever change, it fails loudly rather than answer differently."""
    try:
        coro.send(None)
    except StopIteration as done:
        response: web.Response = done.value
        return response
    coro.close()
    raise RuntimeError("a vendor pipeline waited without a fault rule: forward it as a task")


async def serve_owner(sim: Simulator, path: str) -> asyncio.AbstractServer:
    """Answer forwarded vendor requests for `sim` on the Unix socket `path`."""
    loop = asyncio.get_running_loop()
    return await loop.create_unix_server(lambda: _OwnerConnection(sim), path)


class OwnerClient(asyncio.Protocol):
    """A worker's side of the socket: `call` sends a request and waits for its answer."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, asyncio.Future[tuple[int, bytes]]] = {}
        self.next_id = 0
        self.out: list[bytes] = []
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the owner process is gone"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        for frame in frames(self.buffer):
            rid, status = _ANSWER_HEAD.unpack_from(frame)
            future = self.pending.pop(rid, None)
            if future is not None and not future.done():
                future.set_result((status, frame[_ANSWER_HEAD.size:]))

    async def call(self, route: int, method: str, path: str, raw_query: str,
                   authorization: str | None, content_length: int | None, body: bytes
                   ) -> tuple[int, bytes]:
        if self.transport is None:
            raise ConnectionError("the owner process is gone")
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        rid = self.next_id
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self.pending[rid] = future
        if not self.out:  # requests of one loop pass go out in one write
            loop.call_soon(self._flush)
        self.out.append(request_frame(rid, route, method, path, raw_query, authorization,
                                      content_length, body))
        return await future

    def _flush(self) -> None:
        if self.transport is not None and self.out:
            self.transport.write(b"".join(self.out))
        self.out.clear()


async def connect(path: str) -> OwnerClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_unix_connection(OwnerClient, path)
    return client

