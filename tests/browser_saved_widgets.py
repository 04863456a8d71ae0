"""A student who opens a trusted notebook sees its sliders and figure before running anything.

``rwlib release`` stores each notebook's widget state (``metadata.widgets``), and
JupyterLab draws a saved widget from it only in a *trusted* notebook; ``make lab``
and Binder's ``postBuild`` trust the course's notebooks (``jupyter trust``). For
every student notebook with an interactive cell, this opens a trusted copy in
JupyterLab in Chromium, without a kernel run, and asserts that the interactive
cell shows its sliders and its figure; an untrusted copy shows only a line of text,
which is why the trust step is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from browser_review_page import served
from test_browser import chromium_executable  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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


def _shown(page, server, name: str, index: int) -> dict:
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
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    try:
        cell.locator(".widget-slider, .widget-dropdown").first.wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001 - counted below, and the assertion says what is missing
        pass
    return {
        "sliders": cell.locator(".widget-slider, .widget-dropdown").count(),
        "figures": cell.locator(".widget-output img").count(),
    }


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_trusted_notebook_shows_its_widgets_before_it_is_run(
    name,
    chromium_executable,  # noqa: F811 - the fixture
    tmp_path,
):
    root = tmp_path / "course"
    root.mkdir()
    notebook = json.loads((ROOT / "notebooks" / name).read_text())
    (root / f"trusted_{name}").write_text(json.dumps(notebook))
    notebook["metadata"]["copy"] = "untrusted"  # trust goes by content: this copy differs
    (root / f"untrusted_{name}").write_text(json.dumps(notebook))
    trust = [sys.executable, "-m", "jupyter", "trust", str(root / f"trusted_{name}")]
    subprocess.run(
        trust,
        check=True,
        capture_output=True,
        env={"JUPYTER_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )
    index = _interactive(ROOT / "notebooks" / name)[0]
    with served(root, tmp_path, chromium_executable) as (page, server):
        # untrusted first: the page keeps the widget models it has drawn (same ids)
        untrusted = _shown(page, server, f"untrusted_{name}", index)
        trusted = _shown(page, server, f"trusted_{name}", index)
    assert trusted["sliders"] >= 1 and trusted["figures"] >= 1, trusted
    assert untrusted == {"sliders": 0, "figures": 0}, "the test must see the difference trust makes"
