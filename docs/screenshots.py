"""Remake the dashboard's screenshots: `python docs/screenshots.py [--out DIR] [--size 1280x720]`.

For each fleet size (20 and 10,000 vehicles) it serves a seeded simulator on a free loopback
port with a local push receiver as the callback, opens the dashboard in headless Chromium
(Playwright; the browser from SEGWAY_SIM_BROWSER or PATH), rents a few vehicles, lives through a
minute and a half of virtual time in small steps (so riding vehicles leave trails), opens the
panel of a riding vehicle and writes docs/dashboard-<n>.png.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import click
import numpy as np
from aiohttp import web
from playwright.async_api import Page, async_playwright

from simulator.server.runner import Running, serve_app, start
from simulator.sim import Config, Simulator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for tests.helpers
from tests.helpers.browser import for_script  # noqa: E402  (the browser the tests drive)

SIZES = (20, 10_000)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
WAIT_MS = 60_000


async def receiver() -> Running:
    """A partner's push endpoint that takes everything (the pushes chart fills)."""
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    return await serve_app(app)


async def live_through(sim: Simulator, seconds: int, step_s: int = 3) -> None:
    """Move the clock in small steps at wall pace, so the page sees the rides as they go."""
    for _ in range(seconds // step_s):
        sim.advance(step_s)
        await asyncio.sleep(0.12)


async def shoot(vehicles: int, out: Path, width: int, height: int) -> Path:
    path = out / f"dashboard-{vehicles}.png"
    async with staged(vehicles, width, height) as (page, _):
        await page.screenshot(path=str(path))
    return path


@asynccontextmanager
async def staged(vehicles: int, width: int, height: int) -> AsyncIterator[tuple[Page, Simulator]]:
    """The dashboard as the screenshot shows it: rides going, a riding vehicle's panel open."""
    hooks = await receiver()
    sim = Simulator(Config(seed=7, vehicles=vehicles, paused=True, riders=True,
                           callback_url=hooks.url + "/hooks", extra={"live_interval": 0.1}))
    running = await start(sim, pace=False)
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=for_script(pw.chromium.executable_path), args=ARGS)
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(running.url + "/")
            await page.wait_for_function(
                "document.body.dataset.conn === 'live' && +document.body.dataset.drawn > 0",
                timeout=WAIT_MS)
            rented = np.random.default_rng(7).choice(len(sim.fleet), max(3, vehicles // 12),
                                                     replace=False)
            for half in np.array_split(rented, 2):  # two waves: trails of two ages
                sim.make_healthy(half)  # ready to ride: awake, online, charged
                for row in half:
                    sim.vendor.execute(int(row), "unlock", {})
                await live_through(sim, 45)
            await open_panel(page, sim)
            await page.wait_for_timeout(800)
            yield page, sim
            await browser.close()
    finally:
        await running.stop()
        await hooks.stop()


async def open_panel(page: Page, sim: Simulator) -> None:
    riding = np.flatnonzero(sim.fleet.riding)
    imei = sim.fleet.imeis[int(riding[0]) if riding.size else 0]
    await page.fill("#find-imei", imei)
    await page.press("#find-imei", "Enter")
    await page.wait_for_function("document.querySelector('#v-story').textContent.length > 0",
                                 timeout=WAIT_MS)


@click.command(help=__doc__)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path(__file__).parent, show_default=True, help="where the PNGs go")
@click.option("--size", default="1280x720", show_default=True, help="viewport, WIDTHxHEIGHT")
@click.option("--vehicles", type=click.IntRange(1), multiple=True,
              help="fleet size (repeatable; default 20 and 10000)")
def main(out: Path, size: str, vehicles: tuple[int, ...]) -> None:
    try:
        width, height = (int(n) for n in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter("WIDTHxHEIGHT, e.g. 1280x720", param_hint="--size") from None
    for n in vehicles or SIZES:
        click.echo(asyncio.run(shoot(n, out, width, height)))


if __name__ == "__main__":
    main()
