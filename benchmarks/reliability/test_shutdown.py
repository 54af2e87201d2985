"""Shutdown: SIGTERM (and SIGINT) exits within 5 s, code 0, whatever is in flight: a delayed
fault rule, a client stalled mid-body, a stalled live-channel reader, idle keep-alives; with
--state-dir the state is written first."""

from __future__ import annotations

import json
import signal
import socket
import time

from conftest import IMEI, TOKEN, call, expect

BOUND = 5.0
GRACE = 1.5          # how much longer we wait (to say how long it took) before SIGKILL
H = b"Host: 127.0.0.1\r\n"


def _stop(server, sig=signal.SIGTERM, what=""):
    code, took = server.stop_within(sig, BOUND + GRACE)
    name = signal.Signals(sig).name
    if code is None:
        server.kill()
    expect(code is not None and took <= BOUND,
           f"{name} with {what}: " + (f"still running after {BOUND + GRACE:.1f} s"
                                      if code is None else f"exited after {took:.1f} s (> 5 s)"))
    expect(code == 0, f"{name} with {what}: exit code {code}, expected 0")
    expect(not any("Traceback" in line for line in server.stderr),
           f"{name} with {what}: a traceback on stderr")
    return took


def _delayed_query(server) -> socket.socket:
    rule = call(server.port, "POST", "/_sim/faults",
                body={"delayMs": 120_000, "endpoint": "status"})
    expect(rule.status == 201, f"creating a 120 s delay rule answered {rule!r}")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /api/v2/vehicle/query/current/status?iotCode=" + IMEI.encode()
                 + b" HTTP/1.1\r\n" + H + b"Authorization: bearer " + TOKEN.encode() + b"\r\n\r\n")
    return sock


def _stalled_body(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"POST /_sim/clock HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\n"
                 b"Content-Length: 1000\r\n\r\n{\"advance\"")
    return sock


def _stalled_live_reader(server, platforms: int = 3) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(b"GET /_sim/live HTTP/1.1\r\n" + H + b"Accept: text/event-stream\r\n\r\n")
    # never read: make the server write far more than the socket buffers hold
    for i in range(platforms):
        created = call(server.port, "POST", "/_sim/platforms",
                       body={"clientId": f"E550{i}", "vehicles": 40_000})
        expect(created.status == 201, f"creating a 40,000-vehicle platform answered {created!r}")
        call(server.port, "POST", "/_sim/clock", body={"advance": 120})
    time.sleep(1.0)
    return sock


def test_sigterm_with_delayed_fault_rule_in_flight(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "10")
    sock = _delayed_query(server)
    time.sleep(0.4)
    try:
        _stop(server, what="a 120 s delayed fault rule in flight")
    finally:
        sock.close()


def test_sigterm_with_client_stalled_mid_body(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "10")
    sock = _stalled_body(server)
    time.sleep(0.3)
    try:
        _stop(server, what="a client stalled mid-body (default --read-timeout)")
    finally:
        sock.close()


def test_sigterm_with_stalled_live_channel_reader(serve):
    server = serve("--paused", "--riders", "on", "--vehicles", "200")
    sock = _stalled_live_reader(server)
    try:
        _stop(server, what="a stalled live-channel reader")
    finally:
        sock.close()


def test_sigterm_with_idle_keepalive_connections(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "10")
    socks = []
    try:
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /_sim/health HTTP/1.1\r\n" + H + b"\r\n")
            sock.recv(65536)
            socks.append(sock)
        _stop(server, what="50 idle keep-alive connections")
    finally:
        for sock in socks:
            sock.close()


def test_sigint_with_delayed_rule_and_stalled_body(serve):
    server = serve("--paused", "--riders", "off", "--vehicles", "10")
    socks = [_delayed_query(server), _stalled_body(server)]
    time.sleep(0.3)
    try:
        _stop(server, signal.SIGINT, what="a delayed rule and a stalled body")
    finally:
        for sock in socks:
            sock.close()


def test_sigterm_everything_in_flight_writes_state_first(serve, tmp_path):
    state_dir = tmp_path / "state"
    server = serve("--paused", "--riders", "on", "--vehicles", "200", "--state-dir",
                   str(state_dir), "--save-every", "3600")
    socks = [_delayed_query(server), _stalled_body(server), _stalled_live_reader(server, 2)]
    marker = call(server.port, "POST", "/_sim/vehicles", body={"iotCode": "990000000004242"})
    expect(marker.status == 201, f"creating the marker vehicle answered {marker!r}")
    sent = time.time()
    try:
        _stop(server, what="a delayed rule, a stalled body and a stalled live reader, --state-dir")
    finally:
        for sock in socks:
            sock.close()
    state = state_dir / "state.json"
    expect(state.exists(), "SIGTERM with --state-dir left no DIR/state.json")
    expect(state.stat().st_mtime >= sent - 1, "DIR/state.json was not written at SIGTERM")
    expect(not (state_dir / "state.json.tmp").exists(), "DIR/state.json.tmp left behind")
    doc = json.loads(state.read_text())
    expect(doc.get("format") == "segway-sim/state" and doc.get("version") == 1,
           f"state.json format/version: {doc.get('format')!r} {doc.get('version')!r}")
    expect("990000000004242" in json.dumps(doc["snapshot"]["fleet"]["imeis"]),
           "the vehicle created just before SIGTERM is not in the saved state")
