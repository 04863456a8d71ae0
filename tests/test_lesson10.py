"""Tests of lesson 10 (DPO reaches pi*): its exercise checks and its figures.

Expected values come from routes written out here: the flat direction's end
point by gradient descent written pair by pair (not the closed form the
exercise uses), and DPO descent written out with numpy for the step count and
for early stopping.
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

import rwlib as rw
from rwlib import dpo_training, rlhf
from rwlib.plots import dpo_training as dpo_plots

REF6 = np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02])
REWARDS6 = np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0])
GROUP = np.array([0, 0, 0, 1, 1, 1])


def softmax(logits):
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def kl(p, q) -> float:
    return float(np.sum(p * np.log(p / q)))


def star6(beta=1.0):
    return softmax(np.log(REF6) + REWARDS6 / beta)


def descent_by_hand(log_ref, pairs, beta, step_size, steps):
    """Gradient descent on the weighted mean DPO loss, pair by pair: [(w, l, weight), ...]."""
    total = sum(weight for _, _, weight in pairs)
    theta, path = log_ref.copy(), [log_ref.copy()]
    for _ in range(steps):
        gradient = np.zeros_like(theta)
        for w, l, weight in pairs:  # noqa: E741
            margin = beta * (theta[w] - theta[l] - log_ref[w] + log_ref[l])
            push = weight / total * beta / (1 + math.exp(margin))
            gradient[w] -= push
            gradient[l] += push
        theta = theta - step_size * gradient
        path.append(theta - np.log(np.sum(np.exp(theta))))
    return np.array(path)


def population_pairs(keep=lambda a, b: True):
    return [
        (a, b, REF6[a] * REF6[b] / (1 + math.exp(REWARDS6[b] - REWARDS6[a])))
        for a in range(6)
        for b in range(6)
        if a != b and keep(a, b)
    ]


class TestDisconnectedKl(CheckContract, NumberPrecisionContract):
    grade_id = "10-disconnected-kl"

    def end_point(self, beta):
        pairs = population_pairs(lambda a, b: GROUP[a] == GROUP[b])
        return np.exp(descent_by_hand(np.log(REF6), pairs, beta, 2.0, 3000)[-1])

    def right(self):
        return kl(self.end_point(2.0), star6(2.0))

    def mistakes(self):
        end, star = self.end_point(2.0), star6(2.0)
        halves = np.concatenate([star[:3] / star[:3].sum(), star[3:] / star[3:].sum()])
        at_one = kl(self.end_point(1.0), star6(1.0))
        return [kl(star, end), 0.0, at_one, kl(star, REF6), kl(halves / 2, star)]


class TestStepsToTarget(CheckContract, CountPrecisionContract):
    grade_id = "10-steps-to-target"

    def count(self, step_size):
        path = descent_by_hand(np.log(REF6), population_pairs(), 1.0, step_size, 300)
        return next(k for k, row in enumerate(path) if kl(np.exp(row), star6()) < 1e-3)

    def right(self):
        return self.count(5.0)

    def mistakes(self):
        k = self.right()
        return [k - 1, k + 1, self.count(1.0)]


def sentence_kls(beta):
    """KL to pi*_beta along DPO on lesson 09's pairs, by a numpy descent written out here."""
    model = rw.course_model()
    token_reward = rw.token_rewards(model, rw.sentiment_lexicon())
    chosen, rejected = rlhf.sample_preferences(
        model, token_reward, 2, 4000, np.random.default_rng(2024)
    )
    ids, log_ref = model.enumerate(2)
    w, l = chosen[:, 0] * 46 + chosen[:, 1], rejected[:, 0] * 46 + rejected[:, 1]  # noqa: E741
    star = softmax(log_ref + token_reward[ids].sum(axis=1) / beta)
    theta, kls = log_ref.copy(), []
    for _ in range(1001):
        p = softmax(theta)
        kls.append(kl(p, star))
        margins = beta * (theta[w] - theta[l] - log_ref[w] + log_ref[l])
        push = beta / (1 + np.exp(margins)) / len(w)
        gradient = np.zeros_like(theta)
        np.add.at(gradient, l, push)
        np.add.at(gradient, w, -push)
        theta = theta - 10.0 * gradient
    return np.array(kls)


class TestEarlyStopping(CheckContract, NumberPrecisionContract):
    grade_id = "10-early-stopping"

    def right(self):
        return float(sentence_kls(2.0).min())

    def mistakes(self):
        kls = sentence_kls(2.0)
        return [float(kls[-1]), float(kls[0]), float(sentence_kls(1.0).min())]

    def test_dpo_over_fits_here(self):
        kls = sentence_kls(2.0)
        assert 0 < np.argmin(kls) < 1000 and kls[-1] > 2 * kls.min()


def dpo_gradient_pair_by_pair(logits, ref, chosen, rejected, beta):
    pairs = [(w, l, 1.0) for w, l in zip(chosen, rejected, strict=True)]  # noqa: E741
    total = len(pairs)
    gradient = np.zeros(len(logits))
    for w, l, _ in pairs:  # noqa: E741
        margin = beta * (logits[w] - logits[l] - math.log(ref[w] / ref[l]))
        push = beta / (1 + math.exp(margin)) / total
        gradient[w] -= push
        gradient[l] += push
    return gradient


class TestDpoGradientExercise(FunctionCheckContract, StatedPrecisionContract):
    grade_id = "10-dpo-gradient"

    def test_pair_by_pair_version_passes(self, capsys):
        rw.check(self.grade_id, dpo_gradient_pair_by_pair)
        assert f"✔ {self.grade_id}: right" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "wrong",
        [
            lambda t, ref, w, lo, b: -dpo_gradient_pair_by_pair(t, ref, w, lo, b),  # ascent
            lambda t, ref, w, lo, b: dpo_gradient_pair_by_pair(t, ref, w, lo, b) * len(w),  # sum
            lambda t, ref, w, lo, b: dpo_gradient_pair_by_pair(t, ref, w, lo, 1.0),  # beta once
            lambda t, ref, w, lo, b: dpo_gradient_pair_by_pair(t, ref, w, lo, b)[:-1],  # shape
        ],
    )
    def test_wrong_functions_get_a_hint(self, wrong):
        message = wrong_message(self.grade_id, wrong)
        assert "Hint" in message and "ranked the wrong way" in message

    def test_rwlib_is_not_allowed(self):
        def with_rwlib(logits, ref, chosen, rejected, beta):
            return dpo_training.dpo_loss_and_gradient(logits, np.log(ref), chosen, rejected, beta)[
                1
            ]

        assert "no rwlib" in wrong_message(self.grade_id, with_rwlib)


class TestPlotDpoTraining:
    LOG_REF = np.log([0.5, 0.3, 0.2])
    PAIRS = ([0, 0, 2], [1, 2, 1])
    TRUE = np.array([1.0, 0.0, 0.5])

    def test_curve_is_the_kl_of_descent_and_the_floor_its_minimum(self):
        fig = dpo_plots.plot_dpo_training(1.0, 1.0, self.LOG_REF, *self.PAIRS, self.TRUE, steps=40)
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        pairs = [(w, l, 1.0) for w, l in zip(*self.PAIRS, strict=True)]  # noqa: E741
        path = descent_by_hand(self.LOG_REF, pairs, 1.0, 1.0, 40)
        target = softmax(self.LOG_REF + self.TRUE)
        expected = [kl(np.exp(row), target) for row in path]
        curve, floor = ax.get_lines()[:2]
        np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-9)
        assert math.isclose(floor.get_ydata()[0], min(expected), rel_tol=1e-9)
        assert f"at step {int(np.argmin(expected))}" in ax.get_title()

    def test_moving_the_step_size_changes_the_title(self):
        a = dpo_plots.plot_dpo_training(1.0, 1.0, self.LOG_REF, *self.PAIRS, self.TRUE, steps=20)
        b = dpo_plots.plot_dpo_training(1.0, 3.0, self.LOG_REF, *self.PAIRS, self.TRUE, steps=20)
        assert a.axes[0].get_title() != b.axes[0].get_title()


class TestPlotRewardKlPlane:
    def test_frontier_and_points(self):
        log_ref, rewards = np.log(REF6), REWARDS6
        betas = np.array([0.5, 1.0, 2.0])
        fig = dpo_plots.plot_reward_kl_plane(
            log_ref, rewards, betas, {"π*": star6(), "π_ref": REF6}
        )
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        frontier, pi_star, ref = ax.get_lines()
        np.testing.assert_allclose(frontier.get_xdata()[1], kl(star6(1.0), REF6), rtol=1e-9)
        np.testing.assert_allclose(pi_star.get_ydata(), [star6() @ REWARDS6], rtol=1e-12)
        np.testing.assert_allclose(ref.get_xdata(), [0.0], atol=1e-15)
        assert pi_star.get_marker() != ref.get_marker()

    def test_bad_betas_raise(self):
        with pytest.raises(ValueError, match="betas"):
            dpo_plots.plot_reward_kl_plane(np.log(REF6), REWARDS6, [1.0], {})
