"""What every auto-graded number exercise must do, shared by the lesson tests.

A lesson's test class subclasses :class:`CheckContract` and gives the exercise's
``grade_id``, its right answer (computed independently of rwlib) and the values
that known mistakes produce; the contract tests run for each.
"""

import math

import numpy as np
import pytest

import rwlib as rw


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
