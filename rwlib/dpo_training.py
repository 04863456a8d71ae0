r"""DPO training: the loss over a data set of pairs, its analytic gradient, and gradient descent.

The policy is a softmax over a finite output set, :math:`\pi_\theta = \mathrm{softmax}(\theta)`,
and the data are pairs of output indices (chosen, rejected), each with a weight.
With the margin of pair ``i``,

.. math:: m_i = \beta(\theta_{w_i} - \theta_{l_i})
          - \beta \log(\pi_\mathrm{ref}(w_i) / \pi_\mathrm{ref}(l_i)),

the loss is

.. math:: \mathcal{L}(\theta) = \frac{\sum_i \omega_i\, (-\log \sigma(m_i))}{\sum_i \omega_i},

the DPO loss of notebook 06 averaged over the pairs (the normaliser of the
softmax cancels inside each margin, as :math:`Z` does).

Taught in ``notebooks/10_dpo_reaches_pi_star.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.preferences import bradley_terry, dpo_loss
from rwlib.scores import softmax_and_logsumexp
from rwlib.validate import (
    real_array,
    require_finite,
    require_log_probabilities,
    require_probabilities,
    scalar_beta,
    whole_number,
)


def _pairs(chosen, rejected, size: int, weights):
    """Checked index arrays (n,) and weights (n,) summing to 1."""
    chosen, rejected = np.asarray(chosen), np.asarray(rejected)
    for name, index in (("chosen", chosen), ("rejected", rejected)):
        if index.ndim != 1 or index.dtype.kind not in "iu" or len(index) == 0:
            raise ValueError(f"{name} must be a non-empty 1-d array of output indices")
        if (index < 0).any() or (index >= size).any():
            raise ValueError(f"{name} holds an index outside 0..{size - 1}")
    if chosen.shape != rejected.shape:
        raise ValueError(
            f"chosen and rejected must have the same length, got {chosen.shape} and "
            f"{rejected.shape}"
        )
    weights = np.ones(len(chosen)) if weights is None else real_array(weights, "weights")
    if weights.shape != chosen.shape or not (np.isfinite(weights) & (weights >= 0)).all():
        raise ValueError("weights must be one nonnegative finite weight per pair")
    if weights.sum() <= 0:
        raise ValueError("weights must not all be 0")
    return chosen, rejected, weights / weights.sum()


def _gradient(logits, log_ref, chosen, rejected, weights, beta: float) -> np.ndarray:
    """The gradient on checked inputs."""
    margins = beta * (logits[chosen] - logits[rejected] - log_ref[chosen] + log_ref[rejected])
    push = weights * beta / (1 + np.exp(np.clip(margins, -700, 700)))  # omega_i beta sigma(-m_i)
    return np.bincount(rejected, push, len(logits)) - np.bincount(chosen, push, len(logits))


def dpo_loss_and_gradient(logits, log_ref, chosen, rejected, beta, weights=None):
    r"""The DPO loss of a softmax policy over a data set of pairs, and its exact gradient.

    Parameters
    ----------
    logits : array_like, shape (n_outputs,)
        The policy's logits, :math:`\pi_\theta = \mathrm{softmax}(\theta)`.
    log_ref : array_like, shape (n_outputs,)
        ``log pi_ref`` of the outputs.
    chosen, rejected : array_like of int, shape (n,)
        The index of the preferred and of the other output of each pair.
    beta : float
        Positive temperature.
    weights : array_like, shape (n,), optional
        A nonnegative weight per pair (default: all equal); they are normalised to sum to 1.

    Returns
    -------
    loss : float
        The weighted mean DPO loss, ``>= 0``; ``log 2`` at ``logits = log_ref``.
    gradient : numpy.ndarray, shape (n_outputs,)
        :math:`\nabla_\theta \mathcal{L}`; sums to 0, and is 0 on every output
        that no pair mentions.

    Notes
    -----
    Only logit differences enter the margins, so with
    :math:`\frac{d}{dm}(-\log \sigma(m)) = -\sigma(-m)`:

    .. math:: \frac{\partial \mathcal{L}}{\partial \theta_y}
              = \beta \sum_i \omega_i\, \sigma(-m_i)\,
              \big(\mathbb{1}[y = l_i] - \mathbb{1}[y = w_i]\big).

    A descent step raises the chosen logit and lowers the rejected one, by the
    pair's weight times :math:`\beta\, \sigma(-m_i)`: a lot while the pair is
    ranked wrong, little once its margin is large.

    See Also
    --------
    rwlib.dpo_loss : the loss of one pair.
    dpo_descent : gradient descent on this loss.

    Examples
    --------
    At the reference every pair has loss log 2, and the gradient moves each
    chosen output up by ``beta / 2`` per pair:

    >>> import numpy as np
    >>> from rwlib.dpo_training import dpo_loss_and_gradient
    >>> log_ref = np.log([0.5, 0.3, 0.2])
    >>> loss, gradient = dpo_loss_and_gradient(log_ref, log_ref, [0], [1], beta=1.0)
    >>> round(loss, 6), gradient
    (0.693147, array([-0.5,  0.5,  0. ]))
    """
    logits = real_array(logits, "logits").astype(np.float64, copy=False)
    log_ref = real_array(log_ref, "log_ref").astype(np.float64, copy=False)
    require_finite(logits, "logits")
    require_log_probabilities(log_ref, "log_ref")
    if logits.ndim != 1 or logits.shape != log_ref.shape:
        raise ValueError(
            f"logits and log_ref must be 1-d of the same length, got {logits.shape} and "
            f"{log_ref.shape}"
        )
    chosen, rejected, weights = _pairs(chosen, rejected, len(logits), weights)
    beta = scalar_beta(beta)
    log_policy = logits - softmax_and_logsumexp(logits)[1]
    losses = dpo_loss(
        log_policy[chosen],
        log_policy[rejected],
        log_ref[chosen],
        log_ref[rejected],
        beta,
        log_probs=True,
    )
    loss = float(weights @ np.atleast_1d(losses))
    return loss, _gradient(logits, log_ref, chosen, rejected, weights, beta)


def dpo_descent(log_ref, chosen, rejected, beta, step_size, steps, weights=None) -> np.ndarray:
    r"""Gradient descent on the DPO loss from pi_ref: the log-policy after each step.

    Parameters
    ----------
    log_ref : array_like, shape (n_outputs,)
        ``log pi_ref``; the start, :math:`\theta_0 = \log \pi_\mathrm{ref}`.
    chosen, rejected : array_like of int, shape (n,)
        The pairs, as output indices.
    beta : float
        Positive temperature.
    step_size : float
        Positive step :math:`\eta`.
    steps : int
        The number of steps ``K``.
    weights : array_like, shape (n,), optional
        A weight per pair (default: all equal).

    Returns
    -------
    numpy.ndarray, shape (K + 1, n_outputs)
        ``log pi_theta`` after 0, 1, ..., K steps; each row's exponentials sum to 1.

    Notes
    -----
    .. math:: \theta_{k+1} = \theta_k - \eta\, \nabla_\theta \mathcal{L}(\theta_k)

    Each step adds to a chosen logit what it takes from a rejected one, so the
    sum of the logits over each connected group of outputs never changes.

    See Also
    --------
    dpo_loss_and_gradient : the loss and its gradient.

    Examples
    --------
    Infinite data over two outputs (``all_pairs``): DPO finds pi*.

    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.dpo_training import all_pairs, dpo_descent
    >>> ref, rewards = np.array([0.6, 0.4]), np.array([2.0, 1.0])
    >>> chosen, rejected, weights = all_pairs(ref, rewards)
    >>> path = dpo_descent(np.log(ref), chosen, rejected, 1.0, 5.0, 500, weights=weights)
    >>> np.round(np.exp(path[-1]), 6), np.round(rw.reward_weighted(ref, rewards, 1.0), 6)
    (array([0.80305, 0.19695]), array([0.80305, 0.19695]))
    """
    log_ref = real_array(log_ref, "log_ref").astype(np.float64, copy=False)
    require_log_probabilities(log_ref, "log_ref")
    if log_ref.ndim != 1:
        raise ValueError(f"log_ref must be 1-d, got shape {log_ref.shape}")
    chosen, rejected, weights = _pairs(chosen, rejected, len(log_ref), weights)
    beta, step_size = scalar_beta(beta), scalar_beta(step_size)
    steps = whole_number(steps, "steps")
    theta = log_ref.copy()
    path = np.empty((steps + 1, len(theta)))
    path[0] = theta
    for k in range(steps):
        theta = theta - step_size * _gradient(theta, log_ref, chosen, rejected, weights, beta)
        path[k + 1] = theta - softmax_and_logsumexp(theta)[1]
    return path


def all_pairs(ref, rewards):
    r"""The infinite-data limit of preferences: every ordered pair, weighted by its frequency.

    Parameters
    ----------
    ref : array_like, shape (n_outputs,)
        pi_ref, from which both outputs of a pair are drawn.
    rewards : array_like, shape (n_outputs,)
        The true rewards behind the Bradley–Terry labels.

    Returns
    -------
    chosen, rejected : numpy.ndarray of int, shape (n_outputs * (n_outputs - 1),)
        Every ordered pair ``(a, b)`` with ``a != b``.
    weights : numpy.ndarray, shape (n_outputs * (n_outputs - 1),)
        :math:`\pi_\mathrm{ref}(a)\, \pi_\mathrm{ref}(b)\, \sigma(r_a - r_b)`, the
        probability that a labelled pair is "a preferred to b".

    Notes
    -----
    With these weights the DPO loss is its expectation over the data, and its
    minimiser makes every margin equal to the reward difference :math:`r_a - r_b`:
    :math:`\pi_\theta = \pi^*`.

    Examples
    --------
    >>> from rwlib.dpo_training import all_pairs
    >>> chosen, rejected, weights = all_pairs([0.6, 0.4], [2.0, 1.0])
    >>> chosen, rejected, weights.round(6)
    (array([0, 1]), array([1, 0]), array([0.175454, 0.064546]))
    """
    ref = real_array(ref, "ref").astype(np.float64, copy=False)
    require_probabilities(ref, "ref")
    rewards = real_array(rewards, "rewards").astype(np.float64, copy=False)
    require_finite(rewards, "rewards")
    if ref.ndim != 1 or rewards.shape != ref.shape:
        raise ValueError("ref and rewards must be 1-d arrays of the same length")
    a, b = np.nonzero(~np.eye(len(ref), dtype=bool))
    return a, b, ref[a] * ref[b] * bradley_terry(rewards[a], rewards[b])
