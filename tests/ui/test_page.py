"""The web page as served: no auth, a strict CSP, only local assets, not in the API schema."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sidecar.models import JobRequest, JobState
from sidecar.server.app import create_app
from sidecar.ui.page import STATIC_DIR, SUBMIT_FIELDS
from tests.support.app import make_backend, make_settings

STATIC_FILES = sorted(p.name for p in STATIC_DIR.iterdir())
SCRIPTS = [name for name in STATIC_FILES if name.endswith(".js")]


@pytest.fixture
def anonymous() -> Iterator[TestClient]:
    """The app on the local backend, with no credentials at all."""
    settings = make_settings()
    with TestClient(create_app(settings, make_backend("local", settings))) as client:
        yield client


def test_page_is_served_without_auth_under_a_strict_csp(anonymous: TestClient) -> None:
    response = anonymous.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_page_has_no_inline_script_style_or_remote_asset(anonymous: TestClient) -> None:
    html = anonymous.get("/").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""], "only the one external module script"
    assert " style=" not in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)


def test_submit_form_sends_fields_of_a_job_request(anonymous: TestClient) -> None:
    html = anonymous.get("/").text
    for field in SUBMIT_FIELDS:
        assert field.name in JobRequest.model_fields
        assert f'name="{field.name}"' in html
        assert f'<label for="f-{field.name}">' in html


def test_state_filter_offers_every_flux_state(anonymous: TestClient) -> None:
    html = anonymous.get("/").text
    for state in JobState:
        assert f'<option value="{state.value}">' in html


@pytest.mark.parametrize("name", STATIC_FILES)
def test_static_files_are_served_with_their_types(anonymous: TestClient, name: str) -> None:
    response = anonymous.get(f"/ui/static/{name}")
    assert response.status_code == 200
    expected = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}
    assert response.headers["content-type"].startswith(expected[name.rsplit(".", 1)[1]])
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["/ui/static/missing.js", "/ui/static/..%2Fapp.py", "/ui/static/%2E%2E", "/ui/templates"],
    ids=["missing", "escaped-parent", "dot-dot", "templates"],
)
def test_nothing_else_is_served(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 404
    assert "detail" in response.json()


def test_page_is_not_part_of_the_api_schema(anonymous: TestClient) -> None:
    paths = anonymous.get("/openapi.json").json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/ui")]


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_keep_the_token_out_of_storage_and_markup(name: str) -> None:
    lines = (STATIC_DIR / name).read_text().splitlines()
    source = "\n".join(line for line in lines if not line.lstrip().startswith("//"))
    assert "localStorage" not in source
    assert "document.cookie" not in source
    assert "EventSource" not in source  # it cannot send the Authorization header
    # Job names and output are user data: text only, never parsed as HTML.
    assert "innerHTML" not in source
    assert "insertAdjacentHTML" not in source
