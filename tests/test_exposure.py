"""Safe on a developer's laptop (issue 13, item 1): what a web page, a DNS-rebinding page or another
machine on the network can no longer do to a running simulator (server/guard.py).

The server runs as the CLI runs it (runner.start); requests a browser would send with a foreign
`Host` or `Origin` go over raw loopback sockets (tests/helpers/raw.py), the rest through aiohttp.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import orjson
import pytest
from click.testing import CliRunner

from simulator.cli.main import main
from simulator.contract.target import probe_mock
from simulator.core.control_token import CONTROL_TOKEN_ENV
from simulator.scenarios.drivers import HttpDriver
from simulator.server.app import create_app
from simulator.server.guard import COOKIE, Guard
from simulator.server.runner import Running, start
from simulator.sim import DEMO_CLIENT_SECRET, Simulator
from tests.helpers.raw import RawAnswer, raw_request, send
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI

TOKEN = "t0ken-for-tests"
STATUS = f"/api/v2/vehicle/query/current/status?iotCode={EXAMPLE_IMEI}"
JSON = "Content-Type: application/json"


@asynccontextmanager
async def serving(sim: Simulator, guard: Guard | None = None,
                  host: str = "127.0.0.1") -> AsyncIterator[Running]:
    running = await start(sim, host, pace=False, guard=guard)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[Running]:
    async with serving(sim) as running:
        yield running


@pytest.fixture
async def guarded(sim: Simulator) -> AsyncIterator[Running]:
    async with serving(sim, Guard(TOKEN)) as running:
        yield running


async def ask(server: Running, method: str, path: str, *headers: str,
              body: bytes = b"") -> RawAnswer:
    return await send(server.host, server.port, raw_request(method, path, *headers, body=body))


def every_route(sim: Simulator) -> list[tuple[str, str]]:
    """(method, a path it takes) for each route of the app, placeholders filled in."""
    routes = []
    for route in create_app(sim, pace=False).router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        path = re.sub(r"\{[^}]*\}", "x", route.resource.canonical)
        routes.append(("GET" if route.method == "*" else route.method, path))
    return routes


# -- Host --------------------------------------------------------------------------------------


async def test_a_foreign_host_is_refused_on_every_route(server: Running, sim: Simulator) -> None:
    routes = every_route(sim)
    assert len(routes) > 40  # the vendor surface, the control plane, the dashboard, the fallback
    clock, platforms = sim.clock.now, dict(sim.platforms)
    for method, path in routes:
        answer = await ask(server, method, path, "Host: rebound.example:8080", JSON,
                           body=b"{}" if method != "GET" else b"")
        assert answer.status == 403, (method, path, answer)
        error = answer.json()
        assert error["field"] == "Host"
        assert "'rebound.example'" in error["error"] and "--allow-host" in error["error"]
    assert (sim.clock.now, dict(sim.platforms)) == (clock, platforms)


async def test_a_dns_rebinding_page_reads_no_platform_secret(server: Running) -> None:
    answer = await ask(server, "GET", "/_sim/platforms", "Host: attacker.example")
    assert answer.status == 403
    assert DEMO_CLIENT_SECRET.encode() not in answer.body


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:1", "[::1]:80",
                                  "LOCALHOST", "[::1]"])
async def test_loopback_names_are_this_server_at_any_port(server: Running, host: str) -> None:
    assert (await ask(server, "GET", STATUS, f"Host: {host}", f"Authorization: "
                                             f"{AUTH['Authorization']}")).status == 200


async def test_a_request_without_host_is_http_1_0_and_answered(server: Running) -> None:
    answer = await send(server.host, server.port,
                        raw_request("GET", "/_sim/health", version="HTTP/1.0"))
    assert answer.status == 200


async def test_the_address_a_connection_came_in_on_is_a_name_of_the_server(
        sim: Simulator) -> None:
    # 127.0.0.2 is loopback on Linux, yet none of the fixed names: it stands for a LAN address.
    async with serving(sim, host="127.0.0.2") as running:
        assert (await ask(running, "GET", "/_sim/health", "Host: 127.0.0.2:9")).status == 200
        assert (await ask(running, "GET", "/_sim/health", "Host: 127.0.0.3")).status == 403


async def test_allow_host_lets_a_name_in_and_a_star_any(sim: Simulator) -> None:
    async with serving(sim, Guard(allow_hosts=["sim.test"])) as running:
        assert (await ask(running, "GET", "/_sim/health", "Host: sim.test:80")).status == 200
        assert (await ask(running, "GET", "/_sim/health", "Host: other.test")).status == 403
    async with serving(sim, Guard(allow_hosts=["*"])) as running:
        assert (await ask(running, "GET", "/_sim/health", "Host: other.test")).status == 200


# -- Origin and Content-Type on state-changing control-plane requests -------------------------


async def test_a_foreign_origin_cannot_change_the_world(server: Running, sim: Simulator) -> None:
    before = sim.clock.now
    answer = await ask(server, "POST", "/_sim/clock", "Host: 127.0.0.1",
                       "Origin: https://evil.example", JSON, body=b'{"advance": 60}')
    assert answer.status == 403
    assert answer.json()["field"] == "Origin"
    assert sim.clock.now == before
    answer = await ask(server, "POST", "/_sim/reset", "Host: 127.0.0.1", "Origin: null")
    assert answer.status == 403


async def test_the_servers_own_origin_and_no_origin_may(server: Running, sim: Simulator) -> None:
    host = f"127.0.0.1:{server.port}"
    before = sim.clock.now
    answer = await ask(server, "POST", "/_sim/clock", f"Host: {host}",
                       f"Origin: http://{host}", JSON, body=b'{"advance": 60}')
    assert answer.status == 200, answer
    answer = await ask(server, "POST", "/_sim/clock", f"Host: {host}", JSON,
                       body=b'{"advance": 60}')
    assert answer.status == 200
    assert sim.clock.now == before + 120


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
async def test_a_body_not_declared_json_is_415(server: Running, sim: Simulator,
                                               content_type: str | None) -> None:
    # What a cross-site form or a "simple" fetch can send without a CORS preflight.
    before = sim.clock.now
    headers = ["Host: localhost"] + ([f"Content-Type: {content_type}"] if content_type else [])
    answer = await ask(server, "POST", "/_sim/clock", *headers, body=b'{"advance": 60}')
    assert answer.status == 415
    error = answer.json()
    assert error["field"] == "Content-Type"
    assert "--json" in error["error"] and "application/json" in error["error"]
    assert sim.clock.now == before


async def test_json_with_parameters_and_bodiless_requests_pass(server: Running) -> None:
    answer = await ask(server, "POST", "/_sim/clock", "Host: localhost",
                       "Content-Type: application/json; charset=utf-8", body=b'{"advance": 1}')
    assert answer.status == 200
    assert (await ask(server, "POST", "/_sim/reset", "Host: localhost")).status == 200
    assert (await ask(server, "DELETE", "/_sim/faults", "Host: localhost")).status == 200


async def test_the_live_channel_refuses_a_foreign_origin(server: Running) -> None:
    answer = await ask(server, "GET", "/_sim/live", "Host: localhost",
                       "Origin: http://evil.example")
    assert answer.status == 403
    assert answer.json()["field"] == "Origin"


async def test_reads_and_the_vendor_surface_keep_their_rules(server: Running) -> None:
    # A read cannot change anything, and CORS keeps its answer from another site's script.
    answer = await ask(server, "GET", "/_sim/clock", "Host: localhost",
                       "Origin: http://evil.example")
    assert answer.status == 200
    # The vendor's own routes parse what the vendor parses (the reference is the law there).
    answer = await ask(server, "POST", "/api/v2/vehicle/control/sound", "Host: localhost",
                       f"Authorization: {AUTH['Authorization']}", "Origin: http://evil.example",
                       "Content-Type: application/json",
                       body=orjson.dumps({"iotCode": EXAMPLE_IMEI, "controlType": 3}))
    assert answer.status == 200


@pytest.mark.parametrize(("header", "status", "field"), [
    (b"Host: ho\xffst\xfe", 403, "Host"),
    (b"Origin: http://ev\xffil", 403, "Origin"),
    (b"Content-Type: text/\xff\xfe", 415, "Content-Type"),
])
async def test_refusals_name_bytes_that_are_not_utf8_never_a_500(
        server: Running, sim: Simulator, header: bytes, status: int, field: str) -> None:
    now = sim.clock.now
    host = b"" if header.startswith(b"Host") else b"Host: localhost\r\n"
    request = (b"POST /_sim/clock HTTP/1.1\r\n" + host + header
               + b"\r\nContent-Length: 14\r\n\r\n{\"advance\": 5}")
    answer = await send(server.host, server.port, request)
    assert answer.status == status
    assert answer.json()["field"] == field
    assert sim.clock.now == now


# -- the control token -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_sim/health", "/_sim/platforms", "/metrics", "/",
                                  "/dashboard/app.js", "/_sim/live", "/_sim/nowhere"])
async def test_with_a_token_our_routes_need_it(guarded: Running, path: str) -> None:
    answer = await ask(guarded, "GET", path, "Host: localhost")
    assert answer.status == 401
    assert answer.json()["field"] == "Authorization"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    wrong = await ask(guarded, "GET", path, "Host: localhost", "Authorization: Bearer nope")
    assert wrong.status == 401


@pytest.mark.parametrize("credentials", [b"Authorization: Bearer \xff\xfe\x80",
                                         b"Cookie: segway_sim_token=\xff; =;;",
                                         b"Authorization: Bearer " + TOKEN.encode() + b"x"])
async def test_odd_credentials_are_a_401_never_a_500(guarded: Running, credentials: bytes) -> None:
    request = b"GET /_sim/health HTTP/1.1\r\nHost: localhost\r\n" + credentials + b"\r\n\r\n"
    answer = await send(guarded.host, guarded.port, request)
    assert answer.status == 401
    assert answer.json()["field"] == "Authorization"


async def test_the_bearer_token_opens_the_control_plane(guarded: Running, sim: Simulator) -> None:
    answer = await ask(guarded, "POST", "/_sim/clock", "Host: localhost", JSON,
                       f"Authorization: Bearer {TOKEN}", body=b'{"advance": 5}')
    assert answer.status == 200
    assert (await ask(guarded, "GET", "/metrics", "Host: localhost",
                      f"Authorization: bearer {TOKEN}")).status == 200


async def test_the_vendor_surface_keeps_its_own_oauth(guarded: Running) -> None:
    assert (await ask(guarded, "GET", STATUS, "Host: localhost",
                      f"Authorization: {AUTH['Authorization']}")).status == 200
    # The control token is no vendor credential.
    answer = await ask(guarded, "GET", STATUS, "Host: localhost", f"Authorization: Bearer {TOKEN}")
    assert answer.json()["code"] != 0


async def test_a_browser_logs_in_once_and_the_cookie_counts(guarded: Running,
                                                            sim: Simulator) -> None:
    base = f"http://{guarded.host}:{guarded.port}"
    # unsafe: aiohttp's jar otherwise keeps no cookie of an IP address (a browser does)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/?token={TOKEN}", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/"
            cookie = resp.headers["Set-Cookie"]
        assert f"{COOKIE}={TOKEN}" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        async with session.get(f"{base}/") as resp:  # the cookie jar sends it
            assert resp.status == 200
            assert "text/html" in resp.headers["Content-Type"]
        before = sim.clock.now
        async with session.post(f"{base}/_sim/clock", json={"advance": 7}) as resp:
            assert resp.status == 200
        assert sim.clock.now == before + 7
    async with aiohttp.ClientSession() as session, \
            session.get(f"{base}/?token=wrong", allow_redirects=False) as resp:
        assert resp.status == 401  # a wrong token sets nothing
        assert "Set-Cookie" not in resp.headers


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::"])
def test_a_non_loopback_bind_without_a_token_refuses_to_start(host: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", host, "--port", "0"],
                                env={"SEGWAY_SIM_CONTROL_TOKEN": None})
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "--control-token" in lines[0]


def test_serve_takes_the_token_from_the_environment() -> None:
    argv = [sys.executable, "-c", "from simulator.cli.main import main; main()", "serve",
            "--port", "0", "--paused", "--vehicles", "5", "--loop", "asyncio"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SEGWAY_SIM_CONTROL_TOKEN": TOKEN}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().rsplit(" on ", 1)[1].strip()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}/_sim/health", timeout=30)
        refused.value.close()
        assert refused.value.code == 401
        request = urllib.request.Request(f"{url}/_sim/health",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


async def test_clients_send_the_token_from_the_environment(
        guarded: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://{guarded.host}:{guarded.port}"
    assert not await asyncio.to_thread(probe_mock, url)  # 401: not taken for a simulator
    monkeypatch.setenv(CONTROL_TOKEN_ENV, TOKEN)
    assert await asyncio.to_thread(probe_mock, url)
    driver = HttpDriver(url)  # `scenario --base-url`: reads the clock, pauses and restores it
    await driver.open()
    await driver.close()


async def test_the_dashboard_works_in_a_browser_behind_the_token(sim: Simulator) -> None:
    """The page's own requests (its files, the live channel, a control-plane change through its
    JSON helper) all pass on the cookie a browser gets from /?token=TOKEN."""
    from playwright.async_api import async_playwright

    from tests.helpers.browser import executable

    async with serving(sim, Guard(TOKEN)) as running, async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=executable(pw.chromium.executable_path), headless=True,
            args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await chromium.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"http://{running.host}:{running.port}/?token={TOKEN}")
            assert page.url.endswith(f":{running.port}/")  # the token left the address bar
            await page.wait_for_function(
                f"document.body.dataset.drawn === '{len(sim.fleet)}' && "
                "document.body.dataset.conn === 'live'", timeout=15_000)
            before = sim.clock.now
            answer = await page.evaluate(
                "() => Dash.http('POST', '/_sim/clock', {advance: 5}).then(r => r.status)")
            assert answer == 200
            assert sim.clock.now == before + 5
            assert await page.evaluate("() => document.cookie") == ""  # HttpOnly
            assert not errors
        finally:
            await chromium.close()


async def test_a_refusal_names_what_was_sent_but_never_echoes_kilobytes(server: Running) -> None:
    answer = await ask(server, "GET", "/_sim/health", "Host: " + "a" * 4000 + ".example")
    assert answer.status == 403
    assert "'" + "a" * 80 + "...'" in answer.json()["error"]
    assert len(answer.body) < 400
