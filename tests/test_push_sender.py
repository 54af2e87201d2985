"""The sender process (push/sender.py): what it posts, what it reports, and that it is replaced
when it dies. The delivery rules on top of it run with both senders in test_push_delivery.py."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.push.dispatcher import Dispatcher
from simulator.push.sender import ProcessSender
from simulator.sim import Simulator

Got = list[tuple[str, bytes, str]]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, Got]]:
    got: Got = []

    async def hook(request: web.Request) -> web.Response:
        got.append((request.path_qs, await request.read(), request.content_type))
        return web.Response(status=int(request.match_info["status"]))

    app = web.Application()
    app.router.add_post("/{status}/{rest:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", got
    await runner.cleanup()


@pytest.fixture
async def sender() -> AsyncIterator[ProcessSender]:
    s = ProcessSender()
    await s.start()
    yield s
    await s.stop()


async def test_it_posts_the_form_and_reports_the_status(
        sender: ProcessSender, receiver: tuple[str, Got]) -> None:
    url, got = receiver
    status, error, ms = await sender.send(f"{url}/200/v2/vehicle/status", b"a=1&b=2", 5)
    assert (status, error) == (200, None) and ms > 0
    assert (await sender.send(f"{url}/503/x", b"a=1", 5))[:2] == (503, None)
    assert got[0] == ("/200/v2/vehicle/status", b"a=1&b=2", "application/x-www-form-urlencoded")


async def test_a_refused_connection_is_an_error_not_a_status(sender: ProcessSender) -> None:
    status, error, _ = await sender.send("http://127.0.0.1:1/hook", b"a=1", 5)
    assert status is None and error is not None and error.startswith("connection failed")


@settings(max_examples=20,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=70_000), path=st.text(st.characters(codec="ascii",
                                                                   categories=["L", "N"]),
                                                     max_size=300))
async def test_any_body_and_path_arrive_byte_for_byte(
        sender: ProcessSender, receiver: tuple[str, Got], body: bytes, path: str) -> None:
    url, got = receiver
    got.clear()
    assert (await sender.send(f"{url}/200/{path}", body, 5))[0] == 200
    assert got == [(f"/200/{path}", body, "application/x-www-form-urlencoded")]


async def test_a_sender_that_dies_fails_what_it_held_and_is_replaced(
        sender: ProcessSender, receiver: tuple[str, Got]) -> None:
    url, got = receiver
    child = sender._child
    assert child is not None
    child.kill()
    await child.wait()
    first = await sender.send(f"{url}/200/a", b"a=1", 5)
    # Sent into the dying pipe (reported as the process's end), or to the new process.
    assert first[0] == 200 or first[1] in {"delivery process exited", "delivery stopped"}
    assert (await sender.send(f"{url}/200/b", b"b=1", 5))[0] == 200
    assert sender._child is not None and sender._child.pid != child.pid


async def test_a_stuck_sender_is_given_up_on_after_the_timeout(
        receiver: tuple[str, Got]) -> None:
    url, _ = receiver
    sender = ProcessSender(stuck_s=0.2)
    await sender.start()
    child = sender._child
    assert child is not None
    child.send_signal(signal.SIGSTOP)  # alive, and answering nothing
    try:
        status, error, _ = await sender.send(f"{url}/200/a", b"a=1", 0.1)
        assert (status, error) == (None, "delivery process did not answer")
    finally:
        child.send_signal(signal.SIGCONT)
        await sender.stop()


async def test_stop_ends_the_process(receiver: tuple[str, Got]) -> None:
    sender = ProcessSender()
    await sender.start()
    child = sender._child
    assert child is not None
    await sender.stop()
    assert child.returncode == 0


async def test_many_at_once_each_get_their_own_answer(
        sender: ProcessSender, receiver: tuple[str, Got]) -> None:
    url, _ = receiver
    answers = await asyncio.gather(*(sender.send(f"{url}/{200 + i % 7}/{i}", b"x", 5)
                                     for i in range(300)))
    assert [a[0] for a in answers] == [200 + i % 7 for i in range(300)]


def test_an_unknown_delivery_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="push_delivery must be one of local, process, not 'proc'"):
        Dispatcher(Simulator().outbox, delivery="proc")
