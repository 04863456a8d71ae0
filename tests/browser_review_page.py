"""``rwlib review``'s page in a real JupyterLab in Chromium, used as an instructor uses it.

A graded run of four students (three written answers and one untouched stub) is
put in a GRADES folder; the page is opened from ``review.ipynb`` and run. Three
answers are graded by clicking points and typing a comment, one of them is
changed, and the page is reloaded: all three grades are shown again and
``manual.csv`` holds them. Then one student resubmits a different answer: after
a reload it is the first answer shown, flagged stale.

Collected in ``test_browser.py``, whose fixtures give the browser (and the skip,
or the failure with ``RW_REQUIRE_BROWSER=1``, without Chromium).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_support import served
from test_manual_grading import _result

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


@pytest.fixture
def review_lab(playwright, chromium_executable, small_source, tmp_path):
    """JupyterLab serving a GRADES folder with its review.ipynb, and a Chromium page on it."""
    grades = tmp_path / "course" / "grades"
    _grades(grades, small_source, ANSWERS)
    write_review_notebook(grades, grader="prof")
    with served(grades.parent, tmp_path, playwright, chromium_executable) as (page, server):
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
