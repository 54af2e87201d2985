"""A short soak (--soak-seconds, default 30): mixed vendor and control-plane load, the virtual
clock moved by the control plane so riding vehicles push, to a receiver that fails 10 % and
hangs 1 % of the time. No 5xx, no 15001, the server answers throughout; RSS flat within 10 %
after warm-up (the first 40 % of the run)."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
from conftest import TOKEN, call, expect

AUTH = {"Authorization": f"bearer {TOKEN}"}
RIDING = 60
WORKERS = 12


async def _load(base: str, imeis: list[str], seconds: float, server_pid: int, stats: dict):
    from conftest import rss_kb
    rng = random.Random(7)
    deadline = time.monotonic() + seconds
    samples: list[tuple[float, int]] = stats["rss"]
    started = time.monotonic()

    async def one(session, method, url, **kw):
        try:
            async with session.request(method, url, **kw) as answer:
                body = await answer.read()
                stats["requests"] += 1
                if answer.status >= 500:
                    stats["5xx"] += 1
                    stats["last_5xx"] = f"{method} {url.split('?')[0]} {answer.status}"
                elif url.startswith(base + "/api/") and b'"code":15001' in body.replace(b" ", b""):
                    stats["15001"] += 1
        except (TimeoutError, aiohttp.ClientError) as exc:
            stats["errors"] += 1
            stats["last_error"] = f"{method} {url.split('?')[0]}: {type(exc).__name__}"

    async def worker(session):
        while time.monotonic() < deadline:
            imei = rng.choice(imeis)
            roll = rng.random()
            if roll < 0.50:
                await one(session, "GET", f"{base}/api/v2/vehicle/query/current/status"
                          f"?iotCode={imei}", headers=AUTH)
            elif roll < 0.60:
                await one(session, "GET", f"{base}/api/v2/vehicle/query/current/location"
                          f"?iotCode={imei}", headers=AUTH)
            elif roll < 0.68:
                await one(session, "POST", f"{base}/api/v2/vehicle/control/sound",
                          json={"iotCode": imei, "controlType": 2}, headers=AUTH)
            elif roll < 0.72:
                await one(session, "POST", f"{base}/api/v2/vehicle/setting/speed-mode",
                          json={"iotCode": imei, "speedMode": rng.randint(1, 3)}, headers=AUTH)
            elif roll < 0.82:
                await one(session, "GET", f"{base}/_sim/vehicles/{imei}")
            elif roll < 0.88:
                await one(session, "GET", f"{base}/_sim/pushes?limit=5")
            elif roll < 0.93:
                await one(session, "GET", f"{base}/_sim/requests?limit=5")
            elif roll < 0.97:
                await one(session, "POST", f"{base}/oauth/token",
                          data={"client_id": "A20081", "grant_type": "client_credentials",
                                "client_secret": "e2651be5-12d3-48f3-ba6c-bc2b04a447b6"})
            else:
                await one(session, "GET", f"{base}/metrics")

    async def clock(session):
        while time.monotonic() < deadline:
            await one(session, "POST", f"{base}/_sim/clock", json={"advance": 5})
            await asyncio.sleep(0.5)

    async def sampler():
        while time.monotonic() < deadline:
            samples.append((time.monotonic() - started, rss_kb(server_pid)))
            await asyncio.sleep(0.5)
        samples.append((time.monotonic() - started, rss_kb(server_pid)))

    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=WORKERS + 4)) as s:
        await asyncio.gather(*(worker(s) for _ in range(WORKERS)), clock(s), sampler())


def test_soak_mixed_load_with_failing_receiver(serve, receiver, soak_seconds):
    rec = receiver("--fail-rate", "0.10", "--hang-rate", "0.01", "--hang-seconds", "6")
    server = serve("--paused", "--riders", "on", "--vehicles", "2000", "--callback", rec.url)
    listing = call(server.port, "GET", "/_sim/vehicles?limit=1000&online=true&activated=true"
                   "&locked=true&dormant=false&upgrading=false&transport=false").json()
    imeis = [v["iotCode"] for v in listing["items"]]
    expect(len(imeis) >= RIDING, f"only {len(imeis)} healthy vehicles to ride")
    for imei in imeis[:RIDING]:
        resp = call(server.port, "POST", "/api/v2/vehicle/control/unlock",
                    body={"iotCode": imei}, headers=AUTH)
        expect((resp.json() or {}).get("code") in (0, 15704, 15500),
               f"unlocking {imei} for the soak answered {resp!r}")
    stats = {"requests": 0, "5xx": 0, "15001": 0, "errors": 0, "rss": []}
    started = time.monotonic()
    asyncio.run(_load(server.url, imeis, soak_seconds, server.pid, stats))
    took = time.monotonic() - started
    expect(server.alive(), "the server died during the soak")
    health = call(server.port, "GET", "/_sim/health", timeout=5)
    expect(health.status == 200 and health.elapsed < 1.0,
           f"after the soak health took {health.elapsed:.2f} s: {health!r}")
    pushes = call(server.port, "GET", "/_sim/pushes?limit=1").json()
    got = rec.received(items=False)
    samples = stats["rss"]
    warm_at = soak_seconds * 0.4
    warm = [kb for t, kb in samples if t >= warm_at]
    base_kb = warm[0] if warm else 0
    peak_kb = max(warm) if warm else 0
    end_kb = warm[-1] if warm else 0
    figures = (f"{stats['requests']} requests in {took:.0f} s ({stats['requests'] / took:.0f}/s), "
               f"receiver got {got['total']} pushes ({got['accepted']} accepted), journal "
               f"counters {pushes.get('counters')}, pending {pushes.get('pending')}, RSS after "
               f"warm-up {base_kb // 1024} MB, peak {peak_kb // 1024} MB, end {end_kb // 1024} MB")
    print("soak:", figures)
    expect(stats["5xx"] == 0, f"{stats['5xx']} answers were 5xx during the soak "
           f"(last: {stats.get('last_5xx')}); {figures}")
    expect(stats["15001"] == 0, f"{stats['15001']} vendor answers were 15001; {figures}")
    expect(stats["errors"] == 0, f"{stats['errors']} requests failed at the connection "
           f"(last: {stats.get('last_error')}); {figures}")
    expect(got["total"] > 0, f"the receiver got no pushes during the soak; {figures}")
    expect(isinstance(pushes.get("pending"), int) and pushes["pending"] <= 20_000,
           f"the push queue is unbounded: pending {pushes.get('pending')}; {figures}")
    expect(base_kb > 0 and peak_kb <= base_kb * 1.10,
           f"RSS grew {100 * (peak_kb - base_kb) / max(base_kb, 1):.0f} % after warm-up "
           f"(limit 10 %); {figures}")
