"""rwlib release: student copies made from solutions/, and notebooks/ never drifts from them."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from rwlib.release import ReleaseError, student_notebook, student_source

ROOT = Path(__file__).resolve().parent.parent


def nbgrader(grade_id, *, solution=False, grade=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3}
    meta.update({"solution": solution, "task": False})
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def answer_cell(source):
    return new_code_cell(source, metadata=nbgrader("x-answer", solution=True))


class TestStudentSource:
    def test_top_level_solution_keeps_the_answer_name(self):
        cell = answer_cell("### BEGIN SOLUTION\ngrid = [1, 2]\nbeta_90 = grid[1]\n### END SOLUTION")
        assert student_source(cell, "cell") == "beta_90 = ..."

    def test_tuple_assignment_keeps_every_name(self):
        cell = answer_cell("### BEGIN SOLUTION\nlow, high = 1, 2\n### END SOLUTION")
        assert student_source(cell, "cell") == "low = high = ..."

    def test_function_body_becomes_raise_not_implemented(self):
        body = "    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
        source = 'def f(x):\n    """Doc."""\n' + body
        expected = 'def f(x):\n    """Doc."""\n    raise NotImplementedError'
        assert student_source(answer_cell(source), "cell") == expected

    def test_hidden_tests_are_removed(self):
        source = 'rw.check("x", y)\n### BEGIN HIDDEN TESTS\nassert y == 2\n### END HIDDEN TESTS'
        cell = new_code_cell(source, metadata=nbgrader("x", grade=True, points=1))
        assert student_source(cell, "cell") == 'rw.check("x", y)'

    def test_markdown_answer_becomes_your_answer_here(self):
        cell = new_markdown_cell("Because Z sums to one.", metadata=nbgrader("e", solution=True))
        assert student_source(cell, "cell") == "YOUR ANSWER HERE"

    def test_markdown_region_is_replaced_in_place(self):
        source = "Answer:\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
        cell = new_markdown_cell(source, metadata=nbgrader("e", solution=True))
        assert student_source(cell, "cell") == "Answer:\nYOUR ANSWER HERE"

    def test_ordinary_cells_are_unchanged(self):
        assert student_source(new_code_cell("x = 1"), "cell") == "x = 1"

    @pytest.mark.parametrize(
        ("source", "metadata", "message"),
        [
            ("### BEGIN SOLUTION\nx = 1", nbgrader("a", solution=True), "without '### END"),
            ("### END SOLUTION", nbgrader("a", solution=True), "without '### BEGIN"),
            (
                "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
                nbgrader("a", solution=True),
                "nested",
            ),
            ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", {}, "not an nbgrader solution"),
            ("x = 1", nbgrader("a", solution=True), "needs '### BEGIN SOLUTION'"),
            (
                "### BEGIN SOLUTION\nprint(1)\n### END SOLUTION",
                nbgrader("a", solution=True),
                "end by",
            ),
            ("### BEGIN SOLUTION\nx = (\n### END SOLUTION", nbgrader("a", solution=True), "parse"),
            ("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS", {}, "not an nbgrader grade"),
        ],
    )
    def test_malformed_sources_are_refused_with_the_cell_named(self, source, metadata, message):
        with pytest.raises(ReleaseError, match=rf"nb.ipynb, cell 3: .*{message}"):
            student_source(new_code_cell(source, metadata=metadata), "nb.ipynb, cell 3")


def answer(source, cell_type="markdown", **metadata):
    make = new_markdown_cell if cell_type == "markdown" else new_code_cell
    return make(source, metadata={"tags": ["answer"], **metadata})


class TestCollapsedAnswers:
    def test_answer_is_written_collapsed_with_its_text_intact(self):
        text = "Yes: $Z = e^{c/\\beta}$.\n\nA second paragraph."
        collapsed = student_source(answer(text), "cell")
        assert collapsed.startswith("<details><summary>Answer</summary>\n\n")
        assert collapsed.endswith("\n\n</details>")
        assert collapsed.count("<details>") == 1
        inner = collapsed.removeprefix("<details><summary>Answer</summary>").removesuffix(
            "</details>"
        )
        assert inner.strip() == text

    def test_untagged_markdown_is_not_collapsed(self):
        assert student_source(new_markdown_cell("**1.** Why?"), "cell") == "**1.** Why?"

    @pytest.mark.parametrize(
        ("cell", "message"),
        [
            (answer("x = 1", cell_type="code"), "not a markdown cell"),
            (answer("   \n"), "empty"),
            (answer("No.", nbgrader=nbgrader("a", solution=True)["nbgrader"]), "nbgrader"),
            (answer("<details><summary>Answer</summary>No.</details>"), "already holds"),
        ],
    )
    def test_malformed_answers_are_refused_with_the_cell_named(self, cell, message):
        with pytest.raises(ReleaseError, match=rf"nb.ipynb, cell 5: .*{message}"):
            student_source(cell, "nb.ipynb, cell 5")


def _check_section(notebook):
    """The cells from the "Check your understanding" heading to the end."""
    starts = [i for i, c in enumerate(notebook.cells) if "## Check your understanding" in c.source]
    return notebook.cells[starts[0] + 1 :] if starts else []


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb") if p.name[:2] != "00")
)
def test_every_question_of_check_your_understanding_has_a_collapsed_answer(name):
    solution = nbformat.read(ROOT / "solutions" / name, as_version=4)
    student = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    section = _check_section(solution)
    assert section, f"{name} has no Check your understanding section"
    heading = [c for c in solution.cells if "## Check your understanding" in c.source][0]
    questions = re.findall(r"^\*\*\d+\.\*\*", heading.source, re.M)
    questions += [c for c in section if re.match(r"\*\*\d+\.\*\*", c.source)]
    answers = [c for c in section if "answer" in c.metadata.get("tags", [])]
    assert questions and len(answers) == len(questions), (
        f"{name}: {len(questions)} questions, {len(answers)} cells tagged 'answer'"
    )
    collapsed = [c for c in _check_section(student) if c.source.startswith("<details>")]
    assert len(collapsed) == len(answers), f"{name}: run `rwlib release {name}`"


def _sources(notebook):
    return [(c.cell_type, c.source, c.metadata.get("nbgrader")) for c in notebook.cells]


class TestNotebooksMatchSolutions:
    def test_the_same_notebooks_in_both_folders(self):
        def names(folder):
            return sorted(p.name for p in (ROOT / folder).glob("*.ipynb"))

        assert names("notebooks") == names("solutions")
        assert names("solutions"), "no notebooks in solutions/"

    @pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")))
    def test_student_copy_is_what_release_makes(self, name):
        solution = nbformat.read(ROOT / "solutions" / name, as_version=4)
        student = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        assert _sources(student) == _sources(student_notebook(solution, name)), (
            f"notebooks/{name} differs from its solution: run `rwlib release {name}`"
        )

    @pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
    def test_student_copy_holds_no_solution(self, name):
        text = (ROOT / "notebooks" / name).read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert marker not in text


def _by_grade_id(notebook):
    """The notebook's nbgrader cells by grade_id (release may add a setup cell before them)."""
    return {
        c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata
    }


class TestReleaseCommand:
    def _solution(self, folder: Path) -> None:
        cells = [
            new_code_cell(
                "### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION",
                metadata=nbgrader("t-answer", solution=True),
            ),
            new_code_cell(
                'import os\nprint(os.environ.get("RWLIB_GRADING", "unset"), answer)\n'
                "### BEGIN HIDDEN TESTS\nassert answer == 42\n### END HIDDEN TESTS",
                metadata=nbgrader("t", grade=True, points=1),
            ),
        ]
        notebook = new_notebook(
            cells=cells,
            metadata={
                "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
            },
        )
        folder.mkdir()
        nbformat.write(notebook, folder / "01_t.ipynb")

    def test_executes_both_copies_without_grading_mode(self, tmp_path):
        self._solution(tmp_path / "sol")
        command = [sys.executable, "-m", "rwlib", "release", "--source", "sol", "--out", "stu"]
        env = {"RWLIB_GRADING": "1", "PATH": str(Path(sys.executable).parent)}
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        solution = _by_grade_id(nbformat.read(tmp_path / "sol" / "01_t.ipynb", as_version=4))
        student = _by_grade_id(nbformat.read(tmp_path / "stu" / "01_t.ipynb", as_version=4))
        assert solution["t"].outputs[0]["text"] == "unset 42\n"
        assert student["t-answer"].source == "answer = ..."
        assert student["t"].outputs[0]["text"] == "unset Ellipsis\n"
        assert "execution" not in student["t"].metadata

    def test_unknown_notebook_is_an_error(self, tmp_path):
        self._solution(tmp_path / "sol")
        command = [
            sys.executable,
            "-m",
            "rwlib",
            "release",
            "nope",
            "--source",
            "sol",
            "--no-execute",
        ]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "no such notebook in sol: nope.ipynb" in done.stderr

    def test_releasing_twice_gives_the_same_bytes(self, tmp_path):
        source = "from ipywidgets import IntSlider, interact\n"
        widget = new_code_cell(source + "interact(lambda x: print(x), x=IntSlider(3))")
        spec = {"name": "python3", "language": "python", "display_name": "Python 3"}
        (tmp_path / "sol").mkdir()
        nbformat.write(
            new_notebook(cells=[widget], metadata={"kernelspec": spec}),
            tmp_path / "sol" / "w.ipynb",
        )
        texts = []
        for out in ("first", "second"):
            command = [sys.executable, "-m", "rwlib", "release", "--source", "sol", "--out", out]
            done = subprocess.run(
                command, cwd=tmp_path, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
            texts.append((tmp_path / out / "w.ipynb").read_text())
        assert "application/vnd.jupyter.widget-state+json" in texts[0]
        assert texts[0] == texts[1]
