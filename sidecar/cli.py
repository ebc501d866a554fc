"""The ``flux-sidecar`` command: ``serve`` runs the server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from sidecar import __version__
from sidecar.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flux-sidecar",
        description="The Flux job API over REST, beside a Flux Operator MiniCluster's broker.",
    )
    parser.add_argument("--version", action="version", version=f"flux-sidecar {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the REST server",
        description="Run the REST server. Every option also reads FLUX_SIDECAR_<NAME>.",
        epilog="example: FLUX_SIDECAR_TOKEN=s3cret flux-sidecar serve --backend local --port 5000",
    )
    serve.add_argument("--backend", choices=["flux", "local"], help="default: flux")
    serve.add_argument("--host", help="address to listen on (default: 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default: 5000)")
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without authentication (never on a reachable address)",
    )
    return parser


def run_serve(args: argparse.Namespace) -> int:
    from sidecar.server import serve

    overrides: dict[str, object] = {
        key: value
        for key, value in (("backend", args.backend), ("host", args.host), ("port", args.port))
        if value is not None
    }
    if args.no_auth:
        overrides["auth"] = False
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            print(f"flux-sidecar: invalid setting {field}: {err['msg']}", file=sys.stderr)
        return 2
    return serve(settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return run_serve(args)
    return 2
