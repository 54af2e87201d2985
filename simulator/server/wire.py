"""The wire format: the vendor envelope, HTTP-level JSON errors, fast JSON."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from ..errors import VendorError

JSON = "application/json"


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type=JSON)


def new_op_id() -> str:
    return str(uuid.uuid4())


def envelope(
    code: int, msg: str, data: Any, t_ms: int, id_field: str = "opId", op_id: str | None = None
) -> dict[str, Any]:
    """The vendor's answer: always HTTP 200, `{"code","msg","data","t","opId"}`."""
    return {"code": code, "msg": msg, "data": data, "t": t_ms, id_field: op_id or new_op_id()}


def error_envelope(err: VendorError, t_ms: int, id_field: str = "opId") -> dict[str, Any]:
    return envelope(err.code, err.msg, None, t_ms, id_field)


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
