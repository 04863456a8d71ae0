"""The instructor's quick check: with RWLIB_GRADING=1 an unanswered exercise fails.

Three nbval runs define the exercise format. `pytest --nbval notebooks/` and
`pytest --nbval solutions/` are part of `make test` itself. This test runs the
third: `RWLIB_GRADING=1 pytest --nbval-lax notebooks/` on the fresh student
copies must fail exactly the graded check cells, no more and no fewer.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def graded_check_cells() -> set[tuple[str, str]]:
    """(notebook, nbval item name) of every auto-graded check cell in notebooks/."""
    expected = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code_cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                expected.add((path.name, f"Cell {number}"))
    return expected


def test_grading_mode_fails_exactly_the_graded_check_cells(tmp_path):
    report = tmp_path / "report.xml"
    command = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval-lax",
        "--nbval-cell-timeout=60", f"--junitxml={report}", "notebooks",
    ]  # fmt: skip
    env = {**os.environ, "RWLIB_GRADING": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    cases = ElementTree.parse(report).getroot().iter("testcase")  # classname: notebooks.<file>
    failed = {
        (case.get("classname").removeprefix("notebooks."), case.get("name"))
        for case in cases
        if case.find("failure") is not None or case.find("error") is not None
    }
    assert failed == graded_check_cells(), done.stdout[-3000:]
    assert (done.returncode == 0) == (not failed)
