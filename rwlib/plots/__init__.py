"""Figures for the lessons, one module per topic; every plotting function returns a Figure.

Shared conventions: the Okabe–Ito colour-blind-safe palette below, a marker or
a label on every series (so colour is never the only cue), a title and axis
labels. Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from collections.abc import Callable

# Okabe & Ito (2008), "Color Universal Design": distinguishable by colour-blind readers.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
MARKERS = ("o", "s", "^", "D", "v", "P")


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
