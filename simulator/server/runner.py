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
from simulator.server.edge import EdgeRunner
from simulator.sim import Simulator


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
                sock: socket.socket | None = None) -> Running:
    """Serve `sim` on host:port (0 picks a free port); returns where it listens."""
    return await serve_app(create_app(sim, pace=pace), host, port, sock)


async def serve_app(app: web.Application, host: str = "127.0.0.1", port: int = 0,
                    sock: socket.socket | None = None) -> Running:
    """Serve `app` on host:port (or `sock`); CannotListen says why the address would not bind."""
    runner = EdgeRunner(app, access_log=None, handle_signals=False)  # JSON for malformed HTTP
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
