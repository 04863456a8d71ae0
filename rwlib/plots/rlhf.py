r"""Figures of ``09_rlhf_reaches_pi_star.ipynb``: a reward model from preferences, and a policy
climbing to the exact pi* of that reward model.

Every function returns a :class:`matplotlib.figure.Figure`; none of them shows
the figure or changes matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import rwlib as rw
from rwlib import rlhf
from rwlib.plots import MARKERS, OKABE_ITO

#: The target of the lessons' convergence claims: KL(pi_theta || pi*) below this.
KL_TARGET = 1e-3
_COLOURS = ("blue", "vermillion", "green", "orange", "purple", "sky")


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size < 2 or not np.isfinite(array).all():
        raise ValueError(f"{name} must be a 1-d array of at least two finite values")
    return array


def plot_reward_model_error(n_pairs, errors):
    r"""Plot the reward model's error against the number of preference pairs, on log–log axes.

    Parameters
    ----------
    n_pairs : array_like, shape (k,)
        The numbers of pairs, positive.
    errors : array_like, shape (seeds, k)
        The error of the reward model fitted to each number of pairs, one row
        per seed (e.g. the standard deviation of :math:`\hat r - r` under pi_ref).

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Its first line is the mean over seeds (circles); the second,
        dashed, is :math:`c / \sqrt{n}` through the first mean; then one thin
        line per seed.

    Examples
    --------
    >>> fig = plot_reward_model_error([100, 400], [[1.0, 0.5], [1.2, 0.6]])
    >>> print(fig.axes[0].get_title())
    Reward model from preferences: its error shrinks like 1/√n
    mean over 2 seeds: 1.1 at 100 pairs, 0.55 at 400 pairs
    """
    n_pairs = _vector(n_pairs, "n_pairs")
    errors = np.atleast_2d(np.asarray(errors, dtype=float))
    if errors.shape[1] != n_pairs.size or not (np.isfinite(errors) & (errors > 0)).all():
        raise ValueError("errors must have shape (seeds, len(n_pairs)) and be positive and finite")
    if not (n_pairs > 0).all():
        raise ValueError("n_pairs must be positive")
    mean = errors.mean(axis=0)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(
        n_pairs, mean, marker="o", color=OKABE_ITO["blue"], linewidth=2, label="mean over seeds"
    )
    ax.plot(
        n_pairs,
        mean[0] * np.sqrt(n_pairs[0] / n_pairs),
        linestyle="--",
        color=OKABE_ITO["black"],
        label="∝ 1/√n",
    )
    for row in errors:
        ax.plot(n_pairs, row, color=OKABE_ITO["sky"], linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of preference pairs n")
    ax.set_ylabel("error of the reward model (std of r̂ − r under π_ref)")
    ax.set_title(
        "Reward model from preferences: its error shrinks like 1/√n\n"
        f"mean over {len(errors)} seeds: {mean[0]:.3g} at {n_pairs[0]:g} pairs, "
        f"{mean[-1]:.3g} at {n_pairs[-1]:g} pairs"
    )
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_kl_curves(curves, title, floors=None):
    r"""Plot KL divergences against optimisation steps, on a log scale, with the 1e-3 target.

    Parameters
    ----------
    curves : dict of str to array_like
        Label -> KL after 0, 1, 2, ... steps (nonnegative).
    title : str
        The figure's title.
    floors : dict of str to float, optional
        Label -> a level drawn as a dotted horizontal line (e.g. the KL between
        two pi*s, where a curve must end).

    Returns
    -------
    matplotlib.figure.Figure
        One axes. One line per curve (in order, each with its own marker), then
        the floors, then the dashed target line at 1e-3.

    Examples
    --------
    >>> fig = plot_kl_curves({"a": [1.0, 0.1, 0.01]}, "KL to π*", floors={"gap": 0.05})
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['a', 'gap', 'KL = 0.001']
    """
    if not curves:
        raise ValueError("curves must hold at least one curve")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    smallest = KL_TARGET
    for number, (label, kl) in enumerate(curves.items()):
        kl = np.asarray(kl, dtype=float)
        if kl.ndim != 1 or not (np.isfinite(kl) & (kl >= 0)).all():
            raise ValueError(f"curve {label!r} must be a 1-d array of nonnegative KLs")
        shown = np.maximum(kl, 1e-12)  # a log axis cannot show an exact 0
        smallest = min(smallest, shown.min())
        colour = OKABE_ITO[_COLOURS[number % len(_COLOURS)]]
        ax.plot(
            np.arange(len(kl)),
            shown,
            color=colour,
            marker=MARKERS[number % len(MARKERS)],
            markevery=max(1, len(kl) // 10),
            label=label,
        )
    for number, (label, level) in enumerate((floors or {}).items()):
        colour = OKABE_ITO[_COLOURS[(number + 1) % len(_COLOURS)]]
        ax.axhline(level, color=colour, linestyle=":", linewidth=1.5, label=label)
    ax.axhline(KL_TARGET, color=OKABE_ITO["black"], linestyle="--", linewidth=1, label="KL = 0.001")
    ax.set_yscale("log")
    ax.set_ylim(bottom=max(smallest / 3, 1e-12))
    ax.set_xlabel("optimisation step k")
    ax.set_ylabel("KL(π_θ ‖ π*) over whole sequences (nats)")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def plot_policy_optimization(beta, step_size, log_ref, learned_rewards, true_rewards, steps=40):
    r"""Natural-gradient ascent on ``J`` for the learned reward: KL to both pi*s against steps.

    The pure function behind the lesson's sliders (``beta`` and ``step_size``).

    Parameters
    ----------
    beta : float
        Positive temperature.
    step_size : float
        Positive step :math:`\eta`; it converges for :math:`0 < \eta\beta < 2`.
    log_ref : array_like, shape (n,)
        ``log pi_ref`` of the outputs (e.g. all two-word sentences).
    learned_rewards, true_rewards : array_like, shape (n,)
        The reward model's reward and the true reward of each output.
    steps : int, default 40
        The number of steps.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of :func:`plot_kl_curves` with two curves, KL to the learned
        reward's pi* and KL to the true reward's pi*, and the floor
        ``KL(pi*_learned || pi*_true)``. The title gives beta, the step size, the
        factor ``|1 - step_size * beta|`` and both final KLs.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.log([0.5, 0.3, 0.2])
    >>> fig = plot_policy_optimization(1.0, 0.5, ref, [1.0, 0.0, 0.5], [1.0, 0.0, 0.0], steps=20)
    >>> print(fig.axes[0].get_title().splitlines()[0])
    β = 1, step size η = 0.5: the error shrinks by |1 − ηβ| = 0.5 per step
    """
    path = rlhf.policy_gradient_ascent(
        log_ref, learned_rewards, beta, step_size, steps, natural=True
    )
    star_learned = rw.reward_weighted(log_ref, learned_rewards, beta, log_ref=True)
    star_true = rw.reward_weighted(log_ref, true_rewards, beta, log_ref=True)
    policies = np.exp(path)
    to_learned = rw.kl_divergence(policies, star_learned)
    to_true = rw.kl_divergence(policies, star_true)
    gap = rw.kl_divergence(star_learned, star_true)
    factor = abs(1 - step_size * beta)
    return plot_kl_curves(
        {"to π* of the learned reward r̂": to_learned, "to π* of the true reward r": to_true},
        f"β = {beta:g}, step size η = {step_size:g}: the error shrinks by |1 − ηβ| = "
        f"{factor:.3g} per step\n"
        f"after {steps} steps: KL to π*(r̂) = {to_learned[-1]:.2g}, "
        f"KL to π*(r) = {to_true[-1]:.3g}",
        floors={f"KL(π*(r̂) ‖ π*(r)) = {gap:.3g}": max(gap, 1e-12)},
    )


def plot_over_optimization(kl, proxy, gold):
    r"""Proxy reward against true (gold) reward as the policy moves away from pi_ref (Gao et al.).

    Parameters
    ----------
    kl : array_like, shape (k,)
        ``KL(pi || pi_ref)`` of a family of policies (e.g. pi* of the learned
        reward at falling beta), nonnegative.
    proxy, gold : array_like, shape (k,)
        Their expected learned reward and expected true reward.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, against :math:`\sqrt{\mathrm{KL}}`: the proxy reward (circles),
        the gold reward (squares), and a marker at the gold reward's peak.

    Examples
    --------
    >>> fig = plot_over_optimization([0.0, 1.0, 4.0], [0.0, 1.0, 2.0], [0.0, 0.8, 0.5])
    >>> print(fig.axes[0].get_title().splitlines()[1])
    the true reward peaks at 0.8, at KL = 1, and ends at 0.5
    """
    kl, proxy, gold = (
        _vector(v, name) for v, name in ((kl, "kl"), (proxy, "proxy"), (gold, "gold"))
    )
    if not (kl.shape == proxy.shape == gold.shape) or (kl < 0).any():
        raise ValueError("kl, proxy and gold must have the same length, and kl must be >= 0")
    order = np.argsort(kl)
    kl, proxy, gold = kl[order], proxy[order], gold[order]
    peak = int(np.argmax(gold))
    x = np.sqrt(kl)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(x, proxy, marker="o", color=OKABE_ITO["blue"], label="learned (proxy) reward E[r̂]")
    ax.plot(x, gold, marker="s", color=OKABE_ITO["vermillion"], label="true (gold) reward E[r]")
    ax.plot(
        [x[peak]],
        [gold[peak]],
        linestyle="none",
        marker="*",
        markersize=14,
        color=OKABE_ITO["yellow"],
        markeredgecolor="black",
        label="best true reward",
    )
    ax.set_xlabel("√KL(π ‖ π_ref)")
    ax.set_ylabel("expected reward")
    ax.set_title(
        "Over-optimisation: the proxy keeps rising, the true reward does not\n"
        f"the true reward peaks at {gold[peak]:.3g}, at KL = {kl[peak]:.3g}, "
        f"and ends at {gold[-1]:.3g}"
    )
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
