"""Tests of rwlib.dpo_training (lesson 10): the DPO loss over pairs, its gradient, and descent.

References: rw.dpo_loss pair by pair and central finite differences of it, the
closed form of the infinite-data weights, the minimiser pi* (closed form), and
the invariant of descent (each connected group keeps its sum of logits).
"""

import math

import numpy as np
import pytest

import rwlib as rw
from rwlib import dpo_training

REF6 = np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02])
REWARDS6 = np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0])


def mean_loss_by_hand(logits, log_ref, chosen, rejected, beta, weights):
    log_pi = logits - np.logaddexp.reduce(logits)
    losses = [
        rw.dpo_loss(log_pi[win], log_pi[lose], log_ref[win], log_ref[lose], beta, log_probs=True)
        for win, lose in zip(chosen, rejected, strict=True)
    ]
    return float(np.dot(weights, losses) / np.sum(weights))


class TestDpoLossAndGradient:
    def setup_method(self):
        rng = np.random.default_rng(0)
        self.log_ref = np.log(REF6)
        self.logits = rng.normal(size=6)
        self.chosen, self.rejected = rng.integers(0, 6, size=(2, 12))
        self.weights = rng.random(12)

    @pytest.mark.parametrize("beta", [0.1, 1.0, 3.0])
    def test_against_finite_differences_of_rw_dpo_loss(self, beta):
        args = (self.log_ref, self.chosen, self.rejected, beta)
        loss, gradient = dpo_training.dpo_loss_and_gradient(self.logits, *args, self.weights)
        assert math.isclose(
            loss, mean_loss_by_hand(self.logits, *args, self.weights), rel_tol=1e-12
        )
        h = 1e-6
        for k in range(6):
            step = h * np.eye(6)[k]
            up = mean_loss_by_hand(self.logits + step, *args, self.weights)
            down = mean_loss_by_hand(self.logits - step, *args, self.weights)
            assert math.isclose((up - down) / (2 * h), gradient[k], rel_tol=1e-6, abs_tol=1e-10)

    def test_log_2_at_the_reference(self):
        loss, _ = dpo_training.dpo_loss_and_gradient(
            self.log_ref, self.log_ref, [0, 2], [1, 3], 0.5
        )
        assert math.isclose(loss, math.log(2), rel_tol=1e-12)

    def test_outputs_in_no_pair_do_not_move_and_the_gradient_sums_to_zero(self):
        _, gradient = dpo_training.dpo_loss_and_gradient(self.logits, self.log_ref, [0], [1], 1.0)
        assert np.all(gradient[2:] == 0) and abs(gradient.sum()) < 1e-16

    def test_shifting_every_logit_changes_nothing(self):
        args = (self.log_ref, self.chosen, self.rejected, 1.0)
        a = dpo_training.dpo_loss_and_gradient(self.logits, *args)
        b = dpo_training.dpo_loss_and_gradient(self.logits + 50.0, *args)
        assert math.isclose(a[0], b[0], rel_tol=1e-12) and np.allclose(a[1], b[1], atol=1e-15)

    @pytest.mark.parametrize(
        "chosen, rejected, message",
        [([0], [6], "outside"), ([0, 1], [1], "same length"), ([], [], "non-empty")],
    )
    def test_bad_pairs_raise(self, chosen, rejected, message):
        with pytest.raises(ValueError, match=message):
            dpo_training.dpo_loss_and_gradient(self.logits, self.log_ref, chosen, rejected, 1.0)


class TestAllPairs:
    def test_weights_by_closed_form(self):
        """The two orders of a pair share pi_ref(a) pi_ref(b), as sigma(d) + sigma(-d) = 1:
        the weights sum to the sum over a < b of pi_ref(a) pi_ref(b), (1 - sum pi_ref^2) / 2."""
        chosen, rejected, weights = dpo_training.all_pairs(REF6, REWARDS6)
        assert len(chosen) == 30 and np.all(chosen != rejected)
        assert math.isclose(weights.sum(), (1 - np.sum(REF6**2)) / 2, rel_tol=1e-12)
        for a, b, w in zip(chosen, rejected, weights, strict=True):
            assert math.isclose(w, REF6[a] * REF6[b] / (1 + math.exp(REWARDS6[b] - REWARDS6[a])))

    def test_the_minimiser_is_pi_star(self):
        """Closed form: at pi* every margin is the reward difference, and the gradient is 0."""
        chosen, rejected, weights = dpo_training.all_pairs(REF6, REWARDS6)
        for beta in (0.5, 2.0):
            star = rw.reward_weighted(REF6, REWARDS6, beta)
            _, gradient = dpo_training.dpo_loss_and_gradient(
                np.log(star), np.log(REF6), chosen, rejected, beta, weights
            )
            assert np.abs(gradient).max() < 1e-15


class TestDpoDescent:
    def test_infinite_data_converges_to_pi_star(self):
        chosen, rejected, weights = dpo_training.all_pairs(REF6, REWARDS6)
        path = dpo_training.dpo_descent(np.log(REF6), chosen, rejected, 1.0, 5.0, 400, weights)
        kl = rw.kl_divergence(np.exp(path), rw.reward_weighted(REF6, REWARDS6, 1.0))
        assert np.all(np.diff(kl) < 0) and kl[100] < 1e-3 and kl[-1] < 1e-6

    def test_each_connected_group_keeps_its_sum_of_logits(self):
        """Every step moves a chosen and a rejected logit of the same group by opposite amounts."""
        chosen, rejected, weights = dpo_training.all_pairs(REF6, REWARDS6)
        group = np.array([0, 0, 0, 1, 1, 1])
        within = group[chosen] == group[rejected]
        path = dpo_training.dpo_descent(
            np.log(REF6), chosen[within], rejected[within], 1.0, 5.0, 50, weights[within]
        )
        shift = path - np.log(REF6)  # log-policies differ from logits by one constant per step
        assert np.allclose(shift[:, :3].mean(axis=1), shift[:, 3:].mean(axis=1), atol=1e-12)

    def test_an_output_that_only_loses_goes_to_zero(self):
        path = dpo_training.dpo_descent(np.log([0.5, 0.5]), [0], [1], 1.0, 1.0, 2000)
        assert np.all(np.diff(path[:, 1]) < 0) and np.exp(path[-1, 1]) < 1e-3

    def test_rows_are_log_probabilities(self):
        path = dpo_training.dpo_descent(np.log(REF6), [0, 1], [2, 3], 0.7, 2.0, 5)
        assert path.shape == (6, 6) and np.allclose(np.exp(path).sum(axis=1), 1.0)
        assert np.array_equal(path[0], np.log(REF6))
