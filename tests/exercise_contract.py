"""What every auto-graded number exercise must do, shared by the lesson tests.

A lesson's test class subclasses :class:`CheckContract` and gives the exercise's
``grade_id``, its right answer (computed independently of rwlib) and the values
that known mistakes produce; the contract tests run for each.
"""

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

import rwlib as rw
from rwlib.checks import definition


def wrong_message(grade_id: str, answer) -> str:
    """The AssertionError message that rw.check raises for a wrong ``answer``."""
    with pytest.raises(AssertionError) as error:
        rw.check(grade_id, answer)
    return str(error.value)


def assert_hides(message: str, expected: float) -> None:
    """``message`` shows ``expected`` in none of its usual roundings."""
    shown = [repr(expected)]
    for digits in range(2, 10):
        shown.append(str(round(expected, digits)))
        shown += [format(expected, f".{digits}{kind}") for kind in "fge"]
    if abs(expected) >= 100:  # a count, e.g. of samples: also its whole-number forms
        shown += [format(expected, ".0f"), format(expected, ",.0f"), str(math.ceil(expected))]
        shown.append(format(math.ceil(expected), ",d"))
    for text in shown:
        assert text not in message, f"the hint gives the answer away: {text!r}"


class CheckContract:
    """What every number exercise must do; subclasses give the values."""

    grade_id = ""

    def right(self) -> float:
        raise NotImplementedError

    def mistakes(self) -> list[float]:
        raise NotImplementedError

    def test_right_answer_passes(self, capsys):
        rw.check(self.grade_id, self.right())
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    def test_numpy_scalar_answer_passes(self, capsys):
        rw.check(self.grade_id, np.float64(self.right()))
        assert "✔" in capsys.readouterr().out

    def test_not_a_number_is_wrong(self):
        assert "single number" in wrong_message(self.grade_id, [self.right(), self.right()])

    def test_wrong_answer_hint_hides_the_answer(self):
        message = wrong_message(self.grade_id, self.right() * 1.37 + 0.01)
        assert "Hint" in message
        assert_hides(message, self.right())

    def test_each_mistake_gets_its_own_hint(self):
        generic = wrong_message(self.grade_id, self.right() * 1.37 + 0.01)
        hints = [wrong_message(self.grade_id, value) for value in self.mistakes()]
        assert len(set(hints)) == len(hints)
        assert generic not in hints
        for hint in hints:
            assert_hides(hint, self.right())

    def test_stub_is_not_answered_yet(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        rw.check(self.grade_id, ...)
        assert f"{self.grade_id}: not answered yet" in capsys.readouterr().out

    def test_stub_fails_when_grading(self, monkeypatch):
        monkeypatch.setenv("RWLIB_GRADING", "1")
        with pytest.raises(AssertionError, match="not answered"):
            rw.check(self.grade_id, ...)


def _stub(*args):
    raise NotImplementedError


def _crashing(*args):
    return 1 / 0


class FunctionCheckContract:
    """What every implement-a-function exercise must do; subclasses give the grade_id."""

    grade_id = ""

    def test_a_crashing_function_reports_its_error(self):
        assert "ZeroDivisionError" in wrong_message(self.grade_id, _crashing)

    def test_not_a_function_gets_a_hint(self):
        assert "should be a function" in wrong_message(self.grade_id, 0.5)

    def test_stub_is_not_answered_yet(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        rw.check(self.grade_id, _stub)
        rw.check(self.grade_id, ...)
        assert capsys.readouterr().out.count(f"{self.grade_id}: not answered yet") == 2

    def test_stub_fails_when_grading(self, monkeypatch):
        monkeypatch.setenv("RWLIB_GRADING", "1")
        for stub in (_stub, ...):
            with pytest.raises(AssertionError, match="not answered"):
                rw.check(self.grade_id, stub)


# --- The question states the precision the tolerance accepts (opt-in for converted lessons). ---

ROOT = Path(__file__).resolve().parent.parent


def question_text(grade_id: str) -> str:
    """The question of ``grade_id``: the last markdown cell before its answer cell."""
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        question = None
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                question = cell.source
            elif cell.metadata.get("nbgrader", {}).get("grade_id") == f"{grade_id}-answer":
                assert question is not None, f"{grade_id}: no question before the answer cell"
                return question
    raise AssertionError(f"no answer cell {grade_id}-answer in solutions/")


def round_significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    return float(f"{value:.{digits - 1}e}")


class StatedPrecisionContract:
    """The question states its tolerance in the tolerance's own words; subclasses give grade_id."""

    grade_id = ""

    def test_question_states_the_tolerance(self):
        tolerance = definition(self.grade_id).tolerance
        assert tolerance.describe() in " ".join(question_text(self.grade_id).split())


class NumberPrecisionContract(StatedPrecisionContract):
    """A number exercise: an answer rounded to the stated precision passes, one past it fails."""

    def test_answer_rounded_to_the_stated_precision_passes(self, capsys):
        exercise = definition(self.grade_id)
        value, tolerance = float(exercise.expected()), exercise.tolerance
        digits = tolerance.significant_digits()
        if digits is not None and tolerance.atol == 0:
            candidates = [round_significant(value, digits)]
        else:
            bound = tolerance.atol + tolerance.rtol * abs(value)
            candidates = [value + 0.99 * bound, value - 0.99 * bound]
        for answer in candidates:
            rw.check(self.grade_id, answer)
            assert f"✔ {self.grade_id}: right" in capsys.readouterr().out, answer

    def test_answer_just_past_the_tolerance_fails(self):
        exercise = definition(self.grade_id)
        value, tolerance = float(exercise.expected()), exercise.tolerance
        bound = tolerance.atol + tolerance.rtol * abs(value)
        for answer in (value + 1.1 * bound, value - 1.1 * bound):
            wrong_message(self.grade_id, answer)


class CountPrecisionContract(StatedPrecisionContract):
    """A count (``whole_number``): whole numbers inside the stated band pass, past it fail.

    The stated precision is a band of whole numbers around the exact count; a
    number that is not whole is refused with its own hint, even inside the band.
    """

    def band(self) -> tuple[float, float]:
        exercise = definition(self.grade_id)
        assert exercise.whole_number, f"{self.grade_id} is not a count"
        value, tolerance = float(exercise.expected()), exercise.tolerance
        assert value == round(value), "a count's expected value is a whole number"
        bound = tolerance.atol + tolerance.rtol * abs(value)
        return value - bound, value + bound

    def test_whole_numbers_at_the_edges_of_the_band_pass(self, capsys):
        low, high = self.band()
        for answer in {math.ceil(low), math.floor(high), int(np.mean(self.band()))}:
            rw.check(self.grade_id, answer)
            assert f"✔ {self.grade_id}: right" in capsys.readouterr().out, answer

    def test_whole_numbers_past_the_band_fail(self):
        low, high = self.band()
        for answer in (math.ceil(low) - 1, math.floor(high) + 1):  # the nearest ones outside
            if answer >= 0:
                wrong_message(self.grade_id, answer)

    def test_a_number_that_is_not_whole_is_refused(self):
        value = float(definition(self.grade_id).expected())
        assert "whole number" in wrong_message(self.grade_id, value + 0.25)
