"""HTTP-level errors of the simulator's own routes: JSON bodies, without a middleware.

The vendor surface's 404/405 are in test_vendor_bad_input.py and test_vendor_wire.py; these are
the control plane's, the dashboard's, and a handler that crashes (server/http_errors.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from simulator.server.app import create_app
from simulator.server.http_errors import JsonRoutes
from simulator.sim import Simulator


def assert_spring_error(body: dict[str, Any], status: int, path: str) -> None:
    assert set(body) == {"timestamp", "status", "error", "message", "path", "code", "msg"}
    assert body["status"] == status and body["path"] == path


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("DELETE", "/_sim/clock", {"GET", "HEAD", "POST"}),
    ("PUT", "/_sim/vehicles/861477038719116", {"GET", "HEAD", "PATCH"}),
    ("GET", "/_sim/reset", {"POST"}),
])
async def test_a_known_path_with_another_method_is_a_json_405(
        client: TestClient, method: str, path: str, allow: set[str]) -> None:
    resp = await client.request(method, path)
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == allow
    assert_spring_error(await resp.json(), 405, path)


@pytest.mark.parametrize("path", ["/nowhere", "/_sim/nowhere", "/dashboard/nope.js", "/api/v3/x"])
async def test_an_unknown_path_is_a_json_404(client: TestClient, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404 and resp.content_type == "application/json"
    assert_spring_error(await resp.json(), 404, path)


async def test_a_crashing_handler_answers_a_json_500_and_the_server_goes_on(sim: Simulator
                                                                            ) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = create_app(sim, pace=False)
    JsonRoutes(app).add_get("/_sim/boom", boom)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        resp = await client.get("/_sim/boom")
        assert resp.status == 500
        body = await resp.json()
        assert_spring_error(body, 500, "/_sim/boom")
        assert body["message"] == "internal simulator error"
        assert (await client.get("/_sim/health")).status == 200
