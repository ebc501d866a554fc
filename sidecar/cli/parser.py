"""The ``flux-sidecar`` command: ``serve`` runs the server; the other commands call one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from sidecar import __version__
from sidecar.cli import commands as run
from sidecar.cli.commands import Command
from sidecar.cli.files import add_file_commands
from sidecar.client.calls import DEFAULT_URL, TOKEN_ENV, URL_ENV
from sidecar.config import Settings
from sidecar.models import JobState


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
        "--idle-shutdown",
        metavar="DURATION",
        help="shut the MiniCluster down after this long with no job active and no API call "
        "(seconds or e.g. 30m; default: never)",
    )
    serve.add_argument(
        "--no-auth",
        action="store_true",
        help="serve without authentication (never on a reachable address)",
    )
    add_client_commands(commands)
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    run: Command,
    help_text: str,
    example: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.set_defaults(run=run)
    return parser


def add_client_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", help=f"the sidecar (default: ${URL_ENV}, else {DEFAULT_URL})")
    common.add_argument("--token", help=f"the API token (default: ${TOKEN_ENV})")
    common.add_argument("--json", action="store_true", help="print JSON (one object per line)")

    def add(name: str, run: Command, help_text: str, example: str) -> argparse.ArgumentParser:
        return _command(commands, name, run, help_text, example, common)

    sub = add(
        "submit",
        run.submit,
        "submit a job; prints its id",
        "flux-sidecar submit -n 2 --env GREETING=hi -- sh -c 'echo $GREETING'",
    )
    sub.add_argument("-n", "--tasks", type=int, help="number of tasks (default 1)")
    sub.add_argument("-N", "--nodes", type=int, help="number of nodes")
    sub.add_argument("-c", "--cores-per-task", type=int, help="cores per task (default 1)")
    sub.add_argument("-g", "--gpus-per-task", type=int, help="GPUs per task (default 0)")
    sub.add_argument("--exclusive", action="store_true", help="whole nodes (needs --nodes)")
    sub.add_argument("-t", "--time-limit", help="seconds, or a duration such as 10m")
    sub.add_argument("--name", help="job name (default: the command)")
    sub.add_argument("--cwd", help="working directory of the job")
    sub.add_argument(
        "--env", action="append", metavar="NAME=VALUE", help="job environment (repeat)"
    )
    sub.add_argument("--queue", help="queue to submit to")
    sub.add_argument("--urgency", type=int, help="0-31 (default 16; 0 holds the job)")
    sub.add_argument(
        "--dependency", action="append", metavar="URI", help="e.g. afterok:ƒ2Ex... (repeat)"
    )
    sub.add_argument(
        "--jobspec", metavar="FILE", help="submit a jobspec (JSON) from FILE, or - for stdin"
    )
    sub.add_argument(
        "--script",
        metavar="FILE",
        help="submit a batch script (starting with #!) from FILE, or - for stdin: it runs in "
        "a Flux instance of its own on the job's resources, as flux batch does",
    )
    sub.add_argument(
        "--no-batch",
        action="store_true",
        help="with --script: run the script as each task's program instead",
    )
    sub.add_argument(
        "--idempotency-key", metavar="KEY", help="makes retries of this submission safe"
    )
    sub.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments")

    jobs = add(
        "jobs",
        run.jobs,
        "list jobs, newest first",
        "flux-sidecar jobs --state RUN,SCHED --limit 10",
    )
    jobs.add_argument("--state", help="e.g. RUN or RUN,SCHED")
    jobs.add_argument("--result", help="e.g. FAILED")
    jobs.add_argument("--name", help="only jobs of this name")
    jobs.add_argument("--user", help="only jobs of this user")
    jobs.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    jobs.add_argument("--all", action="store_true", help="every job (pages through them all)")

    add("job", run.job, "show one job", "flux-sidecar job ƒ2ExFxXbbd").add_argument("id")

    out = add(
        "output", run.output, "print a job's output", "flux-sidecar output --follow ƒ2ExFxXbbd"
    )
    out.add_argument("id")
    out.add_argument("-f", "--follow", action="store_true", help="stream until the job ends")
    out.add_argument("--stream", choices=["stdout", "stderr", "both"], default="both")

    ev = add(
        "events",
        run.events,
        "watch job state changes (or one job's eventlog)",
        "flux-sidecar events --json | jq .state",
    )
    ev.add_argument("id", nargs="?", help="a job: print its eventlog instead")
    ev.add_argument("--after", metavar="EVENT_ID", help="resume after this event id")

    can = add(
        "cancel", run.cancel, "cancel jobs", "flux-sidecar cancel --reason 'wrong input' ƒ2ExFxXbbd"
    )
    can.add_argument("ids", nargs="+", metavar="id")
    can.add_argument("--reason", help="recorded in the job's exception note")

    sig = add(
        "signal",
        run.signal,
        "send a signal to a running job",
        "flux-sidecar signal ƒ2ExFxXbbd SIGUSR1",
    )
    sig.add_argument("id")
    sig.add_argument("signal", help="a name (SIGUSR1, USR1) or a number")

    wait = add(
        "wait",
        run.wait,
        "wait for a job to end (or reach --state)",
        "flux-sidecar wait --exit-code --timeout 600 ƒ2ExFxXbbd",
    )
    wait.add_argument("id")
    wait.add_argument(
        "--state", default="INACTIVE", type=str.upper, choices=[s.value for s in JobState]
    )
    wait.add_argument("--timeout", type=float, help="give up after this many seconds (exit 124)")
    wait.add_argument("--exit-code", action="store_true", help="exit with the job's return code")

    add("resources", run.resources, "show nodes, cores and GPUs by state", "flux-sidecar resources")
    add("info", run.info, "show versions, backend and uptime", "flux-sidecar info --json")

    down = add(
        "shutdown",
        run.shutdown,
        "stop the broker and the sidecar",
        "flux-sidecar shutdown --mode drain --timeout 300",
    )
    down.add_argument(
        "--mode",
        choices=["cancel", "drain", "now"],
        default="cancel",
        help="cancel active jobs (default), drain (wait for them first), or now",
    )
    down.add_argument("--timeout", type=float, help="how long drain waits (seconds)")
    down.add_argument("--status", action="store_true", help="only show shutdown progress")
    add_file_commands(add)


def run_serve(args: argparse.Namespace) -> int:
    from sidecar.server.serve import serve

    overrides: dict[str, object] = {
        key: value
        for key, value in (
            ("backend", args.backend),
            ("host", args.host),
            ("port", args.port),
            ("idle_shutdown", args.idle_shutdown),
        )
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
    return run.run(args.run, args)
