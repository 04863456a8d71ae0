r"""Figures of ``04_temperature_beta.ipynb``: what the temperature beta does to pi*.

Every function takes one reference distribution ``ref`` and its ``rewards``
(1-d, one entry per output), computes pi* with :func:`rwlib.reward_weighted`
and returns a :class:`matplotlib.figure.Figure`. None of them shows the figure
or changes matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import rwlib as rw
from rwlib.plots import positive_grid, tuple_text
from rwlib.plots.style import OKABE_ITO, finish, one_distribution, series


def _setting(ref, rewards) -> str:
    return f"π_ref = {tuple_text(ref)}, r = {tuple_text(rewards)}"


def _limits(ref, rewards):
    """The beta -> 0 limits: (best reward within the support, KL of pi* to ref there)."""
    support = ref > 0
    best = rewards[support].max()
    return best, float(-np.log(ref[support & (rewards == best)].sum()))


def plot_pi_star_vs_beta(ref, rewards, betas, labels=None):
    r"""Plot each output's probability under pi* against beta (log-scale beta axis).

    Parameters
    ----------
    ref : array_like, shape (n,)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (n,)
        Finite rewards, one per output.
    betas : array_like, shape (k,)
        At least two positive temperatures; sorted before plotting.
    labels : sequence of str, optional
        A name per output (default ``y1, y2, ...``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with a line per output: ``rw.reward_weighted(ref, rewards,
        betas[:, None])[:, i]`` against ``betas``.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_pi_star_vs_beta([0.6, 0.4], [2.0, 1.0], np.geomspace(0.01, 100, 9))
    >>> print(fig.axes[0].get_title())
    π* against β: small β picks the best output within the support
    π_ref = (0.6, 0.4), r = (2, 1)
    >>> fig.axes[0].get_xscale()
    'log'
    >>> plt.close(fig)
    """
    ref, rewards, labels = one_distribution(ref, rewards, labels)
    betas = positive_grid(betas)
    pi_star = rw.reward_weighted(ref, rewards, betas[:, None])
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, label in enumerate(labels):
        ax.plot(
            betas,
            pi_star[:, i],
            markevery=max(1, len(betas) // 10),
            label=f"{label}: π_ref = {ref[i]:g}, r = {rewards[i]:g}",
            **series(i),
        )
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    title = "π* against β: small β picks the best output within the support\n"
    return finish(fig, ax, title + _setting(ref, rewards), "β (log scale)", "π*(y)", "center left")


def plot_reward_kl_vs_beta(ref, rewards, betas):
    r"""Plot ``E_pi*[r]`` and ``KL(pi* || ref)`` against beta, side by side.

    Parameters
    ----------
    ref : array_like, shape (n,)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (n,)
        Finite rewards, one per output.
    betas : array_like, shape (k,)
        At least two positive temperatures; sorted before plotting.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes with a log-scale beta axis: the expected reward (left) and the
        KL divergence in nats (right) of ``pi* = rw.reward_weighted(ref,
        rewards, betas[:, None])``. Dashed lines mark the limits: as beta -> 0
        the best reward within the support and ``-log ref(best)``; as
        beta -> infinity ``E_ref[r]`` and 0.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_reward_kl_vs_beta([0.6, 0.4], [2.0, 1.0], np.geomspace(0.01, 100, 9))
    >>> [ax.get_title() for ax in fig.axes]
    ['Expected reward E_π*[r]', 'KL(π* ‖ π_ref)']
    >>> print(fig.get_suptitle())
    Larger β: less reward, and π* stays closer to π_ref
    π_ref = (0.6, 0.4), r = (2, 1)
    >>> plt.close(fig)
    """
    ref, rewards, _ = one_distribution(ref, rewards)
    betas = positive_grid(betas)
    pi_star = rw.reward_weighted(ref, rewards, betas[:, None])
    mean_reward = rw.expected_reward(pi_star, rewards)
    kl = rw.kl_divergence(pi_star, ref)
    best, kl_at_zero = _limits(ref, rewards)
    ref_reward = rw.expected_reward(ref, rewards)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(betas, mean_reward, color=OKABE_ITO["blue"], marker="o", markevery=8, label="E_π*[r]")
    left.axhline(best, color="grey", linestyle="--", label=f"β → 0: best reward {best:g}")
    left.axhline(ref_reward, color="grey", linestyle=":", label=f"β → ∞: E_ref[r] = {ref_reward:g}")
    right.plot(
        betas, kl, color=OKABE_ITO["vermillion"], marker="s", markevery=8, label="KL(π* ‖ π_ref)"
    )
    right.axhline(
        kl_at_zero,
        color="grey",
        linestyle="--",
        label=f"β → 0: −log π_ref(best) = {kl_at_zero:.3f}",
    )
    right.axhline(0.0, color="grey", linestyle=":", label="β → ∞: 0")
    for ax, title, ylabel in (
        (left, "Expected reward E_π*[r]", "expected reward"),
        (right, "KL(π* ‖ π_ref)", "KL (nats)"),
    ):
        ax.set_xscale("log")
        # between the two limit lines, on the right, where the curves have flattened
        finish(fig, ax, title, "β (log scale)", ylabel, legend="center right")
    fig.suptitle("Larger β: less reward, and π* stays closer to π_ref\n" + _setting(ref, rewards))
    fig.tight_layout()
    return fig


def plot_reward_kl_tradeoff(ref, rewards, betas, label_betas=(), others=None):
    r"""Plot the reward–KL trade-off: ``E_pi*[r]`` against ``KL(pi* || ref)`` as beta varies.

    Parameters
    ----------
    ref : array_like, shape (n,)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (n,)
        Finite rewards, one per output.
    betas : array_like, shape (k,)
        At least two positive temperatures: the points of the curve.
    label_betas : sequence of float, optional
        Temperatures to mark on the curve with a labelled point ``β = ...``.
    others : array_like, shape (m, n), optional
        Other policies (one per row, within the support of ``ref``), drawn as
        grey crosses at their own (KL, expected reward).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: KL in nats on x, expected reward on y. The first line is the
        pi* curve, one point per beta.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_reward_kl_tradeoff(
    ...     [0.6, 0.4], [2.0, 1.0], np.geomspace(0.01, 100, 9), label_betas=[1.0]
    ... )
    >>> print(fig.axes[0].get_title())
    Reward–KL trade-off: π* traces the frontier
    π_ref = (0.6, 0.4), r = (2, 1)
    >>> [text.get_text() for text in fig.axes[0].texts]
    ['β = 1']
    >>> plt.close(fig)
    """
    ref, rewards, _ = one_distribution(ref, rewards)
    betas = positive_grid(betas)
    pi_star = rw.reward_weighted(ref, rewards, betas[:, None])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(
        rw.kl_divergence(pi_star, ref),
        rw.expected_reward(pi_star, rewards),
        color=OKABE_ITO["blue"],
        linewidth=2,
        label="π* for β from the grid",
    )
    if others is not None:
        others = np.atleast_2d(np.asarray(others, dtype=float))
        ax.plot(
            rw.kl_divergence(others, ref),
            rw.expected_reward(others, rewards),
            linestyle="none",
            marker="x",
            markersize=4,
            color="grey",
            label="other policies",
        )
    label_betas = np.asarray(label_betas, dtype=float).ravel()
    if label_betas.size:
        marked = rw.reward_weighted(ref, rewards, label_betas[:, None])
        kl = rw.kl_divergence(marked, ref)
        reward = rw.expected_reward(marked, rewards)
        ax.plot(
            kl,
            reward,
            linestyle="none",
            marker="o",
            color=OKABE_ITO["orange"],
            markeredgecolor="black",
            label="π* at the labelled β",
            zorder=4,
        )
        for beta, x, y in zip(label_betas, kl, reward, strict=True):
            ax.annotate(
                f"β = {beta:g}",
                (x, y),
                textcoords="offset points",
                xytext=(6, -12),
                fontsize=9,
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            )
    title = "Reward–KL trade-off: π* traces the frontier\n" + _setting(ref, rewards)
    return finish(fig, ax, title, "KL(π ‖ π_ref) (nats)", "expected reward E_π[r]", "lower right")


def plot_temperature(beta, ref, rewards, labels=None):
    r"""Bars of ``ref`` and ``pi*`` at one beta; the title gives beta, pi*, E[r] and KL.

    Meant for a slider: ``interact(shown(plot_temperature),
    beta=SelectionSlider(options=log_steps(0.001, 1000), value=1.0), ref=fixed(ref),
    rewards=fixed(rewards))``.

    Parameters
    ----------
    beta : float
        Positive temperature.
    ref : array_like, shape (n,)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (n,)
        Finite rewards, one per output.
    labels : sequence of str, optional
        A name per output (default ``y1, y2, ...``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bar groups, ``ax.containers[0]`` for ``ref`` and
        ``ax.containers[1]`` for ``pi* = rw.reward_weighted(ref, rewards, beta)``.
        The title reads ``β = <beta>: π* = (...)``, beta as given (``:g``, exact
        for the values of :func:`rwlib.plots.log_steps`), and, on a second line,
        ``E_π*[r]`` and ``KL(π* ‖ π_ref)``, rounded to 2 decimals; pi* and the bar
        labels to 2 significant digits, so that 0.002 does not print as 0.00.

    Examples
    --------
    >>> fig = plot_temperature(1.0, [0.6, 0.4], [2.0, 1.0])
    >>> print(fig.axes[0].get_title())
    β = 1: π* = (0.8, 0.2)
    E_π*[r] = 1.80, KL(π* ‖ π_ref) = 0.09 nats
    >>> plt.close(fig)
    """
    ref, rewards, labels = one_distribution(ref, rewards, labels)
    pi_star = rw.reward_weighted(ref, rewards, beta)
    mean_reward = rw.expected_reward(pi_star, rewards)
    kl = rw.kl_divergence(pi_star, ref)
    positions = np.arange(len(ref))
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.38
    for shift, values, name, colour, hatch in (
        (-width / 2, ref, "π_ref", OKABE_ITO["sky"], "//"),
        (width / 2, pi_star, "π*", OKABE_ITO["orange"], ""),
    ):
        bars = ax.bar(
            positions + shift,
            values,
            width,
            label=name,
            color=colour,
            hatch=hatch,
            edgecolor="black",
        )
        ax.bar_label(bars, labels=[f"{v:.2g}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(
        positions, [f"{label}\nr = {r:g}" for label, r in zip(labels, rewards, strict=True)]
    )
    ax.set_ylim(0, 1.12)
    title = (
        f"β = {beta:g}: π* = ({', '.join(f'{p:.2g}' for p in pi_star)})\n"
        f"E_π*[r] = {mean_reward:.2f}, KL(π* ‖ π_ref) = {kl:.2f} nats"
    )
    return finish(fig, ax, title, "output y (and its reward)", "probability", "outside", False)
