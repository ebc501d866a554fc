"""Support for the web page's browser tests: Debian's chromium driven by Playwright.

Playwright never downloads a browser here: it drives the system's chromium
(`make browser` installs it as root), and the tests skip with one line where
there is none.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = Path(os.environ.get("FLUX_SIDECAR_CHROMIUM", "/usr/bin/chromium"))
# Root in a container with no network and no display: no sandbox, no GPU, and
# nothing that phones home (QUIC, updates, sync) or waits on a first-run dialog.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Waits are generous on purpose: a loaded CI machine is slow, never wrong.
WAIT_MS = 30_000


NO_CHROMIUM = (
    None
    if os.access(CHROMIUM, os.X_OK)
    else f"no chromium at {CHROMIUM}: `make browser` installs Debian's (as root)"
)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """A headless chromium for the block; skips the test where there is none."""
    if NO_CHROMIUM is not None:
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as artifacts/ui/NAME.png for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def sign_in(page: Page, token: str) -> None:
    """Sign in from the keyboard alone: type the token, press Enter."""
    page.goto("/")
    page.locator("#token").fill(token)
    page.locator("#token").press("Enter")
    page.locator("#view-jobs").wait_for(state="visible", timeout=WAIT_MS)
