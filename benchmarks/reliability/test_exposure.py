"""Exposure: Host (DNS rebinding), Origin and Content-Type (cross-site requests), the control
token, and the refusal to bind a non-loopback address without one."""

from __future__ import annotations

import http.client
import socket
import time

import pytest
from conftest import IMEI, SECRET, TOKEN, Server, call, expect, module_server, raw, short, status_of

EVIL = "http://evil.example"
CONTROL_TOKEN = "ct-6f1d0a0e-reliability"


@pytest.fixture(scope="module")
def server(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "20")


def expect_refusal(resp, status: int, field: str, what: str) -> None:
    expect(resp.status == status, f"{what}: HTTP {resp.status}, expected {status}: "
           f"{short(resp.body)}")
    doc = resp.json()
    expect(isinstance(doc, dict) and doc.get("field") == field,
           f"{what}: body {short(resp.body)} does not name field {field!r}")
    expect(SECRET.encode() not in resp.body, f"{what}: the refusal carries the platform secret")


# ------------------------------------------------------------------------------------------ Host

FOREIGN_HOSTS = ["evil.example", "evil.example:8080", "127.0.0.1.evil.example",
                 "localhost.evil.example", "10.0.0.1"]
ROUTES = [("GET", "/_sim/platforms"), ("GET", "/_sim/health"), ("GET", "/"),
          ("GET", "/metrics"), ("GET", f"/api/v2/vehicle/query/current/status?iotCode={IMEI}"),
          ("GET", f"/_sim/vehicles/{IMEI}")]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_refused_on_every_route(server, host):
    for method, path in ROUTES:
        resp = call(server.port, method, path,
                    headers={"Host": host, "Authorization": f"bearer {TOKEN}"})
        expect_refusal(resp, 403, "Host", f"{method} {path} with Host {host}")
        expect("--allow-host" in (resp.json() or {}).get("error", ""),
               f"Host refusal on {path} does not mention --allow-host")


def test_foreign_host_refused_on_token_endpoint(server):
    resp = call(server.port, "POST", "/oauth/token", headers={
        "Host": "evil.example", "Content-Type": "application/x-www-form-urlencoded"},
        body=f"client_id=A20081&client_secret={SECRET}&grant_type=client_credentials")
    expect_refusal(resp, 403, "Host", "POST /oauth/token with Host evil.example")


@pytest.mark.parametrize("host", [b"127.0.0.1@evil.example", b"evil.example#127.0.0.1",
                                  b"127.0.0.1 evil.example", b"localhost:80:81", b"[::1",
                                  b"127.0.0.1\\evil.example"],
                         ids=["userinfo", "fragment", "space", "two-ports", "open-bracket",
                              "backslash"])
def test_malformed_host_refused(server, host):
    resp = raw(server.port, b"GET /_sim/platforms HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    expect(resp.status in (400, 403), f"GET /_sim/platforms with Host {host!r} answered "
           f"{resp.status}, expected 400 or 403")
    expect(resp.ctype.startswith("application/json"), f"Host {host!r}: the refusal is not JSON")
    expect(SECRET.encode() not in resp.raw, f"Host {host!r}: the platform secret was served")


def test_two_host_headers_refused(server):
    for first, second in ((b"127.0.0.1", b"evil.example"), (b"evil.example", b"127.0.0.1")):
        resp = raw(server.port, b"GET /_sim/platforms HTTP/1.1\r\nHost: " + first
                   + b"\r\nHost: " + second + b"\r\n\r\n")
        expect(resp.status in (400, 403), f"two Host headers ({first.decode()}, "
               f"{second.decode()}) answered {resp.status}, expected 400 or 403")
        expect(SECRET.encode() not in resp.raw, "two Host headers: the platform secret was served")


@pytest.mark.parametrize("host", ["localhost", "localhost:9", "127.0.0.1", "127.0.0.1:{port}",
                                  "[::1]", "[::1]:{port}"])
def test_loopback_hosts_accepted(server, host):
    host = host.format(port=server.port)
    resp = call(server.port, "GET", "/_sim/health", headers={"Host": host})
    expect(resp.status == 200, f"GET /_sim/health with Host {host} answered {resp!r}")


def test_no_host_http10_accepted(server):
    resp = raw(server.port, b"GET /_sim/health HTTP/1.0\r\n\r\n")
    expect(resp.status == 200, f"an HTTP/1.0 request without Host answered {resp!r}")


def test_allow_host(serve):
    server = serve("--paused", "--vehicles", "5", "--allow-host", "demo.test",
                   "--allow-host", "lab.internal")
    for host in ("demo.test", "lab.internal:8080", "localhost"):
        resp = call(server.port, "GET", "/_sim/health", headers={"Host": host})
        expect(resp.status == 200, f"Host {host} with --allow-host demo.test lab.internal "
               f"answered {resp!r}")
    resp = call(server.port, "GET", "/_sim/platforms", headers={"Host": "evil.example"})
    expect_refusal(resp, 403, "Host", "Host evil.example beside --allow-host demo.test")


def test_allow_host_star(serve):
    server = serve("--paused", "--vehicles", "5", "--allow-host", "*")
    resp = call(server.port, "GET", "/_sim/health", headers={"Host": "anything.example"})
    expect(resp.status == 200, f"--allow-host '*' refused Host anything.example: {resp!r}")


# ---------------------------------------------------------------------------------------- Origin


def _count_vehicles(port) -> int:
    return call(port, "GET", "/_sim/health").json()["vehicles"]


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1:1", "https://127.0.0.1"])
def test_foreign_origin_cannot_change_state(server, origin):
    created = call(server.port, "POST", "/_sim/vehicles", body={})
    expect(created.status == 201, f"creating a vehicle answered {created!r}")
    vehicles = _count_vehicles(server.port)
    clock = call(server.port, "GET", "/_sim/clock").json()
    attempts = [
        ("POST", "/_sim/reset", None),
        ("POST", "/_sim/clock", {"advance": 60}),
        ("POST", "/_sim/faults", {"code": 15302}),
        ("PATCH", f"/_sim/vehicles/{IMEI}", {"online": False}),
        ("DELETE", "/_sim/faults", None),
        ("POST", "/_sim/platforms", {"clientId": "A666"}),
        ("PUT", "/_sim/snapshot", {"format": "segway-sim/snapshot"}),
        ("POST", "/_sim/snapshot/save", None),
        ("POST", f"/_sim/vehicles/{IMEI}/events", {"type": "offline"}),
        ("POST", "/_sim/push-chaos", {"action": "drop"}),
    ]
    for method, path, body in attempts:
        resp = call(server.port, method, path, body=body, headers={"Origin": origin})
        expect_refusal(resp, 403, "Origin", f"{method} {path} with Origin {origin}")
    expect(_count_vehicles(server.port) == vehicles, f"Origin {origin}: the world was reset")
    expect(call(server.port, "GET", "/_sim/clock").json() == clock,
           f"Origin {origin}: the clock moved")
    expect(call(server.port, "GET", f"/_sim/vehicles/{IMEI}").json()["online"] is True,
           f"Origin {origin}: the PATCH went through")
    expect(not call(server.port, "GET", "/_sim/faults").json()["items"],
           f"Origin {origin}: a fault rule was created")


def test_same_or_absent_origin_accepted(server):
    own = f"http://127.0.0.1:{server.port}"
    resp = call(server.port, "POST", "/_sim/clock", body={"advance": 1}, headers={"Origin": own})
    expect(resp.status == 200, f"POST /_sim/clock with the server's own Origin answered {resp!r}")
    resp = call(server.port, "POST", "/_sim/clock", body={"advance": 1})
    expect(resp.status == 200, f"POST /_sim/clock without Origin answered {resp!r}")


def test_no_cors_grant_to_foreign_origin(server):
    resp = call(server.port, "GET", "/_sim/platforms", headers={"Origin": EVIL})
    allowed = resp.headers.get("access-control-allow-origin", "")
    expect(allowed not in ("*", EVIL), f"GET /_sim/platforms grants CORS to {EVIL}: {allowed!r}")


def test_live_channel_refuses_foreign_origin(server):
    resp = raw(server.port, b"GET /_sim/live HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: "
               + EVIL.encode() + b"\r\nAccept: text/event-stream\r\n\r\n", timeout=3)
    expect(resp.status == 403, f"GET /_sim/live with Origin {EVIL} answered "
           f"{short(resp.status_line)} {resp.ctype!r}, expected 403")


# ---------------------------------------------------------------------------------- Content-Type

@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", "text/json"],
                         ids=["none", "text-plain", "form", "multipart", "text-json"])
def test_state_change_needs_json_content_type(server, ctype):
    clock = call(server.port, "GET", "/_sim/clock").json()
    headers = {} if ctype is None else {"Content-Type": ctype}
    resp = call(server.port, "POST", "/_sim/clock", body=b'{"advance": 30}', headers=headers)
    expect_refusal(resp, 415, "Content-Type", f"POST /_sim/clock with Content-Type {ctype}")
    expect("curl" in (resp.json() or {}).get("error", ""),
           "the 415 does not say how to send JSON with curl")
    expect(call(server.port, "GET", "/_sim/clock").json() == clock,
           f"POST /_sim/clock with Content-Type {ctype}: the clock moved")
    resp = call(server.port, "PATCH", f"/_sim/vehicles/{IMEI}", body=b'{"online": false}',
                headers=headers)
    expect_refusal(resp, 415, "Content-Type", f"PATCH vehicle with Content-Type {ctype}")
    resp = call(server.port, "PUT", "/_sim/snapshot", body=b'{"format": "segway-sim/snapshot"}',
                headers=headers)
    expect_refusal(resp, 415, "Content-Type", f"PUT /_sim/snapshot with Content-Type {ctype}")


def test_json_content_type_with_parameters_and_bodiless_posts(server):
    resp = call(server.port, "POST", "/_sim/clock", body=b'{"advance": 1}',
                headers={"Content-Type": "application/json; charset=utf-8"})
    expect(resp.status == 200, f"Content-Type application/json; charset=utf-8 answered {resp!r}")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/_sim/reset")
        answer = conn.getresponse()
        answer.read()
    finally:
        conn.close()
    expect(answer.status == 200, f"a bodiless POST /_sim/reset without Content-Type answered "
           f"HTTP {answer.status}")


# --------------------------------------------------------------------------------- control token


@pytest.fixture(scope="module")
def guarded(request):
    return module_server(request, "--paused", "--riders", "off", "--vehicles", "10",
                         "--control-token", CONTROL_TOKEN)


@pytest.mark.parametrize("path", ["/_sim/health", "/_sim/platforms", "/metrics", "/",
                                  "/_sim/snapshot", f"/_sim/vehicles/{IMEI}"])
def test_control_token_required(guarded, path):
    for auth in (None, "Bearer wrong-token", f"bearer {TOKEN}", f"Basic {CONTROL_TOKEN}"):
        resp = call(guarded.port, "GET", path, headers={} if auth is None else
                    {"Authorization": auth})
        expect_refusal(resp, 401, "Authorization", f"GET {path} with Authorization {auth}")
        expect(resp.headers.get("www-authenticate", "").lower().startswith("bearer"),
               f"GET {path} 401 without WWW-Authenticate: Bearer")
    resp = call(guarded.port, "GET", path, headers={"Authorization": f"Bearer {CONTROL_TOKEN}"})
    expect(resp.status == 200, f"GET {path} with the control token answered {resp!r}")


@pytest.mark.parametrize("name,extra", [
    ("bearer-invalid-bytes", b"Authorization: Bearer \xff\xfe\x80\r\n"),
    ("bearer-huge", b"Authorization: Bearer " + b"t" * 7000 + b"\r\n"),
    ("cookie-garbage", b"Cookie: \xff=\xfe; ;;=; token=\x80\r\n"),
    ("bearer-token-prefix", b"Authorization: Bearer " + CONTROL_TOKEN[:-1].encode() + b"\r\n"),
    ("bearer-token-suffix", b"Authorization: Bearer " + CONTROL_TOKEN.encode() + b"x\r\n"),
], ids=["bearer-invalid-bytes", "bearer-huge", "cookie-garbage", "token-prefix", "token-suffix"])
def test_odd_credentials_are_401_json(guarded, name, extra):
    resp = raw(guarded.port, b"GET /_sim/platforms HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra
               + b"\r\n")
    expect(resp.status == 401, f"GET /_sim/platforms with {name} answered {resp.status}, "
           "expected 401")
    expect(resp.ctype.startswith("application/json"), f"{name}: the 401 is not JSON")
    expect(SECRET.encode() not in resp.raw, f"{name}: the platform secret was served")


@pytest.mark.parametrize("query", ["token=%ff%fe", "token=", "token=wrong&token=" + CONTROL_TOKEN,
                                   "token=" + "x" * 5000],
                         ids=["invalid-utf8", "empty", "twice", "5000-chars"])
def test_odd_dashboard_token_query(guarded, query):
    resp = raw(guarded.port, b"GET /?" + query.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    expect(resp.status is not None and resp.status < 500, f"GET /?{query[:30]} answered "
           f"{resp.status}")
    if resp.status != 401:
        expect(resp.status in (301, 302, 303, 307, 308, 400, 403, 414),
               f"GET /?{query[:30]} answered {resp.status}")


def test_live_channel_and_assets_need_the_token(guarded):
    for path in (b"/_sim/live", b"/dashboard/app.js"):
        resp = raw(guarded.port, b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   b"Accept: text/event-stream\r\n\r\n", timeout=3)
        expect(resp.status == 401, f"GET {path.decode()} without the control token answered "
               f"{resp.status}, expected 401")
    resp = raw(guarded.port, b"GET /_sim/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
               b"Bearer " + CONTROL_TOKEN.encode() + b"\r\nAccept: text/event-stream\r\n\r\n",
               timeout=2)
    expect(resp.status == 200, f"GET /_sim/live with the control token answered {resp.status}")


def test_control_token_guards_state_changes(guarded):
    clock = call(guarded.port, "GET", "/_sim/clock",
                 headers={"Authorization": f"Bearer {CONTROL_TOKEN}"}).json()
    resp = call(guarded.port, "POST", "/_sim/clock", body={"advance": 60})
    expect_refusal(resp, 401, "Authorization", "POST /_sim/clock without the control token")
    resp = call(guarded.port, "POST", "/_sim/reset")
    expect_refusal(resp, 401, "Authorization", "POST /_sim/reset without the control token")
    after = call(guarded.port, "GET", "/_sim/clock",
                 headers={"Authorization": f"Bearer {CONTROL_TOKEN}"}).json()
    expect(after == clock, "the clock moved without the control token")


def test_vendor_surface_keeps_its_own_oauth(guarded):
    expect(status_of(guarded.port).get("code") == 0,
           "with --control-token the vendor status with the demo token is not code 0")
    resp = call(guarded.port, "POST", "/oauth/token",
                body=f"client_id=A20081&client_secret={SECRET}&grant_type=client_credentials",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    expect(resp.status == 200, f"with --control-token /oauth/token answered {resp!r}")
    doc = status_of(guarded.port, token=CONTROL_TOKEN)
    expect(doc.get("code") == 15101, f"the control token opened the vendor surface: code "
           f"{doc.get('code')}")


def test_dashboard_token_cookie(guarded):
    resp = call(guarded.port, "GET", f"/?token={CONTROL_TOKEN}")
    expect(resp.status in (301, 302, 303, 307, 308), f"GET /?token=... answered {resp!r}, "
           "expected a redirect")
    location = resp.headers.get("location", "")
    expect(location.split("?")[0].endswith("/") and "token" not in location,
           f"GET /?token=... redirects to {location!r}, expected / without the token")
    cookie = resp.headers.get("set-cookie", "")
    expect("httponly" in cookie.lower() and "samesite=strict" in cookie.lower(),
           f"the dashboard cookie is not HttpOnly and SameSite=Strict: {cookie!r}")
    pair = cookie.split(";")[0]
    resp = call(guarded.port, "GET", "/", headers={"Cookie": pair})
    expect(resp.status == 200, f"GET / with the dashboard cookie answered {resp!r}")
    resp = call(guarded.port, "GET", "/_sim/health", headers={"Cookie": pair})
    expect(resp.status == 200, f"GET /_sim/health with the dashboard cookie answered {resp!r}")
    resp = call(guarded.port, "GET", "/?token=wrong")
    expect(resp.status == 401, f"GET /?token=wrong answered {resp!r}, expected 401")


def test_control_token_from_environment(serve):
    server = serve("--paused", "--vehicles", "5",
                   env={"SEGWAY_SIM_CONTROL_TOKEN": CONTROL_TOKEN})
    resp = call(server.port, "GET", "/_sim/health")
    expect_refusal(resp, 401, "Authorization", "SEGWAY_SIM_CONTROL_TOKEN set, no Authorization")
    resp = call(server.port, "GET", "/_sim/health",
                headers={"Authorization": f"Bearer {CONTROL_TOKEN}"})
    expect(resp.status == 200, f"the env control token answered {resp!r}")


# ------------------------------------------------------------------------------ non-loopback bind


def _lan_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("host", ["0.0.0.0", "lan"])
def test_non_loopback_bind_without_token_refused(host):
    if host == "lan":
        host = _lan_address() or "0.0.0.0"
    server = Server("--host", host, "--vehicles", "5", wait=False)
    try:
        deadline = time.monotonic() + 15
        while server.alive() and time.monotonic() < deadline:
            if any("serving" in line for line in server.stdout):
                break
            time.sleep(0.05)
        started = server.alive()
    finally:
        server.close()
    expect(not started, f"serve --host {host} without --control-token started serving")
    time.sleep(0.1)
    lines = [line for line in server.stderr if line.strip()]
    returncode = server.proc.returncode
    expect(returncode == 2, f"serve --host {host} without a control token exited "
           f"{returncode}, expected 2 ({(lines or ['no stderr'])[-1][:160]})")
    expect(len(lines) == 1 and lines[0].startswith("Error:"),
           f"serve --host {host} refusal is not one 'Error:' line: {lines[:3]}")
    expect("--control-token" in lines[0], f"the refusal does not name --control-token: {lines[0]}")
    expect(not any("Traceback" in line for line in server.stderr),
           "the refusal printed a traceback")
