"""A partner's push endpoint on a loopback port, for runs without --callback: pushes are real
HTTP requests, answered 200 with the reference's response body, and kept as received."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

OK_BODY = {"message": "success", "code": 0}


@dataclass
class Receiver:
    host: str = "127.0.0.1"
    bodies: list[bytes] = field(default_factory=list)  # raw bodies, in arrival order
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
        self.bodies.append(await request.read())
        return web.json_response(OK_BODY)
