"""The solutions are valid nbgrader source notebooks, and nbgrader makes the same student copies.

An instructor who uses nbgrader can take solutions/ as an nbgrader "source"
assignment. This runs nbgrader's own ``generate_assignment`` on them and
compares its release with ours cell by cell, with both stub texts set to one
sentinel: the stubs sit in the same places, and everything else is identical.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import rwlib.release
from rwlib.release import ANSWER_TAG, student_notebook, student_source

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "<STUB>"
NBGRADER = Path(sys.executable).parent / "nbgrader"


@pytest.fixture(scope="module")
def nbgrader_release(tmp_path_factory):
    """Run ``nbgrader generate_assignment`` on a copy of solutions/; return its release folder."""
    course = tmp_path_factory.mktemp("course")
    source = course / "source" / "lessons"
    shutil.copytree(ROOT / "solutions", source)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.ClearSolutions.code_stub = {{'python': {SENTINEL!r}}}\n"
        f"c.ClearSolutions.text_stub = {SENTINEL!r}\n"
    )
    done = subprocess.run(
        [str(NBGRADER), "generate_assignment", "lessons", "--force", "--no-db"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return course / "release" / "lessons"


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")))
def test_nbgrader_and_rwlib_release_agree_up_to_the_stub_text(nbgrader_release, name, monkeypatch):
    monkeypatch.setattr(rwlib.release, "_stub", lambda region, indent, where: [indent + SENTINEL])
    monkeypatch.setattr(rwlib.release, "TEXT_STUB", SENTINEL)
    ours = student_notebook(nbformat.read(ROOT / "solutions" / name, as_version=4), name)
    theirs = nbformat.read(nbgrader_release / name, as_version=4)
    assert len(ours.cells) == len(theirs.cells)
    for index, (mine, nbg) in enumerate(zip(ours.cells, theirs.cells, strict=True)):
        expected = nbg.source
        if ANSWER_TAG in nbg.metadata.get("tags", []):  # nbgrader leaves it open; we collapse it
            expected = student_source(nbg, f"{name}, cell {index}")
        assert (mine.cell_type, mine.source.rstrip()) == (nbg.cell_type, expected.rstrip()), (
            f"{name}, cell {index}"
        )
