"""Tests of lesson 09 (RLHF reaches pi*): its exercise checks and its figures.

Expected values come from routes written out here: the lexicon's mean by hand,
the natural gradient's closed-form iterates (pi_k proportional to
pi*^(1 - a^k) pi_ref^(a^k), a = 1 - eta beta), and the gap between two pi*s from
the reward error alone. The learned reward is rlhf.fit_reward_model's, which
tests/test_rlhf.py checks against theory.
"""

import math

import numpy as np
import pytest
from exercise_contract import (
    CheckContract,
    CountPrecisionContract,
    FunctionCheckContract,
    NumberPrecisionContract,
    StatedPrecisionContract,
    wrong_message,
)
from matplotlib.figure import Figure

import rwlib as rw
from rwlib import rlhf
from rwlib.plots import rlhf as rlhf_plots


def course():
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def sentences():
    """(log pi_ref, true reward, learned reward) of every two-word sentence, the lesson's data."""
    model, token_reward = course()
    pairs = rlhf.sample_preferences(model, token_reward, 2, 4000, np.random.default_rng(2024))
    theta = rlhf.fit_reward_model(*pairs, 46)
    ids, log_ref = model.enumerate(2)
    return log_ref, token_reward[ids].sum(axis=1), theta[ids].sum(axis=1)


def normalized(log_weights):
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def kl(p, q) -> float:
    return float(np.sum(p * np.log(p / q)))


def lexicon_mean() -> float:
    return sum(rw.sentiment_lexicon().values()) / 46


def steps_by_closed_form(beta, step_size) -> int:
    log_ref, _, learned = sentences()
    star = normalized(log_ref + learned / beta)
    a = 1 - step_size * beta
    for k in range(200):
        if kl(normalized((1 - a**k) * np.log(star) + a**k * log_ref), star) < 1e-3:
            return k
    raise AssertionError("no step reaches 1e-3")


def gap_by_formula(beta) -> float:
    log_ref, true, learned = sentences()
    star, star_hat = normalized(log_ref + true / beta), normalized(log_ref + learned / beta)
    delta = (learned - true) / beta
    return float(star_hat @ delta - np.log(star @ np.exp(delta)))


class TestRewardShift(CheckContract, NumberPrecisionContract):
    grade_id = "09-reward-shift"

    def right(self):
        return -3 * lexicon_mean()

    def mistakes(self):
        return [-lexicon_mean(), -2 * lexicon_mean(), 3 * lexicon_mean(), 0.0]

    def test_the_shift_is_minus_three_times_two_over_46(self):
        assert math.isclose(self.right(), -6 / 46, rel_tol=1e-12)


class TestStepsToTarget(CheckContract, CountPrecisionContract):
    grade_id = "09-steps-to-target"

    def right(self):
        return steps_by_closed_form(0.5, 0.4)

    def mistakes(self):
        k = self.right()
        return [k - 1, k + 1, steps_by_closed_form(1.0, 0.4)]

    def test_integer_answer_passes(self, capsys):
        rw.check(self.grade_id, int(self.right()))
        assert "✔" in capsys.readouterr().out


class TestKlGap(CheckContract, NumberPrecisionContract):
    grade_id = "09-kl-gap"

    def right(self):
        return gap_by_formula(2.0)

    def mistakes(self):
        log_ref, true, learned = sentences()
        star, star_hat = normalized(log_ref + true / 2), normalized(log_ref + learned / 2)
        return [kl(star, star_hat), gap_by_formula(1.0), kl(star_hat, np.exp(log_ref))]

    def test_a_larger_beta_gives_a_smaller_gap(self):
        assert gap_by_formula(2.0) < gap_by_formula(1.0) < gap_by_formula(0.5)


def gradient_by_jacobian(logits, ref, rewards, beta):
    """dJ/dtheta = (diag(pi) - pi pi^T) dJ/dpi, with dJ/dpi = r - beta (log(pi/ref) + 1)."""
    pi = np.exp(logits - logits.max())
    pi = pi / pi.sum()
    d_pi = rewards - beta * (np.log(pi / ref) + 1)
    return (np.diag(pi) - np.outer(pi, pi)) @ d_pi


class TestPolicyGradientExercise(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "09-policy-gradient"

    def test_the_jacobian_route_passes(self, capsys):
        rw.check(self.grade_id, gradient_by_jacobian)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "wrong",
        [
            lambda t, ref, r, b: (p := np.exp(t) / np.exp(t).sum()) * (r - p @ r),  # no KL term
            lambda t, ref, r, b: -gradient_by_jacobian(t, ref, r, b),  # descent direction
            lambda t, ref, r, b: r - b * (t - np.log(ref)),  # no softmax derivative
            lambda t, ref, r, b: gradient_by_jacobian(t, ref, r, b)[:-1],  # wrong shape
        ],
    )
    def test_wrong_functions_get_a_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Hint" in message and "minus its average" in message

    def test_rlhf_is_not_allowed(self):
        def with_rwlib(logits, ref, rewards, beta):
            return rlhf.policy_gradient(logits, np.log(ref), rewards, beta)

        assert "no rwlib" in wrong_message(self.grade_id, with_rwlib)


def assert_labelled(ax) -> None:
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


class TestPlotRewardModelError:
    def test_mean_line_and_reference_slope(self):
        fig = rlhf_plots.plot_reward_model_error(
            [100, 400, 1600], [[1.0, 0.5, 0.3], [1.2, 0.7, 0.3]]
        )
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        mean, reference = ax.get_lines()[:2]
        np.testing.assert_allclose(mean.get_ydata(), [1.1, 0.6, 0.3])
        np.testing.assert_allclose(reference.get_ydata(), [1.1, 0.55, 0.275])
        assert mean.get_marker() == "o" and ax.get_xscale() == "log"

    def test_bad_errors_raise(self):
        with pytest.raises(ValueError, match="errors"):
            rlhf_plots.plot_reward_model_error([1, 2], [[1.0, -1.0]])


class TestPlotKlCurves:
    def test_curves_floors_and_target(self):
        fig = rlhf_plots.plot_kl_curves(
            {"a": [1.0, 0.1, 0.0], "b": [1.0, 0.5, 0.2]}, "t", {"f": 0.05}
        )
        ax = fig.axes[0]
        assert_labelled(ax)
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["a", "b", "f", "KL = 0.001"]
        assert lines[0].get_marker() != lines[1].get_marker()  # not colour alone
        assert lines[0].get_ydata()[-1] == 1e-12  # an exact 0 drawn at the bottom of the log axis
        assert lines[3].get_ydata()[0] == 1e-3

    def test_negative_kl_raises(self):
        with pytest.raises(ValueError, match="nonnegative"):
            rlhf_plots.plot_kl_curves({"a": [1.0, -0.1]}, "t")


class TestPlotPolicyOptimization:
    REF = np.log([0.5, 0.3, 0.2])
    LEARNED, TRUE = np.array([1.0, 0.0, 0.5]), np.array([1.0, 0.0, 0.0])

    def test_curves_follow_the_closed_form(self):
        fig = rlhf_plots.plot_policy_optimization(1.0, 0.5, self.REF, self.LEARNED, self.TRUE, 10)
        ax = fig.axes[0]
        assert_labelled(ax)
        star = normalized(self.REF + self.LEARNED)
        star_true = normalized(self.REF + self.TRUE)
        expected = [
            max(kl(normalized((1 - 0.5**k) * np.log(star) + 0.5**k * self.REF), star), 1e-12)
            for k in range(11)
        ]
        to_learned, to_true, floor = ax.get_lines()[:3]
        np.testing.assert_allclose(to_learned.get_ydata(), expected, rtol=1e-6, atol=1e-12)
        last = normalized((1 - 0.5**10) * np.log(star) + 0.5**10 * self.REF)
        assert math.isclose(to_true.get_ydata()[-1], kl(last, star_true), rel_tol=1e-6)
        assert math.isclose(floor.get_ydata()[0], kl(star, star_true), rel_tol=1e-9)

    def test_title_names_the_contraction_factor(self):
        fig = rlhf_plots.plot_policy_optimization(0.5, 1.0, self.REF, self.LEARNED, self.TRUE)
        assert "|1 − ηβ| = 0.5" in fig.axes[0].get_title()

    def test_moving_beta_changes_the_floor(self):
        low = rlhf_plots.plot_policy_optimization(0.3, 0.5, self.REF, self.LEARNED, self.TRUE)
        high = rlhf_plots.plot_policy_optimization(3.0, 0.2, self.REF, self.LEARNED, self.TRUE)
        assert (
            low.axes[0].get_lines()[2].get_ydata()[0] > high.axes[0].get_lines()[2].get_ydata()[0]
        )


class TestPlotOverOptimization:
    def test_peak_marker_and_title(self):
        fig = rlhf_plots.plot_over_optimization([4.0, 0.0, 1.0], [2.0, 0.0, 1.0], [0.5, 0.0, 0.8])
        ax = fig.axes[0]
        assert_labelled(ax)
        proxy, gold, peak = ax.get_lines()
        np.testing.assert_allclose(proxy.get_xdata(), [0.0, 1.0, 2.0])  # sorted, sqrt(KL)
        np.testing.assert_allclose(gold.get_ydata(), [0.0, 0.8, 0.5])
        assert peak.get_ydata()[0] == 0.8
        assert "peaks at 0.8" in ax.get_title() and "ends at 0.5" in ax.get_title()

    def test_lengths_must_match(self):
        with pytest.raises(ValueError, match="same length"):
            rlhf_plots.plot_over_optimization([0.0, 1.0], [0.0, 1.0], [0.0, 1.0, 2.0])
