"""Figures for the lessons, one module per topic; every plotting function returns a Figure.

Shared conventions, in :mod:`rwlib.plots.style`: the Okabe–Ito colour-blind-safe
palette, a marker or a label on every series (so colour is never the only cue),
a title and axis labels. ``OKABE_ITO`` and the other style constants are
re-exported here. Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rwlib.plots.style import MARKERS, OKABE_ITO, REF_STYLE, STAR_STYLE  # noqa: F401 (re-exported)


def tuple_text(values) -> str:
    """A short tuple of numbers for a title.

    Examples
    --------
    >>> tuple_text([0.6, 0.4])
    '(0.6, 0.4)'
    """
    return "(" + ", ".join(f"{value:g}" for value in values) + ")"


def positive_grid(values, name: str = "betas"):
    """``values`` sorted, or a ValueError unless they are at least two positive finite numbers.

    Examples
    --------
    >>> positive_grid([10.0, 0.1, 1.0])
    array([ 0.1,  1. , 10. ])
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2 or not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(f"{name} must be a 1-d array of at least two positive, finite values")
    return np.sort(values)


def log_steps(low: float, high: float) -> tuple[float, ...]:
    """Slider values from ``low`` to ``high``: 1, 1.5, 2, 3, 5 and 7 times each power of ten.

    Each value prints exactly with ``:g`` (0.15, not 0.15000000000000002), so a
    figure title that prints the slider's value shows the number it computed
    with. Use it as ``SelectionSlider(options=log_steps(0.1, 100), value=1.0)``.

    Examples
    --------
    >>> log_steps(0.5, 10)
    (0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0)
    """
    low_power, high_power = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    values = (
        float(f"{mantissa}e{power}")
        for power in range(low_power, high_power + 1)
        for mantissa in (1, 1.5, 2, 3, 5, 7)
    )
    return tuple(value for value in values if low <= value <= high)


def caption(figure) -> str:
    """The figure's titles as one line of text: its suptitle, then each axes' title."""
    titles = [figure.get_suptitle()] + [axes.get_title() for axes in figure.axes]
    return " | ".join(" ".join(title.split()) for title in titles if title)


def shown(plot: Callable) -> Callable[..., None]:
    """Wrap a Figure-returning ``plot`` for ``ipywidgets.interact``: draw it, show it, close it.

    ``interact(shown(plot), beta=...)`` redraws the figure on every move of a
    slider, and prints the figure's title below it as text (what the sliders
    changed, readable without seeing the picture). The pure ``plot`` stays
    testable without a kernel.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> def plot(beta):
    ...     figure, axes = plt.subplots()
    ...     axes.set_title(f"beta = {beta}")
    ...     return figure
    >>> shown(plot)(beta=0.5)
    beta = 0.5
    """
    import matplotlib.pyplot as plt

    def draw(**parameters) -> None:
        figure = plot(**parameters)
        plt.show()
        print(caption(figure))
        plt.close(figure)

    draw.__name__ = draw.__qualname__ = plot.__name__
    draw.__doc__ = plot.__doc__
    return draw
