"""A lint over every notebook, in solutions/ and notebooks/: what a reader would see go wrong.

Four rules, each a function that returns its findings (empty when the notebook is clean):

- :func:`split_blockquote_maths`: a display equation ``$$ ... $$`` must open and close on one
  line of a blockquote; split over two lines, JupyterLab renders the second line's ``> ``
  inside the maths (issue 13, defect 1);
- :func:`unbalanced_dollars`: every markdown cell has an even number of ``$$`` and of ``$``
  (outside code), so no maths runs on into the text;
- :func:`figures_without_caption`: a code cell whose stored output holds a PNG is followed by a
  markdown cell, its caption;
- :func:`questions_without_precision`: the question of every graded number or function states
  the precision its tolerance accepts, in :meth:`rwlib.checks.Tolerance.describe`'s words.

Each rule is shown failing on a small bad notebook built here, so that none of them passes by
finding nothing to look at.
"""

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from rwlib.checks import definitions

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb")
)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def _markdown(notebook):
    return [(i, c.source) for i, c in enumerate(notebook.cells) if c.cell_type == "markdown"]


def _prose(source: str) -> str:
    """The markdown without code blocks, inline code and escaped dollars."""
    return INLINE_CODE.sub("", FENCE.sub("", source)).replace(r"\$", "")


def split_blockquote_maths(notebook) -> list[str]:
    """Blockquote lines on which an equation (``$$`` or ``$``) opens or closes but not both."""
    return [
        f"cell {i}: {line.strip()[:60]!r}"
        for i, source in _markdown(notebook)
        for line in _prose(source).splitlines()
        if line.lstrip().startswith(">")
        and (line.count("$$") % 2 or line.replace("$$", "").count("$") % 2)
    ]


def unbalanced_dollars(notebook) -> list[str]:
    """Markdown cells with an odd number of ``$$`` or of single ``$``."""
    found = []
    for i, source in _markdown(notebook):
        text = _prose(source)
        doubles = text.count("$$")
        singles = text.replace("$$", "").count("$")
        if doubles % 2 or singles % 2:
            found.append(f"cell {i}: {doubles} '$$' and {singles} '$'")
    return found


def _has_png(cell) -> bool:
    return any("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def figures_without_caption(notebook) -> list[str]:
    """Code cells with a stored PNG whose next cell is not a non-empty markdown cell."""
    cells = notebook.cells
    return [
        f"cell {i}: a figure without a caption cell below it"
        for i, cell in enumerate(cells)
        if cell.cell_type == "code"
        and _has_png(cell)
        and not (
            i + 1 < len(cells)
            and cells[i + 1].cell_type == "markdown"
            and cells[i + 1].source.strip()
        )
    ]


def questions_without_precision(notebook) -> list[str]:
    """Graded questions whose text does not state their tolerance in its own words."""
    registered, found, question = definitions(), [], None
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            question = " ".join(cell.source.split())
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        exercise = registered.get(grade_id.removesuffix("-answer"))
        if grade_id.endswith("-answer") and exercise is not None:
            wanted = exercise.tolerance.describe()
            if question is None or wanted not in question:
                found.append(f"cell {i} ({exercise.grade_id}): the question omits {wanted!r}")
    return found


def nbval_markers_in_sources(notebook) -> list[str]:
    """Code cells whose source shows test machinery (``# NBVAL_...``): nbval's tags do that job."""
    return [
        f"cell {i}: {line.strip()!r}; tag the cell nbval-ignore-output (or the like) instead"
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if re.match(r"\s*#\s*NBVAL_", line)
    ]


def widgets_not_ignored(notebook) -> list[str]:
    """Cells that draw an ``interact`` widget without the ``nbval-ignore-output`` tag."""
    return [
        f"cell {i}: an interact cell without the nbval-ignore-output tag"
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and "interact(" in cell.source
        and "nbval-ignore-output" not in cell.metadata.get("tags", [])
    ]


def headings_out_of_order(notebook) -> list[str]:
    """One ``#`` title, and no heading more than one level below the one before it."""
    found, previous, titles = [], 0, 0
    for i, source in _markdown(notebook):
        for line in re.sub(r"```.*?```", "", source, flags=re.S).splitlines():
            heading = re.match(r"(#{1,6})\s", line)
            if not heading:
                continue
            level = len(heading.group(1))
            titles += level == 1
            if level > previous + 1:
                found.append(f"markdown cell {i}: h{level} after h{previous}: {line[:60]!r}")
            previous = level
    if titles != 1:
        found.append(f"{titles} top-level (#) headings; a notebook has one title")
    return found


def images_without_alt_text(notebook) -> list[str]:
    """Markdown images without alt text (``![](…)``, ``<img>`` without ``alt``)."""
    found = []
    for i, source in _markdown(notebook):
        text = _prose(source)
        empty = re.findall(r"!\[\s*\]\(", text)
        bare = [tag for tag in re.findall(r"<img\b[^>]*>", text) if "alt=" not in tag]
        found += [f"markdown cell {i}: an image without alt text"] * (len(empty) + len(bare))
    return found


RULES = (split_blockquote_maths, unbalanced_dollars, figures_without_caption,
         questions_without_precision, nbval_markers_in_sources, widgets_not_ignored,
         headings_out_of_order, images_without_alt_text)  # fmt: skip


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_notebook_is_clean(path, rule):
    problems = rule(nbformat.read(path, as_version=4))
    assert not problems, f"{path.parent.name}/{path.name}:\n  " + "\n  ".join(problems)


def test_there_are_notebooks_to_lint():
    assert len(NOTEBOOKS) >= 18


# --- Each rule fails on a bad notebook, and passes on its corrected version. ---


def _figure_cell():
    png = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    return new_code_cell("fig = plot()\nplt.show()", outputs=[png])


def _question_pair(grade_id, question):
    answer = new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": f"{grade_id}-answer"}})
    return [new_markdown_cell(question), answer]


class TestRulesCanFail:
    def test_display_maths_split_over_blockquote_lines(self):
        bad = "> **Key equation.**\n> $$a = b,\n> \\qquad c = d.$$"
        good = "> **Key equation.**\n> $$a = b, \\qquad c = d.$$"
        assert split_blockquote_maths(new_notebook(cells=[new_markdown_cell(bad)]))
        assert not split_blockquote_maths(new_notebook(cells=[new_markdown_cell(good)]))

    def test_inline_maths_split_over_blockquote_lines(self):
        bad = "> **In practice.** the log-ratio $\\log(p /\n> q)$ of a completion"
        assert split_blockquote_maths(new_notebook(cells=[new_markdown_cell(bad)]))

    def test_display_maths_outside_a_blockquote_may_span_lines(self):
        text = "$$\na = b\n$$"
        assert not split_blockquote_maths(new_notebook(cells=[new_markdown_cell(text)]))

    @pytest.mark.parametrize("bad", ["costs $5 and $x$", "$$a = b$ and more", "$x$ and $$y"])
    def test_unbalanced_dollars(self, bad):
        assert unbalanced_dollars(new_notebook(cells=[new_markdown_cell(bad)]))

    def test_dollars_in_code_do_not_count(self):
        text = "Run `echo $HOME`, then $x = 1$.\n```\nprice = '$'\n```"
        assert not unbalanced_dollars(new_notebook(cells=[new_markdown_cell(text)]))

    @pytest.mark.parametrize("after", [[], [new_code_cell("x = 1")], [new_markdown_cell("  ")]])
    def test_figure_without_caption(self, after):
        assert figures_without_caption(new_notebook(cells=[_figure_cell(), *after]))

    def test_figure_with_caption(self):
        cells = [_figure_cell(), new_markdown_cell("*What to look at:* the bars.")]
        assert not figures_without_caption(new_notebook(cells=cells))

    def test_question_without_its_precision(self):
        grade_id, exercise = next(iter(definitions().items()))
        stated = exercise.tolerance.describe()
        bad = _question_pair(grade_id, "Compute it and store it.")
        good = _question_pair(grade_id, f"Compute it and store it, to {stated}.")
        assert questions_without_precision(new_notebook(cells=bad))
        assert not questions_without_precision(new_notebook(cells=good))

    def test_nbval_comment_markers(self):
        bad = new_code_cell("# NBVAL_IGNORE_OUTPUT\ninteract(f, x=1)")
        good = new_code_cell("interact(f, x=1)", metadata={"tags": ["nbval-ignore-output"]})
        assert nbval_markers_in_sources(new_notebook(cells=[bad]))
        assert widgets_not_ignored(new_notebook(cells=[new_code_cell("interact(f, x=1)")]))
        assert not nbval_markers_in_sources(new_notebook(cells=[good]))
        assert not widgets_not_ignored(new_notebook(cells=[good]))

    @pytest.mark.parametrize(
        "headings", [["## No title"], ["# Title", "### Skips a level"], ["# One", "# Two"]]
    )
    def test_headings_out_of_order(self, headings):
        cells = [new_markdown_cell(h) for h in headings]
        assert headings_out_of_order(new_notebook(cells=cells))

    def test_headings_in_order(self):
        cells = [new_markdown_cell(h) for h in ["# Title", "## A", "### B", "## C"]]
        assert not headings_out_of_order(new_notebook(cells=cells))

    @pytest.mark.parametrize("bad", ["![](figure.png)", '<img src="figure.png">'])
    def test_images_without_alt_text(self, bad):
        assert images_without_alt_text(new_notebook(cells=[new_markdown_cell(bad)]))
        good = "![bars of pi* against beta](figure.png)"
        assert not images_without_alt_text(new_notebook(cells=[new_markdown_cell(good)]))
