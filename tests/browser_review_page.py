"""``rwlib review``'s page in a real JupyterLab in Chromium, used as an instructor uses it.

A graded run of four students (three written answers and one untouched stub) is
put in a GRADES folder; the page is opened from ``review.ipynb`` and run. Three
answers are graded by clicking points and typing a comment, one of them is
changed, and the page is reloaded: all three grades are shown again and
``manual.csv`` holds them. Then one student resubmits a different answer: after
a reload it is the first answer shown, flagged stale.

The browser, the server and the skip (or failure, with ``RW_REQUIRE_BROWSER=1``)
without Chromium are those of ``test_browser.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest
from test_browser import (
    CHROMIUM_ARGS,
    SERVER_TIMEOUT,
    SETTINGS_OVERRIDES,
    LabServer,
    _free_port,
    _stop,
    chromium_executable,  # noqa: F401 - the fixture
)
from test_manual_grading import NAME, WRITTEN, _result, small_source  # noqa: F401 - fixture

from rwlib.grading.manual import read_entries
from rwlib.grading.reports import write_reports, write_run
from rwlib.grading.review import write_review_notebook

ANSWERS = {
    "ann": "Each factor is $e^{0/\\beta} = 1$.",
    "cat": "The weights are the reference: $\\sum_y \\pi_\\mathrm{ref}(y) = 1$.",
    "dan": "**No reward**, no reweighting.",
}


def _grades(folder: Path, source: Path, answers: dict) -> None:
    results = [_result(s, text) for s, text in answers.items()]
    results.append(_result("ben", "YOUR ANSWER HERE", auto=0, untouched=True))
    write_run(folder, results, source)
    write_reports(folder, results)


@contextlib.contextmanager
def served(root: Path, work: Path, chromium: str):
    """JupyterLab serving ``root`` (its data folder ``work/data``) and a Chromium page: yields both.

    On a failure inside, a screenshot is saved as ``work/failure.png``.
    """
    from playwright.sync_api import sync_playwright

    config = work / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "default_setting_overrides.json").write_text(
        json.dumps(SETTINGS_OVERRIDES)
    )
    port, token = _free_port(), secrets.token_hex(24)
    env = dict(
        os.environ,
        JUPYTER_TOKEN=token,
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(work / "data"),
        JUPYTER_RUNTIME_DIR=str(work / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
    )
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
    command += [f"--port={port}", "--ServerApp.port_retries=0"]
    command += [f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = work / "jupyter-lab.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log, process)
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        while True:
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start:\n{server.log_tail()}") from None
                time.sleep(0.25)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            try:
                yield page, server
            except Exception:
                page.screenshot(path=str(work / "failure.png"))
                raise
            finally:
                browser.close()
    finally:
        _stop(process)


@pytest.fixture
def review_lab(chromium_executable, small_source, tmp_path):  # noqa: F811
    """JupyterLab serving a GRADES folder with its review.ipynb, and a Chromium page on it."""
    grades = tmp_path / "course" / "grades"
    _grades(grades, small_source, ANSWERS)
    write_review_notebook(grades, grader="prof")
    with served(grades.parent, tmp_path, chromium_executable) as (page, server):
        yield page, server, grades, small_source


def _open(page, server) -> None:
    """Open review.ipynb, run it, and wait for the page's first answer."""
    page.goto(f"{server.url}/lab/tree/grades/review.ipynb?reset&token={server.token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell")
    page.evaluate("() => window.jupyterapp.restored")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const s = w && w.sessionContext && w.sessionContext.session;"
        " return s && s.kernel && s.kernel.status === 'idle'; }"
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".rw-review-position:has-text('answer 1 of')")


def _position(page) -> str:
    return page.inner_text(".rw-review-position")


def _choose(page, points: str) -> None:
    page.locator(".rw-review-points button", has_text=points).first.click()
    page.wait_for_selector(f".rw-review-saved:has-text('{points} points')")


def _active_points(page) -> str:
    return page.inner_text(".rw-review-points button.mod-active")


def _wait_for_entries(grades: Path, expected: dict, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = {k[0]: (e.points, e.comment) for k, e in read_entries(grades).items()}
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_grades_made_on_the_review_page_are_saved_and_shown_after_a_reload(review_lab):
    page, server, grades, source = review_lab
    _open(page, server)
    assert "answer 1 of 4" in _position(page) and "ann" in _position(page)
    assert page.inner_text(".rw-review-progress").startswith("1 of 4 graded")
    assert page.locator(".rw-review-answer .MathJax, .rw-review-answer mjx-container").count()
    _choose(page, "2")
    comment = page.locator(".rw-review-comment textarea")
    comment.fill("clear and complete")
    comment.press("Tab")  # the comment is saved when the box loses focus
    page.wait_for_selector(".rw-review-saved:has-text('2 points')")
    page.click(".rw-review-next")
    page.wait_for_selector(".rw-review-position:has-text('cat')")
    _choose(page, "1")
    page.click(".rw-review-next")
    page.wait_for_selector(".rw-review-position:has-text('dan')")
    _choose(page, "0.5")
    page.click(".rw-review-previous")
    page.wait_for_selector(".rw-review-position:has-text('cat')")
    _choose(page, "1.5")  # a grade changed
    expected = {"ann": (2.0, "clear and complete"), "cat": (1.5, ""), "dan": (0.5, "")}
    assert _wait_for_entries(grades, expected) == expected
    assert page.inner_text(".rw-review-progress").startswith("4 of 4 graded")

    page.reload()
    _open(page, server)
    assert "ann" in _position(page) and _active_points(page) == "2"
    assert page.locator(".rw-review-comment textarea").input_value() == "clear and complete"
    page.click(".rw-review-next")
    page.wait_for_selector(".rw-review-position:has-text('cat')")
    assert _active_points(page) == "1.5"
    page.click(".rw-review-next")
    page.wait_for_selector(".rw-review-position:has-text('dan')")
    assert _active_points(page) == "0.5"
    assert _wait_for_entries(grades, expected) == expected
    page.screenshot(path=str(grades / "review-graded.png"))

    # cat resubmits a different answer: the next run's results hold it
    _grades(grades, source, {**ANSWERS, "cat": "A different answer, after the deadline."})
    page.reload()
    _open(page, server)
    assert "cat" in _position(page), "the stale answer is shown first"
    assert "stale" in page.inner_text(".rw-review-flag")
    assert _active_points(page) == "not graded"  # the old 1.5 is shown in the flag, not counted
    assert "1.5 points" in page.inner_text(".rw-review-flag")
    page.screenshot(path=str(grades / "review-stale.png"))
    _choose(page, "1.5")  # confirmed for the new answer
    grades_csv = (grades / "manual.csv").read_text()
    assert grades_csv.count("\ncat,") == 1


def test_an_untouched_stub_is_flagged_and_pre_scored(review_lab):
    page, server, grades, _ = review_lab
    _open(page, server)
    for _ in range(3):
        page.click(".rw-review-next")
    page.wait_for_selector(".rw-review-position:has-text('ben')")
    assert "untouched stub" in page.inner_text(".rw-review-flag")
    assert "pre-scored 0" in page.inner_text(".rw-review-flag")
    assert "YOUR ANSWER HERE" not in page.inner_text(".rw-review-answer")
