"""Every notebook runs in a real JupyterLab in a real browser, and every slider responds.

What a student does, done by Playwright in the distribution's Chromium
(``/usr/bin/chromium``, or ``RW_CHROMIUM``) against a real ``jupyter lab`` from this
virtual environment. For every notebook in ``notebooks/`` and ``solutions/`` (the glob is
read when pytest collects, so new lessons are included):

1. open it (*File › Open from Path…*, the in-app way to reach ``/lab/tree/<folder>/<name>``;
   reloading JupyterLab for every notebook would cost 3-6 s each), *Edit › Clear Outputs of
   All Cells*, then *Run › Run All Cells*;
2. wait until the kernel is idle and every non-empty code cell shows an execution count
   (``[n]:``, never ``[*]:`` or ``[ ]:``), the counts increasing down the notebook;
3. assert that nothing raised. An error is a traceback: an ``error`` output in a cell, or
   an ``error`` message from the kernel, which also catches a widget callback that raises
   (its traceback goes to the widget's output, not to a cell). JupyterLab 4 renders error
   outputs and stderr streams with the same markup (``.jp-RenderedText`` with
   ``data-mime-type="application/vnd.jupyter.stderr"``), so the page cannot tell them apart:
   errors are read from the notebook model (``window.jupyterapp``, exposed with
   ``--LabApp.expose_app_in_browser``) and from the kernel's messages on the websocket.
   Text on stderr (a warning) is not an error here; it is printed with the test's output.
   A widget that JupyterLab fails to display ("Error displaying widget",
   "Javascript Error") is an error too;
4. assert that JupyterLab's maths renderer (MathJax 3, CHTML output) reports no TeX error
   in any markdown cell. MathJax marks a parse error (``$$\\left( x$$``) with an
   ``mjx-merror`` element whose ``data-mjx-error`` attribute holds the message (an output
   error: a ``data-mjx-error`` span in an ``mjx-output-error`` container); an undefined
   macro, which MathJax's ``noundefined`` extension prints in red instead, is a red
   ``mtext`` holding ``\\name`` in the container's ``mjx-assistive-mml`` copy. Maths with
   no closing delimiter (``$\\frac{1}{$``: the ``$`` sits inside an open brace) never
   reaches MathJax, and JupyterLab shows it as text: a ``$`` left outside typeset maths
   (code spans aside) once typesetting has settled is an error too.
   ``test_maths_check_can_fail`` shows the check failing on a notebook of bad maths;
5. move every ipywidgets slider with the keyboard: focus its ``.noUi-handle`` and press
   ArrowRight until the readout shows a new value (up to three presses; ArrowLeft when it
   sits at its maximum). noUiSlider fires ``change`` on every key press, so even a
   ``continuous_update=False`` slider applies each step at once (no key-up or pointer
   release is needed), and each press costs one redraw in the kernel. The text line that
   ``rwlib.plots.shown`` prints under the figure must change and contain the slider's new
   readout. Numbers are compared, not strings: readout ``1.26`` matches ``1.3`` or
   ``1.260`` in the caption, each side rounded to the digits it shows. A slider whose
   caption does not change fails.

One server and one browser serve the whole run; each notebook's kernel is shut down
(*File › Close and Shut Down Notebook…*) after its check. The server's root is a temporary
directory holding copies of ``notebooks/`` and ``solutions/`` (JupyterLab autosaves), and
JupyterLab's config, data, runtime, settings and workspace directories live there too,
with the news and update checks switched off so no dialog covers the page.

On a failure the test saves a screenshot and the page's console log in its temporary
directory and names both in the failure message.

Without Chromium the tests are skipped with a loud reason, unless ``RW_REQUIRE_BROWSER=1``
(CI sets it), which turns the skip into a failure.

Environment variables: ``RW_CHROMIUM`` (browser executable), ``RW_REQUIRE_BROWSER``,
``RW_BROWSER_COURSE_DIR`` (a directory holding ``notebooks/`` and ``solutions/`` to test
instead of this repository's: for checking that this test can fail), ``RW_BROWSER_TIMEOUT``
(seconds allowed for one notebook's Run All, default 240).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_support import CHROMIUM_ARGS, LabServer, find_chromium, start_lab

ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = Path(os.environ.get("RW_BROWSER_COURSE_DIR") or ROOT).resolve()
FOLDERS = ("notebooks", "solutions")
RUN_TIMEOUT = float(os.environ.get("RW_BROWSER_TIMEOUT") or 240)
SLIDER_TIMEOUT = 60.0
MATHS_TIMEOUT = 60.0
MATHS_SETTLE = 2.0  # seconds without a newly typeset formula
IDLE_GRACE = 5.0  # seconds of an idle kernel after which a redraw is overdue
UI_TIMEOUT_MS = 30_000
KEY_PRESSES = 3


def _notebooks():
    found = [
        f"{folder}/{path.name}"
        for folder in FOLDERS
        for path in sorted((COURSE_DIR / folder).glob("*.ipynb"))
    ]
    return found or [pytest.param(None, id="no-notebooks-found")]


# ---------------------------------------------------------------------------------------
# Browser and server
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Chromium's path; skips (or fails under RW_REQUIRE_BROWSER=1) when there is none."""
    path, looked_at = find_chromium()
    problem = None
    if path is None:
        problem = f"no Chromium found (looked for {looked_at})"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as exc:
            problem = f"Playwright for Python is not importable ({exc}); pip install -e '.[test]'"
    if problem is None:
        return path
    message = (
        f"BROWSER TEST NOT RUN: {problem}. Install Chromium (Debian/Ubuntu: "
        "apt-get install chromium) or point RW_CHROMIUM at a Chromium executable. "
        "With RW_REQUIRE_BROWSER=1 (as in CI) this is a failure, not a skip."
    )
    if os.environ.get("RW_REQUIRE_BROWSER") == "1":
        pytest.fail(message, pytrace=False)
    warnings.warn(message, UserWarning, stacklevel=1)
    pytest.skip(message)


@pytest.fixture(scope="session")
def playwright(chromium_executable):
    """The run's one Playwright: its sync API allows only one at a time in a thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def lab_server(chromium_executable, tmp_path_factory):
    """A real ``jupyter lab`` serving copies of ``notebooks/`` and ``solutions/``."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    for folder in FOLDERS:
        source = COURSE_DIR / folder
        if source.is_dir():
            shutil.copytree(
                source, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
            )
    root.mkdir(exist_ok=True)
    with start_lab(root, base) as server:
        yield server


@dataclass
class KernelMessage:
    kernel: str
    channel: str
    msg_type: str
    parent_type: str
    parent_id: str
    content: dict


@dataclass
class Lab:
    """One browser and one JupyterLab page, reused by every notebook."""

    server: LabServer
    context: object
    page: object = None
    console: list[str] = field(default_factory=list)
    messages: list[KernelMessage] = field(default_factory=list)
    closing: dict[str, str] = field(default_factory=dict)  # kernel id -> notebook

    def reap(self, timeout: float = 20.0) -> list[str]:
        """Wait until the kernels of closed notebooks are gone; shut down any that stay."""
        deadline = time.monotonic() + timeout
        while self.closing:
            running = {kernel["id"] for kernel in self.server.api("/api/kernels")}
            self.closing = {k: nb for k, nb in self.closing.items() if k in running}
            if not self.closing or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        leftover = list(self.closing.values())
        for kernel in self.closing:
            self.server.api(f"/api/kernels/{kernel}", method="DELETE")
        self.closing = {}
        return leftover

    def ensure_page(self):
        if self.page is not None:
            return self.page
        page = self.context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))
        page.on("websocket", self._watch)
        self.page = page  # kept even if loading fails: the failure report screenshots it
        # ?reset: start from an empty workspace, never reopen a previous page's notebooks.
        page.goto(f"{self.server.url}/lab?reset&token={self.server.token}")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
        page.evaluate("() => window.jupyterapp.restored")
        return page

    def drop_page(self):
        """Throw the page away (after a failure its state is unknown); the next test loads one."""
        if self.page is not None:
            try:
                self.page.close()
            except Exception:  # noqa: BLE001 - the page may be gone already
                pass
            self.page = None

    def _watch(self, websocket):
        match = re.search(r"/api/kernels/([^/?]+)/channels", websocket.url)
        if match:
            kernel = match.group(1)
            websocket.on("framereceived", lambda payload: self._record(kernel, payload))

    def _record(self, kernel, payload):
        try:
            if isinstance(payload, str):  # the legacy JSON protocol
                msg = json.loads(payload)
                channel, header, parent, content = (
                    msg.get("channel", ""),
                    msg["header"],
                    msg.get("parent_header") or {},
                    msg.get("content") or {},
                )
            else:  # v1.kernel.websocket.jupyter.org, what JupyterLab 4 negotiates
                from jupyter_server.services.kernels.connection.base import (
                    deserialize_msg_from_ws_v1,
                )

                channel, parts = deserialize_msg_from_ws_v1(bytes(payload))
                header, parent, _, content = (json.loads(part) for part in parts[:4])
            self.messages.append(
                KernelMessage(
                    kernel,
                    channel,
                    header.get("msg_type", ""),
                    parent.get("msg_type", ""),
                    parent.get("msg_id", ""),
                    content,
                )
            )
        except Exception as exc:  # noqa: BLE001 - recorded, and the count check notices
            self.console.append(f"[test] could not decode a kernel message: {exc!r}")


@pytest.fixture(scope="session")
def lab(playwright, chromium_executable, lab_server, tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=chromium_executable,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    lab = Lab(lab_server, context)
    try:
        yield lab
    finally:
        lab.reap()
        context.close()


# ---------------------------------------------------------------------------------------
# Reading the page
# ---------------------------------------------------------------------------------------

PANEL_JS = """
function panelFor(path) {
  for (const widget of window.jupyterapp.shell.widgets('main')) {
    if (widget.context && widget.context.path === path) return widget;
  }
  return null;
}
"""

OPENED_JS = (
    "(path) => {"
    + PANEL_JS
    + """
  const panel = panelFor(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle' || kernel.connectionStatus !== 'connected') return null;
  if (window.jupyterapp.shell.currentWidget !== panel) return null;
  return {id: panel.id, kernel: kernel.id};
}"""
)

KERNEL_JS = (
    "(path) => {"
    + PANEL_JS
    + """
  const panel = panelFor(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : 'none';
}"""
)

# The notebook's code cells (with their error outputs when `full`), the prompts the page
# shows for them, the kernel's status, and outputs that failed to display.
STATE_JS = (
    "([path, full]) => {"
    + PANEL_JS
    + """
  const panel = panelFor(path);
  if (!panel) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  const model = panel.content.model.cells;
  for (let i = 0; i < model.length; i++) {
    const cell = model.get(i);
    if (cell.type !== 'code') continue;
    const errors = [];
    for (let j = 0; full && j < cell.outputs.length; j++) {
      const output = cell.outputs.get(j);
      if (output.type !== 'error') continue;
      const json = output.toJSON();
      errors.push(`${json.ename}: ${json.evalue}`);
    }
    cells.push({index: i, source: full ? cell.sharedModel.getSource() : '',
                empty: !cell.sharedModel.getSource().trim(), errors: errors});
  }
  const prompts = Array.from(panel.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))
    .map(node => node.textContent.trim());
  const broken = Array.from(panel.node.querySelectorAll('.jp-OutputArea-output'))
    .map(node => node.textContent.trim())
    .filter(text => text.startsWith('Javascript Error')
                    || text.includes('Error displaying widget'));
  return {
    kernel: kernel ? kernel.status : 'none',
    cells: cells,
    prompts: prompts,
    broken: broken,
  };
}"""
)

# The text line `plots.shown` prints under a figure: the last stdout line in the slider's
# `interact` box (or in its cell, for a slider outside one).
CAPTION_JS = """
(slider) => {
  const scope = slider.closest('.widget-interact') || slider.closest('.jp-Cell');
  const texts = Array.from(
    scope.querySelectorAll('[data-mime-type="application/vnd.jupyter.stdout"]')
  ).map(node => node.textContent);
  const lines = texts.join('\\n').split('\\n').map(line => line.trim()).filter(Boolean);
  return lines.length ? lines[lines.length - 1] : '';
}
"""

# MathJax's verdict on every markdown cell (MathJax 3, CHTML output, as JupyterLab 4 runs
# it): how many cells are rendered, how many formulas are typeset, which cells still show a
# "$" outside typeset maths, and the TeX errors. A parse error is an `mjx-merror` with the
# message in `data-mjx-error` (an output error: a `data-mjx-error` span in an
# `mjx-output-error` container); an undefined macro, which the `noundefined` extension
# prints in red instead, is a red `mtext` starting with a backslash in the container's
# `mjx-assistive-mml` copy. Both copies of an error are in the page: the MathML copy is
# skipped for the first kind, the CHTML copy (glyphs drawn by CSS, no text) for the second.
MATHS_JS = (
    "(path) => {"
    + PANEL_JS
    + """
  const panel = panelFor(path);
  if (!panel) return null;
  const model = panel.content.model.cells;
  let markdown = 0;
  for (let i = 0; i < model.length; i++) if (model.get(i).type === 'markdown') markdown++;
  const nodes = Array.from(panel.node.querySelectorAll('.jp-MarkdownCell'));
  const rendered = nodes.filter(n => n.classList.contains('jp-mod-rendered'));
  const pending = [];
  const errors = [];
  nodes.forEach((cell, k) => {
    const output = cell.querySelector('.jp-RenderedMarkdown');
    if (!output) return;
    const where = (output.textContent || '').trim().slice(0, 50);
    const walker = document.createTreeWalker(output, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      if (text.parentElement.closest('mjx-container, code, pre')) continue;
      if (text.textContent.includes('$')) { pending.push({cell: k, where: where}); break; }
    }
    for (const node of output.querySelectorAll('[data-mjx-error]')) {
      if (node.closest('mjx-assistive-mml')) continue;
      errors.push({cell: k, where: where, error: node.getAttribute('data-mjx-error')});
    }
    for (const node of output.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]')) {
      const text = (node.textContent || '').trim();
      if (text.startsWith('\\\\')) {
        errors.push({cell: k, where: where, error: 'Undefined control sequence ' + text});
      }
    }
  });
  return {markdown: markdown, cells: nodes.length, rendered: rendered.length,
          pending: pending, errors: errors,
          typeset: panel.node.querySelectorAll('.jp-MarkdownCell mjx-container').length};
}"""
)

PROMPT = re.compile(r"^\[(\d+)\]:$")
NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
SLIDER_CALL = re.compile(r"\b\w*Slider\s*\(")


def _numbers(text: str) -> list[tuple[float, float]]:
    """Each number in ``text`` with half a unit of its last shown digit: ``1.26`` -> 0.005."""
    found = []
    for match in NUMBER.finditer(text):
        literal = match.group().replace("\u2212", "-")
        mantissa, _, exponent = literal.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        half_unit = 0.5 * 10.0 ** (int(exponent or 0) - decimals)
        found.append((float(literal), half_unit))
    return found


def _shows(caption: str, readout: str) -> bool:
    """Whether ``caption`` shows every number of ``readout``, each rounded as displayed."""
    wanted = _numbers(readout)
    if not wanted:
        return readout.strip() in caption
    shown = _numbers(caption)
    return all(
        any(abs(value - other) <= max(half, other_half) + 1e-12 for other, other_half in shown)
        for value, half in wanted
    )


def _slider_value(readout, handle) -> str:
    """The slider's readout text, or its handle's aria-valuetext when it shows no readout."""
    if readout.count() and readout.is_visible():
        return (readout.text_content() or "").strip()
    return handle.get_attribute("aria-valuetext") or ""


def _first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return (lines[0][:60] + " ...") if lines else ""


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(traceback: list[str], lines: int = 20) -> str:
    """The last ``lines`` lines of a kernel traceback, without its terminal colours."""
    text = ANSI.sub("", "\n".join(traceback))
    return "\n".join(text.splitlines()[-lines:])


def _code_only(source: str) -> str:
    return "\n".join(line.split("#", 1)[0] for line in source.splitlines())


class NotebookCheck:
    def __init__(self, lab: Lab, notebook: str):
        self.lab, self.notebook = lab, notebook
        self.page = None
        self.first_message = len(lab.messages)
        self.panel_id = self.kernel_id = None
        self.failed = False

    # -- actions ----------------------------------------------------------------------

    def menu(self, menu: str, command: str):
        self.page.locator(
            "#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")
        ).click()
        self.page.locator(f".lm-Menu-item[data-command='{command}']").click()

    def open(self):
        self.page = self.lab.ensure_page()
        self.menu("File", "filebrowser:open-path")
        dialog = self.page.locator(".jp-Dialog")
        dialog.locator("input").fill(self.notebook)
        dialog.locator("input").press("Enter")
        handle = self.page.wait_for_function(
            "(path) => {" + PANEL_JS + "const panel = panelFor(path);"
            " return panel && window.jupyterapp.shell.currentWidget === panel && panel.id; }",
            arg=self.notebook,
        )
        self.panel_id = handle.json_value()
        self.panel = self.page.locator(f"[id='{self.panel_id}']")
        # Clear the stored outputs (and execution counts) while the kernel starts.
        self.panel.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        self.menu("Edit", "editmenu:clear-all")
        self.page.wait_for_function(
            "(id) => Array.from(document.getElementById(id).querySelectorAll("
            "'.jp-CodeCell .jp-InputPrompt')).every(n => n.textContent.trim() === '[ ]:')",
            arg=self.panel_id,
        )
        handle = self.page.wait_for_function(OPENED_JS, arg=self.notebook, timeout=60_000)
        self.kernel_id = handle.json_value()["kernel"]

    def state(self, full: bool = True) -> dict:
        return self.page.evaluate(STATE_JS, [self.notebook, full])

    def kernel_messages(self, msg_type: str) -> list[KernelMessage]:
        return [
            m
            for m in self.lab.messages[self.first_message :]
            if m.kernel == self.kernel_id and m.msg_type == msg_type
        ]

    def kernel_errors(self) -> list[str]:
        """Tracebacks the kernel sent, with the cell (or widget callback) they came from."""
        cells = {
            m.parent_id: m.content.get("execution_count")
            for m in self.kernel_messages("execute_input")
        }
        found = []
        for message in self.kernel_messages("error"):
            content = message.content
            if message.parent_type == "execute_request":
                where = f"cell [{cells.get(message.parent_id, '?')}]"
            else:
                where = f"a widget callback ({message.parent_type})"
            found.append(f"{where}: {content.get('ename')}: {content.get('evalue')}")
        return found

    def run_all(self) -> dict:
        self.menu("Run", "runmenu:run-all")
        deadline = time.monotonic() + RUN_TIMEOUT
        while True:
            state = self.state(full=False)
            assert state is not None, f"{self.notebook} is no longer open in JupyterLab"
            assert state["kernel"] not in ("dead", "autorestarting", "restarting"), (
                f"the kernel of {self.notebook} died (status {state['kernel']!r}) during Run All"
            )
            expected = [not cell["empty"] for cell in state["cells"]]
            prompts = state["prompts"]
            numbered = [bool(PROMPT.match(p)) for p in prompts]
            idle = state["kernel"] == "idle"
            if (
                idle
                and len(prompts) == len(expected)
                and all(n or not e for n, e in zip(numbered, expected, strict=True))
            ):
                return self.state()
            if idle and "[*]:" not in prompts and self.kernel_errors():
                return self.state()  # Run All stopped at an error
            if time.monotonic() > deadline:
                waiting = [
                    f"cell {cell['index'] + 1} shows {prompt}"
                    for cell, prompt, done in zip(state["cells"], prompts, numbered, strict=False)
                    if not done and not cell["empty"]
                ]
                raise AssertionError(
                    f"Run All of {self.notebook} did not finish within {RUN_TIMEOUT:.0f} s "
                    f"(kernel {state['kernel']}); not run: {', '.join(waiting[:10])}"
                )
            self.page.wait_for_timeout(100)

    def close(self):
        """Close the notebook and shut its kernel down; REST does it if the UI could not.

        After a failure the page is thrown away instead (its state is unknown, a dialog may
        be open) and the next notebook gets a fresh one.
        """
        if self.failed:
            self.lab.drop_page()  # leaves the kernel running: shut it down through REST
            server = self.lab.server
            for session in server.api("/api/sessions"):
                if session["path"] == self.notebook:
                    server.api(f"/api/sessions/{session['id']}", method="DELETE")
        elif self.panel_id is not None:
            try:
                self.menu("File", "filemenu:close-and-cleanup")
                dialog = self.page.locator(".jp-Dialog")
                dialog.locator(".jp-mod-accept").click(timeout=10_000)
                dialog.wait_for(state="detached", timeout=10_000)
            except Exception as exc:  # noqa: BLE001 - Lab.reap shuts the kernel down
                self.lab.console.append(f"[test] closing {self.notebook} from the UI: {exc}")
                self.lab.drop_page()
        if self.kernel_id is not None:
            self.lab.closing[self.kernel_id] = self.notebook

    # -- checks -----------------------------------------------------------------------

    def check_no_errors(self, state: dict):
        failing = [cell for cell in state["cells"] if cell["errors"]]
        problems = [
            f"cell {cell['index'] + 1} of the notebook ({_first_line(cell['source'])}) "
            f"has an error output: {error}"
            for cell in failing
            for error in cell["errors"]
        ]
        problems += [f"the kernel reported an error in {error}" for error in self.kernel_errors()]
        problems += [f"an output failed to display: {text[:300]}" for text in state["broken"]]
        if failing:  # for the screenshot
            cells = self.panel.locator(".jp-Notebook .jp-Cell")
            cells.nth(failing[0]["index"]).scroll_into_view_if_needed()
        tracebacks = "".join(
            f"\n\n{_plain(m.content.get('traceback', []))}" for m in self.kernel_messages("error")
        )
        assert not problems, f"{self.notebook} raised:\n  " + "\n  ".join(problems) + tracebacks

        assert len(state["prompts"]) == len(state["cells"]), (
            f"{self.notebook}: {len(state['prompts'])} cell prompts in the page for "
            f"{len(state['cells'])} code cells in the notebook"
        )
        pairs = zip(state["cells"], state["prompts"], strict=True)
        expected, prompts = zip(*[(c, p) for c, p in pairs if not c["empty"]], strict=True)
        counts = [int(m.group(1)) if (m := PROMPT.match(p)) else None for p in prompts]
        unrun = [
            f"cell {cell['index'] + 1} shows {prompt}"
            for cell, prompt, count in zip(expected, prompts, counts, strict=True)
            if count is None
        ]
        assert not unrun, f"{self.notebook}: cells without an execution count: {unrun}"
        assert counts == sorted(counts) and len(set(counts)) == len(counts), (
            f"{self.notebook}: execution counts do not increase down the notebook: {counts}"
        )
        # The kernel watch must have seen the run, or its silence about errors means nothing.
        seen = len(self.kernel_messages("execute_input"))
        assert seen >= len(expected), (
            f"the test decoded {seen} execute_input messages from the kernel for "
            f"{len(expected)} code cells: it cannot watch this kernel for errors"
        )

    def check_maths(self) -> int:
        """MathJax typeset every formula without a TeX error; returns how many it typeset.

        Typesetting is asynchronous: wait until every markdown cell is rendered and either
        no ``$`` is left outside typeset maths or the count of typeset formulas has not
        changed for ``MATHS_SETTLE`` seconds. A ``$`` left then is maths that MathJax never
        saw: JupyterLab found no closing delimiter (``$\\frac{1}{$``: the ``$`` sits inside
        an open brace).
        """
        deadline = time.monotonic() + MATHS_TIMEOUT
        last_count, steady_since = -1, time.monotonic()
        while True:
            maths = self.page.evaluate(MATHS_JS, self.notebook)
            assert maths is not None, f"{self.notebook} is no longer open in JupyterLab"
            now = time.monotonic()
            if maths["typeset"] != last_count:
                last_count, steady_since = maths["typeset"], now
            rendered = maths["cells"] == maths["markdown"] == maths["rendered"]
            if rendered and (not maths["pending"] or now - steady_since > MATHS_SETTLE):
                break
            assert now < deadline, (
                f"{self.notebook}: maths not typeset within {MATHS_TIMEOUT:.0f} s: "
                f"{maths['rendered']} of {maths['markdown']} markdown cells rendered "
                f"({maths['cells']} in the page)"
            )
            self.page.wait_for_timeout(200)
        problems = [
            f"markdown cell {e['cell'] + 1} ({e['where']!r} ...): {e['error']}"
            for e in maths["errors"]
        ]
        problems += [
            f"markdown cell {p['cell'] + 1} ({p['where']!r} ...): a '$' that was never "
            "typeset (an unclosed formula or brace)"
            for p in maths["pending"]
        ]
        assert not problems, f"{self.notebook}: MathJax reports TeX errors:\n  " + "\n  ".join(
            problems
        )
        return maths["typeset"]

    def check_sliders(self, state: dict) -> int:
        page = self.page
        sliders = self.panel.locator(".widget-slider")
        # Each cell renders at least as many sliders as its code creates (`...Slider(`): a
        # notebook whose widgets never render cannot pass with zero sliders checked.
        wanted = {
            cell["index"]: len(SLIDER_CALL.findall(_code_only(cell["source"])))
            for cell in state["cells"]
        }
        wanted = {index: count for index, count in wanted.items() if count}
        deadline = time.monotonic() + SLIDER_TIMEOUT
        while True:
            rendered = self.panel.evaluate(
                """(panel) => Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell'))
                     .map(cell => cell.querySelectorAll('.widget-slider').length)"""
            )
            missing = {
                index: (count, rendered[index] if index < len(rendered) else 0)
                for index, count in wanted.items()
                if index >= len(rendered) or rendered[index] < count
            }
            if not missing:
                break
            assert time.monotonic() < deadline, (
                f"{self.notebook}: sliders did not render; cell: (created, shown) = {missing}"
            )
            page.wait_for_timeout(250)

        for number in range(sliders.count()):
            slider = sliders.nth(number)
            handle = slider.locator(".noUi-handle").first
            handle.scroll_into_view_if_needed()  # off-screen cells are not rendered
            label = (slider.locator(".widget-label").text_content() or "").strip()
            name = f"{self.notebook}: slider {label!r} ({number + 1} of {sliders.count()})"
            readout = slider.locator(".widget-readout")

            before_caption = slider.evaluate(CAPTION_JS)
            assert before_caption, f"{name}: no text line under its figure before moving it"
            before = _slider_value(readout, handle)
            assert before, f"{name}: shows no value (no readout, no aria-valuetext)"
            handle.focus()
            # Each key press is one step and one redraw: press until the readout shows a new
            # value (usually once), or go left when the slider sits at its maximum.
            for key in ["ArrowRight"] * KEY_PRESSES + ["ArrowLeft"] * 2 * KEY_PRESSES:
                handle.press(key)
                if _slider_value(readout, handle) != before:
                    break
            after = _slider_value(readout, handle)
            assert after != before, f"{name}: the keyboard does not move it (readout {before!r})"
            started = time.monotonic()

            # The redraw has had its chance once the kernel has been idle for a while (the
            # figure and its caption reach the page before the kernel reports idle).
            deadline = time.monotonic() + SLIDER_TIMEOUT
            idle_since = None
            while True:
                caption = slider.evaluate(CAPTION_JS)
                errors = self.kernel_errors()
                assert not errors, f"{name}: moving it raised:\n  " + "\n  ".join(errors)
                if caption != before_caption and _shows(caption, after):
                    break
                now = time.monotonic()
                if page.evaluate(KERNEL_JS, self.notebook) != "idle":
                    idle_since = None
                elif idle_since is None:
                    idle_since = now
                if now > deadline or (idle_since is not None and now - idle_since > IDLE_GRACE):
                    problem = (
                        "did not change"
                        if caption == before_caption
                        else f"does not show the new value {after!r}"
                    )
                    raise AssertionError(
                        f"{name}: moved from {before} to {after} with the keyboard, but the "
                        f"text under its figure {problem} (waited {now - started:.1f} s, "
                        f"the kernel idle for the last {now - (idle_since or now):.1f} s):\n"
                        f"  before: {before_caption!r}\n  after:  {caption!r}"
                    )
                page.wait_for_timeout(100)
        return sliders.count()


@pytest.mark.parametrize("notebook", _notebooks())
def test_notebook_runs_and_its_sliders_respond(lab, notebook, tmp_path):
    assert notebook is not None, f"no notebooks in {COURSE_DIR}/{{{','.join(FOLDERS)}}}"
    first_console_line = len(lab.console)
    check = NotebookCheck(lab, notebook)
    started = time.monotonic()
    try:
        check.open()
        opened = time.monotonic()
        state = check.run_all()
        ran = time.monotonic()
        check.check_no_errors(state)
        formulas = check.check_maths()
        sliders = check.check_sliders(state)
        if leftover := lab.reap():
            print(f"kernels still running after their notebook closed, shut down: {leftover}")
        print(
            f"{notebook}: open {opened - started:.1f} s, Run All {ran - opened:.1f} s, "
            f"sliders {time.monotonic() - ran:.1f} s"
        )
        print(
            f"{notebook}: {len(state['cells'])} code cells ran, {formulas} formulas typeset "
            f"without a TeX error, {sliders} sliders respond"
        )
        for message in check.kernel_messages("stream"):
            if message.content.get("name") == "stderr":
                text = message.content.get("text", "").rstrip()
                print(f"  stderr (not an error), from {message.parent_type}: {text}")
    except Exception as exc:
        check.failed = True
        screenshot, console = tmp_path / "screenshot.png", tmp_path / "console.log"
        try:
            lab.page.screenshot(path=str(screenshot), full_page=True)
        except Exception as shot_error:  # noqa: BLE001 - no page, or a crashed one
            screenshot = f"(no screenshot: {shot_error})"
        console.write_text("\n".join(lab.console[first_console_line:]) + "\n")
        raise AssertionError(
            f"{exc}\n\nscreenshot: {screenshot}\nconsole log: {console}\n"
            f"server log: {lab.server.log}"
        ) from exc
    finally:
        check.close()


BAD_MATHS = {
    "an unclosed brace": r"$\frac{1}{$",
    "an unclosed superscript": r"$x^{2$ and $y$",
    "an undefined macro": r"$\notamacro{x}$",
    "a left without a right": r"$$\left( x + y$$",
}


def _scratch_notebook(lab: Lab, path: str, cells: list) -> NotebookCheck:
    """Write a python3 notebook of ``cells`` at ``path`` in the server's root; its check."""
    import nbformat

    target = lab.server.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernel}), target)
    return NotebookCheck(lab, path)


def test_maths_check_can_fail(lab, tmp_path):
    """A notebook with bad maths fails the maths check, one error per bad formula."""
    import nbformat

    cells = [nbformat.v4.new_markdown_cell("Good maths: $\\pi^*(y) = e^{r/\\beta} / Z$.")]
    cells += [nbformat.v4.new_markdown_cell(f"{name}: {tex}") for name, tex in BAD_MATHS.items()]
    cells.append(nbformat.v4.new_code_cell("1 + 1"))
    check = _scratch_notebook(lab, "maths_check/bad_maths.ipynb", cells)
    try:
        check.open()
        with pytest.raises(AssertionError, match="MathJax reports TeX errors") as failure:
            check.check_maths()
        message = str(failure.value)
        print(message)
        for number, name in enumerate(BAD_MATHS, start=2):
            assert f"markdown cell {number} ({name!r}" in message or (
                f"markdown cell {number} ('{name}" in message
            ), f"the check missed {name}: {message}"
        assert "markdown cell 1 " not in message, f"good maths reported as an error: {message}"
    except Exception:
        check.failed = True
        raise
    finally:
        check.close()


# A slider's callback records the thread it runs on. With widget messages on a kernel
# subshell (JupyterLab 4.4+ with ipykernel 7), a callback runs on a thread of its own,
# alongside whatever cell is running, and matplotlib, which is not thread-safe, breaks when
# both draw (a ParseException from mathtext, now and then).
THREADS_CELL = """import threading
import ipywidgets as widgets
threads = []
slider = widgets.IntSlider(description="n")
slider.observe(lambda change: threads.append(threading.current_thread().name), "value")
slider"""

# Runs `code` in the current notebook's kernel, outside any cell; resolves to its stdout.
EXECUTE_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = '';
  const future = kernel.requestExecute({code: code, silent: false, store_history: false});
  future.onIOPub = (msg) => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
  await future.done;
  return out.trim();
}"""


def test_widget_callbacks_run_on_the_kernels_main_thread(lab):
    """A slider's redraw never runs alongside a cell: one kernel thread runs both."""
    import nbformat

    cells = [nbformat.v4.new_code_cell(THREADS_CELL)]
    check = _scratch_notebook(lab, "threads_check/threads.ipynb", cells)
    try:
        check.open()
        check.run_all()
        handle = check.panel.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(KEY_PRESSES):
            handle.press("ArrowRight")
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        seen = "[]"
        while seen == "[]" and time.monotonic() < deadline:
            seen = check.page.evaluate(EXECUTE_JS, "print(sorted(set(threads)))")
            time.sleep(0.2)
        assert seen == "['MainThread']", f"slider callbacks ran on the threads {seen}"
    except Exception:
        check.failed = True
        raise
    finally:
        check.close()


# The other browser checks live in their own modules and are collected here, so that every
# test that drives a browser runs on one worker, one after the other (two browsers and two
# servers at once starve each other on a two-core machine).
from browser_review_page import (  # noqa: E402,F401
    review_lab,
    test_an_untouched_stub_is_flagged_and_pre_scored,
    test_grades_made_on_the_review_page_are_saved_and_shown_after_a_reload,
)
from browser_saved_widgets import (  # noqa: E402,F401
    saved_widgets_lab,
    test_a_trusted_notebook_shows_its_widgets_before_it_is_run,
)
from test_manual_grading import small_source  # noqa: E402,F401 - the review page's fixture
