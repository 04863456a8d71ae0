"""Under ``nbgrader autograde``, the hidden tests grade: they assert outside ``rwlib grade``.

nbgrader trusts the student's kernel (a cell passes when it raises nothing), so
the hidden tests must fail a wrong answer by raising. Three submissions of
lesson 02 go through nbgrader's own generate_assignment, autograde and export:
the solution, a blank copy, and every answer wrong with ``rw.check`` patched to
print a pass. (What nbgrader cannot stop, a patched ``rw.print_for_grading``,
is stated in the README; ``rwlib grade`` decides outside the kernel.)
"""

import copy
import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rwlib.release import END_SOLUTION, student_notebook

ROOT = Path(__file__).resolve().parent.parent
NAME = "02_normalization_factor"
BIN = Path(sys.executable).parent
PATCH = "import rwlib\nrwlib.check = rw.check = lambda *args: print('✔ right')\n"


def _all_wrong(solution):
    """Every answer wrong, and rw.check patched to print a pass.

    A value answer (a top-level solution region) is moved off its value after the region;
    a function body has its divisions by beta turned into products.
    """
    notebook = copy.deepcopy(solution)
    first = True
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            lines = cell.source.split("\n")
            end = next(i for i, line in enumerate(lines) if END_SOLUTION in line)
            indent = lines[end][: len(lines[end]) - len(lines[end].lstrip())]
            lines.insert(end, f"{indent}pass")  # keep bodies valid
            if not indent:
                region = [line for line in lines[:end] if re.match(r"\w+\s*=", line)]
                name = re.match(r"(\w+)\s*=", region[-1]).group(1)
                lines.insert(end + 2, f"{name} = {name} * 1.1 + 0.1  # wrong")
            wrong = "\n".join(lines).replace("/ beta", "* beta")
            cell.source = (PATCH if first else "") + wrong
            first = False
    return notebook


def _run(command, cwd):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RWLIB_GRADING", None)
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader-course")
    (course / "source" / "lesson").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", course / "source" / "lesson")
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
        # nbclient waits 4 s for a cell's output by default: too short on a loaded machine
        "c.Execute.iopub_timeout = 30\nc.Execute.timeout = 300\n"
    )
    nbgrader = str(BIN / "nbgrader")
    _run([nbgrader, "generate_assignment", "lesson", "--force"], course)
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    for student, notebook in {
        "right": solution,
        "blank": student_notebook(solution, NAME),
        "wrong_patched": _all_wrong(solution),
    }.items():
        folder = course / "submitted" / student / "lesson"
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{NAME}.ipynb")
    _run([nbgrader, "autograde", "lesson", "--force"], course)
    _run([nbgrader, "export", "--to", str(course / "grades.csv")], course)
    with open(course / "grades.csv") as file:
        return {row["student_id"]: float(row["raw_score"] or 0) for row in csv.DictReader(file)}


def _auto_points() -> float:
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    return sum(
        cell.metadata["nbgrader"]["points"]
        for cell in solution.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    )


def test_the_solution_scores_every_auto_graded_point(scores):
    assert scores["right"] == _auto_points()


def test_a_blank_copy_scores_nothing(scores):
    assert scores["blank"] == 0


def test_wrong_answers_with_a_patched_check_score_nothing(scores):
    assert scores["wrong_patched"] == 0
