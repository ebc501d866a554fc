"""The web page in a real headless chromium, against a real server process.

Every test fails on an uncaught script error in the page. Screenshots of each
view land in artifacts/ui/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.browser import (
    LAPTOP,
    NO_CHROMIUM,
    PHONE,
    WAIT_MS,
    launch_chromium,
    screenshot,
    sign_in,
)
from tests.support.serverproc import ServerProcess, run_server

pytestmark = pytest.mark.browser
if NO_CHROMIUM is not None:
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

# What a person would call the focused control: its id, else its text.
FOCUSED = (
    "(e => e === document.body ? 'BODY' : e.id || e.textContent.trim())(document.activeElement)"
)
TICKER = "i=0; while :; do i=$((i+1)); echo tick $i; echo warn $i >&2; sleep 0.2; done"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with run_server(tmp_path) as process:
        yield process


@contextmanager
def browse(browser: Browser, server: ServerProcess, viewport: ViewportSize) -> Iterator[Page]:
    """A fresh browser session (its own sessionStorage) on the server's page."""
    context = browser.new_context(base_url=server.url, viewport=viewport)
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, server: ServerProcess) -> Iterator[Page]:
    with browse(browser, server, LAPTOP) as laptop:
        yield laptop


def submit_by_api(server: ServerProcess, command: str, name: str) -> str:
    with server.client() as client:
        response = client.post(
            "/api/v1/jobs", json={"command": ["sh", "-c", command], "name": name}
        )
        response.raise_for_status()
        job_id: str = response.json()["id"]
        return job_id


def test_submit_a_job_and_follow_it_to_completed(page: Page, server: ServerProcess) -> None:
    page.goto("/")
    expect(page.locator("#token")).to_be_focused()
    screenshot(page, "signin-laptop")
    sign_in(page, server.token)
    page.evaluate("window.notReloaded = true")

    page.get_by_role("link", name="New job").click()
    expect(page.get_by_role("heading", name="Submit a job")).to_be_visible()
    page.get_by_label("Command").fill("sh -c 'sleep 1; echo hello from the page; echo oops >&2'")
    page.get_by_label("Name").fill("web-hello")
    page.get_by_label("Tasks").fill("1")
    page.get_by_label("Time limit").fill("5m")
    page.get_by_label("Environment").fill("GREETING=hello")
    screenshot(page, "submit-laptop")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.locator("#jobs-notice")).to_contain_text("Submitted job")
    job_row = page.locator("#jobs-body tr", has_text="web-hello")
    expect(job_row).to_have_count(1)
    expect(job_row.locator("td.result")).to_have_text("COMPLETED")
    expect(job_row.locator("td.state")).to_have_text("INACTIVE")
    assert page.evaluate("window.notReloaded") is True, "the table reloaded the page"
    screenshot(page, "jobs-laptop")

    job_row.get_by_role("link").click()
    expect(page.locator("#job-state")).to_have_text("COMPLETED")
    output = page.locator("#job-output")
    expect(output.locator(".line.out")).to_have_text(["hello from the page"])
    expect(output.locator(".line.err")).to_have_text(["oops"])
    expect(page.locator("#job-events")).to_contain_text("clean")
    expect(page.locator("#job-fields")).to_contain_text("web-hello")
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()
    screenshot(page, "job-laptop")
    assert page.evaluate("window.notReloaded") is True


def test_live_output_and_cancel_from_the_page(page: Page, server: ServerProcess) -> None:
    job_id = submit_by_api(server, TICKER, "ticker")
    sign_in(page, server.token)
    page.locator("#jobs-body").get_by_role("link", name=job_id).click()

    lines = page.locator("#job-output .line.out")
    expect(lines.first).to_have_text("tick 1")
    seen = lines.count()
    # More lines arrive while the page is open: the output streams live.
    expect(lines.nth(seen + 3)).to_have_text(re.compile(r"^tick \d+$"))
    expect(page.locator("#job-output .line.err").first).to_have_text("warn 1")
    expect(page.locator("#job-state")).to_have_text("RUN")
    screenshot(page, "job-running-laptop")

    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#job-message")).to_have_text("Cancel requested.")
    expect(page.locator("#job-state")).to_have_text("CANCELED")
    expect(page.locator("#output-status")).to_have_text("Complete")
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()
    screenshot(page, "job-canceled-laptop")
    with server.client() as client:
        assert client.get(f"/api/v1/jobs/{job_id}").json()["result"] == "CANCELED"


def test_a_wrong_token_shows_an_error_and_the_page_still_works(
    page: Page, server: ServerProcess
) -> None:
    page.goto("/")
    page.locator("#token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_have_text(re.compile("did not accept this token"))
    expect(page.locator("#view-jobs")).to_be_hidden()
    expect(page.locator("#token")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "signin-wrong-token-laptop")

    sign_in(page, server.token)
    expect(page.locator("#jobs-live")).to_have_text("Live")
    assert server.token not in page.url
    stored = page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [1, 0, ""]


def test_field_errors_from_the_api_appear_next_to_their_fields(
    page: Page, server: ServerProcess
) -> None:
    sign_in(page, server.token)
    page.goto("/#/submit")
    page.get_by_label("Command").fill("true")
    page.get_by_label("Time limit").fill("soon")
    page.get_by_label("Environment").fill("1BAD=x")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.locator("#f-time_limit-error")).to_contain_text("not a duration")
    expect(page.locator("#f-env-error")).to_contain_text("not a valid environment variable name")
    expect(page.get_by_label("Time limit")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-command-error")).to_be_hidden()
    screenshot(page, "submit-errors-laptop")

    page.get_by_label("Time limit").fill("")
    page.get_by_label("Environment").fill("")
    page.get_by_label("Tasks").fill("1")
    page.get_by_label("Nodes").fill("2")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#submit-error")).to_contain_text("nodes must not be greater than tasks")


def test_submit_a_batch_script_from_the_form(page: Page, server: ServerProcess) -> None:
    sign_in(page, server.token)
    page.goto("/#/submit")
    page.get_by_label("Command").fill("true")
    page.get_by_label("Batch script").fill("#!/bin/sh\necho from a batch script\n")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#f-script-error")).to_contain_text("a command or a script, not both")

    page.get_by_label("Command").fill("")
    page.get_by_label("Name").fill("web-batch")
    page.get_by_label("Tasks").fill("2")
    page.get_by_label("Run it as flux batch does").uncheck()
    screenshot(page, "submit-script-laptop")
    page.get_by_role("button", name="Submit", exact=True).click()
    job_row = page.locator("#jobs-body tr", has_text="web-batch")
    expect(job_row.locator("td.result")).to_have_text("COMPLETED")
    job_row.get_by_role("link").click()
    # Not batch: the script is each of the two tasks' program.
    expect(page.locator("#job-output .line.out")).to_have_text(
        ["from a batch script", "from a batch script"]
    )


def test_every_control_is_reachable_from_the_keyboard(page: Page, server: ServerProcess) -> None:
    submit_by_api(server, "true", "keyboard")
    sign_in(page, server.token)
    expect(page.locator("#jobs-body tr")).to_have_count(1)
    page.locator("body").focus()
    reached: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED))
    for control in ["flux-sidecar", "Jobs", "Submit", "sign-out", "state-filter", "New job"]:
        assert control in reached, f"{control!r} not reached by Tab: {reached}"
    assert any(text.startswith("ƒ") for text in reached), f"no job link reached: {reached}"


def test_banner_while_the_sidecar_shuts_down(page: Page, server: ServerProcess) -> None:
    job_id = submit_by_api(server, "sleep 600", "long")
    sign_in(page, server.token)
    expect(page.locator("#banner")).to_be_hidden()
    with server.client() as client:
        response = client.post("/api/v1/shutdown", json={"mode": "drain", "timeout_seconds": 300})
        assert response.status_code == 202
    banner = page.locator("#banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("shutting down")
    page.goto("/#/submit")
    page.get_by_label("Command").fill("true")
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#submit-error")).to_contain_text("Not accepted now")
    screenshot(page, "banner-shutting-down-laptop")
    with server.client() as client:
        client.post(f"/api/v1/jobs/{job_id}/cancel").raise_for_status()
    assert server.wait_exit(timeout=60) == 0, "the drained sidecar did not exit by itself"


def test_phone_layout(browser: Browser, server: ServerProcess) -> None:
    job_id = submit_by_api(server, "echo hello phone; echo careful >&2", "phone")
    submit_by_api(server, "sleep 600", "long-one")
    with browse(browser, server, PHONE) as phone:
        phone.goto("/")
        assert fits_width(phone), "the sign-in form scrolls sideways on a phone"
        screenshot(phone, "signin-phone")
        sign_in(phone, server.token)
        expect(phone.locator("#jobs-body tr")).to_have_count(2)
        expect(phone.locator("#resources")).to_contain_text("free")
        assert fits_width(phone), "the job table scrolls sideways on a phone"
        screenshot(phone, "jobs-phone")
        phone.locator("#jobs-body").get_by_role("link", name=job_id).click()
        expect(phone.locator("#job-output .line.err")).to_have_text(["careful"])
        assert fits_width(phone), "the job page scrolls sideways on a phone"
        screenshot(phone, "job-phone")
        phone.get_by_role("link", name="Submit").click()
        assert fits_width(phone), "the submit form scrolls sideways on a phone"
        screenshot(phone, "submit-phone")


def fits_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_banner_when_the_sidecar_goes_away(page: Page, server: ServerProcess) -> None:
    sign_in(page, server.token)
    expect(page.locator("#jobs-live")).to_have_text("Live")
    server.proc.terminate()
    assert server.wait_exit(timeout=60) == 0
    expect(page.locator("#banner")).to_contain_text("cannot be reached")
    expect(page.locator("#jobs-live")).to_have_text("Reconnecting…")
    screenshot(page, "banner-unreachable-laptop")


def test_banner_when_the_broker_is_unavailable(page: Page, server: ServerProcess) -> None:
    # The local backend is always ready: the flux backend's 503 for a broker
    # that is gone is answered at the browser's network layer instead.
    page.route(
        "**/readyz",
        lambda route: route.fulfill(
            status=503,
            json={"status": "not ready", "detail": "the flux backend is not reachable"},
        ),
    )
    sign_in(page, server.token)
    expect(page.locator("#banner")).to_contain_text("The Flux broker is unavailable")
    screenshot(page, "banner-broker-laptop")
