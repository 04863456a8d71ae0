"""Tests of rwlib.rlhf (lesson 09): preferences, the reward model, exact targets, policy gradients.

References are independent of the code under test: enumeration of every
sequence, finite differences of the objective, closed forms (the natural
gradient's geometric contraction, the score-function identity), and
tolerances that come from theory (the standard error of a mean, the asymptotic
covariance of a maximum-likelihood estimate) or from rounding.
"""

import math

import numpy as np
import pytest

import rwlib as rw
from rwlib import rlhf


def course():
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def enumerated(length):
    model, token_reward = course()
    ids, log_ref = model.enumerate(length)
    return model, token_reward, ids, log_ref


def sequence_probs(policy, ids):
    """The probability of each sequence under a tabular policy, one factor per token."""
    contexts = np.concatenate([np.zeros((len(ids), 1), int), ids[:, :-1] + 1], axis=1)
    return np.prod(policy[np.arange(ids.shape[1]), contexts, ids], axis=1)


def random_policy(seed, length=2, size=46):
    logits = np.random.default_rng(seed).normal(size=(length, size + 1, size))
    return rw.softmax(logits)


def j_tabular(logits, model, rewards, beta):
    """J by its definition, E[r] - beta KL(pi || ref), from the exact sequence functions."""
    policy = rw.softmax(logits)
    ref = rlhf.reference_policy(model, len(logits))
    return rlhf.sequence_expected_reward(policy, rewards) - beta * rlhf.sequence_kl(policy, ref)


class TestSamplePreferences:
    def test_shapes_and_each_pair_is_its_two_draws(self):
        model, token_reward = course()
        chosen, rejected = rlhf.sample_preferences(
            model, token_reward, 3, 50, np.random.default_rng(0)
        )
        assert chosen.shape == rejected.shape == (50, 3)
        again = rlhf.sample_preferences(model, token_reward, 3, 50, np.random.default_rng(0))
        assert np.array_equal(again[0], chosen) and np.array_equal(again[1], rejected)

    def test_labels_follow_bradley_terry(self):
        """The share of pairs won by the better completion, for a reward gap of 1 and of 2,
        is sigma(gap) within 5 standard errors of a binomial proportion (theory)."""
        model, token_reward = course()
        chosen, rejected = rlhf.sample_preferences(
            model, token_reward, 2, 40_000, np.random.default_rng(1)
        )
        gap = token_reward[chosen].sum(axis=1) - token_reward[rejected].sum(axis=1)
        for size in (1.0, 2.0):
            pairs = np.abs(gap) == size
            won = np.mean(gap[pairs] > 0)
            p = 1 / (1 + math.exp(-size))
            assert abs(won - p) < 5 * math.sqrt(p * (1 - p) / pairs.sum())

    def test_bad_size_raises(self):
        model, token_reward = course()
        with pytest.raises(ValueError, match="size"):
            rlhf.sample_preferences(model, token_reward, 2, 0, np.random.default_rng(0))


class TestTokenCounts:
    def test_counts_by_hand(self):
        counts = rlhf.token_counts([[0, 2, 0], [1, 1, 1]], 3)
        assert np.array_equal(counts, [[2, 0, 1], [0, 3, 0]])

    def test_rows_sum_to_the_length(self):
        ids = np.random.default_rng(0).integers(0, 46, size=(20, 5))
        assert np.all(rlhf.token_counts(ids, 46).sum(axis=1) == 5)


class TestRewardModelLoss:
    def pairs(self):
        model, token_reward = course()
        return rlhf.sample_preferences(model, token_reward, 2, 300, np.random.default_rng(3))

    def test_gradient_and_hessian_against_finite_differences(self):
        chosen, rejected = self.pairs()
        theta = np.random.default_rng(4).normal(size=46)
        _, gradient, hessian = rlhf.reward_model_loss(theta, chosen, rejected, ridge=0.01)
        h = 1e-6
        for k in (0, 7, 20):
            bump = np.zeros(46)
            bump[k] = h
            up = rlhf.reward_model_loss(theta + bump, chosen, rejected, ridge=0.01)
            down = rlhf.reward_model_loss(theta - bump, chosen, rejected, ridge=0.01)
            assert math.isclose(
                (up[0] - down[0]) / (2 * h), gradient[k], rel_tol=1e-6, abs_tol=1e-9
            )
            assert np.allclose((up[1] - down[1]) / (2 * h), hessian[:, k], rtol=1e-5, atol=1e-8)

    def test_loss_by_hand(self):
        chosen, rejected = self.pairs()
        theta = np.linspace(-1, 1, 46)
        margins = theta[chosen].sum(axis=1) - theta[rejected].sum(axis=1)
        expected = np.mean(np.log1p(np.exp(-margins))) + 0.5 * 0.1 * theta @ theta
        assert math.isclose(rlhf.reward_model_loss(theta, chosen, rejected, 0.1)[0], expected)

    def test_a_constant_on_every_word_is_a_flat_direction(self):
        chosen, rejected = self.pairs()
        theta = np.random.default_rng(5).normal(size=46)
        loss, gradient, hessian = rlhf.reward_model_loss(theta, chosen, rejected)
        shifted = rlhf.reward_model_loss(theta + 3.0, chosen, rejected)
        assert math.isclose(loss, shifted[0], rel_tol=1e-12)
        assert abs(gradient.sum()) < 1e-12
        assert np.allclose(hessian @ np.ones(46), 0.0, atol=1e-12)

    def test_mismatched_pairs_raise(self):
        with pytest.raises(ValueError, match="same shape"):
            rlhf.reward_model_loss(np.zeros(3), [[0, 1]], [[0, 1, 2]])


class TestFitRewardModel:
    def test_the_fit_is_a_stationary_point_with_sum_zero(self):
        model, token_reward = course()
        pairs = rlhf.sample_preferences(model, token_reward, 2, 2000, np.random.default_rng(6))
        theta = rlhf.fit_reward_model(*pairs, 46)
        _, gradient, _ = rlhf.reward_model_loss(theta, *pairs, ridge=1e-4)
        assert np.abs(gradient).max() < 1e-12
        assert abs(theta.sum()) < 1e-10

    def test_recovers_the_centred_true_reward_within_its_standard_errors(self):
        """Theory: the maximum-likelihood estimate is approximately normal around the centred
        true reward, with covariance H^-1 / n (H the Hessian per pair at the truth). Each
        word's error must lie within 5 of its standard errors."""
        model, token_reward = course()
        truth = token_reward - token_reward.mean()
        pairs = rlhf.sample_preferences(model, token_reward, 2, 20_000, np.random.default_rng(7))
        theta = rlhf.fit_reward_model(*pairs, 46)
        _, _, hessian = rlhf.reward_model_loss(truth, *pairs, ridge=1e-4)
        standard_errors = np.sqrt(np.diag(np.linalg.inv(hessian)) / 20_000)
        assert np.all(np.abs(theta - truth) < 5 * standard_errors)

    def test_bad_ridge_raises(self):
        with pytest.raises(ValueError, match="ridge"):
            rlhf.fit_reward_model([[0, 1]], [[1, 0]], 2, ridge=0.0)


class TestExactTargets:
    @pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
    def test_pi_star_policy_is_pi_star_over_three_word_sentences(self, beta):
        model, token_reward, ids, log_ref = enumerated(3)
        rewards = token_reward[ids].sum(axis=1)
        weights = np.exp(log_ref + rewards / beta)
        star = rlhf.pi_star_policy(model, token_reward, 3, beta)
        assert np.allclose(sequence_probs(star, ids), weights / weights.sum(), rtol=1e-9, atol=0)

    def test_reference_policy_gives_pi_ref(self):
        model, _, ids, log_ref = enumerated(2)
        assert np.allclose(sequence_probs(rlhf.reference_policy(model, 2), ids), np.exp(log_ref))

    @pytest.mark.parametrize("seed", [0, 1])
    def test_sequence_kl_against_enumeration(self, seed):
        _, _, ids, _ = enumerated(2)
        p, q = random_policy(seed), random_policy(seed + 10)
        pp, qq = sequence_probs(p, ids), sequence_probs(q, ids)
        assert math.isclose(
            rlhf.sequence_kl(p, q), float(np.sum(pp * np.log(pp / qq))), rel_tol=1e-9
        )
        assert rlhf.sequence_kl(p, p) == 0.0

    def test_sequence_expected_reward_against_enumeration(self):
        _, token_reward, ids, _ = enumerated(2)
        p = random_policy(3)
        expected = sequence_probs(p, ids) @ token_reward[ids].sum(axis=1)
        assert math.isclose(rlhf.sequence_expected_reward(p, token_reward), expected, rel_tol=1e-9)

    def test_context_marginals_are_the_word_frequencies(self):
        _, _, ids, _ = enumerated(2)
        p = random_policy(4)
        marginals = rlhf.context_marginals(p)
        first_word = np.bincount(ids[:, 0], weights=sequence_probs(p, ids), minlength=46)
        assert np.allclose(marginals[1, 1:], first_word, rtol=1e-9) and marginals[1, 0] == 0

    def test_wrong_shapes_raise(self):
        with pytest.raises(ValueError, match="tabular policy"):
            rlhf.sequence_kl(np.full((2, 3, 3), 1 / 3), np.full((2, 3, 3), 1 / 3))


class TestPolicyGradient:
    def setup_method(self):
        rng = np.random.default_rng(8)
        self.log_ref = np.log(rw.softmax(rng.normal(size=7)))
        self.rewards = rng.normal(size=7) * 2
        self.logits = rng.normal(size=7)

    def objective(self, logits, beta):
        return rw.kl_regularized_objective(
            rw.softmax(logits), np.exp(self.log_ref), self.rewards, beta
        )

    @pytest.mark.parametrize("beta", [0.3, 1.0, 4.0])
    def test_against_finite_differences(self, beta):
        gradient = rlhf.policy_gradient(self.logits, self.log_ref, self.rewards, beta)
        h = 1e-6
        for k in range(7):
            bump = np.zeros(7)
            bump[k] = h
            numeric = (
                self.objective(self.logits + bump, beta) - self.objective(self.logits - bump, beta)
            ) / (2 * h)
            assert math.isclose(numeric, gradient[k], rel_tol=1e-6, abs_tol=1e-9)

    def test_zero_at_pi_star_and_sums_to_zero(self):
        star = rw.reward_weighted(np.exp(self.log_ref), self.rewards, 0.7)
        assert (
            np.abs(rlhf.policy_gradient(np.log(star), self.log_ref, self.rewards, 0.7)).max()
            < 1e-14
        )
        assert abs(rlhf.policy_gradient(self.logits, self.log_ref, self.rewards, 0.7).sum()) < 1e-14

    def test_batch_rows_are_independent(self):
        logits = np.stack([self.logits, -self.logits])
        both = rlhf.policy_gradient(logits, self.log_ref, self.rewards, 1.0)
        assert np.allclose(
            both[1], rlhf.policy_gradient(-self.logits, self.log_ref, self.rewards, 1.0)
        )


class TestPolicyGradientAscent:
    @pytest.mark.parametrize("beta, step_size", [(1.0, 0.5), (0.5, 0.4), (2.0, 0.9), (1.0, 1.5)])
    def test_natural_gradient_error_contracts_by_one_minus_eta_beta(self, beta, step_size):
        """Closed form: log pi_k - log pi* = (1 - eta beta)^k (log pi_ref - log pi*) + const."""
        _, token_reward, ids, log_ref = enumerated(2)
        rewards = token_reward[ids].sum(axis=1)
        path = rlhf.policy_gradient_ascent(log_ref, rewards, beta, step_size, 12, natural=True)
        log_star = np.log(rw.reward_weighted(log_ref, rewards, beta, log_ref=True))
        start = log_ref - log_star
        for k in (1, 5, 12):
            error = path[k] - log_star
            predicted = (1 - step_size * beta) ** k * start
            assert np.allclose(
                error - error.mean(), predicted - predicted.mean(), rtol=1e-8, atol=1e-10
            )

    def test_one_step_at_eta_beta_one(self):
        ref, rewards = np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0])
        path = rlhf.policy_gradient_ascent(np.log(ref), rewards, 2.0, 0.5, 1, natural=True)
        assert np.allclose(np.exp(path[1]), rw.reward_weighted(ref, rewards, 2.0), rtol=1e-12)

    def test_plain_gradient_climbs_j(self):
        ref, rewards = np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0])
        path = rlhf.policy_gradient_ascent(np.log(ref), rewards, 1.0, 1.0, 50)
        j = rw.kl_regularized_objective(np.exp(path), ref, rewards, 1.0)
        assert np.all(np.diff(j) > 0)
        assert np.all(np.isclose(np.exp(path).sum(axis=1), 1.0))

    def test_end_point_gap_is_the_kl_between_the_two_targets(self):
        """The end point is pi*(r_hat); its KL to pi*(r) is the reward error's formula.

        Tolerances from theory: at eta beta = 0.5 the error contracts by 0.5 per step, so the
        KL after 80 steps is of order 0.25^80, and 1e-12 (like rel_tol 1e-6 on the gap)
        only allows for rounding."""
        model, token_reward, ids, log_ref = enumerated(2)
        pairs = rlhf.sample_preferences(model, token_reward, 2, 1000, np.random.default_rng(11))
        r_hat = rlhf.fit_reward_model(*pairs, 46)[ids].sum(axis=1)
        r = token_reward[ids].sum(axis=1)
        path = rlhf.policy_gradient_ascent(log_ref, r_hat, 1.0, 0.5, 80, natural=True)
        star, star_hat = (rw.reward_weighted(log_ref, x, 1.0, log_ref=True) for x in (r, r_hat))
        assert rw.kl_divergence(np.exp(path[-1]), star_hat) < 1e-12
        delta = r_hat - r
        formula = star_hat @ delta - np.log(star @ np.exp(delta))
        assert math.isclose(rw.kl_divergence(np.exp(path[-1]), star), formula, rel_tol=1e-6)


class TestTabularPolicyGradient:
    def test_against_finite_differences_of_j(self):
        model, token_reward = course()
        logits = np.log(random_policy(12))
        gradient, objective = rlhf.tabular_policy_gradient(logits, model, token_reward, 0.8)
        assert math.isclose(objective, j_tabular(logits, model, token_reward, 0.8), rel_tol=1e-10)
        h = 1e-5
        for index in [(0, 0, 3), (0, 0, 40), (1, 5, 12), (1, 46, 0)]:
            bump = np.zeros_like(logits)
            bump[index] = h
            up = j_tabular(logits + bump, model, token_reward, 0.8)
            down = j_tabular(logits - bump, model, token_reward, 0.8)
            assert math.isclose((up - down) / (2 * h), gradient[index], rel_tol=1e-5, abs_tol=1e-10)

    def test_unreachable_contexts_have_zero_gradient(self):
        model, token_reward = course()
        gradient, _ = rlhf.tabular_policy_gradient(
            np.log(random_policy(13)), model, token_reward, 1.0
        )
        assert np.all(gradient[0, 1:] == 0)  # at t = 0 the context is always <s>

    def test_zero_at_pi_star_and_j_is_beta_log_z(self):
        model, token_reward = course()
        star = rlhf.pi_star_policy(model, token_reward, 3, 0.5)
        gradient, objective = rlhf.tabular_policy_gradient(np.log(star), model, token_reward, 0.5)
        assert np.abs(gradient).max() < 1e-12
        log_z = rw.log_z_by_recursion(model, token_reward, 3, 0.5)
        assert math.isclose(objective, 0.5 * log_z, rel_tol=1e-12)


class TestReinforceGradient:
    def test_unbiased_for_the_exact_gradient(self):
        """The mean of M independent estimates is within 5 standard errors (their measured
        spread / sqrt(M)) of the exact gradient in every entry with a nonzero spread, and the
        objective estimate within 5 standard errors of J (theory: the central limit theorem)."""
        model, token_reward = course()
        logits = np.log(random_policy(14))
        exact, objective = rlhf.tabular_policy_gradient(logits, model, token_reward, 1.0)
        rng = np.random.default_rng(15)
        runs = [
            rlhf.reinforce_gradient(logits, model, token_reward, 1.0, rng, 2000) for _ in range(200)
        ]
        gradients = np.array([g for g, _ in runs])
        j = np.array([value for _, value in runs])
        error = gradients.std(axis=0, ddof=1) / np.sqrt(len(runs))
        well_sampled = np.abs(exact) > 1e-3
        assert np.all(
            np.abs(gradients.mean(axis=0) - exact)[well_sampled] < 5 * error[well_sampled]
        )
        assert abs(j.mean() - objective) < 5 * j.std(ddof=1) / np.sqrt(len(j))

    def test_rows_of_each_context_sum_to_zero(self):
        model, token_reward = course()
        gradient, _ = rlhf.reinforce_gradient(
            np.log(random_policy(16)), model, token_reward, 1.0, np.random.default_rng(0), 100
        )
        assert np.abs(gradient.sum(axis=-1)).max() < 1e-12

    def test_at_pi_star_the_first_token_estimate_is_zero(self):
        """At pi* every sequence's whole shaped return equals beta log Z (a constant), so with
        the leave-one-out baseline the first token's advantages, hence the estimate's t = 0
        block, are 0 up to rounding; the batch mean return is beta log Z exactly."""
        model, token_reward = course()
        star = rlhf.pi_star_policy(model, token_reward, 2, 1.0)
        gradient, objective = rlhf.reinforce_gradient(
            np.log(star), model, token_reward, 1.0, np.random.default_rng(0), 50
        )
        assert np.abs(gradient[0]).max() < 1e-12
        assert math.isclose(
            objective, rw.log_z_by_recursion(model, token_reward, 2, 1.0), rel_tol=1e-10
        )

    def test_training_follows_the_exact_gradient_ascent(self):
        """150 steps of REINFORCE (500 sequences each) end near 150 steps of the exact
        gradient: from KL 0.39 to pi*, both reach about 0.025. Tolerance from a measured
        spread: over seeds 0-4 REINFORCE ended 2.5% above the exact run (standard deviation
        over seeds 1.3%, its noise keeps a little extra KL); 10% is allowed."""
        model, token_reward = course()
        ref = rlhf.reference_policy(model, 2)
        star = rlhf.pi_star_policy(model, token_reward, 2, 1.0)
        exact, sampled = np.log(ref), np.log(ref)
        rng = np.random.default_rng(0)
        for _ in range(150):
            exact = exact + 4.0 * rlhf.tabular_policy_gradient(exact, model, token_reward, 1.0)[0]
            sampled = (
                sampled
                + 4.0 * rlhf.reinforce_gradient(sampled, model, token_reward, 1.0, rng, 500)[0]
            )
        kl_exact = rlhf.sequence_kl(rw.softmax(exact), star)
        kl_sampled = rlhf.sequence_kl(rw.softmax(sampled), star)
        assert kl_exact < rlhf.sequence_kl(ref, star) / 10
        assert abs(kl_sampled - kl_exact) < 0.1 * kl_exact

    def test_needs_two_samples(self):
        model, token_reward = course()
        with pytest.raises(ValueError, match="size"):
            rlhf.reinforce_gradient(
                np.log(random_policy(0)), model, token_reward, 1.0, np.random.default_rng(0), 1
            )


class TestSampleSequences:
    def test_frequencies_follow_the_policy(self):
        """Every sequence's frequency within 5 binomial standard errors (theory)."""
        _, _, ids, _ = enumerated(2)
        policy = random_policy(17)
        samples = rlhf.sample_sequences(policy, np.random.default_rng(18), 50_000)
        index = samples[:, 0] * 46 + samples[:, 1]
        frequency = np.bincount(index, minlength=len(ids)) / 50_000
        p = sequence_probs(policy, ids)
        assert np.all(np.abs(frequency - p) <= 5 * np.sqrt(p * (1 - p) / 50_000) + 1 / 50_000)
