"""The control plane's validation vocabulary: strict pydantic models, read from a request.

Unlike the vendor surface (liberal like Spring), the control plane is strict: an unknown field,
a wrong JSON type (`"5"` for 5, `1` for true, `1.0` for a code), a non-finite or out-of-range
number is a SimError naming the field, so a typo in a test never passes silently. Every body
and query string is one declarative model (control_models.py); the same models write
control.json. A pydantic ValidationError becomes a SimError here, in one place (`sim_error`).

Why pydantic rather than msgspec (both tried on these bodies): both generate JSON Schema with
components, discriminators and constraints, and msgspec is faster and even stricter by default.
But a msgspec error is one text message (`Expected `int`, got `float` - at `$.events[0].code``;
an unknown field named only in the prose, at its object's path) that would have to be parsed
back into a field name, and it has no per-field validators with located errors (a firmware
text read into its fleet code, a fault code given as a number or as text): only a struct-wide
__post_init__. pydantic's errors are data (`loc`, `type`, `ctx`), and its validators and
`WithJsonSchema` keep a field's check and its description in one declaration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar

import orjson
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from simulator.core.errors import SimError
from simulator.server import wire
from simulator.server.wire import json_response

# An unknown field, a wrong JSON type or a NaN is an error; names on the wire are the aliases.
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=False,
                    frozen=True)
# A query string is text: its models convert (see QueryInt, QueryBool) but still forbid extras.
QUERY = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False, frozen=True)

M = TypeVar("M", bound=BaseModel)


class WireModel(BaseModel):
    """A control-plane body: strict, closed, wire (camelCase) names as aliases."""

    model_config = STRICT

    def values(self) -> dict[str, Any]:
        """The fields the request gave, by their python names (what the domain receives)."""
        return self.model_dump(exclude_unset=True)


class QueryModel(BaseModel):
    model_config = QUERY


_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


def field_path(loc: Iterable[int | str], skip: int = 0) -> str:
    """A pydantic location as the simulator names fields: `events[0].type`, `code`."""
    out = ""
    for part in list(loc)[skip:]:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def sim_error(exc: ValidationError, tagged: bool = False,
              known: Iterable[str] | None = None) -> SimError:
    """The first error of `exc` as the control plane's SimError.

    `tagged`: the model is a union discriminated by a field, whose value pydantic puts first in
    the location of an error inside a variant (dropped: the field is the variant's own). A
    location outside every field (a body that is not an object, a whole-model check) is `body`.
    """
    err = exc.errors(include_url=False)[0]
    kind, loc = err["type"], tuple(err["loc"])
    if kind in _TAG_ERRORS:  # the discriminator itself is missing or unknown
        ctx = err.get("ctx") or {}
        name = str(ctx.get("discriminator", "'type'")).strip("'")
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return SimError(field_path((*loc, name)), f"must be one of {expected}" if expected
                        else "is required")
    field = field_path(loc, skip=1 if tagged and loc else 0) or "body"
    if kind == "json_invalid":
        return SimError("body", f"malformed JSON: {err['msg'].removeprefix('Invalid JSON: ')}")
    if kind in ("model_type", "dict_type", "model_attributes_type") and field == "body":
        return SimError("body", "must be a JSON object")
    if kind == "extra_forbidden":
        names = sorted(known or ())
        return SimError(field, "unknown field" + (f"; known: {', '.join(names)}" if names else ""))
    if kind == "missing":
        return SimError(field, "is required")
    return SimError(field, _message(err["msg"]))


def _message(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def aliases(model: type[BaseModel]) -> dict[str, str]:
    """python name -> wire name, to name a field the domain refused as the caller wrote it."""
    return {name: info.alias or name for name, info in model.model_fields.items()}


def wire_names(model: type[BaseModel]) -> list[str]:
    return list(aliases(model).values())


def parse_body(model: type[M], raw: bytes, empty_ok: bool = False) -> M:
    """`raw` as `model`; an empty body is `{}` where `empty_ok`, else a `body` error."""
    if not raw.strip():
        if not empty_ok:
            raise SimError("body", "a JSON object is required")
        raw = b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise sim_error(exc, known=wire_names(model)) from None


# Control-plane bodies are small (a clock change, a rule, a vehicle); only a snapshot is large: a
# 1,000,000-vehicle world is about 465 MB of JSON. Both limits count decoded bytes (wire.py).
CONTROL_BODY = 1024 * 1024
SNAPSHOT_BODY = 1024 * 1024 * 1024


class Unread(SimError):
    """A SimError answered on a connection that then closes (`answers_sim_errors`)."""

    def __init__(self, error: SimError) -> None:
        super().__init__(error.field, error.message, error.status)


async def read_raw(request: web.Request, limit: int = CONTROL_BODY) -> bytes:
    """The body's bytes, or a SimError on `body`: 413 over `limit`, 400 if it does not decode.

    Raised with the connection marked to close (the rest of the body is not read).
    """
    try:
        return await wire.read_body(request, limit)
    except wire.TooLarge:
        error = SimError("body", f"larger than {limit} bytes", 413)
    except wire.Undecodable:
        error = SimError("body", "does not decode as its Content-Encoding says")
    raise Unread(error)


async def read_body(request: web.Request, model: type[M], empty_ok: bool = False) -> M:
    return parse_body(model, await read_raw(request), empty_ok)


async def read_object(request: web.Request, limit: int = CONTROL_BODY) -> dict[str, Any]:
    """The body as a JSON object, for a document that checks itself (a snapshot)."""
    raw = await read_raw(request, limit)
    if not raw.strip():
        raise SimError("body", "a JSON object is required")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SimError("body", f"malformed JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SimError("body", "must be a JSON object")
    return body


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model` (the first of repeated parameters, as `.get` reads it)."""
    query = request.query
    try:
        return model.model_validate({name: query[name] for name in query})
    except ValidationError as exc:
        raise sim_error(exc, known=wire_names(model)) from None


# -- query-string values: text, read as the hand-written control plane always read it ----------

_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}


def _query_bool(raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() in _BOOL_TEXT:
        return _BOOL_TEXT[raw.strip().lower()]
    raise PydanticCustomError("query_bool", "must be true or false")


def _query_int(raw: Any) -> Any:
    # Digits only (no sign, no exponent); the range is the field's own.
    if isinstance(raw, str) and re.fullmatch(r"\d{1,18}", raw.strip()):
        return int(raw)
    raise PydanticCustomError("query_int", "must be a non-negative integer")


QueryBool = Annotated[bool, BeforeValidator(_query_bool),
                      WithJsonSchema({"type": "string", "enum": ["true", "false", "1", "0"]})]
QueryInt = Annotated[int, BeforeValidator(_query_int)]


# -- value types -------------------------------------------------------------------------------


def optional(**kw: Any) -> Any:
    """An optional field that is never null: absent, or a value."""
    return Field(default=None, **kw)


def choice(values: Iterable[Any], what: str = "") -> Any:
    """One of `values`, of their JSON type exactly: neither true nor 1.0 passes for 1 (which
    pydantic's Literal lets through even in strict mode, so it is not used for numbers)."""
    allowed = tuple(values)
    kind = int if all(isinstance(v, int) for v in allowed) else str
    schema = {"type": "integer" if kind is int else "string", "enum": list(allowed)}

    def member(value: Any) -> Any:
        if value not in allowed:
            told = what or f"one of {', '.join(map(str, allowed))}"
            raise PydanticCustomError("choice", "must be {what}", {"what": told})
        return value

    return Annotated[kind, Strict(), AfterValidator(member), WithJsonSchema(schema)]


def text(pattern: str, what: str) -> Any:
    """A string matching `pattern` (anchored), or an error saying what it must be."""
    compiled = re.compile(pattern)

    def matches(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("pattern", "must be {what}", {"what": what})
        return value

    return Annotated[str, Strict(), AfterValidator(matches),
                     WithJsonSchema({"type": "string", "pattern": pattern})]


# -- answering -----------------------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answers_sim_errors(handler: Handler) -> Handler:
    """Render a SimError as the control plane's JSON error, with its status (400, 404, 409)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SimError as err:
            response = json_response(err.to_json(), status=err.status)
            return wire.unread(response) if isinstance(err, Unread) else response

    return wrapped


def renamed(err: SimError, names: Mapping[str, str]) -> SimError:
    """`err` with its field in wire names (the domain names fields as python does)."""
    field = names.get(err.field or "", err.field)
    return err if field == err.field else SimError(field, err.message, err.status)
