"""Start and stop the simulator's HTTP server (for the CLI, the pytest plugin, benchmarks)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from dataclasses import dataclass

from aiohttp import web

from simulator.server.app import create_app
from simulator.sim import Simulator


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
    runner = web.AppRunner(create_app(sim, pace=pace), access_log=None, handle_signals=False)
    await runner.setup()
    site: web.BaseSite
    site = web.SockSite(runner, sock) if sock else web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    return Running(runner, str(bound[0]), int(bound[1]))


async def until_signalled() -> None:
    """Return on Ctrl-C or SIGTERM, so the caller can stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
