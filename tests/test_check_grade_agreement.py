"""What a student's check says right, the grade counts right: a battery over every exercise.

For every auto-graded exercise, a battery of answers goes both to the public
check (``rw.check``) and to the grader's comparison (the hidden test's printed
line, judged by :func:`rwlib.grading.comparison.judge_cell` against the
solution's stored output). The two verdicts must agree on every answer:

- numbers: the exact value; rounded to the precision the question states; just
  inside and just outside the tolerance; the accepted types (Python float, numpy
  float64 and float32, a size-1 array, a slice, a one-element list); each known
  mistake; answers of the wrong type;
- functions: the reference implementation passes both; a function wrong on the
  public examples fails both; a function that is right on the public examples
  only passes the check, and the grade gives it only the public case's share.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest

import rwlib as rw
from rwlib.checks import PUBLIC_CASE, FunctionExercise, NumberExercise, definition, definitions
from rwlib.grading.comparison import judge_cell, score, stream_text
from rwlib.hidden_values import grade_function, print_for_grading

ROOT = Path(__file__).resolve().parent.parent
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _check_cells() -> dict[str, tuple[Path, int]]:
    """grade_id -> (solution notebook, index of its check cell)."""
    found = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in definitions() and cell.cell_type == "code":
                found[grade_id] = (path, index)
    return found


CHECK_CELLS = _check_cells()
NUMBERS = sorted(g for g, e in definitions().items() if isinstance(e, NumberExercise))
FUNCTIONS = sorted(g for g, e in definitions().items() if isinstance(e, FunctionExercise))


def _stored(grade_id: str) -> str:
    path, index = CHECK_CELLS[grade_id]
    return stream_text(nbformat.read(path, as_version=4).cells[index].outputs)


def public_verdict(grade_id: str, answer) -> bool:
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rw.check(grade_id, answer)
    except AssertionError:
        return False
    return True


def graded_share(grade_id: str, printed: str) -> float:
    """The share of the question's points the grader gives for what the kernel printed."""
    return score(1.0, judge_cell(definition(grade_id), printed, _stored(grade_id)))


def printed_number(grade_id: str, answer) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_for_grading(grade_id, answer)
    return out.getvalue()


def _rounded(value: float, exercise: NumberExercise) -> float:
    """The value rounded to the precision the question states."""
    tolerance = exercise.tolerance
    if tolerance.significant_digits() is not None:
        return float(f"{value:.{tolerance.significant_digits() - 1}e}")
    if tolerance.atol > 0:
        return round(value, math.ceil(-math.log10(tolerance.atol / 0.5)))
    return value


def number_battery(exercise: NumberExercise) -> dict[str, object]:
    x = float(exercise.expected())
    band = exercise.tolerance.atol + exercise.tolerance.rtol * abs(x)
    answers = {
        "exact": x,
        "rounded to the stated precision": _rounded(x, exercise),
        "just inside, above": x + 0.9 * band,
        "just inside, below": x - 0.9 * band,
        "just outside, above": x + 1.1 * band,
        "just outside, below": x - 1.1 * band,
        "numpy float64": np.float64(x),
        "numpy float32": np.float32(x),
        "size-1 array": np.array([x]),
        "a slice": np.array([0.0, x])[1:2],
        "one-element list": [x],
        "a str": str(x),
        "a bool": True,
        "two numbers": [x, x],
        "nan": float("nan"),
    }
    if exercise.whole_number:
        answers |= {"exact, as an int": round(x), "one more": round(x) + 1}
    for number, (mistake, _) in enumerate(exercise.mistakes()):
        answers[f"mistake {number}"] = mistake
    return answers


@pytest.mark.parametrize("grade_id", NUMBERS)
def test_check_and_grade_agree_on_every_number_answer(grade_id, monkeypatch):
    monkeypatch.setenv("RWLIB_GRADING", "1")
    exercise = definition(grade_id)
    disagreements = []
    for name, answer in number_battery(exercise).items():
        public = public_verdict(grade_id, answer)
        graded = graded_share(grade_id, printed_number(grade_id, answer)) == 1.0
        if public != graded:
            disagreements.append(f"{name} ({answer!r}): check {public}, grade {graded}")
    assert not disagreements, disagreements


@pytest.mark.parametrize("grade_id", NUMBERS)
def test_the_battery_separates_right_from_wrong(grade_id):
    exercise = definition(grade_id)
    answers = number_battery(exercise)
    right = ["exact", "size-1 array"]
    if exercise.whole_number:  # a count: whole numbers only
        right += ["exact, as an int"]
    else:
        right += ["rounded to the stated precision", "just inside, above", "just inside, below"]
    for name in right:
        assert public_verdict(grade_id, answers[name]), name
    for name in ("just outside, above", "just outside, below", "a str", "a bool", "nan"):
        assert not public_verdict(grade_id, answers[name]), name


def _namespace(grade_id: str) -> dict:
    """The solution notebook's names just before the check cell (its code cells, executed)."""
    matplotlib.use("agg")
    path, index = CHECK_CELLS[grade_id]
    namespace: dict = {"__name__": "__main__"}
    for cell in nbformat.read(path, as_version=4).cells[:index]:
        if cell.cell_type == "code":
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
                exec(compile(cell.source, str(path), "exec"), namespace)
    return namespace


def hidden_cases(grade_id: str) -> dict:
    """The hidden cases' inputs, as the solution's hidden test gives them to grade_function."""
    path, index = CHECK_CELLS[grade_id]
    source = nbformat.read(path, as_version=4).cells[index].source
    hidden = source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]
    captured = {}
    namespace = _namespace(grade_id)
    namespace["rw"] = type("Capture", (), {})()
    namespace["rw"].grade_function = lambda _id, _function, cases: captured.update(cases)
    exec(compile(hidden, str(path), "exec"), namespace)
    return captured


def printed_function(grade_id: str, function, cases: dict) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        grade_function(grade_id, function, cases)
    return out.getvalue()


def _scaled(function):
    def wrong(*args):
        return np.asarray(function(*args), dtype=float) * 1.1 + 0.01

    return wrong


def _right_on(exercise: FunctionExercise):
    """Right on the public examples only: wrong on any other arguments."""
    examples = [repr(args) for args in exercise.examples]

    def partly(*args):
        output = exercise.reference(*args)
        return output if repr(args) in examples else _scaled(exercise.reference)(*args)

    return partly


@pytest.mark.parametrize("grade_id", FUNCTIONS)
def test_check_and_grade_agree_on_functions(grade_id, monkeypatch):
    monkeypatch.setenv("RWLIB_GRADING", "1")
    exercise = definition(grade_id)
    cases = hidden_cases(grade_id)
    assert set(cases) | {PUBLIC_CASE} == set(exercise.hidden_cases)
    reference = exercise.reference

    def exact(*args):  # a student's function with the reference's outputs
        return reference(*args)

    assert public_verdict(grade_id, exact)
    assert graded_share(grade_id, printed_function(grade_id, exact, cases)) == 1.0
    wrong = _scaled(exact)
    assert not public_verdict(grade_id, wrong)
    assert graded_share(grade_id, printed_function(grade_id, wrong, cases)) == 0.0
    partly = _right_on(exercise)
    assert public_verdict(grade_id, partly)
    share = exercise.hidden_cases[PUBLIC_CASE] / sum(exercise.hidden_cases.values())
    assert graded_share(grade_id, printed_function(grade_id, partly, cases)) == round(share, 6)


@pytest.mark.parametrize("grade_id", FUNCTIONS)
def test_a_function_that_passes_every_hidden_case_passes_the_check(grade_id, monkeypatch):
    """The check's examples are a hidden case: a wrong example fails that case too."""
    monkeypatch.setenv("RWLIB_GRADING", "1")
    exercise = definition(grade_id)
    first = repr(exercise.examples[0])

    def wrong_on_first_example(*args):
        output = exercise.reference(*args)
        return _scaled(exercise.reference)(*args) if repr(args) == first else output

    printed = printed_function(grade_id, wrong_on_first_example, hidden_cases(grade_id))
    assert not public_verdict(grade_id, wrong_on_first_example)
    assert graded_share(grade_id, printed) < 1.0


@pytest.mark.parametrize("grade_id", sorted(definitions()))
def test_every_question_states_the_precision_its_tolerance_accepts(grade_id):
    """The markdown above the answer cell holds the tolerance's own words, in both copies."""
    for folder in ("solutions", "notebooks"):
        path, _ = CHECK_CELLS[grade_id]
        cells = nbformat.read(ROOT / folder / path.name, as_version=4).cells
        (answer,) = [
            i
            for i, c in enumerate(cells)
            if c.metadata.get("nbgrader", {}).get("grade_id") == f"{grade_id}-answer"
        ]
        question = next(c for c in reversed(cells[:answer]) if c.cell_type == "markdown")
        text = " ".join(question.source.split())
        assert definition(grade_id).tolerance.describe() in text, f"{folder}/{path.name}"
