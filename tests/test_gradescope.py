"""``rwlib gradescope``: the autograder zip, run the way Gradescope runs it, and its results.json.

The zip is built from a source folder holding lesson 02's solution, executed
here so that its grading values are fresh. Each run unpacks the zip into a
folder laid out like Gradescope's ``/autograder`` (``source/``, ``submission/``,
``results/``) and runs the unpacked ``run_autograder`` with ``RWLIB_PYTHON`` and
``AUTOGRADER_ROOT`` pointing at this environment and that folder.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from rwlib import cli
from rwlib.checks import definition
from rwlib.grading import sandbox
from rwlib.grading.comparison import parse_line
from rwlib.grading.gradescope import GradescopeError, build
from rwlib.grading.intake import questions
from rwlib.hidden_values import PREFIX
from rwlib.release import _execute

ROOT = Path(__file__).resolve().parent.parent
NAME = "02_normalization_factor"
WRONG_ID = "02-shift-to-z-one"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A source folder with lesson 02's solution notebook, executed."""
    folder = tmp_path_factory.mktemp("solutions")
    notebook = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    _execute(notebook, folder)
    nbformat.write(notebook, folder / f"{NAME}.ipynb")
    return folder


@pytest.fixture(scope="module")
def autograder(source, tmp_path_factory) -> Path:
    """The autograder zip built from ``source``."""
    path = tmp_path_factory.mktemp("zip") / "autograder.zip"
    build(path, source)
    return path


def run_autograder(autograder: Path, root: Path, files: dict[str, bytes], **env) -> dict:
    """Unpack the zip like Gradescope, submit ``files``, run run_autograder; its results.json.

    ``env`` is added to run_autograder's environment.
    """
    with zipfile.ZipFile(autograder) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops the modes; unzip keeps them
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "results").mkdir()
    for name, data in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_bytes(data)
    env = {**os.environ, "RWLIB_PYTHON": sys.executable, "AUTOGRADER_ROOT": str(root), **env}
    run = subprocess.run(
        [root / "source" / "run_autograder"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((root / "results" / "results.json").read_text())


def reference_values(notebook) -> list:
    """Every value of every grading line stored in the notebook's outputs, flattened."""
    values = []

    def flatten(value):
        if isinstance(value, list):
            for item in value:
                flatten(item)
        else:
            values.append(value)

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(PREFIX):
                    record = parse_line(line[len(PREFIX) :])
                    flatten(record.get("values", record.get("value")))
    return values


def validate(results: dict, source: Path) -> dict[str, dict]:
    """Check results.json against Gradescope's format and the notebook; its tests by name."""
    notebook = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["output"], str)
    assert results["stdout_visibility"] == "hidden"
    number = (int, float)
    for test in results["tests"]:
        assert isinstance(test["name"], str)
        assert isinstance(test["score"], number) and not isinstance(test["score"], bool)
        assert isinstance(test["max_score"], number) and not isinstance(test["max_score"], bool)
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["output"], str)
        assert test["visibility"] == "after_published"
        assert 0 <= test["score"] <= test["max_score"]
    assert results["score"] == sum(test["score"] for test in results["tests"])
    points = {f"{NAME}: {q['id']}": q["points"] for q in questions(notebook) if not q["manual"]}
    assert {t["name"]: t["max_score"] for t in results["tests"]} == points
    values = reference_values(notebook)
    assert values, "the source notebook stores no grading values"
    texts = [results["output"]] + [test["output"] for test in results["tests"]]
    for value in values:
        shown = {str(value)} if isinstance(value, str) else {repr(value), f"{value:.6g}"}
        if isinstance(value, float) and value.is_integer():
            shown = {repr(value)}  # "1" is in many a message without giving anything away
        for text in texts:
            assert not any(s in text for s in shown), f"{value!r} is shown in {text!r}"
    return {test["name"]: test for test in results["tests"]}


def test_builds_are_byte_identical_and_hold_what_gradescope_needs(source, tmp_path):
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    assert cli.main(["gradescope", "--out", str(first), "--source", str(source)]) == 0
    build(second, source, [NAME])
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        run = archive.read("run_autograder").decode()
        setup = archive.read("setup.sh").decode()
        listed = archive.read("notebooks.txt").decode()
    for name in ("run_autograder", "setup.sh"):
        assert (infos[name].external_attr >> 16) & 0o777 == 0o755
    assert f"solutions/{NAME}.ipynb" in infos and listed == f"{NAME}\n"
    packaged = ["pyproject.toml", "README.md", "LICENSE", "rwlib/__init__.py"]
    packaged.append("rwlib/grading/grade.py")
    for name in packaged:
        assert f"package/{name}" in infos
    assert not [n for n in infos if "__pycache__" in n or n.endswith(".pyc")]
    assert '"${RWLIB_PYTHON:-/autograder/venv/bin/python}" -m rwlib gradescope-run' in run
    assert '--root "${AUTOGRADER_ROOT:-/autograder}"' in run
    assert "apt-get install -y python3 python3-venv python3-pip bubblewrap" in setup
    assert '"/autograder/source/package[instructor]"' in setup


def test_build_refuses_notebooks_without_grading_values(source, tmp_path):
    notebook = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    nbformat.write(notebook, tmp_path / f"{NAME}.ipynb")
    with pytest.raises(GradescopeError, match="no single grading line"):
        build(tmp_path / "autograder.zip", tmp_path)
    with pytest.raises(GradescopeError, match="no graded notebook"):
        build(tmp_path / "autograder.zip", source, ["99_no_such_notebook"])


@pytest.mark.grader
def test_a_correct_submission_gets_full_marks(source, autograder, tmp_path):
    submitted = (source / f"{NAME}.ipynb").read_bytes()
    files = {f"work/{NAME}.ipynb": submitted, "notes.txt": b"hello"}
    results = run_autograder(autograder, tmp_path / "autograder", files)
    tests = validate(results, source)
    assert all(test["status"] == "passed" for test in tests.values())
    assert results["score"] == sum(test["max_score"] for test in tests.values()) > 0
    assert "ignored notes.txt" in results["output"]
    assert "02-explain-zero-reward" in results["output"]  # the written answer, graded by hand


@pytest.mark.grader
def test_one_wrong_answer_loses_exactly_its_points(source, autograder, tmp_path):
    notebook = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    (cell,) = [
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == f"{WRONG_ID}-answer"
    ]
    cell.source = f"{cell.source}\nc_unit_z = 1 / c_unit_z"
    submitted = {f"{NAME}.ipynb": nbformat.writes(notebook).encode()}
    results = run_autograder(autograder, tmp_path / "autograder", submitted)
    tests = validate(results, source)
    wrong = tests.pop(f"{NAME}: {WRONG_ID}")
    assert wrong["status"] == "failed" and wrong["score"] == 0
    hint = definition(WRONG_ID).hint  # the public check's hint, never the answer
    assert wrong["output"].startswith("failed: ") and hint in wrong["output"]
    assert all(test["status"] == "passed" for test in tests.values())
    assert results["score"] == sum(test["max_score"] for test in tests.values())


@pytest.mark.grader
def test_a_missing_notebook_scores_zero(source, autograder, tmp_path):
    # A rename such as "{NAME} (1).ipynb" counts (tests/test_gradescope_intake.py); this does not.
    misnamed = {"my_homework.ipynb": (source / f"{NAME}.ipynb").read_bytes()}
    results = run_autograder(autograder, tmp_path / "autograder", misnamed)
    tests = validate(results, source)
    assert results["score"] == 0
    assert all(
        t["status"] == "failed" and t["output"].startswith("missing") for t in tests.values()
    )
    assert "ignored my_homework.ipynb" in results["output"]
    assert "not submitted" in results["output"]


@pytest.mark.skipif(
    os.geteuid() != 0 or bool(sandbox.hidden_from_other_users()),
    reason="without bubblewrap, kernels get user ids of their own only as root, and only when "
    f"other users can reach {', '.join(map(str, sandbox.python_paths()))} (as on Gradescope); "
    "tests/test_grade.py checks the user id's protection and the refusal on their own",
)
@pytest.mark.grader
def test_without_bubblewrap_a_kernel_cannot_read_the_solutions(source, autograder):
    """As in a container where bubblewrap makes no namespaces: the user id must protect them.

    The root is world-readable like Gradescope's ``/autograder`` (pytest's own
    temporary folders are private, which would hide the solutions anyway).
    """
    root = Path(tempfile.mkdtemp()) / "autograder"
    os.chmod(root.parent, 0o755)
    solution = root / "source" / "solutions" / f"{NAME}.ipynb"
    notebook = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    (cell,) = [
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == f"{WRONG_ID}-answer"
    ]
    cell.source = (
        "import json, pathlib\n"
        f"cells = json.loads(pathlib.Path({str(solution)!r}).read_text())['cells']\n"
        f"exec(next(''.join(c['source']) for c in cells if c['metadata'].get('nbgrader', {{}})"
        f".get('grade_id') == {cell.metadata.nbgrader.grade_id!r}))"
    )
    submitted = {f"{NAME}.ipynb": nbformat.writes(notebook).encode()}
    try:
        results = run_autograder(autograder, root, submitted, RWLIB_NO_BUBBLEWRAP="1")
    finally:
        shutil.rmtree(root.parent)
    tests = validate(results, source)
    cheat = tests.pop(f"{NAME}: {WRONG_ID}")
    assert cheat["score"] == 0 and "PermissionError" in cheat["output"], cheat
    assert all(test["status"] == "passed" for test in tests.values())
    assert results["score"] == sum(test["max_score"] for test in tests.values())
