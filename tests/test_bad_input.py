"""Every bad input named in the foundation issue gets a clear error, never a silent NaN.

Each message must name the argument at fault and say what to do.
"""

import numpy as np
import pytest

import rwlib as rw

GOOD_REF = [0.6, 0.4]
GOOD_REWARDS = [2.0, 1.0]
Z_FUNCTIONS = [rw.reward_weighted, rw.normalization_factor, rw.log_normalization_factor]


@pytest.mark.parametrize("function", Z_FUNCTIONS)
class TestRewardWeightedRejects:
    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_ref(self, function, bad):
        with pytest.raises(ValueError, match=r"ref contains .* at index 1"):
            function([0.6, bad], GOOD_REWARDS)

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_rewards(self, function, bad):
        with pytest.raises(ValueError, match=r"rewards contains .* at index 0; use finite"):
            function(GOOD_REF, [bad, 1.0])

    @pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
    def test_non_finite_reward_outside_the_support(self, function, bad):
        with pytest.raises(ValueError, match=r"rewards contains"):
            function([0.6, 0.4, 0.0], [1.0, 2.0, bad])

    def test_negative_probability(self, function):
        with pytest.raises(ValueError, match=r"ref has a negative probability .*rw.normalize"):
            function([1.2, -0.2], GOOD_REWARDS)

    def test_reference_not_summing_to_one(self, function):
        with pytest.raises(ValueError, match=r"ref must sum to 1 .* sums to 0.9; .*rw.normalize"):
            function([0.5, 0.4], GOOD_REWARDS)

    def test_batch_row_not_summing_to_one_is_located(self, function):
        ref = np.full((3, 4), 0.25)
        ref[2, 1] = 0.2
        with pytest.raises(ValueError, match=r"row at index 2 sums to 0.95"):
            function(ref, np.zeros(4))

    def test_all_zero_reference(self, function):
        with pytest.raises(ValueError, match=r"ref has a row of all zeros"):
            function([0.0, 0.0], GOOD_REWARDS)

    @pytest.mark.parametrize("empty", [[], np.zeros((3, 0))])
    def test_empty_reference(self, function, empty):
        with pytest.raises(ValueError, match=r"ref is empty"):
            function(empty, empty)

    def test_scalar_reference(self, function):
        with pytest.raises(ValueError, match=r"ref must have an axis of outputs"):
            function(1.0, 2.0)

    def test_shapes_that_do_not_broadcast(self, function):
        with pytest.raises(ValueError, match=r"shapes do not match: ref \(2,\), rewards \(3,\)"):
            function(GOOD_REF, [1.0, 2.0, 3.0])

    @pytest.mark.parametrize("beta", [0.0, -1.0, np.inf, np.nan, [[1.0], [0.0]]])
    def test_beta_not_positive_and_finite(self, function, beta):
        with pytest.raises(ValueError, match=r"beta must be a positive, finite number"):
            function(GOOD_REF, GOOD_REWARDS, beta)

    def test_beta_varying_along_the_outputs(self, function):
        with pytest.raises(ValueError, match=r"beta has shape \(2,\).*beta\[:, None\]"):
            function(GOOD_REF, GOOD_REWARDS, beta=[1.0, 2.0])

    @pytest.mark.parametrize("bad", [["a", "b"], [1 + 2j, 1.0], [None, 0.5]])
    def test_non_numeric_reference(self, function, bad):
        with pytest.raises(TypeError, match=r"ref must hold real numbers"):
            function(bad, GOOD_REWARDS)

    def test_non_numeric_beta(self, function):
        with pytest.raises(TypeError, match=r"beta must be a positive number"):
            function(GOOD_REF, GOOD_REWARDS, beta="hot")

    def test_ragged_reference(self, function):
        with pytest.raises(ValueError, match=r"ref must be a rectangular array"):
            function([[0.5, 0.5], [1.0]], GOOD_REWARDS)

    def test_log_reference_with_positive_values(self, function):
        with pytest.raises(ValueError, match=r"exp\(ref\) must sum to 1"):
            function([0.0, 0.0], GOOD_REWARDS, log_ref=True)

    def test_log_reference_with_nan(self, function):
        with pytest.raises(ValueError, match=r"ref contains NaN"):
            function([np.nan, 0.0], GOOD_REWARDS, log_ref=True)

    def test_log_reference_all_minus_infinity(self, function):
        with pytest.raises(ValueError, match=r"ref has a row that is -inf everywhere"):
            function([-np.inf, -np.inf], GOOD_REWARDS, log_ref=True)


class TestReferenceSumTolerance:
    """The sum-to-1 tolerance follows the dtype: loose enough for float32, never 0.9."""

    def test_float32_softmax_over_gpt2_vocabulary_is_accepted(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(scale=3.0, size=50_257).astype(np.float32)
        exps = np.exp(logits - logits.max())
        ref = exps / np.cumsum(exps)[-1]  # a float32 sequential sum, as a GPU kernel might do
        assert ref.dtype == np.float32
        assert (
            abs(ref.sum(dtype=np.float64) - 1) > 1e-6
        )  # it really is off by more than float64 allows
        assert np.isclose(rw.reward_weighted(ref, np.zeros(ref.size)).sum(), 1.0, atol=1e-12)

    @pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
    @pytest.mark.parametrize("total", [0.9, 0.99, 1.02])
    def test_reference_summing_far_from_one_is_rejected(self, dtype, total):
        ref = (np.full(1000, total / 1000)).astype(dtype)
        with pytest.raises(ValueError, match="must sum to 1"):
            rw.reward_weighted(ref, np.zeros(1000))

    def test_float64_reference_off_by_1e_9_is_rejected(self):
        with pytest.raises(ValueError, match="must sum to 1"):
            rw.reward_weighted([0.5, 0.5 + 1e-9], GOOD_REWARDS)


class TestNormalizationFactorRange:
    def test_overflow_points_to_the_log_version(self):
        with pytest.raises(OverflowError, match=r"use rw.log_normalization_factor"):
            rw.normalization_factor(GOOD_REF, [800.0, 0.0])

    def test_underflow_points_to_the_log_version(self):
        with pytest.raises(OverflowError, match=r"use rw.log_normalization_factor"):
            rw.normalization_factor(GOOD_REF, [-800.0, -800.0])


class TestScoresReject:
    @pytest.mark.parametrize("scores", [[1.0, -1.0], [1.0, np.nan], [np.inf, 1.0]])
    def test_normalize_bad_scores(self, scores):
        with pytest.raises(ValueError, match="scores"):
            rw.normalize(scores)

    def test_normalize_all_zero(self):
        with pytest.raises(ValueError, match="all zeros"):
            rw.normalize([0, 0, 0])

    @pytest.mark.parametrize("function", [rw.softmax, rw.logsumexp])
    @pytest.mark.parametrize("logits", [[np.nan, 1.0], [np.inf, 1.0], [-np.inf, -np.inf], []])
    def test_softmax_and_logsumexp_bad_logits(self, function, logits):
        with pytest.raises(ValueError, match="logits"):
            function(logits)


class TestObjectiveRejects:
    def test_policy_not_a_distribution(self):
        with pytest.raises(ValueError, match="policy must sum to 1"):
            rw.expected_reward([0.5, 0.6], GOOD_REWARDS)

    def test_kl_second_argument_not_a_distribution(self):
        with pytest.raises(ValueError, match="q has a negative probability"):
            rw.kl_divergence(GOOD_REF, [1.5, -0.5])

    def test_objective_bad_beta(self):
        with pytest.raises(ValueError, match="beta must be a positive"):
            rw.kl_regularized_objective(GOOD_REF, GOOD_REF, GOOD_REWARDS, beta=0)

    def test_objective_shapes(self):
        with pytest.raises(ValueError, match="shapes do not match"):
            rw.kl_regularized_objective(GOOD_REF, [0.2, 0.3, 0.5], [1.0, 2.0, 3.0], beta=1)


class TestPreferencesReject:
    def test_implicit_reward_with_zero_reference(self):
        with pytest.raises(ValueError, match="ref is 0 for some output"):
            rw.implicit_reward([0.5, 0.5], [1.0, 0.0], beta=1.0)

    def test_implicit_reward_probability_above_one(self):
        with pytest.raises(ValueError, match="policy holds probabilities.*log_probs=True"):
            rw.implicit_reward(-0.5, 0.5, beta=1.0)

    def test_implicit_reward_positive_log_probability(self):
        with pytest.raises(ValueError, match="ref holds log-probabilities"):
            rw.implicit_reward(-1.0, 0.5, beta=1.0, log_probs=True)

    def test_bradley_terry_nan(self):
        with pytest.raises(ValueError, match="reward_b contains NaN"):
            rw.bradley_terry(1.0, np.nan)

    def test_dpo_loss_both_outputs_impossible_under_the_policy(self):
        with pytest.raises(ValueError, match="both 0"):
            rw.dpo_loss(0.0, 0.0, ref_chosen=0.5, ref_rejected=0.5, beta=1.0)

    def test_dpo_loss_bad_beta(self):
        with pytest.raises(ValueError, match="beta must be a positive"):
            rw.dpo_loss(0.5, 0.5, 0.5, 0.5, beta=-1.0)
