"""GET /_sim/openapi/{vendor,control}.json: the OpenAPI descriptions shipped in the package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from simulator.server import openapi
from simulator.server.http_errors import JsonRoutes


def _serve(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=openapi.raw(name), content_type="application/json")

    return handler


def setup(app: web.Application) -> None:
    for name in openapi.NAMES:
        JsonRoutes(app).add_get(f"/_sim/openapi/{name}.json", _serve(name))
