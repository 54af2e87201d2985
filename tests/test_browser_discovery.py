"""How the browser tests find a browser (tests/helpers/browser.py): an env var, PATH, Playwright's
own download; without one they skip and say how to get one, except under CI, where they fail."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.helpers import browser


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A machine with no browser: an empty PATH folder, no variable set, nothing installed where
    macOS and Windows put browsers. Returns the PATH folder."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv(browser.ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(browser, "PLACES", ())
    return folder


def program(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_browser_on_path_is_found(bare: Path) -> None:
    found = program(bare / "chromium-browser")
    assert browser.executable("/nowhere/chrome") == str(found)


def test_the_variable_wins_over_path(bare: Path, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    program(bare / "chromium")
    chosen = program(tmp_path / "my-chrome")
    monkeypatch.setenv(browser.ENV, str(chosen))
    assert browser.executable("/nowhere/chrome") == str(chosen)


def test_a_variable_naming_nothing_fails_and_says_so(bare: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    program(bare / "chromium")  # no silent fallback
    monkeypatch.setenv(browser.ENV, "/opt/no-such-chrome")
    with pytest.raises(pytest.fail.Exception, match=f"{browser.ENV}=/opt/no-such-chrome is not"):
        browser.executable("/nowhere/chrome")


def test_playwrights_own_chromium_comes_last(bare: Path, tmp_path: Path) -> None:
    downloaded = program(tmp_path / "chrome")
    assert browser.executable(str(downloaded)) == str(downloaded)


def test_without_a_browser_the_tests_skip_and_say_how_to_get_one(bare: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        browser.executable("/nowhere/chrome")
    reason = str(skipped.value)
    assert "apt-get install chromium" in reason
    assert "python -m playwright install chromium" in reason
    assert browser.ENV in reason


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_under_ci_a_missing_browser_is_a_failure(bare: Path, monkeypatch: pytest.MonkeyPatch,
                                                 value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set, so the browser tests must run"):
        browser.executable("/nowhere/chrome")


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_switched_off_still_skips(bare: Path, monkeypatch: pytest.MonkeyPatch,
                                     value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception):
        browser.executable("/nowhere/chrome")

