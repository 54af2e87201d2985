"""The dashboard in a real browser: Chromium (tests/helpers/browser.py finds it), headless,
driven by Playwright.

The simulator runs in the test's event loop on a free loopback port, its clock paused; the test
moves the world through the page itself (or the control plane) and waits for the DOM to show it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from simulator.server import rides
from simulator.server.runner import Running, start
from simulator.sim import Config, Simulator
from tests.helpers.browser import executable
from tests.helpers.vendor import EXAMPLE_IMEI

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
            str(tmp_path / "profile"), executable_path=executable(pw.chromium.executable_path),
            headless=True, args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 900},
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


# -- a demo that reads at a glance ------------------------------------------------------------

OUTSIDE = """() => {
  // Every shown element of the page lies inside the window, and nothing in the figures strip
  // is cut off by it (the side panel's tabs scroll: their insides may go below).
  const out = [], strip = document.querySelector('#figures').getBoundingClientRect();
  for (const el of document.querySelectorAll('body *')) {
    if (!el.getClientRects().length || el.closest('[hidden]') || el.closest('.tab')) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5
        || (el.closest('#figures') && r.bottom > strip.bottom + 0.5)) {
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${JSON.stringify(r)}`);
    }
  }
  return out;
}"""


# Vehicles whose icon does not show whole on the map: its centre off the canvas or too near its
# edge, or under anything drawn over it (the figures strip, the side panel, the legend, the
# search box, the zoom buttons).
HIDDEN_VEHICLES = """() => {
  const map = document.querySelector('#map'), r = map.getBoundingClientRect();
  const pad = dash.view.iconRadius;
  return dash.fleet.imeis.filter((imei) => {
    const p = dash.map.screenOf(imei);
    return !p || p.x - pad < r.left || p.x + pad > r.right || p.y - pad < r.top
      || p.y + pad > r.bottom || document.elementFromPoint(p.x, p.y) !== map;
  });
}"""

# How much of the map the fleet spans, along its fuller side (1 = edge to edge).
FILLED = """() => {
  const r = document.querySelector('#map').getBoundingClientRect();
  const ps = dash.fleet.imeis.map((imei) => dash.map.screenOf(imei));
  const span = (k) => Math.max(...ps.map((p) => p[k])) - Math.min(...ps.map((p) => p[k]));
  return Math.max(span('x') / r.width, span('y') / r.height);
}"""


async def resized(page: Page, width: int, height: int) -> None:
    """Wait until the map has taken the new viewport's size."""
    await page.wait_for_function(
        f"innerWidth === {width} && innerHeight === {height}"
        " && dash.view.width === document.querySelector('#map').getBoundingClientRect().width"
        " && dash.view.height === document.querySelector('#map').getBoundingClientRect().height")


async def test_nothing_is_clipped_and_the_map_draws_streets_and_icons(
    browser: Browser, served: tuple[Simulator, Running]
) -> None:
    sim, running = served
    page = await open_dashboard(browser, running.url, len(sim.fleet))
    await page.fill("#find-imei", EXAMPLE_IMEI)
    await page.press("#find-imei", "Enter")
    await expect(page.locator("#v-story")).to_contain_text("Parked at")
    assert await page.evaluate(HIDDEN_VEHICLES) == []  # finding it did not pan the fitted map
    for width, height in ((1280, 720), (1920, 1080)):
        await page.set_viewport_size({"width": width, "height": height})
        await resized(page, width, height)
        assert await page.evaluate(OUTSIDE) == [], (width, height)
        # The map fits the fleet again by itself: every vehicle shows whole in the free part of
        # the map, the fleet fills it, drawn as icons, not specks.
        assert await page.evaluate(HIDDEN_VEHICLES) == [], (width, height)
        assert await page.evaluate(FILLED) > 0.75
        assert await page.evaluate("dash.view.iconRadius") >= 5
    # Zoomed in, some are off the map; the fit button brings them all back.
    await page.click("#zoom-in")
    await page.click("#zoom-in")
    assert await page.evaluate(HIDDEN_VEHICLES) != []
    draws = await page.evaluate("dash.view.draws")
    await page.click("#zoom-fit")
    assert await page.evaluate(HIDDEN_VEHICLES) == []
    await page.wait_for_function(f"dash.view.draws > {draws}")  # the canvas shows the fit
    # Counts in the narrow figures strip are compact.
    assert await page.evaluate("[980, 2472, 25828, 100000].map(dash.fmtCount)") == [
        "980", "2.5k", "26k", "100k"]
    # The icon of a locked vehicle is its state's colour where the map says it stands, once any
    # glide of the icons (a live frame moving the fleet) has been drawn to its end.
    pixel = """(imei) => {
        const c = document.querySelector('#map'), p = dash.map.screenOf(imei);
        const r = c.getBoundingClientRect(), k = c.width / r.width;
        return Array.from(c.getContext('2d').getImageData(
          Math.round((p.x - r.left) * k), Math.round((p.y - r.top) * k), 1, 1).data).slice(0, 3);
    }"""
    with contextlib.suppress(PlaywrightTimeout):  # the assert below says what was seen instead
        await page.wait_for_function(f"(imei) => ({pixel})(imei).join() === '102,187,106'",
                                     arg=sim.fleet.imeis[5], timeout=5000)
    assert await page.evaluate(pixel, sim.fleet.imeis[5]) == [0x66, 0xBB, 0x6A]
    # The street grid is drawn, and up close the streets carry the names the panel uses.
    assert await page.evaluate("dash.view.streetLines") > 20
    assert await page.evaluate("dash.view.streetNames") == 0
    await page.evaluate("(imei) => { dash.map.centreOn(imei); dash.view.scale = 2;"
                        " dash.map.invalidate(); }", EXAMPLE_IMEI)
    await page.wait_for_function("dash.view.streetNames > 0")
    story = await page.locator("#v-story").text_content()
    assert story is not None
    names = await page.evaluate("dash.fleet.platforms[0].streets.u"
                                ".concat(dash.fleet.platforms[0].streets.v)")
    assert any(f"kerb of {name}," in story or f"at {name} /" in story for name in names)
    assert browser.errors == []


async def test_a_ride_tells_its_story_and_leaves_a_trail(
    browser: Browser, served: tuple[Simulator, Running]
) -> None:
    sim, running = served
    page = await open_dashboard(browser, running.url, len(sim.fleet))
    # No callback yet: the pushes chart says how to get one; with a callback the hint goes.
    hint = page.locator("#hint-pushes")
    await expect(hint).to_be_visible()
    await expect(hint).to_contain_text("start with --callback or run segway-sim listen")

    row = sim.fleet.find(EXAMPLE_IMEI)
    assert row is not None
    await page.fill("#find-imei", EXAMPLE_IMEI)
    await page.press("#find-imei", "Enter")
    await expect(page.locator("#v-model")).to_have_text("Segway E-bike A200")
    power = round(float(sim.fleet.power[row]))
    await expect(page.locator("#v-gauge-text")).to_contain_text(f"{power} %")
    assert await page.locator("#v-gauge").evaluate("e => e.style.width") == f"{power}%"

    sim.vendor.execute(row, "unlock", {})
    sim.world.start_ride(row, 900.0)
    rider = rides.rider_of(sim, row)
    assert rider
    await expect(page.locator("#feed li[data-kind=vehicle]").first).to_contain_text(
        "status unlock · unlocked on")
    for step in range(1, 6):  # the page sees each step of the ride: the trail grows
        sim.advance(20)
        await page.wait_for_function(
            f"(dash.fleet.trails.get({row}) || {{at: []}}).at.length >= {step}", timeout=WAIT_MS)
    await expect(page.locator("#v-story")).to_contain_text(f"{rider} is riding it on")
    await expect(page.locator("#v-state")).to_have_text("riding")

    sim.platforms["A20081"].callback_url = "http://127.0.0.1:9/hooks"
    sim.advance(1)
    await expect(hint).to_be_hidden()
    sim.world.end_ride(row)
    sim.advance(1)
    await expect(page.locator("#feed li[data-kind=vehicle]", has_text="status lock").first
                 ).to_contain_text(f"{rider} parks")
    await expect(page.locator("#v-story")).to_contain_text(f"{rider} rode it last")
    assert browser.errors == []


async def test_the_panel_and_the_map_follow_the_vehicles_model(browser: Browser) -> None:
    sim = Simulator(Config(seed=7, vehicles=20, paused=True, riders=False,
                           models=(("a200", 50.0), ("scooter", 50.0)),
                           extra={"live_interval": 0.05}))
    sim.make_healthy(np.arange(len(sim.fleet)))
    scooters = np.flatnonzero(sim.fleet.model == 1)
    scooter = sim.fleet.imeis[int(scooters[0])]
    running = await start(sim, pace=False)
    try:
        page = await open_dashboard(browser, running.url, len(sim.fleet))
        await page.select_option("#model-filter", "scooter")  # the map shows the scooters only
        await page.wait_for_function(f"document.body.dataset.drawn === '{scooters.size}'",
                                     timeout=WAIT_MS)
        await page.fill("#find-imei", scooter)
        await page.press("#find-imei", "Enter")
        await expect(page.locator("#v-model")).to_have_text("Segway-Ninebot sharing kick scooter")
        await expect(page.locator("button[data-vendor=lock]")).to_be_visible()
        await expect(page.locator("button[data-vendor=mech-lock]")).to_be_hidden()
        await expect(page.locator("#v-sound option")).to_have_count(7)  # the scooter's enum
        await page.select_option("#v-head-light", "2")
        await page.click("button[data-vendor=light]")
        await expect(page.locator("#v-result")).to_have_text("light → 0 Success")
        await expect(page.locator("#v-lights")).to_contain_text("headLight2", timeout=WAIT_MS)
        await page.click("button[data-vendor=unlock]")
        await expect(page.locator("#v-state")).to_have_text("unlocked", timeout=WAIT_MS)
        await page.click("button[data-vendor=lock]")
        await expect(page.locator("#v-result")).to_have_text("lock → 0 Success")
        await expect(page.locator("#v-state")).to_have_text("locked", timeout=WAIT_MS)

        # An A200 (found while the filter shows scooters: the filter gives way) has no Lock.
        await page.fill("#find-imei", EXAMPLE_IMEI)
        await page.press("#find-imei", "Enter")
        await expect(page.locator("#v-model")).to_have_text("Segway E-bike A200")
        await expect(page.locator("button[data-vendor=mech-lock]")).to_be_visible()
        await expect(page.locator("button[data-vendor=lock]")).to_be_hidden()
        await expect(page.locator("button[data-vendor=light]")).to_be_hidden()
        await expect(page.locator("#model-filter")).to_have_value("")
        await page.wait_for_function(f"document.body.dataset.drawn === '{len(sim.fleet)}'",
                                     timeout=WAIT_MS)
        assert browser.errors == []
    finally:
        await running.stop()
