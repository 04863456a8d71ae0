r"""Figures of ``06_dpo_and_the_normalization_factor.ipynb``: the DPO loss of one pair.

The DPO loss of a preference pair depends on the policy only through its
implicit-reward margin

.. math:: m = \beta \log \frac{\pi_\theta(y_w)}{\pi_\mathrm{ref}(y_w)}
          - \beta \log \frac{\pi_\theta(y_l)}{\pi_\mathrm{ref}(y_l)},
          \qquad \mathcal{L} = -\log \sigma(m),

which is 0 at the reference policy (loss ``log 2``) and ``r_w - r_l`` at pi*.
Every function returns a :class:`matplotlib.figure.Figure`; none of them shows
the figure or changes matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import rwlib as rw
from rwlib import validate
from rwlib.plots.style import OKABE_ITO, finish, mark


def _finite(value, name: str) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def _open_unit(value, name: str) -> float:
    value = _finite(value, name)
    if not 0 < value < 1:
        raise ValueError(f"{name} is a probability strictly between 0 and 1, got {value}")
    return value


def _loss_of_margin(margins) -> np.ndarray:
    """-log sigma(m), through rw.bradley_terry of the margin against 0."""
    return -np.log(rw.bradley_terry(margins, 0.0))


def plot_dpo_loss_vs_margin(reward_margin, margins=None):
    r"""Plot the DPO loss ``-log sigma(m)`` against the policy's margin m, marking pi_ref and pi*.

    Parameters
    ----------
    reward_margin : float
        ``r_w - r_l``, the reward of the chosen output minus that of the
        rejected one: pi*'s margin.
    margins : array_like, shape (k,), optional
        The margins to draw, at least two finite values; sorted before
        plotting. Default: 401 points from ``-4`` to ``4``, widened to include
        ``reward_margin``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Its first line is the loss ``-log sigma(m)`` over ``margins``;
        the next two are single points: the reference policy ``(0, log 2)`` and
        pi* ``(r_w - r_l, -log sigma(r_w - r_l))``.

    Examples
    --------
    >>> fig = plot_dpo_loss_vs_margin(1.0)
    >>> print(fig.axes[0].get_title())
    DPO loss of one pair against the policy's margin
    π_ref: margin 0, loss log 2 = 0.693; π*: margin r_w − r_l = 1, loss 0.313
    >>> [round(float(line.get_ydata()[0]), 6) for line in fig.axes[0].get_lines()[1:3]]
    [0.693147, 0.313262]
    """
    reward_margin = _finite(reward_margin, "reward_margin")
    if margins is None:
        low = min(-4.0, -abs(reward_margin) - 1)
        high = max(4.0, abs(reward_margin) + 1)
        margins = np.linspace(low, high, 401)
    margins = np.sort(np.asarray(margins, dtype=float))
    if margins.ndim != 1 or margins.size < 2 or not np.isfinite(margins).all():
        raise ValueError("margins must be a 1-d array of at least two finite values")
    loss_ref = float(np.log(2.0))
    loss_star = float(_loss_of_margin(reward_margin))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(
        margins,
        _loss_of_margin(margins),
        color=OKABE_ITO["blue"],
        linewidth=2,
        label="−log σ(m)",
    )
    mark(ax, 0.0, loss_ref, "s", OKABE_ITO["orange"], f"π_θ = π_ref: m = 0, loss = {loss_ref:.3f}")
    mark(
        ax,
        reward_margin,
        loss_star,
        "o",
        OKABE_ITO["green"],
        f"π_θ = π*: m = r_w − r_l = {reward_margin:g}, loss = {loss_star:.3f}",
    )
    ax.axhline(0.0, color="grey", linestyle=":", linewidth=1)
    return finish(
        fig,
        ax,
        "DPO loss of one pair against the policy's margin\n"
        f"π_ref: margin 0, loss log 2 = {loss_ref:.3f}; "
        f"π*: margin r_w − r_l = {reward_margin:g}, loss {loss_star:.3f}",
        "margin m = β log(π_θ(y_w)/π_ref(y_w)) − β log(π_θ(y_l)/π_ref(y_l))",
        "DPO loss −log σ(m)",
    )


def plot_dpo_two_outputs(p_chosen, beta=1.0, ref_chosen=0.6, reward_margin=1.0):
    r"""Plot the DPO loss of a two-output policy against its probability of the chosen output.

    The policy gives the chosen output ``y_w`` probability ``p`` and the
    rejected one ``1 - p``; the reference gives them ``ref_chosen`` and
    ``1 - ref_chosen``.

    Parameters
    ----------
    p_chosen : float
        The current policy's ``pi_theta(y_w)``, strictly between 0 and 1.
    beta : float, default 1.0
        Positive temperature.
    ref_chosen : float, default 0.6
        ``pi_ref(y_w)``, strictly between 0 and 1.
    reward_margin : float, default 1.0
        ``r_w - r_l``; it places pi*, at
        ``pi*(y_w) = sigma(logit ref_chosen + reward_margin / beta)``.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Its first line is ``rw.dpo_loss(p, 1 - p, ref_chosen,
        1 - ref_chosen, beta)`` over a grid of ``p`` (uniform in ``logit p``, so
        that it reaches pi* even at a small beta); then single points for the
        reference (loss ``log 2``) and pi*; then a dashed vertical line and a
        point for the current policy. The title shows ``p_chosen``, ``beta``,
        the implied margin and the loss.

    Examples
    --------
    >>> fig = plot_dpo_two_outputs(0.8, beta=1.0)
    >>> print(fig.axes[0].get_title())
    π_θ(y_w) = 0.80, β = 1: margin = 0.98, DPO loss = 0.318
    π_ref(y_w) = 0.60 (loss 0.693), π*(y_w) = 0.803 (loss 0.313)
    """
    p_chosen = _open_unit(p_chosen, "p_chosen")
    ref_chosen = _open_unit(ref_chosen, "ref_chosen")
    reward_margin = _finite(reward_margin, "reward_margin")
    beta = validate.scalar_beta(beta)
    ref_rejected = 1 - ref_chosen

    def loss(p):
        return rw.dpo_loss(p, 1 - p, ref_chosen, ref_rejected, beta)

    margin = rw.implicit_reward(p_chosen, ref_chosen, beta) - rw.implicit_reward(
        1 - p_chosen, ref_rejected, beta
    )
    current = loss(p_chosen)
    pi_star = rw.reward_weighted([ref_chosen, ref_rejected], [reward_margin, 0.0], beta)[0]
    loss_star = loss(pi_star)
    # Uniform in logit(p): dense near 0 and 1, and wide enough to reach pi* at a small beta.
    reach = max(12.0, abs(float(np.log(pi_star / (1 - pi_star)))) + 1)
    grid = 1 / (1 + np.exp(-np.linspace(-reach, reach, 481)))

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(grid, loss(grid), color=OKABE_ITO["blue"], linewidth=2, label="DPO loss")
    mark(
        ax,
        ref_chosen,
        np.log(2.0),
        "s",
        OKABE_ITO["orange"],
        f"π_θ = π_ref: loss log 2 = {np.log(2.0):.3f}",
    )
    mark(ax, pi_star, loss_star, "o", OKABE_ITO["green"], f"π_θ = π*: loss {loss_star:.3f}")
    ax.axvline(p_chosen, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2)
    mark(
        ax,
        p_chosen,
        current,
        "D",
        OKABE_ITO["vermillion"],
        f"your policy: π_θ(y_w) = {p_chosen:.2f}",
        size=6,
    )
    ax.set_xlim(0, 1)
    top = max(float(loss(0.02)), float(loss(0.98)), current, loss_star, float(np.log(2.0)))
    ax.set_ylim(0, 1.08 * top)
    return finish(
        fig,
        ax,
        f"π_θ(y_w) = {p_chosen:.2f}, β = {beta:g}: margin = {margin:.2f}, "
        f"DPO loss = {current:.3f}\n"
        f"π_ref(y_w) = {ref_chosen:.2f} (loss {np.log(2.0):.3f}), "
        f"π*(y_w) = {pi_star:.3f} (loss {loss_star:.3f})",
        "π_θ(y_w), the policy's probability of the chosen output",
        "DPO loss",
    )
