"""The push sender's small HTTP/1.1 client (push/http1.py) against real loopback receivers.

Each receiver here is a raw asyncio server that answers in one particular way real receivers
do (kept alive, closed after the answer, chunked, too long, not HTTP, silent, gone), so the
client's every branch meets a real socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from simulator.push import http1
from simulator.push.sender import post

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
BODY = b"iotCode=861477038719116&signature=abc"


@dataclass
class Receiver:
    """A loopback server whose answer to each request is `answer(n)` (n counts requests)."""

    answer: Callable[[int], bytes | None]
    close_after: bool = False
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                self.requests.append(head + await reader.readexactly(length))
                reply = self.answer(len(self.requests))
                if reply is None:  # say nothing, ever
                    await asyncio.sleep(3600)
                    return
                writer.write(reply)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[Receiver]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Callable[[int], bytes | None], close_after: bool = False) -> Receiver:
        receiver = Receiver(answer, close_after)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        receiver.url = f"http://127.0.0.1:{port}/hook/v2/vehicle/status?x=1"
        return receiver

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()
        await server.wait_closed()


async def test_a_kept_alive_connection_carries_every_push(serve) -> None:
    receiver = await serve(lambda n: OK)
    client = http1.Client()
    for _ in range(5):
        assert await client.post(receiver.url, BODY, 5) == 200
    client.close()
    assert receiver.connections == 1 and len(receiver.requests) == 5
    head, _, body = receiver.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /hook/v2/vehicle/status?x=1 HTTP/1.1"
    assert b"Content-Type: application/x-www-form-urlencoded" in lines
    assert f"Host: {receiver.url.split('/')[2]}".encode() in lines
    assert body == BODY


async def test_a_receiver_that_closes_after_each_answer_gets_a_connection_each(serve) -> None:
    receiver = await serve(lambda n: OK, close_after=True)
    client = http1.Client()
    statuses = [await client.post(receiver.url, BODY, 5) for _ in range(3)]
    client.close()
    assert statuses == [200, 200, 200] and receiver.connections == 3


async def test_an_idle_connection_the_receiver_dropped_is_replaced_unnoticed(serve) -> None:
    # Closed by the receiver after the answer, without a Connection: close: the client keeps
    # it, finds it gone on the next push, and sends that push on a fresh one.
    receiver = await serve(lambda n: OK, close_after=True)
    client = http1.Client()
    assert await client.post(receiver.url, BODY, 5) == 200
    await asyncio.sleep(0)  # the close reaches the client (a real socket event, not a timer)
    assert await client.post(receiver.url, BODY, 5) == 200
    client.close()
    assert len(receiver.requests) == 2


async def test_chunked_and_connection_close_answers(serve) -> None:
    answers = {1: b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"2\r\nok\r\n0\r\n\r\n",
               2: b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
               3: b"HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n"}
    receiver = await serve(lambda n: answers[(n - 1) % 3 + 1])
    client = http1.Client()
    assert [await client.post(receiver.url, BODY, 5) for _ in range(3)] == [201, 204, 500]
    client.close()


async def test_an_answer_that_runs_to_the_end_of_its_connection(serve) -> None:
    receiver = await serve(lambda n: b"HTTP/1.0 202 Accepted\r\n\r\nthanks", close_after=True)
    client = http1.Client()
    assert [await client.post(receiver.url, BODY, 5) for _ in range(2)] == [202, 202]
    client.close()
    assert receiver.connections == 2


async def test_a_long_answer_is_read_to_its_limit_and_its_connection_dropped(serve) -> None:
    big = b"x" * (http1.MAX_ANSWER + 10)
    receiver = await serve(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s"
                           % (len(big), big))
    client = http1.Client()
    assert await client.post(receiver.url, BODY, 5) == 200
    assert await client.post(receiver.url, BODY, 5) == 200
    client.close()
    assert receiver.connections == 2


async def test_what_goes_wrong_is_said_in_the_journal_words(serve) -> None:
    garbage = await serve(lambda n: b"SMTP ready\r\n\r\n")
    silent = await serve(lambda n: None)
    client = http1.Client()
    status, error, _ = await post(client, garbage.url, BODY, 5)
    assert status is None and error is not None and error.startswith("AnswerError: not an HTTP")
    status, error, _ = await post(client, silent.url, BODY, 0.2)
    assert (status, error) == (None, "no answer within 0.2 s")
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    status, error, _ = await post(client, f"http://127.0.0.1:{port}/x", BODY, 5)
    assert status is None and error is not None and error.startswith("connection failed")
    client.close()


def test_urls_that_are_not_http_are_refused() -> None:
    for url in ("ftp://example.com/x", "/relative", "http:///nohost"):
        with pytest.raises(ValueError):
            http1.Target(url)
    https = http1.Target("https://example.com/cb?a=b")
    assert (https.tls, https.port, https.host) == (True, 443, "example.com")
    assert https.head.startswith(b"POST /cb?a=b HTTP/1.1\r\nHost: example.com\r\n")
