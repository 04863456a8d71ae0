"""The Gradescope autograder reads only the student's own files from ``/autograder/submission``.

``_submitted`` is tested directly (no kernel); one run of ``gradescope.run`` checks
that a submission that is only a link to ``../source`` scores 0, as ``refused``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rwlib.grading import gradescope

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.grader  # every test here runs rwlib grade
NAME = "02_normalization_factor"
NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})


@pytest.fixture
def autograder(tmp_path) -> Path:
    """A folder laid out like Gradescope's /autograder, with an empty submission/."""
    root = tmp_path / "autograder"
    (root / "source" / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", root / "source" / "solutions")
    (root / "source" / "notebooks.txt").write_text(f"{NAME}\n")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def _solution(root: Path) -> Path:
    return root / "source" / "solutions" / f"{NAME}.ipynb"


def test_a_link_to_the_source_absolute_or_relative_is_refused(autograder):
    submission = autograder / "submission"
    (submission / f"{NAME}.ipynb").symlink_to(_solution(autograder))
    (submission / "work").mkdir()
    os.symlink(f"../../source/solutions/{NAME}.ipynb", submission / "work" / f"{NAME} (1).ipynb")
    data, refused, ignored, _ = gradescope._submitted(submission, [NAME])
    assert data == {}
    assert "is a symbolic link" in refused[NAME]
    assert sorted(line.split(":")[0] for line in ignored) == [
        f"{NAME}.ipynb",
        f"work/{NAME} (1).ipynb",
    ]


def test_a_linked_folder_is_not_looked_into(autograder):
    (autograder / "submission" / "mine").symlink_to(autograder / "source" / "solutions")
    data, refused, ignored, _ = gradescope._submitted(autograder / "submission", [NAME])
    assert data == {} and "symbolic link" in refused[NAME]
    assert ignored == ["mine: a symbolic link"]


def test_a_hard_link_to_the_source_is_refused(autograder):
    os.link(_solution(autograder), autograder / "submission" / f"{NAME}.ipynb")
    data, refused, _, _ = gradescope._submitted(autograder / "submission", [NAME])
    assert data == {} and "hard link" in refused[NAME]


def test_a_fifo_does_not_block_the_autograder(autograder):
    os.mkfifo(autograder / "submission" / f"{NAME}.ipynb")
    code = (
        "import sys\nfrom pathlib import Path\nfrom rwlib.grading import gradescope\n"
        f"print(gradescope._submitted(Path(sys.argv[1]), [{NAME!r}])[1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(autograder / "submission")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "a FIFO (named pipe)" in done.stdout


def test_a_renamed_notebook_counts_and_the_latest_copy_is_graded(autograder):
    submission = autograder / "submission"
    (submission / f"{NAME} (1).ipynb").write_text(NOTEBOOK)
    os.utime(submission / f"{NAME} (1).ipynb", (2_000_000_000, 2_000_000_000))
    (submission / f"{NAME}.ipynb").write_text("older")
    os.utime(submission / f"{NAME}.ipynb", (1_000_000_000, 1_000_000_000))
    data, refused, ignored, notes = gradescope._submitted(submission, [NAME])
    assert data == {NAME: NOTEBOOK.encode()} and refused == {}
    assert f"{NAME} (1).ipynb is graded" in notes[NAME][0]
    assert ignored == [f"{NAME}.ipynb: {NAME} (1).ipynb is graded (by file modification time)"]


def test_a_zip_upload_is_read_but_its_links_are_not(autograder):
    with zipfile.ZipFile(autograder / "submission" / "upload.zip", "w") as archive:
        archive.writestr(f"hw/{NAME}.ipynb", NOTEBOOK)
        info = zipfile.ZipInfo("hw/other.ipynb")
        info.create_system, info.external_attr = 3, (0o120777 << 16)
        archive.writestr(info, "../../source/solutions/x.ipynb")
    data, refused, ignored, _ = gradescope._submitted(autograder / "submission", [NAME])
    assert data == {NAME: NOTEBOOK.encode()}
    assert ignored == ["upload.zip:hw/other.ipynb: a symbolic link"]


def test_a_submission_that_is_only_a_link_scores_zero_as_refused(autograder):
    (autograder / "submission" / f"{NAME}.ipynb").symlink_to(_solution(autograder))
    report = gradescope.run(autograder)
    assert report["score"] == 0 and report["tests"]
    assert {test["status"] for test in report["tests"]} == {"failed"}
    assert all(test["output"].startswith("refused: ") for test in report["tests"])
    assert "symbolic link" in report["output"]
    written = json.loads((autograder / "results" / "results.json").read_text())
    assert written["score"] == 0
