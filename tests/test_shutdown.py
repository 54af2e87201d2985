"""SIGTERM ends `segway-sim serve` within 5 s whatever is in flight, writing the state first.

Each test leaves something in flight that used to hold the stop for long (aiohttp waited up to
60 s for a handler, then 60 s more after cancelling it): a command held by a 120 s fault-rule
delay (122 s before), a client stalled mid-body (60 s), a live-channel reader that stopped
reading (about 18 s), then all three at once. The bound is wall-clock by nature, so it is
measured in wall time; everything else moves by the control plane.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from simulator.server.state_dir import FILE
from simulator.sim import DEMO_IMEIS, DEMO_TOKEN
from tests.helpers.serve_process import QUIET, Served, serving

BOUND_S = 5.0
# A fleet whose first live frame (about 31 bytes a vehicle) is larger than what loopback's
# socket buffers take (4 MiB on the sending side here): the server's write to a reader that
# stopped reading backs up, as a real stalled browser's does. 100,000 vehicles did not.
BIG_FLEET = "200000"
HOST = "Host: 127.0.0.1\r\n"


async def raw(server: Served, head: str, body: bytes = b"", rcvbuf: int | None = None
              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw connection that sends `head` (and `body`) and then says nothing more."""
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.socket()
    if rcvbuf:  # a small window: the server's writes to a reader that stops back up soon
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(head.encode() + body)
    await writer.drain()
    return reader, writer


async def commands_in_flight(server: Served) -> int:
    async with server.session.get(server.url + "/metrics") as resp:
        text = await resp.text()
    return int(float(next(line.split()[-1] for line in text.splitlines()
                          if line.startswith("segway_sim_commands_in_flight"))))


async def held_command(server: Served) -> asyncio.StreamWriter:
    """An unlock held by a 120 s fault-rule delay, and seen held (a command in flight)."""
    await server.control("POST", "/_sim/faults", {"delayMs": 120_000, "iotCode": DEMO_IMEIS[0]})
    body = json.dumps({"iotCode": DEMO_IMEIS[0]}).encode()
    _, writer = await raw(server, f"POST /api/v2/vehicle/control/unlock HTTP/1.1\r\n{HOST}"
                                  f"Authorization: bearer {DEMO_TOKEN}\r\n"
                                  f"Content-Type: application/json\r\n"
                                  f"Content-Length: {len(body)}\r\n\r\n", body)
    # The server reads that connection when its loop gets to it: ask until it has (each ask is
    # a round trip through the same loop, so a few suffice).
    for _ in range(100):
        if await commands_in_flight(server) == 1:
            break
    else:
        raise AssertionError("the held command never showed as in flight")
    return writer


async def stalled_body(server: Served) -> asyncio.StreamWriter:
    """A control-plane request that promised 100 bytes of body and sent 9."""
    _, writer = await raw(server, f"POST /_sim/clock HTTP/1.1\r\n{HOST}"
                                  "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
                          b'{"advance')
    await server.control("GET", "/_sim/health")  # answered after the stalled one was taken up
    return writer


async def stalled_reader(server: Served) -> asyncio.StreamWriter:
    """A live-channel reader that takes the answer's head and then never reads again, while the
    channel has a whole fleet's frame (BIG_FLEET) to write to it."""
    reader, writer = await raw(server, f"GET /_sim/live HTTP/1.1\r\n{HOST}\r\n", rcvbuf=4096)
    assert (await reader.readline()).startswith(b"HTTP/1.1 200"), "the live channel refused"
    await server.control("POST", "/_sim/clock", {"advance": 1})  # the channel is at work
    return writer


@asynccontextmanager
async def served(tmp_path: Path | None, *extra: str) -> AsyncIterator[Served]:
    # A long read timeout, so that the stop does not owe its bound to it.
    state = ["--state-dir", str(tmp_path), "--save-every", "0"] if tmp_path else []
    async with serving(*QUIET, *state, "--read-timeout", "120", *extra) as server:
        yield server


async def stops_in_time(server: Served, tmp_path: Path | None) -> None:
    took, code, out, err = await server.stop(signal.SIGTERM)
    assert took < BOUND_S, f"SIGTERM took {took:.1f} s (bound {BOUND_S} s): {err}"
    assert code == 0, f"exit code {code}: {err}"
    assert "Traceback" not in err, err
    if tmp_path is not None:
        assert "saved" in out and (tmp_path / FILE).exists(), f"no state written: {out} {err}"


async def test_sigterm_with_a_delayed_fault_rule_in_flight(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        writer = await held_command(server)
        await stops_in_time(server, tmp_path)
        writer.close()


async def test_sigterm_with_a_client_stalled_mid_body(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        writer = await stalled_body(server)
        await stops_in_time(server, tmp_path)
        writer.close()


async def test_sigterm_with_a_stalled_live_reader() -> None:
    # No state directory here: writing a 200,000-vehicle world takes seconds of its own (about
    # 1.2 s per 100,000 vehicles on an idle machine), a cost of the world's size, not of what is
    # in flight; the tests above and below write theirs.
    async with served(None, "--vehicles", BIG_FLEET) as server:
        writer = await stalled_reader(server)
        await stops_in_time(server, None)
        writer.close()


async def test_sigterm_with_everything_in_flight_at_once(tmp_path: Path) -> None:
    async with served(tmp_path) as server:
        writers = [await held_command(server), await stalled_body(server),
                   await stalled_reader(server)]
        await stops_in_time(server, tmp_path)
        for writer in writers:
            writer.close()
