"""Tests of notebook 01: its exercise checks (lesson01) and its figures (rwlib.plots.scores).

Expected values come from closed forms written with ``math`` or from a 50-digit
mpmath computation, never from the verifier or the plotting code under test.
"""

import math

import mpmath
import numpy as np
import pytest
from exercise_contract import (
    FunctionCheckContract,
    NumberPrecisionContract,
    StatedPrecisionContract,
    assert_hides,
    wrong_message,
)
from matplotlib.figure import Figure

import rwlib as rw
from rwlib import plots
from rwlib.plots import scores


class StubBehaviour:
    """Shared: a stub is "not answered yet", and wrong when grading."""

    grade_id = ""
    stub: object = ...

    def test_stub_is_not_answered_yet(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        rw.check(self.grade_id, self.stub)
        assert capsys.readouterr().out.strip() == f"{self.grade_id}: not answered yet"

    def test_stub_is_wrong_when_grading(self, monkeypatch):
        monkeypatch.setenv("RWLIB_GRADING", "1")
        with pytest.raises(AssertionError, match="not answered"):
            rw.check(self.grade_id, self.stub)


# --------------------------------------------------------------------------- exercise checks


class TestSumBWithD(StubBehaviour, NumberPrecisionContract):
    grade_id = "01-sum-b-with-d"
    expected = 7 / (12 + 7 + 1 + 11)

    def test_right_answer_passes(self, capsys):
        rw.check(self.grade_id, self.expected)
        assert capsys.readouterr().out.strip() == f"✔ {self.grade_id}: right"

    def test_numpy_scalar_passes(self, capsys):
        rw.check(self.grade_id, np.float64(7) / 31)
        assert "✔" in capsys.readouterr().out

    def test_wrong_answer_hints_without_the_answer(self):
        message = wrong_message(self.grade_id, 0.6)
        assert "total score" in message
        assert_hides(message, self.expected)

    def test_forgetting_d_gets_its_own_hint(self):
        message = wrong_message(self.grade_id, 7 / 20)
        assert "D's score counts" in message
        assert_hides(message, self.expected)

    def test_softmax_gets_its_own_hint(self):
        softmax_b = 1 / (1 + math.exp(5) + math.exp(-6) + math.exp(4))
        message = wrong_message(self.grade_id, softmax_b)
        assert "divided by their sum" in message
        assert_hides(message, self.expected)


class TestLogitDHalvesOthers(StubBehaviour, NumberPrecisionContract):
    grade_id = "01-logit-d-halves-others"
    # e^d = e^12 + e^7 + e^1, at 50 digits.
    with mpmath.workdps(50):
        expected = float(mpmath.log(mpmath.exp(12) + mpmath.exp(7) + mpmath.exp(1)))

    def test_right_answer_passes_and_halves_every_probability(self, capsys):
        rw.check(self.grade_id, self.expected)
        assert capsys.readouterr().out.strip() == f"✔ {self.grade_id}: right"
        np.testing.assert_allclose(
            mpmath_softmax([12, 7, 1, self.expected])[:3],
            mpmath_softmax([12, 7, 1]) / 2,
            rtol=1e-12,
        )

    def test_wrong_answer_hints_the_idea_without_the_answer(self):
        message = wrong_message(self.grade_id, 11.0)
        assert "share" in message and "logsumexp" not in message
        assert_hides(message, self.expected)

    def test_d_as_likely_as_a_gets_its_own_hint(self):
        message = wrong_message(self.grade_id, 12.0)
        assert "B and C keep more than half" in message
        assert_hides(message, self.expected)

    def test_adding_the_logits_gets_its_own_hint(self):
        message = wrong_message(self.grade_id, math.log(20.0))
        assert "log-weights" in message
        assert_hides(message, self.expected)

    def test_an_array_is_not_a_number(self):
        message = wrong_message(self.grade_id, np.array([12.0, 7.0]))
        assert "single number" in message


def mpmath_softmax(logits):
    """Softmax at 50 digits, a route that shares nothing with rwlib's."""
    with mpmath.workdps(50):
        weights = [mpmath.exp(mpmath.mpf(z)) for z in logits]
        total = mpmath.fsum(weights)
        return np.array([float(w / total) for w in weights])


def not_implemented(logits):
    raise NotImplementedError


def math_softmax(logits):
    """Softmax with the max-shift, in plain Python with math (a from-scratch answer)."""
    top = max(logits)
    weights = [math.exp(z - top) for z in logits]
    total = math.fsum(weights)
    return np.array([w / total for w in weights])


class TestStableSoftmax(StubBehaviour, FunctionCheckContract, StatedPrecisionContract):
    grade_id = "01-stable-softmax"
    stub = staticmethod(not_implemented)

    def test_right_function_passes(self, capsys):
        rw.check(self.grade_id, math_softmax)
        assert capsys.readouterr().out.strip() == f"✔ {self.grade_id}: right"

    def test_the_reference_agrees_with_a_50_digit_softmax(self):
        for (logits,) in rw.checks.definition(self.grade_id).examples:
            np.testing.assert_allclose(
                rw.softmax(logits), mpmath_softmax(logits), rtol=1e-14, atol=0
            )

    @pytest.mark.parametrize(
        ("borrowed", "name"),
        [
            (lambda logits: rw.softmax(logits), "rw"),
            (lambda logits: np.array([float(mpmath.mpf(z)) for z in logits]), "mpmath"),
        ],
    )
    def test_a_function_using_another_module_breaks_the_rule(self, borrowed, name):
        message = wrong_message(self.grade_id, borrowed)
        assert "numpy and math only" in message and f"the module {name}" in message

    def test_hidden_cases_grade_a_stable_function_and_fail_a_naive_one(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        cases = {
            "large logits": [(np.array([700.0, 710.0, 705.0]),)],
            "equal logits": [(np.array([-2.0, -2.0, -2.0]),)],
        }
        rw.grade_function(self.grade_id, math_softmax, cases)
        assert capsys.readouterr().out.count("grading values: ") == 3

        def naive(logits):
            return np.exp(logits) / np.exp(logits).sum()

        with np.errstate(over="ignore", invalid="ignore"):
            with pytest.raises(AssertionError, match="hidden cases failed: .*large logits"):
                rw.grade_function(self.grade_id, naive, cases)

    def test_ellipsis_stub_is_not_answered_yet(self, capsys):
        rw.check(self.grade_id, ...)
        assert "not answered yet" in capsys.readouterr().out

    def test_naive_softmax_fails_on_large_logits(self):
        def naive(logits):
            return np.exp(logits) / np.exp(logits).sum()

        # The check does not silence numpy's overflow warning in the student's function.
        with np.errstate(over="ignore", invalid="ignore"):
            message = wrong_message(self.grade_id, naive)
        assert "overflowing" in message
        assert "example 2" in message and "1000" in message
        assert_hides(message, 1 / (1 + math.e))
        assert_hides(message, math.e / (1 + math.e))

    def test_an_overflow_warning_raised_as_an_error_is_reported(self):
        def naive(logits):
            return np.exp(logits) / np.exp(logits).sum()

        with np.errstate(over="raise", invalid="raise"):
            message = wrong_message(self.grade_id, naive)
        assert "FloatingPointError" in message and "example 2" in message

    def test_a_function_that_raises_gets_the_error_in_its_hint(self):
        def broken(logits):
            return logits.nonexistent

        assert "AttributeError" in wrong_message(self.grade_id, broken)

    def test_wrong_shape_fails(self):
        def as_column(logits):
            return mpmath_softmax(logits).reshape(-1, 1)

        assert "not right for example 1" in wrong_message(self.grade_id, as_column)

    def test_not_a_function_fails(self):
        assert "should be a function" in wrong_message(self.grade_id, [0.5, 0.5])


def p_a(temperature):
    return 1 / (1 + math.exp(-5 / temperature) + math.exp(-11 / temperature))


def temperature_p_a_90() -> float:
    """Solve 1 / (1 + e^(-5/T) + e^(-11/T)) = 0.9 at 50 digits with mpmath's root finder."""
    with mpmath.workdps(50):
        root = mpmath.findroot(
            lambda t: 1 / (1 + mpmath.exp(-5 / t) + mpmath.exp(-11 / t)) - mpmath.mpf("0.9"), 2
        )
        return float(root)


class TestTemperaturePA90(StubBehaviour, NumberPrecisionContract):
    grade_id = "01-temperature-p-a-90"

    def test_reference_solves_the_equation(self):
        assert p_a(temperature_p_a_90()) == pytest.approx(0.9, rel=1e-14)

    def test_right_answer_passes(self, capsys):
        rw.check(self.grade_id, temperature_p_a_90())
        assert capsys.readouterr().out.strip() == f"✔ {self.grade_id}: right"

    def test_answer_within_a_twentieth_of_a_percent_passes(self, capsys):
        rw.check(self.grade_id, temperature_p_a_90() * 1.0005)
        assert "✔" in capsys.readouterr().out

    def test_answer_within_the_tenth_of_a_percent_passes(self, capsys):
        # The question asks for a relative error of at most 0.001: a fine grid's answer.
        for factor in (1 - 9.9e-4, 1 + 9.9e-4):
            rw.check(self.grade_id, temperature_p_a_90() * factor)
            assert "✔" in capsys.readouterr().out

    def test_answer_a_little_more_off_fails(self):
        for factor in (1 - 1.2e-3, 1 + 1.2e-3):
            wrong_message(self.grade_id, temperature_p_a_90() * factor)

    def test_answer_half_a_percent_off_is_close_but_wrong(self):
        expected = temperature_p_a_90()
        message = wrong_message(self.grade_id, expected * 1.005)
        assert "close, but" in message and "at most 0.001" in message
        assert_hides(message, expected)

    def test_answer_far_off_gets_the_hint_without_the_answer(self):
        expected = temperature_p_a_90()
        message = wrong_message(self.grade_id, expected * 1.5)
        assert "bisection" in message
        assert_hides(message, expected)

    def test_multiplying_by_t_gets_its_own_hint(self):
        expected = temperature_p_a_90()
        message = wrong_message(self.grade_id, 1 / expected)
        assert "multiplied" in message
        assert_hides(message, expected)

    def test_t_equal_one_gets_its_own_hint(self):
        message = wrong_message(self.grade_id, 1.0)
        assert "larger T" in message
        assert_hides(message, temperature_p_a_90())


# --------------------------------------------------------------------------- figures


def bar_heights(ax):
    return np.array([patch.get_height() for patch in ax.patches])


class TestPlotTwoRules:
    def test_returns_a_figure_with_title_and_labels(self):
        fig = scores.plot_two_rules([12, 7, 1])
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert ax.get_title() == "The same scores (12, 7, 1) under two rules"
        assert ax.get_xlabel() == "outcome"
        assert ax.get_ylabel() == "probability"

    def test_bars_are_the_two_distributions(self):
        ax = scores.plot_two_rules([12, 7, 1]).axes[0]
        total = math.exp(12) + math.exp(7) + math.exp(1)
        expected = [12 / 20, 7 / 20, 1 / 20, math.exp(12) / total, math.exp(7) / total]
        expected.append(math.exp(1) / total)
        np.testing.assert_allclose(bar_heights(ax), expected, rtol=1e-13)

    def test_bar_labels_show_p_b_under_both_rules(self):
        ax = scores.plot_two_rules([12, 7, 1]).axes[0]
        texts = {text.get_text() for text in ax.texts}
        assert {"0.35", "0.0067"} <= texts

    def test_rules_are_told_apart_by_legend_and_hatching(self):
        ax = scores.plot_two_rules([12, 7, 1]).axes[0]
        legend = [text.get_text() for text in ax.get_legend().get_texts()]
        assert legend == ["divide by the sum", "softmax"]
        hatches = {patch.get_hatch() for patch in ax.patches}
        assert len(hatches) == 2

    def test_tick_labels_name_outcomes_and_scores(self):
        ax = scores.plot_two_rules([2.5, 1.0], labels=["yes", "no"]).axes[0]
        ticks = [tick.get_text() for tick in ax.get_xticklabels()]
        assert ticks == ["yes\nscore 2.50", "no\nscore 1.00"]
        assert "(2.50, 1.00)" in ax.get_title()

    def test_wrong_number_of_labels_raises(self):
        with pytest.raises(ValueError, match="labels"):
            scores.plot_two_rules([12, 7, 1], labels=["A", "B"])

    def test_negative_scores_raise(self):
        with pytest.raises(ValueError, match="nonnegative"):
            scores.plot_two_rules([3, 2, -4])


class TestPlotSoftmaxShiftTemperature:
    def test_returns_a_figure_with_title_and_labels(self):
        fig = scores.plot_softmax_shift_temperature()
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        weights = [math.exp(z) for z in (12, 7, 1)]
        shown = ", ".join(f"{w / sum(weights):.3g}" for w in weights)
        assert ax.get_title() == f"c = 0, T = 1: P = ({shown})"
        assert shown.endswith("1.66e-05")  # three significant digits: C is not printed as 0
        assert ax.get_xlabel() == "outcome"
        assert "probability" in ax.get_ylabel()

    def test_bars_are_softmax_of_shifted_scaled_logits(self):
        ax = scores.plot_softmax_shift_temperature([12, 7, 1], shift=3.0, temperature=4.0).axes[0]
        weights = [math.exp((z + 3.0) / 4.0) for z in (12, 7, 1)]
        expected = [w / sum(weights) for w in weights]
        np.testing.assert_allclose(bar_heights(ax)[:3], expected, rtol=1e-13)

    def test_title_shows_parameters_and_probabilities(self):
        ax = scores.plot_softmax_shift_temperature([12, 7, 1], shift=-2.5, temperature=5.0).axes[0]
        weights = [math.exp(z / 5.0) for z in (12, 7, 1)]
        shown = ", ".join(f"{w / sum(weights):.3g}" for w in weights)
        assert ax.get_title() == f"c = -2.5, T = 5: P = ({shown})"

    @pytest.mark.parametrize("temperature", plots.log_steps(0.1, 100))
    def test_title_shows_the_temperature_the_bars_use(self, temperature):
        """Regression: the title rounded T to 2 decimals while the bars used the exact T."""
        ax = scores.plot_softmax_shift_temperature([12, 7, 1], temperature=temperature).axes[0]
        shown = float(ax.get_title().split("T = ")[1].split(":")[0])
        weights = [math.exp(z / shown) for z in (12, 7, 1)]
        np.testing.assert_allclose(bar_heights(ax), [w / sum(weights) for w in weights], rtol=1e-13)

    def test_shift_changes_only_the_tick_labels(self):
        plain = scores.plot_softmax_shift_temperature(shift=0.0, temperature=2.0).axes[0]
        shifted = scores.plot_softmax_shift_temperature(shift=7.0, temperature=2.0).axes[0]
        np.testing.assert_allclose(bar_heights(shifted), bar_heights(plain), rtol=1e-12)
        ticks = [tick.get_text() for tick in shifted.get_xticklabels()]
        assert ticks == ["A\nlogit + c = 19.0", "B\nlogit + c = 14.0", "C\nlogit + c = 8.0"]
        assert plain.get_title().split(":")[1] == shifted.get_title().split(":")[1]

    def test_temperature_changes_the_title(self):
        cold = scores.plot_softmax_shift_temperature(temperature=0.1).axes[0].get_title()
        hot = scores.plot_softmax_shift_temperature(temperature=100.0).axes[0].get_title()
        assert cold.startswith("c = 0, T = 0.1: P = (1, 1.93e-22, ")
        assert hot.endswith("P = (0.351, 0.334, 0.315)")

    def test_large_logits_do_not_overflow(self):
        ax = scores.plot_softmax_shift_temperature([1000, 1001], temperature=1.0).axes[0]
        np.testing.assert_allclose(
            bar_heights(ax), [1 / (1 + math.e), math.e / (1 + math.e)], rtol=1e-13
        )

    @pytest.mark.parametrize("temperature", [0.0, -1.0, math.inf, math.nan])
    def test_bad_temperature_raises(self, temperature):
        with pytest.raises(ValueError, match="temperature"):
            scores.plot_softmax_shift_temperature(temperature=temperature)
