"""Genuine pushes of every type from the mock, recorded as a partner's receiver records them
(`segway-sim listen --capture`'s format), by a receiver of the battery's own."""

from __future__ import annotations

import json
from dataclasses import replace

from aiohttp import web

from simulator.sim import DEMO_IMEIS, Config
from simulator.testing.plugin import ServerThread, http_json

PUSH_TYPES = ("status", "location", "alert", "fault", "components")


def capture(config: Config) -> list[str]:
    """Make the mock push every type once or more and return the capture file's lines."""
    lines: list[str] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        lines.append(json.dumps({"path": request.path,
                                 "headers": {"Content-Type": request.headers["Content-Type"]},
                                 "body": body.decode()}))
        return web.json_response({"message": "success", "code": 0})

    receiver = web.Application()
    receiver.router.add_post("/v2/vehicle/{type}", receive)
    runner = web.AppRunner(receiver, access_log=None, handle_signals=False)
    server = ServerThread(replace(config, paused=True)).start()
    try:
        server.submit(runner.setup()).result(10)
        site = web.TCPSite(runner, server.host, 0)
        server.submit(site.start()).result(10)
        host, port = runner.addresses[0][:2]
        imei = DEMO_IMEIS[0]
        for method, path, body in [
            ("PATCH", f"/_sim/platforms/{_platform(server.url)}",
             {"callbackUrl": f"http://{host}:{port}"}),
            ("PATCH", f"/_sim/vehicles/{imei}", {"locked": False}),  # status
            ("POST", "/_sim/clock", {"advance": 10}),  # location (unlocked: every 10 s)
            ("POST", f"/_sim/vehicles/{imei}/events", {"type": "alert", "code": 1}),
            ("POST", f"/_sim/vehicles/{imei}/events", {"type": "alert-cleared", "code": 1}),
            ("POST", f"/_sim/vehicles/{imei}/events", {"type": "fault", "code": "E3"}),
            ("POST", f"/_sim/vehicles/{imei}/events", {"type": "fault-cleared", "code": "E3"}),
            ("POST", f"/_sim/vehicles/{imei}/events", {"type": "rider-lock"}),  # + components
        ]:
            status, answer = http_json(method, server.url + path, body)
            assert status == 200, (path, status, answer)
            server.settle()
    finally:
        server.submit(runner.cleanup()).result(10)
        server.stop()
    seen = {json.loads(line)["path"].rsplit("/", 1)[1] for line in lines}
    assert seen >= set(PUSH_TYPES), f"the mock pushed only {sorted(seen)}"
    return lines


def _platform(url: str) -> str:
    status, page = http_json("GET", url + "/_sim/platforms")
    assert status == 200
    return str(page["items"][0]["clientId"])
