"""rw.check and its verifier helpers: right, wrong with a hint, not answered yet."""

import math
import subprocess
import sys

import numpy as np
import pytest

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint


class TestCheck:
    def test_right_answer_prints_a_tick(self, capsys):
        rw.check("01-probability-of-b", 7 / 20)
        assert capsys.readouterr().out == "✔ 01-probability-of-b: right\n"

    def test_wrong_answer_raises_with_a_hint_and_not_the_answer(self):
        with pytest.raises(AssertionError, match="Hint: divide B's score") as error:
            rw.check("01-probability-of-b", 0.5)
        assert "0.35" not in str(error.value)

    def test_known_mistake_gets_its_own_hint(self):
        with pytest.raises(AssertionError, match="not A's score"):
            rw.check("01-probability-of-b", 7 / 12)

    def test_stub_is_not_answered_yet(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        rw.check("01-probability-of-b", ...)
        assert capsys.readouterr().out == "01-probability-of-b: not answered yet\n"

    def test_stub_fails_when_grading(self, monkeypatch):
        monkeypatch.setenv("RWLIB_GRADING", "1")
        with pytest.raises(AssertionError, match="not answered"):
            rw.check("01-probability-of-b", ...)

    def test_unknown_grade_id_lists_the_known_ones(self):
        with pytest.raises(
            ValueError, match=r"no exercise has the grade_id 'nope'; known ids: .*01-"
        ):
            rw.check("nope", 1.0)

    def test_grade_id_follows_nbgrader_rules(self):
        with pytest.raises(ValueError, match="only letters, digits"):
            exercise("04-beta-for-0.9")(lambda answer: None)

    def test_two_exercises_cannot_share_a_grade_id(self):
        with pytest.raises(ValueError, match="share the grade_id"):
            exercise("01-probability-of-b")(lambda answer: None)


def test_lessons_load_even_when_another_exercise_registered_first():
    """Regression: lesson checks were loaded only while the registry was empty."""
    program = (
        "from rwlib.checks import exercise\n"
        "exercise('00-registered-first')(lambda answer: None)\n"
        "import rwlib as rw\n"
        "rw.check('01-probability-of-b', 0.35)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stdout == "✔ 01-probability-of-b: right\n", done.stderr


class TestNumberHint:
    @pytest.mark.parametrize("answer", [0.35, np.float64(0.35), np.array(0.35), np.array([0.35])])
    def test_accepts_numbers_in_any_numpy_form(self, answer):
        assert number_hint(answer, 0.35, "hint") is None

    @pytest.mark.parametrize("answer", ["0.35", None, True, [0.35, 0.65], [0.35, [1.0]]])
    def test_rejects_what_is_not_one_number(self, answer):
        assert "single number" in number_hint(answer, 0.35, "hint")

    def test_rejects_nan(self):
        assert "finite" in number_hint(math.nan, 0.35, "hint")

    def test_relative_tolerance(self):
        assert number_hint(0.35 * (1 + 1e-7), 0.35, "hint") is None
        assert number_hint(0.35 * (1 + 1e-5), 0.35, "hint") == "hint"


class TestFunctionHint:
    cases = [((2.0,), 4.0), ((-3.0,), 9.0)]

    def test_right_function(self):
        assert function_hint(lambda x: x * x, self.cases, "square it") is None

    def test_wrong_function_names_the_arguments_not_the_result(self):
        hint = function_hint(lambda x: 2 * x, self.cases, "square it")
        assert hint.startswith("square it") and "(-3.0,)" in hint and "9.0" not in hint

    def test_a_crashing_function_is_reported(self):
        assert "ZeroDivisionError" in function_hint(lambda x: 1 / 0, self.cases, "square it")

    def test_not_a_function(self):
        assert "should be a function" in function_hint(4.0, self.cases, "square it")

    def test_wrong_shape_is_wrong(self):
        assert function_hint(lambda x: [x * x, x * x], self.cases, "square it") is not None

    def test_stub_function_propagates_not_implemented(self):
        def stub(x):
            raise NotImplementedError

        with pytest.raises(NotImplementedError):
            function_hint(stub, self.cases, "square it")
