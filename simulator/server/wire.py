"""The wire format: bodies, opIds, HTTP-level JSON errors (the envelope: vendor.py `_answer`)."""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from aiohttp import web
from aiohttp.hdrs import CONTENT_ENCODING
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

JSON = "application/json"
MAX_BODY = 64 * 1024  # the vendor's bodies are tiny; anything bigger is refused with 413


class TooLarge(Exception):
    """The body exceeds its limit: answered 413 (see `too_large`)."""


class Undecodable(Exception):
    """The body cannot be read as sent: its `Content-Encoding` does not decode, or its framing
    (chunks) is broken. A client's mistake, never the server's: answered 15004 or 400."""


class _Inflater:
    """A `Content-Encoding` undone as the body arrives, never past the room left under the limit.

    The server does not inflate bodies itself (edge.py turns aiohttp's auto_decompress off): only
    here can a truncated gzip stream or an unknown coding be told from a complete body.
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.fed = False
        self._d = self._new()

    def _new(self, raw_deflate: bool = False) -> Any:
        if self.coding == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip

    def feed(self, data: bytes, room: int) -> bytes:
        """What `data` inflates to, at most `room` + 1 bytes (more means too large anyway)."""
        if not self.fed and data:
            self.fed = True
            # RFC 1950's header says CM 8; many clients send raw RFC 1951 deflate instead.
            if self.coding == "deflate" and data[0] & 0x0F != 8:
                self._d = self._new(raw_deflate=True)
        out: list[bytes] = []
        got = 0
        try:
            while data and got <= room:
                if self._d.eof:  # a gzip stream may hold more members; nothing else may follow
                    if self.coding != "gzip":
                        raise Undecodable
                    self._d = self._new()
                piece = self._d.decompress(data, room + 1 - got)
                out.append(piece)
                got += len(piece)
                data = self._d.unconsumed_tail or self._d.unused_data
        except zlib.error:
            raise Undecodable from None
        return b"".join(out)

    @property
    def complete(self) -> bool:
        return not self.fed or bool(self._d.eof)


def _inflater(request: web.Request) -> _Inflater | None:
    coding = request.headers.get(CONTENT_ENCODING, "").strip().lower()
    if coding in ("", "identity"):
        return None
    if not getattr(request.protocol, "raw_bodies", False):
        return None  # served by a plain aiohttp runner (a test's TestServer): it inflated them
    if coding in ("gzip", "x-gzip", "deflate"):
        return _Inflater("deflate" if coding == "deflate" else "gzip")
    raise Undecodable  # br, zstd, anything else: not a coding this server undoes


async def read_body(request: web.Request, limit: int = MAX_BODY) -> bytes:
    """The whole body, refusing more than `limit` bytes (declared or, as read, after decoding).

    The limit counts decoded bytes and reading stops as soon as it is passed, so a small gzip
    body that inflates to gigabytes costs at most `limit` bytes of memory. A declared length over
    the limit is refused before anything is read (inflating only grows a body). A body whose
    `Content-Encoding` is not gzip, deflate or identity, or does not decode to its end (a
    truncated stream, trailing bytes), is Undecodable.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise TooLarge
    inflate = _inflater(request)
    chunks: list[bytes] = []
    size = 0
    try:
        # content.read(n) returns what has arrived so far, not n bytes: read until EOF, or until
        # the declared length is in (aiohttp delivers no more: the next read would be EOF).
        while raw := await request.content.read(limit + 1 - size if inflate is None
                                                else 64 * 1024):
            chunk = raw if inflate is None else inflate.feed(raw, limit - size)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise TooLarge
            if inflate is None and size == length:
                break
    except (RequestPayloadError, HttpProcessingError):
        raise Undecodable from None
    except ConnectionResetError:
        # The client went away mid-body: nobody is left to answer, and it is no server error
        # (no traceback, no 15001 journaled): the request ends as a cancelled one.
        raise asyncio.CancelledError from None
    if inflate is not None and not inflate.complete:
        raise Undecodable
    return b"".join(chunks)


def unread(response: web.Response) -> web.Response:
    """`response`, closing the connection after it: the rest of a refused body is not read
    (aiohttp would otherwise go on reading, and inflating, it to find the next request)."""
    response.force_close()
    return response


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON)


# opIds are version-4 UUIDs from os.urandom, as uuid.uuid4() makes them, but made 1024 at a time
# with numpy: one getrandom call and one hex conversion per batch instead of a UUID object per
# answer (uuid4 was 5-8 % of a status query's cost; docs/speed.md).
_OP_ID_BATCH = 1024
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_DIGIT_COLUMNS = np.r_[0:8, 9:13, 14:18, 19:23, 24:36]  # the 32 hex digits among 36 characters
_op_ids: Iterator[str] = iter(())


def _op_id_batch(n: int = _OP_ID_BATCH) -> Iterator[str]:
    raw = np.frombuffer(os.urandom(16 * n), np.uint8).reshape(n, 16).copy()
    raw[:, 6] = raw[:, 6] & 0x0F | 0x40  # version 4
    raw[:, 8] = raw[:, 8] & 0x3F | 0x80  # RFC 4122 variant
    digits = np.empty((n, 32), np.uint8)
    digits[:, 0::2] = raw >> 4
    digits[:, 1::2] = raw & 0x0F
    chars = np.full((n, 36), ord("-"), np.uint8)
    chars[:, _DIGIT_COLUMNS] = _HEX[digits]
    text = chars.tobytes().decode("ascii")
    return iter([text[k:k + 36] for k in range(0, 36 * n, 36)])


def _forget_op_ids() -> None:
    global _op_ids
    _op_ids = iter(())


os.register_at_fork(after_in_child=_forget_op_ids)  # a forked child must not repeat the parent's


def new_op_id() -> str:
    """A fresh random UUID (version 4), like str(uuid.uuid4())."""
    global _op_ids
    for op_id in _op_ids:
        return op_id
    _op_ids = _op_id_batch()
    return next(_op_ids)


_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def http_error(status: int, path: str, message: str, now: float) -> web.Response:
    """HTTP-level errors in the shape of the vendor's Spring Boot default error body."""
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    body = {
        "timestamp": stamp.replace("+00:00", "Z"),
        "status": status,
        "error": _REASONS.get(status, "Error"),
        "message": message,
        "path": path,
        # Beside Spring's fields, the envelope's two, so that a strict decoder of every answer
        # as {code, msg} gets a clean error instead of failing to decode (FIDELITY.md).
        "code": status,
        "msg": message,
    }
    return json_response(body, status=status)


def too_large(path: str, now: float) -> web.Response:
    return unread(http_error(413, path, f"request body larger than {MAX_BODY} bytes", now))
