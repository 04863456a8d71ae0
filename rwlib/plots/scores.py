"""Figures of ``01_scores_to_probabilities.ipynb``: two ways to turn scores into probabilities.

Every function is pure: arguments in, a :class:`matplotlib.figure.Figure` out.
"""

from __future__ import annotations

import numpy as np

from rwlib.plots.style import OKABE_ITO, finish
from rwlib.scores import normalize, softmax


def _number_texts(values) -> list[str]:
    """Whole numbers as ``12``, anything else with two decimals."""
    values = np.asarray(values, dtype=float)
    whole = np.all(values == np.round(values))
    return [f"{v:.0f}" if whole else f"{v:.2f}" for v in values]


def _labels(labels, n: int) -> list[str]:
    if labels is None:
        return [chr(ord("A") + i) for i in range(n)]
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(
            f"labels has {len(labels)} entries but there are {n} scores; give one each"
        )
    return labels


def _value_text(p: float) -> str:
    """Bar labels: two significant digits, so that 0.0067 and 1.7e-05 stay readable."""
    return f"{p:.2g}"


def plot_two_rules(scores, labels=None):
    """Grouped bars: the same scores divided by their sum, and through softmax.

    Parameters
    ----------
    scores : array_like, shape (n,)
        Nonnegative scores, one per outcome (e.g. 12, 7 and 1).
    labels : sequence of str, optional
        The outcomes' names; ``"A"``, ``"B"``, ... by default.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with two bars per outcome: ``rw.normalize(scores)`` (plain
        blue) and ``rw.softmax(scores)`` (hatched orange), each bar labelled
        with its value and the legend naming the rule.

    See Also
    --------
    rwlib.normalize, rwlib.softmax : the two rules.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_two_rules([12, 7, 1])
    >>> fig.axes[0].get_title()
    'The same scores (12, 7, 1) under two rules'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    by_sum, by_softmax = normalize(scores), softmax(scores)
    if by_sum.ndim != 1:
        raise ValueError("scores must be one-dimensional: one score per outcome")
    names = _labels(labels, by_sum.size)
    x = np.arange(by_sum.size)
    width = 0.38
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    series = [
        (by_sum, -width / 2, "divide by the sum", OKABE_ITO["blue"], ""),
        (by_softmax, width / 2, "softmax", OKABE_ITO["orange"], "//"),
    ]
    for values, offset, name, colour, hatch in series:
        bars = ax.bar(
            x + offset,
            values,
            width,
            label=name,
            color=colour,
            hatch=hatch,
            edgecolor=OKABE_ITO["black"],
            linewidth=0.8,
        )
        ax.bar_label(bars, labels=[_value_text(p) for p in values], padding=2, fontsize=9)
    ax.set_xticks(
        x, [f"{name}\nscore {s}" for name, s in zip(names, _number_texts(scores), strict=True)]
    )
    ax.set_ylim(0, 1.12)
    title = f"The same scores ({', '.join(_number_texts(scores))}) under two rules"
    return finish(fig, ax, title, "outcome", "probability", grid=False)


def plot_softmax_shift_temperature(
    logits=(12.0, 7.0, 1.0), shift=0.0, temperature=1.0, labels=None
):
    r"""Bars of ``softmax((logits + shift) / temperature)``, the numbers in the title.

    Moving ``shift`` leaves every bar where it is (softmax is unchanged when
    the same constant is added to every logit); moving ``temperature`` goes
    from nearly one-hot (small T) to nearly uniform (large T).

    Parameters
    ----------
    logits : array_like, shape (n,), default (12, 7, 1)
        The model's scores, one per outcome.
    shift : float, default 0
        The constant ``c`` added to every logit.
    temperature : float, default 1
        ``T > 0``; the shifted logits are divided by it.
    labels : sequence of str, optional
        The outcomes' names; ``"A"``, ``"B"``, ... by default.

    Returns
    -------
    matplotlib.figure.Figure
        One axes with one bar per outcome, each labelled with its probability;
        the title shows ``c`` and ``T`` as given (``:g``, so a slider value of
        :func:`rwlib.plots.log_steps` prints exactly) and the probabilities to
        three significant digits (so that 4.5e-05 does not print as 0).

    Raises
    ------
    ValueError
        If ``temperature`` is not positive and finite.

    Notes
    -----
    .. math:: p_i = \frac{e^{(z_i + c)/T}}{\sum_j e^{(z_j + c)/T}}

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_softmax_shift_temperature([12, 7, 1], shift=5.0, temperature=2.0)
    >>> fig.axes[0].get_title()
    'c = 5, T = 2: P = (0.921, 0.0756, 0.00376)'
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be positive and finite, got {temperature}")
    shifted = np.asarray(logits, dtype=float) + float(shift)
    if shifted.ndim != 1:
        raise ValueError("logits must be one-dimensional: one logit per outcome")
    probabilities = softmax(shifted / temperature)
    names = _labels(labels, probabilities.size)
    x = np.arange(probabilities.size)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    bars = ax.bar(
        x,
        probabilities,
        0.6,
        color=OKABE_ITO["orange"],
        hatch="//",
        edgecolor=OKABE_ITO["black"],
        linewidth=0.8,
    )
    ax.bar_label(bars, labels=[f"{p:.3f}" for p in probabilities], padding=2, fontsize=9)
    ax.axhline(1 / probabilities.size, color=OKABE_ITO["black"], linestyle=":", linewidth=1)
    ax.annotate(
        f"uniform 1/{probabilities.size}",
        (x[-1] + 0.3, 1 / probabilities.size),
        xytext=(0, 3),
        textcoords="offset points",
        ha="right",
        fontsize=8,
    )
    ax.set_xticks(
        x, [f"{name}\nlogit + c = {z:.1f}" for name, z in zip(names, shifted, strict=True)]
    )
    ax.set_ylim(0, 1.12)
    shown = ", ".join(f"{p:.3g}" for p in probabilities)
    title = f"c = {float(shift):g}, T = {temperature:g}: P = ({shown})"
    return finish(fig, ax, title, "outcome", "probability  softmax((z + c) / T)", None, False)
