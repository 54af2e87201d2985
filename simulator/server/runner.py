"""Start and stop the simulator's HTTP server (for the CLI, the pytest plugin, benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from dataclasses import dataclass

from aiohttp import web

from simulator.server.app import create_app
from simulator.server.edge import MAX_CONNECTIONS, READ_TIMEOUT, EdgeRunner
from simulator.server.guard import Guard
from simulator.server.state_dir import STATE_DIR, StateDir
from simulator.sim import Simulator

# What a request in flight gets to finish when the server stops (a delayed fault rule, a client
# stalled mid-body, a stalled live reader), before it is cancelled: aiohttp waits this long
# twice (to finish, then after cancelling), where its 60 s default made a SIGTERM take minutes.
SHUTDOWN_GRACE_S = 0.5


class CannotListen(Exception):
    """The address cannot be bound (in use, not this machine's, no such host): one line why."""

    def __init__(self, message: str, in_use: bool) -> None:
        super().__init__(message)
        self.in_use = in_use  # another server has the port: worth suggesting another


@dataclass
class Running:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(sim: Simulator, host: str = "127.0.0.1", port: int = 0, pace: bool = True,
                sock: socket.socket | None = None, *, read_timeout: float = READ_TIMEOUT,
                max_connections: int = MAX_CONNECTIONS, state: StateDir | None = None,
                guard: Guard | None = None) -> Running:
    """Serve `sim` on host:port (0 picks a free port); returns where it listens. `state`: the
    state directory POST /_sim/snapshot/save writes. `guard`: the Host names and control token
    let in (default: loopback names, no token)."""
    app = create_app(sim, pace=pace, guarded_by=guard)
    if state is not None:
        app[STATE_DIR] = state
    return await serve_app(app, host, port, sock,
                           read_timeout=read_timeout, max_connections=max_connections)


async def serve_app(app: web.Application, host: str = "127.0.0.1", port: int = 0,
                    sock: socket.socket | None = None, *, read_timeout: float = READ_TIMEOUT,
                    max_connections: int = MAX_CONNECTIONS) -> Running:
    """Serve `app` on host:port (or `sock`); CannotListen says why the address would not bind.

    `read_timeout`: seconds a request head may take, or a body may stall (408); beyond
    `max_connections` open connections a new one is answered 503 (server/edge.py).
    """
    runner = EdgeRunner(app, access_log=None, handle_signals=False,  # JSON for malformed HTTP
                        read_timeout=read_timeout, max_connections=max_connections,
                        shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    site: web.BaseSite
    site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()  # the app's sessions close too: no "Unclosed client session"
        raise CannotListen(f"cannot listen on {host}:{port}: {_why(err)}",
                           err.errno == errno.EADDRINUSE) from None
    bound = runner.addresses[0]
    return Running(runner, str(bound[0]), int(bound[1]))


def _why(err: OSError) -> str:
    if isinstance(err, socket.gaierror):
        return "no such host or address"
    return {
        errno.EADDRINUSE: "the port is in use",
        errno.EADDRNOTAVAIL: "not an address of this machine",
        errno.EACCES: "permission denied (ports below 1024 need privileges)",
    }.get(err.errno or 0, err.strerror or str(err))


async def until_signalled() -> None:
    """Return on Ctrl-C or SIGTERM, so the caller can stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
