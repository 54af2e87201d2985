"""Push drift: genuine pushes of every type captured from the mock, then single changes a new
cloud release could make to them, applied to copies of the capture file.

A capture file is what a partner's receiver records (issue 16): JSON lines, one push a line,
`{"path": "/v2/vehicle/status", "headers": {"Content-Type": ...}, "body": "<raw form body>"}`.
A drifted release still signs what it sends (it has the secret), so a mutation re-signs the
body by the reference's four steps unless the signing itself is what drifted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FORM = "application/x-www-form-urlencoded"
Fields = list[tuple[str, str]]  # a form body's pairs, in the order sent


def parse(body: str) -> Fields:
    return [(k, v) for k, _, v in (pair.partition("=") for pair in body.split("&") if pair)]


def unparse(fields: Fields) -> str:
    return "&".join(f"{k}={v}" for k, v in fields)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def signature(fields: Fields, secret: str) -> str:
    """The reference's four steps: sort by key (ASCII), join k=v with &, add
    `&client_secret=SECRET`, MD5 as lowercase hex."""
    text = "&".join(f"{k}={v}" for k, v in sorted(f for f in fields if f[0] != "signature"))
    return md5(f"{text}&client_secret={secret}")


def signed(fields: Fields, secret: str, sign: Callable[[Fields, str], str] = signature,
           key: str = "signature") -> Fields:
    unsigned = [f for f in fields if f[0] != "signature"]
    return [*unsigned, (key, sign(unsigned, secret))]


@dataclass
class Push:
    path: str
    content_type: str
    fields: Fields

    @property
    def type(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[1]

    def record(self, body: str | None = None) -> dict[str, Any]:
        return {"path": self.path, "headers": {"Content-Type": self.content_type},
                "body": unparse(self.fields) if body is None else body}

    @classmethod
    def read(cls, line: str) -> Push:
        record = json.loads(line)
        return cls(record["path"], record["headers"].get("Content-Type", ""),
                   parse(record["body"]))


@dataclass(frozen=True)
class PushMutation:
    name: str
    type: str  # the push type it changes (all pushes of that type in the file)
    field: str  # the name a failure must mention
    what: str
    change: Callable[[Push, str], dict[str, Any]]  # a push and the secret -> its new record
    aliases: tuple[str, ...] = ()


def fields_then_resign(edit: Callable[[Fields], Fields]) -> Callable[[Push, str], dict[str, Any]]:
    def change(push: Push, secret: str) -> dict[str, Any]:
        push.fields = signed(edit(push.fields), secret)
        return push.record()

    return change


def rename(old: str, new: str) -> Callable[[Fields], Fields]:
    return lambda fields: [((new if k == old else k), v) for k, v in fields]


def drop(name: str) -> Callable[[Fields], Fields]:
    return lambda fields: [(k, v) for k, v in fields if k != name]


def revalue(fn: Callable[[str], str], *names: str) -> Callable[[Fields], Fields]:
    return lambda fields: [(k, fn(v) if k in names else v) for k, v in fields]


def signing(sign: Callable[[Fields, str], str], key: str = "signature",
            ) -> Callable[[Push, str], dict[str, Any]]:
    def change(push: Push, secret: str) -> dict[str, Any]:
        push.fields = signed(push.fields, secret, sign, key)
        return push.record()

    return change


def unsorted(fields: Fields, secret: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in fields)
    return md5(f"{text}&client_secret={secret}")


def bare_secret(fields: Fields, secret: str) -> str:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields))
    return md5(f"{text}&{secret}")


def uppercase(fields: Fields, secret: str) -> str:
    return signature(fields, secret).upper()


def as_json(push: Push, secret: str) -> dict[str, Any]:
    fields = signed(push.fields, secret)
    return {"path": push.path, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(dict(fields))}


def moved(path: str) -> Callable[[Push, str], dict[str, Any]]:
    def change(push: Push, secret: str) -> dict[str, Any]:
        push.path = path
        return push.record()

    return change


def content_type(value: str) -> Callable[[Push, str], dict[str, Any]]:
    def change(push: Push, secret: str) -> dict[str, Any]:
        push.content_type = value
        return push.record()

    return change


BOOLEAN_DIGITS = {"true": "1", "false": "0"}

MUTATIONS: list[PushMutation] = [
    PushMutation("push-status-signed-unsorted", "status", "signature",
                 "signature over the fields in sent order, not sorted", signing(unsorted)),
    PushMutation("push-alert-secret-without-key", "alert", "signature",
                 "secret appended as &SECRET, not &client_secret=SECRET", signing(bare_secret)),
    PushMutation("push-location-signature-uppercase", "location", "signature",
                 "MD5 as uppercase hex", signing(uppercase)),
    PushMutation("push-fault-signature-named-sign", "fault", "signature",
                 "the signature sent as `sign`", signing(signature, key="sign"),
                 aliases=("sign",)),
    PushMutation("push-status-booleans-as-digits", "status", "locked",
                 'online/locked/charging "true"/"false" -> "1"/"0"',
                 fields_then_resign(revalue(lambda v: BOOLEAN_DIGITS.get(v, v),
                                            "online", "locked", "charging")),
                 aliases=("online", "charging")),
    PushMutation("push-status-powerPercent-decimal", "status", "powerPercent", '"85" -> "85.0"',
                 fields_then_resign(revalue(lambda v: f"{float(v):.1f}", "powerPercent"))),
    PushMutation("push-location-renames-satelliteNumber", "location", "satelliteNumber",
                 "satelliteNumber -> satelliteCount",
                 fields_then_resign(rename("satelliteNumber", "satelliteCount")),
                 aliases=("satelliteCount",)),
    PushMutation("push-location-status-uppercase", "location", "locationStatus",
                 '"valid" -> "VALID"', fields_then_resign(revalue(str.upper, "locationStatus"))),
    PushMutation("push-alert-drops-alertStatus", "alert", "alertStatus",
                 "alertStatus left out (as the reference's curl example has it)",
                 fields_then_resign(drop("alertStatus"))),
    PushMutation("push-alert-code-renamed", "alert", "code", "code -> alertCode",
                 fields_then_resign(rename("code", "alertCode")), aliases=("alertCode",)),
    PushMutation("push-fault-time-in-ms", "fault", "statusUtcTime", "statusUtcTime in epoch ms",
                 fields_then_resign(revalue(lambda v: v + "000", "statusUtcTime"))),
    PushMutation("push-fault-code-without-letter", "fault", "code",
                 '"E3" -> "3" (Appendix 2 writes E0-E9)',
                 fields_then_resign(revalue(lambda v: v.lstrip("E"), "code"))),
    PushMutation("push-location-as-text-plain", "location", "Content-Type",
                 "the form sent as text/plain", content_type("text/plain;charset=UTF-8"),
                 aliases=("content type", "content_type", "text/plain")),
    PushMutation("push-components-as-json", "components", "Content-Type",
                 "a JSON body instead of a form", as_json,
                 aliases=("content type", "content_type", "application/json", "body")),
    PushMutation("push-components-singular-path", "components", "path",
                 "posted to /v2/vehicle/component", moved("/v2/vehicle/component"),
                 aliases=("/v2/vehicle/component",)),
]


def mutate(lines: list[str], mutation: PushMutation, secret: str) -> list[str]:
    """A copy of a capture file with every push of the mutation's type changed."""
    out = []
    for line in lines:
        push = Push.read(line)
        record = mutation.change(push, secret) if push.type == mutation.type else None
        out.append(line if record is None else json.dumps(record))
    return out
