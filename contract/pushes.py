"""The push contract: what a partner's receiver is sent, written from the reference's Push section.

Written down here, not imported from the simulator (like surface.py): the suite holds the
simulator to the reference. `check_push` takes one push as a receiver got it (path, headers, raw
body) and returns its drift, field by field: the path, the Content-Type, the field set of its
type, each value's string encoding and documented range, and the signature recomputed by the
reference's four steps with the platform's client secret.

`read_capture` reads the pushes a partner's receiver recorded (`segway-sim listen --capture`):
JSON lines `{"path", "headers", "body"}`, extra keys ignored (docs/pushes.md).

Where the reference is silent or contradicts itself, the field tables win: the status push
carries `remainingRange` (its curl example says `remainderRange`), `speedMode` may be 0 (the push
table's "unification status"), and the quantities the reference gives in whole units (lockVoltage
in 10 mV, odometer in m, percentages, seconds) are integers, as in the status query.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from simulator.contract.drift import EXTRA, FORMAT, MISSING, RANGE, TYPE, VALUE, Drift

FORM = "application/x-www-form-urlencoded"  # "allowed", the only type each push table names
SIGNATURE = "signature"
PATH = re.compile(r"(?:.*/)?v2/vehicle/([^/]*)/?")  # a callback URL may have a path of its own

# How a value is spelt on the wire; every form value is a string.
IMEI, PLATFORM, BOOL, INT, NUMBER, TIME, CHOICE = (
    "imei", "platform", "boolean", "integer", "number", "time", "choice")
MIN_EPOCH_S = 1_500_000_000  # 2017: any report's time is past this
MAX_EPOCH_S = 99_999_999_999  # beyond: not seconds (an epoch-ms value has 13 digits)


@dataclass(frozen=True)
class Value:
    kind: str
    low: float | None = None  # documented range, where the reference gives one
    high: float | None = None
    choices: tuple[str, ...] = ()


def whole(low: float | None = None, high: float | None = None) -> Value:
    return Value(INT, low, high)


def one_of(*choices: str) -> Value:
    return Value(CHOICE, choices=choices)


ALERTS_APPEARING = ("1", "2", "3", "4", "12")
ALERTS_DISAPPEARED = ("1", "2", "3", "12")  # "2->vehicle fell down": a fall (2 or 4) clears as 2
# Appendix 2, as written there (Reserved codes included: a code is a code).
FAULT_CODES = (*(f"E{i}" for i in range(10)), *(str(i) for i in range(10, 45)), "60", "61")

HEAD = {"iotCode": Value(IMEI), "platformCode": Value(PLATFORM)}
# The reference's five PUSH tables, in their order; `signature` is every push's last field.
PUSHES: dict[str, dict[str, Value]] = {
    "status": {
        **HEAD, "online": Value(BOOL), "locked": Value(BOOL), "lockVoltage": whole(0),
        "networkSignal": whole(2, 32), "charging": Value(BOOL), "powerPercent": whole(0, 100),
        "speedMode": whole(0, 3), "speed": Value(NUMBER, 0), "odometer": whole(0),
        "remainingRange": whole(0), "totalRidingSecs": whole(0), "statusUtcTime": Value(TIME),
    },
    "location": {
        **HEAD, "locationStatus": one_of("valid", "invalid"),
        "latitude": Value(NUMBER, -90, 90), "longitude": Value(NUMBER, -180, 180),
        "satelliteNumber": whole(0), "hdop": Value(NUMBER, 0), "altitude": Value(NUMBER),
        "gpsUtcTime": Value(TIME),
    },
    "alert": {**HEAD, "statusUtcTime": Value(TIME), "alertStatus": one_of("0", "1"),
              "code": one_of(*ALERTS_APPEARING)},
    "fault": {**HEAD, "statusUtcTime": Value(TIME), "faultStatus": one_of("0", "1"),
              "code": one_of(*FAULT_CODES)},
    "components": {**HEAD, "type": one_of("5"), "status": one_of("2"),
                   "statusUtcTime": Value(TIME)},
}
TYPES = tuple(PUSHES)

_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]{1,20}")  # an IMEI, as the vendor surface takes iotCode
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


def check_push(path: str, headers: dict[str, str], body: str | bytes,
               secrets: dict[str, str]) -> list[Drift]:
    """The drift of one received push from the reference; [] when it is as the reference says.

    `secrets` maps platform codes (client_id) to client secrets; the signature is checked with
    the secret of the push's platformCode.
    """
    fields, out = _form(body)
    kind, wrong_path = _path(path, fields)
    where = f"push:{kind}"
    out = [*wrong_path, *_content_type(where, headers), *(replace(d, where=where) for d in out)]
    if fields is None:
        return out
    if kind != "?":
        out += _field_set(where, PUSHES[kind], fields)
        values = {k: v[0] for k, v in fields.items()}
        for name, spec in PUSHES[kind].items():
            if name in values:
                out += _value(where, name, spec, values[name], secrets)
        out += _codes(where, kind, values)
    out += _signature(where, fields, secrets)
    return out


def _path(path: str, fields: dict[str, list[str]] | None = None) -> tuple[str, list[Drift]]:
    """The push type the path names; on another path, the type its fields say (or "?")."""
    match = PATH.fullmatch(path.partition("?")[0])
    if match and match.group(1) in PUSHES:
        return match.group(1), []
    kind = _likely(fields or {})
    expected = f"/v2/vehicle/{kind}" if kind != "?" else "/v2/vehicle/{" + ",".join(TYPES) + "}"
    return kind, [Drift(f"push:{kind}", "(path)", VALUE, expected, path)]


def _likely(fields: dict[str, list[str]]) -> str:
    """The one push type whose field set is nearest the received one (most in common, fewest
    apart), or "?" when none is, or several are."""
    names = set(fields) - {SIGNATURE}
    score = {kind: len(set(table) & names) - len(set(table) ^ names)
             for kind, table in PUSHES.items() if len(set(table) & names) > len(HEAD)}
    best = sorted(score.values(), reverse=True)
    if not best or (len(best) > 1 and best[0] == best[1]):
        return "?"
    return max(score, key=lambda kind: score[kind])


def _content_type(where: str, headers: dict[str, str]) -> list[Drift]:
    given = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if given is None:
        return [Drift(where, "(Content-Type)", MISSING, FORM, None)]
    media, _, params = given.partition(";")
    ok = media.strip().lower() == FORM
    for param in params.split(";") if params.strip() else ():
        name, _, value = param.partition("=")
        # a charset, if named, must be the one the values are in
        ok = ok and name.strip().lower() == "charset" and value.strip('" ').lower() == "utf-8"
    return [] if ok else [Drift(where, "(Content-Type)", VALUE, FORM, given)]


def _form(body: str | bytes) -> tuple[dict[str, list[str]] | None, list[Drift]]:
    """The body's fields (every value of each, in body order), or None with why it is no form
    (drift with `where` left for the caller, who knows the push type)."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None, [Drift("", "(body)", FORMAT, "a UTF-8 form", "not UTF-8")]
    text = body.strip()
    if text[:1] in ("{", "["):
        return None, [Drift("", "(body)", FORMAT, "a form: key=value&key=value",
                            "JSON: " + _short(text))]
    fields: dict[str, list[str]] = {}
    for piece in body.split("&"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        if not sep or not key:
            return None, [Drift("", "(body)", FORMAT, "a form: key=value&key=value",
                                _short(body))]
        fields.setdefault(unquote_plus(key), []).append(unquote_plus(value))
    out = [Drift("", name, FORMAT, "once", f"{len(values)} times")
           for name, values in fields.items() if len(values) > 1]
    return fields, out


def _field_set(where: str, table: dict[str, Value], fields: dict[str, Any]) -> list[Drift]:
    expected = [*table, SIGNATURE]
    out = [Drift(where, name, MISSING, name, None) for name in expected if name not in fields]
    out += [Drift(where, name, EXTRA, None, fields[name][0])
            for name in fields if name not in expected]
    return out


def _value(where: str, name: str, spec: Value, text: str,
           secrets: dict[str, str]) -> list[Drift]:
    def drift(what: str, expected: Any) -> list[Drift]:
        return [Drift(where, name, what, expected, text)]

    if spec.kind == IMEI:
        return [] if _DIGITS.fullmatch(text) else drift(FORMAT, "IMEI digits")
    if spec.kind == PLATFORM:
        return [] if text in secrets else drift(VALUE, " or ".join(sorted(secrets)))
    if spec.kind == BOOL:
        if text in ("true", "false"):
            return []
        return drift(FORMAT if text.lower() in ("true", "false") else TYPE, "true or false")
    if spec.kind == CHOICE:
        if text in spec.choices:
            return []
        numeric = spec.choices[0].isdigit()
        return drift(RANGE if numeric and _INT.fullmatch(text) else VALUE,
                     " or ".join(spec.choices))
    if spec.kind in (INT, TIME):
        if not _INT.fullmatch(text):
            return drift(TYPE, "an integer (decimal digits)")
        if spec.kind == TIME:
            ok = MIN_EPOCH_S <= int(text) <= MAX_EPOCH_S
            return [] if ok else drift(RANGE, "epoch seconds")
        return _range(where, name, spec, text, int(text))
    # NUMBER
    if not _DECIMAL.fullmatch(text):
        try:
            number = float(text)
        except ValueError:
            return drift(TYPE, "a decimal number")
        return drift(FORMAT if math.isfinite(number) else TYPE, "a decimal number")
    return _range(where, name, spec, text, float(text))


def _range(where: str, name: str, spec: Value, text: str, number: float) -> list[Drift]:
    if (spec.low is not None and number < spec.low) or (
            spec.high is not None and number > spec.high):
        low = "" if spec.low is None else f"{spec.low:g}"
        high = "" if spec.high is None else f"{spec.high:g}"
        return [Drift(where, name, RANGE, f"{low}..{high}", text)]
    return []


def _codes(where: str, kind: str, values: dict[str, str]) -> list[Drift]:
    """An alert that disappears names one of the disappearing codes (a fall clears as 2)."""
    if kind == "alert" and values.get("alertStatus") == "1":
        code = values.get("code")
        if code in ALERTS_APPEARING and code not in ALERTS_DISAPPEARED:
            return [Drift(where, "code", RANGE, " or ".join(ALERTS_DISAPPEARED), code)]
    return []


# -- the signature ------------------------------------------------------------------------------


def canonical(pairs: list[tuple[str, str]]) -> str:
    """Steps 1 and 2: every field but the signature, ordered by key in ASCII order, k=v&k=v."""
    return "&".join(f"{k}={v}" for k, v in sorted(p for p in pairs if p[0] != SIGNATURE))


def signature(pairs: list[tuple[str, str]], secret: str) -> str:
    """Steps 3 and 4: `&client_secret=<secret>` appended, MD5 as 32 hexadecimal characters."""
    return _md5(f"{canonical(pairs)}&client_secret={secret}")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _signature(where: str, fields: dict[str, list[str]],
               secrets: dict[str, str]) -> list[Drift]:
    given = fields.get(SIGNATURE)
    if not given:
        return []  # reported as a missing field (or the path is unknown: nothing to sign over)
    sent = given[0]
    if not _HEX32.fullmatch(sent):
        return [Drift(where, "(signature)", FORMAT, "32 lowercase hexadecimal digits (MD5)",
                      _short(sent))]
    out = []
    if sent != sent.lower():  # receivers compare strings; the reference's MD5 hex is lowercase
        out.append(Drift(where, "(signature)", FORMAT, "lowercase hexadecimal", sent))
    platform = (fields.get("platformCode") or [""])[0]
    secret = secrets.get(platform) or (next(iter(secrets.values())) if len(secrets) == 1
                                       else None)
    if secret is None:
        return [*out, Drift(where, "(signature)", VALUE, "signed with the platform's secret",
                            f"no secret given for platformCode {platform!r}")]
    pairs = [(k, v) for k, values in fields.items() for v in values]
    if sent.lower() != signature(pairs, secret):
        out.append(Drift(where, "(signature)", VALUE, "MD5 of the four steps",
                         _mistake(sent.lower(), pairs, secret, secrets)))
    return out


def _mistake(sent: str, pairs: list[tuple[str, str]], secret: str,
             secrets: dict[str, str]) -> str:
    """Which known mistake gives the signature that was sent: a hint for whoever fixes it."""
    fields = [(k, v) for k, v in pairs if k != SIGNATURE]
    in_order = "&".join(f"{k}={v}" for k, v in fields)
    ordered = canonical(pairs)
    folded = "&".join(f"{k}={v}" for k, v in sorted(fields, key=lambda p: p[0].lower()))
    guesses = {
        f"{in_order}&client_secret={secret}": "signed over unsorted fields (body order)",
        f"{ordered}&{secret}": "secret appended without client_secret=",
        f"{ordered}{secret}": "secret appended without &client_secret=",
        ordered: "signed without the secret",
        f"{folded}&client_secret={secret}": "fields sorted ignoring case, not by ASCII",
        f"{ordered}&signature=&client_secret={secret}": "an empty signature field signed too",
    }
    guesses.update({f"{ordered}&client_secret={other}": f"signed with {code}'s secret"
                    for code, other in secrets.items() if other != secret})
    # the hint first: a summary table shortens long values from the end
    why = next((why for text, why in guesses.items() if _md5(text) == sent),
               "no known mistake explains it (another secret? fields changed after signing?)")
    return f"{why}: {sent}"


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


# -- captured pushes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    """One push a receiver recorded: line `line` of a capture file."""

    line: int
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def kind(self) -> str:
        return _path(self.path, _form(self.body)[0])[0]

    @property
    def id(self) -> str:
        return f"push:{self.kind}:line-{self.line}"


class CaptureError(ValueError):
    """A capture file that cannot be read: the message names the file and the line."""


def read_capture(path: Path) -> list[Captured]:
    """The pushes of a capture file: one JSON object a line, {"path", "headers", "body"}.

    `body` is the raw form body as text (bytes that are not UTF-8 as surrogate escapes, which is
    how `segway-sim listen --capture` writes them); blank lines are skipped, extra keys ignored.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise CaptureError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") \
            from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            raise CaptureError(f"{path}:{number}: not JSON") from None
        headers = doc.get("headers") if isinstance(doc, dict) else None
        if (not isinstance(doc, dict) or not isinstance(doc.get("path"), str)
                or not isinstance(doc.get("body"), str) or not isinstance(headers, dict)
                or not all(isinstance(v, str) for v in headers.values())):
            raise CaptureError(f"{path}:{number}: expected an object with \"path\" (text), "
                               "\"headers\" (an object of texts) and \"body\" (text)")
        try:
            body = doc["body"].encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise CaptureError(f"{path}:{number}: \"body\" holds text that is no bytes") \
                from None
        out.append(Captured(number, doc["path"], {str(k): v for k, v in headers.items()}, body))
    return out
