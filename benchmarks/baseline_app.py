"""The baseline of the REST benchmark: a bare aiohttp app doing the least a status endpoint can.

    taskset -c 0 .venv/bin/python benchmarks/baseline_app.py --imeis FILE [--port 0] [--workers 2]

It checks `Authorization: bearer <token>` against a dict, finds the IMEI in a dict and builds the
same-shaped vendor envelope per request (time, uuid4, JSON), for the status GET and for the
sound control POST of the mix. No simulation, no validation beyond that, no journal: what a
hand-written aiohttp handler costs. It uses the same JSON encoder (orjson) as the simulator, and
the harness runs it on the same event loop as the simulator (--uvloop), so the ratio measures
the simulator's own work. Prints its port on stdout once it listens. `--workers N` serves the
same port from N processes (SO_REUSEPORT): the two-process baseline of the multi-core figure.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import time
import uuid
from multiprocessing import Process
from typing import Any

import orjson
from aiohttp import web

TOKENS = {"f3bbd782-04c7-42e5-bed9-524cde3eb415": "A20081"}
STATUS = "/api/v2/vehicle/query/current/status"
SOUND = "/api/v2/vehicle/control/sound"
JSON = "application/json"


def envelope(code: int, msg: str, data: Any) -> web.Response:
    body = {"code": code, "msg": msg, "data": data, "t": int(time.time() * 1000),
            "opId": str(uuid.uuid4())}
    return web.Response(body=orjson.dumps(body), content_type=JSON)


def authorized(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token in TOKENS


def make_app(imeis: list[str]) -> web.Application:
    # One fixed status per vehicle, as plausible as the simulator's.
    vehicles = {imei: (n % 2 == 0, 340 + n % 75, 2 + n % 31, 20 + n % 81) for n, imei in
                enumerate(imeis)}

    async def status(request: web.Request) -> web.Response:
        if not authorized(request):
            return envelope(15101, "token verification failed", None)
        imei = request.query.get("iotCode", "")
        v = vehicles.get(imei)
        if v is None:
            return envelope(15102, "device not found", None)
        locked, lock_voltage, signal, power = v
        return envelope(0, "Success", {
            "iotCode": imei, "online": True, "locked": locked, "lockVoltage": lock_voltage,
            "networkSignal": signal, "charging": False, "powerPercent": power, "speedMode": 2,
            "speed": 0, "odometer": 123456, "remainingRange": power * 60,
            "totalRidingSecs": 29394, "statusUtcTime": int(time.time()),
        })

    async def sound(request: web.Request) -> web.Response:
        if not authorized(request):
            return envelope(15101, "token verification failed", None)
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return envelope(15004, "parameter error", None)
        if not isinstance(body, dict) or str(body.get("iotCode")) not in vehicles:
            return envelope(15102, "device not found", None)
        return envelope(0, "Success", None)

    app = web.Application()
    app.router.add_get(STATUS, status)
    app.router.add_post(SOUND, sound)
    return app


def serve(sock: socket.socket, imeis: list[str], uvloop_ok: bool) -> None:
    app = make_app(imeis)
    loop_factory = None
    if uvloop_ok:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        await asyncio.Event().wait()  # until terminated

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(run())


def listening_socket(port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    return sock


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imeis", required=True, help="file with one IMEI per line")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--uvloop", action="store_true",
                    help="serve on uvloop (the harness does so when the simulator does)")
    args = ap.parse_args()
    with open(args.imeis) as fh:
        imeis = [line.strip() for line in fh if line.strip()]
    first = listening_socket(args.port, args.workers > 1)
    port = first.getsockname()[1]
    socks = [first] + [listening_socket(port, True) for _ in range(args.workers - 1)]
    procs = [Process(target=serve, args=(s, imeis, args.uvloop), daemon=True)
             for s in socks[1:]]
    for p in procs:
        p.start()
    print(port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so the workers are stopped too
    try:
        serve(socks[0], imeis, args.uvloop)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            p.terminate()
    sys.exit(0)


if __name__ == "__main__":
    main()
