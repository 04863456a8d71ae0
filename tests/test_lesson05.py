"""Tests of lesson 05 (why pi* is optimal): its exercise checks and its figures.

Expected values come from closed forms written out here with math and numpy
(pi* = ref e^(r/beta) / Z summed by hand, J(p) for two outputs, the sigmoid form
of pi*(y1)), never from the code under test.
"""

import math
from pathlib import Path

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
from rwlib.checks import definition
from rwlib.plots import log_steps, optimality

# The examples of the notebook and its exercises.
TWO_REF, TWO_REWARDS = [0.6, 0.4], [2.0, 1.0]
THREE_REF, THREE_REWARDS = [0.5, 0.3, 0.2], [1.0, 2.0, 0.0]
EX_REF, EX_REWARDS, EX_BETA = [0.2, 0.5, 0.3], [3.0, 1.0, 0.0], 0.5
EX_POLICY = [0.4, 0.4, 0.2]


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def z_by_hand(ref, rewards, beta: float) -> float:
    return sum(p * math.exp(r / beta) for p, r in zip(ref, rewards, strict=True))


def pi_star_by_hand(ref, rewards, beta: float) -> list[float]:
    z = z_by_hand(ref, rewards, beta)
    return [p * math.exp(r / beta) / z for p, r in zip(ref, rewards, strict=True)]


def kl_by_hand(p, q) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


def j_by_hand(policy, ref, rewards, beta: float) -> float:
    mean = sum(a * r for a, r in zip(policy, rewards, strict=True))
    return mean - beta * kl_by_hand(policy, ref)


def two_output_j(p: float, beta: float) -> float:
    """J((p, 1 - p)) for pi_ref = (0.6, 0.4), rewards (2, 1)."""
    return j_by_hand([p, 1 - p], TWO_REF, TWO_REWARDS, beta)


class TestMaxJThreeOutputs(CheckContract, NumberPrecisionContract):
    grade_id = "05-max-j-three-outputs"

    def right(self):
        return 0.5 * math.log(0.2 * math.exp(6) + 0.5 * math.exp(2) + 0.3)

    def mistakes(self):
        log_z = math.log(0.2 * math.exp(6) + 0.5 * math.exp(2) + 0.3)
        z_at_one = 0.2 * math.exp(3) + 0.5 * math.exp(1) + 0.3
        return [log_z, math.exp(log_z), 0.5 * math.log(z_at_one), 3.0, 0.2 * 3 + 0.5 * 1]

    def test_right_answer_is_j_of_pi_star_and_beats_other_policies(self):
        pi_star = pi_star_by_hand(EX_REF, EX_REWARDS, EX_BETA)
        assert j_by_hand(pi_star, EX_REF, EX_REWARDS, EX_BETA) == pytest.approx(
            self.right(), rel=1e-12
        )
        for policy in ([1.0, 0.0, 0.0], EX_REF, [0.9, 0.1, 0.0], EX_POLICY):
            assert j_by_hand(policy, EX_REF, EX_REWARDS, EX_BETA) < self.right()

    def test_mistake_hints_name_the_mistake(self):
        log_z, z, beta_one, best_reward, ref_j = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "log Z" in log_z and "multiply" in log_z
        assert "Z itself" in z
        assert "beta = 1" in beta_one
        assert "KL" in best_reward
        assert "J(pi_ref)" in ref_j


def flat_top_crossings(gap: float, beta: float = 0.5) -> tuple[float, float]:
    """The p on each side of pi*(y1) where J(p) = beta log Z - gap, by mpmath's root finder."""
    mpmath.mp.dps = 30
    top = beta * mpmath.log(
        mpmath.mpf("0.6") * mpmath.e ** (2 / beta) + mpmath.mpf("0.4") * mpmath.e ** (1 / beta)
    )

    def shortfall(p):
        j = (
            2 * p
            + (1 - p)
            - beta
            * (
                p * mpmath.log(p / mpmath.mpf("0.6"))
                + (1 - p) * mpmath.log((1 - p) / mpmath.mpf("0.4"))
            )
        )
        return top - j - gap

    star = pi_star_by_hand(TWO_REF, TWO_REWARDS, beta)[0]
    return (
        float(mpmath.findroot(shortfall, (0.5, star), solver="bisect")),
        float(mpmath.findroot(shortfall, (star, 0.9999), solver="bisect")),
    )


class TestFlatTopWidth(CheckContract, NumberPrecisionContract):
    grade_id = "05-flat-top-width"

    def right(self):
        low, high = flat_top_crossings(0.01)
        return high - low

    def mistakes(self):
        low, high = flat_top_crossings(0.01)
        no_beta_low, no_beta_high = flat_top_crossings(0.005)
        star = pi_star_by_hand(TWO_REF, TWO_REWARDS, 0.5)[0]
        return [no_beta_high - no_beta_low, high - star, star - low]

    def test_right_answer_brackets_pi_star_and_keeps_j_within_the_gap(self):
        low, high = flat_top_crossings(0.01)
        star = pi_star_by_hand(TWO_REF, TWO_REWARDS, 0.5)[0]
        top = 0.5 * math.log(z_by_hand(TWO_REF, TWO_REWARDS, 0.5))
        assert low < star < high
        for p in (low + 1e-6, star, high - 1e-6):
            assert top - two_output_j(p, 0.5) < 0.01
        for p in (low - 1e-4, high + 1e-4):
            assert top - two_output_j(p, 0.5) > 0.01

    def test_mistake_hints_name_the_mistake(self):
        no_beta, above, below = (wrong_message(self.grade_id, v) for v in self.mistakes())
        assert "beta times" in no_beta
        assert "only the part of the interval above" in above
        assert "only the part of the interval below" in below
        # The quadratic approximation near the top is a near miss with its own hint.
        star = pi_star_by_hand(TWO_REF, TWO_REWARDS, 0.5)[0]
        quadratic = 2 * math.sqrt(2 * 0.01 / 0.5 * star * (1 - star))
        assert "quadratic approximation" in wrong_message(self.grade_id, quadratic)

    def test_a_one_sided_search_from_the_reference_is_wrong(self):
        # A student who scans from pi_ref(y1) = 0.6 upward finds only the upper crossing.
        _, high = flat_top_crossings(0.01)
        wrong_message(self.grade_id, high - 0.6)


GRID = [k / 1000 for k in range(1001)]


def grid_argmax(beta: float) -> float:
    return max(GRID, key=lambda p: two_output_j(p, beta))


class TestBestPGrid(CheckContract, NumberPrecisionContract):
    grade_id = "05-best-p-grid"

    def right(self):
        return grid_argmax(0.3)

    def mistakes(self):
        return [sigmoid(math.log(1.5) + 1 / 0.3), grid_argmax(1.0), grid_argmax(1 / 0.3), 1.0, 0.6]

    def test_right_answer_is_the_grid_neighbour_of_pi_star(self):
        pi_star = sigmoid(math.log(1.5) + 1 / 0.3)
        assert abs(self.right() - pi_star) <= 1e-3
        assert self.right() == pytest.approx(0.977)  # pi*(y1) = 0.97677 lies between 0.976, 0.977

    def test_the_exact_maximizer_is_not_accepted(self):
        assert "not a point of the grid" in wrong_message(self.grade_id, self.mistakes()[0])

    def test_only_the_grid_point_is_accepted(self, capsys):
        # The grid's maximizer as np.linspace computes it, or typed as 0.977; not a neighbour.
        rw.check(self.grade_id, np.linspace(0.0, 1.0, 1001)[977])
        rw.check(self.grade_id, 0.977)
        assert capsys.readouterr().out.count("✔") == 2
        for neighbour in (0.976, 0.978):
            assert "Hint" in wrong_message(self.grade_id, neighbour)

    def test_mistake_hints_name_the_mistake(self):
        _, at_one, inverse, all_on_y1, reference = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "beta = 1" in at_one
        assert "1/beta" in inverse
        assert "expected reward alone" in all_on_y1
        assert "KL penalty 0" in reference


def good_objective(policy, ref, rewards, beta):
    support = policy > 0
    kl = np.sum(policy[support] * np.log(policy[support] / ref[support]))
    return np.sum(policy * rewards) - beta * kl


def loop_objective(policy, ref, rewards, beta):
    total = 0.0
    for p, q, r in zip(policy, ref, rewards, strict=True):
        if p > 0:
            total += p * r - beta * p * math.log(p / q)
    return total


def naive_objective(policy, ref, rewards, beta):  # 0 log 0 gives nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(policy * rewards) - beta * np.sum(policy * np.log(policy / ref))


class TestObjective(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "05-objective"

    @pytest.mark.parametrize("function", [good_objective, loop_objective])
    def test_correct_implementations_pass(self, capsys, function):
        rw.check(self.grade_id, function)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    def test_examples_include_zeros(self):
        examples = definition(self.grade_id).examples
        policies = [case[0] for case in examples]
        refs = [case[1] for case in examples]
        assert any((p == 0).any() for p in policies)
        assert any(((p == 0) & (q == 0)).any() for p, q in zip(policies, refs, strict=True))

    @pytest.mark.parametrize(
        "wrong",
        [
            naive_objective,
            lambda policy, ref, rewards, beta: good_objective(policy, ref, rewards, 1.0),
            lambda policy, ref, rewards, beta: good_objective(policy, ref, rewards, beta) / beta,
            lambda policy, ref, rewards, beta: float(np.sum(policy * rewards)),
            lambda policy, ref, rewards, beta: (
                np.sum(policy * rewards)
                - beta * kl_by_hand(ref, np.where(policy > 0, policy, 1e-300))
            ),
            lambda policy, ref, rewards, beta: np.array(
                [good_objective(policy, ref, rewards, beta)]
            ),
        ],
    )
    def test_wrong_functions_get_a_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Hint" in message
        assert "0 log 0" in message

    def test_the_rwlib_function_is_not_allowed(self):
        def with_rwlib(policy, ref, rewards, beta):
            return rw.kl_regularized_objective(policy, ref, rewards, beta)

        assert "no rwlib" in wrong_message(self.grade_id, with_rwlib)


def assert_labelled(ax) -> None:
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


TWO_SETTING = "π_ref = (0.6, 0.4), r = (2, 1), β = 1"
BETA_LOG_Z = math.log(0.6 * math.e**2 + 0.4 * math.e)  # beta = 1
PI_STAR_Y1 = sigmoid(math.log(1.5) + 1)  # 0.80305


class TestPlotObjectiveCurve:
    grid = np.linspace(0, 1, 1001)

    def test_labelled_figure_shows_the_setting(self):
        fig = optimality.plot_objective_curve(TWO_REF, TWO_REWARDS, 1.0, self.grid)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert TWO_SETTING in ax.get_title()
        assert "p" in ax.get_xlabel()

    def test_curve_is_j_of_p(self):
        fig = optimality.plot_objective_curve(TWO_REF, TWO_REWARDS, 1.0, self.grid)
        curve = fig.axes[0].get_lines()[0]
        np.testing.assert_allclose(curve.get_xdata(), self.grid)
        expected = [two_output_j(p, 1.0) for p in self.grid]
        np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-12)

    def test_maximum_line_and_pi_star_are_marked(self):
        fig = optimality.plot_objective_curve(TWO_REF, TWO_REWARDS, 1.0, self.grid)
        _, top, vertical, best = fig.axes[0].get_lines()
        np.testing.assert_allclose(top.get_ydata(), [BETA_LOG_Z, BETA_LOG_Z], rtol=1e-14)
        np.testing.assert_allclose(vertical.get_xdata(), [PI_STAR_Y1, PI_STAR_Y1], rtol=1e-12)
        (p_best,), (j_best,) = best.get_xdata(), best.get_ydata()
        assert abs(p_best - PI_STAR_Y1) <= 1e-3
        assert j_best == pytest.approx(BETA_LOG_Z, rel=1e-6)
        assert j_best <= BETA_LOG_Z
        assert best.get_marker() == "o"

    def test_maximum_moves_with_beta(self):
        fig = optimality.plot_objective_curve(TWO_REF, TWO_REWARDS, 0.3, self.grid)
        best = fig.axes[0].get_lines()[3]
        assert best.get_xdata()[0] == pytest.approx(0.977)
        assert "β = 0.3" in fig.axes[0].get_title()

    def test_unsorted_grid_is_sorted(self):
        fig = optimality.plot_objective_curve(TWO_REF, TWO_REWARDS, 1.0, [1.0, 0.0, 0.5])
        np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_xdata(), [0.0, 0.5, 1.0])

    @pytest.mark.parametrize(
        "args",
        [
            (THREE_REF, THREE_REWARDS, 1.0, [0.0, 1.0]),
            (TWO_REF, TWO_REWARDS, 1.0, [0.5]),
            (TWO_REF, TWO_REWARDS, 1.0, [-0.1, 0.5]),
            ([1.0, 0.0], TWO_REWARDS, 1.0, [0.0, 1.0]),
            (TWO_REF, TWO_REWARDS, 0.0, [0.0, 1.0]),
        ],
    )
    def test_bad_input_raises(self, args):
        with pytest.raises(ValueError):
            optimality.plot_objective_curve(*args)


class TestPlotObjectiveIdentity:
    policies = np.random.default_rng(0).dirichlet(np.ones(3), size=50)

    def test_labelled_figure_shows_the_setting(self):
        fig = optimality.plot_objective_identity(THREE_REF, THREE_REWARDS, 1.0, self.policies)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert "π_ref = (0.5, 0.3, 0.2), r = (1, 2, 0), β = 1" in ax.get_title()
        assert "KL(π ‖ π*)" in ax.get_xlabel()

    def test_points_are_kl_to_pi_star_and_j(self):
        fig = optimality.plot_objective_identity(THREE_REF, THREE_REWARDS, 0.5, self.policies)
        points = fig.axes[0].get_lines()[0]
        pi_star = pi_star_by_hand(THREE_REF, THREE_REWARDS, 0.5)
        np.testing.assert_allclose(
            points.get_xdata(), [kl_by_hand(p, pi_star) for p in self.policies], rtol=1e-10
        )
        np.testing.assert_allclose(
            points.get_ydata(),
            [j_by_hand(p, THREE_REF, THREE_REWARDS, 0.5) for p in self.policies],
            rtol=1e-12,
        )
        assert points.get_marker() == "o"

    def test_line_has_slope_minus_beta_through_pi_star(self):
        beta = 0.5
        fig = optimality.plot_objective_identity(THREE_REF, THREE_REWARDS, beta, self.policies)
        _, line, star = fig.axes[0].get_lines()
        top = beta * math.log(z_by_hand(THREE_REF, THREE_REWARDS, beta))
        x, y = line.get_xdata(), line.get_ydata()
        assert x[0] == 0.0 and y[0] == pytest.approx(top, rel=1e-12)
        pi_star = pi_star_by_hand(THREE_REF, THREE_REWARDS, beta)
        farthest = max(kl_by_hand(p, pi_star) for p in self.policies)
        assert x[-1] == pytest.approx(farthest, rel=1e-10)  # the line spans all the points
        assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(-beta, rel=1e-12)
        assert star.get_xdata()[0] == 0.0
        assert star.get_ydata()[0] == pytest.approx(top, rel=1e-12)

    def test_bad_shapes_raise(self):
        with pytest.raises(ValueError, match="policies"):
            optimality.plot_objective_identity(THREE_REF, THREE_REWARDS, 1.0, [[0.5, 0.5]])
        with pytest.raises(ValueError):
            optimality.plot_objective_identity(THREE_REF, [1.0, 2.0], 1.0, self.policies)


class TestPlotPolicyGap:
    def test_labelled_figure(self):
        fig = optimality.plot_policy_gap(0.5, 1.0, TWO_REF, TWO_REWARDS)
        assert isinstance(fig, Figure)
        assert_labelled(fig.axes[0])

    def test_title_shows_p_beta_j_beta_log_z_and_kl(self):
        fig = optimality.plot_policy_gap(0.5, 1.0, TWO_REF, TWO_REWARDS)
        title = fig.axes[0].get_title()
        kl = kl_by_hand([0.5, 0.5], [PI_STAR_Y1, 1 - PI_STAR_Y1])
        assert "p = 0.5, β = 1:" in title
        assert f"J(p) = {two_output_j(0.5, 1.0):.4f}" in title
        assert f"β log Z = {BETA_LOG_Z:.4f}" in title
        assert f"KL(π ‖ π*) = {kl:.4f} nats" in title

    def test_moving_a_slider_changes_the_title(self):
        titles = {
            optimality.plot_policy_gap(p, beta, TWO_REF, TWO_REWARDS).axes[0].get_title()
            for p, beta in ((0.5, 1.0), (0.7, 1.0), (0.5, 0.3), (0.5, 3.0))
        }
        assert len(titles) == 4

    def test_point_gap_and_star(self):
        beta = 0.3
        fig = optimality.plot_policy_gap(0.7, beta, TWO_REF, TWO_REWARDS)
        curve, top, point, gap, star = fig.axes[0].get_lines()
        np.testing.assert_allclose(
            curve.get_ydata(), [two_output_j(p, beta) for p in curve.get_xdata()], rtol=1e-12
        )
        beta_log_z = beta * math.log(z_by_hand(TWO_REF, TWO_REWARDS, beta))
        pi_star = sigmoid(math.log(1.5) + 1 / beta)
        assert top.get_ydata()[0] == pytest.approx(beta_log_z, rel=1e-12)
        assert point.get_xdata()[0] == 0.7
        assert point.get_ydata()[0] == pytest.approx(two_output_j(0.7, beta), rel=1e-12)
        low, high = gap.get_ydata()
        kl = kl_by_hand([0.7, 0.3], [pi_star, 1 - pi_star])
        assert high - low == pytest.approx(beta * kl, rel=1e-9)
        assert star.get_xdata()[0] == pytest.approx(pi_star, rel=1e-12)
        assert star.get_ydata()[0] == pytest.approx(beta_log_z, rel=1e-12)

    @pytest.mark.parametrize("p", [0.0, 1.0])
    def test_endpoints_have_a_finite_j(self, p):
        fig = optimality.plot_policy_gap(p, 1.0, TWO_REF, TWO_REWARDS)
        assert np.isfinite(fig.axes[0].get_lines()[2].get_ydata()).all()

    @pytest.mark.parametrize("p, beta", [(1.5, 1.0), (-0.1, 1.0), (0.5, -1.0)])
    def test_bad_input_raises(self, p, beta):
        with pytest.raises(ValueError):
            optimality.plot_policy_gap(p, beta, TWO_REF, TWO_REWARDS)


SLIDER_BETAS = log_steps(0.1, 10)


@pytest.mark.parametrize("beta", SLIDER_BETAS)
def test_policy_gap_title_shows_the_beta_it_computed_with(beta):
    # Regression: a title that rounds beta (1.12 for 1.1220) while beta log Z uses the exact value.
    title = optimality.plot_policy_gap(0.5, beta, TWO_REF, TWO_REWARDS).axes[0].get_title()
    shown = float(title.split("β = ")[1].split(":")[0])
    assert shown == beta
    top = beta * math.log(z_by_hand(TWO_REF, TWO_REWARDS, beta))
    assert f"β log Z = {top:.4f}" in title


def test_the_beta_slider_offers_only_values_its_title_prints_exactly():
    # Regression: a FloatLogSlider gave beta = 1.1220184543..., shown rounded in the title.
    import nbformat

    path = Path(__file__).resolve().parent.parent / "solutions" / "05_why_pi_star_is_optimal.ipynb"
    sliders = [
        cell.source
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code" and "interact(" in cell.source
    ]
    assert sliders and all("FloatLogSlider" not in source for source in sliders)
    assert any("log_steps(0.1, 10)" in source for source in sliders)
    assert all(float(f"{beta:g}") == beta for beta in SLIDER_BETAS)
