"""Tests of rwlib.sampling: Monte Carlo Z, importance sampling, rejection and best-of-n.

Expected values come from closed forms, from the exact quantities of rwlib's
reward_weighted module (a separate code path), from brute force over all
n-tuples of candidates, and from sampling statistics with fixed seeds and
stated tolerances (a multiple of the standard error, or a chi-square bound).
"""

import itertools
import math

import numpy as np
import pytest
from goodness_of_fit import chi_square_bound

import rwlib as rw
from rwlib.sampling import (
    acceptance_rate,
    best_of_n_distribution,
    best_of_n_kl_bound,
    best_of_n_sample,
    effective_sample_size,
    monte_carlo_log_z,
    monte_carlo_z,
    rejection_sample,
    self_normalized_estimate,
)

REF = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02])
REWARDS = np.array([0.0, 0.5, 1.0, -1.0, 2.0, 1.5, 3.0, 2.5])


def chi_square(counts, probs):
    """Pearson's statistic over the cells with positive probability."""
    expected = probs * counts.sum()
    keep = expected > 0
    assert counts[~keep].sum() == 0, "a sample landed where the probability is 0"
    return (((counts - expected) ** 2)[keep] / expected[keep]).sum(), keep.sum() - 1


def reference_samples(rng, shape):
    return REWARDS[rng.choice(len(REF), size=shape, p=REF)]


class TestMonteCarloZ:
    def test_closed_form(self):
        # Weights 1, 3, 1, 3: mean 2, sample std sqrt(4/3), standard error sqrt(4/3) / 2.
        estimate, error = monte_carlo_z([0.0, math.log(3.0), 0.0, math.log(3.0)], beta=1.0)
        assert estimate == pytest.approx(2.0, rel=1e-15)
        assert error == pytest.approx(math.sqrt(4 / 3) / 2, rel=1e-14)

    @pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
    def test_within_four_standard_errors_of_exact_z(self, beta):
        rewards = reference_samples(np.random.default_rng(11), 20_000)
        estimate, error = monte_carlo_z(rewards, beta)
        exact = rw.normalization_factor(REF, REWARDS, beta)
        assert abs(estimate - exact) < 4 * error

    def test_standard_error_matches_the_spread_of_estimates(self):
        # 2000 independent estimates from 200 samples each (one batch row per estimate):
        # their standard deviation should equal the typical reported standard error.
        rewards = reference_samples(np.random.default_rng(12), (2000, 200))
        estimates, errors = monte_carlo_z(rewards, 1.0)
        assert estimates.shape == errors.shape == (2000,)
        # The sample std of 2000 estimates is within ~1.6% (one sd) of the truth; allow 8%.
        assert np.std(estimates, ddof=1) == pytest.approx(np.sqrt(np.mean(errors**2)), rel=0.08)

    def test_equals_a_direct_computation(self):
        rewards = reference_samples(np.random.default_rng(13), 50)
        weights = np.exp(rewards / 0.7)
        estimate, error = monte_carlo_z(rewards, 0.7)
        assert estimate == pytest.approx(weights.mean(), rel=1e-14)
        assert error == pytest.approx(weights.std(ddof=1) / math.sqrt(50), rel=1e-13)

    def test_overflow_points_to_the_log_version(self):
        with pytest.raises(OverflowError, match="monte_carlo_log_z"):
            monte_carlo_z([1000.0, 999.0], beta=1.0)

    def test_needs_two_samples(self):
        with pytest.raises(ValueError, match="at least 2"):
            monte_carlo_z([1.0], beta=1.0)


class TestMonteCarloLogZ:
    def test_closed_form_where_z_overflows(self):
        expected = 1000 + math.log((2 + math.exp(-1)) / 3)
        assert monte_carlo_log_z([1000.0, 1000.0, 999.0]) == pytest.approx(expected, rel=1e-15)

    def test_is_the_log_of_monte_carlo_z(self):
        rewards = reference_samples(np.random.default_rng(14), 100)
        assert monte_carlo_log_z(rewards, 0.5) == pytest.approx(
            math.log(monte_carlo_z(rewards, 0.5)[0]), rel=1e-14
        )

    def test_biased_low_jensen(self):
        # 4000 estimates from 5 samples each: their mean lies clearly below log Z.
        log_estimates = monte_carlo_log_z(reference_samples(np.random.default_rng(15), (4000, 5)))
        exact = rw.log_normalization_factor(REF, REWARDS)
        standard_error = np.std(log_estimates, ddof=1) / math.sqrt(4000)
        assert np.mean(log_estimates) < exact - 4 * standard_error


class TestSelfNormalizedEstimate:
    def test_closed_form(self):
        value = self_normalized_estimate([10.0, 20.0], [0.0, math.log(3.0)])
        assert value == pytest.approx(17.5, rel=1e-15)

    @pytest.mark.parametrize("beta", [0.5, 2.0])
    def test_close_to_expected_reward_under_pi_star(self, beta):
        rewards = reference_samples(np.random.default_rng(16), 100_000)
        estimate = self_normalized_estimate(rewards, rewards, beta)
        exact = rw.expected_reward(rw.reward_weighted(REF, REWARDS, beta), REWARDS)
        # Delta-method standard error of the self-normalised estimate; allow 5 of them.
        weights = rw.softmax(rewards / beta)
        error = math.sqrt(np.sum(weights**2 * (rewards - estimate) ** 2))
        assert abs(estimate - exact) < 5 * error
        assert error < 0.02  # the test is informative: the tolerance is small

    def test_adding_a_constant_to_rewards_changes_nothing(self):
        rewards = reference_samples(np.random.default_rng(17), 30)
        values = np.arange(30.0)
        assert self_normalized_estimate(values, rewards + 500.0, 0.1) == pytest.approx(
            self_normalized_estimate(values, rewards, 0.1), rel=1e-13
        )

    def test_one_beta_per_row(self):
        rewards = reference_samples(np.random.default_rng(18), (2, 40))
        values = np.arange(40.0)
        batch = self_normalized_estimate(values, rewards, [[0.5], [2.0]])
        assert batch[1] == pytest.approx(self_normalized_estimate(values, rewards[1], 2.0), 1e-14)


class TestEffectiveSampleSize:
    def test_closed_form(self):
        assert effective_sample_size([0.0, math.log(2.0)]) == pytest.approx(1.8, rel=1e-15)

    def test_equal_weights_give_n(self):
        assert effective_sample_size(np.full(37, 4.2), beta=0.01) == pytest.approx(37, rel=1e-14)

    def test_one_dominant_weight_gives_one(self):
        assert effective_sample_size([1000.0, 0.0, 0.0, 0.0]) == 1.0

    @pytest.mark.parametrize("seed", range(5))
    def test_between_one_and_n_and_equal_to_the_definition(self, seed):
        rewards = np.random.default_rng(seed).normal(scale=2.0, size=50)
        ess = effective_sample_size(rewards, beta=0.8)
        weights = np.exp(rewards / 0.8)
        assert 1.0 <= ess <= 50
        assert ess == pytest.approx(weights.sum() ** 2 / (weights**2).sum(), rel=1e-13)


class TestAcceptanceRate:
    def test_closed_form(self):
        assert acceptance_rate([0.6, 0.4], [2.0, 1.0]) == pytest.approx(
            0.6 + 0.4 * math.exp(-1), rel=1e-15
        )

    def test_max_reward_is_taken_within_the_support(self):
        rate = acceptance_rate([0.5, 0.5, 0.0], [0.0, 1.0, 100.0], beta=2.0)
        assert rate == pytest.approx(0.5 * math.exp(-0.5) + 0.5, rel=1e-15)

    def test_equal_rewards_accept_everything(self):
        assert acceptance_rate(REF, np.full(8, 3.0), beta=0.1) == 1.0

    def test_batch(self):
        rates = acceptance_rate(REF, REWARDS, beta=[[0.5], [2.0]])
        assert rates[1] == pytest.approx(acceptance_rate(REF, REWARDS, 2.0), rel=1e-15)


class TestRejectionSample:
    @pytest.mark.parametrize("beta", [0.5, 2.0])
    def test_rate_matches_acceptance_rate(self, beta):
        size = 200_000
        _, rate = rejection_sample(REF, REWARDS, beta, np.random.default_rng(20), size)
        expected = acceptance_rate(REF, REWARDS, beta)
        binomial_error = math.sqrt(expected * (1 - expected) / size)
        assert abs(rate - expected) < 4 * binomial_error

    @pytest.mark.parametrize("beta", [0.5, 2.0])
    def test_accepted_samples_follow_pi_star(self, beta):
        accepted, _ = rejection_sample(REF, REWARDS, beta, np.random.default_rng(21), 200_000)
        counts = np.bincount(accepted, minlength=len(REF))
        statistic, df = chi_square(counts, rw.reward_weighted(REF, REWARDS, beta))
        assert statistic < chi_square_bound(df)

    def test_reference_samples_would_fail_the_same_check(self):
        accepted, _ = rejection_sample(REF, REWARDS, 0.5, np.random.default_rng(21), 200_000)
        statistic, df = chi_square(np.bincount(accepted, minlength=len(REF)), REF)
        assert statistic > 10 * chi_square_bound(df)

    def test_never_returns_an_output_outside_the_support(self):
        accepted, _ = rejection_sample(
            [0.5, 0.5, 0.0], [0.0, 1.0, 50.0], 1.0, np.random.default_rng(22), 10_000
        )
        assert set(accepted.tolist()) == {0, 1}

    def test_bad_input(self):
        rng = np.random.default_rng(0)
        with pytest.raises(ValueError, match="must sum to 1"):
            rejection_sample([0.5, 0.4], [0.0, 1.0], 1.0, rng, 10)
        with pytest.raises(ValueError, match="same length|one entry per output"):
            rejection_sample([0.5, 0.5], [0.0, 1.0, 2.0], 1.0, rng, 10)
        with pytest.raises(TypeError, match="numpy.random.Generator"):
            rejection_sample([0.5, 0.5], [0.0, 1.0], 1.0, 42, 10)
        with pytest.raises(ValueError, match="size must be a whole number"):
            rejection_sample([0.5, 0.5], [0.0, 1.0], 1.0, rng, 2.5)


def brute_force_best_of_n(ref, rewards, n):
    """P(winner = y) by listing all len(ref)**n candidate tuples (first of equal maxima wins)."""
    result = [0.0] * len(ref)
    for candidates in itertools.product(range(len(ref)), repeat=n):
        best = max(rewards[c] for c in candidates)
        winner = next(c for c in candidates if rewards[c] == best)
        result[winner] += math.prod(ref[c] for c in candidates)
    return np.array(result)


class TestBestOfNDistribution:
    @pytest.mark.parametrize("n", [2, 3])
    @pytest.mark.parametrize(
        "rewards", [[2.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [2.0, 1.0, 2.0], [5.0] * 3]
    )
    def test_matches_brute_force_with_and_without_ties(self, rewards, n):
        ref = [0.5, 1 / 3, 1 / 6]
        expected = brute_force_best_of_n(ref, rewards, n)
        np.testing.assert_allclose(best_of_n_distribution(ref, rewards, n), expected, atol=1e-15)

    def test_brute_force_with_a_zero_probability_output(self):
        ref, rewards = [0.6, 0.0, 0.4], [0.0, 9.0, 1.0]
        expected = brute_force_best_of_n(ref, rewards, 3)
        result = best_of_n_distribution(ref, rewards, 3)
        np.testing.assert_allclose(result, expected, atol=1e-15)
        assert result[1] == 0.0

    @pytest.mark.parametrize("seed", range(5))
    def test_sums_to_one(self, seed):
        rng = np.random.default_rng(seed)
        ref = rw.normalize(rng.random(100))
        rewards = rng.integers(0, 10, size=100).astype(float)  # many ties
        result = best_of_n_distribution(ref, rewards, int(rng.integers(1, 50)))
        assert result.min() >= 0
        assert result.sum() == pytest.approx(1.0, abs=1e-14)

    def test_n_equal_one_gives_ref(self):
        np.testing.assert_allclose(best_of_n_distribution(REF, REWARDS, 1), REF, rtol=1e-15)

    def test_large_n_puts_the_mass_on_the_best_output(self):
        result = best_of_n_distribution(REF, REWARDS, 2000)
        assert result[np.argmax(REWARDS)] == pytest.approx(1.0, abs=1e-15)

    def test_tiny_group_keeps_its_relative_accuracy(self):
        # The best output has ref 1e-12: P(win) = 1 - (1 - 1e-12)^3, about 3e-12.
        ref = [1 - 1e-12, 1e-12]
        expected = -math.expm1(3 * math.log1p(-1e-12))
        assert best_of_n_distribution(ref, [0.0, 1.0], 3)[1] == pytest.approx(expected, rel=1e-13)

    @pytest.mark.parametrize("rewards", [REWARDS, np.round(REWARDS)])  # distinct; with ties
    def test_matches_sampled_winners(self, rewards):
        winners = best_of_n_sample(REF, rewards, 4, np.random.default_rng(30), size=200_000)
        statistic, df = chi_square(
            np.bincount(winners, minlength=8), best_of_n_distribution(REF, rewards, 4)
        )
        assert statistic < chi_square_bound(df)

    def test_bad_n(self):
        with pytest.raises(ValueError, match="n must be a whole number >= 1"):
            best_of_n_distribution(REF, REWARDS, 0)


class TestBestOfNSample:
    def test_ties_go_to_the_first_drawn(self):
        # Equal rewards everywhere: the first candidate always wins, so winners follow ref.
        winners = best_of_n_sample(REF, np.zeros(8), 5, np.random.default_rng(31), size=100_000)
        statistic, df = chi_square(np.bincount(winners, minlength=8), REF)
        assert statistic < chi_square_bound(df)

    def test_shape_and_seed(self):
        first = best_of_n_sample(REF, REWARDS, 3, np.random.default_rng(32), size=7)
        assert first.shape == (7,)
        np.testing.assert_array_equal(
            first, best_of_n_sample(REF, REWARDS, 3, np.random.default_rng(32), size=7)
        )


class TestBestOfNKlBound:
    def test_values(self):
        assert best_of_n_kl_bound(1) == 0.0
        assert best_of_n_kl_bound(4) == pytest.approx(math.log(4) - 0.75, rel=1e-15)

    @pytest.mark.parametrize("n", [2, 4, 16, 256])
    @pytest.mark.parametrize("seed", range(3))
    def test_bounds_the_kl_with_and_without_ties(self, n, seed):
        rng = np.random.default_rng(seed)
        ref = rw.normalize(rng.random(30))
        for rewards in (rng.normal(size=30), rng.integers(0, 4, size=30).astype(float)):
            kl = rw.kl_divergence(best_of_n_distribution(ref, rewards, n), ref)
            assert kl <= best_of_n_kl_bound(n) + 1e-12

    def test_finite_outputs_stay_strictly_below(self):
        # Two equally likely outputs, n = 2: best-of-2 is (1/4, 3/4).
        kl = rw.kl_divergence(best_of_n_distribution([0.5, 0.5], [0.0, 1.0], 2), [0.5, 0.5])
        assert kl == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5), rel=1e-14)
        assert kl < best_of_n_kl_bound(2) - 0.05

    @pytest.mark.parametrize("n", [2, 4, 16])
    def test_equality_in_the_limit_of_many_unlikely_outputs(self, n):
        # No ties and m equally likely outputs: the gap shrinks like 1/m^2 (continuous limit).
        gaps = []
        for m in (10, 100, 10_000):
            ref = np.full(m, 1 / m)
            kl = rw.kl_divergence(best_of_n_distribution(ref, np.arange(m, dtype=float), n), ref)
            gaps.append(best_of_n_kl_bound(n) - kl)
        assert gaps[0] > gaps[1] > 0
        assert gaps[2] < 1e-6
