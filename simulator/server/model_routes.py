"""GET /_sim/models: each vehicle model with its vendor operations (method, path, parameters).

The profiles are core/models; the paths are the route tables' (vendor.py, vendor_v1.py), so what
this lists is what the server serves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.core import models
from simulator.core.params import IOT_CODE, VEHICLE_CODE, Text
from simulator.core.vehicle import CONTROLS, QUERIES
from simulator.server import vendor, vendor_v1
from simulator.server.http_errors import JsonRoutes
from simulator.server.keys import SIM
from simulator.server.wire import json_response

# operation -> every (method, path) that serves it (battery-info has two paths)
PATHS: dict[str, list[tuple[str, str]]] = {}
for _method, _path, _, _op in (*vendor.ROUTES, *vendor_v1.ROUTES):
    PATHS.setdefault(_op, []).append((_method, _path))
_QUERY_FIELDS: dict[str, dict[str, Text]] = {
    "v1/get": {"vehicleCode": VEHICLE_CODE},
    "v1/version": {"vehicleCode": VEHICLE_CODE},
}


def _kind(op: str) -> str:
    return "query" if op in QUERIES else "control" if op in CONTROLS else "setting"


def _parameters(profile: models.Profile, op: str) -> dict[str, Any]:
    if op in profile.bodies:
        fields: dict[str, Any] = profile.bodies[op].to_json()["properties"]
        return fields
    out = {"iotCode": IOT_CODE.to_json()}
    out.update({name: spec.to_json() for name, spec in _QUERY_FIELDS.get(op, {}).items()})
    if op in ("location", "v1/get"):
        out["realTimeLocation"] = {"type": "boolean", "required": False}
    if op == "v1/get":
        out["realTimeStatus"] = {"type": "boolean", "required": False}
    return out


def operations(profile: models.Profile) -> list[dict[str, Any]]:
    return [{"operation": op, "method": method, "path": path, "kind": _kind(op),
             "surface": "v1" if op.startswith("v1/") else "v2",
             "parameters": _parameters(profile, op)}
            for op in profile.operations for method, path in PATHS[op]]


def models_json() -> dict[str, Any]:
    return {"default": models.DEFAULT, "items": [
        {"name": p.name, "title": p.title, "evidence": p.evidence,
         "renames": {op: dict(r) for op, r in p.renames.items()},
         "speedModesKmh": {"low": p.mode_caps_kmh[1], "medium": p.mode_caps_kmh[2],
                           "high": p.mode_caps_kmh[3]},
         "fullRangeM": {"low": p.full_range_m[1], "medium": p.full_range_m[2],
                        "high": p.full_range_m[3]},
         "operations": operations(p)}
        for p in models.PROFILES]}


async def list_models(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    counts = {p.name: int((sim.fleet.model == n).sum()) for n, p in enumerate(models.PROFILES)}
    body = models_json()
    for item in body["items"]:
        item["vehicles"] = counts[item["name"]]
    return json_response(body)


def setup(app: web.Application) -> None:
    JsonRoutes(app).add_get("/_sim/models", list_models)
