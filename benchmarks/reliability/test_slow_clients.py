"""Slow clients: a stalled head or body ends by --read-timeout (408 JSON or a close); a trickled
head is bounded from its start; stalled clients do not hold up others; --max-connections."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from conftest import IMEI, TOKEN, call, expect, module_server, parse_response, short, wait_for

READ_TIMEOUT = 1.0
BOUND = READ_TIMEOUT + 2.5
H = b"Host: 127.0.0.1\r\n"
AUTH = f"Authorization: bearer {TOKEN}\r\n".encode()


@pytest.fixture(scope="module")
def server(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "20",
                         "--read-timeout", str(READ_TIMEOUT))


def stall(port: int, pieces: list[bytes], wait: float = BOUND + 1.0, gap: float = 0.0):
    """Send `pieces` (`gap` s apart, stopping if the server closes), then wait for the server to
    answer and close. Returns (closed, seconds from the first byte, bytes received)."""
    data, closed = b"", False
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        started = time.monotonic()
        stop = threading.Event()

        def sender():
            for i, piece in enumerate(pieces):
                if stop.is_set():
                    return
                if i and gap:
                    time.sleep(gap)
                try:
                    sock.sendall(piece)
                except OSError:
                    return

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        deadline = started + wait
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not got:
                closed = True
                break
            data += got
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(wait)
    return closed, elapsed, data


def expect_ended_by_timeout(what: str, closed: bool, elapsed: float, data: bytes) -> None:
    expect(closed and elapsed <= BOUND, f"{what}: the connection was still open after "
           f"{elapsed:.1f} s (--read-timeout {READ_TIMEOUT:g}); got {short(data)}")
    if data:
        status, headers, body, line = parse_response(data)
        expect(status == 408, f"{what}: answered {short(line)}, expected 408 or a plain close")
        expect(headers.get("content-type", "").startswith("application/json"),
               f"{what}: the 408 is {headers.get('content-type')!r}, not JSON")


def test_head_stall_ends(server):
    closed, elapsed, data = stall(server.port, [b"GET /_sim/health HTTP/1.1\r\n" + H])
    expect_ended_by_timeout("a request head stalled after its first line", closed, elapsed, data)


def test_head_stall_in_request_line_ends(server):
    closed, elapsed, data = stall(server.port, [b"GET /_sim/hea"])
    expect_ended_by_timeout("a request line stalled halfway", closed, elapsed, data)


def test_trickled_head_bounded_from_its_start(server):
    head = b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-Slow: " + b"a" * 60 + b"\r\n\r\n"
    pieces = [head[i:i + 1] for i in range(len(head))]
    closed, elapsed, data = stall(server.port, pieces, gap=READ_TIMEOUT / 4, wait=BOUND + 2)
    expect(not data.startswith(b"HTTP/1.1 200"),
           f"a head trickled one byte per {READ_TIMEOUT / 4:g} s over "
           f"{len(head) * READ_TIMEOUT / 4:.0f} s was served")
    expect_ended_by_timeout("a head trickled one byte at a time", closed, elapsed, data)


def test_control_body_stall_ends_and_changes_nothing(server):
    before = call(server.port, "GET", "/_sim/clock").json()
    closed, elapsed, data = stall(server.port, [
        b"POST /_sim/clock HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n{\"advance\": "])
    expect_ended_by_timeout("a control-plane body stalled after 12 of 100 bytes", closed,
                            elapsed, data)
    expect(call(server.port, "GET", "/_sim/clock").json() == before,
           "a stalled POST /_sim/clock moved the clock")


def test_chunked_body_stall_ends(server):
    closed, elapsed, data = stall(server.port, [
        b"POST /_sim/clock HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"adv\r\n"])
    expect_ended_by_timeout("a chunked body stalled after its first chunk", closed, elapsed, data)


def test_vendor_body_stall_ends_and_changes_nothing(server):
    closed, elapsed, data = stall(server.port, [
        b"POST /api/v2/vehicle/control/unlock HTTP/1.1\r\n" + H + AUTH
        + b"Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"iotCode\": \"86147"])
    expect_ended_by_timeout("a vendor command body stalled", closed, elapsed, data)
    state = call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json()
    expect(state["locked"] is True and not state["commandInFlight"],
           "a stalled unlock left the vehicle unlocked or in flight")


def test_token_body_stall_ends(server):
    closed, elapsed, data = stall(server.port, [
        b"POST /oauth/token HTTP/1.1\r\n" + H + b"Content-Type: application/x-www-form-"
        b"urlencoded\r\nContent-Length: 90\r\n\r\nclient_id=A20081&"])
    expect_ended_by_timeout("a token request body stalled", closed, elapsed, data)


def test_stalled_clients_do_not_block_others(server):
    socks = []
    try:
        for i in range(60):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            socks.append(sock)
            sock.sendall([b"GET /_sim/health HTTP/1.1\r\n" + H,
                          b"POST /_sim/clock HTTP/1.1\r\n" + H + b"Content-Length: 50\r\n\r\n{",
                          b"POST /api/v2/vehicle/control/unlock HTTP/1.1\r\n" + H + AUTH
                          + b"Transfer-Encoding: chunked\r\n\r\n3\r\n{\"i\r\n"][i % 3])
        slowest = 0.0
        started = time.monotonic()
        for i in range(60):
            if i % 2:
                resp = call(server.port, "GET", "/_sim/health", timeout=5)
            else:
                resp = call(server.port, "GET", "/api/v2/vehicle/query/current/status?iotCode="
                            + IMEI, headers={"Authorization": f"bearer {TOKEN}"}, timeout=5)
            expect(resp.status == 200, f"a request beside 60 stalled clients answered {resp!r}")
            slowest = max(slowest, resp.elapsed)
        total = time.monotonic() - started
        expect(slowest < 1.0, f"beside 60 stalled clients one request took {slowest:.2f} s")
        expect(total < 6.0, f"beside 60 stalled clients 60 requests took {total:.1f} s")
    finally:
        for sock in socks:
            sock.close()


def test_slowloris_200_connections_all_closed(server):
    socks = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /_sim/health HTTP/1.1\r\n" + H + b"X-A: ")
            socks.append(sock)

        def all_closed():
            return sum(1 for s in socks if _drained_closed(s)) == len(socks)

        ended = wait_for(all_closed, BOUND + 1.5, 0.2)
        still = sum(1 for s in socks if not _drained_closed(s))
        expect(ended, f"{still} of 200 slowloris connections still open after "
               f"{BOUND + 1.5:.1f} s (--read-timeout {READ_TIMEOUT:g})")
        resp = call(server.port, "GET", "/_sim/health", timeout=5)
        expect(resp.status == 200, f"health after the slowloris wave answered {resp!r}")
    finally:
        for sock in socks:
            sock.close()


def _drained_closed(sock) -> bool:
    """True once the peer closed (reading what it sent first)."""
    sock.settimeout(0.0)
    try:
        while True:
            got = sock.recv(65536)
            if not got:
                return True
    except (TimeoutError, BlockingIOError):
        return False
    except OSError:
        return True


def test_max_connections_refuses_with_one_log_line(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "5", "--max-connections", "20",
                   "--read-timeout", "30")
    held = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"GET /_sim/health HTTP/1.1\r\n" + H)
            held.append(sock)
        time.sleep(0.3)
        log_before = len(server.stderr)
        refused = 0
        for _ in range(15):
            closed, elapsed, data = stall(server.port, [b"GET /_sim/health HTTP/1.1\r\n" + H
                                                        + b"\r\n"], wait=2.0)
            if data.startswith(b"HTTP/1.1 503") or (closed and not data):
                refused += 1
            elif data:
                status, headers, body, line = parse_response(data)
                expect(status == 503 or status is None,
                       f"connection 21+ over --max-connections 20 answered {short(line)}")
        expect(refused == 15, f"only {refused} of 15 connections over --max-connections 20 were "
               "closed at once or answered 503")
        time.sleep(0.3)
        new_lines = server.stderr[log_before:]
        expect(1 <= len(new_lines) <= 2, f"15 refused connections logged {len(new_lines)} stderr "
               "lines, expected one warning for the spell")
    finally:
        for sock in held:
            sock.close()
    served = wait_for(lambda: call(server.port, "GET", "/_sim/health", timeout=5).status == 200,
                      5.0, 0.2)
    expect(served, "after the held connections closed, new requests are still refused")
