"""Print every job's state changes as they happen (Ctrl-C to stop).

    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
    python examples/watch_events.py            # then submit jobs from another terminal
    python examples/watch_events.py --count 5  # stop after five changes

A dropped connection is resumed where it left off (the client sends Last-Event-ID);
print the ``event_id`` of a change and pass it as ``--after`` to resume later.
"""

from __future__ import annotations

import argparse
import datetime
import sys

from sidecar.client import SidecarClient


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, help="stop after this many changes")
    parser.add_argument("--after", help="resume after this event id")
    args = parser.parse_args()
    seen = 0
    with SidecarClient() as client:
        try:
            for change in client.events(after=args.after):
                when = datetime.datetime.fromtimestamp(change.timestamp).strftime("%H:%M:%S.%f")
                result = change.result.value if change.result else ""
                print(f"{when[:-3]}  {change.id}  {change.state.value:<8} {result}", flush=True)
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
