"""The job page's file pane in a real headless chromium: list, download, upload.

Downloads and uploads go through the page's own fetch() calls with the bearer
token (no cookie exists to carry it); what lands is checked on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.support.browser import (
    LAPTOP,
    NO_CHROMIUM,
    PHONE,
    WAIT_MS,
    launch_chromium,
    screenshot,
    sign_in,
)
from tests.support.jobwait import wait_for
from tests.support.serverproc import ServerProcess, run_server

pytestmark = pytest.mark.browser
if NO_CHROMIUM is not None:
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

MAX_UPLOAD = 64 * 1024


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"FLUX_SIDECAR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with run_server(tmp_path_factory.mktemp("ui-files"), env=env) as process:
        yield process


def open_page(
    browser: Browser, server: ServerProcess, phone: bool = False
) -> tuple[Page, list[str]]:
    context = browser.new_context(
        base_url=server.url, viewport=PHONE if phone else LAPTOP, accept_downloads=True
    )
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page, errors


def finished_job(server: ServerProcess, body: dict[str, object]) -> str:
    with server.client() as client:
        response = client.post("/api/v1/jobs", json=body)
        assert response.status_code == 201, response.text
        job_id: str = response.json()["id"]
        assert wait_for(client, job_id)["result"] == "COMPLETED"
    return job_id


def test_the_pane_lists_downloads_and_uploads_in_the_jobs_directory(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    assert server.files_root is not None
    root = server.files_root
    (root / "inputs").mkdir()
    (root / "inputs" / "data.csv").write_text("a,b\n1,2\n")
    job_id = finished_job(server, {"command": ["sh", "-c", "echo result > out.txt"]})
    page, errors = open_page(browser, server)
    try:
        sign_in(page, server.token)
        page.goto(f"/#/jobs/{job_id}")
        rows = page.locator("#files-body tr")
        expect(rows.locator("td.name")).to_have_text(["inputs/", "out.txt"])
        expect(page.locator("#files-crumbs")).to_have_text("files root")
        screenshot(page, "job-files-laptop")

        with page.expect_download() as caught:
            rows.get_by_role("button", name="out.txt").click()
        saved = tmp_path / "out.txt"
        caught.value.save_as(saved)
        assert (caught.value.suggested_filename, saved.read_text()) == ("out.txt", "result\n")

        rows.get_by_role("button", name="inputs/").click()
        expect(page.locator("#files-crumbs")).to_have_text("files root / inputs")
        expect(rows.locator("td.name")).to_have_text(["data.csv"])
        params: FilePayload = {"name": "params.txt", "mimeType": "text/plain", "buffer": b"n=42\n"}
        page.set_input_files("#files-input", files=[params])
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.locator("#files-status")).to_have_text("Uploaded params.txt.")
        expect(rows.locator("td.name")).to_have_text(["data.csv", "params.txt"])
        assert (root / "inputs" / "params.txt").read_bytes() == b"n=42\n"

        big: FilePayload = {
            "name": "big.bin",
            "mimeType": "application/octet-stream",
            "buffer": b"x" * (MAX_UPLOAD + 1),
        }
        page.set_input_files("#files-input", files=[big])
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.locator("#files-error")).to_contain_text(
            "Cannot upload big.bin: upload exceeds"
        )
        assert not (root / "inputs" / "big.bin").exists()

        page.locator("#files-crumbs").get_by_role("button", name="files root").click()
        expect(rows.locator("td.name")).to_have_text(["inputs/", "out.txt"])
        assert server.token not in page.url
        assert page.evaluate("document.cookie") == ""
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        page.context.close()


def test_a_job_outside_the_root_shows_the_root_on_a_phone(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    job_id = finished_job(server, {"command": ["true"], "cwd": str(tmp_path)})
    page, errors = open_page(browser, server, phone=True)
    try:
        sign_in(page, server.token)
        page.goto(f"/#/jobs/{job_id}")
        expect(page.locator("#files-note")).to_contain_text(f"The job runs in {tmp_path}")
        expect(page.locator("#files-crumbs")).to_have_text("files root")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "job-files-phone")
        assert errors == [], f"uncaught errors in the page: {errors}"
    finally:
        page.context.close()
