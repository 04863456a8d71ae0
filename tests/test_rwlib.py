"""Unit tests of rwlib's public functions, one class per function.

Expected values come from closed forms (math.exp, math.log) or from another
rwlib path that shares no code with the one under test (the log-space path
against the probability path, one row against a batch).
"""

import math

import numpy as np
import pytest

import rwlib as rw


class TestNormalize:
    def test_scores_12_7_1_give_b_seven_twentieths(self):
        np.testing.assert_allclose(rw.normalize([12, 7, 1]), [12 / 20, 7 / 20, 1 / 20], rtol=1e-15)

    def test_batch_rows_are_normalized_separately(self):
        result = rw.normalize([[1.0, 3.0], [5.0, 5.0]])
        np.testing.assert_allclose(result, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-15)


class TestSoftmax:
    def test_minus_infinity_gets_exactly_zero(self):
        assert rw.softmax([0.0, -np.inf, 1.0])[1] == 0.0

    def test_large_logits_do_not_overflow(self):
        expected = 1 / (1 + math.exp(-1.0))
        assert rw.softmax([1000.0, 1001.0])[1] == pytest.approx(expected, rel=1e-15)

    def test_differs_from_dividing_by_the_sum(self):
        # The same scores 12, 7, 1 under the two rules: softmax gives B about 0.0067, not 0.35.
        expected = math.exp(7) / (math.exp(12) + math.exp(7) + math.exp(1))
        assert rw.softmax([12, 7, 1])[1] == pytest.approx(expected, rel=1e-14)


class TestLogsumexp:
    def test_single_row_gives_a_float(self):
        value = rw.logsumexp([0.0, 0.0])
        assert type(value) is float
        assert value == pytest.approx(math.log(2), rel=1e-15)

    def test_batch_gives_one_value_per_row(self):
        result = rw.logsumexp(np.zeros((3, 4)))
        assert result.shape == (3,)
        np.testing.assert_allclose(result, math.log(4), rtol=1e-15)


class TestNormalizationFactor:
    def test_two_output_example_to_the_last_bits(self):
        expected = 0.6 * math.exp(2) + 0.4 * math.exp(1)
        assert rw.normalization_factor([0.6, 0.4], [2.0, 1.0]) == pytest.approx(expected, rel=5e-16)

    def test_zero_reward_gives_one_for_any_reference(self):
        ref = rw.normalize(np.arange(1.0, 11.0))
        assert rw.normalization_factor(ref, np.zeros(10), beta=0.01) == pytest.approx(
            1.0, abs=1e-15
        )

    def test_adding_c_multiplies_by_exp_c_over_beta(self):
        base = rw.normalization_factor([0.6, 0.4], [2.0, 1.0], beta=2.0)
        shifted = rw.normalization_factor([0.6, 0.4], [5.0, 4.0], beta=2.0)
        assert shifted == pytest.approx(base * math.exp(3.0 / 2.0), rel=1e-14)

    def test_jensen_bounds(self):
        ref, rewards = [0.2, 0.3, 0.5], [4.0, -1.0, 2.0]
        z = rw.normalization_factor(ref, rewards)
        assert math.exp(rw.expected_reward(ref, rewards)) <= z <= math.exp(4.0)


class TestLogNormalizationFactor:
    def test_finite_where_z_overflows(self):
        # log(0.6 e^2000 + 0.4 e^1000) = 2000 + log 0.6 + log(1 + (2/3) e^-1000)
        value = rw.log_normalization_factor([0.6, 0.4], [2000.0, 1000.0])
        assert value == pytest.approx(2000 + math.log(0.6), rel=1e-15)

    def test_log_reference_gives_the_same_value(self):
        ref, rewards = np.array([0.1, 0.0, 0.9]), np.array([3.0, 7.0, -1.0])
        with np.errstate(divide="ignore"):
            log_ref = np.log(ref)
        assert rw.log_normalization_factor(log_ref, rewards, 0.5, log_ref=True) == pytest.approx(
            rw.log_normalization_factor(ref, rewards, 0.5), rel=1e-14
        )


class TestRewardWeighted:
    def test_two_output_example(self):
        e = math.e
        expected = [0.6 * e / (0.6 * e + 0.4), 0.4 / (0.6 * e + 0.4)]
        np.testing.assert_allclose(rw.reward_weighted([0.6, 0.4], [2.0, 1.0]), expected, rtol=1e-15)

    @pytest.mark.parametrize("huge", [100.0, 1e4])
    def test_zero_probability_stays_exactly_zero(self, huge):
        # With 1e4 the exp of the unsupported output overflows: the log-space path takes over.
        result = rw.reward_weighted([0.5, 0.5, 0.0], [0.0, 1.0, huge])
        assert result[2] == 0.0
        assert result[1] == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-15)

    def test_zero_probability_stays_exactly_zero_with_log_reference(self):
        result = rw.reward_weighted(
            [math.log(0.5), math.log(0.5), -np.inf], [0, 1, 1e4], log_ref=True
        )
        assert result[2] == 0.0

    def test_tiny_reference_with_huge_reward_takes_the_mass(self):
        # ref 1e-300 and reward 1e4 at beta 1: pi* puts all but e^-(1e4 - 690.8) on it.
        result = rw.reward_weighted([1 - 1e-300, 1e-300], [0.0, 1e4])
        assert result[1] == 1.0 and result[0] == 0.0

    def test_broadcasts_one_reference_over_a_batch_of_rewards(self):
        rewards = np.array([[2.0, 1.0], [1.0, 2.0], [0.0, 0.0]])
        result = rw.reward_weighted([0.6, 0.4], rewards)
        assert result.shape == (3, 2)
        for row, row_rewards in zip(result, rewards, strict=True):
            np.testing.assert_allclose(row, rw.reward_weighted([0.6, 0.4], row_rewards), rtol=1e-15)

    def test_batch_spanning_several_blocks_with_mixed_rows_equals_rows(self):
        # 40 rows of 1000 outputs span two blocks; some rows need the log-space path.
        rng = np.random.default_rng(7)
        ref = rw.normalize(rng.random((40, 1000)))
        ref[::3, :10] = 0.0
        ref = rw.normalize(ref)
        rewards = rng.normal(scale=5.0, size=(40, 1000))
        rewards[::3, 0] = 5e3  # unsupported and huge: exp overflows in those rows
        betas = rng.uniform(0.5, 2.0, size=(40, 1))
        pi, log_z = (
            rw.reward_weighted(ref, rewards, betas),
            rw.log_normalization_factor(ref, rewards, betas),
        )
        for i in range(40):
            np.testing.assert_allclose(
                pi[i], rw.reward_weighted(ref[i], rewards[i], betas[i, 0]), rtol=1e-15
            )
            row_log_z = rw.log_normalization_factor(ref[i], rewards[i], betas[i, 0])
            assert log_z[i] == pytest.approx(row_log_z, rel=1e-15)

    def test_bad_row_in_a_later_block_is_located(self):
        ref = np.full((100, 2000), 1 / 2000)
        ref[97, 5] = -1e-3
        with pytest.raises(ValueError, match=r"ref has a negative probability at index \(97, 5\)"):
            rw.reward_weighted(ref, np.zeros(2000))

    def test_float32_input_gives_float64_output(self):
        result = rw.reward_weighted(np.array([0.6, 0.4], np.float32), np.array([2, 1], np.float32))
        assert result.dtype == np.float64

    def test_does_not_modify_its_inputs(self):
        ref, rewards = np.array([0.25, 0.75]), np.array([1.0, -1.0])
        rw.reward_weighted(ref, rewards, beta=0.3)
        assert ref.tolist() == [0.25, 0.75] and rewards.tolist() == [1.0, -1.0]


class TestExpectedReward:
    def test_weighted_average(self):
        assert rw.expected_reward([0.6, 0.4], [2.0, 1.0]) == pytest.approx(1.6, rel=1e-15)


class TestKlDivergence:
    def test_closed_form(self):
        expected = 0.8 * math.log(0.8 / 0.6) + 0.2 * math.log(0.2 / 0.4)
        assert rw.kl_divergence([0.8, 0.2], [0.6, 0.4]) == pytest.approx(expected, rel=1e-14)

    def test_zero_for_equal_distributions(self):
        assert rw.kl_divergence([0.3, 0.7], [0.3, 0.7]) == 0.0

    def test_zero_terms_count_zero_and_missing_support_is_infinite(self):
        assert rw.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-15)
        assert rw.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf


class TestKlRegularizedObjective:
    def test_closed_form(self):
        policy, ref, rewards = [0.8, 0.2], [0.6, 0.4], [2.0, 1.0]
        kl = 0.8 * math.log(0.8 / 0.6) + 0.2 * math.log(0.2 / 0.4)
        value = rw.kl_regularized_objective(policy, ref, rewards, beta=0.5)
        assert value == pytest.approx(1.8 - 0.5 * kl, rel=1e-14)

    def test_one_beta_per_row(self):
        values = rw.kl_regularized_objective(
            [0.8, 0.2], [0.6, 0.4], [2.0, 1.0], beta=[[0.5], [2.0]]
        )
        assert values.shape == (2,)
        assert values[1] == pytest.approx(
            rw.kl_regularized_objective([0.8, 0.2], [0.6, 0.4], [2.0, 1.0], beta=2.0), rel=1e-15
        )


class TestImplicitReward:
    def test_closed_form_and_log_probs_agree(self):
        expected = 0.5 * math.log(0.3 / 0.6) + 0.5 * 1.5
        assert rw.implicit_reward(0.3, 0.6, beta=0.5, log_z=1.5) == pytest.approx(
            expected, rel=1e-15
        )
        log_version = rw.implicit_reward(math.log(0.3), math.log(0.6), 0.5, 1.5, log_probs=True)
        assert log_version == pytest.approx(expected, rel=1e-15)

    def test_zero_policy_probability_is_minus_infinity(self):
        assert rw.implicit_reward([0.0, 1.0], [0.5, 0.5], beta=1.0)[0] == -math.inf


class TestBradleyTerry:
    def test_sigmoid_of_the_difference(self):
        assert rw.bradley_terry(2.0, 1.0) == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-15)

    def test_keeps_relative_precision_far_in_the_tail(self):
        assert rw.bradley_terry(-40.0, 0.0) == pytest.approx(1 / (1 + math.exp(40.0)), rel=1e-14)


class TestDpoLoss:
    def test_log_two_at_the_reference(self):
        assert rw.dpo_loss(0.6, 0.4, 0.6, 0.4, beta=0.1) == pytest.approx(math.log(2), rel=1e-15)

    def test_at_pi_star_it_is_minus_log_sigmoid_of_the_reward_gap(self):
        pi = rw.reward_weighted([0.6, 0.4], [2.0, 1.0], beta=1.0)
        loss = rw.dpo_loss(pi[0], pi[1], ref_chosen=0.6, ref_rejected=0.4, beta=1.0)
        assert loss == pytest.approx(math.log1p(math.exp(-1.0)), rel=1e-14)

    def test_log_probs_and_batches(self):
        chosen, rejected = np.array([0.6, 0.9]), np.array([0.4, 0.1])
        batch = rw.dpo_loss(
            np.log(chosen), np.log(rejected), np.log(0.6), np.log(0.4), beta=1.0, log_probs=True
        )
        assert batch.shape == (2,)
        assert batch[1] == pytest.approx(math.log1p((0.1 / 0.4) / (0.9 / 0.6)), rel=1e-14)

    def test_rejected_impossible_under_the_policy_gives_zero_loss(self):
        assert rw.dpo_loss(1.0, 0.0, 0.5, 0.5, beta=1.0) == 0.0
