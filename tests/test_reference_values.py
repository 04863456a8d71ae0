"""Accuracy of rwlib against 50-digit mpmath references.

Every float64 input is converted exactly (``mpmath.mpf(float(x))``), so each
reference is the true value of the quantity for the float64 inputs that rwlib
received; the tests bound rwlib's float64 error against it.

Tolerances (from the library's accuracy claim, rewards/beta anywhere in +-1e4):

* log Z (and logsumexp): relative 1e-12 when |log Z| >= 1, absolute 1e-12
  when |log Z| < 1, where a relative bound on a value near 0 is meaningless.
* pi* (and softmax): relative 1e-9 for every entry whose true value is at
  least the smallest normal double. A smaller true value cannot be held to
  relative precision in float64, so for it only 0 <= result <= 2.3e-308 is
  required. Entries with zero reference probability must be exactly 0.0.
"""

import math

import mpmath
import numpy as np
import pytest

import rwlib as rw

MP_DPS = 50
TINY = float(np.finfo(np.float64).tiny)  # 2.2250738585072014e-308
SUBNORMAL_BOUND = 2.3e-308
LOG_TOL = 1e-12
PROB_RTOL = 1e-9
SEED = 20240611


# --- mpmath references -------------------------------------------------------


def _mp_logsumexp_softmax(log_terms):
    """Return (log sum_i exp(t_i), [exp(t_i) / sum]) at MP_DPS digits.

    ``log_terms`` are mpf values; a -inf term contributes exactly 0.
    """
    with mpmath.workdps(MP_DPS):
        terms = [mpmath.exp(t) for t in log_terms]
        total = mpmath.fsum(terms)
        return mpmath.log(total), [t / total for t in terms]


def mp_reward_weighted(ref, rewards, beta, *, log_ref=False):
    """Return (log Z, pi*) for one row of float64 inputs, at MP_DPS digits.

    With ``log_ref=True``, ``ref`` holds log-probabilities (-inf for zero).
    """
    with mpmath.workdps(MP_DPS):
        b = mpmath.mpf(float(beta))
        log_terms = []
        for p, r in zip(ref, rewards, strict=True):
            p = mpmath.mpf(float(p))
            log_p = p if log_ref else mpmath.log(p)  # mpmath.log(0) == -inf
            log_terms.append(log_p + mpmath.mpf(float(r)) / b)
        return _mp_logsumexp_softmax(log_terms)


def mp_softmax(logits):
    """Return (logsumexp, softmax) of one row of float64 logits, at MP_DPS digits."""
    return _mp_logsumexp_softmax([mpmath.mpf(float(x)) for x in logits])


# --- assertions ----------------------------------------------------------------


def assert_log_value(actual, expected):
    """Check a scalar log-domain result (log Z, logsumexp) against an mpf.

    Relative LOG_TOL when |expected| >= 1, absolute LOG_TOL otherwise.
    """
    assert np.ndim(actual) == 0, f"expected a scalar, got shape {np.shape(actual)}"
    with mpmath.workdps(MP_DPS):
        error = abs(mpmath.mpf(float(actual)) - expected)
        bound = LOG_TOL * max(mpmath.mpf(1), abs(expected))
        assert error <= bound, (
            f"got {float(actual)!r}, reference {mpmath.nstr(expected, 20)}, "
            f"error {mpmath.nstr(error, 3)} > {mpmath.nstr(bound, 3)}"
        )


def assert_distribution(actual, expected):
    """Check a float64 probability row against mpf references, entry by entry.

    Reference exactly 0 (zero reference probability): result exactly 0.0.
    Reference >= TINY: relative error <= PROB_RTOL.
    Reference in (0, TINY): 0 <= result <= SUBNORMAL_BOUND.
    """
    actual = np.asarray(actual)
    assert actual.dtype == np.float64
    assert actual.shape == (len(expected),)
    failures = []
    with mpmath.workdps(MP_DPS):
        for i, (a, e) in enumerate(zip(actual.tolist(), expected, strict=True)):
            if e == 0:
                ok = a == 0.0
            elif e >= TINY:
                ok = abs(mpmath.mpf(a) - e) <= PROB_RTOL * e
            else:
                ok = 0.0 <= a <= SUBNORMAL_BOUND
            if not ok:
                failures.append(f"[{i}] got {a!r}, reference {mpmath.nstr(e, 20)}")
    assert not failures, f"{len(failures)} entries off:\n" + "\n".join(failures[:10])


# --- generated cases -----------------------------------------------------------


def _dirichlet_reference(rng, size):
    """A Dirichlet(1, ..., 1) random probability vector."""
    ref = rng.dirichlet(np.ones(size))
    return ref / ref.sum()


def _sparse_reference(rng, size):
    """A random probability vector with exact zeros and 1e-300 entries.

    For size 2 there is one 1e-300 entry and no zero; otherwise max(1, size//10)
    entries of each kind.
    """
    ref = rng.dirichlet(np.ones(size))
    order = rng.permutation(size)
    if size == 2:
        ref[order[0]] = 1e-300
    else:
        count = max(1, size // 10)
        ref[order[:count]] = 0.0
        ref[order[count : 2 * count]] = 1e-300
    return ref / ref.sum()


def _mixed_scale_rewards(rng, size):
    """Rewards (in units of beta) where about half are uniform in +-1e4 and the rest ~N(0, 1)."""
    rewards = rng.normal(0.0, 1.0, size)
    large = rng.random(size) < 0.5
    rewards[large] = rng.uniform(-1e4, 1e4, large.sum())
    return rewards


def _generated_cases():
    """Seeded (ref, rewards, beta) cases covering the claimed range |r/beta| <= 1e4."""
    rng = np.random.default_rng(SEED)
    cases = []
    for size in (2, 3, 10, 1000):
        for beta in (1e-3, 1.0, 1e3):
            tag = f"V{size}-beta{beta:g}"
            cases += [
                pytest.param(
                    _dirichlet_reference(rng, size),
                    rng.uniform(-1e4, 1e4, size) * beta,
                    beta,
                    id=f"dirichlet-uniform1e4-{tag}",
                ),
                pytest.param(
                    _dirichlet_reference(rng, size),
                    _mixed_scale_rewards(rng, size) * beta,
                    beta,
                    id=f"dirichlet-mixedscale-{tag}",
                ),
                pytest.param(
                    _dirichlet_reference(rng, size),
                    rng.normal(0.0, 5.0, size) * beta,
                    beta,
                    id=f"dirichlet-normal5-{tag}",
                ),
                pytest.param(
                    _sparse_reference(rng, size),
                    rng.uniform(-1e4, 1e4, size) * beta,
                    beta,
                    id=f"sparse-uniform1e4-{tag}",
                ),
                pytest.param(
                    _sparse_reference(rng, size),
                    rng.normal(0.0, 5.0, size) * beta,
                    beta,
                    id=f"sparse-normal5-{tag}",
                ),
            ]
    cases += [
        # A 1e-300 reference entry whose reward dominates: pi* ~ (1, e^-9309).
        pytest.param(np.array([1e-300, 1.0]), np.array([1e4, 0.0]), 1.0, id="tiny-entry-wins"),
        # A zero reference entry with a huge reward must stay exactly 0.
        pytest.param(
            np.array([0.0, 0.5, 0.5]), np.array([1e4, 1.0, -1.0]), 1.0, id="zero-entry-huge-reward"
        ),
        # pi* entries just above and just below the smallest normal double.
        pytest.param(
            np.full(4, 0.25),
            np.array([0.0, -707.5, -708.5, -745.0]),
            1.0,
            id="normal-subnormal-boundary",
        ),
    ]
    return cases


GENERATED_CASES = _generated_cases()


def _batched_cases():
    """Seeded (ref, rewards, beta) cases with a batch of 4 rows.

    beta is a (4, 1) array of per-row values or a scalar; ref is (4, V), or
    (V,) shared by all rows. Rewards are uniform in +-scale * beta per row.
    """
    rng = np.random.default_rng(SEED + 1)
    row_betas = np.array([[1e-3], [1.0], [1e3], [2.5]])
    row_scales = np.array([[1e4], [5.0], [1e4], [1.0]])
    cases = []
    for size in (3, 10, 1000):
        refs = np.stack(
            [
                _dirichlet_reference(rng, size),
                _sparse_reference(rng, size),
                _dirichlet_reference(rng, size),
                _sparse_reference(rng, size),
            ]
        )
        cases += [
            pytest.param(
                refs,
                rng.uniform(-1.0, 1.0, (4, size)) * row_scales * row_betas,
                row_betas,
                id=f"row-betas-V{size}",
            ),
            pytest.param(
                refs,
                rng.uniform(-1.0, 1.0, (4, size)) * row_scales,
                1.0,
                id=f"scalar-beta-V{size}",
            ),
            pytest.param(
                _sparse_reference(rng, size),
                rng.uniform(-1.0, 1.0, (4, size)) * row_scales * row_betas,
                row_betas,
                id=f"shared-ref-V{size}",
            ),
        ]
    return cases


def _representable_z_cases():
    """Seeded cases with |r/beta| <= 300, so Z is a normal float64."""
    rng = np.random.default_rng(SEED + 2)
    return [
        pytest.param(
            _dirichlet_reference(rng, size),
            rng.uniform(-300.0, 300.0, size) * beta,
            beta,
            id=f"V{size}-beta{beta:g}",
        )
        for size in (2, 10, 1000)
        for beta in (1e-3, 1.0, 1e3)
    ]


def _overflow_cases():
    """Cases whose Z exceeds the largest float64 (about 1.8e308)."""
    rng = np.random.default_rng(SEED + 3)
    rewards = rng.uniform(-10.0, 10.0, 10)
    rewards[3] = 10.0  # r/beta = 1e4 for beta = 1e-3
    return [
        pytest.param(np.array([0.5, 0.5]), np.array([1000.0, 0.0]), 1.0, id="log-z-999"),
        pytest.param(np.array([0.5, 0.5]), np.array([710.5, 710.5]), 1.0, id="just-above-max"),
        pytest.param(_dirichlet_reference(rng, 10), rewards, 1e-3, id="V10-r-over-beta-1e4"),
    ]


def _softmax_cases():
    """Seeded logits up to +-1e4, including rows where a naive exp over/underflows."""
    rng = np.random.default_rng(SEED + 4)
    return [
        pytest.param(np.array([1000.0, 1001.0]), id="1000-1001"),
        pytest.param(np.array([-1000.0, -1001.0]), id="minus-1000-1001"),
        pytest.param(np.array([710.0, 710.0]), id="sum-overflows"),
        pytest.param(np.array([1e4, -1e4, 0.0]), id="pm1e4"),
        pytest.param(np.array([0.0, -707.5, -708.5, -745.0]), id="normal-subnormal-boundary"),
        pytest.param(rng.uniform(-1e4, 1e4, 10), id="uniform1e4-V10"),
        pytest.param(rng.uniform(-1e4, 1e4, 1000), id="uniform1e4-V1000"),
        pytest.param(rng.normal(0.0, 1.0, 10), id="normal-V10"),
        pytest.param(rng.normal(0.0, 1.0, 1000), id="normal-V1000"),
    ]


# --- tests ---------------------------------------------------------------------


def test_worked_example_normalization_factor():
    """ref=(0.6, 0.4), r=(2, 1), beta=1: Z = 0.6 e^2 + 0.4 e within 2 ulp.

    The reference is the correctly rounded 50-digit value. "2 ulp" is taken as
    the larger of 2 * np.spacing(Z) and the relative bound 4.5e-16 (~2 * 2**-52).
    """
    ref = np.array([0.6, 0.4])
    rewards = np.array([2.0, 1.0])
    with mpmath.workdps(MP_DPS):
        z_exact = mpmath.mpf(0.6) * mpmath.exp(2) + mpmath.mpf(0.4) * mpmath.exp(1)
        log_z_exact = mpmath.log(z_exact)
    z_expected = float(z_exact)
    z = rw.normalization_factor(ref, rewards)  # default beta = 1.0
    assert np.ndim(z) == 0
    tolerance = max(2 * np.spacing(z_expected), 4.5e-16 * z_expected)
    assert abs(float(z) - z_expected) <= tolerance, (float(z), z_expected)
    assert_log_value(rw.log_normalization_factor(ref, rewards, 1.0), log_z_exact)


def test_worked_example_policy():
    """ref=(0.6, 0.4), r=(2, 1), beta=1: pi* = (0.6e, 0.4) / (0.6e + 0.4) ~ (0.803, 0.197).

    Checked against the closed form at 50 digits to 1e-15 relative.
    """
    ref = np.array([0.6, 0.4])
    rewards = np.array([2.0, 1.0])
    policy = rw.reward_weighted(ref, rewards, 1.0)
    with mpmath.workdps(MP_DPS):
        a = mpmath.mpf(0.6) * mpmath.e
        b = mpmath.mpf(0.4)
        expected = [a / (a + b), b / (a + b)]
        for got, want in zip(np.asarray(policy).tolist(), expected, strict=True):
            assert abs(mpmath.mpf(got) - want) <= mpmath.mpf(1e-15) * want, (got, want)
    np.testing.assert_allclose(policy, [0.803, 0.197], rtol=0, atol=5e-4)


@pytest.mark.parametrize(("ref", "rewards", "beta"), GENERATED_CASES)
def test_reward_weighted_matches_reference(ref, rewards, beta):
    """pi* within 1e-9 relative and log Z within 1e-12 of the 50-digit reference."""
    expected_log_z, expected_policy = mp_reward_weighted(ref, rewards, beta)
    assert_distribution(rw.reward_weighted(ref, rewards, beta), expected_policy)
    assert_log_value(rw.log_normalization_factor(ref, rewards, beta), expected_log_z)


@pytest.mark.parametrize(("ref", "rewards", "beta"), GENERATED_CASES)
def test_log_reference_matches_reference(ref, rewards, beta):
    """log_ref=True with np.log(ref) (-inf for zeros) meets the same tolerances.

    The reference is built from exp of the float64 log-probabilities actually
    passed; it differs from the linear-ref reference by at most ~1e-13 relative
    (rounding of np.log), far inside the tolerances.
    """
    with np.errstate(divide="ignore"):
        log_ref = np.log(ref)
    expected_log_z, expected_policy = mp_reward_weighted(log_ref, rewards, beta, log_ref=True)
    assert_distribution(rw.reward_weighted(log_ref, rewards, beta, log_ref=True), expected_policy)
    assert_log_value(
        rw.log_normalization_factor(log_ref, rewards, beta, log_ref=True), expected_log_z
    )


@pytest.mark.parametrize(("ref", "rewards", "beta"), _batched_cases())
def test_batched_rows_match_reference(ref, rewards, beta):
    """A (4, V) batch gives per-row pi* and log Z matching each row's reference."""
    policy = rw.reward_weighted(ref, rewards, beta)
    log_z = rw.log_normalization_factor(ref, rewards, beta)
    assert policy.shape == rewards.shape
    assert np.shape(log_z) == rewards.shape[:-1]
    refs = np.broadcast_to(ref, rewards.shape)
    betas = np.broadcast_to(beta, (rewards.shape[0], 1))
    for i in range(rewards.shape[0]):
        expected_log_z, expected_policy = mp_reward_weighted(refs[i], rewards[i], betas[i, 0])
        assert_distribution(policy[i], expected_policy)
        assert_log_value(log_z[i], expected_log_z)


@pytest.mark.parametrize(("ref", "rewards", "beta"), _representable_z_cases())
def test_normalization_factor_matches_reference(ref, rewards, beta):
    """Z matches exp of the 50-digit log Z where Z is representable.

    An error of LOG_TOL * max(1, |log Z|) in log Z is that relative error in
    Z = exp(log Z), so this is the bound the log Z claim implies for Z.
    """
    expected_log_z, _ = mp_reward_weighted(ref, rewards, beta)
    z = rw.normalization_factor(ref, rewards, beta)
    assert np.ndim(z) == 0
    with mpmath.workdps(MP_DPS):
        relative_error = abs(mpmath.mpf(float(z)) / mpmath.exp(expected_log_z) - 1)
        assert relative_error <= LOG_TOL * max(1, abs(expected_log_z)), (
            float(z),
            mpmath.nstr(mpmath.exp(expected_log_z), 20),
        )


@pytest.mark.parametrize(("ref", "rewards", "beta"), _overflow_cases())
def test_normalization_factor_overflow(ref, rewards, beta):
    """Z > max float64 raises OverflowError naming log_normalization_factor,
    and log_normalization_factor still matches the reference."""
    expected_log_z, _ = mp_reward_weighted(ref, rewards, beta)
    with mpmath.workdps(MP_DPS):
        assert expected_log_z > mpmath.log(mpmath.mpf(float(np.finfo(np.float64).max)))
    with pytest.raises(OverflowError, match="log_normalization_factor"):
        rw.normalization_factor(ref, rewards, beta)
    assert_log_value(rw.log_normalization_factor(ref, rewards, beta), expected_log_z)


@pytest.mark.parametrize("logits", _softmax_cases())
def test_logsumexp_matches_reference(logits):
    """logsumexp within 1e-12 (relative for |value| >= 1, else absolute) of the reference."""
    expected, _ = mp_softmax(logits)
    assert_log_value(rw.logsumexp(logits), expected)


@pytest.mark.parametrize("logits", _softmax_cases())
def test_softmax_matches_reference(logits):
    """softmax entries within 1e-9 relative of the reference in the normal range."""
    _, expected = mp_softmax(logits)
    assert_distribution(rw.softmax(logits), expected)


def test_softmax_logsumexp_batched():
    """A (3, V) batch of logits gives per-row softmax and logsumexp matching the reference."""
    rng = np.random.default_rng(SEED + 5)
    logits = rng.uniform(-1.0, 1.0, (3, 50)) * np.array([[1e4], [1.0], [700.0]])
    probabilities = rw.softmax(logits)
    log_sums = rw.logsumexp(logits)
    assert probabilities.shape == logits.shape
    assert np.shape(log_sums) == (3,)
    for i in range(3):
        expected_log_sum, expected_probabilities = mp_softmax(logits[i])
        assert_distribution(probabilities[i], expected_probabilities)
        assert_log_value(log_sums[i], expected_log_sum)


def test_gpt2_sized_float32_reference():
    """V = 50257 float32 softmax reference with N(0, 1) rewards is accepted.

    pi* is float64 and sums to 1 within 1e-12; log Z matches a float64
    computation. A 50-digit mpmath reference over 50257 terms is too slow for
    a unit test; the reference here is log(math.fsum(ref64 * exp(r))), whose
    error (a few ulp) is far below the 1e-12 tolerance.
    """
    rng = np.random.default_rng(SEED + 6)
    size = 50257
    logits = rng.normal(0.0, 2.0, size).astype(np.float32)
    weights = np.exp(logits - logits.max())
    ref = weights / weights.sum()  # float32 throughout, as a model's softmax would be
    assert ref.dtype == np.float32
    rewards = rng.normal(0.0, 1.0, size)

    policy = rw.reward_weighted(ref, rewards, 1.0)
    assert policy.dtype == np.float64
    assert policy.shape == (size,)
    assert np.all(policy >= 0)
    assert abs(math.fsum(policy.tolist()) - 1.0) <= 1e-12

    expected_log_z = math.log(math.fsum((ref.astype(np.float64) * np.exp(rewards)).tolist()))
    assert_log_value(rw.log_normalization_factor(ref, rewards, 1.0), mpmath.mpf(expected_log_z))
