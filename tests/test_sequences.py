"""Tests of rwlib.sequences: exact Z over sequences, and exact sampling from pi*.

Expected values come from closed forms for hand-made two-word models, from an
mpmath matrix product at 50 digits, from brute-force sums in Python
(math.fsum), and from sampling statistics with a fixed seed and a stated bound.
"""

import math

import mpmath
import numpy as np
import pytest
from goodness_of_fit import chi_square_bound, pooled_chi_square

import rwlib as rw
import rwlib.language_model as lm
from rwlib.sequences import (
    log_z_by_enumeration,
    log_z_by_recursion,
    log_z_of_sequences,
    sample_pi_star,
    soft_values,
)

AGREEMENT = 1e-12  # relative on log Z, absolute when |log Z| < 1


def agree(a, b, tol=AGREEMENT):
    return abs(a - b) <= tol * max(1.0, abs(b))


@pytest.fixture(scope="module")
def model():
    return lm.course_model()


@pytest.fixture(scope="module")
def sentiment(model):
    return lm.token_rewards(model, lm.sentiment_lexicon())


def two_words(start, after_first, after_second):
    """A hand-made model over the words ("good", "bad") from three rows of probabilities."""
    with np.errstate(divide="ignore"):
        return lm.BigramModel(("good", "bad"), np.log([start, after_first, after_second]))


class TestEnumerationAgreesWithRecursion:
    @pytest.mark.parametrize("length", [1, 2, 3])
    @pytest.mark.parametrize("beta", [0.01, 0.1, 1.0, 10.0])
    def test_sentiment_reward(self, model, sentiment, length, beta):
        by_enumeration = log_z_by_enumeration(model, sentiment, length, beta)
        by_recursion = log_z_by_recursion(model, sentiment, length, beta)
        assert agree(by_recursion, by_enumeration)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_random_rewards(self, model, seed):
        rewards = np.random.default_rng(seed).normal(scale=3.0, size=model.vocabulary_size)
        for length, beta in [(2, 0.05), (3, 0.7)]:
            assert agree(
                log_z_by_recursion(model, rewards, length, beta),
                log_z_by_enumeration(model, rewards, length, beta),
            )

    def test_zero_reward_gives_log_z_zero(self, model):
        zeros = np.zeros(model.vocabulary_size)
        assert abs(log_z_by_recursion(model, zeros, 20, 0.3)) <= 1e-13
        assert abs(log_z_by_enumeration(model, zeros, 3, 0.3)) <= 1e-13


class TestClosedForms:
    @pytest.mark.parametrize("length", [1, 2, 5, 50])
    def test_independent_tokens(self, length):
        # Every row is (0.3, 0.7): Z = (0.3 e^{r_good/beta} + 0.7 e^{r_bad/beta})^T.
        model = two_words([0.3, 0.7], [0.3, 0.7], [0.3, 0.7])
        rewards, beta = np.array([2.0, -1.0]), 0.5
        expected = length * math.log(0.3 * math.exp(4.0) + 0.7 * math.exp(-2.0))
        assert agree(log_z_by_recursion(model, rewards, length, beta), expected, 1e-14)
        if length <= 5:
            assert agree(log_z_by_enumeration(model, rewards, length, beta), expected, 1e-14)

    @pytest.mark.parametrize("length", [1, 3, 200])
    def test_words_that_repeat_forever(self, length):
        # Each word is followed by itself with probability 1: only "good good ..." and
        # "bad bad ...", so Z = 0.3 e^{T/beta} + 0.7 e^0. At T=200, beta=0.1, Z = e^1998.8.
        model = two_words([0.3, 0.7], [1.0, 0.0], [0.0, 1.0])
        beta = 0.1
        expected = length / beta + math.log(0.3) + math.log1p(0.7 / 0.3 * math.exp(-length / beta))
        assert agree(log_z_by_recursion(model, [1.0, 0.0], length, beta), expected, 1e-14)
        if length <= 3:
            assert agree(log_z_by_enumeration(model, [1.0, 0.0], length, beta), expected, 1e-14)

    def test_general_chain_against_mpmath(self):
        # Z = s^T D (P D)^(T-1) 1 with D = diag(e^{r/beta}), at 50 digits.
        start, transitions = [0.2, 0.8], [[0.9, 0.1], [0.35, 0.65]]
        rewards, beta, length = [1.5, -0.5], 0.25, 30
        model = two_words(start, *transitions)
        with mpmath.workdps(50):
            d = mpmath.diag([mpmath.exp(mpmath.mpf(r) / beta) for r in rewards])
            chain = mpmath.matrix(transitions) * d
            total = mpmath.matrix([start]) * d * chain ** (length - 1) * mpmath.matrix([1, 1])
            expected = float(mpmath.log(total[0]))
        assert agree(log_z_by_recursion(model, rewards, length, beta), expected, 1e-14)


class TestNonAdditiveReward:
    @pytest.mark.parametrize("beta", [0.2, 1.0])
    def test_contains_word_equals_a_direct_sum(self, model, beta):
        ids, log_probs = model.enumerate(2)
        rewards = lm.contains_word(ids, model.encode("great")[0])
        terms = [math.exp(lp + r / beta) for lp, r in zip(log_probs, rewards, strict=True)]
        expected = math.log(math.fsum(terms))
        assert agree(log_z_of_sequences(log_probs, rewards, beta), expected, 1e-13)

    def test_contains_word_closed_form(self, model):
        # Z = 1 + (e^{1/beta} - 1) P(contains), with P(does not contain) from a forward
        # pass over the chain with the word's column removed (no enumeration).
        length, beta, word = 3, 0.5, model.encode("great")[0]
        probs = np.exp(model.log_transitions)
        avoid = probs.copy()
        avoid[:, word] = 0.0
        alpha = avoid[0]
        for _ in range(length - 1):
            alpha = alpha @ avoid[1:]
        p_contains = 1.0 - alpha.sum()
        expected = math.log1p(math.expm1(1 / beta) * p_contains)
        ids, log_probs = model.enumerate(length)
        value = log_z_of_sequences(log_probs, lm.contains_word(ids, word), beta)
        assert agree(value, expected, 1e-12)

    def test_misaligned_rewards_are_refused(self, model):
        _, log_probs = model.enumerate(2)
        with pytest.raises(ValueError, match="one entry per sequence"):
            log_z_of_sequences(log_probs, np.zeros(10), 1.0)

    def test_log_probs_must_sum_to_one(self, model):
        _, log_probs = model.enumerate(2)
        with pytest.raises(ValueError, match="log_probs"):
            log_z_of_sequences(log_probs[:100], np.zeros(100), 1.0)


class TestSoftValues:
    def test_shape_and_boundary(self, model, sentiment):
        values = soft_values(model, sentiment, 6, 0.5)
        assert values.shape == (7, model.vocabulary_size + 1)
        assert (values[-1] == 0).all()

    def test_start_column_is_log_z_of_shorter_sequences(self, model, sentiment):
        values = soft_values(model, sentiment, 5, 0.5)
        for t in range(2, 5):  # 3, 2 and 1 tokens to go
            assert agree(values[t, 0], log_z_by_enumeration(model, sentiment, 5 - t, 0.5))

    def test_long_sequences_do_not_overflow(self, model):
        # T = 50 with rewards up to 1000 and beta 0.01: Z is about e^(5 million).
        rewards = np.linspace(-1000.0, 1000.0, model.vocabulary_size)
        log_z = log_z_by_recursion(model, rewards, 50, 0.01)
        assert math.isfinite(log_z)
        # Jensen: E_ref[r(y)] / beta <= log Z <= max r(y) / beta, with E_ref[r(y)] the sum
        # over positions of the expected token reward under the marginal of that position.
        marginal, expected_reward = model.next_token_probs([]), 0.0
        for _ in range(50):
            expected_reward += marginal @ rewards
            marginal = marginal @ np.exp(model.log_transitions[1:])
        assert expected_reward / 0.01 <= log_z <= 50 * rewards.max() / 0.01

    def test_bad_token_rewards(self, model):
        with pytest.raises(ValueError, match=r"shape \(46,\)"):
            soft_values(model, [1.0, 2.0], 3, 1.0)
        with pytest.raises(ValueError, match="token_rewards contains NaN"):
            soft_values(model, np.full(46, np.nan), 3, 1.0)

    def test_bad_length_and_beta(self, model, sentiment):
        with pytest.raises(ValueError, match="length must be a whole number >= 1"):
            soft_values(model, sentiment, 0, 1.0)
        with pytest.raises(ValueError, match="beta must be a positive"):
            soft_values(model, sentiment, 3, 0.0)


class TestSamplePiStar:
    def test_frequencies_match_exact_pi_star(self, model, sentiment):
        length, beta, size = 2, 0.5, 400_000
        ids, log_probs = model.enumerate(length)
        pi_star = rw.reward_weighted(
            log_probs, lm.sequence_reward(ids, sentiment), beta, log_ref=True
        )
        samples = sample_pi_star(model, sentiment, length, beta, np.random.default_rng(0), size)
        counts = np.bincount(
            samples[:, 0] * model.vocabulary_size + samples[:, 1], minlength=len(ids)
        )
        statistic, df = pooled_chi_square(counts, pi_star)
        assert df > 100
        assert statistic < chi_square_bound(df)

    def test_greedy_reweighting_would_fail_this_test(self, model, sentiment):
        # Reweighting each token by exp(r/beta) without the look-ahead V_{t+1} gives a
        # different distribution; the statistic above rejects it. This shows the test can fail.
        length, beta, size = 2, 0.5, 400_000
        samples = sample_pi_star(model, sentiment, length, beta, np.random.default_rng(0), size)
        counts = np.bincount(samples[:, 0] * 46 + samples[:, 1], minlength=46**2)
        first = rw.reward_weighted(model.next_token_probs([]), sentiment, beta)
        second = rw.reward_weighted(np.exp(model.log_transitions[1:]), sentiment, beta)
        greedy = (first[:, None] * second).ravel()
        statistic, df = pooled_chi_square(counts, greedy)
        assert statistic > 10 * chi_square_bound(df)

    def test_three_tokens_marginal_of_the_last_word(self, model, sentiment):
        length, beta, size = 3, 1.0, 200_000
        ids, log_probs = model.enumerate(length)
        pi_star = rw.reward_weighted(
            log_probs, lm.sequence_reward(ids, sentiment), beta, log_ref=True
        )
        last_word = np.bincount(ids[:, -1], weights=pi_star, minlength=46)
        samples = sample_pi_star(model, sentiment, length, beta, np.random.default_rng(1), size)
        statistic, df = pooled_chi_square(np.bincount(samples[:, -1], minlength=46), last_word)
        assert statistic < chi_square_bound(df)

    def test_small_beta_picks_the_best_sequence(self):
        # "good" earns 1, "bad" 0, and the reference prefers "bad": beta -> 0 gives all-good.
        model = two_words([0.1, 0.9], [0.2, 0.8], [0.1, 0.9])
        samples = sample_pi_star(model, [1.0, 0.0], 4, 0.01, np.random.default_rng(2), 1000)
        assert (samples == 0).all()

    def test_shape_and_seed(self, model, sentiment):
        first = sample_pi_star(model, sentiment, 5, 1.0, np.random.default_rng(3), 4)
        assert first.shape == (4, 5)
        again = sample_pi_star(model, sentiment, 5, 1.0, np.random.default_rng(3), 4)
        np.testing.assert_array_equal(first, again)
