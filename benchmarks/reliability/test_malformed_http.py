"""Malformed HTTP over raw sockets: never a 500, a traceback, text/html or an echo; JSON bodies."""

from __future__ import annotations

import random
import socket
import time

import pytest
from conftest import TOKEN, call, expect, module_server, raw, short

MARK = b"ECHO<script>zq"
H = b"Host: 127.0.0.1\r\n"
AUTH = f"Authorization: bearer {TOKEN}\r\n".encode()

# (id, bytes, allowed HTTP statuses, the marker must not come back)
PROBES = [
    ("http2-request-line", b"GET /_sim/health HTTP/2.0\r\n" + H + b"\r\n", {400, 505}, False),
    ("http3-request-line", b"GET /_sim/health HTTP/3.0\r\n" + H + b"\r\n", {400, 505}, False),
    ("http9.9-request-line", b"GET /_sim/health HTTP/9.9\r\n" + H + b"\r\n", {400, 505}, False),
    ("http0.9-bare-line", b"GET /_sim/health\r\n", {400, 505}, False),
    ("http0.9-vendor", b"GET /api/v2/vehicle/query/current/status?iotCode=861477038719116\r\n",
     {400, 505}, False),
    ("garbage-request-line", MARK + b" garbage\r\n" + H + b"\r\n", {400}, True),
    ("no-version", b"GET /" + MARK + b"\r\n" + H + b"\r\n", {400, 505}, False),
    ("extra-token-in-line", b"GET /_sim/health HTTP/1.1 " + MARK + b"\r\n" + H + b"\r\n",
     {400}, True),
    ("nul-in-target", b"GET /_sim/he\x00alth" + MARK + b" HTTP/1.1\r\n" + H + b"\r\n",
     {400}, True),
    ("bad-method-char", b"G(T /_sim/health HTTP/1.1\r\n" + H + MARK + b": x\r\n\r\n",
     {400}, True),
    ("tls-client-hello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + MARK + b"\r\n\r\n",
     {400}, True),
    ("binary-garbage", bytes(range(256)) + MARK + b"\r\n\r\n", {400}, True),
    ("invalid-byte-header-name", b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-\xff" + MARK
     + b": 1\r\n\r\n", {400}, True),
    ("header-without-colon", b"GET /_sim/health HTTP/1.1\r\n" + H + MARK + b"\r\n\r\n",
     {400}, True),
    ("space-before-colon", b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-A" + MARK + b" : 1\r\n\r\n",
     {400}, True),
    ("host-invalid-utf8", b"GET /_sim/health HTTP/1.1\r\nHost: evil\xff\xfe.example\r\n\r\n",
     {400, 403}, False),
    ("host-invalid-utf8-vendor", b"GET /api/v2/vehicle/query/current/status?iotCode=1 HTTP/1.1"
     b"\r\nHost: \xc0\xaf\r\n" + AUTH + b"\r\n", {400, 403}, False),
    ("host-invalid-utf8-token", b"POST /oauth/token HTTP/1.1\r\nHost: \xed\xa0\x80\r\n"
     b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n",
     {400, 403}, False),
    ("origin-invalid-utf8", b"POST /_sim/reset HTTP/1.1\r\n" + H + b"Origin: http://\xff\xfe\r\n"
     b"Content-Length: 0\r\n\r\n", {400, 403}, False),
    ("content-type-invalid-utf8", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/\xff\xfejson\r\nContent-Length: 14\r\n\r\n{\"advance\": 1}",
     {400, 415}, False),
    ("authorization-invalid-bytes", b"GET /_sim/health HTTP/1.1\r\n" + H
     + b"Authorization: Bearer \xff\xfe\x80\r\n\r\n", {200, 400, 401}, False),
    ("control-byte-header-value", b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-A: a\x01\x7f"
     + MARK + b"\r\n\r\n", {200, 400}, True),
    ("obs-fold", b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-A: a\r\n  " + MARK + b"\r\n\r\n",
     {200, 400}, True),
    ("huge-header-100k", b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-Big: " + MARK
     + b"a" * 100_000 + b"\r\n\r\n", {400, 413, 431}, True),
    ("request-line-20k", b"GET /_sim/health?" + MARK + b"a" * 20_000 + b" HTTP/1.1\r\n" + H
     + b"\r\n", {400, 414, 431}, True),
    ("many-headers-3000", b"GET /_sim/health HTTP/1.1\r\n" + H
     + b"".join(b"X-H%d: v\r\n" % i for i in range(3000)) + b"\r\n", {200, 400, 431}, True),
    ("chunk-size-not-hex", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + MARK
     + b"\r\n0\r\n\r\n", {400}, True),
    ("chunk-size-overflow", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"ffffffffffffffffffffffff\r\n" + MARK + b"\r\n0\r\n\r\n", {400, 413}, True),
    ("chunk-missing-crlf", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"5\r\n{\"a\":" + MARK + b"0\r\n\r\n", {400}, True),
    ("chunk-negative-size", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n" + MARK
     + b"\r\n0\r\n\r\n", {400}, True),
    ("te-not-chunked-last", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
     + b"2\r\n{}\r\n0\r\n\r\n", {400, 501}, False),
    ("cl-and-te", b"POST /_sim/clock HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
     + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
     {400}, False),
    ("two-content-lengths", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 17\r\n\r\n{}",
     {400}, False),
    ("negative-content-length", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nContent-Length: -2\r\n\r\n{}", {400}, False),
    ("content-length-not-a-number", b"POST /_sim/clock HTTP/1.1\r\n" + H
     + b"Content-Type: application/json\r\nContent-Length: 2" + MARK + b"\r\n\r\n{}",
     {400}, True),
    ("vendor-bad-chunk", b"POST /api/v2/vehicle/control/unlock HTTP/1.1\r\n" + H + AUTH
     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nqq\r\n" + MARK
     + b"\r\n0\r\n\r\n", {400}, True),
    ("vendor-http2-line", b"POST /api/v2/vehicle/control/unlock HTTP/2.0\r\n" + H + AUTH
     + b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", {400, 505}, False),
    ("token-bad-chunk", b"POST /oauth/token HTTP/1.1\r\n" + H
     + b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"xx\r\n" + MARK + b"\r\n0\r\n\r\n", {400}, True),
    ("unknown-method", b"BREW /_sim/health HTTP/1.1\r\n" + H + b"\r\n", {400, 405, 501}, False),
    ("bad-percent-encoding", b"GET /_sim/vehicles/%zz%" + b" HTTP/1.1\r\n" + H + b"\r\n",
     {400, 404}, False),
    ("invalid-utf8-path", b"GET /_sim/vehicles/\xff\xfe\xc0 HTTP/1.1\r\n" + H + b"\r\n",
     {400, 404}, False),
]


@pytest.fixture(scope="module")
def server(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "20")


@pytest.mark.parametrize("name,data,allowed,no_echo", PROBES, ids=[p[0] for p in PROBES])
def test_malformed_request(server, name, data, allowed, no_echo):
    resp = raw(server.port, data, timeout=4.0)
    expect(resp.status is not None,
           f"{name}: no HTTP answer within 4 s (closed={resp.closed}, got {short(resp.raw)})")
    expect(resp.status < 500 or resp.status in (501, 505),
           f"{name}: answered {resp.status} (a server error): {short(resp.body)}")
    expect(resp.status in allowed, f"{name}: answered {resp.status}, expected one of "
           f"{sorted(allowed)}: {short(resp.body)}")
    expect(b"Traceback" not in resp.raw, f"{name}: the answer carries a Python traceback")
    expect("text/html" not in resp.ctype, f"{name}: answered text/html")
    expect(resp.ctype.startswith("application/json"),
           f"{name}: HTTP {resp.status} with Content-Type {resp.ctype!r}, not JSON: "
           f"{short(resp.body)}")
    expect(isinstance(resp.json(), dict), f"{name}: HTTP {resp.status} body is not a JSON "
           f"object: {short(resp.body)}")
    if no_echo:
        expect(MARK.lower() not in resp.raw.lower(),
               f"{name}: the {resp.status} answer echoes the request's bytes: {short(resp.body)}")


def test_pipelined_requests_both_answered(server):
    one = b"GET /_sim/health HTTP/1.1\r\n" + H + b"\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=4) as sock:
        sock.sendall(one + one)
        data, deadline = b"", time.monotonic() + 4
        while data.count(b"HTTP/1.1 200") < 2 and time.monotonic() < deadline:
            got = sock.recv(65536)
            if not got:
                break
            data += got
    expect(data.count(b"HTTP/1.1 200") == 2,
           f"two pipelined health requests got {data.count(b'HTTP/1.1 200')} answers of 200")


def test_http10_without_host_is_served(server):
    resp = raw(server.port, b"GET /_sim/health HTTP/1.0\r\n\r\n")
    expect(resp.status == 200, f"HTTP/1.0 GET without Host answered {resp!r}, expected 200")


def test_fuzzed_requests_never_500_html_or_traceback(server):
    """120 seeded byte mutations of valid requests, sent with the write side half-closed."""
    rng = random.Random(13)
    seeds = [
        b"GET /_sim/vehicles/861477038719116 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"POST /api/v2/vehicle/control/sound HTTP/1.1\r\nHost: 127.0.0.1\r\n" + AUTH
        + b"Content-Type: application/json\r\nContent-Length: 44\r\n\r\n"
        + b'{"iotCode":"861477038719116","controlType":2}',
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        b"application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\nclient_id=A20081&x=1&",
    ]
    bad = []
    for i in range(120):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[pos] = rng.randrange(256)
            elif action < 0.7:
                del data[pos]
            else:
                data[pos:pos] = bytes([rng.randrange(256)]) * rng.randint(1, 40)
        with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
            try:
                sock.sendall(bytes(data))
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            blob, deadline = b"", time.monotonic() + 1.5
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    got = sock.recv(65536)
                except (TimeoutError, OSError):
                    break
                if not got:
                    break
                blob += got
        head = blob.split(b"\r\n\r\n", 1)[0].lower()
        if (b" 500 " in blob[:16] or b"traceback" in blob.lower() or b"text/html" in head
                or (b"content-type" in head and b"application/json" not in head)):
            bad.append((i, blob[:80]))
    expect(not bad, f"{len(bad)} of 120 fuzzed requests got a 500, traceback, HTML or non-JSON "
           f"answer; first: #{bad[0][0] if bad else ''} {short(bad[0][1]) if bad else ''}")


def test_server_alive_and_no_traceback_logged(server):
    resp = call(server.port, "GET", "/_sim/health")
    expect(resp.status == 200, f"health after the malformed probes answered {resp!r}")
    expect(server.alive(), "the server died during the malformed-HTTP probes")
    expect("Traceback" not in server.log(), f"the server logged "
           f"{server.log().count('Traceback')} tracebacks during the malformed-HTTP probes: "
           + "; ".join(sorted(set(exception_lines(server.stderr))))[:300])


def exception_lines(lines):
    import re
    return [line.strip() for line in lines
            if re.match(r"^\s*[\w.]+(Error|Exception|Reset)\w*: ", line)]
