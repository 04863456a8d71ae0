"""rw.check and its verifier helpers: right, wrong with a hint, not answered yet."""

import math
import subprocess
import sys

import numpy as np
import pytest

import rwlib as rw
from rwlib.checks import PUBLIC_CASE, FunctionExercise, NumberExercise, Tolerance, exercise, verify


class TestCheck:
    def test_right_answer_prints_a_tick(self, capsys):
        rw.check("01-sum-b-with-d", 7 / 31)
        assert capsys.readouterr().out == "✔ 01-sum-b-with-d: right\n"

    def test_wrong_answer_raises_with_a_hint_and_not_the_answer(self):
        with pytest.raises(AssertionError, match="Hint: B's share") as error:
            rw.check("01-sum-b-with-d", 0.5)
        assert "0.2258" not in str(error.value) and "7 / 31" not in str(error.value)

    def test_known_mistake_gets_its_own_hint(self):
        with pytest.raises(AssertionError, match="not A's score"):
            rw.check("01-sum-b-with-d", 7 / 12)

    def test_stub_is_not_answered_yet(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        rw.check("01-sum-b-with-d", ...)
        assert capsys.readouterr().out == "01-sum-b-with-d: not answered yet\n"

    def test_stub_fails_when_grading(self, monkeypatch):
        monkeypatch.setenv("RWLIB_GRADING", "1")
        with pytest.raises(AssertionError, match="not answered"):
            rw.check("01-sum-b-with-d", ...)

    def test_unknown_grade_id_lists_the_known_ones(self):
        with pytest.raises(
            ValueError, match=r"no exercise has the grade_id 'nope'; known ids: .*01-"
        ):
            rw.check("nope", 1.0)

    def test_grade_id_follows_nbgrader_rules(self):
        with pytest.raises(ValueError, match="only letters, digits"):
            exercise(_number("04-beta-for-0.9"))

    def test_two_exercises_cannot_share_a_grade_id(self):
        with pytest.raises(ValueError, match="share the grade_id"):
            exercise(_number("01-sum-b-with-d"))


def test_lessons_load_even_when_another_exercise_registered_first():
    """Regression: lesson checks were loaded only while the registry was empty."""
    program = (
        "from rwlib.checks import NumberExercise, Tolerance, exercise\n"
        "exercise(NumberExercise('00-first', lambda: 1.0, Tolerance(rtol=1e-6), 'h'))\n"
        "import rwlib as rw\n"
        "rw.check('01-sum-b-with-d', 7 / 31)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.stdout == "✔ 01-sum-b-with-d: right\n", done.stderr


TIGHT = Tolerance(rtol=5e-6)


def _number(grade_id="00-test-number", **kwargs):
    return NumberExercise(grade_id, lambda: 0.35, TIGHT, "divide by the sum", **kwargs)


def _square(**kwargs):
    return FunctionExercise(
        "00-test-square",
        reference=lambda x: x * x,
        examples=[(2.0,), (-3.0,)],
        hidden_cases={PUBLIC_CASE: 1},
        tolerance=Tolerance(rtol=1e-9),
        hint="square it",
        **kwargs,
    )


class TestNumbers:
    @pytest.mark.parametrize(
        "answer",
        [
            0.35,
            np.float64(0.35),
            np.float32(0.35),
            np.array(0.35),
            np.array([0.35]),
            np.array([0.1, 0.35])[1:2],
            [0.35],
        ],
    )
    def test_accepts_numbers_in_any_numpy_form(self, answer):
        assert verify(_number(), answer) is None

    @pytest.mark.parametrize("answer", ["0.35", None, True, [0.35, 0.65], [0.35, [1.0]], 1j])
    def test_rejects_what_is_not_one_real_number(self, answer):
        assert "the answer should be" in verify(_number(), answer)

    def test_rejects_nan(self):
        assert "finite" in verify(_number(), math.nan)

    def test_the_stated_precision_is_what_is_accepted(self):
        assert TIGHT.describe() == "6 significant digits (a relative error of at most 5e-06)"
        assert verify(_number(), 0.350001) is None  # 0.35 to 6 significant digits, and more
        assert verify(_number(), 0.35 * (1 + 4.9e-6)) is None
        assert "only 5 significant digits agree" in verify(_number(), 0.35 * (1 + 6e-6))

    def test_a_known_mistake_gets_its_hint(self):
        exercise = _number(mistakes=lambda: [(7 / 12, "not A's score")])
        assert verify(exercise, 7 / 12) == "not A's score"
        assert verify(exercise, 0.9) == "divide by the sum"

    def test_a_count_must_be_whole(self):
        count = NumberExercise(
            "00-count", lambda: 12.0, Tolerance(rtol=0.1), "count", whole_number=True
        )
        assert verify(count, 12) is None and verify(count, np.int64(12)) is None
        assert "whole number" in verify(count, 12.5)


class TestFunctions:
    def test_right_function(self):
        assert verify(_square(), lambda x: x * x) is None

    def test_wrong_function_names_the_example_not_the_result(self):
        hint = verify(_square(), lambda x: 2 * x)
        assert hint.startswith("square it") and "(-3.0,)" in hint and "9.0" not in hint

    def test_a_crashing_function_is_reported(self):
        assert "ZeroDivisionError" in verify(_square(), lambda x: 1 / 0)

    def test_not_a_function(self):
        assert "should be a function" in verify(_square(), 4.0)

    def test_wrong_shape_is_wrong(self):
        assert verify(_square(), lambda x: [x * x, x * x]) is not None

    def test_stub_function_propagates_not_implemented(self):
        def stub(x):
            raise NotImplementedError

        with pytest.raises(NotImplementedError):
            verify(_square(), stub)

    def test_a_from_scratch_exercise_refuses_rwlib(self):
        exercise = _square(allowed_modules=("numpy", "math"))
        assert verify(exercise, lambda x: np.square(x)) is None
        assert "no rwlib" in verify(exercise, lambda x: rw.softmax(np.array([x]))[0] * 0 + x * x)
        assert "no rwlib" in verify(exercise, rw.softmax)

    def test_hidden_cases_must_hold_the_public_examples(self):
        with pytest.raises(ValueError, match="the check's examples"):
            FunctionExercise("00-x", abs, [(1,)], {"other": 1}, Tolerance(rtol=1e-9), "h")
