"""WCAG 2.1 contrast of the colours in a matplotlib figure: its lines, marks, bars and text.

Issue 15 asks ``make test`` to check the contrast of text and figure colours in
every notebook. No maintained PyPI checker reads a matplotlib figure offline, so
this module computes the WCAG numbers itself (:func:`relative_luminance`,
:func:`contrast_ratio`) and walks a figure's artists (:func:`figure_problems`).
``tests/test_figure_contrast.py`` runs every notebook and applies it to every
figure the notebook shows (:func:`install` hooks IPython's display).

The rules, with WCAG 2.1's thresholds:

- **Text** (titles, axis labels, tick labels, legend text, annotations): at
  least 4.5:1 (SC 1.4.3) against what is behind it: its own ``bbox`` face if it
  has one, else the legend's frame for legend text, else the axes' face for
  text inside the axes, else the figure's face.
- **Lines** (``Line2D``): the line's colour at least 3:1 (SC 1.4.11, graphics
  that carry meaning) against the axes' face (a legend's frame for a legend
  handle). Where a marker is drawn, the marker passes when its face *or* its
  edge reaches 3:1: a dark edge outlines a light marker, so its shape is seen.
- **Bars and other patches**, and filled collections (``scatter``): a problem
  only when the face *and* the edge are both under 3:1, for the same reason.
  Line collections (``vlines``, error bars): every colour at least 3:1.
- **Translucent fills** (alpha below 1: ``fill_between`` bands, ``axvspan``) are
  a background for what is drawn on them. An unlabelled one passes when its
  axes holds a line that passes (the line carries the meaning); a labelled one
  (it names a quantity in the legend) passes only when its own edge reaches 3:1,
  so that the band's extent can be read.
- **Decorative**, not checked: grid lines (light by design, ``alpha=0.3``), the
  axes', the figure's and the legend's background patches and text boxes (they
  are the background the rules above measure against), images.

Alpha is composited over the background first (a transparent figure over white,
as a notebook shows it). Colours are compared with what lies behind an artist as
declared, not with the pixels: text drawn over a bar is measured against the
axes' face.

Examples
--------
>>> round(contrast_ratio("black", "white"), 2)
21.0
>>> round(contrast_ratio("#767676", "white"), 2)
4.54
>>> round(contrast_ratio("#F0E442", "white"), 2)
1.32
"""

from __future__ import annotations

import dataclasses
import json

import matplotlib.colors as mcolors
from matplotlib.axes import Axes
from matplotlib.axis import Tick
from matplotlib.collections import Collection, LineCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.image import AxesImage, FigureImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

TEXT_MINIMUM = 4.5  # WCAG 2.1 SC 1.4.3, normal-size text
GRAPHICS_MINIMUM = 3.0  # WCAG 2.1 SC 1.4.11, graphical objects that carry meaning
WHITE = (1.0, 1.0, 1.0)


def composite(colour, background=WHITE) -> tuple[float, float, float]:
    """The opaque sRGB colour seen when ``colour`` (with its alpha) is drawn over ``background``.

    Parameters
    ----------
    colour : matplotlib colour
        Any colour matplotlib reads, with or without alpha.
    background : matplotlib colour, default white
        Composited over white first when it is itself translucent.

    Returns
    -------
    tuple of float
        ``(r, g, b)`` in [0, 1]: ``alpha * colour + (1 - alpha) * background``.

    Examples
    --------
    >>> composite((0, 0, 0, 0.5))
    (0.5, 0.5, 0.5)
    """
    back = mcolors.to_rgba(background)
    if back[3] < 1:
        back = (*composite(back), 1.0)
    red, green, blue, alpha = mcolors.to_rgba(colour)
    return tuple(
        float(alpha * value + (1 - alpha) * under)
        for value, under in zip((red, green, blue), back[:3], strict=True)
    )


def relative_luminance(colour) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (alpha composited over white).

    Parameters
    ----------
    colour : matplotlib colour

    Returns
    -------
    float
        In [0, 1]: 0 for black, 1 for white.

    Notes
    -----
    With each channel :math:`c` in [0, 1] linearized as :math:`c/12.92` when
    :math:`c \\le 0.04045`, else :math:`((c + 0.055)/1.055)^{2.4}`:

    .. math:: L = 0.2126 R + 0.7152 G + 0.0722 B

    Examples
    --------
    >>> relative_luminance("white"), relative_luminance("black")
    (1.0, 0.0)
    """

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in composite(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(foreground, background=WHITE) -> float:
    """WCAG 2.1 contrast ratio of ``foreground`` drawn over ``background``.

    Parameters
    ----------
    foreground : matplotlib colour
        Its alpha is composited over ``background`` first.
    background : matplotlib colour, default white

    Returns
    -------
    float
        In [1, 21]; symmetric in the two opaque colours.

    Notes
    -----
    .. math:: \\frac{L_{\\mathrm{lighter}} + 0.05}{L_{\\mathrm{darker}} + 0.05}

    Examples
    --------
    >>> round(contrast_ratio("#0072B2"), 2)
    5.19
    >>> round(contrast_ratio((0, 0, 0, 0.5)), 2)
    3.98
    """
    back = composite(background)
    light, dark = sorted(
        (relative_luminance(composite(foreground, back)), relative_luminance(back)), reverse=True
    )
    return (light + 0.05) / (dark + 0.05)


@dataclasses.dataclass(frozen=True)
class Problem:
    """One colour under its threshold: where (figure, artist), the ratio and the threshold."""

    figure: str
    artist: str
    colour: str
    ratio: float
    minimum: float

    def __str__(self) -> str:
        return (
            f"{self.figure!r}: {self.artist} in {self.colour} has contrast "
            f"{self.ratio:.2f}:1, needs {self.minimum:g}:1"
        )


def _hex(colour) -> str:
    return mcolors.to_hex(colour, keep_alpha=mcolors.to_rgba(colour)[3] < 1)


def _title(figure) -> str:
    titles = [figure.get_suptitle()] + [axes.get_title() for axes in figure.axes]
    text = " | ".join(" ".join(title.split()) for title in titles if title)
    return text or "untitled figure"


def _name(artist, kind: str) -> str:
    label = artist.get_label() if hasattr(artist, "get_label") else ""
    if label and not str(label).startswith("_"):
        return f"{kind} {str(label)!r}"
    return kind


def _with_alpha(colour, alpha):
    rgba = mcolors.to_rgba(colour)
    return rgba if alpha is None else (*rgba[:3], rgba[3] * alpha)


def _inside(artist, axes) -> bool:
    """Whether the centre of ``artist`` (drawn) lies inside ``axes``'s box."""
    try:
        box = artist.get_window_extent()
    except (RuntimeError, TypeError, ValueError):
        return False
    x, y = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    return axes.bbox.contains(x, y)


class _Walk:
    """One figure's walk: the problems found and the backgrounds it measures against."""

    def __init__(self, figure):
        self.figure = figure
        self.title = _title(figure)
        self.problems: list[Problem] = []
        self.figure_face = composite(figure.patch.get_facecolor())
        self.passing_lines: set = set()  # axes holding a line that passes
        self.fills: list[tuple] = []  # translucent fills: decided once every line is seen

    def report(self, artist: str, colour, ratio: float, minimum: float) -> None:
        problem = Problem(self.title, artist, _hex(colour), round(ratio, 2), minimum)
        if problem not in self.problems:
            self.problems.append(problem)

    def axes_face(self, axes):
        if axes is None or not axes.patch.get_visible() or not axes.axison:
            return self.figure_face
        return composite(axes.patch.get_facecolor(), self.figure_face)

    def walk(self, artist, axes=None, legend=None, background=None) -> None:
        if not artist.get_visible():
            return
        if isinstance(artist, Figure | SubFigure) and artist is not self.figure:
            background = composite(artist.patch.get_facecolor(), self.figure_face)
        if isinstance(artist, Axes):
            axes = artist
        elif isinstance(getattr(artist, "axes", None), Axes):
            axes = artist.axes
        if isinstance(artist, Legend):
            legend = artist
            under = self.axes_face(axes) if axes and _inside(artist, axes) else self.figure_face
            frame = artist.legendPatch
            background = (
                composite(frame.get_facecolor(), under)
                if artist.get_frame_on() and frame.get_visible()
                else under
            )
        skip = self.skipped(artist, legend)
        for child in artist.get_children():
            if child in skip:
                continue
            self.check(child, axes, legend, background)
            self.walk(child, axes, legend, background)

    def skipped(self, artist, legend) -> set:
        """The children that are backgrounds or decoration, not checked."""
        skip = set()
        if isinstance(artist, Figure | SubFigure):
            skip.add(artist.patch)
        if hasattr(artist, "patch") and artist is not self.figure and hasattr(artist, "axison"):
            skip.add(artist.patch)
        if isinstance(artist, Tick):
            skip.add(artist.gridline)
        if isinstance(artist, Legend):
            skip.add(artist.legendPatch)
        return skip

    def check(self, artist, axes, legend, background) -> None:
        if not artist.get_visible():
            return
        if background is None:
            background = self.axes_face(axes)
        if isinstance(artist, Text):
            self.check_text(artist, axes, legend, background)
        elif isinstance(artist, Line2D):
            self.check_line(artist, axes, background)
        elif isinstance(artist, LineCollection):
            self.check_line_collection(artist, background)
        elif isinstance(artist, Patch | Collection):
            self.check_fill(artist, axes, legend, background)
        elif isinstance(artist, AxesImage | FigureImage):
            pass  # images: not measured

    def check_text(self, text, axes, legend, background) -> None:
        content = text.get_text()
        if not content.strip():
            return
        if legend is None:
            inside = axes is not None and _inside(text, axes)
            background = self.axes_face(axes) if inside else self.figure_face
        box = text.get_bbox_patch()
        if box is not None and box.get_visible() and box.get_fill():
            background = composite(box.get_facecolor(), background)
        colour = _with_alpha(text.get_color(), text.get_alpha())
        ratio = contrast_ratio(colour, background)
        if ratio < TEXT_MINIMUM:
            short = " ".join(content.split())
            short = short if len(short) <= 40 else short[:37] + "..."
            self.report(f"text {short!r}", colour, ratio, TEXT_MINIMUM)

    def check_line(self, line, axes, background) -> None:
        alpha = line.get_alpha()
        kind = "line" if line.get_linestyle() not in ("None", "none", "", " ") else "marker"
        name = _name(line, kind)
        passes = True
        if kind == "line" and line.get_linewidth() > 0:
            colour = _with_alpha(line.get_color(), alpha)
            ratio = contrast_ratio(colour, background)
            if ratio < GRAPHICS_MINIMUM:
                self.report(name, colour, ratio, GRAPHICS_MINIMUM)
                passes = False
        marker = line._marker
        if marker.get_marker() not in (None, "None", "none", "", " ") and line.get_markersize() > 0:
            candidates = []
            if marker.is_filled() and mcolors.to_rgba(line.get_markerfacecolor())[3] > 0:
                candidates.append(_with_alpha(line.get_markerfacecolor(), alpha))
            edge = line.get_markeredgecolor()
            if line.get_markeredgewidth() > 0 and mcolors.to_rgba(edge)[3] > 0:
                candidates.append(_with_alpha(edge, alpha))
            if candidates:
                ratios = [contrast_ratio(colour, background) for colour in candidates]
                best = max(range(len(ratios)), key=ratios.__getitem__)
                if ratios[best] < GRAPHICS_MINIMUM:
                    marker_name = name if kind == "marker" else f"markers of {name}"
                    self.report(marker_name, candidates[best], ratios[best], GRAPHICS_MINIMUM)
                    passes = False
        if passes and axes is not None and line in axes.lines:  # a data line, not a tick
            self.passing_lines.add(axes)

    def check_line_collection(self, collection, background) -> None:
        if not len(collection.get_paths()):
            return
        for colour in {tuple(c) for c in collection.get_edgecolor()}:
            ratio = contrast_ratio(colour, background)
            if ratio < GRAPHICS_MINIMUM:
                self.report(_name(collection, "lines"), colour, ratio, GRAPHICS_MINIMUM)

    def check_fill(self, artist, axes, legend, background) -> None:
        if isinstance(artist, Collection):
            if not len(artist.get_paths()):
                return
            faces = [tuple(c) for c in artist.get_facecolor()]
            edges = (
                [tuple(c) for c in artist.get_edgecolor()]
                if max(artist.get_linewidth(), default=0) > 0
                else []
            )
            kind = (
                "fill"
                if type(artist).__name__ in ("PolyCollection", "FillBetweenPolyCollection")
                else "marks"
            )
        else:
            faces = [tuple(artist.get_facecolor())] if artist.get_fill() else []
            edges = [tuple(artist.get_edgecolor())] if artist.get_linewidth() > 0 else []
            kind = "spine" if type(artist).__name__ == "Spine" else "patch"
            if legend is not None:
                kind = "legend patch"
        faces = [c for c in faces if c[3] > 0]
        edges = [c for c in edges if c[3] > 0]
        if not faces and not edges:
            return
        face_best = max((contrast_ratio(c, background) for c in faces), default=0.0)
        edge_best = max((contrast_ratio(c, background) for c in edges), default=0.0)
        if max(face_best, edge_best) >= GRAPHICS_MINIMUM:
            return
        colour = max(faces + edges, key=lambda c: contrast_ratio(c, background))
        ratio = max(face_best, edge_best)
        name = _name(artist, kind)
        translucent = faces and all(c[3] < 1 for c in faces)
        labelled = not str(artist.get_label()).startswith("_") and artist.get_label() != ""
        if translucent and not labelled and axes is not None and legend is None:
            self.fills.append((axes, name, colour, ratio))  # passes if a line on it passes
            return
        self.report(name, colour, ratio, GRAPHICS_MINIMUM)

    def finish(self) -> list[Problem]:
        for axes, name, colour, ratio in self.fills:
            if axes not in self.passing_lines:
                self.report(name, colour, ratio, GRAPHICS_MINIMUM)
        return self.problems


def figure_problems(figure) -> list[Problem]:
    """Every colour of ``figure`` under its WCAG 2.1 contrast threshold (see the module's rules).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        Drawn first (without rendering), so that its ticks and layout exist.

    Returns
    -------
    list of Problem
        Empty when every text reaches 4.5:1 and every line, mark and bar 3:1.
        Each names the figure (its titles), the artist and its ratio.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> figure, axes = plt.subplots()
    >>> _ = axes.plot([0, 1], [0, 1], color="#F0E442", label="yellow")
    >>> _ = axes.set_title("a title", color="#BBBBBB")
    >>> for problem in figure_problems(figure):
    ...     print(problem.figure, "|", problem.artist, "|", problem.ratio, "<", problem.minimum)
    a title | line 'yellow' | 1.32 < 3.0
    a title | text 'a title' | 1.92 < 4.5
    >>> plt.close(figure)
    """
    figure.draw_without_rendering()
    walk = _Walk(figure)
    walk.walk(figure)
    return walk.finish()


class Recorder:
    """What :func:`install` saw: the number of figures shown and their problems."""

    def __init__(self):
        self.figures = 0
        self.problems: list[Problem] = []
        self.errors: list[str] = []

    def see(self, figure) -> None:
        self.figures += 1
        try:
            self.problems.extend(figure_problems(figure))
        except Exception as error:  # reported by the test, never raised into the notebook
            self.errors.append(f"{_title(figure)!r}: {type(error).__name__}: {error}")

    def json(self) -> str:
        return json.dumps(
            {
                "figures": self.figures,
                "problems": [dataclasses.asdict(problem) for problem in self.problems],
                "errors": self.errors,
            }
        )


def install(shell) -> Recorder:
    """Check every Figure that ``shell`` displays (``plt.show``, ``display``, a cell's value).

    Wraps ``shell.display_formatter.format``, through which IPython formats every
    displayed object whatever its formats (png, svg) and wherever it is shown (a
    cell's output, an ``interact`` output widget).

    Returns
    -------
    Recorder
        Counts the figures and collects their problems; ``Recorder.json()`` is
        what the notebook test reads.
    """
    recorder = Recorder()
    original = shell.display_formatter.format

    def format(obj, *args, **kwargs):  # noqa: A001 (IPython's name)
        if isinstance(obj, Figure):
            recorder.see(obj)
        return original(obj, *args, **kwargs)

    shell.display_formatter.format = format
    return recorder
