"""A loopback push receiver for the reliability suite (run as a subprocess by conftest.py).

It answers every POST as a partner's receiver would: 200, or 500 for a seeded share
(--fail-rate), or hangs --hang-seconds first for another share (--hang-rate), or 500 for all
(mode fail_all). Control: POST /_r/mode {"fail_rate":..,"hang_rate":..,"fail_all":..};
GET /_r/received -> {"total", "accepted", "items": [{"path", "body", "status"}]} (the newest
20,000). Prints "receiver on http://127.0.0.1:PORT" once listening.
"""

import argparse
import asyncio
import collections
import random

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--hang-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=6.0)
    parser.add_argument("--fail-all", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    mode = {"fail_rate": args.fail_rate, "hang_rate": args.hang_rate,
            "hang_seconds": args.hang_seconds, "fail_all": args.fail_all}
    rng = random.Random(args.seed)
    items: collections.deque = collections.deque(maxlen=20_000)
    counts = {"total": 0, "accepted": 0}

    async def push(request: web.Request) -> web.Response:
        body = await request.read()
        counts["total"] += 1
        roll = rng.random()
        if roll < mode["hang_rate"]:
            await asyncio.sleep(mode["hang_seconds"])
        status = 500 if (mode["fail_all"] or roll < mode["hang_rate"] + mode["fail_rate"]) else 200
        if status == 200:
            counts["accepted"] += 1
        items.append({"path": request.path, "body": body.decode("utf-8", "replace"),
                      "status": status})
        return web.json_response({"message": "success" if status == 200 else "fail",
                                  "code": 0 if status == 200 else 1}, status=status)

    async def set_mode(request: web.Request) -> web.Response:
        mode.update(await request.json())
        return web.json_response(mode)

    async def received(request: web.Request) -> web.Response:
        return web.json_response({**counts, "items": list(items)
                                  if request.query.get("items", "1") == "1" else []})

    async def run() -> None:
        app = web.Application()
        app.router.add_post("/_r/mode", set_mode)
        app.router.add_get("/_r/received", received)
        app.router.add_route("*", "/{tail:.*}", push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        print(f"receiver on http://127.0.0.1:{port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
