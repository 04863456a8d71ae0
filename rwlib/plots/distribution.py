r"""Figures for ``03_reward_weighted_distribution.ipynb``: pi* next to pi_ref.

.. math:: \pi^*(y \mid x) = \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta} / Z(x)

Every function computes pi* with :func:`rwlib.reward_weighted`, draws with
``plt.subplots`` and returns the Figure; nothing changes matplotlib's global
settings, and nothing is shown (the notebook calls ``plt.show()``).
"""

from __future__ import annotations

import numpy as np

from rwlib.plots.style import OKABE_ITO, REF_STYLE, STAR_STYLE, finish, one_distribution, series
from rwlib.reward_weighted import reward_weighted


def plot_before_after(ref, rewards, beta=1.0, labels=None, title=None):
    r"""Bars of pi_ref and pi* side by side, one pair per output.

    Parameters
    ----------
    ref : array_like, shape (n,)
        Reference probabilities pi_ref(y|x), summing to 1.
    rewards : array_like, shape (n,)
        The reward of each output.
    beta : float, default 1.0
        Positive temperature.
    labels : sequence of str, optional
        Short names of the outputs, shown under the bars with their rewards;
        ``y1, y2, ...`` when omitted.
    title : str, optional
        The figure's title; by default it names beta.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: pi_ref as hatched light-blue bars (``//``), pi* as dotted
        vermillion bars (``..``) with its value (2 significant digits) above each bar, and the
        legend outside the axes, where it hides no bar or label. The heights of
        the pi* bars sum to 1.

    Raises
    ------
    ValueError
        If ``labels`` does not have one name per output, or if ``ref``,
        ``rewards`` or ``beta`` are not valid for :func:`rwlib.reward_weighted`.

    Notes
    -----
    .. math:: \pi^*(y) = \pi_\mathrm{ref}(y)\, e^{r(y)/\beta} / Z

    See Also
    --------
    rwlib.reward_weighted : the pi* drawn here.

    Examples
    --------
    >>> from rwlib.plots import distribution
    >>> fig = distribution.plot_before_after([0.6, 0.4], [2.0, 1.0], beta=1.0)
    >>> fig.axes[0].get_title()
    'β = 1: reweight by exp(r/β), then renormalise'
    >>> [round(float(bar.get_height()), 3) for bar in fig.axes[0].containers[1]]
    [0.803, 0.197]
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    ref, rewards, labels = one_distribution(ref, rewards, labels)
    pi_star = reward_weighted(ref, rewards, beta)
    if title is None:
        title = f"β = {beta:g}: reweight by exp(r/β), then renormalise"

    x = np.arange(len(ref))
    width = 0.4
    fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(ref) + 1.0), 4.0))
    ax.bar(x - width / 2, ref, width, label=r"$\pi_\mathrm{ref}$ (before)", **REF_STYLE)
    after = ax.bar(x + width / 2, pi_star, width, label=r"$\pi^*$ (after)", **STAR_STYLE)
    ax.bar_label(after, fmt="%.2g", padding=2, fontsize=9)
    ax.set_xticks(x, [f"{name}\nr = {r:g}" for name, r in zip(labels, rewards, strict=True)])
    ax.set_ylim(0, 1.15 * max(ref.max(), pi_star.max()))
    return finish(fig, ax, title, "output", "probability", legend="outside", grid=False)


def plot_three_rewards(
    r1=3.0, r2=1.5, r3=0.5, beta=1.0, ref=(0.2, 0.5, 0.3), labels=("balanced", "upbeat", "terse")
):
    r"""pi_ref and pi* for three outputs, one reward argument each (for a slider per reward).

    Parameters
    ----------
    r1, r2, r3 : float
        The rewards of the three outputs.
    beta : float, default 1.0
        Positive temperature.
    ref : sequence of 3 floats, default (0.2, 0.5, 0.3)
        Reference probabilities, summing to 1.
    labels : sequence of 3 str
        Short names of the outputs.

    Returns
    -------
    matplotlib.figure.Figure
        The figure of :func:`plot_before_after`, titled with the rewards and
        beta as given (``:g``, exact for slider steps such as 0.1 or
        :func:`rwlib.plots.log_steps`) and the resulting pi* (2 significant digits), so
        that a moved slider shows in the title.

    See Also
    --------
    plot_before_after : the figure drawn.

    Examples
    --------
    >>> from rwlib.plots import distribution
    >>> fig = distribution.plot_three_rewards(r1=1.0, r2=1.0, r3=1.0)
    >>> fig.axes[0].get_title()  # equal rewards: pi* = pi_ref
    'r = (1, 1, 1), β = 1 → π* = (0.2, 0.5, 0.3)'
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    rewards = np.array([r1, r2, r3], dtype=float)
    pi_star = reward_weighted(ref, rewards, beta)
    title = (
        f"r = ({r1:g}, {r2:g}, {r3:g}), β = {beta:g} → "
        f"π* = ({pi_star[0]:.2g}, {pi_star[1]:.2g}, {pi_star[2]:.2g})"
    )
    return plot_before_after(ref, rewards, beta, labels=labels, title=title)


def plot_support(
    tiny=(1e-3, 1e-9, 1e-15),
    new_rewards=None,
    beta=1.0,
    ref_rest=(0.6, 0.4),
    rewards_rest=(2.0, 1.0),
):
    r"""pi* of a new output with a tiny reference probability, as its reward grows (log scale).

    The new output gets reference probability ``eps`` (one curve per value in
    ``tiny``), taken from the last of the other outputs, whose rewards stay
    fixed: ``ref = (*ref_rest[:-1], ref_rest[-1] - eps, eps)``.

    Parameters
    ----------
    tiny : sequence of float, default (1e-3, 1e-9, 1e-15)
        The reference probabilities ``eps`` of the new output, each in (0, 1).
    new_rewards : array_like, optional
        The rewards of the new output on the horizontal axis;
        ``np.linspace(0, 45, 181)`` when omitted.
    beta : float, default 1.0
        Positive temperature.
    ref_rest, rewards_rest : sequence of float
        Reference probabilities (summing to 1) and rewards of the other outputs.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, logarithmic vertical axis: one line with markers per ``eps``
        (in the order of ``tiny``), and a dashed line at 1/2. While the new
        output is small each line rises by a factor ``e^{1/beta}`` per unit of
        reward; it levels off at 1.

    Notes
    -----
    .. math::

        \pi^*(\text{new}) = \frac{\varepsilon\, e^{r/\beta}}
        {\sum_{y \ne \text{new}} \pi_\mathrm{ref}(y)\, e^{r(y)/\beta}
        + \varepsilon\, e^{r/\beta}}

    With ``eps = 0`` the line would be 0 everywhere, which a log axis cannot
    show; the figure says so in a note.

    See Also
    --------
    rwlib.reward_weighted : the pi* drawn here.

    Examples
    --------
    >>> from rwlib.plots import distribution
    >>> fig = distribution.plot_support(tiny=[1e-9], new_rewards=[10.0, 30.0])
    >>> fig.axes[0].get_title()
    'β = 1: π* of a new output with tiny π_ref, as its reward grows'
    >>> [f"{p:.3g}" for p in fig.axes[0].lines[0].get_ydata()]
    ['3.99e-06', '0.999']
    >>> import matplotlib.pyplot as plt
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    if new_rewards is None:
        new_rewards = np.linspace(0.0, 45.0, 181)
    new_rewards = np.asarray(new_rewards, dtype=float)
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for i, eps in enumerate(tiny):
        ref = np.array([*ref_rest[:-1], ref_rest[-1] - eps, eps], dtype=float)
        rewards = np.empty((len(new_rewards), len(ref)))
        rewards[:, :-1] = rewards_rest
        rewards[:, -1] = new_rewards
        share = reward_weighted(ref, rewards, beta)[:, -1]
        ax.semilogy(
            new_rewards,
            share,
            markevery=max(1, len(new_rewards) // 12),
            label=rf"$\pi_\mathrm{{ref}}$(new) = {eps:g}",
            **series(i),
        )
    ax.axhline(0.5, color=OKABE_ITO["black"], linestyle="--", linewidth=1)
    ax.annotate(
        "half the mass",
        (new_rewards[-1], 0.5),
        xytext=(-2, -3),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=9,
    )
    ax.text(
        0.99,
        0.03,
        r"$\pi_\mathrm{ref}$(new) = 0: $\pi^*$ = 0 at every reward (not drawable on a log axis)",
        transform=ax.transAxes,
        ha="right",
        fontsize=9,
    )
    ax.set_ylim(1e-18, 3.0)
    title = f"β = {beta:g}: π* of a new output with tiny π_ref, as its reward grows"
    ylabel = r"$\pi^*$(new output), log scale"
    return finish(fig, ax, title, "reward r of the new output", ylabel, "center right", False)
