"""What a slow or greedy client can hold: read timeouts and the connection cap (issue 13).

The server runs as the CLI runs it (runner.start, server/edge.py), with a read timeout of half a
second so that the tests take about that long, over raw loopback sockets: an HTTP client library
sends a request whole, never half of one. These are wall-clock network timeouts, the one kind of
time the virtual clock does not move; each test waits for the server's answer, never polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from simulator import snapshot
from simulator.cli.main import main
from simulator.server.runner import Running, start
from simulator.sim import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Simulator
from tests.helpers.raw import RawAnswer, read_answer
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI

TIMEOUT = 0.5  # the server's --read-timeout in these tests
PATIENCE = 10 * TIMEOUT  # how long a test waits for an answer that must come
# Spring Boot's error body, with the envelope's `code` and `msg` beside it (FIDELITY.md).
SPRING_ERROR = {"timestamp", "status", "error", "message", "path", "code", "msg"}
HEALTH = b"GET /_sim/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[Running]:
    running = await start(sim, pace=False, read_timeout=TIMEOUT)
    yield running
    await running.stop()


class Connection:
    """One raw loopback connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, server: Running) -> Connection:
        return cls(*await asyncio.open_connection(server.host, server.port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> RawAnswer:
        return await read_answer(self.reader, PATIENCE)

    async def closed_by_server(self) -> bool:
        """Whether the server closes the connection (rather than leaving it open)."""
        try:
            return await asyncio.wait_for(self.reader.read(), PATIENCE) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.writer.close()


@pytest.fixture
async def connect(server: Running) -> AsyncIterator[Any]:
    opened: list[Connection] = []

    async def connect() -> Connection:
        connection = await Connection.open(server)
        opened.append(connection)
        return connection

    yield connect
    for connection in opened:
        connection.close()


def post_head(path: str, length: int, *headers: str) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
            f"Content-Length: {length}\r\n\r\n").encode()


def assert_timed_out(answer: RawAnswer, path: str, what: str) -> None:
    assert answer.status == 408
    body = answer.json()
    assert set(body) == SPRING_ERROR
    assert (body["status"], body["error"], body["path"]) == (408, "Request Timeout", path)
    assert what in body["message"]


# -- the request head ----------------------------------------------------------------------------


async def test_a_head_that_never_ends_is_answered_408_and_the_connection_closes(
        connect: Any) -> None:
    connection = await connect()
    started = time.monotonic()
    await connection.send(b"GET /_sim/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line
    assert_timed_out(await connection.answer(), "", f"head not received within {TIMEOUT:g} s")
    assert await connection.closed_by_server()
    assert TIMEOUT <= time.monotonic() - started < PATIENCE


async def test_a_head_sent_a_byte_at_a_time_gets_no_more_time_than_one_sent_at_once(
        connect: Any) -> None:
    """Slowloris: every byte arrives well within the timeout, the head never within it."""
    connection = await connect()
    started = time.monotonic()

    async def dribble() -> None:
        for byte in HEALTH[:-2]:  # without the blank line: the head could still complete
            await connection.send(bytes([byte]))
            await asyncio.sleep(TIMEOUT / 10)

    dribbler = asyncio.create_task(dribble())
    try:
        answer = await connection.answer()
    finally:
        dribbler.cancel()
    assert_timed_out(answer, "", "head not received")
    assert time.monotonic() - started < 3 * TIMEOUT


async def test_a_bare_http_0_9_line_is_answered_at_once_not_when_the_head_times_out(
        connect: Any) -> None:
    """An HTTP/0.9 client sends one line and waits: no headers, no blank line will follow."""
    connection = await connect()
    started = time.monotonic()
    await connection.send(b"GET /_sim/health\r\n")
    answer = await connection.answer()
    assert time.monotonic() - started < TIMEOUT
    assert answer.status == 505
    assert answer.json()["message"] == "only HTTP/1.0 and HTTP/1.1 are served"
    assert await connection.closed_by_server()


async def test_an_idle_keep_alive_connection_outlives_the_read_timeout(connect: Any) -> None:
    """Idle (no byte of a next request yet) is not slow: left to aiohttp's keep-alive timeout."""
    connection = await connect()
    await connection.send(HEALTH)
    assert (await connection.answer()).status == 200
    await asyncio.sleep(2 * TIMEOUT)  # idle, as a pooled connection is between requests
    await connection.send(HEALTH)
    assert (await connection.answer()).status == 200


# -- the request body ----------------------------------------------------------------------------


BODIES = {
    "vendor command": ("/api/v2/vehicle/control/sound", ("Content-Type: application/json",
                                                         f"Authorization: {AUTH['Authorization']}"),
                       orjson.dumps({"iotCode": EXAMPLE_IMEI, "controlType": 3})),
    "token": ("/oauth/token", ("Content-Type: application/x-www-form-urlencoded",),
              f"grant_type=client_credentials&client_id={DEMO_CLIENT_ID}"
              f"&client_secret={DEMO_CLIENT_SECRET}".encode()),
    "control plane": ("/_sim/clock", ("Content-Type: application/json",), b'{"advance": 3600}'),
}


@pytest.mark.parametrize("route", BODIES)
async def test_a_body_that_stalls_is_answered_408_and_changes_nothing(
        connect: Any, sim: Simulator, route: str) -> None:
    path, headers, body = BODIES[route]
    before = snapshot.dump(sim)  # the vehicles, the clock and the tokens issued
    connection = await connect()
    await connection.send(post_head(path, len(body), *headers) + body[:-3])  # then silence
    answer = await connection.answer()
    assert_timed_out(answer, path, f"body stalled for more than {TIMEOUT:g} s")
    assert answer.headers["connection"] == "close"
    assert await connection.closed_by_server()
    assert snapshot.dump(sim) == before


async def test_a_body_that_keeps_coming_may_take_longer_than_the_timeout(
        connect: Any, sim: Simulator) -> None:
    """The timeout bounds a stall between two chunks, not the whole body."""
    path, headers, body = BODIES["control plane"]
    now = sim.clock.now
    connection = await connect()
    await connection.send(post_head(path, len(body), *headers))
    for k in range(len(body)):
        await connection.send(body[k:k + 1])
        await asyncio.sleep(TIMEOUT / 4)  # in all, several times the timeout
    answer = await connection.answer()
    assert answer.status == 200, answer.body
    assert sim.clock.now == now + 3600


async def test_the_timeout_is_the_one_given_to_the_server(sim: Simulator) -> None:
    running = await start(sim, pace=False, read_timeout=3 * TIMEOUT)
    try:
        connection = await Connection.open(running)
        started = time.monotonic()
        await connection.send(b"GET / HTTP/1.1\r\n")
        assert_timed_out(await connection.answer(), "", f"within {3 * TIMEOUT:g} s")
        assert time.monotonic() - started >= 3 * TIMEOUT
        connection.close()
    finally:
        await running.stop()


# -- the connection cap --------------------------------------------------------------------------


async def test_connections_beyond_the_cap_are_refused_503_with_one_warning_per_spell(
        sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    cap = 3
    running = await start(sim, pace=False, max_connections=cap)
    held: list[Connection] = []
    try:
        for _ in range(cap):  # open and in use (answered once: the server has them all)
            held.append(await Connection.open(running))
            await held[-1].send(HEALTH)
            assert (await held[-1].answer()).status == 200
        caplog.set_level(logging.INFO, "segway_sim.server")
        for _ in range(2):
            refused = await Connection.open(running)
            answer = await refused.answer()
            assert answer.status == 503
            assert answer.json()["message"] == f"more than {cap} connections open; try again later"
            assert await refused.closed_by_server()
            refused.close()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [f"refusing new connections: {cap} open, the cap is {cap} "
                            "(serve --max-connections)"]

        # One closes (the server first: it has let go of the connection when the client sees
        # the end of it), and a new connection is served again.
        await held[0].send(HEALTH.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert (await held[0].answer()).status == 200
        assert await held[0].closed_by_server()
        held[0].close()
        held[0] = await Connection.open(running)
        await held[0].send(HEALTH)
        assert (await held[0].answer()).status == 200
        assert "refused 2" in caplog.records[-1].getMessage()

        again = await Connection.open(running)  # a new spell: a new warning
        assert (await again.answer()).status == 503
        again.close()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2
    finally:
        for connection in held:
            connection.close()
        await running.stop()


# -- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [("--read-timeout", "0"),
                                               ("--read-timeout", "nan"),
                                               ("--max-connections", "0")])
def test_serve_refuses_a_limit_that_cannot_work(option: str, value: str) -> None:
    result = CliRunner().invoke(main, ["serve", option, value])
    assert result.exit_code == 2
    assert option in result.output
