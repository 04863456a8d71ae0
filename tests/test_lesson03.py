"""Tests of lesson 03: the exercise checks (rwlib.exercises.lesson03) and its figures.

Expected values come from closed forms written out here with ``math`` (or from a
bisection over ``rw.reward_weighted``, a different route from the checks' closed
forms), never from the code under test.
"""

import math
import re

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import pytest
from exercise_contract import (
    FunctionCheckContract,
    NumberPrecisionContract,
    StatedPrecisionContract,
    wrong_message,
)
from matplotlib.figure import Figure

import rwlib as rw
from rwlib.plots import distribution


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def assert_right(capsys, grade_id, answer):
    rw.check(grade_id, answer)
    assert f"✔ {grade_id}: right" in capsys.readouterr().out


def assert_does_not_reveal(message, expected):
    """No rounding of ``expected`` (2 to 12 decimals, or its repr) appears in ``message``."""
    forms = {repr(expected), str(expected)} | {f"{expected:.{k}f}" for k in range(2, 13)}
    for form in forms:
        assert form not in message, f"the hint gives away {form!r}: {message}"


def assert_stub_behaviour(capsys, monkeypatch, grade_id, stub):
    rw.check(grade_id, stub)
    assert f"{grade_id}: not answered yet" in capsys.readouterr().out
    monkeypatch.setenv("RWLIB_GRADING", "1")
    with pytest.raises(AssertionError, match="not answered"):
        rw.check(grade_id, stub)


def bisect(function, low, high, steps=200):
    """The root of an increasing ``function`` between ``low`` and ``high``."""
    assert function(low) < 0 < function(high)
    for _ in range(steps):
        middle = (low + high) / 2
        if function(middle) < 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


# The six summaries of section 3.
SUMMARY_REF = (0.15, 0.30, 0.25, 0.20, 0.08, 0.02)
SUMMARY_REWARDS = (3.0, 1.5, 0.5, 1.0, -2.0, -3.0)


# pi*(y1) of (0.6, 0.4), rewards (2, 1): 1 / (1 + (0.4/0.6) e^{-(2-1)/beta}).
def pi_y1(beta):
    return 1 / (1 + (0.4 / 0.6) * math.exp(-1 / beta))


def upbeat_break_even(weights_of=SUMMARY_REF):
    """beta with sum_y pi(y) e^(r(y)/beta) = e^(1.5/beta), by mpmath's root finder at 30 digits."""
    with mpmath.workdps(30):
        rewards = [mpmath.mpf(r) for r in SUMMARY_REWARDS]

        def gap(beta):
            z = mpmath.fsum(
                mpmath.mpf(p) * mpmath.exp(r / beta)
                for p, r in zip(weights_of, rewards, strict=True)
            )
            return beta * mpmath.log(z) - rewards[1]

        return float(mpmath.findroot(gap, (1.0, 3.0), solver="bisect"))


class TestUpbeatBreaksEven(NumberPrecisionContract):
    grade_id = "03-upbeat-breaks-even"
    expected = upbeat_break_even()

    def test_at_that_beta_upbeat_keeps_its_reference_probability(self):
        pi = rw.reward_weighted(SUMMARY_REF, SUMMARY_REWARDS, self.expected)
        assert pi[1] == pytest.approx(SUMMARY_REF[1], rel=1e-12)

    def test_right_answer_passes(self, capsys):
        assert_right(capsys, self.grade_id, self.expected)

    def test_wrong_answer_gets_the_idea_without_the_answer(self):
        message = wrong_message(self.grade_id, 1.0)
        assert "threshold" in message and "log Z" not in message
        assert_does_not_reveal(message, self.expected)

    @pytest.mark.parametrize(
        ("answer", "hint"),
        [
            (1 / upbeat_break_even(), "1 / beta"),
            (upbeat_break_even((1 / 6,) * 6), "not uniformly"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, answer, hint):
        message = wrong_message(self.grade_id, answer)
        assert hint in message
        assert_does_not_reveal(message, self.expected)

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(capsys, monkeypatch, self.grade_id, ...)


class TestHalfMassReward(NumberPrecisionContract):
    grade_id = "03-half-mass-reward"
    ref3 = [0.6, 0.4 - 1e-6, 1e-6]

    @classmethod
    def expected(cls):
        def excess(r):
            return rw.reward_weighted(cls.ref3, [2.0, 1.0, r])[2] - 0.5

        return bisect(excess, 0.0, 100.0)

    def test_bisection_over_rwlib_passes(self, capsys):
        assert_right(capsys, self.grade_id, self.expected())

    def test_closed_form_passes(self, capsys):
        # 1e-6 e^r = 0.6 e^2 + (0.4 - 1e-6) e: the new output's weight equals all the others'.
        closed = math.log((0.6 * math.exp(2) + (0.4 - 1e-6) * math.e) / 1e-6)
        assert_right(capsys, self.grade_id, closed)

    def test_wrong_answer_gets_a_hint_without_the_answer(self):
        message = wrong_message(self.grade_id, 20.0)
        assert "all the other outputs together" in message
        assert_does_not_reveal(message, self.expected())

    @pytest.mark.parametrize(
        ("answer", "hint"),
        [
            (6 * math.log(10), "other outputs' weights"),
            (2 + math.log(0.6e6), "as likely as y1"),
            (math.log10((0.6 * math.exp(2) + 0.4 * math.e) / 1e-6), "natural log"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, answer, hint):
        message = wrong_message(self.grade_id, answer)
        assert hint in message
        assert_does_not_reveal(message, self.expected())

    def test_answer_off_by_a_thousandth_is_wrong(self):
        wrong_message(self.grade_id, self.expected() + 1e-3)

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(capsys, monkeypatch, self.grade_id, ...)


class TestEqualCompletions(NumberPrecisionContract):
    grade_id = "03-equal-completions"
    # 0.25 e^{r/0.5} = 0.15 e^{3/0.5}  =>  r = 3 + 0.5 log(0.15 / 0.25) = 3 + 0.5 log 0.6.
    expected = 3 + 0.5 * math.log(0.6)

    def test_right_answer_passes_and_equalises_the_two(self, capsys):
        ref = [0.15, 0.30, 0.25, 0.20, 0.08, 0.02]
        pi = rw.reward_weighted(ref, [3.0, 1.5, self.expected, 1.0, -2.0, -3.0], beta=0.5)
        assert pi[2] == pytest.approx(pi[0], rel=1e-12)
        assert_right(capsys, self.grade_id, self.expected)

    def test_wrong_answer_gets_a_hint_without_the_answer(self):
        message = wrong_message(self.grade_id, 2.0)
        assert "weights are equal" in message
        assert_does_not_reveal(message, self.expected)

    @pytest.mark.parametrize(
        ("answer", "hint"),
        [
            (3.0, "equal rewards"),
            (3 + math.log(0.6), "divided by beta"),
            (3 - 0.5 * math.log(0.6), "needs a lower reward"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, answer, hint):
        message = wrong_message(self.grade_id, answer)
        assert hint in message
        assert_does_not_reveal(message, self.expected)

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(capsys, monkeypatch, self.grade_id, ...)


def reweight_in_python(ref, rewards, beta):
    """pi* with a Python loop and math.exp, shifted by the best reward within the support."""
    ref, rewards = list(map(float, ref)), list(map(float, rewards))
    top = max(r for p, r in zip(ref, rewards, strict=True) if p > 0)
    weights = [
        p * math.exp((r - top) / beta) if p > 0 else 0.0 for p, r in zip(ref, rewards, strict=True)
    ]
    total = sum(weights)
    return np.array([w / total for w in weights])


class TestReweightFunction(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "03-reweight-function"

    def test_right_function_passes(self, capsys):
        assert_right(capsys, self.grade_id, reweight_in_python)

    def test_reference_route_matches_the_two_output_closed_form(self):
        z = 0.6 * math.exp(2) + 0.4 * math.e
        result = reweight_in_python([0.6, 0.4], [2.0, 1.0], 1.0)
        np.testing.assert_allclose(result, [0.6 * math.exp(2) / z, 0.4 * math.e / z], rtol=1e-15)

    def test_forgetting_to_normalise_gets_the_basic_hint(self):
        def unnormalised(ref, rewards, beta):
            return ref * np.exp(rewards / beta)

        message = wrong_message(self.grade_id, unnormalised)
        assert "renormalises" in message and "example 1" in message
        assert_does_not_reveal(message, pi_y1(1.0))

    def test_smoothing_zeros_gets_the_support_hint(self):
        def smoothed(ref, rewards, beta):
            return reweight_in_python(np.where(ref == 0, 0.01, ref), rewards, beta)

        message = wrong_message(self.grade_id, smoothed)
        assert "ref = 0 gets exactly 0" in message and "example 4" in message

    def test_tiny_instead_of_exact_zero_gets_the_exactness_hint(self):
        def almost(ref, rewards, beta):
            result = reweight_in_python(ref, rewards, beta)
            return np.where(ref == 0, 1e-20, result)

        # The tolerance is relative only: where pi* is 0, nothing but 0.0 is within it.
        message = wrong_message(self.grade_id, almost)
        assert "exactly 0" in message and "example 4" in message

    def test_overflow_without_a_shift_gets_the_shift_hint(self):
        def naive(ref, rewards, beta):
            with np.errstate(over="ignore", invalid="ignore"):
                weights = ref * np.exp(rewards / beta)
                return weights / weights.sum()

        message = wrong_message(self.grade_id, naive)
        assert "must not overflow" in message and "example 5" in message

    def test_shifting_by_the_largest_reward_of_all_outputs_fails(self):
        """Regression: a shift by max(rewards) over every output, support or not, passed."""

        def shift_by_overall_max(ref, rewards, beta):
            with np.errstate(invalid="ignore"):
                weights = ref * np.exp((rewards - rewards.max()) / beta)
                return weights / weights.sum()

        message = wrong_message(self.grade_id, shift_by_overall_max)
        assert "underflow" in message and "example 6" in message

    def test_the_overall_max_shift_fails_a_hidden_case_too(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)

        def shift_by_overall_max(ref, rewards, beta):
            with np.errstate(invalid="ignore"):
                weights = ref * np.exp((rewards - rewards.max()) / beta)
                return weights / weights.sum()

        hidden = {
            "an output with reference probability 0": [
                (np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 1000.0]), 0.5)
            ],
            "large rewards": [(np.array([0.1, 0.9]), np.array([-1500.0, -1502.0]), 0.5)],
        }
        with pytest.raises(AssertionError) as failed:
            rw.grade_function(self.grade_id, shift_by_overall_max, hidden)
        assert "an output with reference probability 0" in str(failed.value)

    def test_a_function_using_rwlib_breaks_the_rule(self):
        def borrowed(ref, rewards, beta):
            return rw.reward_weighted(ref, rewards, beta)

        message = wrong_message(self.grade_id, borrowed)
        assert "numpy and math only (no rwlib)" in message

    def test_hidden_cases_name_what_fails(self, capsys, monkeypatch):
        monkeypatch.delenv("RWLIB_GRADING", raising=False)
        cases = {
            "an output with reference probability 0": [
                (np.array([0.0, 0.2, 0.8]), np.array([30.0, 1.0, 2.0]), 0.25)
            ],
            "large rewards": [(np.array([0.1, 0.9]), np.array([-1500.0, -1502.0]), 0.5)],
        }
        rw.grade_function(self.grade_id, reweight_in_python, cases)
        assert capsys.readouterr().out.count("grading values: ") == 3

        def smoothed(ref, rewards, beta):
            return reweight_in_python(np.where(ref == 0, 1e-12, ref), rewards, beta)

        with pytest.raises(AssertionError) as failed:
            rw.grade_function(self.grade_id, smoothed, cases)
        assert str(failed.value).endswith(
            "hidden cases failed: the check's examples, an output with reference probability 0"
        )

    def test_not_a_function(self):
        assert "should be a function" in wrong_message(self.grade_id, 0.8)

    def test_stub(self, capsys, monkeypatch):
        def reweight(ref, rewards, beta):
            raise NotImplementedError

        assert_stub_behaviour(capsys, monkeypatch, self.grade_id, reweight)


class TestPlotBeforeAfter:
    def test_returns_a_figure_with_title_and_axis_labels(self):
        fig = distribution.plot_before_after([0.6, 0.4], [2.0, 1.0], beta=0.5)
        ax = fig.axes[0]
        assert isinstance(fig, Figure)
        assert "β = 0.5" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()

    def test_bar_heights_are_pi_ref_and_pi_star(self):
        fig = distribution.plot_before_after([0.6, 0.4], [2.0, 1.0], beta=0.5)
        before, after = fig.axes[0].containers
        z = 0.6 * math.exp(4) + 0.4 * math.exp(2)  # rewards / beta = (4, 2)
        heights = [bar.get_height() for bar in after]
        np.testing.assert_allclose([bar.get_height() for bar in before], [0.6, 0.4])
        np.testing.assert_allclose(
            heights, [0.6 * math.exp(4) / z, 0.4 * math.exp(2) / z], rtol=1e-14
        )

    def test_labels_carry_names_and_rewards(self):
        fig = distribution.plot_before_after(
            [0.5, 0.5], [3.0, -1.5], labels=["balanced", "wrong"], title="custom"
        )
        ticks = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
        assert ticks == ["balanced\nr = 3", "wrong\nr = -1.5"]
        assert fig.axes[0].get_title() == "custom"

    def test_hatching_and_legend_so_colour_is_not_the_only_cue(self):
        fig = distribution.plot_before_after([0.6, 0.4], [2.0, 1.0])
        before, after = fig.axes[0].containers
        assert {bar.get_hatch() for bar in before} == {"//"}
        assert {bar.get_hatch() for bar in after} == {".."}
        assert len(fig.axes[0].get_legend().get_texts()) == 2

    def test_wrong_number_of_labels_raises(self):
        with pytest.raises(ValueError, match="labels"):
            distribution.plot_before_after([0.6, 0.4], [2.0, 1.0], labels=["only one"])

    def test_legend_hides_no_bar_and_no_value_label(self):
        """Regression: in the slider figure the legend covered the tall bar's label."""
        fig = distribution.plot_three_rewards(r1=5.0, r2=-5.0, r3=-5.0, beta=0.1)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent(renderer)
        covered = [bar for c in ax.containers for bar in c]
        covered += list(ax.texts)
        for artist in covered:
            assert not legend.overlaps(artist.get_window_extent(renderer))
        plt.close(fig)

    def test_value_labels_show_pi_star(self):
        fig = distribution.plot_before_after([0.6, 0.4], [2.0, 1.0])
        texts = [text.get_text() for text in fig.axes[0].texts]
        assert texts == ["0.8", "0.2"]


class TestPlotThreeRewards:
    def test_title_shows_rewards_beta_and_pi_star(self):
        fig = distribution.plot_three_rewards(r1=2.0, r2=1.0, r3=0.0, beta=0.5)
        weights = [0.2 * math.exp(4), 0.5 * math.exp(2), 0.3]
        pi = [w / sum(weights) for w in weights]
        title = fig.axes[0].get_title()
        assert "r = (2, 1, 0)" in title and "β = 0.5 " in title
        assert f"π* = ({pi[0]:.2g}, {pi[1]:.2g}, {pi[2]:.2g})" in title

    def test_bar_heights_are_pi_star(self):
        fig = distribution.plot_three_rewards(r1=-1.0, r2=0.0, r3=2.0, beta=2.0)
        weights = [0.2 * math.exp(-0.5), 0.5, 0.3 * math.e]
        after = fig.axes[0].containers[1]
        np.testing.assert_allclose(
            [bar.get_height() for bar in after], [w / sum(weights) for w in weights], rtol=1e-14
        )

    def test_moving_a_slider_changes_the_title(self):
        first = distribution.plot_three_rewards(r1=0.0).axes[0].get_title()
        second = distribution.plot_three_rewards(r1=4.0).axes[0].get_title()
        assert first != second

    def test_axis_labels_and_output_names(self):
        ax = distribution.plot_three_rewards().axes[0]
        assert ax.get_xlabel() and ax.get_ylabel()
        names = [tick.get_text().split("\n")[0] for tick in ax.get_xticklabels()]
        assert names == ["balanced", "upbeat", "terse"]


class TestPlotSupport:
    def test_returns_a_figure_with_title_and_axis_labels(self):
        fig = distribution.plot_support(beta=2.0)
        ax = fig.axes[0]
        assert isinstance(fig, Figure)
        assert "β = 2" in ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_yscale() == "log"

    def test_lines_are_pi_star_of_the_new_output(self):
        tiny, rewards, beta = (1e-3, 1e-9), np.array([0.0, 10.0, 30.0]), 2.0
        fig = distribution.plot_support(tiny=tiny, new_rewards=rewards, beta=beta)
        lines = fig.axes[0].lines
        for eps, line in zip(tiny, lines[: len(tiny)], strict=True):
            rest = 0.6 * math.exp(2 / beta) + (0.4 - eps) * math.exp(1 / beta)
            expected = [
                eps * math.exp(r / beta) / (rest + eps * math.exp(r / beta)) for r in rewards
            ]
            np.testing.assert_allclose(line.get_xdata(), rewards)
            np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)

    def test_one_marked_labelled_line_per_eps_and_a_half_line(self):
        fig = distribution.plot_support(tiny=(1e-3, 1e-9, 1e-15))
        ax = fig.axes[0]
        curves = ax.lines[:3]
        assert len({line.get_marker() for line in curves}) == 3
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert [re.search(r"= (\S+)$", label).group(1) for label in labels] == [
            "0.001",
            "1e-09",
            "1e-15",
        ]
        assert list(ax.lines[3].get_ydata()) == [0.5, 0.5]
