"""Assertions about the wire, shared by the contract tests.

Each difference from the reference is raised as a DriftError naming the endpoint and the field
(drift.py), so the run's policy can tell the drift a partner depends on from what they accepted.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.contract.drift import (
    EXTRA,
    FORMAT,
    MISSING,
    RANGE,
    TYPE,
    VALUE,
    Drift,
    DriftError,
    check,
    note,
)
from simulator.contract.recordings import kind
from simulator.contract.surface import BOOL, MESSAGES, NUMBER, STRING, Endpoint, Field
from simulator.contract.target import Reply

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEY = re.compile(r"[A-Za-z0-9]{8}")
MIN_T_MS = 1_500_000_000_000  # 2017: any vendor timestamp in ms is past this
ENVELOPE = ("code", "msg", "data", "t")


def json_content(reply: Reply, where: str) -> None:
    """Served as JSON: clients that check the type before parsing (aiohttp's `resp.json()`,
    Java's and Swift's decoders behind a content-type guard) break on anything else."""
    given = next((v for k, v in reply.headers.items() if k.lower() == "content-type"), "")
    media, _, params = given.partition(";")
    check(media.strip().lower() == "application/json", where, "(Content-Type)", VALUE,
          "application/json", given)
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset":
            check(charset.strip().strip('"').lower() == "utf-8", where, "(Content-Type)", VALUE,
                  "application/json; charset=UTF-8", given)


def envelope(reply: Reply, endpoint: Endpoint) -> dict[str, Any]:
    """HTTP 200, served as JSON, and {code, msg, data, t, <id field>}, with their types."""
    where, id_field = endpoint.name, endpoint.id_field
    check(reply.status == 200, where, "(HTTP status)", VALUE, 200, reply.status)
    json_content(reply, where)
    body = reply.body
    check(isinstance(body, dict), where, "(body)", TYPE, "object", kind(body))
    missing = [k for k in (*ENVELOPE, id_field) if k not in body]
    if missing:
        raise DriftError([Drift(where, k, MISSING, "present", None) for k in missing]
                         + [Drift(where, k, EXTRA, None, kind(body[k])) for k in body
                            if k not in (*ENVELOPE, id_field)])
    for k in body:
        if k not in (*ENVELOPE, id_field):
            note(Drift(where, k, EXTRA, None, kind(body[k])))
    check(type(body["code"]) is int, where, "code", TYPE, "number", kind(body["code"]))
    check(isinstance(body["msg"], str), where, "msg", TYPE, "string", kind(body["msg"]))
    check(type(body["t"]) is int and body["t"] >= MIN_T_MS, where, "t", FORMAT, "epoch ms",
          body["t"])
    check(isinstance(body[id_field], str) and UUID.fullmatch(body[id_field]), where, id_field,
          FORMAT, "a UUID", body[id_field])
    return body


def success(reply: Reply, endpoint: Endpoint) -> Any:
    body = envelope(reply, endpoint)
    check(body["code"] == 0, endpoint.name, "code", VALUE, 0, (body["code"], body["msg"]))
    check(body["msg"] == endpoint.msg, endpoint.name, "msg", VALUE, endpoint.msg, body["msg"])
    return body["data"]


def error(reply: Reply, code: int, endpoint: Endpoint) -> None:
    body = envelope(reply, endpoint)
    check(body["code"] == code, endpoint.name, "code", VALUE, code, body["code"])
    check(body["msg"] == MESSAGES[code], endpoint.name, "msg", VALUE, MESSAGES[code], body["msg"])
    check(body["data"] is None, endpoint.name, "data", VALUE, None, body["data"])


def value(where: str, name: str, spec: Field, got: Any) -> None:
    """One field against its table row: JSON type, integer-ness and documented range."""
    want = "array" if spec.kind not in (BOOL, STRING, NUMBER) else spec.kind
    check(kind(got) == want, where, name, TYPE, want, kind(got))
    if spec.kind != NUMBER:
        return
    if spec.integer:
        check(float(got).is_integer(), where, name, TYPE, "a whole number", got)
    check(spec.low is None or got >= spec.low, where, name, RANGE, f">= {spec.low}", got)
    check(spec.high is None or got <= spec.high, where, name, RANGE, f"<= {spec.high}", got)


def fields(data: Any, table: dict[str, Field], where: str, path: str = "data") -> None:
    """The table's field names, each of its type and in its range. A missing field is drift; an
    added one is reported as drift of kind `extra` too (the run's policy tolerates it unless
    --strict-fields)."""
    check(isinstance(data, dict), where, path, TYPE, "object", kind(data))
    drift = [Drift(where, f"{path}.{name}", MISSING, table[name].kind, None)
             for name in table if name not in data]
    for name, spec in table.items():
        if name in data:
            try:
                value(where, f"{path}.{name}", spec, data[name])
            except DriftError as err:
                drift += err.drift
    if drift:
        raise DriftError(drift)
    for name in data:
        if name not in table:
            note(Drift(where, f"{path}.{name}", EXTRA, None, kind(data[name])))




# -- the first generation's (v1) envelope: FIDELITY.md, "Vehicle models" -----------------------

V1_ENVELOPE = ("success", "code", "message", "msg", "t", "opId")
V1_TOKEN_ERROR = ("error", "error_description")  # 15101 only: what makes a v1 client re-auth


def v1_envelope(reply: Reply, endpoint: Endpoint) -> dict[str, Any]:
    """HTTP 200, served as JSON, {success, code, message, msg, t, opId} with their types, and
    the rest (a query's fields) returned flat."""
    where = endpoint.name
    check(reply.status == 200, where, "(HTTP status)", VALUE, 200, reply.status)
    json_content(reply, where)
    body = reply.body
    check(isinstance(body, dict), where, "(body)", TYPE, "object", kind(body))
    missing = [k for k in V1_ENVELOPE if k not in body]
    if missing:
        raise DriftError([Drift(where, k, MISSING, "present", None) for k in missing])
    check(type(body["success"]) is bool, where, "success", TYPE, "boolean", kind(body["success"]))
    check(type(body["code"]) is int, where, "code", TYPE, "number", kind(body["code"]))
    for text in ("message", "msg"):
        check(isinstance(body[text], str), where, text, TYPE, "string", kind(body[text]))
    check(body["message"] == body["msg"], where, "msg", VALUE, "the message's text", body["msg"])
    check(body["success"] == (body["code"] == 0), where, "success", VALUE,
          f"{body['code'] == 0} for code {body['code']}", body["success"])
    check(type(body["t"]) is int and body["t"] >= MIN_T_MS, where, "t", FORMAT, "epoch ms",
          body["t"])
    check(isinstance(body["opId"], str) and UUID.fullmatch(body["opId"]), where, "opId",
          FORMAT, "a UUID", body["opId"])
    return {k: v for k, v in body.items() if k not in V1_ENVELOPE}


def v1_success(reply: Reply, endpoint: Endpoint) -> dict[str, Any]:
    """A v1 success; returns the answer's own fields (flat, beside the envelope)."""
    rest = v1_envelope(reply, endpoint)
    body = reply.body
    check(body["code"] == 0, endpoint.name, "code", VALUE, 0, (body["code"], body["message"]))
    check(body["message"] == endpoint.msg, endpoint.name, "message", VALUE, endpoint.msg,
          body["message"])
    if endpoint.data:
        fields(rest, endpoint.data, endpoint.name, "(body)")
    else:
        for name in rest:
            note(Drift(endpoint.name, name, EXTRA, None, kind(rest[name])))
    return rest


def v1_error(reply: Reply, code: int, endpoint: Endpoint) -> None:
    rest = v1_envelope(reply, endpoint)
    body = reply.body
    check(body["code"] == code, endpoint.name, "code", VALUE, code, body["code"])
    check(body["message"] == MESSAGES[code], endpoint.name, "message", VALUE, MESSAGES[code],
          body["message"])
    allowed = V1_TOKEN_ERROR if code == 15101 else ()
    for name in rest:
        if name not in allowed:
            note(Drift(endpoint.name, name, EXTRA, None, kind(rest[name])))


def any_success(reply: Reply, endpoint: Endpoint) -> Any:
    """A success in the endpoint's own envelope: v2's data, or v1's flat fields."""
    return v1_success(reply, endpoint) if endpoint.surface == "v1" else success(reply, endpoint)


def any_error(reply: Reply, code: int, endpoint: Endpoint) -> None:
    if endpoint.surface == "v1":
        v1_error(reply, code, endpoint)
    else:
        error(reply, code, endpoint)


TOKEN_FIELDS = {"access_token": Field(STRING), "token_type": Field(STRING),
                "expires_in": Field(NUMBER, 1, 86_400, integer=True), "scope": Field(STRING)}
TOKEN_CONSTANTS = {"token_type": "bearer", "scope": "read write trust"}


def token(reply: Reply) -> dict[str, Any]:
    """An OAuth2 client-credentials answer as the reference's example has it."""
    check(reply.status == 200, "token", "(HTTP status)", VALUE, 200, reply.status)
    json_content(reply, "token")
    fields(reply.body, TOKEN_FIELDS, "token", "(body)")
    body: dict[str, Any] = reply.body
    check(body["access_token"], "token", "(body).access_token", VALUE, "a token", "")
    for name, want in TOKEN_CONSTANTS.items():
        check(body[name] == want, "token", f"(body).{name}", VALUE, want, body[name])
    return body
