r"""Figures of ``05_why_pi_star_is_optimal.ipynb``: pi* maximizes the KL-regularised objective.

.. math::

    J(\pi) = \mathbb{E}_\pi[r] - \beta\, \mathrm{KL}(\pi \,\|\, \pi_\mathrm{ref})
           = \beta \log Z - \beta\, \mathrm{KL}(\pi \,\|\, \pi^*)

Every function computes J with :func:`rwlib.kl_regularized_objective`, pi*
with :func:`rwlib.reward_weighted` and log Z with
:func:`rwlib.log_normalization_factor`, draws with ``plt.subplots`` and returns
the :class:`matplotlib.figure.Figure`. None of them shows the figure or changes
matplotlib's global settings.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_rgba

import rwlib as rw
from rwlib import validate
from rwlib.plots import tuple_text
from rwlib.plots.style import OKABE_ITO, finish, mark, one_distribution


def _setting(ref, rewards, beta) -> str:
    return f"π_ref = {tuple_text(ref)}, r = {tuple_text(rewards)}, β = {beta:g}"


def _example(ref, rewards, beta, outputs=None):
    """Check one reference, its rewards and beta; return them as arrays and a float."""
    ref, rewards, _ = one_distribution(ref, rewards)
    beta = validate.scalar_beta(beta)
    if outputs is not None and len(ref) != outputs:
        raise ValueError(
            f"ref has {len(ref)} outputs; this figure is for a policy (p, 1 - p) over "
            f"{outputs} outputs"
        )
    if not (ref > 0).all():
        raise ValueError(
            "ref must be positive on every output, so that every policy drawn has a finite J; "
            "drop the outputs that ref never produces"
        )
    return ref, rewards, beta


def _two_output_policies(p) -> np.ndarray:
    """Rows (p, 1 - p) for each p."""
    p = np.asarray(p, dtype=float)
    return np.stack([p, 1 - p], axis=-1)


def _objective_line(ax, grid, ref, rewards, beta):
    """Draw J(p) over the grid; return the J values."""
    j = rw.kl_regularized_objective(_two_output_policies(grid), ref, rewards, beta)
    ax.plot(grid, j, color=OKABE_ITO["blue"], linewidth=2, label="J(p)")
    return j


def plot_objective_curve(ref, rewards, beta, grid):
    r"""Plot ``J(p)`` for the two-output policies ``pi = (p, 1 - p)``, with its maximum marked.

    Parameters
    ----------
    ref : array_like, shape (2,)
        Positive reference probabilities, summing to 1.
    rewards : array_like, shape (2,)
        Finite rewards of the two outputs.
    beta : float
        Positive weight of the KL penalty.
    grid : array_like, shape (k,)
        At least two values of p in [0, 1], sorted before plotting.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with four lines, in this order: the curve
        ``J(p) = rw.kl_regularized_objective((p, 1 - p), ref, rewards, beta)``
        over the grid; a dashed horizontal line at ``beta * log Z``; a dotted
        vertical line at ``pi*(y1)``; and one marker at the grid point with the
        largest J.

    Raises
    ------
    ValueError
        If ``ref`` does not have two positive entries summing to 1, if the
        rewards or beta are not valid, or if ``grid`` is not a 1-d array of at
        least two values in [0, 1].

    Notes
    -----
    .. math:: J(p) = p\, r_1 + (1 - p)\, r_2
              - \beta \Big(p \log \frac{p}{\pi_\mathrm{ref}(y_1)}
              + (1 - p) \log \frac{1 - p}{\pi_\mathrm{ref}(y_2)}\Big)
              \le \beta \log Z,

    with equality only at ``p = pi*(y1)``.

    See Also
    --------
    rwlib.kl_regularized_objective : the J drawn here.
    plot_policy_gap : the same curve with one policy and its gap to the maximum.

    Examples
    --------
    >>> import numpy as np
    >>> fig = plot_objective_curve([0.6, 0.4], [2.0, 1.0], 1.0, np.linspace(0, 1, 101))
    >>> print(fig.axes[0].get_title())
    J(p) peaks at p = π*(y1), where it equals β log Z
    π_ref = (0.6, 0.4), r = (2, 1), β = 1
    >>> fig.axes[0].get_lines()[3].get_xdata()
    array([0.8])
    """
    ref, rewards, beta = _example(ref, rewards, beta, outputs=2)
    grid = np.sort(np.asarray(grid, dtype=float))
    if grid.ndim != 1 or grid.size < 2 or not ((grid >= 0) & (grid <= 1)).all():
        raise ValueError("grid must be a 1-d array of at least two values of p in [0, 1]")
    pi_star = rw.reward_weighted(ref, rewards, beta)
    top = beta * rw.log_normalization_factor(ref, rewards, beta)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    j = _objective_line(ax, grid, ref, rewards, beta)
    ax.axhline(top, color="grey", linestyle="--", label=f"β log Z = {top:.4f}")
    ax.axvline(
        pi_star[0], color=OKABE_ITO["vermillion"], linestyle=":", label=f"π*(y1) = {pi_star[0]:.4f}"
    )
    best = int(np.argmax(j))
    mark(
        ax,
        grid[best],
        j[best],
        "o",
        OKABE_ITO["orange"],
        f"grid maximum: p = {grid[best]:.4f}, J = {j[best]:.4f}",
    )
    return finish(
        fig,
        ax,
        "J(p) peaks at p = π*(y1), where it equals β log Z\n" + _setting(ref, rewards, beta),
        "p = π(y1), the policy's probability of y1",
        "J(π) = E_π[r] − β KL(π ‖ π_ref)",
        legend="lower center",
    )


def plot_objective_identity(ref, rewards, beta, policies):
    r"""Plot ``J(pi)`` against ``KL(pi || pi*)`` for many policies: they all lie on one line.

    Parameters
    ----------
    ref : array_like, shape (n,)
        Positive reference probabilities, summing to 1.
    rewards : array_like, shape (n,)
        Finite rewards, one per output.
    beta : float
        Positive weight of the KL penalty.
    policies : array_like, shape (m, n)
        Policies to place, one per row (probabilities on the last axis).

    Returns
    -------
    matplotlib.figure.Figure
        One axes with three lines, in this order: one marker per policy at
        ``(rw.kl_divergence(policy, pi*), rw.kl_regularized_objective(policy,
        ref, rewards, beta))``; the straight line ``beta log Z - beta * KL``;
        and a star at pi*, ``(0, beta log Z)``.

    Raises
    ------
    ValueError
        If ``ref`` has a zero or is not a probability vector, if the rewards or
        beta are not valid, or if ``policies`` is not an (m, n) array of
        probability vectors.

    Notes
    -----
    .. math:: J(\pi) = \beta \log Z - \beta\, \mathrm{KL}(\pi \,\|\, \pi^*)

    See Also
    --------
    rwlib.kl_regularized_objective : the J on the vertical axis.
    rwlib.kl_divergence : the KL on the horizontal axis.

    Examples
    --------
    >>> fig = plot_objective_identity([0.6, 0.4], [2.0, 1.0], 1.0, [[0.5, 0.5], [0.9, 0.1]])
    >>> print(fig.axes[0].get_title())
    Every policy lies on the line J(π) = β log Z − β KL(π ‖ π*)
    π_ref = (0.6, 0.4), r = (2, 1), β = 1
    >>> fig.axes[0].get_xlabel()
    'KL(π ‖ π*) (nats)'
    """
    ref, rewards, beta = _example(ref, rewards, beta)
    policies = np.asarray(policies, dtype=float)
    if policies.ndim != 2 or policies.shape[1] != len(ref):
        raise ValueError(
            f"policies must have one row per policy and {len(ref)} columns, got shape "
            f"{policies.shape}"
        )
    pi_star = rw.reward_weighted(ref, rewards, beta)
    top = beta * rw.log_normalization_factor(ref, rewards, beta)
    kl = np.atleast_1d(rw.kl_divergence(policies, pi_star))
    j = np.atleast_1d(rw.kl_regularized_objective(policies, ref, rewards, beta))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(
        kl,
        j,
        linestyle="none",
        marker="o",
        markersize=4,
        color=OKABE_ITO["sky"],
        markerfacecolor=to_rgba(OKABE_ITO["sky"], 0.6),
        markeredgecolor=OKABE_ITO["blue"],  # opaque: the marker's outline reaches 3:1
        label=f"{len(policies)} policies",
    )
    line_kl = np.array([0.0, kl.max()])
    ax.plot(
        line_kl,
        top - beta * line_kl,
        color=OKABE_ITO["black"],
        linestyle="--",
        linewidth=1,
        label=f"β log Z − β KL(π ‖ π*), slope −β = {-beta:g}",
    )
    mark(ax, 0.0, top, "*", OKABE_ITO["orange"], f"π*: KL = 0, J = β log Z = {top:.4f}", size=16)
    return finish(
        fig,
        ax,
        "Every policy lies on the line J(π) = β log Z − β KL(π ‖ π*)\n"
        + _setting(ref, rewards, beta),
        "KL(π ‖ π*) (nats)",
        "J(π) = E_π[r] − β KL(π ‖ π_ref)",
    )


def plot_policy_gap(p, beta, ref, rewards):
    r"""One two-output policy ``(p, 1 - p)`` on the curve J, and its gap ``beta KL(pi || pi*)``.

    Meant for sliders: ``interact(shown(plot_policy_gap), p=FloatSlider(...),
    beta=FloatLogSlider(...), ref=fixed(ref), rewards=fixed(rewards))``.

    Parameters
    ----------
    p : float
        The policy's probability of y1, in [0, 1].
    beta : float
        Positive weight of the KL penalty.
    ref : array_like, shape (2,)
        Positive reference probabilities, summing to 1.
    rewards : array_like, shape (2,)
        Finite rewards of the two outputs.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with five lines, in this order: the curve J(p) over 401
        values of p; a dashed line at ``beta log Z``; the policy's point
        ``(p, J(p))``; a vertical segment from ``J(p)`` up to ``beta log Z``,
        of length ``beta KL(pi || pi*)``; and a star at ``(pi*(y1), beta log Z)``.
        The title reads ``p = ..., β = ...: J(p) = ..., β log Z = ...`` and, on a
        second line, ``KL(π ‖ π*) = ... nats``.

    Raises
    ------
    ValueError
        If ``p`` is not in [0, 1], or on the bad inputs of
        :func:`plot_objective_curve`.

    See Also
    --------
    plot_objective_curve : the curve with its grid maximum.

    Examples
    --------
    >>> fig = plot_policy_gap(0.5, 1.0, [0.6, 0.4], [2.0, 1.0])
    >>> print(fig.axes[0].get_title())
    p = 0.5, β = 1: J(p) = 1.4796, β log Z = 1.7085
    KL(π ‖ π*) = 0.2289 nats, so J(p) = β log Z − β KL
    """
    ref, rewards, beta = _example(ref, rewards, beta, outputs=2)
    p = float(p)
    if not 0 <= p <= 1:
        raise ValueError(f"p is the probability of y1 and must lie in [0, 1], got {p}")
    policy = _two_output_policies(p)
    pi_star = rw.reward_weighted(ref, rewards, beta)
    top = beta * rw.log_normalization_factor(ref, rewards, beta)
    j = rw.kl_regularized_objective(policy, ref, rewards, beta)
    kl = rw.kl_divergence(policy, pi_star)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    _objective_line(ax, np.linspace(0, 1, 401), ref, rewards, beta)
    ax.axhline(top, color="grey", linestyle="--", label="β log Z")
    mark(ax, p, j, "o", OKABE_ITO["orange"], "the policy (p, 1 − p)")
    ax.plot(
        [p, p],
        [j, top],
        color=OKABE_ITO["vermillion"],
        linewidth=2.5,
        label="gap β KL(π ‖ π*)",
    )
    mark(ax, pi_star[0], top, "*", OKABE_ITO["green"], f"π*: p = {pi_star[0]:.2f}", size=15)
    ax.set_xlim(-0.02, 1.02)
    return finish(
        fig,
        ax,
        f"p = {p:g}, β = {beta:g}: J(p) = {j:.4f}, β log Z = {top:.4f}\n"
        f"KL(π ‖ π*) = {kl:.4f} nats, so J(p) = β log Z − β KL",
        "p = π(y1), the policy's probability of y1",
        "J(π)",
        legend="lower center",
    )
