r"""Figures of the normalization factor Z, for ``notebooks/02_normalization_factor.ipynb``.

.. math:: Z(x) = \sum_y \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta}

Two figures: :func:`plot_weights` stacks the weights ``ref * exp(r / beta)`` up to Z
(the derivation of Z in one picture), and :func:`plot_log_z_against_beta` shows
``log Z`` between its bounds ``E_ref[r] / beta`` and ``max r / beta`` as beta varies.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from rwlib.plots import MARKERS, OKABE_ITO, tuple_text
from rwlib.reward_weighted import log_normalization_factor, normalization_factor

_OUTPUT_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["green"], OKABE_ITO["purple"])
_OUTPUT_HATCHES = ("", "//", "..", "xx")


def plot_weights(r1: float = 2.0, r2: float = 1.0, beta: float = 1.0, ref=(0.6, 0.4)):
    r"""Stack the two-output weights ``ref * exp(r / beta)`` up to Z, next to ``ref`` and ``pi*``.

    Three stacked bars, one segment per output: the reference (total 1), the
    unnormalised weights :math:`\pi_\mathrm{ref}(y)\, e^{r(y)/\beta}` (total Z),
    and the weights divided by Z (total 1 again).

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
        One axes; its title shows beta, the rewards and Z to 4 decimals. The
        middle bar's segments have heights ``ref * exp(r / beta)`` and add up to Z.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_weights(2.0, 1.0, beta=1.0)
    >>> fig.axes[0].get_title()
    'β = 1.00, r = (2.00, 1.00): Z = 5.5207'
    >>> plt.close(fig)
    """
    ref = np.asarray(ref, dtype=float)
    rewards = np.array([r1, r2], dtype=float)
    z = normalization_factor(ref, rewards, beta)
    weights = ref * np.exp(rewards / beta)
    bars = {
        "reference\n" + r"$\pi_\mathrm{ref}$": ref,
        "weights\n" + r"$\pi_\mathrm{ref}\, e^{r/\beta}$": weights,
        "divided by Z\n" + r"$\pi_\mathrm{ref}\, e^{r/\beta} / Z$": weights / z,
    }
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    positions = np.arange(len(bars))
    bottoms = np.zeros(len(bars))
    for k in range(len(ref)):
        heights = np.array([values[k] for values in bars.values()])
        stack = ax.bar(
            positions,
            heights,
            bottom=bottoms,
            width=0.6,
            color=_OUTPUT_COLOURS[k % len(_OUTPUT_COLOURS)],
            hatch=_OUTPUT_HATCHES[k % len(_OUTPUT_HATCHES)],
            edgecolor="white",
            label=f"output {k + 1} (r = {rewards[k]:.2f})",
        )
        bottoms += heights
    ax.bar_label(stack, labels=[f"total {total:.4f}" for total in bottoms], padding=3)
    ax.axhline(1.0, color=OKABE_ITO["black"], linestyle=":", linewidth=1, label="1")
    ax.set_xticks(positions, list(bars))
    ax.set_ylim(0, 1.15 * max(bottoms.max(), 1.0))
    ax.set_ylabel("stacked weight")
    ax.set_xlabel("before reweighting, after, after dividing by Z")
    ax.set_title(f"β = {beta:.2f}, r = ({r1:.2f}, {r2:.2f}): Z = {z:.4f}")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig


def plot_log_z_against_beta(ref=(0.6, 0.4), rewards=(2.0, 1.0), betas=None):
    r"""log Z against beta, between its bounds ``E_ref[r] / beta`` and ``max r / beta``.

    Left: :math:`\log Z` and the two bounds against :math:`\beta`, both axes
    logarithmic when every plotted value is positive. Right: the same three
    curves multiplied by :math:`\beta`, so that the bounds become the constants
    :math:`\mathbb{E}_\mathrm{ref}[r]` and :math:`\max r`.

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
        Two axes. The first line of each is log Z (left) or beta log Z (right)
        at ``betas``; the next two are the lower and the upper bound.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_log_z_against_beta([0.6, 0.4], [2.0, 1.0])
    >>> fig.axes[0].get_title()
    'log Z between its bounds: π_ref = (0.6, 0.4), r = (2, 1)'
    >>> plt.close(fig)
    """
    ref = np.asarray(ref, dtype=float)
    rewards = np.asarray(rewards, dtype=float)
    betas = np.logspace(-2, 2, 81) if betas is None else np.asarray(betas, dtype=float)
    log_z = log_normalization_factor(ref, rewards, betas[:, None])
    mean_reward = float(ref @ rewards)
    best_reward = float(rewards[ref > 0].max())
    # (values of log Z or a bound, label on the left, label on the right, colour, line, marker)
    curves = [
        (log_z, r"$\log Z$", r"$\beta \log Z$", "blue", "-", MARKERS[0]),
        (mean_reward / betas, r"lower bound $\mathbb{E}_\mathrm{ref}[r]/\beta$",
         r"$\mathbb{E}_\mathrm{ref}[r]$", "orange", "--", MARKERS[1]),
        (best_reward / betas, r"upper bound $\max r/\beta$", r"$\max r$",
         "green", ":", MARKERS[2]),
    ]  # fmt: skip
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    for values, left_label, right_label, colour, style, marker in curves:
        for ax, y, label in ((left, values, left_label), (right, betas * values, right_label)):
            ax.plot(
                betas,
                y,
                color=OKABE_ITO[colour],
                linestyle=style,
                marker=marker,
                markevery=max(1, len(betas) // 8),
                label=label,
            )
    left.set_xscale("log")
    right.set_xscale("log")
    if all((values > 0).all() for values, *_ in curves):
        left.set_yscale("log")
    setting = f"π_ref = {tuple_text(ref)}, r = {tuple_text(rewards)}"
    left.set_title(f"log Z between its bounds: {setting}")
    left.set_xlabel("β (log scale)")
    left.set_ylabel("log Z" + (" (log scale)" if left.get_yscale() == "log" else ""))
    right.set_title("β log Z: from max r (small β) to E_ref[r] (large β)")
    right.set_xlabel("β (log scale)")
    right.set_ylabel("β log Z")
    left.legend(fontsize="small")
    right.legend(fontsize="small")
    fig.tight_layout()
    return fig
