"""Assertions about the wire, shared by the contract tests."""

from __future__ import annotations

import re
from typing import Any

from simulator.contract.surface import BOOL, MESSAGES, NUMBER, STRING, Endpoint, Field
from simulator.contract.target import Reply

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEY = re.compile(r"[A-Za-z0-9]{8}")
MIN_T_MS = 1_500_000_000_000  # 2017: any vendor timestamp in ms is past this


def json_content(reply: Reply) -> None:
    """Served as JSON: clients that check the type before parsing (aiohttp's `resp.json()`,
    Java's and Swift's decoders behind a content-type guard) break on anything else."""
    given = next((v for k, v in reply.headers.items() if k.lower() == "content-type"), "")
    media, _, params = given.partition(";")
    assert media.strip().lower() == "application/json", f"Content-Type {given!r}, not JSON"
    for param in params.split(";"):
        name, _, charset = param.partition("=")
        if name.strip().lower() == "charset":
            assert charset.strip().strip('"').lower() == "utf-8", f"Content-Type {given!r}"


def envelope(reply: Reply, id_field: str = "opId") -> dict[str, Any]:
    """HTTP 200, served as JSON, and exactly {code, msg, data, t, <id_field>}, with their types."""
    assert reply.status == 200, reply
    json_content(reply)
    body = reply.body
    assert isinstance(body, dict), reply
    assert set(body) == {"code", "msg", "data", "t", id_field}, f"envelope keys: {sorted(body)}"
    assert type(body["code"]) is int, reply
    assert isinstance(body["msg"], str), reply
    assert type(body["t"]) is int and body["t"] >= MIN_T_MS, f"t is not epoch ms: {body['t']!r}"
    assert isinstance(body[id_field], str) and UUID.fullmatch(body[id_field]), reply
    return body


def success(reply: Reply, endpoint: Endpoint) -> Any:
    body = envelope(reply, endpoint.id_field)
    assert body["code"] == 0, reply
    assert body["msg"] == endpoint.msg, f"msg {body['msg']!r}, the example says {endpoint.msg!r}"
    return body["data"]


def error(reply: Reply, code: int, id_field: str = "opId") -> None:
    body = envelope(reply, id_field)
    assert body["code"] == code, f"expected {code} {MESSAGES[code]!r}, got {reply}"
    assert body["msg"] == MESSAGES[code], f"msg of {code}: {body['msg']!r}"
    assert body["data"] is None, reply


def value(name: str, spec: Field, got: Any) -> None:
    """One field against its table row: JSON type, integer-ness and documented range."""
    if spec.kind == BOOL:
        assert type(got) is bool, f"{name}: {got!r} is not a boolean"
        return
    if spec.kind == STRING:
        assert isinstance(got, str), f"{name}: {got!r} is not a string"
        return
    if spec.kind == NUMBER:
        assert type(got) in (int, float), f"{name}: {got!r} is not a number"
        if spec.integer:
            assert float(got).is_integer(), f"{name}: {got!r} is not a whole number"
        if spec.low is not None:
            assert got >= spec.low, f"{name}: {got} below {spec.low}"
        if spec.high is not None:
            assert got <= spec.high, f"{name}: {got} above {spec.high}"
        return
    assert isinstance(got, list), f"{name}: {got!r} is not a list"


def fields(data: Any, table: dict[str, Field]) -> None:
    """Exactly the table's field names, each of its type and in its range."""
    assert isinstance(data, dict), f"data is {data!r}"
    assert set(data) == set(table), (
        f"missing {sorted(set(table) - set(data))}, unexpected {sorted(set(data) - set(table))}")
    for name, spec in table.items():
        value(name, spec, data[name])
