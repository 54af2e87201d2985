"""The control plane `/_sim/...`: the simulator's own JSON API (DESIGN.md's table)."""

from __future__ import annotations

from aiohttp import web

from .keys import SIM
from .wire import json_response


async def health(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return json_response({"status": "ok", "vehicles": len(sim.fleet), "clock": sim.clock.to_json()})


def setup(app: web.Application) -> None:
    app.router.add_get("/_sim/health", health)
