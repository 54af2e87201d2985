"""The dashboard's files and its vehicle panel data, over loopback."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from aiohttp.test_utils import TestClient

from simulator.sim import Simulator
from tests.helpers.vendor import AUTH, EXAMPLE_IMEI

FOLDER = resources.files("simulator.server") / "static"
FILES = sorted(p.name for p in FOLDER.iterdir() if p.is_file())


def test_the_page_is_plain_static_files() -> None:
    assert {"index.html", "style.css", "app.js"} <= set(FILES)
    assert all(name.endswith((".html", ".js", ".css")) for name in FILES)


async def test_the_page_is_served_at_the_root(client: TestClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assert '<canvas id="map">' in html
    # Every script and stylesheet the page names is served, with its type.
    names = re.findall(r'(?:src|href)="/dashboard/([^"]+)"', html)
    assert {n for n in names} == set(FILES) - {"index.html"}
    for name in names:
        asset = await client.get(f"/dashboard/{name}")
        assert asset.status == 200, name
        assert asset.content_type == ("text/css" if name.endswith(".css") else "text/javascript")
        assert asset.headers["Cache-Control"] == "no-cache"
    assert (await (await client.get("/dashboard/")).text()) == html


@pytest.mark.parametrize("name", FILES)
def test_nothing_comes_from_the_internet(name: str) -> None:
    text = (FOLDER / name).read_text()
    # No CDN, no map tiles, no fonts from elsewhere: the page works on an offline laptop.
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.IGNORECASE), name
    assert "import(" not in text and "@import" not in text


@pytest.mark.parametrize("path", [
    "/dashboard/nope.js", "/dashboard/..%2Fsim.py", "/dashboard/.hidden.js",
    "/dashboard/%2e%2e%2fserver%2fapp.py", "/dashboard/index.py",
])
async def test_unknown_files_are_json_404s(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert (await resp.json())["status"] == 404


async def test_the_panel_shows_what_the_queries_return(client: TestClient, sim: Simulator) -> None:
    resp = await client.get(f"/_sim/live/vehicles/{EXAMPLE_IMEI}")
    assert resp.status == 200
    panel = await resp.json()
    for op, key in (("status", "status"), ("location", "location")):
        query = await client.get(f"/api/v2/vehicle/query/current/{op}",
                                 params={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
        assert panel[key] == (await query.json())["data"]
    battery = await client.get("/api/v2/mopeds/query/current/battery-info",
                               params={"iotCode": EXAMPLE_IMEI}, headers=AUTH)
    assert panel["battery"] == (await battery.json())["data"]
    assert panel["state"] == "locked"
    assert panel["platformCode"] == "A20081"
    assert set(panel["settings"]) >= {"speedMode", "switch", "sound", "interval", "bluetoothKey"}
    assert panel["flags"]["locked"] is True and panel["alerts"] == [] and panel["faults"] == []
    assert "columns" not in panel  # the raw columns are the control plane's business


async def test_the_panel_lists_recent_calls_and_alerts(client: TestClient, sim: Simulator) -> None:
    await client.post("/api/v2/vehicle/control/unlock", json={"iotCode": EXAMPLE_IMEI},
                      headers=AUTH)
    await client.post(f"/_sim/vehicles/{EXAMPLE_IMEI}/events", json={"type": "alert", "code": 3})
    panel = await (await client.get(f"/_sim/live/vehicles/{EXAMPLE_IMEI}")).json()
    assert panel["state"] == "alert"
    assert panel["alerts"] == [3] and panel["alertNames"] == {"3": "illegal dismantling"}
    calls = [(c["endpoint"], c["code"]) for c in panel["calls"]]
    assert calls == [("unlock", 0)]
    assert isinstance(panel["pushes"], list)


async def test_an_unknown_vehicle_is_a_json_404(client: TestClient) -> None:
    resp = await client.get("/_sim/live/vehicles/000")
    assert resp.status == 404
    assert await resp.json() == {"error": "no vehicle 000", "field": "iotCode"}
