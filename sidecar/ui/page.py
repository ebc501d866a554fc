"""The web page: one server-rendered shell at ``/`` and its static files, no build step.

The page holds no data, so it is served without auth; everything it shows comes
from the API with the token the user signs in with. It is left out of the
OpenAPI schema: it is not part of the API.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jinja2
from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from sidecar.models import JobState

router = APIRouter(tags=["ui"], include_in_schema=False)

UI_DIR = Path(__file__).resolve().parent
STATIC_DIR = UI_DIR / "static"
STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Scripts and styles from this origin only, nothing inline, no frames, no
# plugins, no form posts anywhere: the page talks to the API with fetch alone.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class FormField:
    """One input of the submit form; ``name`` is the JSON field of ``POST /api/v1/jobs``."""

    name: str
    label: str
    kind: str = "text"
    placeholder: str = ""
    hint: str = ""
    width: Literal["", "double", "wide"] = ""


SUBMIT_FIELDS = (
    FormField("command", "Command", "text", "hostname", "split like a shell would", "wide"),
    FormField("name", "Name", "text", "defaults to the command", width="double"),
    FormField("tasks", "Tasks", "number", "1"),
    FormField("nodes", "Nodes", "number", "as needed"),
    FormField("cores_per_task", "Cores per task", "number", "1"),
    FormField("gpus_per_task", "GPUs per task", "number", "0"),
    FormField("time_limit", "Time limit", "text", "none", "seconds, or 30s, 10m, 2h", "double"),
    FormField("cwd", "Working directory", "text", "the files root", width="double"),
    FormField("env", "Environment", "textarea", "NAME=value", "one NAME=value a line", "wide"),
    FormField(
        "script",
        "Batch script",
        "textarea",
        "#!/bin/sh",
        "instead of a command: a script starting with #!",
        "wide",
    ),
    FormField(
        "batch",
        "Run it as flux batch does",
        "checkbox",
        "",
        "in a Flux instance of its own; unchecked: as each task's program",
        "wide",
    ),
)


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(UI_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@functools.cache
def _static_files() -> frozenset[str]:
    return frozenset(p.name for p in STATIC_DIR.iterdir() if p.suffix in STATIC_TYPES)


@router.get("/", response_class=HTMLResponse)
async def web_page() -> HTMLResponse:
    """The web page: job table, job detail with live output, submit form."""
    html = (
        _templates()
        .get_template("index.html")
        .render(states=[state.value for state in JobState], fields=SUBMIT_FIELDS)
    )
    return HTMLResponse(html, headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@router.get("/ui/static/{name}")
async def static_file(name: str) -> FileResponse:
    """One file of the page: only names listed in the static folder are served."""
    if name not in _static_files():
        raise HTTPException(404, f"no such file: {name[:64]}")
    path = STATIC_DIR / name
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )
