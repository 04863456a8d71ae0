"""Tests of lesson 04 (the temperature beta): its exercise checks and its figures.

Expected values come from closed forms computed here with math and numpy (the
sigmoid form of the two-output pi*, a softmax of log ref + r / beta written out
by hand), never from the code under test.
"""

import math

import matplotlib.pyplot as plt
import mpmath
import numpy as np
import pytest
from exercise_contract import (
    CheckContract,
    FunctionCheckContract,
    NumberPrecisionContract,
    StatedPrecisionContract,
    wrong_message,
)
from matplotlib.figure import Figure

import rwlib as rw
from rwlib.plots import temperature

# The examples of the notebook.
TWO_REF, TWO_REWARDS = [0.6, 0.4], [2.0, 1.0]
REF = np.array([0.5, 0.3, 0.2, 0.0])
REWARDS = np.array([1.0, 2.0, 0.0, 5.0])
LABELS = ["A", "B", "C", "D"]


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def pi_star_by_hand(ref, rewards, beta: float) -> np.ndarray:
    """pi* from its definition, shifted by the best reward within the support."""
    ref, rewards = np.asarray(ref, dtype=float), np.asarray(rewards, dtype=float)
    support = ref > 0
    weights = np.zeros_like(ref)
    weights[support] = ref[support] * np.exp((rewards[support] - rewards[support].max()) / beta)
    return weights / weights.sum()


def kl_by_hand(p, q) -> float:
    return float(sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0))


def two_output_kl(beta: float) -> float:
    """KL(pi* || (0.6, 0.4)) for rewards (2, 1), by the sigmoid closed form."""
    q = sigmoid(math.log(1.5) + 1 / beta)
    return q * math.log(q / 0.6) + (1 - q) * math.log((1 - q) / 0.4)


def budget_grid() -> np.ndarray:
    return 10 ** np.linspace(-1, 1, 41)  # the notebook's np.geomspace(0.1, 10, 41)


def budget_kls() -> np.ndarray:
    return np.array(
        [
            kl_by_hand(pi_star_by_hand([0.2, 0.5, 0.3], [3, 1, 0], b), [0.2, 0.5, 0.3])
            for b in budget_grid()
        ]
    )


def first_within_budget() -> int:
    return int(np.flatnonzero(budget_kls() <= 0.1)[0])


class TestBetaFor90(CheckContract, NumberPrecisionContract):
    grade_id = "04-beta-for-0-9"

    def right(self):
        # sigma(log 1.5 + 1/beta) = 0.9  <=>  1/beta = log 9 - log 1.5 = log 6.
        return 1 / math.log(6)

    def mistakes(self):
        return [1 / math.log(9), math.log(6), 1 / math.log(13.5)]

    def test_right_answer_gives_ninety_percent(self):
        assert sigmoid(math.log(1.5) + 1 / self.right()) == pytest.approx(0.9, rel=1e-14)

    def test_a_coarse_grid_answer_is_not_enough(self):
        with pytest.raises(AssertionError):
            rw.check(self.grade_id, round(self.right(), 3))

    def test_mistake_hints_name_the_mistake(self):
        forgot_ref, inverted, wrong_sign = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "0.6" in forgot_ref
        assert "divided by beta" in inverted
        assert "sign" in wrong_sign


class TestBOvertakesA(CheckContract, NumberPrecisionContract):
    grade_id = "04-b-overtakes-a"

    def right(self):
        # (0.3 / 0.5) e^(1 / beta) = 1, at 50 digits.
        with mpmath.workdps(50):
            return float(1 / mpmath.log(mpmath.mpf(5) / 3))

    def mistakes(self):
        return [1 / self.right(), -self.right(), 1 / math.log10(5 / 3)]

    def test_at_that_beta_a_and_b_are_equally_likely(self):
        pi = pi_star_by_hand(
            np.array([0.5, 0.3, 0.2, 0.0]), np.array([1.0, 2.0, 0.0, 5.0]), self.right()
        )
        assert pi[0] == pytest.approx(pi[1], rel=1e-12)

    def test_mistake_hints_name_the_mistake(self):
        inverse, negative, log10 = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "1 / beta" in inverse
        assert "beta is positive" in negative
        assert "natural log" in log10

    def test_the_hint_gives_the_idea_not_the_formula(self):
        message = wrong_message(self.grade_id, 3.0)
        assert "Z is the same for both" in message and "log(" not in message


class TestKlBudget(CheckContract, NumberPrecisionContract):
    grade_id = "04-kl-budget"

    def right(self):
        return float(budget_grid()[first_within_budget()])

    def mistakes(self):
        grid = budget_grid()
        return [float(grid[-1]), float(grid[first_within_budget() - 1]), float(grid[0])]

    def test_the_budget_is_tight_at_the_answer(self):
        i = first_within_budget()
        kls = budget_kls()
        assert kls[i] <= 0.1 < kls[i - 1]
        assert np.all(np.diff(kls) < 0)  # KL falls as beta grows, so the first hit is the answer

    def test_only_the_grid_point_passes_not_its_neighbours(self, capsys):
        # The question asks for an element of the grid: the expected value is that grid point.
        grid, i = budget_grid(), first_within_budget()
        rw.check(self.grade_id, grid[i])
        assert "✔" in capsys.readouterr().out
        for neighbour in (grid[i - 1], grid[i + 1]):
            wrong_message(self.grade_id, float(neighbour))

    def test_mistake_hints_name_the_mistake(self):
        largest, just_before, smallest = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "smallest" in largest
        assert "just above the budget" in just_before
        assert "far from pi_ref" in smallest


def good_two_output(p1, r1, r2, beta):
    return sigmoid(math.log(p1 / (1 - p1)) + (r1 - r2) / beta)


class TestTwoOutputPiStar(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "04-two-output-pi-star"

    def test_closed_form_passes(self, capsys):
        rw.check(self.grade_id, good_two_output)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    def test_numpy_version_passes(self, capsys):
        def numpy_version(p1, r1, r2, beta):
            return 1 / (1 + np.exp(-(np.log(p1) - np.log1p(-p1) + (r1 - r2) / beta)))

        rw.check(self.grade_id, numpy_version)
        assert "✔" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "wrong",
        [
            lambda p1, r1, r2, beta: sigmoid((r1 - r2) / beta),  # forgot the reference logit
            lambda p1, r1, r2, beta: sigmoid(math.log(p1 / (1 - p1)) + (r1 - r2) * beta),
            lambda p1, r1, r2, beta: sigmoid(math.log(p1 / (1 - p1)) + (r2 - r1) / beta),
            lambda p1, r1, r2, beta: np.array([good_two_output(p1, r1, r2, beta)] * 2),
        ],
    )
    def test_wrong_functions_get_a_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Hint" in message
        assert "sigmoid" in message and "not right for example" in message


def assert_labelled(ax) -> None:
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


def assert_shows_setting(title: str) -> None:
    assert "π_ref = (0.5, 0.3, 0.2, 0)" in title
    assert "r = (1, 2, 0, 5)" in title


GRID = np.geomspace(1e-2, 1e2, 41)


class TestPlotPiStarVsBeta:
    def test_returns_a_labelled_figure_with_log_beta(self):
        fig = temperature.plot_pi_star_vs_beta(REF, REWARDS, GRID, LABELS)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert_shows_setting(ax.get_title())
        assert ax.get_xscale() == "log"
        assert "β" in ax.get_xlabel()

    def test_one_line_per_output_with_pi_star(self):
        fig = temperature.plot_pi_star_vs_beta(REF, REWARDS, GRID, LABELS)
        lines = fig.axes[0].get_lines()
        assert len(lines) == 4
        expected = np.array([pi_star_by_hand(REF, REWARDS, b) for b in GRID])
        for i, line in enumerate(lines):
            np.testing.assert_allclose(line.get_xdata(), GRID, rtol=1e-15)
            np.testing.assert_allclose(line.get_ydata(), expected[:, i], rtol=1e-10, atol=1e-15)
            assert line.get_label().startswith(LABELS[i])
        assert len({line.get_marker() for line in lines}) == 4  # not colour alone

    def test_output_outside_the_support_stays_at_zero(self):
        fig = temperature.plot_pi_star_vs_beta(REF, REWARDS, GRID, LABELS)
        assert np.all(fig.axes[0].get_lines()[3].get_ydata() == 0.0)

    def test_unsorted_betas_are_sorted(self):
        fig = temperature.plot_pi_star_vs_beta(TWO_REF, TWO_REWARDS, [10.0, 0.1, 1.0])
        line = fig.axes[0].get_lines()[0]
        np.testing.assert_allclose(line.get_xdata(), [0.1, 1.0, 10.0])
        expected = [sigmoid(math.log(1.5) + 1 / b) for b in (0.1, 1.0, 10.0)]
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12)

    @pytest.mark.parametrize(
        "args",
        [
            (REF, REWARDS[:3], GRID),
            (REF, REWARDS, [1.0]),
            (REF, REWARDS, [0.0, 1.0]),
            (np.array([0.5, 0.6, 0.0, 0.0]), REWARDS, GRID),
        ],
    )
    def test_bad_input_raises(self, args):
        with pytest.raises(ValueError):
            temperature.plot_pi_star_vs_beta(*args)

    def test_labels_of_the_wrong_length_raise(self):
        with pytest.raises(ValueError, match="labels"):
            temperature.plot_pi_star_vs_beta(REF, REWARDS, GRID, ["A", "B"])


class TestPlotRewardKlVsBeta:
    def test_two_labelled_log_beta_panels(self):
        fig = temperature.plot_reward_kl_vs_beta(REF, REWARDS, GRID)
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 2
        for ax in fig.axes:
            assert_labelled(ax)
            assert ax.get_xscale() == "log"
        assert_shows_setting(fig.get_suptitle())

    def test_curves_are_expected_reward_and_kl(self):
        fig = temperature.plot_reward_kl_vs_beta(REF, REWARDS, GRID)
        pis = [pi_star_by_hand(REF, REWARDS, b) for b in GRID]
        reward = [float(pi @ REWARDS) for pi in pis]
        kl = [kl_by_hand(pi, REF) for pi in pis]
        left, right = (ax.get_lines()[0] for ax in fig.axes)
        np.testing.assert_allclose(left.get_xdata(), GRID, rtol=1e-15)
        np.testing.assert_allclose(left.get_ydata(), reward, rtol=1e-12)
        np.testing.assert_allclose(right.get_ydata(), kl, rtol=1e-9, atol=1e-14)

    def test_limits_are_marked(self):
        fig = temperature.plot_reward_kl_vs_beta(REF, REWARDS, GRID)
        left, right = fig.axes
        left_levels = sorted(line.get_ydata()[0] for line in left.get_lines()[1:])
        right_levels = sorted(line.get_ydata()[0] for line in right.get_lines()[1:])
        # beta -> infinity: E_ref[r] = 1.1 and KL 0; beta -> 0: reward of B and -log pi_ref(B).
        np.testing.assert_allclose(left_levels, [1.1, 2.0], rtol=1e-12)
        np.testing.assert_allclose(right_levels, [0.0, -math.log(0.3)], rtol=1e-12)

    def test_legends_sit_off_the_limit_lines(self):
        """Regression: both legends were drawn on top of the dashed beta -> 0 lines."""
        fig = temperature.plot_reward_kl_vs_beta(REF, REWARDS, GRID)
        fig.canvas.draw()
        for ax in fig.axes:
            box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
            for line in ax.get_lines()[1:]:
                level = ax.transData.transform((1.0, line.get_ydata()[0]))[1]
                assert not box.y0 <= level <= box.y1, line.get_label()
        plt.close(fig)

    def test_tied_best_outputs_share_the_kl_limit(self):
        fig = temperature.plot_reward_kl_vs_beta([0.1, 0.3, 0.6], [2.0, 2.0, 0.0], GRID)
        levels = sorted(line.get_ydata()[0] for line in fig.axes[1].get_lines()[1:])
        assert levels[1] == pytest.approx(-math.log(0.4), rel=1e-12)

    def test_bad_input_raises(self):
        with pytest.raises(ValueError):
            temperature.plot_reward_kl_vs_beta(REF, REWARDS, [[1.0, 2.0]])


class TestPlotRewardKlTradeoff:
    def test_labelled_figure(self):
        fig = temperature.plot_reward_kl_tradeoff(REF, REWARDS, GRID)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert_shows_setting(ax.get_title())
        assert "KL" in ax.get_xlabel()

    def test_curve_is_kl_against_expected_reward(self):
        fig = temperature.plot_reward_kl_tradeoff(REF, REWARDS, GRID)
        curve = fig.axes[0].get_lines()[0]
        pis = [pi_star_by_hand(REF, REWARDS, b) for b in GRID]
        np.testing.assert_allclose(
            curve.get_xdata(), [kl_by_hand(pi, REF) for pi in pis], rtol=1e-9, atol=1e-14
        )
        np.testing.assert_allclose(curve.get_ydata(), [pi @ REWARDS for pi in pis], rtol=1e-12)

    def test_labelled_points_sit_on_the_curve(self):
        fig = temperature.plot_reward_kl_tradeoff(
            TWO_REF, TWO_REWARDS, GRID, label_betas=[0.5, 2.0]
        )
        ax = fig.axes[0]
        assert [text.get_text() for text in ax.texts] == ["β = 0.5", "β = 2"]
        points = ax.get_lines()[-1]
        np.testing.assert_allclose(points.get_xdata(), [two_output_kl(0.5), two_output_kl(2.0)])
        expected = [1 + sigmoid(math.log(1.5) + 1 / b) for b in (0.5, 2.0)]  # E = 2 q + (1 - q)
        np.testing.assert_allclose(points.get_ydata(), expected, rtol=1e-12)

    def test_other_policies_are_drawn_where_they_are(self):
        others = np.array([[0.2, 0.5, 0.3, 0.0], [1 / 3, 1 / 3, 1 / 3, 0.0]])
        fig = temperature.plot_reward_kl_tradeoff(REF, REWARDS, GRID, others=others)
        crosses = fig.axes[0].get_lines()[1]
        assert crosses.get_marker() == "x"
        np.testing.assert_allclose(crosses.get_xdata(), [kl_by_hand(p, REF) for p in others])
        np.testing.assert_allclose(crosses.get_ydata(), others @ REWARDS)

    def test_no_labels_by_default(self):
        fig = temperature.plot_reward_kl_tradeoff(REF, REWARDS, GRID)
        assert len(fig.axes[0].texts) == 0

    def test_bad_input_raises(self):
        with pytest.raises(ValueError):
            temperature.plot_reward_kl_tradeoff(REF, [1.0, 2.0], GRID)


class TestPlotTemperature:
    def test_labelled_figure(self):
        fig = temperature.plot_temperature(0.5, REF, REWARDS, LABELS)
        assert isinstance(fig, Figure)
        assert_labelled(fig.axes[0])

    def test_bars_are_ref_and_pi_star(self):
        fig = temperature.plot_temperature(0.5, REF, REWARDS, LABELS)
        ref_bars, pi_bars = fig.axes[0].containers
        np.testing.assert_allclose([bar.get_height() for bar in ref_bars], REF)
        np.testing.assert_allclose(
            [bar.get_height() for bar in pi_bars],
            pi_star_by_hand(REF, REWARDS, 0.5),
            rtol=1e-12,
            atol=1e-15,
        )
        assert ref_bars[0].get_hatch() and not pi_bars[0].get_hatch()  # not colour alone

    def test_title_shows_beta_pi_star_reward_and_kl(self):
        fig = temperature.plot_temperature(1.0, TWO_REF, TWO_REWARDS)
        title = fig.axes[0].get_title()
        q = sigmoid(math.log(1.5) + 1.0)  # 0.80305
        assert "β = 1:" in title
        assert f"π* = ({q:.2g}, {1 - q:.2g})" in title
        assert f"E_π*[r] = {1 + q:.2f}" in title
        assert f"KL(π* ‖ π_ref) = {two_output_kl(1.0):.2f}" in title

    def test_a_small_probability_is_not_printed_as_zero(self):
        """Regression: at beta = 0.15, pi*(A) = 0.0021 showed as 0.00 (title and bar label)."""
        fig = temperature.plot_temperature(0.15, REF, REWARDS)
        weights = REF * np.exp((REWARDS - 2.0) / 0.15)
        p_a = weights[0] / weights.sum()
        assert 1e-3 < p_a < 1e-2
        assert f"{p_a:.2g}" in fig.axes[0].get_title()
        assert f"{p_a:.2g}" in [text.get_text() for text in fig.axes[0].texts]
        plt.close(fig)

    def test_moving_beta_changes_the_title(self):
        titles = {
            temperature.plot_temperature(beta, REF, REWARDS).axes[0].get_title()
            for beta in (0.01, 0.5, 1.0, 100.0)
        }
        assert len(titles) == 4

    def test_tick_labels_name_outputs_and_rewards(self):
        fig = temperature.plot_temperature(0.5, REF, REWARDS, LABELS)
        ticks = [tick.get_text() for tick in fig.axes[0].get_xticklabels()]
        assert ticks == ["A\nr = 1", "B\nr = 2", "C\nr = 0", "D\nr = 5"]

    def test_bad_beta_raises(self):
        with pytest.raises(ValueError):
            temperature.plot_temperature(-1.0, REF, REWARDS)
