r"""The reward-weighted distribution pi* and its normalization factor Z.

.. math::

    \pi^*(y \mid x) = \frac{\pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}}{Z(x)},
    \qquad
    Z(x) = \sum_y \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}.

Taught in ``notebooks/02_normalization_factor.ipynb`` (Z) and
``notebooks/03_reward_weighted_distribution.ipynb`` (pi*).
"""

from __future__ import annotations

import numpy as np

from rwlib.scores import scalar_or_array, softmax_and_logsumexp
from rwlib.validate import (
    broadcast_shape,
    positive_beta,
    real_array,
    require_finite,
    require_log_probabilities,
    require_probabilities,
    sum_tolerance,
)

# Rows are processed in blocks of about this many entries, so that the few
# passes over a block (check, shift, exp, multiply, sum, divide) run in the
# CPU cache instead of streaming the whole batch from memory each time.
_BLOCK_ENTRIES = 1 << 15


def _log_space(log_ref: np.ndarray, rewards: np.ndarray, beta: np.ndarray):
    """pi* and log Z from log-probabilities: a softmax of log_ref + r / beta."""
    return softmax_and_logsumexp(log_ref + rewards / beta)


def _probability_block(ref, rewards, beta, out, tol):
    """Write pi* for a block of rows into ``out`` and return log Z, or None if invalid.

    The shift ``m = r_k + beta log ref_k``, with ``k`` the highest reward within
    the support, never exceeds ``max_y (r_y + beta log ref_y)``, so the row sum
    ``s = sum_y ref_y exp((r_y - m)/beta)`` is at least 1 and cannot underflow.
    ``exp`` can still overflow where ``ref`` is tiny; those rows are redone in
    log space. The input check rides on the same pass: NaN or +inf in a reward
    makes the row sum non-finite, and -inf shows in ``rewards.min()``.
    """
    smallest = ref.min()
    if not (
        smallest >= 0
        and (np.abs(ref.sum(axis=-1, dtype=np.float64) - 1) <= tol).all()
        and np.isfinite(rewards.min())
    ):
        return None
    in_support = rewards if smallest > 0 else np.where(ref > 0, rewards, -np.inf)
    rows, best = np.arange(len(ref)), in_support.argmax(axis=-1)
    shift = (rewards[rows, best] + beta[:, 0] * np.log(ref[rows, best]))[:, None]
    np.subtract(rewards, shift, out=out)
    out *= 1 / beta
    np.exp(out, out=out)
    out *= ref
    totals = out.sum(axis=-1, keepdims=True)
    out *= 1 / totals
    log_z = (shift / beta + np.log(totals))[:, 0]
    overflowed = np.flatnonzero(~np.isfinite(totals[:, 0]))
    if overflowed.size:
        if not np.isfinite(rewards[overflowed]).all():
            return None
        out[overflowed], log_z[overflowed] = _log_space(
            np.log(ref[overflowed]), rewards[overflowed], beta[overflowed]
        )
    return log_z


def _pi_star_and_log_z(ref, rewards, beta, log_ref: bool):
    """Check the inputs and return (pi*, log Z) with the broadcast shapes."""
    ref = real_array(ref, "ref")
    rewards = real_array(rewards, "rewards")
    beta = positive_beta(beta)
    shape = broadcast_shape(ref=ref, rewards=rewards, beta=beta)
    if log_ref:
        require_log_probabilities(ref, "ref")
        require_finite(rewards, "rewards")
        return _log_space(ref.astype(np.float64, copy=False), rewards, beta)

    n_outputs = shape[-1]
    ref_rows = np.broadcast_to(ref, shape).reshape(-1, n_outputs)
    reward_rows = np.broadcast_to(rewards, shape).reshape(-1, n_outputs)
    beta_rows = np.broadcast_to(beta, shape[:-1] + (1,)).reshape(-1, 1)
    tol = sum_tolerance(ref.dtype, n_outputs)
    pi_star = np.empty(ref_rows.shape)
    log_z = np.empty(len(ref_rows))
    step = max(1, _BLOCK_ENTRIES // n_outputs)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        for start in range(0, len(ref_rows), step):
            rows = slice(start, start + step)
            block_log_z = _probability_block(
                ref_rows[rows], reward_rows[rows], beta_rows[rows], pi_star[rows], tol
            )
            if block_log_z is None:
                break
            log_z[rows] = block_log_z
    if block_log_z is None:
        # A block failed its quick check: find and explain the problem.
        require_probabilities(ref, "ref")
        require_finite(rewards, "rewards")
        raise AssertionError("rwlib: the quick and the full input checks disagree")
    return pi_star.reshape(shape), log_z.reshape(shape[:-1])


_PARAMETERS = """
    ref : array_like, shape (..., n)
        Reference probabilities pi_ref(y|x) on the last axis, nonnegative and
        summing to 1 (within rounding for their dtype). Leading axes are a batch,
        one distribution per prompt. With ``log_ref=True``: log-probabilities
        instead, e.g. a model's log-softmax output, ``-inf`` for probability 0.
    rewards : array_like, shape (..., n)
        Finite rewards r(x, y), one per output; broadcasts against ``ref``.
    beta : float or array_like, default 1.0
        Positive temperature. An array needs a last axis of length 1 (one beta
        per batch row, e.g. ``betas[:, None]``).
    log_ref : bool, default False
        Read ``ref`` as log-probabilities. This avoids ``log(0)`` and underflow
        when the reference comes from a model as log-probabilities."""

_RAISES = """
    ValueError
        If ``ref`` has NaN, infinities or negative entries, does not sum to 1,
        is empty or all zeros; if ``rewards`` is not finite; if the shapes do
        not broadcast; if ``beta`` is not positive and finite.
    TypeError
        If an argument does not hold real numbers."""


def log_normalization_factor(ref, rewards, beta=1.0, *, log_ref: bool = False):
    r"""Log of the normalization factor, ``log Z``, that never overflows.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``log Z(x)``, one value per row; a float for a single distribution. It
        lies between ``E_ref[r] / beta`` and ``max r / beta`` (Jensen).

    Raises
    ------
    {raises}

    Notes
    -----
    .. math:: \log Z(x) = \log \sum_y \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}

    computed as a shift plus the log of a row sum that lies in ``[1, n]``, so it
    is accurate to about 1e-15 relative even when Z itself is far outside
    float64's range (rewards of 1e4 with ``beta=1``).

    See Also
    --------
    normalization_factor : Z itself, when it fits in a float.
    reward_weighted : the distribution that Z normalizes.

    Examples
    --------
    >>> import rwlib as rw
    >>> round(rw.log_normalization_factor([0.6, 0.4], [2.0, 1.0]), 6)
    1.708513
    >>> round(rw.log_normalization_factor([0.6, 0.4], [2000.0, 1000.0]), 3)  # Z = e^1999.49
    1999.489
    """
    return scalar_or_array(_pi_star_and_log_z(ref, rewards, beta, log_ref)[1])


def normalization_factor(ref, rewards, beta=1.0, *, log_ref: bool = False):
    r"""The normalization factor Z(x) that makes ``ref * exp(r / beta)`` sum to 1.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``Z(x) > 0``, one value per row; a float for a single distribution.
        ``Z = 1`` when every reward is 0; adding ``c`` to every reward
        multiplies Z by ``exp(c / beta)``.

    Raises
    ------
    OverflowError
        If Z lies outside float64's normal range (about 2.2e-308 to 1.8e308);
        :func:`log_normalization_factor` returns its logarithm in that case.
    {raises}

    Notes
    -----
    .. math:: Z(x) = \sum_y \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}
                   = \mathbb{E}_{y \sim \pi_\mathrm{ref}}\big[e^{r(x, y)/\beta}\big]

    Computed as ``exp(log Z)``, see :func:`log_normalization_factor`.

    See Also
    --------
    log_normalization_factor : log Z, for rewards where Z overflows.
    reward_weighted : the distribution ``ref * exp(r / beta) / Z``.

    Examples
    --------
    The two-output example, ``Z = 0.6 e^2 + 0.4 e``:

    >>> import rwlib as rw
    >>> round(rw.normalization_factor([0.6, 0.4], [2.0, 1.0], beta=1.0), 6)
    5.520746
    >>> rw.normalization_factor([0.6, 0.4], [0.0, 0.0])  # zero reward: Z = 1
    1.0
    """
    log_z = np.asarray(_pi_star_and_log_z(ref, rewards, beta, log_ref)[1])
    tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    outside = ~((log_z >= np.log(tiny)) & (log_z <= np.log(huge)))
    if outside.any():
        raise OverflowError(
            f"Z = exp({log_z[outside].flat[0]:.6g}) does not fit in a float64 (normal range "
            f"{tiny:.3g} to {huge:.3g}); use rw.log_normalization_factor, which returns log Z"
        )
    return scalar_or_array(np.exp(log_z))


def reward_weighted(ref, rewards, beta=1.0, *, log_ref: bool = False):
    r"""The reward-weighted distribution ``pi* = ref * exp(r / beta) / Z``.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    numpy.ndarray, shape (..., n)
        pi*(y|x): nonnegative, sums to 1 along the last axis, exactly 0 wherever
        ``ref`` is 0 (whatever the reward there). Unchanged by adding a constant
        to every reward of a row, and by scaling rewards and beta together.

    Raises
    ------
    {raises}

    Notes
    -----
    .. math:: \pi^*(y \mid x) = \frac{\pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}}{Z(x)}

    It maximizes ``E_pi[r] - beta KL(pi || ref)``, with maximum ``beta log Z``.
    Small beta concentrates pi* on the best output within the support of
    ``ref``; large beta returns ``ref``. Computed with one ``exp`` per entry and
    no ``log`` of ``ref`` (see :func:`_probability_block`); accurate to about
    1e-11 relative for every entry in float64's normal range.

    See Also
    --------
    normalization_factor : the Z that divides.
    kl_regularized_objective : the objective pi* maximizes.

    Examples
    --------
    The two-output example:

    >>> import rwlib as rw
    >>> rw.reward_weighted([0.6, 0.4], [2.0, 1.0], beta=1.0)
    array([0.80305, 0.19695])

    An output the reference never produces stays at probability 0:

    >>> rw.reward_weighted([0.5, 0.5, 0.0], [0.0, 1.0, 100.0])
    array([0.268941, 0.731059, 0.      ])

    One distribution per row, and one beta per row:

    >>> rw.reward_weighted([0.6, 0.4], [2.0, 1.0], beta=[[0.1], [10.0]])
    array([[9.999697e-01, 3.026570e-05],
           [6.237428e-01, 3.762572e-01]])
    """
    return _pi_star_and_log_z(ref, rewards, beta, log_ref)[0]


for _function in (log_normalization_factor, normalization_factor, reward_weighted):
    _function.__doc__ = _function.__doc__.replace("{parameters}", _PARAMETERS.strip()).replace(
        "{raises}", _RAISES.strip()
    )
