"""Bounded, decodable input at the edge: bytes no HTTP client library would send (issue 13).

Every test talks to the server as the CLI and the pytest plugin run it (runner.start, whose
protocol answers malformed HTTP: server/edge.py), over raw loopback sockets, since aiohttp's
client refuses to send most of these requests.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from simulator import snapshot
from simulator.server.control_wire import CONTROL_BODY
from simulator.server.runner import Running, start
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator
from tests.helpers.raw import RawAnswer, send
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI

# Spring Boot's error body, with the envelope's `code` and `msg` beside it (FIDELITY.md).
SPRING_ERROR = {"timestamp", "status", "error", "message", "path", "code", "msg"}


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[Running]:
    running = await start(sim, pace=False)
    yield running
    await running.stop()


async def exchange(server: Running, request: bytes) -> RawAnswer:
    """Send `request` as is on a new connection; the answer, read to its declared length."""
    return await send(server.host, server.port, request)


def post(path: str, body: bytes, *headers: str) -> bytes:
    """A raw HTTP/1.1 POST with `body` and `headers` ("Name: value"), byte for byte."""
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


JSON_TYPE = "Content-Type: application/json"
BEARER = f"Authorization: {AUTH['Authorization']}"
SOUND = "/api/v2/vehicle/control/sound"
SOUND_BODY = orjson.dumps({"iotCode": EXAMPLE_IMEI, "controlType": 3})


# -- 1. a Basic header that does not decode --------------------------------------------------


@pytest.mark.parametrize("credentials", [b"\xff", b"\xe9t\xe9", b"not base64!", b"w6k6w6k="])
async def test_a_basic_header_that_does_not_decode_is_invalid_client(
        server: Running, credentials: bytes) -> None:
    # \xff is not ASCII, so not base64; w6k6w6k= is base64 of Latin-1 bytes, not UTF-8.
    request = (b"POST /oauth/token?grant_type=client_credentials HTTP/1.1\r\n"
               b"Host: 127.0.0.1\r\nAuthorization: Basic " + credentials +
               b"\r\nContent-Length: 0\r\n\r\n")
    answer = await exchange(server, request)
    assert answer.status == 401
    assert answer.json() == {"error": "invalid_client",
                             "error_description": "Bad client credentials"}


# -- 2. a Content-Encoding the body does not have -----------------------------------------------


async def test_a_vendor_command_whose_body_does_not_decode_is_15004_and_changes_nothing(
        server: Running, sim: Simulator) -> None:
    before = snapshot.dump(sim)
    answer = await exchange(server, post(SOUND, SOUND_BODY, JSON_TYPE, BEARER,
                                         "Content-Encoding: gzip"))
    assert answer.status == 200
    envelope = answer.json()
    assert (envelope["code"], envelope["msg"], envelope["data"]) == (15004, "parameter error",
                                                                     None)
    assert answer.headers["connection"] == "close"  # the rest of the body is not read
    record = sim.requests.records[-1]
    assert record["code"] == 15004 and "Content-Encoding" in record["detail"]
    assert snapshot.dump(sim) == before


async def test_the_token_check_still_comes_before_an_undecodable_body(server: Running) -> None:
    answer = await exchange(server, post(SOUND, SOUND_BODY, JSON_TYPE, "Content-Encoding: gzip"))
    assert answer.json()["code"] == 15101


async def test_a_token_request_whose_body_does_not_decode_is_a_400_oauth_error(
        server: Running) -> None:
    form = f"grant_type=client_credentials&client_id={DEMO_CLIENT_ID}".encode()
    answer = await exchange(server, post(
        "/oauth/token", form, "Content-Type: application/x-www-form-urlencoded",
        "Content-Encoding: gzip"))
    assert answer.status == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_control_plane_body_that_does_not_decode_is_a_400_naming_the_body(
        server: Running, sim: Simulator, encoding: str) -> None:
    now = sim.clock.now
    answer = await exchange(server, post("/_sim/clock", b'{"advance": 60}', JSON_TYPE,
                                         f"Content-Encoding: {encoding}"))
    assert answer.status == 400
    assert answer.json() == {"error": "does not decode as its Content-Encoding says",
                             "field": "body"}
    assert sim.clock.now == now


async def test_compressed_bodies_that_do_decode_are_read_everywhere(
        server: Running, sim: Simulator) -> None:
    now = sim.clock.now
    clock = await exchange(server, post("/_sim/clock", gzip.compress(b'{"advance": 60}'),
                                        JSON_TYPE, "Content-Encoding: gzip"))
    assert clock.status == 200 and sim.clock.now == now + 60
    sound = await exchange(server, post(SOUND, zlib.compress(SOUND_BODY), JSON_TYPE, BEARER,
                                        "Content-Encoding: deflate"))
    assert sound.json()["code"] == 0


FORM = f"grant_type=client_credentials&client_id={DEMO_CLIENT_ID}&client_secret=".encode()
# Bodies that do not decode to their end: truncated, followed by other bytes, or a coding this
# server does not undo (aiohttp would pass the last kind through as if it were plain).
NOT_DECODING = {
    "truncated-gzip": ("gzip", lambda raw: gzip.compress(raw)[:-12]),
    "gzip-then-garbage": ("gzip", lambda raw: gzip.compress(raw) + b"garbage"),
    "truncated-deflate": ("deflate", lambda raw: zlib.compress(raw)[:-6]),
    "unknown-coding": ("x-bogus", lambda raw: raw),
    "brotli": ("br", lambda raw: raw),
}


@pytest.mark.parametrize("case", NOT_DECODING)
async def test_a_body_that_does_not_decode_to_its_end_is_refused_everywhere(
        server: Running, sim: Simulator, case: str) -> None:
    coding, make = NOT_DECODING[case]
    before = snapshot.dump(sim)
    sound = await exchange(server, post(SOUND, make(SOUND_BODY), JSON_TYPE, BEARER,
                                        f"Content-Encoding: {coding}"))
    assert sound.json()["code"] == 15004
    token = await exchange(server, post(
        "/oauth/token", make(FORM + DEMO_CLIENT_SECRET.encode()),
        "Content-Type: application/x-www-form-urlencoded", f"Content-Encoding: {coding}"))
    assert (token.status, token.json()["error"]) == (400, "invalid_request")
    clock = await exchange(server, post("/_sim/clock", make(b'{"advance": 60}'), JSON_TYPE,
                                        f"Content-Encoding: {coding}"))
    assert (clock.status, clock.json()["field"]) == (400, "body")
    assert snapshot.dump(sim) == before


async def test_gzip_members_one_after_another_are_one_body(server: Running,
                                                          sim: Simulator) -> None:
    now = sim.clock.now
    body = gzip.compress(b'{"adva') + gzip.compress(b'nce": 60}')
    answer = await exchange(server, post("/_sim/clock", body, JSON_TYPE,
                                         "Content-Encoding: gzip"))
    assert answer.status == 200 and sim.clock.now == now + 60


async def test_a_raw_deflate_stream_is_read_as_clients_send_it(server: Running) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)  # no RFC 1950 header
    body = packer.compress(SOUND_BODY) + packer.flush()
    answer = await exchange(server, post(SOUND, body, JSON_TYPE, BEARER,
                                         "Content-Encoding: deflate"))
    assert answer.json()["code"] == 0


@pytest.mark.parametrize("path", ["/oauth/token", SOUND, "/_sim/clock"])
async def test_a_client_gone_mid_body_leaves_no_traceback(
        server: Running, sim: Simulator, path: str, caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{JSON_TYPE}\r\n{BEARER}\r\n"
                 "Content-Length: 100\r\n\r\n{\"iotCode".encode())
    await writer.drain()
    writer.close()  # gone, 90 bytes short
    await writer.wait_closed()
    assert await reader.read() == b""  # nothing was answered
    await sim_idle(server)
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert all(r.get("code") != 15001 for r in sim.requests.records)


async def sim_idle(server: Running) -> None:
    """Until the server has handled what it was sent (one more request answered after it)."""
    answer = await exchange(server, b"GET /_sim/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.status == 200


# -- 3. limits count decoded bytes ------------------------------------------------------------


def bomb(inflated: int) -> bytes:
    """A gzip body of `inflated` zero bytes (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    out = [packer.compress(block) for _ in range(inflated // len(block))]
    return b"".join(out) + packer.flush()


def peak_rss_kb() -> int:
    """This process's peak resident size (VmHWM), in kB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


async def test_a_gzip_bomb_to_the_control_plane_is_refused_without_inflating_it(
        server: Running, sim: Simulator) -> None:
    body = bomb(256 * 1024 * 1024)  # ~250 KB that inflate to 256 MiB
    assert len(body) < 300 * 1024
    reset_peak_rss()
    before = peak_rss_kb()
    answer = await exchange(server, post("/_sim/clock", body, JSON_TYPE,
                                         "Content-Encoding: gzip"))
    growth_mb = (peak_rss_kb() - before) / 1024
    assert answer.status == 413
    assert answer.json() == {"error": f"larger than {CONTROL_BODY} bytes", "field": "body"}
    # The server (in this process) held at most about the limit, not the inflated 256 MiB.
    assert growth_mb < 64, f"peak RSS grew {growth_mb:.0f} MB"
    health = b"GET /_sim/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    assert (await exchange(server, health)).status == 200


async def test_a_declared_length_over_the_limit_is_refused_before_the_body_arrives(
        server: Running) -> None:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"POST /_sim/clock HTTP/1.1\r\nHost: localhost\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % (CONTROL_BODY + 1))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)  # no body ever sent
    assert head.startswith(b"HTTP/1.1 413 ")
    writer.close()


async def test_only_the_snapshot_route_takes_bodies_over_the_control_limit(
        server: Running, sim: Simulator) -> None:
    padding = b" " * (CONTROL_BODY + 1)  # JSON allows any whitespace: still a valid document
    snapshot = await exchange(server, b"GET /_sim/snapshot HTTP/1.1\r\nHost: localhost\r\n\r\n")
    put = (b"PUT /_sim/snapshot HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           b"Content-Encoding: gzip\r\n")
    body = gzip.compress(snapshot.body + padding)
    answer = await exchange(server, put + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert answer.status == 200, answer.body
    clock = await exchange(server, post("/_sim/clock", b'{"advance": 1}' + padding, JSON_TYPE))
    assert clock.status == 413 and clock.json()["field"] == "body"


# -- 4. HTTP the server does not speak, and malformed HTTP -------------------------------------


def spring_error(answer: RawAnswer, status: int) -> dict[str, Any]:
    """The body of `answer`, checked to be the Spring error JSON of `status`."""
    assert answer.status == status
    body: dict[str, Any] = answer.json()
    assert set(body) == SPRING_ERROR and body["status"] == status
    return body


@pytest.mark.parametrize("request_line", [b"GET /_sim/health HTTP/2.0\r\nHost: localhost\r\n\r\n",
                                          b"GET /_sim/health HTTP/0.9\r\n\r\n"])
async def test_an_http_version_other_than_1_0_and_1_1_is_a_json_505(
        server: Running, request_line: bytes) -> None:
    answer = await exchange(server, request_line)
    spring_error(answer, 505)
    assert answer.headers["connection"] == "close"


async def test_an_http_0_9_request_line_is_not_served(server: Running) -> None:
    # No version at all: the C parser reads it as HTTP/0.9 (505), the pure-Python one refuses
    # the line (400); either way, JSON and never the page.
    answer = await exchange(server, b"GET /_sim/health\r\n\r\n")
    assert answer.status in (400, 505)
    assert set(answer.json()) == SPRING_ERROR


@pytest.mark.parametrize("raw", [
    b"GET /_sim/health HTTP/1.x\r\n\r\n",
    b"GET /<script>alert(1)</script> HTTP/1.1\r\nHo st: <b>x</b>\r\n\r\n",
    b"G<E>T / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"POST /_sim/clock HTTP/1.1\r\nHost: localhost\r\n"
    b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST /_sim/clock HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\nX-Long: " + b"b" * 20000 + b"\r\n\r\n",
], ids=["version", "header-token", "method", "two-lengths", "bad-chunk", "long-line",
        "long-header"])
async def test_malformed_http_is_a_json_400_that_does_not_echo_the_input(
        server: Running, raw: bytes) -> None:
    answer = await exchange(server, raw)
    assert spring_error(answer, 400)["message"].startswith("malformed HTTP request")
    for echoed in (b"script", b"<b>", b"1.x", b"aaaa", b"bbbb", b"zz", b"G<E>T"):
        assert echoed not in answer.body


# -- 5. a snapshot is checked before anything changes -------------------------------------------


async def get_snapshot(server: Running) -> dict[str, Any]:
    answer = await exchange(server, b"GET /_sim/snapshot HTTP/1.1\r\nHost: localhost\r\n\r\n")
    snap: dict[str, Any] = answer.json()
    return snap


async def put_snapshot(server: Running, document: bytes) -> RawAnswer:
    return await exchange(server, (b"PUT /_sim/snapshot HTTP/1.1\r\nHost: localhost\r\n"
                                   b"Content-Type: application/json\r\n"
                                   b"Content-Length: %d\r\n\r\n" % len(document)) + document)


def edit(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set `value` at `path` ("fleet.columns.power.0"; numbers index lists)."""
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value


@pytest.mark.parametrize(("path", "value", "field"), [
    ("tokens.items.0.clientId", [], "tokens.items[0].clientId"),
    ("tokens.items.0.clientId", {}, "tokens.items[0].clientId"),
    ("fleet.columns.power.0", 1e308, "fleet.columns.power"),  # float32: does not even fit
    ("fleet.columns.power.0", 100.5, "fleet.columns.power[0]"),
    ("fleet.columns.power.3", "NaN", "fleet.columns.power[3]"),
    ("fleet.columns.odometer.1", 1e308, "fleet.columns.odometer[1]"),
    ("fleet.columns.last_active.0", -1e300, "fleet.columns.last_active[0]"),
    ("fleet.columns.lat.2", "Infinity", "fleet.columns.lat[2]"),
    ("fleet.columns.lon.2", 181.0, "fleet.columns.lon[2]"),
    ("fleet.columns.ride_end.4", "-Infinity", "fleet.columns.ride_end[4]"),
    ("fleet.columns.speed_mode.5", 9, "fleet.columns.speed_mode[5]"),
    ("fleet.columns.battery_count.0", 0, "fleet.columns.battery_count[0]"),
    ("fleet.columns.pack_percent.1", [50.0, "NaN", 50.0], "fleet.columns.pack_percent[1]"),
    ("platforms.0.code", [], "platforms[0].code"),
    ("faults.rules", "none", "faults.rules"),
])
async def test_a_snapshot_with_a_bad_value_is_a_400_naming_it_and_changes_nothing(
        server: Running, sim: Simulator, path: str, value: Any, field: str) -> None:
    doc = await get_snapshot(server)
    assert doc["tokens"]["items"], "the demo platform's token must be in the snapshot"
    sim.advance_to(sim.clock.now + 5)  # the world moves on after the snapshot was taken
    before = snapshot.dump(sim)
    edit(doc, path, value)
    answer = await put_snapshot(server, orjson.dumps(doc))
    assert answer.status == 400
    assert answer.json()["field"] == field
    assert snapshot.dump(sim) == before
    status = await exchange(server, f"GET /api/v2/vehicle/query/current/status?iotCode="
                                    f"{sim.fleet.imeis[0]} HTTP/1.1\r\nHost: localhost\r\n"
                                    f"{BEARER}\r\n\r\n".encode())
    assert status.json()["code"] == 0


async def test_a_newest_token_that_is_not_text_is_a_400(server: Running) -> None:
    doc = await get_snapshot(server)
    edit(doc, f"tokens.newest.{DEMO_CLIENT_ID}", [])
    answer = await put_snapshot(server, orjson.dumps(doc))
    assert answer.status == 400 and answer.json()["field"] == f"tokens.newest.{DEMO_CLIENT_ID}"


async def test_offline_until_powered_is_the_one_infinity_a_snapshot_keeps(
        server: Running, sim: Simulator) -> None:
    doc = await get_snapshot(server)
    edit(doc, "fleet.columns.offline_until.0", "Infinity")
    assert (await put_snapshot(server, orjson.dumps(doc))).status == 200
    assert sim.fleet.offline_until[0] == float("inf")
