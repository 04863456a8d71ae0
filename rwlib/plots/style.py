"""The look shared by every figure of the course: colours, markers, the figure's finishing tail.

One place for what each figure function would otherwise repeat:

- :data:`OKABE_ITO`, the colour-blind-safe palette (darkened where needed so that
  every colour reaches 3:1 against white, WCAG 2.1's minimum for graphics), and
  :data:`SERIES_COLOURS`, the order in which a figure's series take its colours;
- :data:`MARKERS` and :func:`series`, so that colour is never the only cue;
- :data:`REF_STYLE` and :data:`STAR_STYLE`, the bars of pi_ref and pi*;
- :func:`mark`, one highlighted point (pi_ref, pi*, a grid maximum);
- :func:`finish`, the tail of a figure function: labels, title, legend, grid, layout;
- :func:`one_distribution`, the input check of a figure that shows one prompt.

Nothing here changes matplotlib's global settings.
"""

from __future__ import annotations

from rwlib import validate

# Okabe & Ito (2008), "Color Universal Design": distinguishable by colour-blind readers.
# Darkened where the original is under WCAG 2.1's 3:1 against white (SC 1.4.11, graphics
# that carry meaning): orange (#E69F00, 2.25:1), sky (#56B4E9, 2.31:1) and yellow
# (#F0E442, 1.32:1). Hue kept within 12 degrees (OKLCH); orange goes darker than 3:1 needs,
# so that it stays apart from vermillion and purple under simulated protanopia,
# deuteranopia and tritanopia. Ratios against white in the comments.
OKABE_ITO = {
    "blue": "#0072B2",  # 5.19:1
    "orange": "#9A5D0E",  # 5.32:1 (was #E69F00)
    "green": "#009E73",  # 3.42:1
    "vermillion": "#D55E00",  # 3.87:1
    "sky": "#529BD3",  # 3.01:1 (was #56B4E9)
    "purple": "#CC79A7",  # 3.06:1
    "yellow": "#A19708",  # 3.02:1 (was #F0E442)
    "black": "#000000",  # 21:1
}
SERIES_COLOURS = tuple(
    OKABE_ITO[name] for name in ("blue", "orange", "green", "vermillion", "sky", "purple")
)
MARKERS = ("o", "s", "^", "D", "v", "P")
# Bars of a "before / after" comparison: pi_ref hatched in sky blue, pi* dotted in vermillion.
REF_STYLE = {"color": OKABE_ITO["sky"], "hatch": "//", "edgecolor": OKABE_ITO["black"]}
STAR_STYLE = {"color": OKABE_ITO["vermillion"], "hatch": "..", "edgecolor": OKABE_ITO["black"]}


def series(i: int) -> dict:
    """The colour and marker of a figure's ``i``-th series (cycling), as ``plot`` keywords.

    Examples
    --------
    >>> series(0)
    {'color': '#0072B2', 'marker': 'o'}
    >>> series(7)["marker"]
    's'
    """
    return {"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "marker": MARKERS[i % len(MARKERS)]}


def mark(ax, x, y, marker, colour, label, size=9):
    """Draw one highlighted point: a large marker with a black edge, above the lines.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> figure, ax = plt.subplots()
    >>> line = mark(ax, 0.5, 1.0, "*", OKABE_ITO["orange"], "pi*")
    >>> line.get_label(), line.get_markeredgecolor()
    ('pi*', 'black')
    >>> plt.close(figure)
    """
    (line,) = ax.plot(
        [x],
        [y],
        linestyle="none",
        marker=marker,
        markersize=size,
        color=colour,
        markeredgecolor="black",
        label=label,
        zorder=4,
    )
    return line


def finish(figure, ax, title, xlabel, ylabel, legend="upper right", grid=True):
    """Label ``ax``, title it, add its legend and grid, lay the figure out; return the figure.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    title, xlabel, ylabel : str
    legend : str or None, default "upper right"
        The legend's ``loc``, in a small font; ``"outside"`` puts it to the right
        of the axes, where it can hide no bar, label or line; ``None`` for no legend.
    grid : bool, default True
        A light grid.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> figure, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [0, 1], label="a line")
    >>> finish(figure, ax, "title", "x", "y") is figure
    True
    >>> ax.get_legend().get_texts()[0].get_text(), ax.get_xlabel()
    ('a line', 'x')
    >>> plt.close(figure)
    """
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend == "outside":
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize="small")
    elif legend is not None:
        ax.legend(loc=legend, fontsize="small")
    if grid:
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def one_distribution(ref, rewards, labels=None):
    """Check one prompt's reference probabilities, rewards and output names for a figure.

    Returns ``ref`` and ``rewards`` as 1-d float arrays and ``labels`` as a list
    of strings (``y1, y2, ...`` when omitted). Raises the library's own
    ValueError (through :mod:`rwlib.validate`) when ``ref`` is not a
    probability vector or ``rewards`` is not finite, and a ValueError when the
    shapes or the number of labels do not match.

    Examples
    --------
    >>> one_distribution([0.6, 0.4], [2, 1])
    (array([0.6, 0.4]), array([2., 1.]), ['y1', 'y2'])
    >>> try:
    ...     one_distribution([0.6, 0.5], [2, 1])
    ... except ValueError as error:
    ...     print(str(error).split(",")[0])
    ref must sum to 1 along the last axis
    """
    ref = validate.real_array(ref, "ref").astype(float)
    rewards = validate.real_array(rewards, "rewards").astype(float)
    if ref.ndim != 1 or rewards.shape != ref.shape:
        raise ValueError(
            f"ref and rewards must be 1-d with one entry per output, got shapes {ref.shape} "
            f"and {rewards.shape}; these figures show a single prompt"
        )
    validate.require_probabilities(ref, "ref")
    validate.require_finite(rewards, "rewards")
    if labels is None:
        labels = [f"y{i + 1}" for i in range(len(ref))]
    labels = [str(label) for label in labels]
    if len(labels) != len(ref):
        raise ValueError(f"labels has {len(labels)} entries for {len(ref)} outputs; give one each")
    return ref, rewards, labels
