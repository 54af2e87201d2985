"""Bad bodies: vendor routes answer the reference's envelope (15004 ...), the token endpoint its
OAuth errors, the control plane a 4xx JSON naming a field; gzip bombs, wrong Content-Encoding,
deep nesting, odd numbers, snapshots with wrong types, never a 500 or 15001, nothing changed."""

from __future__ import annotations

import base64
import copy
import functools
import gzip
import json
import zlib

import pytest
from conftest import IMEI, SECRET, TOKEN, call, expect, module_server, short, status_of

COMMANDS = [
    "/api/v2/vehicle/control/unlock", "/api/v2/vehicle/control/battery-cover",
    "/api/v2/vehicle/control/sound", "/api/v2/vehicle/control/mech-lock",
    "/api/v2/vehicle/control/anti-theft", "/api/v2/vehicle/control/ambient",
    "/api/v2/vehicle/control/wireless-charging", "/api/v2/vehicle/control/whole-shutdown",
    "/api/v2/ebike/setting/switch", "/api/v2/vehicle/setting/ambient",
    "/api/v2/vehicle/setting/sound", "/api/v2/vehicle/setting/speed-mode",
    "/api/v2/vehicle/setting/bluetooth-key", "/api/v2/vehicle/setting/interval",
]
SPEED = "/api/v2/vehicle/setting/speed-mode"
VOLATILE = {"lastActive"}


@pytest.fixture(scope="module")
def server(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "20")


@functools.cache
def gzip_bomb(megabytes: int = 200) -> bytes:
    """`megabytes` MB of zeros, gzip-compressed (about 1/1000 of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(megabytes)]
    parts.append(packer.flush())
    return b"".join(parts)


def vpost(port, path, data: bytes, headers=None):
    hdrs = {"Authorization": f"bearer {TOKEN}", "Content-Type": "application/json"}
    hdrs.update(headers or {})
    return call(port, "POST", path, body=data, headers=hdrs)


def cpost(port, path, data: bytes, headers=None, method="POST"):
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return call(port, method, path, body=data, headers=hdrs)


def expect_envelope(resp, code: int, what: str) -> None:
    expect(resp.status == 200, f"{what}: HTTP {resp.status}, expected the vendor's 200 envelope: "
           f"{short(resp.body)}")
    doc = resp.json()
    expect(isinstance(doc, dict) and {"code", "msg", "data", "t"} <= set(doc),
           f"{what}: not the vendor envelope: {short(resp.body)}")
    expect(doc["code"] == code, f"{what}: code {doc['code']} ({doc.get('msg')}), expected {code}")
    expect(doc["data"] is None, f"{what}: an error envelope with data {short(str(doc['data']))}")


def expect_field_error(resp, statuses, fields, what: str) -> None:
    statuses = {statuses} if isinstance(statuses, int) else set(statuses)
    fields = {fields} if isinstance(fields, str) else set(fields)
    expect(resp.status in statuses, f"{what}: HTTP {resp.status}, expected "
           f"{sorted(statuses)}: {short(resp.body)}")
    doc = resp.json()
    expect(isinstance(doc, dict) and isinstance(doc.get("error"), str),
           f"{what}: HTTP {resp.status} body is not {{error, field}} JSON: {short(resp.body)}")
    field = doc.get("field")
    expect(isinstance(field, str) and any(f in field for f in fields),
           f"{what}: the error names field {field!r}, expected one of {sorted(fields)}")


def vehicle(port, imei=IMEI) -> dict:
    resp = call(port, "GET", f"/_sim/vehicles/{imei}")
    expect(resp.status == 200, f"GET /_sim/vehicles/{imei} answered {resp!r}")
    return {k: v for k, v in resp.json().items() if k not in VOLATILE}


def clock(port) -> dict:
    return call(port, "GET", "/_sim/clock").json()


# --------------------------------------------------------------------------------- vendor routes

DEEP = b"[" * 30_000 + b"]" * 30_000
VENDOR_BODIES = [
    ("not-json", b"{not json"),
    ("array", b"[]"),
    ("string", b'"861477038719116"'),
    ("null", b"null"),
    ("iotCode-object", b'{"iotCode": {}}'),
    ("iotCode-list", b'{"iotCode": ["861477038719116"]}'),
    ("no-iotCode", b'{"controlType": 2}'),
    ("truncated", b'{"iotCode": "861477038719116"'),
    ("deep-nesting", b'{"iotCode": ' + DEEP + b"}"),
    ("invalid-utf8", b'{"iotCode": "\xff\xfe\xfd"}'),
    ("nan-literal", b'{"iotCode": NaN}'),
    ("5000-digit-number", b'{"iotCode": ' + b"9" * 5000 + b"}"),
]


@pytest.mark.parametrize("name,data", VENDOR_BODIES, ids=[b[0] for b in VENDOR_BODIES])
def test_vendor_bad_body_is_15004_on_every_command(server, name, data):
    before = vehicle(server.port)
    for path in COMMANDS:
        expect_envelope(vpost(server.port, path, data), 15004, f"{name} to {path}")
    expect(vehicle(server.port) == before, f"{name}: a refused command changed the vehicle")


VENDOR_FIELDS = [
    ("speedMode-99", {"iotCode": IMEI, "speedMode": 99}),
    ("speedMode-text", {"iotCode": IMEI, "speedMode": "fast"}),
    ("speedMode-1e999", b'{"iotCode": "861477038719116", "speedMode": 1e999}'),
    ("speedMode-nan", b'{"iotCode": "861477038719116", "speedMode": NaN}'),
    ("speedMode-deep", b'{"iotCode": "861477038719116", "speedMode": ' + DEEP + b"}"),
    ("speedMode-huge-int", b'{"iotCode": "861477038719116", "speedMode": ' + b"7" * 5000 + b"}"),
    ("speedMode-object", {"iotCode": IMEI, "speedMode": {"a": 1}}),
]


@pytest.mark.parametrize("name,body", VENDOR_FIELDS, ids=[b[0] for b in VENDOR_FIELDS])
def test_vendor_bad_field_is_15004(server, name, body):
    before = vehicle(server.port)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    expect_envelope(vpost(server.port, SPEED, data), 15004, f"speed-mode {name}")
    expect(vehicle(server.port) == before, f"speed-mode {name}: a refused command changed state")


ENCODINGS = [
    ("gzip-header-plain-body", b'{"iotCode": "861477038719116", "controlType": 2}',
     {"Content-Encoding": "gzip"}),
    ("truncated-gzip", gzip.compress(b'{"iotCode": "861477038719116", "controlType": 2}')[:20],
     {"Content-Encoding": "gzip"}),
    ("deflate-garbage", b"\x78\x9c\xff\xff\xff garbage", {"Content-Encoding": "deflate"}),
    ("unknown-encoding", b'{"iotCode": "861477038719116", "controlType": 2}',
     {"Content-Encoding": "x-bogus"}),
    ("br-header-plain-body", b'{"iotCode": "861477038719116", "controlType": 2}',
     {"Content-Encoding": "br"}),
]


@pytest.mark.parametrize("name,data,headers", ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_vendor_wrong_content_encoding_is_not_15001(server, name, data, headers):
    resp = vpost(server.port, "/api/v2/vehicle/control/sound", data, headers)
    expect(resp.status != 500, f"vendor {name}: HTTP 500")
    doc = resp.json()
    expect(isinstance(doc, dict), f"vendor {name}: HTTP {resp.status} not JSON: "
           f"{short(resp.body)}")
    if resp.status == 200:
        expect(doc.get("code") == 15004, f"vendor {name}: code {doc.get('code')} "
               f"({doc.get('msg')}), expected 15004")
    else:
        expect(resp.status in (400, 415), f"vendor {name}: HTTP {resp.status}, expected the "
               f"15004 envelope or 400/415: {short(resp.body)}")
    expect(status_of(server.port).get("code") == 0, f"vendor {name}: the server is unwell after")


def test_vendor_gzip_bomb_bounded(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "20")
    before_rss = server.rss_kb()
    before_peak = max(server.rss_kb("VmHWM"), before_rss)
    resp = vpost(server.port, "/api/v2/vehicle/control/sound", gzip_bomb(200),
                 {"Content-Encoding": "gzip"})
    grown_mb = (server.rss_kb("VmHWM") - before_peak) / 1024
    expect(resp.status != 500, "vendor gzip bomb (200 MB inflated): HTTP 500")
    doc = resp.json() or {}
    expect(resp.status == 413 or doc.get("code") == 15004,
           f"vendor gzip bomb: {resp!r}, expected 413 JSON or 15004")
    expect(grown_mb < 64, f"vendor gzip bomb (200 MB inflated) raised the server's peak RSS "
           f"by {grown_mb:.0f} MB (the limit is 64 KiB after inflating)")


QUERIES = [
    ("iotCode-invalid-utf8", "/api/v2/vehicle/query/current/status?iotCode=%ff%fe"),
    ("iotCode-10k", "/api/v2/vehicle/query/current/status?iotCode=" + "1" * 10_000),
    ("iotCode-twice", "/api/v2/vehicle/query/current/location?iotCode=1&iotCode=2"),
    ("realTimeLocation-odd", "/api/v2/vehicle/query/current/location?iotCode=861477038719116"
     "&realTimeLocation=%00"),
    ("iotCode-nul", "/api/v2/vehicle/query/current/status?iotCode=8614770%0038719116"),
]


@pytest.mark.parametrize("name,path", QUERIES, ids=[q[0] for q in QUERIES])
def test_vendor_odd_query_is_a_vendor_code(server, name, path):
    resp = call(server.port, "GET", path, headers={"Authorization": f"bearer {TOKEN}"})
    doc = resp.json()
    expect(resp.status in (200, 400, 414) and isinstance(doc, dict),
           f"query {name}: {resp!r}")
    if resp.status == 200:
        expect(doc.get("code") in (15004, 15102, 0), f"query {name}: code {doc.get('code')} "
               f"({doc.get('msg')}), expected 15004 or 15102")


# --------------------------------------------------------------------------------- token endpoint

FORM = f"client_id=A20081&client_secret={SECRET}&grant_type=client_credentials".encode()
FORM_CT = {"Content-Type": "application/x-www-form-urlencoded"}
TOKEN_CASES = [
    ("basic-0xff", b"grant_type=client_credentials", {"Authorization": "Basic \xff"}, 401),
    ("basic-not-base64", b"grant_type=client_credentials", {"Authorization": "Basic !!!%%%"}, 401),
    ("basic-not-utf8", b"grant_type=client_credentials",
     {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode()}, 401),
    ("basic-no-colon", b"grant_type=client_credentials",
     {"Authorization": "Basic " + base64.b64encode(b"A20081").decode()}, 401),
    ("basic-empty", b"grant_type=client_credentials", {"Authorization": "Basic "}, 401),
    ("gzip-header-plain-form", FORM, {"Content-Encoding": "gzip"}, 400),
    ("truncated-gzip-form", gzip.compress(FORM)[:15], {"Content-Encoding": "gzip"}, 400),
    ("unknown-encoding-form", FORM, {"Content-Encoding": "x-bogus"}, 400),
]


@pytest.mark.parametrize("name,data,headers,status", TOKEN_CASES, ids=[t[0] for t in TOKEN_CASES])
def test_token_endpoint_bad_input(server, name, data, headers, status):
    resp = call(server.port, "POST", "/oauth/token", body=data, headers={**FORM_CT, **headers})
    expect(resp.status == status, f"/oauth/token {name}: HTTP {resp.status}, expected {status}: "
           f"{short(resp.body)}")
    doc = resp.json()
    expect(isinstance(doc, dict) and "error" in doc,
           f"/oauth/token {name}: not an OAuth error JSON: {short(resp.body)}")
    expected = "invalid_client" if status == 401 else "invalid_request"
    expect(doc["error"] == expected, f"/oauth/token {name}: error {doc['error']!r}, "
           f"expected {expected!r}")


@pytest.mark.parametrize("name,data", [
    ("invalid-percent-utf8", b"client_id=%ff%fe&client_secret=%c0&grant_type=client_credentials"),
    ("json-body", b'{"client_id": "A20081"}'),
    ("nul-bytes", b"client_id=A20081\x00&client_secret=\x00"),
])
def test_token_endpoint_odd_form_is_oauth_json(server, name, data):
    resp = call(server.port, "POST", "/oauth/token", body=data, headers=FORM_CT)
    expect(resp.status in (400, 401), f"/oauth/token {name}: HTTP {resp.status}, expected "
           f"400/401: {short(resp.body)}")
    expect(isinstance(resp.json(), dict) and "error" in resp.json(),
           f"/oauth/token {name}: not OAuth error JSON: {short(resp.body)}")


# --------------------------------------------------------------------------------- control plane

CLOCK_CASES = [
    ("advance-as-text", b'{"advance": "5"}', 400, "advance"),
    ("advance-negative", b'{"advance": -1}', 400, "advance"),
    ("advance-1e999", b'{"advance": 1e999}', 400, "advance"),
    ("advance-nan", b'{"advance": NaN}', 400, ("advance", "body")),
    ("advance-huge-int", b'{"advance": ' + b"9" * 5000 + b"}", 400, ("advance", "body")),
    ("advance-deep", b'{"advance": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400,
     ("advance", "body")),
    ("unknown-field", b'{"bogus": 1}', 400, "bogus"),
    ("array", b"[]", 400, "body"),
    ("string", b'"advance"', 400, "body"),
    ("null", b"null", 400, "body"),
    ("empty-object", b"{}", 400, "body"),
    ("not-json", b"{advance: 1", 400, "body"),
    ("invalid-utf8", b'{"advance": 1, "\xff": 2}', 400, ("body", "\ufffd")),
    ("to-with-advance", b'{"advance": 1, "to": 1}', 400, "to"),
]


@pytest.mark.parametrize("name,data,status,field", CLOCK_CASES, ids=[c[0] for c in CLOCK_CASES])
def test_control_bad_clock_body_names_field(server, name, data, status, field):
    before = clock(server.port)
    resp = cpost(server.port, "/_sim/clock", data)
    expect_field_error(resp, status, field, f"POST /_sim/clock {name}")
    expect(clock(server.port) == before, f"POST /_sim/clock {name}: refused but the clock moved")


CONTROL_ENCODINGS = [
    ("gzip-header-plain-body", b'{"advance": 1}', {"Content-Encoding": "gzip"}),
    ("truncated-gzip", gzip.compress(b'{"advance": 1}')[:12], {"Content-Encoding": "gzip"}),
    ("deflate-garbage", b"\x78\x9c\xff\xff garbage", {"Content-Encoding": "deflate"}),
    ("unknown-encoding", b'{"advance": 1}', {"Content-Encoding": "x-bogus"}),
]


@pytest.mark.parametrize("name,data,headers", CONTROL_ENCODINGS,
                         ids=[c[0] for c in CONTROL_ENCODINGS])
def test_control_wrong_content_encoding_is_4xx_json(server, name, data, headers):
    before = clock(server.port)
    resp = cpost(server.port, "/_sim/clock", data, headers)
    expect_field_error(resp, (400, 415), ("body", "Content-Encoding"),
                       f"POST /_sim/clock {name}")
    expect(clock(server.port) == before, f"POST /_sim/clock {name}: the clock moved")


def test_control_gzip_bomb_is_413_and_bounded(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "20")
    before = clock(server.port)
    before_peak = max(server.rss_kb("VmHWM"), server.rss_kb())
    resp = cpost(server.port, "/_sim/clock", gzip_bomb(200), {"Content-Encoding": "gzip"})
    grown_mb = (server.rss_kb("VmHWM") - before_peak) / 1024
    expect(grown_mb < 64, f"a {len(gzip_bomb(200)) // 1024} KB gzip body (200 MB inflated) to "
           f"POST /_sim/clock raised the server's peak RSS by {grown_mb:.0f} MB")
    expect_field_error(resp, 413, "body", "POST /_sim/clock gzip bomb")
    expect(clock(server.port) == before, "POST /_sim/clock gzip bomb: the clock moved")


def test_control_plain_body_over_limit_is_413(server):
    data = b'{"advance": 1, "pad": "' + b"a" * (2 << 20) + b'"}'
    resp = cpost(server.port, "/_sim/clock", data)
    expect_field_error(resp, 413, "body", "a 2 MiB body to POST /_sim/clock")


PATCH_CASES = [
    ("powerPercent-text", {"powerPercent": "50"}, "powerPercent"),
    ("online-as-1", {"online": 1}, "online"),
    ("latitude-91", {"latitude": 91}, "latitude"),
    ("firmware-short", {"firmware": "1.2"}, "firmware"),
    ("bluetoothKey-short", {"bluetoothKey": "ab"}, "bluetoothKey"),
    ("riding", {"riding": True}, "riding"),
    ("valid-then-bad", {"powerPercent": 3, "speedMode": 9}, "speedMode"),
    ("cover-open-while-locked", {"coverOpen": True}, "coverOpen"),
]


@pytest.mark.parametrize("name,body,field", PATCH_CASES, ids=[p[0] for p in PATCH_CASES])
def test_control_bad_patch_names_field_and_changes_nothing(server, name, body, field):
    before = vehicle(server.port)
    resp = call(server.port, "PATCH", f"/_sim/vehicles/{IMEI}", body=body)
    expect_field_error(resp, 400, field, f"PATCH vehicle {name}")
    expect(vehicle(server.port) == before, f"PATCH vehicle {name}: refused but state changed")


@pytest.mark.parametrize("path,body,field", [
    ("/_sim/faults", {"code": "15302"}, "code"),
    ("/_sim/faults", {"code": 15302, "delayMs": 600_001}, "delayMs"),
    ("/_sim/faults", {"code": 15302, "probability": 2}, "probability"),
    ("/_sim/platforms", {"clientId": "Xbad"}, "clientId"),
    ("/_sim/platforms", {"clientId": "A1", "callbackUrl": "javascript:alert(1)"}, "callbackUrl"),
    ("/_sim/vehicles", {"iotCode": "abc"}, "iotCode"),
    (f"/_sim/vehicles/{IMEI}/events", {"type": "explode"}, "type"),
    (f"/_sim/vehicles/{IMEI}/events", {"type": "alert", "code": 99}, "code"),
], ids=["fault-code-text", "fault-delay", "fault-probability", "platform-id", "platform-url",
        "vehicle-iot", "event-type", "event-code"])
def test_control_bad_post_names_field(server, path, body, field):
    resp = call(server.port, "POST", path, body=body)
    expect_field_error(resp, 400, field, f"POST {path} {body}")


# --------------------------------------------------------------------------------- snapshots


def _snapshot(port) -> dict:
    resp = call(port, "GET", "/_sim/snapshot")
    expect(resp.status == 200 and isinstance(resp.json(), dict),
           f"GET /_sim/snapshot answered {resp!r}")
    return resp.json()


def _put(port, doc, raw_bytes: bytes | None = None):
    data = raw_bytes if raw_bytes is not None else json.dumps(doc).encode()
    return call(port, "PUT", "/_sim/snapshot", body=data,
                headers={"Content-Type": "application/json"})


def _healthy(port) -> bool:
    return (call(port, "GET", f"/_sim/vehicles/{IMEI}").status == 200
            and status_of(port).get("code") == 0)


SNAPSHOT_EDITS = [
    ("token-clientId-list", lambda d: d["tokens"]["items"][0].__setitem__("clientId", []),
     "clientId"),
    ("platform-code-list", lambda d: d["platforms"][0].__setitem__("code", []), "code"),
    ("platform-secret-number", lambda d: d["platforms"][0].__setitem__("secret", 5), "secret"),
    ("clock-now-text", lambda d: d["clock"].__setitem__("now", "soon"), "now"),
    ("clock-now-nan", lambda d: d["clock"].__setitem__("now", "NaN"), "now"),
    ("imeis-object", lambda d: d["fleet"].__setitem__("imeis", {"a": 1}), "imeis"),
    ("fault-rules-text", lambda d: d["faults"].__setitem__("rules", "none"), "rules"),
    ("format-foreign", lambda d: d.__setitem__("format", "other/thing"), "format"),
    ("version-999", lambda d: d.__setitem__("version", 999), "version"),
]


@pytest.mark.parametrize("name,edit,field", SNAPSHOT_EDITS, ids=[s[0] for s in SNAPSHOT_EDITS])
def test_snapshot_wrong_type_is_400_naming_field(server, name, edit, field):
    good = _snapshot(server.port)
    doc = copy.deepcopy(good)
    edit(doc)
    resp = _put(server.port, doc)
    expect_field_error(resp, 400, field, f"PUT /_sim/snapshot {name}")
    expect(_healthy(server.port), f"PUT /_sim/snapshot {name}: refused, but the vehicle is no "
           "longer readable")
    expect(_snapshot(server.port) == good, f"PUT /_sim/snapshot {name}: refused, but the world "
           "changed")


@pytest.mark.parametrize("value", [1e308, -1e308, "NaN", "Infinity", "-Infinity"],
                         ids=["1e308", "-1e308", "NaN", "Infinity", "-Infinity"])
def test_snapshot_extreme_number_in_any_column_refused_or_harmless(server, value):
    good = _snapshot(server.port)
    columns = good["fleet"]["columns"]
    broken, unnamed = [], []
    for name, values in columns.items():
        first = values[0]
        if isinstance(first, bool) or not isinstance(first, (int, float)):
            continue
        if name == "offline_until" and value == "Infinity":
            continue
        doc = copy.deepcopy(good)
        doc["fleet"]["columns"][name][0] = value
        resp = _put(server.port, doc)
        if resp.status == 200:
            if not _healthy(server.port):
                broken.append(name)
            _put(server.port, good)
        elif resp.status != 400 or not str((resp.json() or {}).get("field", "")).count(name):
            unnamed.append(f"{name} (HTTP {resp.status})")
    expect(not broken, f"a snapshot with {value!r} in a fleet column was accepted and left the "
           f"vehicle unreadable: {', '.join(broken[:8])}")
    expect(not unnamed, f"a snapshot with {value!r} in a fleet column was refused without a 400 "
           f"naming the column: {', '.join(unnamed[:8])}")
    expect(_healthy(server.port), "after the extreme-number snapshots the vehicle is unreadable")


def test_snapshot_nan_literal_and_deep_nesting(server):
    good = _snapshot(server.port)
    text = json.dumps(good)
    bad_literal = text.replace('"seed": ', '"seed": NaN, "x": ', 1).encode()
    resp = _put(server.port, None, bad_literal)
    expect(resp.status == 400 and isinstance(resp.json(), dict),
           f"PUT /_sim/snapshot with a NaN literal: {resp!r}")
    deep = b'{"format": "segway-sim/snapshot", "version": 1, "seed": ' + b"[" * 100_000 \
        + b"]" * 100_000 + b"}"
    resp = _put(server.port, None, deep)
    expect(resp.status == 400 and isinstance(resp.json(), dict),
           f"PUT /_sim/snapshot nested 100,000 deep: {resp!r}")
    expect(_snapshot(server.port) == good, "a refused snapshot changed the world")


def test_server_alive_and_no_traceback_logged(server):
    expect(server.alive() and _healthy(server.port), "the server is unwell after the bad bodies")
    from test_malformed_http import exception_lines
    expect("Traceback" not in server.log(), f"the server logged "
           f"{server.log().count('Traceback')} tracebacks during the bad-body probes: "
           + "; ".join(sorted(set(exception_lines(server.stderr))))[:300])
