"""The layout is the architecture: each part imports only the shared core and the parts it names.

The rules are the ones the package docstrings state (``sidecar/__init__.py``
and each part's ``__init__.py``); this reads every import of every module,
deferred imports included, so a new import across the lines fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sidecar

PACKAGE = Path(sidecar.__file__).resolve().parent

# The shared core: importable from everywhere, importing nothing but itself.
CORE = {
    "sidecar",
    "sidecar.config",
    "sidecar.errors",
    "sidecar.filemodels",
    "sidecar.hub",
    "sidecar.idle",
    "sidecar.jobid",
    "sidecar.jobspec",
    "sidecar.jobspec_model",
    "sidecar.lifecycle",
    "sidecar.models",
    "sidecar.patterns",
    "sidecar.submission",
    "sidecar.backends",
    "sidecar.backends.base",
}
# Each part, and the other parts it may import besides the core and itself.
PARTS: dict[str, set[str]] = {
    "sidecar.api": set(),
    "sidecar.compat": {"sidecar.api"},
    "sidecar.ui": set(),
    "sidecar.backends.flux": set(),
    "sidecar.backends.local": set(),
    "sidecar.client": set(),
    "sidecar.cli": {"sidecar.client", "sidecar.server"},
    "sidecar.server": {
        "sidecar.api",
        "sidecar.compat",
        "sidecar.ui",
        "sidecar.backends.flux",
        "sidecar.backends.local",
    },
}
ENTRY_POINTS = {"sidecar.__main__": {"sidecar.cli"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sidecar_imports(path: Path) -> set[str]:
    """Every ``sidecar`` module this file imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from sidecar.cli import format`` imports the module sidecar.cli.format
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "sidecar" or name.startswith("sidecar.")}


def part_of(module: str) -> str | None:
    if module in CORE:
        return "core"
    for part in sorted(PARTS, key=len, reverse=True):
        if module == part or module.startswith(part + "."):
            return part
    return module if module in ENTRY_POINTS else None


def is_module(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_every_module_belongs_to_a_part(path: Path) -> None:
    assert part_of(module_name(path)) is not None, "add it to the core or to a part"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_stay_within_the_allowed_parts(path: Path) -> None:
    module = module_name(path)
    part = part_of(module)
    assert part is not None
    allowed = {"core", part} | PARTS.get(part, set()) | ENTRY_POINTS.get(module, set())
    wrong = {
        name: str(part_of(name))
        for name in sidecar_imports(path)
        if is_module(name) and part_of(name) not in allowed
    }
    assert not wrong, f"{module} ({part}) imports outside {sorted(allowed)}: {wrong}"


def test_every_package_says_what_it_owns() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring, f"{init.relative_to(PACKAGE.parent)} has no docstring"


def test_the_public_names_stay() -> None:
    from sidecar.cli import main
    from sidecar.client import AsyncSidecarClient, SidecarClient

    assert callable(main)
    assert SidecarClient.__module__ == "sidecar.client.sync"
    assert AsyncSidecarClient.__module__ == "sidecar.client.async_"
