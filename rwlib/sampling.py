r"""Estimating Z and sampling from pi* when all we can do is sample from pi_ref.

Monte Carlo estimates Z as an average of ``exp(r / beta)`` over reference
samples; self-normalised importance sampling estimates expectations under pi*;
rejection sampling draws exactly from pi*; best-of-n is the cheap approximation
used in practice, with an exact distribution of its own.

Taught in ``notebooks/07_estimating_z.ipynb`` (estimation) and
``notebooks/08_sampling_from_pi_star.ipynb`` (sampling).
"""

from __future__ import annotations

import math

import numpy as np

from rwlib.scores import scalar_or_array, softmax_and_logsumexp
from rwlib.validate import (
    broadcast_shape,
    positive_beta,
    random_generator,
    real_array,
    require_finite,
    require_probabilities,
    scalar_beta,
    whole_number,
)


def _sample_rewards(rewards_of_samples, beta, minimum: int = 1):
    """Checked (rewards / beta) with samples on the last axis, and the sample count."""
    rewards = real_array(rewards_of_samples, "rewards_of_samples").astype(np.float64, copy=False)
    require_finite(rewards, "rewards_of_samples")
    count = rewards.shape[-1]
    if count < minimum:
        raise ValueError(
            f"rewards_of_samples holds {count} sample(s) on its last axis; "
            f"this estimate needs at least {minimum}"
        )
    beta = positive_beta(beta)
    broadcast_shape(rewards_of_samples=rewards, beta=beta)
    return rewards / beta, count


def _shifted_weights(scaled: np.ndarray):
    """(shift, weights) with ``weights = exp(scaled - shift)`` in (0, 1] and max exactly 1."""
    shift = scaled.max(axis=-1, keepdims=True)
    return shift[..., 0], np.exp(scaled - shift)


def _finite_set(ref, rewards):
    """Checked float64 ``ref`` (normalised) and ``rewards``, both of shape (m,)."""
    ref = real_array(ref, "ref")
    rewards = real_array(rewards, "rewards")
    if ref.ndim != 1 or rewards.shape != ref.shape:
        raise ValueError(
            f"ref and rewards must be 1-D with one entry per output, got shapes {ref.shape} "
            f"and {rewards.shape}; this function handles one prompt at a time"
        )
    require_probabilities(ref, "ref")
    require_finite(rewards, "rewards")
    ref = ref.astype(np.float64)
    return ref / ref.sum(), rewards.astype(np.float64)


def monte_carlo_z(rewards_of_samples, beta=1.0):
    r"""Monte Carlo estimate of Z, with its standard error, from reference samples.

    Parameters
    ----------
    rewards_of_samples : array_like, shape (..., n)
        Finite rewards ``r(y_i)`` of ``n >= 2`` outputs ``y_i`` drawn from
        pi_ref, on the last axis; leading axes are a batch.
    beta : float or array_like, default 1.0
        Positive temperature; an array needs a last axis of length 1.

    Returns
    -------
    estimate : float or numpy.ndarray, shape (...)
        ``mean(exp(r / beta))``: positive, an unbiased estimate of Z.
    standard_error : float or numpy.ndarray, shape (...)
        ``std(exp(r / beta), ddof=1) / sqrt(n)``: nonnegative, 0 when all
        rewards are equal.

    Raises
    ------
    OverflowError
        If the estimate does not fit in a float64; use :func:`monte_carlo_log_z`.
    ValueError
        If a reward is not finite, there are fewer than 2 samples, or beta is
        not positive.

    Notes
    -----
    .. math:: Z = \mathbb{E}_{y \sim \pi_\mathrm{ref}}\big[e^{r(y)/\beta}\big]
              \approx \hat Z = \frac{1}{n} \sum_{i=1}^{n} e^{r(y_i)/\beta},
              \qquad \mathrm{SE} = \frac{s}{\sqrt{n}}

    with ``s`` the sample standard deviation of the weights. The weights are
    computed as ``exp((r - max r) / beta)`` and scaled back once. Small beta
    makes a few samples carry all the weight: the estimate is then unbiased
    but its error is large (see :func:`effective_sample_size`).

    See Also
    --------
    monte_carlo_log_z : log of the estimate, for rewards where Z overflows.
    rwlib.normalization_factor : the exact Z, for a finite output set.

    Examples
    --------
    Rewards 0 and ``log 3`` at beta 1 give weights 1 and 3:

    >>> import math
    >>> from rwlib.sampling import monte_carlo_z
    >>> estimate, error = monte_carlo_z([0.0, math.log(3.0), 0.0, math.log(3.0)])
    >>> round(estimate, 6), round(error, 6)
    (2.0, 0.57735)
    """
    scaled, count = _sample_rewards(rewards_of_samples, beta, minimum=2)
    shift, weights = _shifted_weights(scaled)
    mean = weights.mean(axis=-1)
    log_estimate = shift + np.log(mean)
    if (log_estimate > np.log(np.finfo(np.float64).max)).any():
        raise OverflowError(
            f"the estimate of Z, exp({log_estimate.max():.6g}), does not fit in a float64; "
            "use rwlib.sampling.monte_carlo_log_z, which returns its logarithm"
        )
    estimate = np.exp(log_estimate)
    error = estimate * weights.std(axis=-1, ddof=1) / (mean * math.sqrt(count))
    return scalar_or_array(estimate), scalar_or_array(error)


def monte_carlo_log_z(rewards_of_samples, beta=1.0):
    r"""Log of the Monte Carlo estimate of Z (log-mean-exp), never overflowing.

    Parameters
    ----------
    rewards_of_samples : array_like, shape (..., n)
        Finite rewards of ``n >= 1`` outputs drawn from pi_ref, on the last axis.
    beta : float or array_like, default 1.0
        Positive temperature; an array needs a last axis of length 1.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``log mean(exp(r / beta))``, between ``mean(r) / beta`` and ``max(r) / beta``.

    Notes
    -----
    .. math:: \log \hat Z = m + \log \frac{1}{n} \sum_{i=1}^{n} e^{r(y_i)/\beta - m},
              \qquad m = \max_i r(y_i)/\beta

    ``Z_hat`` is unbiased, but ``log Z_hat`` is biased low: ``log`` is concave,
    so by Jensen's inequality ``E[log Z_hat] <= log E[Z_hat] = log Z``. The bias
    shrinks like ``1/n`` (about ``Var(Z_hat) / (2 Z^2)``).

    See Also
    --------
    monte_carlo_z : the estimate itself, with its standard error.

    Examples
    --------
    Rewards near 1000 at beta 1, where ``e^1000`` overflows:

    >>> from rwlib.sampling import monte_carlo_log_z
    >>> round(monte_carlo_log_z([1000.0, 1000.0, 999.0]), 6)  # 1000 + log((2 + 1/e) / 3)
    999.763383
    """
    scaled, _ = _sample_rewards(rewards_of_samples, beta)
    shift, weights = _shifted_weights(scaled)
    return scalar_or_array(shift + np.log(weights.mean(axis=-1)))


def self_normalized_estimate(values, rewards_of_samples, beta=1.0):
    r"""Self-normalised importance sampling estimate of ``E_{pi*}[f]`` from pi_ref samples.

    Parameters
    ----------
    values : array_like, shape (..., n)
        Finite ``f(y_i)`` of each sample; broadcasts against ``rewards_of_samples``.
    rewards_of_samples : array_like, shape (..., n)
        Finite rewards of ``n >= 1`` outputs drawn from pi_ref, on the last axis.
    beta : float or array_like, default 1.0
        Positive temperature; an array needs a last axis of length 1.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``sum_i w_i f(y_i) / sum_i w_i`` with ``w_i = exp(r(y_i) / beta)``;
        between the smallest and the largest value. Consistent (it converges
        to ``E_{pi*}[f]``), slightly biased for finite ``n``.

    Notes
    -----
    .. math:: \mathbb{E}_{\pi^*}[f] = \frac{\mathbb{E}_{\pi_\mathrm{ref}}[e^{r/\beta} f]}
              {\mathbb{E}_{\pi_\mathrm{ref}}[e^{r/\beta}]}
              \approx \sum_{i=1}^{n} \bar w_i\, f(y_i),
              \qquad \bar w = \mathrm{softmax}(r(y_{1:n})/\beta)

    Z cancels between numerator and denominator, so it is never needed. The
    normalised weights are a softmax, computed stably.

    See Also
    --------
    effective_sample_size : how many samples the weights are worth.

    Examples
    --------
    >>> import math
    >>> from rwlib.sampling import self_normalized_estimate
    >>> rewards = [0.0, math.log(3.0)]  # weights 1 and 3
    >>> round(self_normalized_estimate([10.0, 20.0], rewards), 6)  # (10 + 60) / 4
    17.5
    """
    scaled, _ = _sample_rewards(rewards_of_samples, beta)
    values = real_array(values, "values").astype(np.float64, copy=False)
    require_finite(values, "values")
    broadcast_shape(values=values, rewards_of_samples=scaled)
    scaled, values = np.broadcast_arrays(scaled, values)
    weights = softmax_and_logsumexp(scaled)[0]
    return scalar_or_array((weights * values).sum(axis=-1))


def effective_sample_size(rewards_of_samples, beta=1.0):
    r"""Effective sample size of the importance weights ``exp(r / beta)``.

    Parameters
    ----------
    rewards_of_samples : array_like, shape (..., n)
        Finite rewards of ``n >= 1`` outputs drawn from pi_ref, on the last axis.
        (For other log-weights ``a_i``, pass ``a`` with ``beta=1``.)
    beta : float or array_like, default 1.0
        Positive temperature; an array needs a last axis of length 1.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        Between 1 (one sample carries all the weight) and ``n`` (equal weights).

    Notes
    -----
    .. math:: \mathrm{ESS} = \frac{\left(\sum_i w_i\right)^2}{\sum_i w_i^2}
              = \frac{1}{\sum_i \bar w_i^2}, \qquad w_i = e^{r(y_i)/\beta}

    Computed from the normalised weights (a softmax), so it never overflows.
    Roughly: the weighted estimate is as precise as an average of ESS samples
    drawn from pi* itself.

    See Also
    --------
    self_normalized_estimate : the estimate these weights make.

    Examples
    --------
    >>> import math
    >>> from rwlib.sampling import effective_sample_size
    >>> round(effective_sample_size([0.0, math.log(2.0)]), 6)  # (1 + 2)^2 / (1 + 4)
    1.8
    >>> effective_sample_size([5.0, 5.0, 5.0])
    3.0
    """
    scaled, count = _sample_rewards(rewards_of_samples, beta)
    weights = softmax_and_logsumexp(scaled)[0]
    return scalar_or_array(np.clip(1.0 / (weights**2).sum(axis=-1), 1.0, count))


def acceptance_rate(ref, rewards, beta=1.0):
    r"""Exact acceptance rate of the rejection sampler for pi*.

    Parameters
    ----------
    ref : array_like, shape (..., m)
        Reference probabilities on the last axis.
    rewards : array_like, shape (..., m)
        Finite rewards, one per output.
    beta : float or array_like, default 1.0
        Positive temperature; an array needs a last axis of length 1.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``Z / exp(r_max / beta)`` in (0, 1], with ``r_max`` the largest reward
        where ``ref > 0``; 1 exactly when all those rewards are equal.

    Notes
    -----
    .. math:: P(\text{accept}) = \sum_y \pi_\mathrm{ref}(y)\, e^{(r(y) - r_\max)/\beta}
              = Z\, e^{-r_\max/\beta}

    Every term is at most ``ref(y)``, so the sum never overflows, and it is
    exactly 1 when all rewards on the support are equal. The rate falls
    exponentially as beta shrinks: ``1 / acceptance_rate`` proposals are needed
    per sample from pi*.

    See Also
    --------
    rejection_sample : the sampler.

    Examples
    --------
    >>> from rwlib.sampling import acceptance_rate
    >>> round(acceptance_rate([0.6, 0.4], [2.0, 1.0]), 6)  # 0.6 + 0.4 / e
    0.747152
    """
    ref = real_array(ref, "ref")
    rewards = real_array(rewards, "rewards")
    beta = positive_beta(beta)
    broadcast_shape(ref=ref, rewards=rewards, beta=beta)
    require_probabilities(ref, "ref")
    require_finite(rewards, "rewards")
    ref, rewards = np.broadcast_arrays(ref.astype(np.float64), rewards.astype(np.float64))
    in_support = np.where(ref > 0, rewards, -np.inf)
    gaps = in_support - in_support.max(axis=-1, keepdims=True)  # <= 0, -inf outside the support
    rate = (ref * np.exp(gaps / beta)).sum(axis=-1) / ref.sum(axis=-1)
    return scalar_or_array(np.minimum(rate, 1.0))


def rejection_sample(ref, rewards, beta, rng, size):
    r"""Exact samples from pi* by rejection: propose from pi_ref, accept some.

    Parameters
    ----------
    ref : array_like, shape (m,)
        Reference probabilities of the ``m`` outputs.
    rewards : array_like, shape (m,)
        Finite rewards, one per output.
    beta : float
        Positive temperature.
    rng : numpy.random.Generator
        The source of randomness, e.g. ``np.random.default_rng(0)``.
    size : int
        The number of proposals drawn from ``ref``.

    Returns
    -------
    accepted : numpy.ndarray of int, shape (k,)
        Indices of the accepted proposals, in order: independent draws from
        pi*. Their number ``k`` is random, ``size * acceptance_rate`` on average.
    rate : float
        ``k / size``, the observed acceptance rate.

    Notes
    -----
    A proposal ``y ~ pi_ref`` is accepted with probability
    ``exp((r(y) - r_max)/beta) <= 1``, ``r_max`` the largest reward where
    ``ref > 0``. Then

    .. math:: P(y \text{ and accept}) = \pi_\mathrm{ref}(y)\, e^{(r(y) - r_\max)/\beta}
              = \pi^*(y)\, Z\, e^{-r_\max/\beta},

    so accepted samples follow pi* exactly, and the expected acceptance rate
    is ``Z / exp(r_max / beta)`` (:func:`acceptance_rate`).

    See Also
    --------
    acceptance_rate : the expected rate.
    best_of_n_sample : a cheaper, approximate alternative.

    Examples
    --------
    >>> import numpy as np
    >>> from rwlib.sampling import rejection_sample
    >>> rng = np.random.default_rng(0)
    >>> accepted, rate = rejection_sample([0.6, 0.4], [2.0, 1.0], 1.0, rng, size=10_000)
    >>> round(rate, 2), round(float(np.mean(accepted == 0)), 2)  # 0.747 and pi*[0] = 0.803
    (0.74, 0.81)
    """
    ref, rewards = _finite_set(ref, rewards)
    beta = scalar_beta(beta)
    rng = random_generator(rng)
    size = whole_number(size, "size")
    best = rewards[ref > 0].max()
    proposals = rng.choice(len(ref), size=size, p=ref)
    accept = rng.random(size) < np.exp((rewards[proposals] - best) / beta)
    return proposals[accept], float(accept.mean())


def best_of_n_sample(ref, rewards, n, rng, size=1):
    r"""Best-of-n sampling: draw ``n`` candidates from pi_ref, keep the best.

    Parameters
    ----------
    ref : array_like, shape (m,)
        Reference probabilities of the ``m`` outputs.
    rewards : array_like, shape (m,)
        Finite rewards, one per output.
    n : int
        The number of candidates per sample, ``n >= 1``.
    rng : numpy.random.Generator
        The source of randomness, e.g. ``np.random.default_rng(0)``.
    size : int, default 1
        The number of best-of-n samples.

    Returns
    -------
    numpy.ndarray of int, shape (size,)
        Index of the winner of each group of ``n`` candidates; among candidates
        with the same highest reward, the first drawn wins. Distributed as
        :func:`best_of_n_distribution`.

    Notes
    -----
    .. math:: y = \arg\max_{i = 1, \ldots, n} r(y_i), \qquad y_i \sim \pi_\mathrm{ref}

    It needs neither Z nor beta, and costs exactly ``n`` reference samples.

    See Also
    --------
    best_of_n_distribution : the exact distribution of the winner.
    rejection_sample : exact samples from pi*.

    Examples
    --------
    >>> import numpy as np
    >>> from rwlib.sampling import best_of_n_sample
    >>> rng = np.random.default_rng(0)
    >>> winners = best_of_n_sample([0.5, 0.3, 0.2], [0.0, 1.0, 2.0], 4, rng, size=10_000)
    >>> np.bincount(winners, minlength=3) / 10_000  # exact: 0.0625, 0.3471, 0.5904
    array([0.0592, 0.3457, 0.5951])
    """
    ref, rewards = _finite_set(ref, rewards)
    n = whole_number(n, "n")
    rng = random_generator(rng)
    size = whole_number(size, "size")
    candidates = rng.choice(len(ref), size=(size, n), p=ref)
    first_best = rewards[candidates].argmax(axis=1)  # argmax returns the first of equal maxima
    return candidates[np.arange(size), first_best]


def best_of_n_distribution(ref, rewards, n):
    r"""The exact distribution of the best-of-n winner over a finite output set.

    Parameters
    ----------
    ref : array_like, shape (m,)
        Reference probabilities of the ``m`` outputs.
    rewards : array_like, shape (m,)
        Finite rewards, one per output; equal rewards are ties.
    n : int
        The number of candidates, ``n >= 1``.

    Returns
    -------
    numpy.ndarray, shape (m,)
        ``P(winner = y)``: nonnegative, sums to 1, 0 wherever ``ref`` is 0;
        equals ``ref`` for ``n = 1``.

    Notes
    -----
    With ``F(v) = P_ref(r(y) <= v)`` and ``F(v-) = P_ref(r(y) < v)``, the best
    reward is ``v`` when all ``n`` candidates score at most ``v`` but not all
    below ``v``:

    .. math:: P(\max_i r(y_i) = v) = F(v)^n - F(v^-)^n,
              \qquad
              P(\text{winner} = y) = \frac{\pi_\mathrm{ref}(y)}{F(v) - F(v^-)}
              \big(F(v)^n - F(v^-)^n\big), \quad v = r(y).

    Within a group of tied rewards the first candidate in the group wins, and
    it is distributed as ``ref`` restricted to the group. The difference of
    powers is computed as ``F^n (1 - (1 - q)^n)`` with ``q`` the group's share
    of ``F(v)`` (``expm1``/``log1p``), accurate even for a group of tiny mass.

    See Also
    --------
    best_of_n_sample : draws from this distribution.
    best_of_n_kl_bound : bounds its KL divergence from ``ref``.

    Examples
    --------
    The best of 4 rewards is 0 with probability 0.5^4, at most 1 with 0.8^4:

    >>> from rwlib.sampling import best_of_n_distribution
    >>> best_of_n_distribution([0.5, 0.3, 0.2], [0.0, 1.0, 2.0], n=4)  # 0.5^4, 0.8^4 - 0.5^4, ...
    array([0.0625, 0.3471, 0.5904])
    >>> best_of_n_distribution([0.5, 0.3, 0.2], [0.0, 2.0, 2.0], n=4)  # a tie shares 1 - 0.5^4
    array([0.0625, 0.5625, 0.375 ])
    """
    ref, rewards = _finite_set(ref, rewards)
    n = whole_number(n, "n")
    levels, group = np.unique(rewards, return_inverse=True)
    mass = np.bincount(group, weights=ref, minlength=len(levels))
    cdf = np.cumsum(mass)
    mass, cdf = mass / cdf[-1], cdf / cdf[-1]  # F at the highest reward is exactly 1
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cdf > 0, np.minimum(mass / cdf, 1.0), 0.0)  # P(group | r <= v)
        group_wins = cdf**n * -np.expm1(n * np.log1p(-share))
        return np.where(ref > 0, ref * group_wins[group] / mass[group], 0.0)


def best_of_n_kl_bound(n) -> float:
    r"""Upper bound ``log n - (n - 1) / n`` on ``KL(best-of-n || ref)``.

    Parameters
    ----------
    n : int
        The number of candidates, ``n >= 1``.

    Returns
    -------
    float
        ``log n - (n - 1) / n``: 0 for ``n = 1``, increasing, about ``log n - 1``
        for large ``n``.

    Notes
    -----
    .. math:: \mathrm{KL}(\pi_\mathrm{BoN} \,\|\, \pi_\mathrm{ref}) \le \log n - \frac{n-1}{n}

    It holds for every reference and reward. It is the exact KL when the
    reward has no atoms under the reference (no value of the reward has positive
    reference probability, ``P_ref(r(y) = v) = 0`` for every ``v``); for a
    finite output set the KL is strictly smaller for ``n >= 2``, and
    approaches the bound as the outputs become many and individually unlikely
    (Beirami et al., 2024, "Theoretical guarantees on the best-of-n alignment
    policy").

    See Also
    --------
    best_of_n_distribution : the distribution whose KL it bounds.
    rwlib.kl_divergence : the exact KL of that distribution.

    Examples
    --------
    >>> from rwlib.sampling import best_of_n_kl_bound
    >>> round(best_of_n_kl_bound(4), 6)  # log 4 - 3/4
    0.636294
    """
    n = whole_number(n, "n")
    return math.log(n) - (n - 1) / n
