"""Control-plane input: JSON bodies and query strings read against small field tables.

Unlike the vendor surface (liberal like Spring), the control plane is strict: an unknown field,
a wrong JSON type or an out-of-range value is a SimError naming the field, so a typo in a test
never passes silently. Field tables are data: {wire name: Spec}.
"""

from __future__ import annotations

import functools
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from simulator.core.errors import SimError
from simulator.server.wire import json_response

IMEI = re.compile(r"\d{1,20}")  # what the vendor surface accepts as an iotCode
URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


async def read_object(request: web.Request, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}` where `empty_ok`."""
    raw = await request.read()
    if not raw.strip():
        if empty_ok:
            return {}
        raise SimError("body", "a JSON object is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SimError("body", f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SimError("body", "must be a JSON object")
    return body


class Spec(ABC):
    """How one field is read: its value, checked and converted, or a SimError naming it."""

    @abstractmethod
    def read(self, field: str, value: Any) -> Any: ...


@dataclass(frozen=True)
class Bool(Spec):
    def read(self, field: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise SimError(field, "must be true or false")
        return value


@dataclass(frozen=True)
class Int(Spec):
    lo: int
    hi: int

    def read(self, field: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SimError(field, "must be an integer")
        if not self.lo <= value <= self.hi:
            raise SimError(field, f"must be within {self.lo}-{self.hi}")
        return value


@dataclass(frozen=True)
class Num(Spec):
    lo: float
    hi: float
    lo_open: bool = False  # the low bound itself is excluded (speed > 0)

    def read(self, field: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SimError(field, "must be a number")
        value = float(value)
        if not math.isfinite(value) or not self.lo <= value <= self.hi or (
            self.lo_open and value == self.lo
        ):
            low = f"> {self.lo:g}" if self.lo_open else f">= {self.lo:g}"
            raise SimError(field, f"must be {low} and <= {self.hi:g}")
        return value


@dataclass(frozen=True)
class Choice(Spec):
    values: tuple[Any, ...]

    def read(self, field: str, value: Any) -> Any:
        # Same JSON type too: neither true nor 1.0 passes for 1.
        if not any(type(value) is type(v) and value == v for v in self.values):
            raise SimError(field, f"must be one of {', '.join(map(str, self.values))}")
        return value


@dataclass(frozen=True)
class Text(Spec):
    pattern: re.Pattern[str]
    what: str

    def read(self, field: str, value: Any) -> str:
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            raise SimError(field, f"must be {self.what}")
        return value


PLATFORM_CODE = Text(re.compile(r"[A-Za-z0-9_.-]{1,64}"), "a platform code")
CALLBACK_URL = Text(URL, "an http(s) URL")


@dataclass(frozen=True)
class Nullable(Spec):
    spec: Spec

    def read(self, field: str, value: Any) -> Any:
        return None if value is None else self.spec.read(field, value)


def read_fields(body: Mapping[str, Any], table: Mapping[str, Spec]) -> dict[str, Any]:
    """Every field of `body` read by its spec; a field not in `table` is an error."""
    out: dict[str, Any] = {}
    for name, value in body.items():
        spec = table.get(name)
        if spec is None:
            raise SimError(name, f"unknown field; known: {', '.join(sorted(table))}")
        out[name] = spec.read(name, value)
    return out


def require(params: Mapping[str, Any], name: str) -> Any:
    if params.get(name) is None:
        raise SimError(name, "is required")
    return params[name]


_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}


def query_bool(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None:
        return None
    if raw.strip().lower() not in _BOOL_TEXT:
        raise SimError(name, "must be true or false")
    return _BOOL_TEXT[raw.strip().lower()]


def query_int(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,12}", raw.strip()):
        raise SimError(name, "must be a non-negative integer")
    value = int(raw)
    if not lo <= value <= hi:
        raise SimError(name, f"must be within {lo}-{hi}")
    return value


def check_query(query: Mapping[str, str], known: tuple[str, ...]) -> None:
    for name in query:
        if name not in known:
            raise SimError(name, f"unknown parameter; known: {', '.join(known)}")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answers_sim_errors(handler: Handler) -> Handler:
    """Render a SimError as the control plane's JSON error, with its status (400, 404, 409)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimError as err:
            return json_response(err.to_json(), status=err.status)

    return wrapped
