r"""The KL-regularised objective that pi* maximizes.

.. math::

    J(\pi) = \mathbb{E}_{y \sim \pi}[r(x, y)] - \beta\, \mathrm{KL}(\pi \,\|\, \pi_\mathrm{ref})

Taught in ``notebooks/04_temperature_beta.ipynb`` and
``notebooks/05_why_pi_star_is_optimal.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.scores import scalar_or_array
from rwlib.validate import (
    broadcast_shape,
    positive_beta,
    real_array,
    require_finite,
    require_probabilities,
)


def _distribution(values, name: str) -> np.ndarray:
    array = real_array(values, name)
    require_probabilities(array, name)
    return array.astype(np.float64, copy=False)


def expected_reward(policy, rewards):
    r"""Average reward under a policy, ``E_pi[r]``.

    Parameters
    ----------
    policy : array_like, shape (..., n)
        Probabilities on the last axis (nonnegative, summing to 1).
    rewards : array_like, shape (..., n)
        Finite rewards, one per output; broadcasts against ``policy``.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``sum(policy * rewards, axis=-1)``; between the smallest and the largest
        reward of the row. A float for a single distribution.

    Raises
    ------
    ValueError
        If ``policy`` is not a probability vector, ``rewards`` is not finite, or
        the shapes do not broadcast.

    Notes
    -----
    .. math:: \mathbb{E}_{y \sim \pi}[r(x, y)] = \sum_y \pi(y \mid x)\, r(x, y)

    See Also
    --------
    kl_regularized_objective : the expected reward minus the KL penalty.

    Examples
    --------
    >>> import rwlib as rw
    >>> rw.expected_reward([0.6, 0.4], [2.0, 1.0])
    1.6
    """
    policy = _distribution(policy, "policy")
    rewards = real_array(rewards, "rewards")
    require_finite(rewards, "rewards")
    broadcast_shape(policy=policy, rewards=rewards)
    return scalar_or_array((policy * rewards).sum(axis=-1))


def kl_divergence(p, q):
    r"""Kullback–Leibler divergence ``KL(p || q)`` between two distributions.

    Parameters
    ----------
    p, q : array_like, shape (..., n)
        Probabilities on the last axis; they broadcast against each other.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``KL(p || q) >= 0``, zero exactly when ``p == q``; ``inf`` when ``p``
        puts mass where ``q`` has none. A float for a single pair.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` is not a probability vector, or the shapes differ.

    Notes
    -----
    .. math:: \mathrm{KL}(p \,\|\, q) = \sum_{y:\, p(y) > 0} p(y) \log \frac{p(y)}{q(y)}

    Terms with ``p(y) = 0`` count 0. The sum is clipped at 0 so that rounding
    never shows a negative divergence.

    See Also
    --------
    kl_regularized_objective : uses ``KL(pi || ref)`` as its penalty.

    Examples
    --------
    >>> import rwlib as rw
    >>> round(rw.kl_divergence([0.8, 0.2], [0.6, 0.4]), 6)
    0.091516
    >>> rw.kl_divergence([0.5, 0.5], [1.0, 0.0])
    inf
    """
    p = _distribution(p, "p")
    q = _distribution(q, "q")
    broadcast_shape(p=p, q=q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return scalar_or_array(np.maximum(terms.sum(axis=-1), 0.0))


def kl_regularized_objective(policy, ref, rewards, beta):
    r"""The alignment objective ``J(pi) = E_pi[r] - beta KL(pi || ref)``.

    Parameters
    ----------
    policy : array_like, shape (..., n)
        The policy being scored, probabilities on the last axis.
    ref : array_like, shape (..., n)
        The reference policy, probabilities on the last axis.
    rewards : array_like, shape (..., n)
        Finite rewards, one per output.
    beta : float or array_like
        Positive weight of the KL penalty; an array needs a last axis of length 1.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``J(pi)``; at most ``beta * log Z``, reached only at ``pi = pi*``.
        ``-inf`` when ``policy`` leaves the support of ``ref``.

    Raises
    ------
    ValueError
        On the bad inputs of :func:`expected_reward` and :func:`kl_divergence`,
        or a beta that is not positive and finite.

    Notes
    -----
    .. math:: J(\pi) = \mathbb{E}_{y \sim \pi}[r(x, y)]
              - \beta\, \mathrm{KL}(\pi \,\|\, \pi_\mathrm{ref})
              = \beta \log Z(x) - \beta\, \mathrm{KL}(\pi \,\|\, \pi^*)

    See Also
    --------
    reward_weighted : the maximizer pi*.
    log_normalization_factor : the maximum is ``beta * log Z``.

    Examples
    --------
    At pi* the objective equals ``beta log Z``:

    >>> import rwlib as rw
    >>> ref, rewards = [0.6, 0.4], [2.0, 1.0]
    >>> pi_star = rw.reward_weighted(ref, rewards, beta=1.0)
    >>> round(rw.kl_regularized_objective(pi_star, ref, rewards, beta=1.0), 6)
    1.708513
    >>> round(rw.log_normalization_factor(ref, rewards, beta=1.0), 6)
    1.708513
    """
    beta = positive_beta(beta)
    penalty = beta[..., 0] if beta.ndim else beta
    return scalar_or_array(
        np.asarray(expected_reward(policy, rewards) - penalty * kl_divergence(policy, ref))
    )
