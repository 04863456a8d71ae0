r"""Preferences and DPO: implicit rewards, Bradley–Terry, the DPO loss.

Inverting pi* gives the reward back up to ``beta log Z(x)``, a term that is the
same for every output of a prompt and so cancels in a preference probability.

Taught in ``notebooks/06_dpo_and_the_normalization_factor.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.scores import scalar_or_array
from rwlib.validate import broadcast_shape, elementwise_array, positive_beta, require_finite


def _log_probability(values, name: str, log_probs: bool) -> np.ndarray:
    """Checked log-probabilities of individual outputs (not whole distributions)."""
    array = elementwise_array(values, name).astype(np.float64, copy=False)
    if log_probs:
        require_finite(array, name, allow_minus_inf=True)
        if (array > 0).any():
            raise ValueError(f"{name} holds log-probabilities, which are <= 0; found {array.max()}")
        return array
    require_finite(array, name)
    if ((array < 0) | (array > 1)).any():
        raise ValueError(
            f"{name} holds probabilities, which lie in [0, 1]; pass log_probs=True "
            "if these are log-probabilities"
        )
    with np.errstate(divide="ignore"):
        return np.log(array)


def implicit_reward(policy, ref, beta, log_z=0.0, *, log_probs: bool = False):
    r"""The reward that makes ``policy`` the reward-weighted distribution of ``ref``.

    Parameters
    ----------
    policy : array_like
        pi(y|x) of one or more outputs (elementwise: a whole distribution is
        not needed, a sequence probability will do).
    ref : array_like
        pi_ref(y|x) of the same outputs; must be positive.
    beta : float
        Positive temperature.
    log_z : float or array_like, default 0.0
        ``log Z(x)`` of the prompt. It shifts every output of the prompt by the
        same ``beta log Z`` and cancels in preferences, so DPO leaves it at 0.
    log_probs : bool, default False
        Read ``policy`` and ``ref`` as log-probabilities (sequence
        log-probabilities do not underflow).

    Returns
    -------
    float or numpy.ndarray
        ``beta log(policy / ref) + beta log_z``, elementwise; ``-inf`` where
        ``policy`` is 0. For ``policy = pi*`` and ``log_z = log Z`` it returns
        the rewards that produced pi*.

    Raises
    ------
    ValueError
        If a probability lies outside [0, 1] (a log-probability above 0), is
        NaN, or ``ref`` is 0 (the reward there is undefined).

    Notes
    -----
    .. math:: r(x, y) = \beta \log \frac{\pi^*(y \mid x)}{\pi_\mathrm{ref}(y \mid x)}
              + \beta \log Z(x)

    See Also
    --------
    bradley_terry : preference probabilities, where ``beta log Z`` cancels.
    dpo_loss : the loss built on implicit rewards.

    Examples
    --------
    The two-output example, recovered from pi*:

    >>> import rwlib as rw
    >>> ref, rewards = [0.6, 0.4], [2.0, 1.0]
    >>> pi_star = rw.reward_weighted(ref, rewards, beta=1.0)
    >>> log_z = rw.log_normalization_factor(ref, rewards, beta=1.0)
    >>> rw.implicit_reward(pi_star, ref, beta=1.0, log_z=log_z)
    array([2., 1.])
    """
    log_policy = _log_probability(policy, "policy", log_probs)
    log_ref = _log_probability(ref, "ref", log_probs)
    if np.isneginf(log_ref).any():
        raise ValueError("ref is 0 for some output: the implicit reward is undefined there")
    beta = positive_beta(beta)
    log_z = elementwise_array(log_z, "log_z")
    require_finite(log_z, "log_z")
    broadcast_shape(policy=log_policy, ref=log_ref, beta=beta, log_z=log_z)
    return scalar_or_array(np.asarray(beta * (log_policy - log_ref) + beta * log_z))


def bradley_terry(reward_a, reward_b):
    r"""Probability that output a is preferred to output b, ``sigma(r_a - r_b)``.

    Parameters
    ----------
    reward_a, reward_b : float or array_like
        Finite rewards; they broadcast elementwise.

    Returns
    -------
    float or numpy.ndarray
        A probability in [0, 1]; ``bradley_terry(a, b) + bradley_terry(b, a) == 1``
        and it is unchanged by adding the same constant to both rewards.

    Raises
    ------
    ValueError
        If a reward is NaN or infinite, or the shapes do not broadcast.

    Notes
    -----
    .. math:: P(a \succ b) = \sigma(r_a - r_b) = \frac{1}{1 + e^{-(r_a - r_b)}}

    computed as ``exp(-log(1 + exp(-(r_a - r_b))))`` so that it keeps full
    relative precision for large differences.

    See Also
    --------
    dpo_loss : ``-log`` of this probability with implicit rewards.

    Examples
    --------
    >>> import rwlib as rw
    >>> round(rw.bradley_terry(2.0, 1.0), 6)
    0.731059
    >>> rw.bradley_terry([3.0, 0.0], 1.0)
    array([0.880797, 0.268941])
    """
    a = elementwise_array(reward_a, "reward_a").astype(np.float64, copy=False)
    b = elementwise_array(reward_b, "reward_b").astype(np.float64, copy=False)
    require_finite(a, "reward_a")
    require_finite(b, "reward_b")
    broadcast_shape(reward_a=a, reward_b=b)
    return scalar_or_array(np.asarray(np.exp(-np.logaddexp(0.0, b - a))))


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, *, log_probs=False):
    r"""The DPO loss of one preference pair (or of a batch of pairs, elementwise).

    Parameters
    ----------
    policy_chosen, policy_rejected : float or array_like
        pi_theta of the preferred (chosen) and the dispreferred (rejected) output.
    ref_chosen, ref_rejected : float or array_like
        pi_ref of the same two outputs; must be positive.
    beta : float
        Positive temperature, the same beta as in pi*.
    log_probs : bool, default False
        Read the four probabilities as log-probabilities.

    Returns
    -------
    float or numpy.ndarray
        ``-log sigma(beta log(pi_c/ref_c) - beta log(pi_r/ref_r)) >= 0``;
        ``log 2`` when the policy equals the reference.

    Raises
    ------
    ValueError
        On the bad inputs of :func:`implicit_reward`, or when both outputs have
        policy probability 0 (the loss is undefined).

    Notes
    -----
    .. math:: \mathcal{L}_\mathrm{DPO} = -\log \sigma\Big(
              \beta \log \frac{\pi_\theta(y_w \mid x)}{\pi_\mathrm{ref}(y_w \mid x)}
              - \beta \log \frac{\pi_\theta(y_l \mid x)}{\pi_\mathrm{ref}(y_l \mid x)}\Big)

    The two ``beta log Z(x)`` terms of the implicit rewards cancel, which is
    why DPO never computes Z.

    See Also
    --------
    implicit_reward : the two terms inside the sigmoid.
    bradley_terry : the preference model.

    Examples
    --------
    At the reference policy the loss is log 2; at pi* it is ``-log sigma(r_c - r_r)``:

    >>> import rwlib as rw
    >>> round(rw.dpo_loss(0.6, 0.4, ref_chosen=0.6, ref_rejected=0.4, beta=1.0), 6)
    0.693147
    >>> pi = rw.reward_weighted([0.6, 0.4], [2.0, 1.0], beta=1.0)
    >>> round(rw.dpo_loss(pi[0], pi[1], ref_chosen=0.6, ref_rejected=0.4, beta=1.0), 6)
    0.313262
    """
    chosen = implicit_reward(policy_chosen, ref_chosen, beta, log_probs=log_probs)
    rejected = implicit_reward(policy_rejected, ref_rejected, beta, log_probs=log_probs)
    with np.errstate(invalid="ignore"):
        margin = np.subtract(chosen, rejected)
    if np.isnan(margin).any():
        raise ValueError(
            "policy_chosen and policy_rejected are both 0: the DPO loss is undefined there"
        )
    return scalar_or_array(np.asarray(np.logaddexp(0.0, -margin)))
