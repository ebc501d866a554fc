"""manifests/: the chart rendered with its defaults for `kubectl apply` users.

`make manifests` (python -m tests.deploy.test_manifests) writes it; the test fails when it
drifts from the chart. The Secret is a placeholder without a token (the sidecar
refuses to start on an empty one): users create their own (README).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from tests.deploy.test_chart import REPO, is_hook, render_chart

MANIFESTS = REPO / "manifests"
RELEASE = "flux-sidecar"
KUBERNETES_VERSION = "1.35.0"
HEADER = (
    "# Generated from chart/ with its default values (release {release}) by `make manifests`;\n"
    "# edit the chart, not this file.\n"
)
SECRET_HEADER = (
    "# Placeholder: no token, so the sidecar refuses to start with it. Create the real\n"
    '# Secret instead (README, "Deploy on Kubernetes"), or replace this file with your\n'
    "# own (sealed or external) Secret of the same name and keys.\n"
)


def _placeholder(secret: dict[str, Any]) -> str:
    """The rendered Secret with its random values emptied (they change on every render)."""
    placeholder = {key: value for key, value in secret.items() if key != "data"}
    placeholder["stringData"] = dict.fromkeys(secret["data"], "")
    return SECRET_HEADER + yaml.safe_dump(placeholder, sort_keys=False)


def expected_manifests() -> dict[str, str]:
    """File name -> content of manifests/, from a fresh render of the chart."""
    files: dict[str, str] = {}
    for path, text in sorted(render_chart(release=RELEASE, namespace="default").items()):
        docs = [doc for doc in yaml.safe_load_all(text) if doc] if path.endswith(".yaml") else []
        if not docs or any(is_hook(doc) for doc in docs):
            continue
        name = Path(path).name
        header = HEADER.format(release=RELEASE)
        if [doc["kind"] for doc in docs] == ["Secret"]:
            files[name] = header + _placeholder(docs[0])
        else:
            files[name] = header + text.lstrip("\n")
    return files


def test_manifests_match_the_chart() -> None:
    expected = expected_manifests()
    actual = {p.name: p.read_text(encoding="utf-8") for p in sorted(MANIFESTS.glob("*"))}
    assert sorted(actual) == sorted(expected), "run `make manifests`"
    for name, text in expected.items():
        assert actual[name] == text, (
            f"manifests/{name} drifted from the chart: run `make manifests`"
        )


def test_manifests_are_the_plain_objects() -> None:
    kinds: list[str] = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            kinds.append(doc["kind"])
            if doc["kind"] != "MiniCluster":
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert sorted(kinds) == ["MiniCluster", "Secret", "Service"]


def test_placeholder_secret_holds_no_token() -> None:
    secret = yaml.safe_load((MANIFESTS / "secret.yaml").read_text(encoding="utf-8"))
    assert secret["metadata"]["name"] == RELEASE
    assert "data" not in secret
    assert set(secret["stringData"].values()) == {""}


def main() -> int:
    MANIFESTS.mkdir(exist_ok=True)
    expected = expected_manifests()
    for stale in MANIFESTS.glob("*"):
        if stale.name not in expected:
            stale.unlink()
    for name, text in expected.items():
        (MANIFESTS / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(sorted(expected))} in {MANIFESTS.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
