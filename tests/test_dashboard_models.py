"""The dashboard and vehicle models, over loopback: the live roster names each vehicle's model,
the page offers the model filter and the scooter's buttons, and every button is a vendor operation
the models listing (GET /_sim/models) gives, at the path the page falls back to."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from importlib import resources
from typing import Any

import numpy as np
import pytest
from aiohttp.test_utils import TestClient

from simulator.core.models import PROFILES
from simulator.sim import Config, Simulator
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI, VENDOR_PATHS

STATIC = resources.files("simulator.server") / "static"
MIX = (("a200", 50.0), ("scooter", 50.0))
SCOOTER_BUTTONS = {"lock", "light", "setting/scooter"}  # the operations only a scooter has


@pytest.fixture
def config(config: Config) -> Config:
    config.models = MIX
    config.extra["live_interval"] = 0.02
    return config


async def first_roster(client: TestClient) -> dict[str, Any]:
    """The roster of the live channel's first message, read as an EventSource reads it."""
    response = await client.get("/_sim/live")
    assert response.status == 200
    buffer = b""
    try:
        while True:
            while b"\n\n" not in buffer:
                chunk = await asyncio.wait_for(response.content.readany(), 10.0)
                assert chunk, "the stream ended"
                buffer += chunk
            block, _, buffer = buffer.partition(b"\n\n")
            data = [line[5:].strip() for line in block.decode().split("\n")
                    if line.startswith("data:")]
            if data:
                roster: dict[str, Any] = json.loads(data[0])["roster"]
                return roster
    finally:
        response.close()


def model_codes(roster: dict[str, Any]) -> list[int]:
    return np.frombuffer(base64.b64decode(roster["model"]), dtype="u1").tolist()


async def models_listing(client: TestClient) -> dict[str, dict[str, Any]]:
    """GET /_sim/models as the page reads it: model name -> {operation: its entry}."""
    resp = await client.get("/_sim/models")
    assert resp.status == 200
    return {m["name"]: {op["operation"]: op for op in m["operations"]}
            for m in (await resp.json())["items"]}


def page_buttons() -> set[str]:
    return set(re.findall(r'data-vendor="([^"]+)"', (STATIC / "index.html").read_text()))


async def test_the_roster_names_each_vehicles_model(client: TestClient, sim: Simulator) -> None:
    roster = await first_roster(client)
    assert roster["models"] == [p.name for p in PROFILES] == ["a200", "scooter"]
    codes = model_codes(roster)
    assert codes == sim.fleet.model.tolist()
    assert len(codes) == len(sim.fleet) == len(roster["imeis"].split(","))
    assert codes.count(0) == codes.count(1) == len(sim.fleet) // 2  # the 50/50 mix
    # The reference's example IMEI takes the first model named.
    assert codes[roster["imeis"].split(",").index(EXAMPLE_IMEI)] == 0


async def test_a_new_scooter_joins_the_roster_with_its_model(
    client: TestClient, sim: Simulator
) -> None:
    before = await first_roster(client)
    resp = await client.post("/_sim/vehicles", json={"model": "scooter"})
    assert resp.status == 201, await resp.text()
    imei = (await resp.json())["iotCode"]
    after = await first_roster(client)
    assert after["version"] > before["version"]
    imeis = after["imeis"].split(",")
    assert model_codes(after)[imeis.index(imei)] == after["models"].index("scooter")
    assert model_codes(after)[: len(model_codes(before))] == model_codes(before)


async def test_the_page_serves_the_model_controls(client: TestClient) -> None:
    html = await (await client.get("/")).text()
    for element in ('id="model-filter"', 'id="v-model"', 'id="v-head-light"',
                    'id="v-tail-light"', 'id="v-limit-low"', 'id="v-limit-medium"',
                    'id="v-limit-high"', 'id="v-sound"'):
        assert element in html, element
    assert page_buttons() >= SCOOTER_BUTTONS | {"unlock", "sound", "mech-lock"}
    # The filter, the roster's models and the listing reach the page's scripts.
    live = await (await client.get("/dashboard/live.js")).text()
    assert "r.models" in live and "r.model" in live
    panel = await (await client.get("/dashboard/panel.js")).text()
    assert '"/_sim/models"' in panel


async def test_every_button_is_an_operation_of_a_model_at_its_path(client: TestClient) -> None:
    listing = await models_listing(client)
    panel = (STATIC / "panel.js").read_text()
    fallback = dict(re.findall(r'^\s+"([a-z/-]+)": \["(/api/[^"]+)"', panel, re.MULTILINE))
    assert set(fallback) == page_buttons()
    for op in page_buttons():
        entries = [ops[op] for ops in listing.values() if op in ops]
        assert entries, f"{op}: no model has it"
        # The page sends to the listing's path; its own (before the listing is read) agrees.
        assert {(e["method"], e["path"]) for e in entries} == {("POST", fallback[op])}
        assert VENDOR_PATHS[op] == fallback[op]


async def test_the_buttons_a_model_shows(client: TestClient) -> None:
    listing = await models_listing(client)
    shown = {name: page_buttons() & set(ops) for name, ops in listing.items()}
    assert shown["a200"] == {"unlock", "battery-cover", "sound", "setting/speed-mode",
                             "mech-lock", "whole-shutdown"}  # the A200's panel as before
    assert shown["scooter"] == {"unlock", "lock", "battery-cover", "sound", "light",
                                "setting/speed-mode", "setting/scooter", "whole-shutdown"}
    # The choices the page fills in from the parameters.
    scooter = listing["scooter"]
    assert scooter["sound"]["parameters"]["controlType"]["enum"] == [1, 2, 3, 10, 11, 12, 13]
    for field in ("lowSpeedLimit", "mediumSpeedLimit", "highSpeedLimit"):
        limit = scooter["setting/scooter"]["parameters"][field]
        assert (limit["minimum"], limit["maximum"], limit["required"]) == (6, 25, False)
    for field in ("headLight", "tailLight"):
        light = scooter["light"]["parameters"][field]
        assert light["required"] is False
        assert light.get("enum", list(range(light.get("minimum", 0), light.get("maximum", 0) + 1))
                         ) == [0, 1, 2]


def scooter_imei(sim: Simulator) -> str:
    row = int(np.flatnonzero(sim.fleet.model == 1)[0])
    return sim.fleet.imeis[row]


async def test_the_panel_shows_a_scooters_lights_and_limits(
    client: TestClient, sim: Simulator
) -> None:
    imei = scooter_imei(sim)
    sim.make_healthy(np.array([sim.fleet.find(imei)]))
    for path, body in (("/api/v2/vehicle/control/light", {"headLight": 2, "tailLight": 1}),
                       ("/api/v2/vehicle/setting/scooter",
                        {"lowSpeedLimit": 8, "highSpeedLimit": 20})):
        resp = await client.post(path, json={"iotCode": imei, **body}, headers=AUTH)
        assert (await resp.json())["code"] == 0, await resp.text()
    panel = await (await client.get(f"/_sim/live/vehicles/{imei}")).json()
    assert panel["settings"]["lights"] == {"headLight": 2, "tailLight": 1}
    assert panel["settings"]["speedLimits"] == {"low": 8, "medium": 0, "high": 20}
    # The panel names the model as the control plane does (the page looks up its title).
    for vehicle, name in ((imei, "scooter"), (EXAMPLE_IMEI, "a200")):
        shown = await (await client.get(f"/_sim/live/vehicles/{vehicle}")).json()
        state = await (await client.get(f"/_sim/vehicles/{vehicle}")).json()
        assert shown["model"] == state["model"] == name


async def test_a_scooters_panel_shows_what_its_queries_return(
    client: TestClient, sim: Simulator
) -> None:
    imei = scooter_imei(sim)
    panel = await (await client.get(f"/_sim/live/vehicles/{imei}")).json()
    for key, path in (("status", "/api/v2/vehicle/query/current/status"),
                      ("location", "/api/v2/vehicle/query/current/location"),
                      ("battery", "/api/v2/mopeds/query/current/battery-info")):
        query = await client.get(path, params={"iotCode": imei}, headers=AUTH)
        answer = await query.json()
        assert answer["code"] == 0
        assert panel[key] == answer["data"], key  # e.g. the scooter's gpsUTCTime
