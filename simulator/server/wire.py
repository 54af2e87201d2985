"""The wire format: bodies, opIds, HTTP-level JSON errors (the envelope: vendor.py `_answer`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from aiohttp import web

JSON = "application/json"
MAX_BODY = 64 * 1024  # the vendor's bodies are tiny; anything bigger is refused with 413


class TooLarge(Exception):
    """The body exceeds MAX_BODY: answered 413 (see `too_large`)."""


async def read_body(request: web.Request) -> bytes:
    """The whole body, refusing more than MAX_BODY bytes (declared or, if chunked, as read)."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        raise TooLarge
    # content.read(n) returns what has arrived so far, not n bytes: read until EOF, or until the
    # declared length is in (aiohttp delivers no more than that: the next read would be EOF).
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge
        if size == length:
            break
    return b"".join(chunks)


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
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
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
    }
    return json_response(body, status=status)


def too_large(path: str, now: float) -> web.Response:
    return http_error(413, path, f"request body larger than {MAX_BODY} bytes", now)
