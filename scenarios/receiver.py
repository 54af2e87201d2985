"""A partner's push endpoint on a loopback port, for runs without --callback: pushes are real
HTTP requests, answered 200 with the reference's response body and counted (kept as received
only when asked: a run at fleet scale receives millions)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

OK_BODY = {"message": "success", "code": 0}


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    keep: bool = False  # keep the bodies
    bodies: list[bytes] = field(default_factory=list)  # raw bodies, in arrival order (keep)
    received: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/v2/vehicle/{type}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received += 1
        if self.keep:
            self.bodies.append(body)
        return web.json_response(OK_BODY)
