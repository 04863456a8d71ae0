r"""Figures of ``10_dpo_reaches_pi_star.ipynb``: DPO training against the exact pi*, and where
DPO and RLHF end on the reward–KL plane.

Every function returns a :class:`matplotlib.figure.Figure`; none of them shows
the figure or changes matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import rwlib as rw
from rwlib import dpo_training
from rwlib.plots import MARKERS, OKABE_ITO
from rwlib.plots.rlhf import plot_kl_curves

_COLOURS = ("vermillion", "green", "orange", "purple", "sky", "black")


def plot_dpo_training(beta, step_size, log_ref, chosen, rejected, true_rewards, steps=300):
    r"""DPO by gradient descent on a finite data set: KL to the true pi* against steps.

    The pure function behind the lesson's sliders (``beta`` and ``step_size``).

    Parameters
    ----------
    beta : float
        Positive temperature, of DPO's loss and of the target pi*.
    step_size : float
        Positive step :math:`\eta`.
    log_ref : array_like, shape (n_outputs,)
        ``log pi_ref``.
    chosen, rejected : array_like of int, shape (n,)
        The preference pairs, as output indices.
    true_rewards : array_like, shape (n_outputs,)
        The reward behind the labels; the target is its pi* at ``beta``.
    steps : int, default 300
        The number of steps.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of :func:`rwlib.plots.rlhf.plot_kl_curves` with one curve,
        ``KL(pi_theta || pi*)`` after each step, and a floor at its smallest
        value (where early stopping would stop). The title gives both, and the
        final KL.

    Examples
    --------
    >>> import numpy as np
    >>> log_ref = np.log([0.5, 0.3, 0.2])
    >>> fig = plot_dpo_training(1.0, 1.0, log_ref, [0, 0, 2], [1, 2, 1], [1.0, 0.0, 0.5], steps=50)
    >>> fig.axes[0].get_title().splitlines()[0]
    'DPO on 3 pairs, β = 1, η = 1'
    """
    path = dpo_training.dpo_descent(log_ref, chosen, rejected, beta, step_size, steps)
    target = rw.reward_weighted(log_ref, true_rewards, beta, log_ref=True)
    kl = rw.kl_divergence(np.exp(path), target)
    best = int(np.argmin(kl))
    return plot_kl_curves(
        {"DPO: KL to π* of the true reward": kl},
        f"DPO on {len(np.atleast_1d(chosen))} pairs, β = {beta:g}, η = {step_size:g}\n"
        f"smallest KL {kl[best]:.3g} at step {best}; after {steps} steps {kl[-1]:.3g}",
        floors={f"early stopping: KL = {kl[best]:.3g}": kl[best]},
    )


def plot_reward_kl_plane(log_ref, rewards, betas, policies):
    r"""The reward–KL frontier of pi* (notebook 04) and where given policies lie against it.

    Parameters
    ----------
    log_ref : array_like, shape (n_outputs,)
        ``log pi_ref``.
    rewards : array_like, shape (n_outputs,)
        The true reward.
    betas : array_like, shape (k,)
        The temperatures that trace the frontier, positive.
    policies : dict of str to array_like, shape (n_outputs,)
        Label -> a policy (probabilities) to place on the plane.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: the frontier :math:`(\mathrm{KL}(\pi^*_\beta \| \pi_\mathrm{ref}),
        \mathbb{E}_{\pi^*_\beta}[r])` as a line, then one marker per policy, in order.

    Examples
    --------
    >>> import numpy as np
    >>> log_ref, rewards = np.log([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0])
    >>> fig = plot_reward_kl_plane(log_ref, rewards, [0.5, 1.0, 2.0], {"π_ref": np.exp(log_ref)})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['frontier: π*_β of the true reward', 'π_ref']
    """
    betas = np.sort(np.asarray(betas, dtype=float))
    if betas.ndim != 1 or betas.size < 2 or not (betas > 0).all():
        raise ValueError("betas must be a 1-d array of at least two positive values")
    ref = np.exp(np.asarray(log_ref, dtype=float))
    frontier = rw.reward_weighted(log_ref, rewards, betas[:, None], log_ref=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(
        rw.kl_divergence(frontier, ref),
        rw.expected_reward(frontier, rewards),
        color=OKABE_ITO["blue"],
        linewidth=2,
        label="frontier: π*_β of the true reward",
    )
    for number, (label, policy) in enumerate(policies.items()):
        ax.plot(
            [rw.kl_divergence(policy, ref)],
            [rw.expected_reward(policy, rewards)],
            linestyle="none",
            marker=MARKERS[(number + 1) % len(MARKERS)],
            markersize=9,
            color=OKABE_ITO[_COLOURS[number % len(_COLOURS)]],
            markeredgecolor="black",
            label=label,
        )
    ax.set_xlabel("KL(π ‖ π_ref) (nats)")
    ax.set_ylabel("expected true reward E_π[r]")
    ax.set_title("Where DPO and RLHF end, against the exact reward–KL frontier")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
