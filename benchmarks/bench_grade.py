"""Time ``rwlib grade`` against ``nbgrader autograde`` on the same generated submissions.

Run with ``python benchmarks/bench_grade.py [--students N]`` (``make bench-grade``).
In a temporary folder it

1. executes ``solutions/NOTEBOOK.ipynb`` (the source, with its reference outputs);
2. writes STUDENTS submissions ``submissions/sNNN/NOTEBOOK.ipynb``: the student
   copy with each answer cell, drawn with a seeded numpy Generator, right (the
   solution's source), wrong (the solution's value times 1.01) or blank (the stub);
3. times ``rwlib grade submissions --out grades -n WORKERS`` (sandboxed kernels),
   and again with ``-n 1``, one kernel at a time like nbgrader;
4. times ``nbgrader autograde`` of the same submissions in a throwaway course
   (one kernel at a time: nbgrader has no parallel mode);

and prints the seconds per submission of each, their ratio, and rwlib's statuses.
"""

from __future__ import annotations

import argparse
import collections
import csv
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from rwlib.grading import sandbox
from rwlib.release import END_SOLUTION, _execute, student_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "02_normalization_factor"
ASSIGNMENT = "lesson02"
WORKERS = 2
SEED = 2024
KINDS, PROBABILITIES = ("right", "wrong", "blank"), (0.6, 0.25, 0.15)
BIN = Path(sys.executable).parent
VERSIONS = ("rwlib", "nbgrader", "nbval", "pytest", "pytest-xdist", "ipykernel", "jupyter_client")


def wrong_source(source: str) -> str:
    """The solution cell with the value of its last solution line times 1.01.

    Examples
    --------
    >>> print(wrong_source("### BEGIN SOLUTION\\nz = f(x)\\n### END SOLUTION"))
    ### BEGIN SOLUTION
    z = 1.01 * (f(x))
    ### END SOLUTION
    >>> wrong_source("    ### BEGIN SOLUTION\\n    return x\\n    ### END SOLUTION").split("\\n")[1]
    '    return 1.01 * (x)'
    """
    lines = source.split("\n")
    last = next(i for i, line in enumerate(lines) if END_SOLUTION in line) - 1
    match = re.fullmatch(r"(\s*(?:return |[\w, ]+ = ))(.+)", lines[last])
    if match is None:
        raise ValueError(f"cannot make a wrong answer of {lines[last]!r}")
    lines[last] = f"{match[1]}1.01 * ({match[2]})"
    return "\n".join(lines)


def executed_source(folder: Path) -> Path:
    """``solutions/NOTEBOOK.ipynb`` executed in ``folder``, so its outputs hold the references."""
    os.environ.pop("RWLIB_GRADING", None)
    folder.mkdir(parents=True)
    notebook = nbformat.read(ROOT / "solutions" / f"{NOTEBOOK}.ipynb", as_version=4)
    _execute(notebook, folder)
    path = folder / f"{NOTEBOOK}.ipynb"
    nbformat.write(notebook, path)
    return path


def write_submissions(source: Path, folder: Path, students: int) -> collections.Counter:
    """One submission per student under ``folder``; returns how many answers of each kind."""
    solution = nbformat.read(source, as_version=4)
    rng = np.random.default_rng(SEED)
    kinds = collections.Counter()
    for number in range(students):
        submission = student_notebook(solution, NOTEBOOK)
        for cell, original in zip(submission.cells, solution.cells, strict=True):
            if not cell.metadata.get("nbgrader", {}).get("solution"):
                continue
            kind = str(rng.choice(KINDS, p=PROBABILITIES))
            kinds[kind] += 1
            if kind == "right":
                cell.source = original.source
            elif kind == "wrong":
                markdown = cell.cell_type == "markdown"
                cell.source = "I am not sure." if markdown else wrong_source(original.source)
        path = folder / f"s{number:03d}" / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(submission, path)
    return kinds


def run(command: list[str], cwd: Path) -> float:
    """Wall-clock seconds of ``command``; its output is shown only if it fails."""
    # nbgrader runs ``alembic`` from PATH, so the environment's bin folder must be on it.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds


def time_rwlib(
    source: Path, submissions: Path, grades: Path, workers: int
) -> tuple[float, collections.Counter]:
    """Seconds of ``rwlib grade -n workers``, and the count of each status in its grades.csv."""
    command = [str(BIN / "rwlib"), "grade", str(submissions), "--out", str(grades)]
    seconds = run(command + ["--source", str(source.parent), "-n", str(workers)], grades.parent)
    with open(grades / "grades.csv") as file:
        rows = list(csv.DictReader(file))
    graded = {row["student"] for row in rows if row["status"] != "missing"}
    if len(graded) != len(list(submissions.iterdir())):
        sys.exit(f"rwlib grade graded {len(graded)} students, not all of them")
    return seconds, collections.Counter(row["status"] for row in rows)


def time_nbgrader(source: Path, submissions: Path, course: Path) -> float:
    """Seconds of ``nbgrader autograde`` of every submission, in a new course folder."""
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(source, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
    )
    nbgrader = str(BIN / "nbgrader")
    run([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], course)
    for student in sorted(submissions.iterdir()):
        target = course / "submitted" / student.name / ASSIGNMENT
        shutil.copytree(student, target)
    # autograde adds unknown students to the database by itself (Autograde.create_student).
    seconds = run([nbgrader, "autograde", ASSIGNMENT, "--force"], course)
    graded = list(course.glob(f"autograded/*/{ASSIGNMENT}/{NOTEBOOK}.ipynb"))
    if len(graded) != len(list(submissions.iterdir())):
        sys.exit(f"nbgrader autograded {len(graded)} notebooks, not all of them")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100, help="submissions (100)")
    students = parser.parse_args().students
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as temporary:
        folder = Path(temporary)
        source = executed_source(folder / "source")
        kinds = write_submissions(source, folder / "submissions", students)
        load = os.getloadavg()[0]
        print(f"grading {students} submissions with rwlib grade, then nbgrader...", flush=True)
        rwlib_seconds, statuses = time_rwlib(
            source, folder / "submissions", folder / "grades", WORKERS
        )
        one_worker_seconds, one_worker_statuses = time_rwlib(
            source, folder / "submissions", folder / "grades-1", 1
        )
        if one_worker_statuses != statuses:
            sys.exit(f"-n 1 and -n {WORKERS} disagree: {one_worker_statuses} != {statuses}")
        nbgrader_seconds = time_nbgrader(source, folder / "submissions", folder / "course")
    bwrap = subprocess.run(["bwrap", "--version"], capture_output=True, text=True).stdout.strip()
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in VERSIONS)
    print(f"{students} submissions of {NOTEBOOK}.ipynb, answers drawn with seed {SEED}:")
    print("  " + ", ".join(f"{kind} {kinds[kind]}" for kind in KINDS) + " answer cells")
    machine = f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    print(f"{machine}; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{versions}, {bwrap or 'no bwrap'}")
    print(f"sandbox: {sandbox.isolation_warning() or 'on'}")
    print()
    print(f"{'':<36} {'wall s':>8} {'s / submission':>15}")
    rows = [
        (f"rwlib grade -n {WORKERS} (sandboxed)", rwlib_seconds),
        ("rwlib grade -n 1 (sandboxed)", one_worker_seconds),
        ("nbgrader autograde (one at a time)", nbgrader_seconds),
    ]
    for name, seconds in rows:
        print(f"{name:<36} {seconds:>8.1f} {seconds / students:>15.3f}")
    ratio = nbgrader_seconds / rwlib_seconds
    print(f"throughput ratio nbgrader / rwlib: {ratio:.2f}x (goal >= 2x, <= 1 s per submission)")
    serial = nbgrader_seconds / one_worker_seconds
    print(f"one kernel at a time each, nbgrader / rwlib -n 1: {serial:.2f}x")
    print("rwlib grade statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))


if __name__ == "__main__":
    main()
