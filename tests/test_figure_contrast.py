"""The contrast of every figure the notebooks show: WCAG 2.1, 3:1 for lines and bars, 4.5:1 text.

Issue 15 (accessibility). Each notebook, student copy and solution, runs with
nbclient behind a first cell that hooks IPython's display
(:func:`figure_contrast.install`), so every figure it shows (``plt.show()``, a
cell's value, the first drawing of an ``interact`` output) is checked with
:func:`figure_contrast.figure_problems`; a last cell prints what was seen as
JSON. A notebook whose stored outputs hold figures must show at least as many
while it is checked: a hook that sees nothing fails. The rules are in
``tests/figure_contrast.py``'s docstring.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pytest
from figure_contrast import GRAPHICS_MINIMUM, contrast_ratio, figure_problems

from rwlib.plots import style

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
    (ROOT / "solutions").glob("*.ipynb")
)

HOOK = """\
import sys as _sys
_sys.path.insert(0, {tests!r})
import figure_contrast as _figure_contrast
_contrast_recorder = _figure_contrast.install(get_ipython())
"""
REPORT = "print(_contrast_recorder.json())"


def stored_figures(notebook) -> int:
    """The number of PNG figures in a notebook's stored outputs (widget outputs not counted)."""
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )


def run_with_hook(path: Path) -> tuple[dict, int]:
    """Execute the notebook at ``path`` with the contrast hook; its report and stored figures."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    expected = stored_figures(notebook)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(HOOK.format(tests=str(ROOT / "tests"))))
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        iopub_timeout=30,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    last = notebook.cells[-1].outputs
    text = "".join(output.get("text", "") for output in last if output.output_type == "stream")
    return json.loads(text.strip().splitlines()[-1]), expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_figure_a_notebook_shows_has_enough_contrast(path, monkeypatch):
    monkeypatch.delenv("RWLIB_GRADING", raising=False)
    report, expected = run_with_hook(path)
    assert not report["errors"], report["errors"]
    assert report["figures"] >= expected, (
        f"the hook saw {report['figures']} figures, the stored outputs hold {expected}"
    )
    problems = [
        f"{p['figure']!r}: {p['artist']} in {p['colour']}: {p['ratio']}:1 < {p['minimum']}:1"
        for p in report["problems"]
    ]
    assert not problems, "\n".join(problems)


def test_a_notebook_with_figures_is_seen_to_have_them():
    """The count above is not vacuous: the course's notebooks store figures."""
    counts = {path.name: stored_figures(nbformat.read(path, as_version=4)) for path in NOTEBOOKS}
    assert sum(counts.values()) >= 20, counts


class TestFigureProblems:
    def test_yellow_line_and_light_grey_text_fail(self):
        figure, axes = plt.subplots()
        axes.plot([0, 1], [0, 1], color="#F0E442", label="yellow series")
        axes.set_title("light title", color="#BBBBBB")
        axes.set_xlabel("x")
        axes.legend()
        problems = figure_problems(figure)
        artists = {problem.artist: problem for problem in problems}
        assert "line 'yellow series'" in artists
        assert artists["line 'yellow series'"].ratio == pytest.approx(1.32, abs=0.01)
        assert "text 'light title'" in artists
        assert artists["text 'light title'"].minimum == 4.5
        assert all(problem.figure == "light title" for problem in problems)

    def test_light_bar_without_edge_fails_and_with_black_edge_passes(self):
        figure, (left, right) = plt.subplots(1, 2)
        left.bar([0], [1], color="#F0E442", label="light bar")
        right.bar([0], [1], color="#F0E442", edgecolor="black", label="outlined bar")
        artists = [problem.artist for problem in figure_problems(figure)]
        assert artists == ["patch"]

    def test_labelled_translucent_band_needs_an_edge(self):
        figure, axes = plt.subplots()
        axes.plot([0, 1], [0, 1], color=style.OKABE_ITO["blue"], label="estimate")
        band = axes.fill_between(
            [0, 1], [-1, 0], [1, 2], facecolor=(0.34, 0.71, 0.91, 0.35), label="band"
        )
        assert [problem.artist for problem in figure_problems(figure)] == ["fill 'band'"]
        band.set_edgecolor(style.OKABE_ITO["blue"])
        band.set_linewidth(1)
        assert figure_problems(figure) == []

    def test_unlabelled_band_under_a_passing_line_is_decoration(self):
        figure, axes = plt.subplots()
        axes.plot([0, 1], [0, 1], color="black")
        axes.axvspan(0.2, 0.4, color="#F0E442", alpha=0.3)
        assert figure_problems(figure) == []
        axes.lines[0].set_color("#DDDDDD")
        assert {problem.artist for problem in figure_problems(figure)} == {"line", "patch"}

    def test_the_palette_passes(self):
        figure, axes = plt.subplots()
        for i in range(len(style.SERIES_COLOURS)):
            axes.plot([0, 1], [i, i + 1], **style.series(i), label=f"series {i}")
        axes.bar([3, 4], [1, 2], **style.REF_STYLE, label="ref")
        axes.bar([5, 6], [1, 2], **style.STAR_STYLE, label="star")
        axes.legend()
        axes.set_title("the palette")
        axes.grid(alpha=0.3)
        assert figure_problems(figure) == []

    @pytest.mark.parametrize("name", sorted(style.OKABE_ITO))
    def test_every_palette_colour_reaches_3_to_1_on_white(self, name):
        assert contrast_ratio(style.OKABE_ITO[name], "white") >= GRAPHICS_MINIMUM
