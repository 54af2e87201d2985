"""The dashboard: the page at `/` and `/dashboard/...`, and what its vehicle panel reads.

The page is static files inside the package (simulator/server/static/: plain JavaScript and canvas,
no build step, nothing fetched from the internet). It talks to the simulator like everyone else:
the vendor API for what a partner app does, the control plane for what the world does, and the
live channel (live.py) for what happens.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from simulator.core import alerts
from simulator.server import live, rides
from simulator.server.control_state import FLAGS, full_state
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.live_frames import state_name
from simulator.server.rides import Ride
from simulator.server.wire import json_response
from simulator.sim import Simulator

CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
RECENT = 25  # recent pushes and API calls shown in the vehicle panel
def _static(name: str) -> web.Response:
    folder = resources.files("simulator.server") / "static"
    suffix = name[name.rfind("."):] if "." in name else ""
    # Only plain file names of the folder: no paths, so nothing outside it can be named.
    if "/" in name or "\\" in name or name.startswith(".") or suffix not in CONTENT_TYPES:
        raise web.HTTPNotFound(text=f"no dashboard file {name!r}")
    resource = folder / name
    if not resource.is_file():
        raise web.HTTPNotFound(text=f"no dashboard file {name!r}")
    charset = "utf-8" if suffix in (".html", ".js", ".css", ".svg") else None
    return web.Response(body=resource.read_bytes(), content_type=CONTENT_TYPES[suffix],
                        charset=charset, headers={"Cache-Control": "no-cache"})


async def index(request: web.Request) -> web.Response:
    return _static("index.html")


async def asset(request: web.Request) -> web.Response:
    return _static(request.match_info["name"])


def vehicle_view(sim: Simulator, row: int, ride: Ride | None = None) -> dict[str, Any]:
    """The control plane's full state of one vehicle, its display state, its recent traffic,
    and what the panel tells of it (model, street, rider, story)."""
    view = {k: v for k, v in full_state(sim, row).items() if k not in ("columns", "extras")}
    imei = view["iotCode"]
    pushes = getattr(sim, "pushes", None)
    view.update(
        state=state_name(sim.fleet, row),
        flags={name: view[name] for name in FLAGS},
        alertNames={str(code): alerts.ALERT_NAMES[code] for code in view["alerts"]},
        calls=sim.requests.select({"iotCode": imei}, limit=RECENT),
        pushes=pushes.select({"iotCode": imei}, limit=RECENT) if pushes is not None else None,
        city=sim.platform_of(row).city.name,
        street=rides.spot(sim, row, float(sim.fleet.lat[row]), float(sim.fleet.lon[row])).street,
        rider=rides.rider_of(sim, row),
        story=rides.story(sim, row, ride),
    )
    return view


async def vehicle_panel(request: web.Request) -> web.Response:
    """`GET /_sim/live/vehicles/{iotCode}`: the vehicle panel's data (404 JSON if unknown)."""
    sim = request.app[SIM]
    imei = request.match_info["iotCode"]
    row = sim.fleet.find(imei)
    if row is None:
        return json_response({"error": f"no vehicle {imei}", "field": "iotCode"}, 404)
    return json_response(vehicle_view(sim, row, request.app[live.HUB].rides.last.get(imei)))


def setup(app: web.Application) -> None:
    r = JsonRoutes(app)
    r.add_get("/", index)
    r.add_get("/dashboard/", index)
    r.add_get("/dashboard/{name}", asset)
    r.add_get("/_sim/live/vehicles/{iotCode}", vehicle_panel)
    live.setup(app)
