"""`segway-sim serve --workers N`: one fleet served from several cores, every vendor rule kept.

One process, the owner, holds the whole simulator: fleet, tokens, fault rules, in-flight commands,
journals, clock, pushes, the control plane and the dashboard. N worker processes accept the
public port (one listening socket, shared) and do the HTTP work: parsing, routing, writing
answers. A vendor request is forwarded over a Unix socket to the owner, which runs the same
pipeline a single process runs (ipc.py) and sends back the envelope; anything else (control
plane, dashboard and its event stream, the token endpoint, unknown paths, wrong methods) is
relayed over HTTP to the owner's app on a private loopback port. Decisions are taken in one
place, in arrival order, so nothing can disagree between workers: a token issued through one
worker is valid on the next, a command in flight on one answers 15104 on another, a fault
rule's `times` and probability draws are consumed once, the journal is one journal.

Why not workers over a shared-memory fleet: see docs/speed.md ("Beyond one core").

    python -m simulator.server.workers --fd N --owner URL --ipc PATH [--loop auto]

is one worker (started by `start_workers`); it prints "ready" once it accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from ..sim import Simulator
from . import fastpath, ipc, loops, runner
from .app import MAX_CONTROL_BODY
from .wire import JSON, MAX_BODY

# Hop-by-hop headers (RFC 9110 7.6.1) and those each side's HTTP stack writes itself.
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
        "upgrade", "proxy-authenticate", "proxy-authorization"}
_NOT_FORWARDED = _HOP
_NOT_RETURNED = _HOP | {"content-length", "date", "server"}


# -- the worker process ---------------------------------------------------------------------------


async def _read_upto(request: web.Request) -> bytes:
    """The body, as wire.read_body would see it, but never more than MAX_BODY + 1 bytes: the owner
    decides from that (and the declared length) whether it is too large."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return b""  # refused on its declared length alone, unread
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY or size == length:
            break
    return b"".join(chunks)


def _forwarder(client: ipc.OwnerClient, route: int, has_body: bool
               ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def forward(request: web.Request) -> web.StreamResponse:
        body = await _read_upto(request) if has_body else b""
        status, answer = await client.call(route, request.method, request.path,
                                           request.rel_url.raw_query_string,
                                           request.headers.get("Authorization"),
                                           request.content_length, body)
        return web.Response(body=answer, status=status, content_type=JSON)

    return forward


def _relay(session: aiohttp.ClientSession, owner: str
           ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Everything but the vendor routes: relayed to the owner's own app, streamed both ways."""

    async def relay(request: web.Request) -> web.StreamResponse:
        headers: CIMultiDict[str] = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED)
        data = request.content if request.body_exists else None
        async with session.request(request.method, owner + request.raw_path, headers=headers,
                                   data=data, allow_redirects=False,
                                   auto_decompress=False) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _NOT_RETURNED:
                    response.headers.add(key, value)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    return relay


async def _worker(fd: int, owner: str, ipc_path: str) -> None:
    client = await ipc.connect(ipc_path)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=False),
        timeout=aiohttp.ClientTimeout(total=None), skip_auto_headers=("User-Agent",))
    app = web.Application(client_max_size=MAX_CONTROL_BODY)  # the owner's own limit
    relay = _relay(session, owner.rstrip("/"))
    app.router.add_route("*", "/{tail:.*}", relay)
    fastpath.install_table(app, {
        key: _forwarder(client, n, key[0] == "POST") for n, key in enumerate(ipc.ROUTE_KEYS)})
    web_runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await web_runner.setup()
    sock = socket.socket(fileno=fd)
    await web.SockSite(web_runner, sock).start()
    print("ready", flush=True)
    try:
        await asyncio.wait([asyncio.ensure_future(runner.until_signalled()), client.closed],
                           return_when=asyncio.FIRST_COMPLETED)  # stop with the owner, too
    finally:
        await web_runner.cleanup()
        await session.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="one HTTP worker of segway-sim serve --workers")
    ap.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    ap.add_argument("--owner", required=True, help="base URL of the owner's own app")
    ap.add_argument("--ipc", required=True, help="Unix socket of the owner's pipelines")
    ap.add_argument("--loop", choices=loops.CHOICES, default="auto")
    args = ap.parse_args(argv)
    loops.run(_worker(args.fd, args.owner, args.ipc), args.loop)


# -- the owner's side -----------------------------------------------------------------------------


@dataclass
class Workers:
    """The running set: the owner's app and pipeline socket, and the worker processes."""

    own: runner.Running
    server: asyncio.AbstractServer
    procs: list[asyncio.subprocess.Process]
    tmp: tempfile.TemporaryDirectory[str]
    sockets: list[socket.socket] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        """Where the workers listen (one URL when they share a socket)."""
        seen = dict.fromkeys(f"http://{s.getsockname()[0]}:{s.getsockname()[1]}"
                             for s in self.sockets)
        return list(seen)

    @property
    def url(self) -> str:
        return self.urls[0]

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.server.close()
        await self.server.wait_closed()
        await self.own.stop()
        for sock in self.sockets:
            sock.close()
        self.tmp.cleanup()


def listening_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


async def start_workers(sim: Simulator, sockets: list[socket.socket], loop: str = "auto",
                        pace: bool = True) -> Workers:
    """Serve `sim` from one worker process per entry of `sockets` (the same socket N times: N
    workers sharing one port; distinct sockets: one port each, as the tests use)."""
    own = await runner.start(sim, "127.0.0.1", 0, pace=pace)
    tmp = tempfile.TemporaryDirectory(prefix="segway-sim-")
    path = os.path.join(tmp.name, "owner.sock")
    server = await ipc.serve_owner(sim, path)
    procs: list[asyncio.subprocess.Process] = []
    workers = Workers(own, server, procs, tmp, list(dict.fromkeys(sockets)))
    try:
        for sock in sockets:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "simulator.server.workers", "--fd", str(sock.fileno()),
                "--owner", own.url, "--ipc", path, "--loop", loop,
                pass_fds=(sock.fileno(),), stdout=asyncio.subprocess.PIPE)
            procs.append(proc)
        for proc in procs:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise RuntimeError("a worker process did not start")
    except BaseException:
        with contextlib.suppress(Exception):
            await workers.stop()
        raise
    return workers


async def start_public(sim: Simulator, host: str, port: int, n: int, loop: str = "auto"
                       ) -> Workers:
    """`segway-sim serve --workers n`: n workers sharing one listening socket on host:port."""
    sock = listening_socket(host, port)
    return await start_workers(sim, [sock] * n, loop)


if __name__ == "__main__":
    main()
