"""Tests of lesson 06 (DPO and the normalization factor): its exercise checks and its figures.

Expected values come from closed forms computed here with math (the implicit
reward beta log(pi / ref) + beta log Z, the DPO loss log(1 + exp(-margin)),
the two-output pi* = sigma(logit ref + (r_w - r_l) / beta)) or from a bisection
written out here, never from the code under test.
"""

import math
from pathlib import Path

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
from rwlib.plots import dpo, log_steps


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def dpo_loss_by_hand(p_w, p_l, ref_w, ref_l, beta) -> float:
    """-log sigma(margin) = log(1 + exp(-margin)), from the definition."""
    margin = beta * math.log(p_w / ref_w) - beta * math.log(p_l / ref_l)
    return math.log1p(math.exp(-margin))


def p_for_loss_by_bisection(target: float, beta: float, ref_chosen: float) -> float:
    """The p with dpo_loss_by_hand(p, 1 - p, ref, 1 - ref, beta) = target (loss falls in p)."""
    low, high = 1e-12, 1 - 1e-12
    for _ in range(200):
        middle = (low + high) / 2
        if dpo_loss_by_hand(middle, 1 - middle, ref_chosen, 1 - ref_chosen, beta) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


class TestImplicitReward(CheckContract, NumberPrecisionContract):
    grade_id = "06-implicit-reward"

    def right(self):
        return 0.5 * math.log(0.6 / 0.3) + 0.5 * 1.2

    def mistakes(self):
        return [
            0.5 * math.log(2),  # no log Z
            0.5 * math.log(2) + 1.2,  # log Z not times beta
            0.5 * math.log(0.3 / 0.6) + 0.6,  # ratio upside down
            0.5 * math.log(0.2 / 0.5) + 0.6,  # the first output
        ]

    def test_right_answer_makes_the_policy_pi_star_with_that_log_z(self):
        rewards = [0.5 * math.log(p / q) + 0.6 for p, q in [(0.2, 0.5), (0.6, 0.3), (0.2, 0.2)]]
        assert rewards[1] == pytest.approx(self.right(), rel=1e-15)
        weights = [q * math.exp(r / 0.5) for q, r in zip([0.5, 0.3, 0.2], rewards, strict=True)]
        assert math.log(sum(weights)) == pytest.approx(1.2, rel=1e-14)
        assert [w / sum(weights) for w in weights] == pytest.approx([0.2, 0.6, 0.2], rel=1e-14)

    def test_mistake_hints_name_the_mistake(self):
        no_log_z, unscaled, upside_down, first = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "per-prompt term" in no_log_z
        assert "multiplied by beta" in unscaled
        assert "policy on top" in upside_down
        assert "index 1" in first


FOUR_REF, FOUR_REWARDS = [0.4, 0.3, 0.2, 0.1], [1.0, 0.0, 3.0, 2.0]


def four_pi_star() -> list[float]:
    weights = [p * math.exp(r / 0.5) for p, r in zip(FOUR_REF, FOUR_REWARDS, strict=True)]
    return [w / sum(weights) for w in weights]


def kl(p, q) -> float:
    return sum(a * math.log(a / b) for a, b in zip(p, q, strict=True) if a > 0)


def expected_pair_loss(policy, i: int, j: int, beta: float = 0.5) -> float:
    """The DPO loss of (i, j) averaged over Bradley-Terry labels, written out with math."""
    p_i = sigmoid(FOUR_REWARDS[i] - FOUR_REWARDS[j])
    margin = beta * math.log(policy[i] / FOUR_REF[i]) - beta * math.log(policy[j] / FOUR_REF[j])
    return -p_i * math.log(sigmoid(margin)) - (1 - p_i) * math.log(sigmoid(-margin))


def split_member(mass_ab: float, within) -> list[float]:
    """Mass ``mass_ab`` on {A, B} and the rest on {C, D}, split inside each as ``within``."""
    ab, cd = within[0] + within[1], within[2] + within[3]
    return [mass_ab * within[0] / ab, mass_ab * within[1] / ab] + [
        (1 - mass_ab) * within[2] / cd,
        (1 - mass_ab) * within[3] / cd,
    ]


class TestFlatDirectionKl(CheckContract, NumberPrecisionContract):
    grade_id = "06-flat-direction-kl"

    def right(self):
        return kl(split_member(0.5, four_pi_star()), four_pi_star())

    def mistakes(self):
        star, member = four_pi_star(), split_member(0.5, four_pi_star())
        return [
            kl(star, member),
            kl(member, FOUR_REF),
            kl(split_member(0.5, FOUR_REF), star),
            kl(split_member(0.7, star), star),
        ]

    def test_right_answer_is_a_minimiser_of_the_split_pairs_but_not_of_linked_ones(self):
        star, member = four_pi_star(), split_member(0.5, four_pi_star())
        assert sum(member[:2]) == pytest.approx(0.5, rel=1e-12)
        split = [expected_pair_loss(q, 0, 1) + expected_pair_loss(q, 2, 3) for q in (member, star)]
        assert split[0] == pytest.approx(split[1], rel=1e-12)
        # Any other split inside a pair loses; a pair linking the two pieces singles out pi*.
        other = split_member(0.5, FOUR_REF)
        assert expected_pair_loss(other, 0, 1) > expected_pair_loss(member, 0, 1)
        assert expected_pair_loss(member, 1, 2) > expected_pair_loss(star, 1, 2)

    def test_mistake_hints_name_the_mistake(self):
        reversed_kl, to_ref, ref_split, ref_mass = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "not symmetric" in reversed_kl
        assert "reference" in to_ref
        assert "pinned down" in ref_split
        assert "the probability the question asks for" in ref_mass

    def test_pi_star_itself_is_wrong(self):
        # A student who answers that the minimiser is pi* (KL 0) has missed the flat direction.
        assert "Hint" in wrong_message(self.grade_id, 0.0)


class TestPForLoss(CheckContract, NumberPrecisionContract):
    grade_id = "06-p-for-loss"

    def right(self):
        return p_for_loss_by_bisection(0.3, 0.5, 0.6)

    def mistakes(self):
        return [
            p_for_loss_by_bisection(0.3, 1.0, 0.6),
            p_for_loss_by_bisection(0.3, 0.5, 0.5),
            1 - self.right(),
            math.exp(-0.3),
        ]

    def test_right_answer_matches_the_closed_form(self):
        margin = -math.log(math.expm1(0.3))  # sigma(m) = exp(-0.3)
        assert self.right() == pytest.approx(sigmoid(logit(0.6) + margin / 0.5), rel=1e-12)

    def test_a_coarse_grid_answer_is_not_enough(self):
        with pytest.raises(AssertionError):
            rw.check(self.grade_id, round(self.right(), 3))

    def test_mistake_hints_name_the_mistake(self):
        beta_one, uniform, rejected, sigma = (
            wrong_message(self.grade_id, value) for value in self.mistakes()
        )
        assert "beta is 0.5" in beta_one
        assert "not uniform" in uniform
        assert "rejected" in rejected
        assert "sigma(margin)" in sigma


def preference_probability(policy, ref, beta, chosen, rejected):
    """A right answer, written from the definition with math."""
    margin = beta * math.log(policy[chosen] / ref[chosen]) - beta * math.log(
        policy[rejected] / ref[rejected]
    )
    return sigmoid(margin)


class TestPreferenceProbability(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "06-preference-probability"

    def test_right_function_passes(self, capsys):
        rw.check(self.grade_id, preference_probability)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    def test_a_vectorised_numpy_answer_passes(self, capsys):
        def with_numpy(policy, ref, beta, chosen, rejected):
            implicit = beta * np.log(np.asarray(policy) / np.asarray(ref))
            return 1 / (1 + np.exp(-(implicit[chosen] - implicit[rejected])))

        rw.check(self.grade_id, with_numpy)
        assert "✔" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "wrong",
        [
            lambda p, q, b, c, r: sigmoid(math.log(p[c] / q[c]) - math.log(p[r] / q[r])),
            lambda p, q, b, c, r: sigmoid(b * math.log(p[r] / q[r]) - b * math.log(p[c] / q[c])),
            lambda p, q, b, c, r: b * math.log(p[c] / q[c]) - b * math.log(p[r] / q[r]),
            lambda p, q, b, c, r: sigmoid(b * math.log(p[c]) - b * math.log(p[r])),
            lambda p, q, b, c, r: np.array([preference_probability(p, q, b, c, r)]),
        ],
        ids=["no-beta", "swapped", "margin-not-probability", "no-reference", "array-shape"],
    )
    def test_wrong_functions_get_the_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Bradley-Terry" in message and "the arguments" in message


def assert_labelled(ax) -> None:
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


class TestPlotDpoLossVsMargin:
    def test_returns_a_labelled_figure(self):
        fig = dpo.plot_dpo_loss_vs_margin(1.0)
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert_labelled(ax)
        assert "margin" in ax.get_xlabel()

    def test_title_shows_the_margin_and_the_two_losses(self):
        title = dpo.plot_dpo_loss_vs_margin(2.0).axes[0].get_title()
        assert "r_w − r_l = 2" in title
        assert f"{math.log(2):.3f}" in title
        assert f"{math.log1p(math.exp(-2.0)):.3f}" in title

    def test_curve_is_minus_log_sigmoid(self):
        margins = np.linspace(-5, 5, 21)
        curve = dpo.plot_dpo_loss_vs_margin(1.0, margins).axes[0].get_lines()[0]
        np.testing.assert_allclose(curve.get_xdata(), margins)
        expected = [math.log1p(math.exp(-m)) for m in margins]
        np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-12)

    def test_reference_and_pi_star_are_marked(self):
        lines = dpo.plot_dpo_loss_vs_margin(1.5).axes[0].get_lines()
        reference, pi_star = lines[1], lines[2]
        assert reference.get_xdata()[0] == 0.0
        assert reference.get_ydata()[0] == pytest.approx(math.log(2), rel=1e-15)
        assert pi_star.get_xdata()[0] == 1.5
        assert pi_star.get_ydata()[0] == pytest.approx(math.log1p(math.exp(-1.5)), rel=1e-14)
        assert reference.get_marker() != pi_star.get_marker()  # not colour alone

    def test_default_grid_reaches_a_large_margin(self):
        curve = dpo.plot_dpo_loss_vs_margin(7.0).axes[0].get_lines()[0]
        assert curve.get_xdata().min() <= -7.0 and curve.get_xdata().max() >= 7.0

    def test_unsorted_margins_are_sorted(self):
        curve = dpo.plot_dpo_loss_vs_margin(1.0, [2.0, -1.0, 0.5]).axes[0].get_lines()[0]
        np.testing.assert_allclose(curve.get_xdata(), [-1.0, 0.5, 2.0])

    @pytest.mark.parametrize(
        "args", [(math.nan,), (1.0, [1.0]), (1.0, [0.0, math.inf]), (1.0, [[0.0, 1.0]])]
    )
    def test_bad_input_raises(self, args):
        with pytest.raises(ValueError):
            dpo.plot_dpo_loss_vs_margin(*args)


class TestPlotDpoTwoOutputs:
    def test_returns_a_labelled_figure(self):
        fig = dpo.plot_dpo_two_outputs(0.8)
        assert isinstance(fig, Figure)
        assert_labelled(fig.axes[0])

    def test_title_shows_p_beta_margin_and_loss(self):
        title = dpo.plot_dpo_two_outputs(0.3, beta=0.5).axes[0].get_title()
        margin = 0.5 * math.log(0.3 / 0.6) - 0.5 * math.log(0.7 / 0.4)
        assert "π_θ(y_w) = 0.30, β = 0.5:" in title
        assert f"margin = {margin:.2f}" in title
        assert f"DPO loss = {math.log1p(math.exp(-margin)):.3f}" in title
        pi_star = sigmoid(logit(0.6) + 1.0 / 0.5)
        assert f"π*(y_w) = {pi_star:.3f}" in title

    def test_moving_a_slider_changes_the_title(self):
        titles = {
            dpo.plot_dpo_two_outputs(p, beta).axes[0].get_title()
            for p, beta in [(0.3, 1.0), (0.6, 1.0), (0.9, 1.0), (0.9, 0.2)]
        }
        assert len(titles) == 4

    def test_curve_is_the_dpo_loss(self):
        curve = dpo.plot_dpo_two_outputs(0.5, beta=0.7).axes[0].get_lines()[0]
        expected = [dpo_loss_by_hand(p, 1 - p, 0.6, 0.4, 0.7) for p in curve.get_xdata()]
        np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-10)
        assert np.all(np.diff(curve.get_xdata()) > 0)

    def test_reference_pi_star_and_policy_are_marked(self):
        lines = dpo.plot_dpo_two_outputs(0.45, beta=2.0, ref_chosen=0.3, reward_margin=1.5)
        lines = lines.axes[0].get_lines()
        reference, pi_star, policy = lines[1], lines[2], lines[-1]
        assert reference.get_xdata()[0] == pytest.approx(0.3)
        assert reference.get_ydata()[0] == pytest.approx(math.log(2), rel=1e-15)
        q = sigmoid(logit(0.3) + 1.5 / 2.0)
        assert pi_star.get_xdata()[0] == pytest.approx(q, rel=1e-12)
        assert pi_star.get_ydata()[0] == pytest.approx(math.log1p(math.exp(-1.5)), rel=1e-12)
        assert policy.get_xdata()[0] == 0.45
        assert policy.get_ydata()[0] == pytest.approx(
            dpo_loss_by_hand(0.45, 0.55, 0.3, 0.7, 2.0), rel=1e-12
        )
        assert len({reference.get_marker(), pi_star.get_marker(), policy.get_marker()}) == 3

    def test_curve_reaches_pi_star_at_a_small_beta(self):
        curve = dpo.plot_dpo_two_outputs(0.5, beta=0.1).axes[0].get_lines()[0]
        assert curve.get_xdata().max() >= sigmoid(logit(0.6) + 1 / 0.1)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"p_chosen": 0.0},
            {"p_chosen": 1.0},
            {"p_chosen": 0.5, "ref_chosen": 1.2},
            {"p_chosen": 0.5, "beta": -1.0},
            {"p_chosen": 0.5, "reward_margin": math.inf},
        ],
    )
    def test_bad_input_raises(self, kwargs):
        with pytest.raises(ValueError):
            dpo.plot_dpo_two_outputs(**kwargs)


SLIDER_BETAS = log_steps(0.3, 10)


@pytest.mark.parametrize("beta", SLIDER_BETAS)
def test_two_outputs_title_shows_the_beta_it_computed_with(beta):
    # Regression: the title printed beta with 3 significant digits while pi* used the exact beta.
    title = dpo.plot_dpo_two_outputs(0.6, beta=beta).axes[0].get_title()
    assert float(title.split("β = ")[1].split(":")[0]) == beta
    pi_star = 0.6 * math.exp(1 / beta) / (0.6 * math.exp(1 / beta) + 0.4)
    assert f"π*(y_w) = {pi_star:.3f}" in title


def test_the_beta_slider_offers_only_values_its_title_prints_exactly():
    # Regression: a FloatLogSlider gave beta = 1.1220184543..., shown rounded in the title.
    import nbformat

    path = (
        Path(__file__).resolve().parent.parent
        / "solutions"
        / "06_dpo_and_the_normalization_factor.ipynb"
    )
    sliders = [
        cell.source
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code" and "interact(" in cell.source
    ]
    assert sliders and all("FloatLogSlider" not in source for source in sliders)
    assert any("log_steps(0.3, 10)" in source for source in sliders)
    assert all(float(f"{beta:g}") == beta for beta in SLIDER_BETAS)
