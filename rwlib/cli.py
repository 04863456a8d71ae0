"""The ``rwlib`` command (also ``python -m rwlib``): the course's maintenance commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _release(args) -> int:
    from rwlib.release import ReleaseError, release

    try:
        written = release(args.source, args.out, args.notebooks, execute=not args.no_execute)
    except ReleaseError as error:
        print(f"rwlib release: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="rwlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser(
        "release",
        help="execute solutions/ and write the student copies to notebooks/",
        description="Execute each solution notebook in place and write its student copy "
        "(solutions stubbed, hidden tests removed, executed) to the student folder.",
    )
    release.add_argument("notebooks", nargs="*", help="only these notebooks (default: all)")
    release.add_argument("--source", type=Path, default=Path("solutions"), help="(solutions)")
    release.add_argument("--out", type=Path, default=Path("notebooks"), help="(notebooks)")
    release.add_argument("--no-execute", action="store_true", help="write without executing")
    release.set_defaults(run=_release)
    args = parser.parse_args(argv)
    return args.run(args)
