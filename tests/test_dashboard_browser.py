"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The simulator runs in the test's event loop on a free loopback port, its clock paused; the test
moves the world through the page itself (or the control plane) and waits for the DOM to show it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, async_playwright, expect

from simulator.server.runner import Running, start
from simulator.sim import Config, Simulator
from tests.helpers.vendor import EXAMPLE_IMEI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
WAIT_MS = 15_000


@dataclass
class Browser:
    page: Page
    errors: list[str]
    requested: list[str]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900},
        )
        page = context.pages[0] if context.pages else await context.new_page()
        got = Browser(page, [], [])
        page.on("pageerror", lambda exc: got.errors.append(str(exc)))
        page.on("console", lambda m: got.errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: got.requested.append(r.url))
        try:
            yield got
        finally:
            await context.close()


def world(vehicles: int = 20, seed: int = 7) -> Simulator:
    sim = Simulator(Config(seed=seed, vehicles=vehicles, paused=True, riders=False,
                           extra={"live_interval": 0.05}))
    sim.make_healthy(np.arange(len(sim.fleet)))
    return sim


@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, Running]]:
    sim = world()
    running = await start(sim, pace=False)
    try:
        yield sim, running
    finally:
        await running.stop()


async def open_dashboard(browser: Browser, url: str, vehicles: int) -> Page:
    page = browser.page
    await page.goto(url + "/")
    await page.wait_for_function(
        f"document.body.dataset.drawn === '{vehicles}' && document.body.dataset.conn === 'live'",
        timeout=WAIT_MS)
    return page


async def click_vehicle(page: Page, imei: str) -> None:
    """Pan the map with the mouse until the vehicle is in the middle, then click its dot."""
    box = await page.locator("#map").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pos = await page.evaluate("(imei) => dash.map.screenOf(imei)", imei)
    assert pos is not None
    await page.mouse.move(cx, cy)
    await page.mouse.down()
    await page.mouse.move(cx + (cx - pos["x"]) / 2, cy + (cy - pos["y"]) / 2)
    await page.mouse.move(cx + cx - pos["x"], cy + cy - pos["y"])
    await page.mouse.up()
    moved = await page.evaluate("(imei) => dash.map.screenOf(imei)", imei)
    assert abs(moved["x"] - cx) < 2 and abs(moved["y"] - cy) < 2  # the drag panned the map
    await page.mouse.move(cx, cy)
    await page.mouse.wheel(0, -400)  # zoom in around the cursor: the vehicle stays under it
    await page.wait_for_function(
        f"(() => {{ const p = dash.map.screenOf('{imei}');"
        f" return p && Math.abs(p.x - {cx}) < 3 && Math.abs(p.y - {cy}) < 3"
        f" && dash.view.scale > 0.08; }})()", timeout=WAIT_MS)
    await page.mouse.click(cx, cy)


async def test_unlock_from_the_page_arrives_over_the_live_channel(
    browser: Browser, served: tuple[Simulator, Running]
) -> None:
    sim, running = served
    page = await open_dashboard(browser, running.url, len(sim.fleet))
    await click_vehicle(page, EXAMPLE_IMEI)
    await expect(page.locator("#v-imei")).to_have_text(EXAMPLE_IMEI)
    await expect(page.locator("#v-state")).to_have_text("locked")
    # The panel shows the queries' fields as the vendor API would return them.
    await expect(page.locator("#v-details")).to_contain_text("remainingRange")
    await expect(page.locator("#v-details")).to_contain_text("batteryCount")

    await page.click("button[data-vendor=unlock]")
    await expect(page.locator("#v-result")).to_have_text("unlock → 0 Success")
    # The badge follows the fleet frames, the feed the live events: both came over /_sim/live.
    await expect(page.locator("#v-state")).to_have_text("unlocked", timeout=WAIT_MS)
    feed = page.locator(f"#feed li[data-kind=vehicle][data-imei='{EXAMPLE_IMEI}']")
    await expect(feed.first).to_contain_text("status unlock", timeout=WAIT_MS)
    api = page.locator(f"#feed li[data-kind=api][data-imei='{EXAMPLE_IMEI}']")
    await expect(api.first).to_contain_text("unlock → 0")
    assert not sim.fleet.locked[sim.fleet.find(EXAMPLE_IMEI)]

    # The page got its token the way a partner app does, and nothing came from the internet.
    assert any(r["endpoint"] == "token" for r in sim.requests.records)
    assert all(u.startswith(running.url) or u.startswith("data:") for u in browser.requested)
    assert browser.errors == []


async def test_the_page_reconnects_after_a_server_restart(
    browser: Browser, served: tuple[Simulator, Running]
) -> None:
    sim, running = served
    page = await open_dashboard(browser, running.url, len(sim.fleet))
    old_stream = await page.evaluate("document.body.dataset.stream")
    port = running.port
    await running.stop()
    await page.wait_for_function("document.body.dataset.conn !== 'live'", timeout=WAIT_MS)

    bigger = world(vehicles=35, seed=8)
    again = await start(bigger, port=port, pace=False)
    try:
        await page.wait_for_function(
            f"document.body.dataset.stream !== '{old_stream}'"
            " && document.body.dataset.drawn === '35' && document.body.dataset.conn === 'live'",
            timeout=WAIT_MS)
        await expect(page.locator("#feed")).to_contain_text("new simulator stream")
        # And it is live on the new server: a change there shows up in the page.
        imei = bigger.fleet.imeis[4]
        await page.fill("#find-imei", imei)
        await page.press("#find-imei", "Enter")
        await expect(page.locator("#v-state")).to_have_text("locked")
        await page.click("button[data-event=charger-on]")
        await expect(page.locator("#v-state")).to_have_text("charging", timeout=WAIT_MS)
        assert bigger.fleet.charging[bigger.fleet.find(imei)]
    finally:
        await again.stop()
    # A server going away is noise in the console (refused reconnects), never a page error.
    assert not [e for e in browser.errors if "ERR_CONNECTION_REFUSED" not in e]


async def test_fleet_controls_drive_the_control_plane(
    browser: Browser, served: tuple[Simulator, Running]
) -> None:
    sim, running = served
    page = await open_dashboard(browser, running.url, len(sim.fleet))
    start_time = sim.clock.now
    await expect(page.locator("#clock-speed")).to_have_text("paused")
    await page.click("button[data-advance='600']")
    await expect(page.locator("#fleet-result")).to_have_text("advance +10 min: done")
    assert sim.clock.now == start_time + 600

    await page.click(".tabs button[data-tab=fleet]")
    await page.select_option("#f-code", "15302")
    await page.select_option("#f-endpoint", "unlock")
    await page.click("#fault-form button:not([type=button])")
    await expect(page.locator("#fault-list")).to_contain_text("unlock → 15302")
    assert [(r.code, r.endpoint) for r in sim.faults.rules] == [(15302, "unlock")]

    await page.select_option("#c-action", "corrupt")
    await page.select_option("#c-type", "status")
    await page.fill("#c-prob", "0.5")
    await page.click("#chaos-form button:not([type=button])")
    await expect(page.locator("#chaos-list")).to_contain_text("corrupt status")
    assert [(r.action, r.type, r.probability) for r in sim.push_chaos.rules] == [
        ("corrupt", "status", 0.5)]

    await page.fill("#callback-url", "http://127.0.0.1:9/hooks")
    await page.click("#callback button")
    await expect(page.locator("#fleet-result")).to_contain_text("callback of A20081")
    assert sim.platforms["A20081"].callback_url == "http://127.0.0.1:9/hooks"

    await page.fill("#find-imei", EXAMPLE_IMEI)
    await page.press("#find-imei", "Enter")
    await page.click("button[data-vendor=unlock]")
    await expect(page.locator("#v-result")).to_have_text("unlock → 15302 device response timeout")
    await expect(page.locator("#v-state")).to_have_text("locked")
    assert browser.errors == []
