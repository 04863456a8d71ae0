"""``rwlib grade`` re-runs: only what changed is graded again, and a killed run loses nothing."""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from rwlib.grading import grade as grading
from rwlib.grading import sandbox
from rwlib.grading.grade import GradingError, Settings, grade
from rwlib.grading.intake import questions
from rwlib.release import student_notebook

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.grader  # every test here runs rwlib grade
NAME = "02_normalization_factor"
SETTINGS = Settings(source=ROOT / "solutions", workers=2, timeout=30)


def _write_class(folder: Path, students: dict) -> None:
    for student, notebook in students.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / student / f"{NAME}.ipynb")


def _runs(out: Path) -> dict[str, str]:
    """The run id that graded each student's result file."""
    return {
        path.parent.name: json.loads(path.read_text())["run"]
        for path in (out / ".work" / "results").rglob("*.json")
    }


@pytest.fixture(scope="module")
def notebooks():
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    return solution, student_notebook(solution, NAME)


def test_a_rerun_grades_only_new_or_changed_submissions(tmp_path, notebooks):
    solution, blank = notebooks
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    _write_class(submissions, {"ann": solution, "ben": blank})
    grade(submissions, out, SETTINGS, progress=False)
    first = _runs(out)
    late = copy.deepcopy(blank)
    late.cells[0].source += " "  # ben resubmits: the same answers, different bytes
    _write_class(submissions, {"ben": late, "cat": solution})
    results = grade(submissions, out, SETTINGS, progress=False)
    second = _runs(out)
    assert second["ann"] == first["ann"]
    assert second["ben"] != first["ben"] and "cat" in second
    totals = {r.student: r.score for r in results}
    assert totals == {"ann": 12, "ben": 0, "cat": 12}
    grade(submissions, out, SETTINGS, force=True, progress=False)
    third = _runs(out)
    assert all(third[s] != second[s] for s in second)


def test_a_killed_run_keeps_what_it_graded(tmp_path, notebooks):
    solution, _ = notebooks
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    _write_class(submissions, {f"s{i}": solution for i in range(6)})
    command = [sys.executable, "-m", "rwlib", "grade", str(submissions), "--out", str(out)]
    command += ["--source", str(ROOT / "solutions"), "-n", "1"]
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not _runs(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    graded = _runs(out)
    assert 1 <= len(graded) < 6, "the run should have been killed half-way"
    grade(submissions, out, Settings(source=ROOT / "solutions", workers=1), progress=False)
    after = _runs(out)
    assert {s: after[s] for s in graded} == graded
    assert len(after) == 6
    with open(out / "gradebook.csv", newline="") as file:
        book = list(csv.DictReader(file))
    found = questions(solution)
    auto = sum(q["points"] for q in found if not q["manual"])
    written = [q["points"] for q in found if q["manual"]]
    assert len(book) == 6 and written  # the solution's written answers wait for a grader
    for row in book:
        assert (row["auto"], row["total"], row["max"]) == (
            f"{auto:g}",
            f"{auto:g}",
            f"{auto + sum(written):g}",
        )
        assert row["to grade"] == str(len(written))


def test_a_change_to_the_grading_code_or_the_exercise_definitions_regrades(
    tmp_path, notebooks, monkeypatch
):
    _, blank = notebooks
    submissions, out = tmp_path / "submissions", tmp_path / "grades"
    _write_class(submissions, {"ann": blank})
    grade(submissions, out, SETTINGS, progress=False)
    first = _runs(out)
    grade(submissions, out, SETTINGS, progress=False)
    assert _runs(out) == first  # nothing changed: the cached result is kept
    real = grading.grading_code_fingerprint()
    monkeypatch.setattr(grading, "grading_code_fingerprint", lambda: real + b" a changed check")
    grade(submissions, out, SETTINGS, progress=False)
    assert _runs(out)["ann"] != first["ann"]


def test_a_source_without_its_grading_lines_is_refused_before_anything_is_graded(
    tmp_path, notebooks
):
    solution, _ = notebooks
    broken = copy.deepcopy(solution)
    (index, cell), *_ = [
        (i, c)
        for i, c in enumerate(broken.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "02-shift-to-z-one"
    ]
    cell.outputs = []
    source = tmp_path / "source"
    source.mkdir()
    nbformat.write(broken, source / f"{NAME}.ipynb")
    _write_class(tmp_path / "submissions", {"ann": solution})
    settings = dataclasses.replace(SETTINGS, source=source)
    with pytest.raises(GradingError, match=rf"cell {index} \(02-shift-to-z-one\).*rwlib release"):
        grade(tmp_path / "submissions", tmp_path / "grades", settings, progress=False)
    assert not (tmp_path / "grades" / ".work" / "results").exists()


def test_the_command_line_names_bad_input(tmp_path):
    command = [sys.executable, "-m", "rwlib", "grade", str(tmp_path / "nowhere"), "--out"]
    done = subprocess.run([*command, str(tmp_path / "g")], capture_output=True, text=True)
    assert done.returncode == 1 and "is not a folder of submissions" in done.stderr
    done = subprocess.run(
        [*command, str(tmp_path), "--question-timeout", "no-seconds"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "ID=SECONDS" in done.stderr


AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="kernels get user ids of their own as root")


@AS_ROOT
def test_without_bubblewrap_a_kernel_user_id_cannot_read_a_private_folder(monkeypatch):
    """The protection left where bubblewrap cannot make namespaces (e.g. some containers)."""
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    folder = Path(tempfile.mkdtemp())  # not pytest's tmp_path: that is private to root anyway
    try:
        os.chmod(folder, 0o755)
        (folder / "private").mkdir(mode=0o700)
        (folder / "private" / "solution.txt").write_text("the answer\n")
        (folder / "public.txt").write_text("the question\n")
        os.chmod(folder / "public.txt", 0o644)
        scratch = folder / "scratch"
        scratch.mkdir()
        reads = {}
        for name in ("public.txt", "private/solution.txt"):
            command = sandbox.command(
                ["/bin/cat", str(folder / name)], scratch, sandbox.Limits(), sandbox.allocate_uid()
            )
            reads[name] = subprocess.run(command, capture_output=True, text=True)
    finally:
        shutil.rmtree(folder)
    assert reads["public.txt"].stdout == "the question\n"
    assert reads["private/solution.txt"].returncode != 0
    assert "Permission denied" in reads["private/solution.txt"].stderr
    assert "the answer" not in reads["private/solution.txt"].stdout


@AS_ROOT
def test_without_bubblewrap_grading_refuses_a_python_other_users_cannot_reach(
    tmp_path, monkeypatch, notebooks
):
    hidden = tmp_path / "python"
    hidden.mkdir(mode=0o700)
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    monkeypatch.setattr(sandbox, "python_paths", lambda: [hidden])
    _write_class(tmp_path / "submissions", {"ann": notebooks[1]})
    with pytest.raises(GradingError, match=r"cannot reach .*python.*chmod o\+rx"):
        grade(tmp_path / "submissions", tmp_path / "grades", SETTINGS, progress=False)
    assert not (tmp_path / "grades").exists()
