"""Tests of lesson 02 (the normalization factor): its exercise checks and its figures.

Expected values come from closed forms written out here (e.g. Z = 0.6 e^2 + 0.4 e),
never from the code under test.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import rwlib as rw
from rwlib.plots import normalizer

TWO_Z = 0.6 * math.e**2 + 0.4 * math.e  # the two-output example, beta = 1


def roundings(value):
    """The ways a hint could leak ``value``: several roundings of it, as text."""
    return {f"{value:.{digits}f}" for digits in range(2, 8)} | {repr(value), f"{value:g}"}


def assert_wrong_without_leak(grade_id, wrong, expected, capsys):
    with pytest.raises(AssertionError) as error:
        rw.check(grade_id, wrong)
    message = str(error.value)
    assert "Hint" in message
    for text in roundings(expected):
        assert text not in message
    return message


def assert_stub_behaviour(grade_id, stub, capsys, monkeypatch):
    monkeypatch.delenv("RWLIB_GRADING", raising=False)
    rw.check(grade_id, stub)
    assert "not answered yet" in capsys.readouterr().out
    monkeypatch.setenv("RWLIB_GRADING", "1")
    with pytest.raises(AssertionError, match="not answered"):
        rw.check(grade_id, stub)


def assert_right(grade_id, answer, capsys):
    rw.check(grade_id, answer)
    assert f"✔ {grade_id}: right" in capsys.readouterr().out


class TestZThreeOutputs:
    grade_id = "02-z-three-outputs"
    # pi_ref = (0.5, 0.3, 0.2), r = (1, 0, -1), beta = 0.5
    expected = 0.5 * math.exp(2) + 0.3 + 0.2 * math.exp(-2)

    def test_right_answer(self, capsys):
        assert_right(self.grade_id, self.expected, capsys)

    def test_numpy_scalar_is_accepted(self, capsys):
        assert_right(self.grade_id, np.float64(self.expected), capsys)

    def test_wrong_answer_gives_hint_not_answer(self, capsys):
        assert_wrong_without_leak(self.grade_id, 4.0, self.expected, capsys)

    @pytest.mark.parametrize(
        ("wrong", "words"),
        [
            (0.5 * math.e + 0.3 + 0.2 / math.e, "beta = 1"),
            (0.5 * math.exp(0.5) + 0.3 + 0.2 * math.exp(-0.5), "Z at beta = 2"),
            (math.exp(2) + 1 + math.exp(-2), "reference probability"),
            (math.log(0.5 * math.exp(2) + 0.3 + 0.2 * math.exp(-2)), "log Z"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, wrong, words, capsys):
        message = assert_wrong_without_leak(self.grade_id, wrong, self.expected, capsys)
        assert words in message

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(self.grade_id, ..., capsys, monkeypatch)


class TestShiftToZOne:
    grade_id = "02-shift-to-z-one"
    # Written out: Z = sum pi_ref e^(r / 0.8); the shift rule gives c = -0.8 log Z.
    z = 0.1 * math.exp(0.5 / 0.8) + 0.2 * math.exp(-1 / 0.8) + 0.3 * math.exp(2 / 0.8)
    z += 0.4 * math.exp(0.3 / 0.8)
    expected = -0.8 * math.log(z)

    def test_the_shift_gives_z_one(self):
        rewards = np.array([0.5, -1.0, 2.0, 0.3]) + self.expected
        z = np.sum(np.array([0.1, 0.2, 0.3, 0.4]) * np.exp(rewards / 0.8))
        assert math.isclose(z, 1.0, rel_tol=1e-14)

    def test_right_answer(self, capsys):
        assert_right(self.grade_id, self.expected, capsys)

    def test_wrong_answer_gives_the_idea_not_the_answer(self, capsys):
        message = assert_wrong_without_leak(self.grade_id, -2.0, self.expected, capsys)
        assert "factor" in message and "log_normalization_factor" not in message

    @pytest.mark.parametrize(
        ("wrong", "words"),
        [
            (-expected, "the sign"),
            (expected / 0.8, "beta times the log"),
            (expected * 0.8, "not multiplied"),
            (-0.57, "lower bound"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, wrong, words, capsys):
        message = assert_wrong_without_leak(self.grade_id, wrong, self.expected, capsys)
        assert words in message

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(self.grade_id, ..., capsys, monkeypatch)


class TestBetaForZ3:
    grade_id = "02-beta-for-z-3"

    @staticmethod
    def bisected_beta():
        """Bisection on Z(beta) = 3, with Z written out (decreasing in beta here)."""
        low, high = 0.1, 10.0
        for _ in range(200):
            mid = (low + high) / 2
            z = 0.6 * math.exp(2 / mid) + 0.4 * math.exp(1 / mid)
            low, high = (mid, high) if z > 3 else (low, mid)
        return (low + high) / 2

    def test_bisection_gives_z_3(self):
        beta = self.bisected_beta()
        assert math.isclose(0.6 * math.exp(2 / beta) + 0.4 * math.exp(1 / beta), 3.0)

    def test_right_answer(self, capsys):
        assert_right(self.grade_id, self.bisected_beta(), capsys)

    def test_grid_answer_within_tolerance_passes(self, capsys):
        assert_right(self.grade_id, self.bisected_beta() * (1 + 5e-4), capsys)

    def test_answer_off_by_more_than_tolerance_fails(self, capsys):
        beta = self.bisected_beta()
        assert_wrong_without_leak(self.grade_id, beta * (1 + 3e-3), beta, capsys)

    def test_wrong_answer_gives_hint_not_answer(self, capsys):
        beta = self.bisected_beta()
        message = assert_wrong_without_leak(self.grade_id, 1.0, beta, capsys)
        assert "grid" in message

    def test_reciprocal_mistake(self, capsys):
        beta = self.bisected_beta()
        message = assert_wrong_without_leak(self.grade_id, 1 / beta, beta, capsys)
        assert "1 / beta" in message

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(self.grade_id, ..., capsys, monkeypatch)


class TestLogPiStarTiny:
    grade_id = "02-log-pi-star-tiny"
    # pi_ref = (0.2, 0.5, 0.3), r = (300, 800, 200), beta = 0.5. log Z = 1600 + log 0.5 (the
    # other terms are e^-1000 and e^-1200 times the best one), so
    # log pi*(y3) = log 0.3 + 400 - 1600 - log 0.5.
    expected = math.log(0.3 / 0.5) - 1200

    def test_it_underflows_as_a_probability(self):
        assert math.exp(self.expected) == 0.0
        assert rw.reward_weighted([0.2, 0.5, 0.3], [300.0, 800.0, 200.0], 0.5)[2] == 0.0

    def test_right_answer(self, capsys):
        assert_right(self.grade_id, self.expected, capsys)

    def test_wrong_answer_gives_hint_not_answer(self, capsys):
        message = assert_wrong_without_leak(self.grade_id, -1000.0, self.expected, capsys)
        assert "log Z" in message and "log_normalization_factor" not in message  # the idea

    @pytest.mark.parametrize(
        ("wrong", "words"),
        [
            (-1200.0, "largest exponent"),
            (-1200 - math.log(0.5), "one of the terms"),
            (expected / math.log(10), "log10"),
        ],
    )
    def test_known_mistakes_get_their_own_hint(self, wrong, words, capsys):
        message = assert_wrong_without_leak(self.grade_id, wrong, self.expected, capsys)
        assert words in message

    def test_minus_infinity_is_refused(self, capsys):
        with pytest.raises(AssertionError):
            rw.check(self.grade_id, -math.inf)

    def test_stub(self, capsys, monkeypatch):
        assert_stub_behaviour(self.grade_id, ..., capsys, monkeypatch)


class TestZFromScratch:
    grade_id = "02-z-from-scratch"

    def test_right_function(self, capsys):
        def z_from_scratch(ref, rewards, beta):
            return sum(p * math.exp(r / beta) for p, r in zip(ref, rewards, strict=True))

        assert_right(self.grade_id, z_from_scratch, capsys)

    def test_function_ignoring_beta_is_wrong(self, capsys):
        def ignores_beta(ref, rewards, beta):
            return float(np.sum(ref * np.exp(rewards)))

        message = assert_wrong_without_leak(self.grade_id, ignores_beta, TWO_Z, capsys)
        assert "a weight per output" in message and "exp(" not in message  # not the formula

    def test_function_returning_weights_is_wrong(self, capsys):
        def returns_weights(ref, rewards, beta):
            return ref * np.exp(rewards / beta)

        with pytest.raises(AssertionError, match="return one number"):
            rw.check(self.grade_id, returns_weights)

    def test_function_that_raises_gets_the_error_as_hint(self, capsys):
        def broken(ref, rewards, beta):
            raise KeyError("oops")

        with pytest.raises(AssertionError, match="KeyError"):
            rw.check(self.grade_id, broken)

    def test_not_a_function(self, capsys):
        with pytest.raises(AssertionError, match="function"):
            rw.check(self.grade_id, TWO_Z)

    def test_stub(self, capsys, monkeypatch):
        def z_from_scratch(ref, rewards, beta):
            raise NotImplementedError

        assert_stub_behaviour(self.grade_id, z_from_scratch, capsys, monkeypatch)


class TestPlotWeights:
    @pytest.fixture
    def figure(self):
        fig = normalizer.plot_weights(2.0, 1.0, beta=1.0)
        yield fig
        plt.close(fig)

    @staticmethod
    def stacks(fig):
        """Bar heights per output, as an array (outputs, panels)."""
        return np.array([[c.patches[0].get_height() for c in ax.containers] for ax in fig.axes]).T

    def test_returns_figure_with_titles_and_labels(self, figure):
        assert isinstance(figure, Figure)
        assert len(figure.axes) == 3
        for ax in figure.axes:
            assert ax.get_title() and ax.get_ylabel()

    def test_title_shows_parameters_and_z(self, figure):
        title = figure.get_suptitle()
        assert "β = 1," in title
        assert "(2, 1)" in title
        assert f"Z = {TWO_Z:.4f}" in title

    @pytest.mark.parametrize("beta", [0.5, 0.7, 1.5, 3.0])
    def test_title_shows_the_beta_z_is_computed_with(self, beta):
        """Regression: the title rounded beta to 2 decimals while Z used the exact beta."""
        fig = normalizer.plot_weights(-1.0, 0.5, beta=beta)
        z = 0.6 * math.exp(-1 / beta) + 0.4 * math.exp(0.5 / beta)
        assert fig.get_suptitle() == f"β = {beta:g}, r = (-1, 0.5): Z = {z:.4f}"
        shown = float(fig.get_suptitle().split("β = ")[1].split(",")[0])
        assert shown == beta
        plt.close(fig)

    def test_weights_depend_on_beta(self):
        fig = normalizer.plot_weights(-1.0, 0.5, beta=0.5)
        weights = [0.6 * math.exp(-2), 0.4 * math.exp(1)]
        np.testing.assert_allclose(self.stacks(fig)[:, 1], weights, rtol=1e-12)
        plt.close(fig)

    def test_middle_bar_stacks_the_weights_up_to_z(self, figure):
        heights = self.stacks(figure)
        np.testing.assert_allclose(heights[:, 1], [0.6 * math.e**2, 0.4 * math.e], rtol=1e-12)
        assert math.isclose(heights[:, 1].sum(), TWO_Z, rel_tol=1e-12)

    def test_outer_bars_are_reference_and_normalized_weights(self, figure):
        heights = self.stacks(figure)
        np.testing.assert_allclose(heights[:, 0], [0.6, 0.4], rtol=1e-12)
        expected = np.array([0.6 * math.e**2, 0.4 * math.e]) / TWO_Z
        np.testing.assert_allclose(heights[:, 2], expected, rtol=1e-12)

    def test_a_large_z_does_not_flatten_the_probability_bars(self):
        """Regression: at beta = 0.5, Z = 35.7 set the scale of all three bars."""
        fig = normalizer.plot_weights(2.0, 1.0, beta=0.5)
        reference, weights, divided = fig.axes
        assert reference.get_ylim()[1] < 1.5 and divided.get_ylim()[1] < 1.5
        assert weights.get_ylim()[1] > 0.6 * math.exp(4)
        plt.close(fig)

    def test_outputs_are_told_apart_by_more_than_colour(self, figure):
        containers = figure.axes[0].containers
        assert containers[0].patches[0].get_hatch() != containers[1].patches[0].get_hatch()
        labels = figure.axes[-1].get_legend_handles_labels()[1]
        assert any("output 1" in label for label in labels)


class TestPlotLogZAgainstBeta:
    betas = np.array([0.01, 0.1, 1.0, 10.0, 100.0])

    @pytest.fixture
    def figure(self):
        fig = normalizer.plot_log_z_against_beta([0.6, 0.4], [2.0, 1.0], betas=self.betas)
        yield fig
        plt.close(fig)

    def test_returns_figure_with_title_and_labels(self, figure):
        assert isinstance(figure, Figure)
        (ax,) = figure.axes
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"

    def test_title_shows_the_parameters(self, figure):
        title = figure.axes[0].get_title()
        assert "(0.6, 0.4)" in title and "(2, 1)" in title

    def test_curve_is_beta_log_z_in_closed_form(self, figure):
        (ax,) = figure.axes
        log_z = np.log(0.6 * np.exp(2 / self.betas) + 0.4 * np.exp(1 / self.betas))
        np.testing.assert_allclose(ax.lines[0].get_xdata(), self.betas)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), self.betas * log_z, rtol=1e-12)

    def test_bound_lines(self, figure):
        (ax,) = figure.axes
        np.testing.assert_allclose(ax.lines[1].get_ydata(), 1.6, rtol=1e-12)
        np.testing.assert_allclose(ax.lines[2].get_ydata(), 2.0, rtol=1e-12)

    def test_beta_log_z_lies_between_the_bounds_and_reaches_both(self, figure):
        beta_log_z, lower, upper = (figure.axes[0].lines[k].get_ydata() for k in range(3))
        assert (lower <= beta_log_z).all() and (beta_log_z <= upper).all()
        assert upper[0] - beta_log_z[0] < 0.01 and beta_log_z[-1] - lower[-1] < 0.01

    def test_upper_bound_uses_the_support_only(self):
        # Output 2 has pi_ref = 0: its reward of 5 cannot raise Z, so max r is 1.
        fig = normalizer.plot_log_z_against_beta([1.0, 0.0], [1.0, 5.0], betas=self.betas)
        np.testing.assert_allclose(fig.axes[0].lines[2].get_ydata(), 1.0)
        np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), 1.0, rtol=1e-12)
        plt.close(fig)

    def test_default_betas(self):
        fig = normalizer.plot_log_z_against_beta()
        xs = fig.axes[0].lines[0].get_xdata()
        assert math.isclose(xs.min(), 0.01) and math.isclose(xs.max(), 100.0)
        plt.close(fig)
