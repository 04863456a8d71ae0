r"""Figures of the normalization factor Z, for ``notebooks/02_normalization_factor.ipynb``.

.. math:: Z(x) = \sum_y \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}

Two figures: :func:`plot_weights` stacks ``ref * exp(r / beta)`` up to Z (the
derivation of Z in one picture), and :func:`plot_log_z_against_beta` shows
``beta log Z`` between its bounds ``E_ref[r]`` and ``max r`` as beta varies.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rwlib.plots import positive_grid, tuple_text
from rwlib.plots.style import SERIES_COLOURS, finish, one_distribution, series
from rwlib.reward_weighted import log_normalization_factor, normalization_factor

_OUTPUT_HATCHES = ("", "//", "..", "xx")


def plot_weights(r1: float = 2.0, r2: float = 1.0, beta: float = 1.0, ref=(0.6, 0.4)):
    r"""Stack the reweighted probabilities ``ref * exp(r / beta)`` up to Z, between ref and pi*.

    Three panels, one stacked bar each, one segment per output: the reference
    (total 1), the reweighted probabilities :math:`\pi_\mathrm{ref}(y)\, w(y)` with the
    weight :math:`w(y) = e^{r(y)/\beta}` (the course's notation)
    (total Z, on its own vertical scale, so that a large Z does not flatten the
    other two bars), and the same divided by Z (total 1 again).

    Parameters
    ----------
    r1, r2 : float, default 2.0 and 1.0
        The rewards of the two outputs.
    beta : float, default 1.0
        The positive temperature.
    ref : sequence of two floats, default (0.6, 0.4)
        The reference probabilities of the two outputs; they sum to 1.

    Returns
    -------
    matplotlib.figure.Figure
        Three axes (reference, reweighted, divided by Z), each with one container
        per output; the middle one's segments have heights ``ref * exp(r / beta)``
        and add up to Z. The suptitle shows beta and the rewards as given
        (``:g``) and Z to 4 decimals.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_weights(2.0, 1.0, beta=1.0)
    >>> fig.get_suptitle()
    'β = 1, r = (2, 1): Z = 5.5207'
    >>> plt.close(fig)
    """
    ref, rewards, _ = one_distribution(ref, [r1, r2])
    z = normalization_factor(ref, rewards, beta)
    reweighted = ref * np.exp(rewards / beta)
    panels = [
        ("reference", r"$\pi_\mathrm{ref}$", "probability", ref),
        ("reweighted (total Z)", r"$\pi_\mathrm{ref}\, e^{r/\beta}$", "π_ref · w", reweighted),
        ("divided by Z", r"$\pi_\mathrm{ref}\, e^{r/\beta} / Z$", "probability", reweighted / z),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 4.2))
    for ax, (name, formula, ylabel, values) in zip(axes, panels, strict=True):
        bottom = 0.0
        for k, value in enumerate(values):
            stack = ax.bar(
                [0],
                [value],
                bottom=bottom,
                width=0.6,
                color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
                hatch=_OUTPUT_HATCHES[k % len(_OUTPUT_HATCHES)],
                edgecolor="white",
                label=f"output {k + 1} (r = {rewards[k]:g})",
            )
            bottom += value
        ax.bar_label(stack, labels=[f"total {bottom:.4f}"], padding=3)
        ax.set_xticks([0], [formula])
        ax.set_xlim(-0.8, 0.8)
        ax.set_ylim(0, 1.18 * max(bottom, 1.0))
        finish(fig, ax, name, "", ylabel, legend=None, grid=False)
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    fig.suptitle(f"β = {beta:g}, r = ({r1:g}, {r2:g}): Z = {z:.4f}")
    fig.tight_layout()
    return fig


def plot_log_z_against_beta(ref=(0.6, 0.4), rewards=(2.0, 1.0), betas=None):
    r"""beta log Z against beta, between its bounds ``E_ref[r]`` and ``max r``.

    Multiplied by :math:`\beta`, the bounds
    :math:`e^{\mathbb{E}_\mathrm{ref}[r]/\beta} \le Z \le e^{\max r/\beta}` become
    the constants :math:`\mathbb{E}_\mathrm{ref}[r]` and :math:`\max r` (the largest
    reward within the support), and :math:`\beta \log Z` slides from one to the other.

    Parameters
    ----------
    ref : array_like, shape (n,), default (0.6, 0.4)
        Reference probabilities, summing to 1.
    rewards : array_like, shape (n,), default (2.0, 1.0)
        One reward per output.
    betas : array_like, shape (m,), optional
        Positive temperatures to plot; default ``np.logspace(-2, 2, 81)``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, logarithmic beta axis. Its first line is beta log Z at
        ``betas``; the next two are the lower bound E_ref[r] and the upper
        bound max r.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_log_z_against_beta([0.6, 0.4], [2.0, 1.0])
    >>> print(fig.axes[0].get_title())
    β log Z slides from max r (small β) to E_ref[r] (large β)
    π_ref = (0.6, 0.4), r = (2, 1)
    >>> plt.close(fig)
    """
    ref, rewards, _ = one_distribution(ref, rewards)
    betas = np.logspace(-2, 2, 81) if betas is None else positive_grid(betas)
    beta_log_z = betas * log_normalization_factor(ref, rewards, betas[:, None])
    mean_reward = float(ref @ rewards)
    best_reward = float(rewards[ref > 0].max())
    lower = rf"lower bound $\mathbb{{E}}_\mathrm{{ref}}[r]$ = {mean_reward:g}"
    curves = [
        (beta_log_z, r"$\beta \log Z$", "-"),
        (np.full_like(betas, mean_reward), lower, "--"),
        (np.full_like(betas, best_reward), rf"upper bound $\max r$ = {best_reward:g}", ":"),
    ]
    fig, ax = plt.subplots(figsize=(8.0, 4.2))
    for k, (values, label, style) in enumerate(curves):
        every = max(1, len(betas) // 8)
        ax.plot(betas, values, linestyle=style, markevery=every, label=label, **series(k))
    ax.set_xscale("log")
    title = (
        "β log Z slides from max r (small β) to E_ref[r] (large β)\n"
        f"π_ref = {tuple_text(ref)}, r = {tuple_text(rewards)}"
    )
    return finish(fig, ax, title, "β (log scale)", "β log Z", legend="outside")
