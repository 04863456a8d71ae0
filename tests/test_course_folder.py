"""Instructor commands find the course through ``--course DIR``, from any install.

A non-editable install (a wheel, or a JupyterHub image) has rwlib in
site-packages, away from ``solutions/``: ``rwlib release``, ``grade`` and
``gradescope`` then take the course folder from ``--course`` (default: the current
folder), and say so in one line when there is none.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rwlib.grading.gradescope import GradescopeError, build

ROOT = Path(__file__).resolve().parent.parent
NAME = "02_normalization_factor"


@pytest.mark.parametrize(
    "command",
    [
        ["release", "--no-execute"],
        ["grade", "submissions", "--out", "grades"],
        ["gradescope", "--out", "autograder.zip"],
    ],
)
def test_without_a_course_folder_the_command_says_so_in_one_line(tmp_path, command):
    done = subprocess.run(
        [sys.executable, "-m", "rwlib", *command], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no course folder found" in lines[0] and "--course DIR" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def _course_copy(folder: Path) -> Path:
    """An unpacked copy of the course: its package source and one solution notebook."""
    folder.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "rwlib", folder / "rwlib", ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "rwlib" / "COPY_MARKER.txt").write_text("this copy\n")
    (folder / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", folder / "solutions")
    return folder


def test_the_autograder_bundles_the_rwlib_of_the_course_folder(tmp_path):
    course = _course_copy(tmp_path / "course")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = [sys.executable, "-m", "rwlib", "gradescope", "--course", str(course)]
    done = subprocess.run(
        [*command, "--out", "ag.zip"], cwd=elsewhere, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(elsewhere / "ag.zip").namelist()
    assert "package/rwlib/COPY_MARKER.txt" in names and f"solutions/{NAME}.ipynb" in names


def test_a_course_folder_without_the_package_is_refused_with_the_fix(tmp_path):
    (tmp_path / "solutions").mkdir()
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", tmp_path / "solutions")
    with pytest.raises(GradescopeError, match="pass --course DIR"):
        build(tmp_path / "ag.zip", tmp_path / "solutions", course=tmp_path)


WITHOUT_POSIX = (
    "import sys\n"
    "sys.modules['fcntl'] = sys.modules['resource'] = None  # as on Windows\n"
    "from rwlib.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_without_posix_release_starts_and_grade_says_in_one_line_why_not(tmp_path):
    """On Windows (no fcntl, no resource) the commands that need no sandbox still run."""
    help_text = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, "release", "--help"], capture_output=True, text=True
    )
    assert help_text.returncode == 0 and "--repository" in help_text.stdout, help_text.stderr
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, "grade", "subs", "--out", "grades", "--source", "."],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "grade on Linux" in lines[0], done.stderr
