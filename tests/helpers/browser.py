"""Which browser the dashboard's browser tests drive, and what happens where there is none.

In order: SEGWAY_SIM_BROWSER (a path or a command name), a Chromium-family browser on PATH or in
its usual place on macOS and Windows, then the Chromium that `python -m playwright install
chromium` downloaded. Without any of them the tests skip and say how to get one, except under CI
(the CI variable set, as every CI service does), where the browser tests must run: there it is a
failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ENV = "SEGWAY_SIM_BROWSER"
# Playwright drives Chromium-family browsers over the DevTools protocol; these are their
# command names on Linux distributions and on Windows (where PATH may hold the install folder).
COMMANDS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
            "microsoft-edge", "msedge")
# Not on PATH where the installers put them.
PLACES = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
)
HOW_TO_GET_ONE = (
    "no Chromium-family browser found: install one (apt-get install chromium, brew install "
    "--cask chromium, or python -m playwright install chromium), or set "
    f"{ENV}=/path/to/chrome"
)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def installed() -> str | None:
    """The browser named by SEGWAY_SIM_BROWSER or found on this machine, or None.

    A SEGWAY_SIM_BROWSER that names nothing runnable fails the test: it is a mistake to fix,
    not a reason to fall back to another browser silently.
    """
    wanted = os.environ.get(ENV, "").strip()
    if wanted:
        path = shutil.which(wanted)
        if path is None:
            pytest.fail(f"{ENV}={wanted} is not an executable file or a command on PATH",
                        pytrace=False)
        return path
    for command in COMMANDS:
        path = shutil.which(command)
        if path is not None:
            return path
    return next((place for place in PLACES if Path(place).is_file()), None)


def executable(playwright_chromium: str) -> str:
    """The browser to launch; `playwright_chromium` is where Playwright's own download would be
    (`playwright.chromium.executable_path`). Skips, or fails under CI, when there is none."""
    found = installed()
    if found is not None:
        return found
    if playwright_chromium and Path(playwright_chromium).is_file():
        return playwright_chromium
    if under_ci():
        pytest.fail(f"CI is set, so the browser tests must run: {HOW_TO_GET_ONE}", pytrace=False)
    pytest.skip(HOW_TO_GET_ONE)


def for_script(playwright_chromium: str) -> str:
    """The same browser for the scripts that drive one (docs/screenshots.py,
    benchmarks/bench_live.py), which exit saying how to get one where there is none."""
    path = installed() or playwright_chromium
    if not path or not Path(path).is_file():
        raise SystemExit(HOW_TO_GET_ONE)
    return path
