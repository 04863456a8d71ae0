"""A student who opens a trusted notebook sees its sliders and figure before running anything.

``rwlib release`` stores each notebook's widget state (``metadata.widgets``), and
JupyterLab draws a saved widget from it only in a *trusted* notebook; ``make lab``
and Binder's ``postBuild`` trust the course's notebooks (``jupyter trust``). For
every student notebook with an interactive cell, this opens a trusted copy in
JupyterLab in Chromium, without a kernel run, and asserts that the interactive
cell shows its sliders and its figure; an untrusted copy shows only a line of text,
which is why the trust step is there.

Collected in ``test_browser.py``, whose fixtures give the browser.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_support import served

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CONTROLS = ".widget-slider, .widget-dropdown"
FIGURE = ".widget-output img"
TEXT = '.jp-OutputArea-output[data-mime-type="text/plain"]'
SHOW_TIMEOUT_MS = 40_000


def _interactive(path: Path) -> list[int]:
    """The cells that show an ``interact`` widget (not a progress bar) from saved state."""
    cells = json.loads(path.read_text())["cells"]
    return [
        i
        for i, c in enumerate(cells)
        if "interact(" in "".join(c["source"])
        and any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))
    ]


NOTEBOOKS = [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if _interactive(p)]


def _open(page, server, name: str, index: int):
    """Open notebook ``name`` (no run) with cell ``index`` scrolled to; return that cell."""
    page.goto(f"{server.url}/lab/tree/{name}?reset&token={server.token}")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.content"
    )
    page.evaluate(
        "(i) => { const nb = window.jupyterapp.shell.currentWidget.content;"
        " nb.activeCellIndex = i; nb.scrollToItem(i); }",
        index,
    )
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def _shown(page, server, name: str, index: int, work: Path) -> dict:
    """What cell ``index`` of notebook ``name`` shows from its saved outputs, unrun.

    How many sliders or dropdowns and figures it draws from the saved widget state,
    and how many plain-text outputs stand in for a widget it does not draw, and how
    many times the notebook was opened: a cell that shows neither within
    ``SHOW_TIMEOUT_MS`` is reopened once (what a student would do), with the text it
    showed and a screenshot kept for the failure message.
    """
    shown = []
    for attempt in (1, 2):
        cell = _open(page, server, name, index)
        try:
            # A drawn widget, or the text that stands in for one: in the page, not necessarily
            # painted (JupyterLab skips painting cells scrolled out of view).
            cell.locator(f"{CONTROLS}, {TEXT}").first.wait_for(
                state="attached", timeout=SHOW_TIMEOUT_MS
            )
            cell.locator(f"{FIGURE}, {TEXT}").first.wait_for(
                state="attached", timeout=SHOW_TIMEOUT_MS
            )
            break
        except Exception:  # noqa: BLE001 - reopened once, then reported below
            screenshot = work / f"{name}-{attempt}.png"
            page.screenshot(path=str(screenshot))
            shown.append(f"attempt {attempt}: {cell.inner_text()[:300]!r} (see {screenshot})")
    else:
        raise AssertionError(f"{name}, cell {index} shows neither a widget nor text: {shown}")
    return {
        "controls": cell.locator(CONTROLS).count(),
        "figures": cell.locator(FIGURE).count(),
        "text": cell.locator(TEXT).count(),
        "opened": attempt,
    }


@pytest.fixture(scope="session")
def saved_widgets_lab(playwright, chromium_executable, tmp_path_factory):
    """One JupyterLab serving a trusted and an untrusted copy of each interactive notebook."""
    work = tmp_path_factory.mktemp("saved-widgets")
    root = work / "course"
    root.mkdir()
    for name in NOTEBOOKS:
        notebook = json.loads((ROOT / "notebooks" / name).read_text())
        (root / f"trusted_{name}").write_text(json.dumps(notebook))
        notebook["metadata"]["copy"] = "untrusted"  # trust goes by content: this copy differs
        (root / f"untrusted_{name}").write_text(json.dumps(notebook))
    trust = [sys.executable, "-m", "jupyter", "trust"]
    trust += [str(root / f"trusted_{name}") for name in NOTEBOOKS]
    subprocess.run(
        trust,
        check=True,
        capture_output=True,
        env={"JUPYTER_DATA_DIR": str(work / "data"), "PATH": "/usr/bin:/bin"},
    )
    with served(root, work, playwright, chromium_executable) as (page, server):
        yield page, server, work


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_trusted_notebook_shows_its_widgets_before_it_is_run(name, saved_widgets_lab):
    page, server, work = saved_widgets_lab
    index = _interactive(ROOT / "notebooks" / name)[0]
    trusted = _shown(page, server, f"trusted_{name}", index, work)
    untrusted = _shown(page, server, f"untrusted_{name}", index, work)
    print(f"{name}: trusted {trusted}, untrusted {untrusted}")
    assert trusted["controls"] >= 1 and trusted["figures"] >= 1, trusted
    assert trusted["text"] == 0, trusted
    # the test must see the difference trust makes
    assert untrusted["controls"] == untrusted["figures"] == 0, untrusted
    assert untrusted["text"] >= 1, untrusted
