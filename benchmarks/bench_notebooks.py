"""Time every notebook run top to bottom, against an empty notebook run the same way.

Run with ``python benchmarks/bench_notebooks.py [--rounds N] [--folder notebooks|solutions]``
(``make bench`` runs it on both folders). Each notebook is executed with nbclient in a
fresh ``python3`` kernel in its own folder, as nbval runs it in ``make test``. The
alternative measured in the same run is the floor every notebook pays: an empty
notebook whose one cell imports numpy, matplotlib and rwlib (the kernel's start and
the imports). For each notebook it prints the best-of-N seconds, the ratio to that
floor, and whether it is within the course's budget of 10 s per notebook, so that a
slow step is seen.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from timing import best_seconds

ROOT = Path(__file__).resolve().parent.parent
BUDGET_SECONDS = 10.0
FLOOR = "(empty: imports only)"
FLOOR_CELL = "import numpy\nimport matplotlib.pyplot\nimport rwlib"


def runner(notebook, folder: Path):
    """A function that executes a fresh copy of ``notebook`` in ``folder``."""

    def run() -> None:
        copy = nbformat.from_dict(notebook)
        client = NotebookClient(
            copy,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        )
        client.execute()

    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="timed runs of each (default 1)")
    parser.add_argument(
        "--folder",
        action="append",
        choices=("notebooks", "solutions"),
        help="a folder to time (repeatable; default both)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    folders = args.folder or ["notebooks", "solutions"]
    floor = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FLOOR_CELL)])
    candidates = {FLOOR: runner(floor, ROOT / folders[0])}
    for folder in folders:
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            candidates[f"{folder}/{path.name}"] = runner(notebook, path.parent)
    print("every notebook run top to bottom with nbclient, in a fresh kernel each time;")
    print(
        f"best of {args.rounds} timed round(s) after a warm-up, notebooks in turn; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}"
    )
    print()
    seconds = best_seconds(candidates, args.rounds)
    floor_seconds = seconds[FLOOR]
    width = max(map(len, seconds))
    print(f"{'notebook':<{width}} {'s':>6} {'/ empty':>8}  within {BUDGET_SECONDS:.0f} s")
    for name, value in seconds.items():
        verdict = "" if name == FLOOR else ("yes" if value <= BUDGET_SECONDS else "NO")
        print(f"{name:<{width}} {value:6.2f} {value / floor_seconds:8.1f}  {verdict}")
    slow = [name for name, value in seconds.items() if value > BUDGET_SECONDS]
    print()
    print(
        f"slowest: {max(seconds, key=seconds.get)} ({max(seconds.values()):.2f} s); "
        f"over the budget: {', '.join(slow) or 'none'}"
    )


if __name__ == "__main__":
    main()
