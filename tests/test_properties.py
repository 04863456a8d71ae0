"""Property-based tests (hypothesis) for rwlib's reward-weighted distribution.

pi*(y) = ref(y) exp(r(y)/beta) / Z. Every expected value comes from an
algebraic identity or a closed form, never from rwlib's own output alone.
"""

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rwlib as rw

# database=None keeps hypothesis from writing an example database into the repository.
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)

REWARD_BOUND = 50.0
BETA_MIN, BETA_MAX = 0.05, 20.0
MIN_WEIGHT = 1e-6  # smallest unnormalised positive reference weight
# Tests that take log(pi*) on the support need pi* far from float64 underflow
# there. With |r| <= 15 the exponents r/beta span at most 30/0.05 = 600, and
# positive reference entries differ by at most a factor 12/MIN_WEIGHT (~e^16.3),
# so pi* >= e^-617 on the support.
SAFE_REWARD_BOUND = 15.0

betas = st.floats(BETA_MIN, BETA_MAX)
sizes = st.integers(2, 12)


def reward_vectors(size, bound=REWARD_BOUND):
    """Finite float64 reward vectors of the given length with entries in +-bound."""
    return hnp.arrays(np.float64, size, elements=st.floats(-bound, bound))


@st.composite
def references(draw, size, full_support=False):
    """Valid probability vectors: normalised weights in [MIN_WEIGHT, 1], with
    possibly some exact zeros unless full_support, always one positive entry or more."""
    positive = st.floats(MIN_WEIGHT, 1.0)
    elements = positive if full_support else st.one_of(st.just(0.0), positive)
    weights = draw(hnp.arrays(np.float64, size, elements=elements)).copy()
    if not np.any(weights > 0):
        weights[draw(st.integers(0, size - 1))] = 1.0
    return weights / weights.sum()


@st.composite
def problems(draw, reward_bound=REWARD_BOUND):
    """(ref, rewards, beta) for a single distribution."""
    size = draw(sizes)
    return draw(references(size)), draw(reward_vectors(size, reward_bound)), draw(betas)


@st.composite
def problems_with_policy(draw):
    """(ref, rewards, beta, policy) where policy is positive exactly on ref's support.

    Rewards are limited to SAFE_REWARD_BOUND so KL(policy || pi*) is finite in float64.
    """
    ref, rewards, beta = draw(problems(SAFE_REWARD_BOUND))
    weights = draw(hnp.arrays(np.float64, ref.shape, elements=st.floats(MIN_WEIGHT, 1.0)))
    weights = np.where(ref > 0, weights, 0.0)
    return ref, rewards, beta, weights / weights.sum()


@st.composite
def batched_problems(draw):
    """(refs, rewards, beta): a (B, V) batch with a (B, 1) array of per-row betas."""
    size = draw(sizes)
    rows = draw(st.integers(1, 5))
    refs = np.stack([draw(references(size)) for _ in range(rows)])
    rewards = draw(reward_vectors((rows, size)))
    beta = draw(hnp.arrays(np.float64, (rows, 1), elements=betas))
    return refs, rewards, beta


@st.composite
def reward_pairs(draw):
    """Two reward arrays of one shape (1 or 2 dimensions), entries in +-100."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=6))
    elements = st.floats(-100.0, 100.0)
    return (
        draw(hnp.arrays(np.float64, shape, elements=elements)),
        draw(hnp.arrays(np.float64, shape, elements=elements)),
    )


@st.composite
def implicit_reward_problems(draw):
    """(policy, ref, beta, log_z) with policy and ref both of full support."""
    size = draw(sizes)
    return (
        draw(references(size, full_support=True)),
        draw(references(size, full_support=True)),
        draw(betas),
        draw(st.floats(-REWARD_BOUND, REWARD_BOUND)),
    )


def log_reference(ref):
    """np.log(ref) with -inf for zero entries, as log_ref=True expects."""
    with np.errstate(divide="ignore"):
        return np.log(ref)


class TestNormalisation:
    """pi* is a probability vector supported exactly where ref is positive."""

    @PROPERTY_SETTINGS
    @given(problems())
    def test_sums_to_one_and_nonnegative(self, problem):
        """pi* is float64 with ref's shape, nonnegative, and sums to 1 within 1e-12."""
        ref, rewards, beta = problem
        policy = rw.reward_weighted(ref, rewards, beta)
        assert policy.dtype == np.float64
        assert policy.shape == ref.shape
        assert np.all(policy >= 0)
        assert abs(policy.sum() - 1.0) <= 1e-12

    @PROPERTY_SETTINGS
    @given(problems())
    def test_exactly_zero_where_reference_is_zero(self, problem):
        """pi* is exactly 0.0 wherever ref is 0, whatever the reward there."""
        ref, rewards, beta = problem
        policy = rw.reward_weighted(ref, rewards, beta)
        assert np.all(policy[ref == 0] == 0.0)


class TestRewardShift:
    """Adding a constant c to every reward leaves pi* unchanged and scales Z by exp(c/beta)."""

    @PROPERTY_SETTINGS
    @given(problems(), st.floats(-REWARD_BOUND, REWARD_BOUND))
    def test_policy_unchanged(self, problem, shift):
        """pi*(r + c) == pi*(r) to 1e-9 relative / 1e-12 absolute."""
        ref, rewards, beta = problem
        np.testing.assert_allclose(
            rw.reward_weighted(ref, rewards + shift, beta),
            rw.reward_weighted(ref, rewards, beta),
            rtol=1e-9,
            atol=1e-12,
        )

    @PROPERTY_SETTINGS
    @given(problems(), st.floats(-REWARD_BOUND, REWARD_BOUND))
    def test_log_z_shifts_by_c_over_beta(self, problem, shift):
        """log Z(r + c) - log Z(r) == c/beta to 1e-9 * max(1, |c/beta|)."""
        ref, rewards, beta = problem
        difference = rw.log_normalization_factor(
            ref, rewards + shift, beta
        ) - rw.log_normalization_factor(ref, rewards, beta)
        expected = shift / beta
        assert abs(difference - expected) <= 1e-9 * max(1.0, abs(expected))


class TestRewardBetaScaling:
    """(r, beta) and (c*r, c*beta) define the same pi* for c > 0."""

    @PROPERTY_SETTINGS
    @given(problems(), st.floats(1e-2, 1e2))
    def test_policy_unchanged(self, problem, scale):
        """pi*(c*r, c*beta) == pi*(r, beta) to 1e-9 relative / 1e-12 absolute."""
        ref, rewards, beta = problem
        np.testing.assert_allclose(
            rw.reward_weighted(ref, scale * rewards, scale * beta),
            rw.reward_weighted(ref, rewards, beta),
            rtol=1e-9,
            atol=1e-12,
        )


class TestLargeBeta:
    """As beta grows, pi* tends to ref."""

    @PROPERTY_SETTINGS
    @given(problems())
    def test_policy_approaches_reference(self, problem):
        """beta = 1e8 gives pi* == ref to 1e-6 absolute."""
        ref, rewards, _ = problem
        np.testing.assert_allclose(rw.reward_weighted(ref, rewards, 1e8), ref, rtol=0, atol=1e-6)


class TestSmallBeta:
    """As beta shrinks, pi* concentrates on the best output within ref's support."""

    MARGIN = 1e-2

    # Explicit case: the global reward argmax (index 0) has zero reference probability.
    @example(problem=(np.array([0.0, 0.5, 0.5]), np.array([10.0, 1.0, 0.0]), 1.0))
    @PROPERTY_SETTINGS
    @given(problems())
    def test_mass_on_best_supported_output(self, problem):
        """beta = 1e-6 puts mass >= 1 - 1e-9 on the argmax of rewards over ref > 0.

        Every zero-probability output gets a reward above all others, so the
        global argmax lies outside the support whenever ref has a zero. The best
        supported reward is then raised by 2*MARGIN so it is unique by at least
        MARGIN.
        """
        ref, rewards, _ = problem
        rewards = np.where(ref == 0, 2 * REWARD_BOUND, rewards)
        support = np.flatnonzero(ref > 0)
        best = support[np.argmax(rewards[support])]
        rewards[best] += 2 * self.MARGIN
        policy = rw.reward_weighted(ref, rewards, 1e-6)
        assert policy[best] >= 1 - 1e-9


class TestOptimalObjective:
    """J(pi*) = E_pi*[r] - beta KL(pi* || ref) equals beta log Z."""

    @PROPERTY_SETTINGS
    @given(problems())
    def test_objective_at_optimum(self, problem):
        """kl_regularized_objective(pi*) == beta * log Z to 1e-9 relative or absolute."""
        ref, rewards, beta = problem
        policy = rw.reward_weighted(ref, rewards, beta)
        objective = rw.kl_regularized_objective(policy, ref, rewards, beta)
        expected = beta * rw.log_normalization_factor(ref, rewards, beta)
        assert abs(objective - expected) <= 1e-9 * max(1.0, abs(expected))


class TestObjectiveGap:
    """For any pi, J(pi) = beta log Z - beta KL(pi || pi*)."""

    @PROPERTY_SETTINGS
    @given(problems_with_policy())
    def test_gap_is_beta_kl_to_optimum(self, problem):
        """J(pi) == beta log Z - beta KL(pi || pi*) to 1e-8 relative or absolute,
        for pi positive on all of ref's support."""
        ref, rewards, beta, policy = problem
        objective = rw.kl_regularized_objective(policy, ref, rewards, beta)
        log_z = rw.log_normalization_factor(ref, rewards, beta)
        optimum = rw.reward_weighted(ref, rewards, beta)
        expected = beta * log_z - beta * rw.kl_divergence(policy, optimum)
        assert abs(objective - expected) <= 1e-8 * max(1.0, abs(expected))


class TestBatchMatchesRows:
    """A (B, V) batch with a (B, 1) beta equals B separate single-row calls (to 1e-12)."""

    @PROPERTY_SETTINGS
    @given(batched_problems())
    def test_reward_weighted(self, problem):
        """Each row of the batched pi* matches the row's own call."""
        refs, rewards, beta = problem
        batch = rw.reward_weighted(refs, rewards, beta)
        assert batch.shape == refs.shape
        for i in range(refs.shape[0]):
            np.testing.assert_allclose(
                batch[i],
                rw.reward_weighted(refs[i], rewards[i], beta[i, 0]),
                rtol=1e-12,
                atol=1e-12,
            )

    @PROPERTY_SETTINGS
    @given(batched_problems())
    def test_log_normalization_factor(self, problem):
        """Each entry of the batched log Z (shape (B,)) matches the row's own call."""
        refs, rewards, beta = problem
        batch = rw.log_normalization_factor(refs, rewards, beta)
        assert np.shape(batch) == refs.shape[:-1]
        for i in range(refs.shape[0]):
            np.testing.assert_allclose(
                batch[i],
                rw.log_normalization_factor(refs[i], rewards[i], beta[i, 0]),
                rtol=1e-12,
                atol=1e-12,
            )

    @PROPERTY_SETTINGS
    @given(batched_problems())
    def test_kl_regularized_objective(self, problem):
        """Each entry of the batched objective J(pi*) (shape (B,)) matches the row's own call."""
        refs, rewards, beta = problem
        policy = rw.reward_weighted(refs, rewards, beta)
        batch = rw.kl_regularized_objective(policy, refs, rewards, beta)
        assert np.shape(batch) == refs.shape[:-1]
        for i in range(refs.shape[0]):
            np.testing.assert_allclose(
                batch[i],
                rw.kl_regularized_objective(policy[i], refs[i], rewards[i], beta[i, 0]),
                rtol=1e-12,
                atol=1e-12,
            )


class TestLogReference:
    """log_ref=True with log(ref) is equivalent to log_ref=False with ref."""

    @PROPERTY_SETTINGS
    @given(problems())
    def test_same_policy(self, problem):
        """pi* agrees to 1e-9 relative / 1e-12 absolute, and is exactly 0 where ref is 0."""
        ref, rewards, beta = problem
        policy = rw.reward_weighted(log_reference(ref), rewards, beta, log_ref=True)
        np.testing.assert_allclose(
            policy, rw.reward_weighted(ref, rewards, beta), rtol=1e-9, atol=1e-12
        )
        assert np.all(policy[ref == 0] == 0.0)

    @PROPERTY_SETTINGS
    @given(problems())
    def test_same_log_z(self, problem):
        """log Z agrees to 1e-12 relative / 1e-12 absolute."""
        ref, rewards, beta = problem
        np.testing.assert_allclose(
            rw.log_normalization_factor(log_reference(ref), rewards, beta, log_ref=True),
            rw.log_normalization_factor(ref, rewards, beta),
            rtol=1e-12,
            atol=1e-12,
        )


class TestBradleyTerry:
    """bradley_terry(a, b) = sigmoid(a - b), and DPO's log Z cancellation."""

    @PROPERTY_SETTINGS
    @given(reward_pairs())
    def test_complementary(self, pair):
        """bradley_terry(a, b) + bradley_terry(b, a) == 1 and bradley_terry(a, a) == 1/2 (1e-12)."""
        a, b = pair
        np.testing.assert_allclose(
            rw.bradley_terry(a, b) + rw.bradley_terry(b, a), 1.0, rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(rw.bradley_terry(a, a), 0.5, rtol=0, atol=1e-12)

    @PROPERTY_SETTINGS
    @given(reward_pairs())
    def test_matches_logistic_function(self, pair):
        """bradley_terry(a, b) == 1 / (1 + exp(b - a)) elementwise (1e-12 relative)."""
        a, b = pair
        result = rw.bradley_terry(a, b)
        assert result.shape == a.shape
        np.testing.assert_allclose(result, 1.0 / (1.0 + np.exp(b - a)), rtol=1e-12, atol=1e-15)

    @PROPERTY_SETTINGS
    @given(implicit_reward_problems())
    def test_log_z_cancels_in_preferences(self, problem):
        """Preference probabilities between implicit rewards of any two outputs
        i, j are the same for log_z = 0 and any other log_z (1e-12 absolute)."""
        policy, ref, beta, log_z = problem
        base = rw.implicit_reward(policy, ref, beta, log_z=0.0)
        shifted = rw.implicit_reward(policy, ref, beta, log_z=log_z)
        np.testing.assert_allclose(
            rw.bradley_terry(shifted[:, None], shifted[None, :]),
            rw.bradley_terry(base[:, None], base[None, :]),
            rtol=0,
            atol=1e-12,
        )


class TestImplicitRewardInverse:
    """implicit_reward(pi*, ref, beta, log Z) recovers the rewards."""

    @PROPERTY_SETTINGS
    @given(problems(SAFE_REWARD_BOUND))
    def test_recovers_rewards_on_support(self, problem):
        """beta log(pi*/ref) + beta log Z == r where ref > 0, to 1e-8 * max(1, |r|)."""
        ref, rewards, beta = problem
        policy = rw.reward_weighted(ref, rewards, beta)
        log_z = rw.log_normalization_factor(ref, rewards, beta)
        support = ref > 0  # off the support pi*/ref is 0/0
        recovered = rw.implicit_reward(policy[support], ref[support], beta, log_z=log_z)
        error = np.abs(recovered - rewards[support])
        assert np.all(error <= 1e-8 * np.maximum(1.0, np.abs(rewards[support])))
