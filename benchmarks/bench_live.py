"""What the dashboard's live channel costs: server time and bytes per frame, and in Chromium the
time to decode a frame and to draw the map.

    .venv/bin/python benchmarks/bench_live.py                  # server side: 10,000 and 100,000
    .venv/bin/python benchmarks/bench_live.py --browser        # and Chromium with 10,000 vehicles

Each frame 20 % of the fleet moves (~10 m, as riding vehicles between two frames at 4 Hz would),
one vehicle event per 100 vehicles happens and the riding vehicles' pushes are journaled (one
per 20 riding vehicles per quarter second), so the numbers are for a busy fleet. Movement is
synthetic here (arrays nudged directly) so the figure is the live channel's alone, not physics.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from simulator.core.events import STATUS, Event
from simulator.server.live import LiveHub
from simulator.sim import Config, Simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.helpers
from tests.helpers.browser import for_script  # noqa: E402  (the browser the tests drive)

FRAMES = 60


def busy_world(n: int) -> tuple[Simulator, np.ndarray]:
    sim = Simulator(Config(vehicles=n, paused=True, riders=False))
    sim.make_healthy(np.arange(n))
    riding = np.arange(0, n, 5)
    sim.fleet.locked[riding] = False
    sim.fleet.riding[riding] = True
    return sim, riding


def step(sim: Simulator, riding: np.ndarray, rng: np.random.Generator) -> None:
    f = sim.fleet
    f.lat[riding] += rng.normal(0, 1e-4, len(riding))
    f.lon[riding] += rng.normal(0, 1e-4, len(riding))
    for row in rng.choice(len(f), max(1, len(f) // 100), replace=False):
        sim.bus.publish(Event(sim.clock.now, int(row), STATUS, {"reason": "bench"}))
    # Riding vehicles push status and location every 10 s: 2 x 20 % / 40 per quarter second.
    record = {"type": "location", "platformCode": "A20081", "attempt": 1, "httpStatus": 200,
              "error": None, "outcome": "delivered", "latencyMs": 1.2, "t": sim.clock.now_ms,
              "fields": {"latitude": "1.300000", "longitude": "103.800000"}}
    for row in riding[: max(1, len(riding) // 20)]:
        sim.pushes.add({**record, "iotCode": f.imeis[row]})


def server_side(n: int, clients: int) -> None:
    sim, riding = busy_world(n)
    hub = LiveHub(sim)
    pages = [hub.connect(None) for _ in range(clients)]
    first = hub.message_for(pages[0]) or b""
    for page in pages[1:]:
        hub.message_for(page)
    rng = np.random.default_rng(1)
    build_ms, send_ms, sizes = [], [], []
    for _ in range(FRAMES):
        step(sim, riding, rng)
        t0 = time.perf_counter()
        hub.build()
        t1 = time.perf_counter()
        messages = [hub.message_for(page) or b"" for page in pages]
        t2 = time.perf_counter()
        build_ms.append((t1 - t0) * 1000)
        send_ms.append((t2 - t1) * 1000)
        sizes.append(len(messages[0]))
    roster = len(hub.framer.roster_json)
    print(f"{n:>7} vehicles, {len(riding)} moving, {clients} pages: "
          f"build median {statistics.median(build_ms):.2f} ms (p95 "
          f"{sorted(build_ms)[int(0.95 * FRAMES)]:.2f}), messages for all pages "
          f"{statistics.median(send_ms):.2f} ms; delta message "
          f"{statistics.median(sizes) / 1024:.0f} KiB; first message {len(first) / 1024:.0f} KiB"
          f" (roster {roster / 1024:.0f} KiB)")


async def browser_side(n: int, seconds: float) -> None:
    from playwright.async_api import async_playwright

    from simulator.server.runner import start

    sim, riding = busy_world(n)
    sim.config.extra["live_interval"] = 0.25
    running = await start(sim, pace=False)
    rng = np.random.default_rng(2)

    async def move() -> None:
        while True:
            await asyncio.sleep(0.25)
            step(sim, riding, rng)

    mover = asyncio.create_task(move())
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            tempfile.mkdtemp(), executable_path=for_script(pw.chromium.executable_path),
            headless=True,
            viewport={"width": 1600, "height": 1000},
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"])
        page = context.pages[0] if context.pages else await context.new_page()
        await page.goto(running.url + "/")
        await page.wait_for_function(f"document.body.dataset.drawn === '{n}'", timeout=30_000)
        start_counts = await page.evaluate("[dash.view.draws, dash.live.messages, dash.live.bytes]")
        await asyncio.sleep(seconds)
        draws, messages, received, draw_ms, handle_ms = await page.evaluate(
            "[dash.view.draws, dash.live.messages, dash.live.bytes, dash.view.drawAvgMs,"
            " dash.live.handleMs]")
        await context.close()
    mover.cancel()
    await running.stop()
    print(f"Chromium (software raster), {n} vehicles, {len(riding)} moving: "
          f"{(draws - start_counts[0]) / seconds:.0f} draws/s, draw {draw_ms:.1f} ms avg, "
          f"{(messages - start_counts[1]) / seconds:.1f} messages/s, last message handled in "
          f"{handle_ms:.1f} ms, {(received - start_counts[2]) / seconds / 1024:.0f} KiB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--pages", type=int, default=1, help="connected pages")
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    for n in args.sizes:
        server_side(n, args.pages)
    if args.browser:
        asyncio.run(browser_side(10_000, args.seconds))


if __name__ == "__main__":
    main()
