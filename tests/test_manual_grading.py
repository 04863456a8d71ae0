"""Written answers graded by hand: manual.csv, its merge into every report, review and exports.

Most tests build a graded run from results written here (``write_run``), so they
need no kernel; the end-to-end tests grade a small class of lesson 02 for real:
the answers are recorded, hand grading survives re-runs and ``--force``, a
resubmission turns a grade stale, and ``--student`` / ``--question`` regrade
only what they name.
"""

from __future__ import annotations

import copy
import csv
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rwlib.grading import export
from rwlib.grading.grade import GradingError, Settings, grade
from rwlib.grading.manual import (
    MANUAL_CSV,
    ManualEntry,
    ManualGradesError,
    answer_fingerprint,
    model_answer,
    read_entries,
    rubric,
    save_entry,
    written_question,
)
from rwlib.grading.reports import read_run, write_reports, write_run
from rwlib.grading.results import NotebookResult, QuestionResult
from rwlib.grading.review import ReviewPage, ReviewSession, safe_markdown, write_review_notebook
from rwlib.hosting import SETUP_TAG
from rwlib.release import student_notebook

ROOT = Path(__file__).resolve().parent.parent
NAME = "02_normalization_factor"
AUTO, WRITTEN = "02-z-three-outputs", "02-explain-zero-reward"
RUBRIC = (
    "\n<!-- rubric (steps of 0.5)\n1: every factor is e^0 = 1\n1: so Z = 1 and pi* = pi_ref\n-->"
)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _by(rows, *keys):
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row for row in rows}


# ---------------------------------------------------------------------------------------
# A graded run without kernels
# ---------------------------------------------------------------------------------------


def _result(student: str, answer: str, auto: float = 2.0, untouched=False) -> NotebookResult:
    written = written_question({"id": WRITTEN, "points": 2}, answer, untouched)
    status = "passed" if auto == 2 else "failed"
    return NotebookResult(
        student, NAME, (QuestionResult(AUTO, 2, status, score=auto), written), key=student
    )


@pytest.fixture(scope="module")
def small_source(tmp_path_factory) -> Path:
    """Lesson 02 cut to its setup cell, one question and the written answer, with a rubric."""
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)

    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id", "")

    small = copy.deepcopy(solution)
    setup = next(  # the imports (the cell before them installs rwlib on Colab only)
        c
        for c in solution.cells
        if c.cell_type == "code" and SETUP_TAG not in c.metadata.get("tags", [])
    )
    keep = {AUTO, f"{AUTO}-answer", WRITTEN}
    small.cells = [setup] + [copy.deepcopy(c) for c in solution.cells if grade_id(c) in keep]
    (written,) = [c for c in small.cells if grade_id(c) == WRITTEN]
    written.source = model_answer(written.source) + RUBRIC  # a rubric in steps of 0.5
    folder = tmp_path_factory.mktemp("source")
    nbformat.write(small, folder / f"{NAME}.ipynb")
    return folder


@pytest.fixture
def run(tmp_path, small_source) -> Path:
    """GRADES of a run: ann wrote an answer, ben left the stub, cat wrote one too."""
    out = tmp_path / "grades"
    results = [
        _result("ann", "Every factor is $e^0 = 1$, so $Z = 1$."),
        _result("ben", "YOUR ANSWER HERE", auto=0, untouched=True),
        _result("cat", "Because $Z$ is a sum of probabilities."),
    ]
    write_run(out, results, small_source)
    write_reports(out, results)
    return out


def _entry(student, points, answer_text=None, comment="", question=WRITTEN):
    fingerprint = answer_fingerprint(answer_text) if answer_text is not None else ""
    return ManualEntry(student, NAME, question, points, comment, "prof", "2026-12-01", fingerprint)


def test_written_answers_are_to_grade_and_untouched_stubs_pre_scored_zero(run):
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert grades["ann", WRITTEN]["status"] == "to grade" and grades["ann", WRITTEN]["points"] == ""
    assert (
        grades["ben", WRITTEN]["status"] == "unanswered" and grades["ben", WRITTEN]["points"] == "0"
    )
    feedback = (run / "feedback" / "ben" / f"{NAME}.md").read_text()
    assert f"| {WRITTEN} | 0 / 2 | unanswered | not answered: the cell still holds YOUR" in feedback


def test_the_gradebook_maximum_includes_the_written_points(run):
    book = _by(_rows(run / "gradebook.csv"), "student")
    assert book["ann"][f"{NAME}: max"] == book["ann"]["max"] == "4"  # 2 auto-graded + 2 written
    assert book["ann"]["to grade"] == "1" and book["ben"]["to grade"] == "0"
    assert book["ann"]["auto"] == "2" and book["ann"]["written"] == "0"


def test_hand_grading_appears_in_every_report_and_counts_once(run):
    save_entry(run, _entry("ann", 1.5, "Every factor is $e^0 = 1$, so $Z = 1$.", "half a step"))
    save_entry(run, _entry("cat", 0, "Because $Z$ is a sum of probabilities."))
    results, _ = read_run(run)
    for _ in range(2):  # a re-run of the reports: the points are merged, never added again
        write_reports(run, results)
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert (grades["ann", WRITTEN]["points"], grades["ann", WRITTEN]["status"]) == (
        "1.5",
        "graded by hand",
    )
    book = _by(_rows(run / "gradebook.csv"), "student")
    assert (book["ann"]["written"], book["ann"]["total"], book["ann"]["to grade"]) == (
        "1.5",
        "3.5",
        "0",
    )
    for student, row in book.items():
        mine = [g for g in grades.values() if g["student"] == student and g["points"]]
        assert float(row["total"]) == sum(float(g["points"]) for g in mine)
    assert "half a step" in (run / "feedback" / "ann" / f"{NAME}.md").read_text()
    assert "half a step" in (run / "feedback" / "ann.html").read_text()


def test_a_changed_answer_keeps_its_grade_but_stale_and_not_counted(run, small_source):
    save_entry(run, _entry("cat", 2, "an answer cat wrote before resubmitting"))
    results, _ = read_run(run)
    write_reports(run, results)
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert grades["cat", WRITTEN]["status"] == "stale" and grades["cat", WRITTEN]["points"] == ""
    book = _by(_rows(run / "gradebook.csv"), "student")
    assert book["cat"]["written"] == "0" and book["cat"]["to grade"] == "1"
    assert read_entries(run)["cat", NAME, WRITTEN].points == 2  # kept
    session = ReviewSession(run, grader="prof")
    (question,) = session.questions
    first = session.answers(question)[0]
    assert (first.student, first.status) == ("cat", "stale")
    session.save(first, 2, "confirmed")
    write_reports(run, results)
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert (grades["cat", WRITTEN]["status"], grades["cat", WRITTEN]["points"]) == (
        "graded by hand",
        "2",
    )


def test_a_spreadsheet_row_without_a_fingerprint_grades_whatever_was_written(run):
    (run / MANUAL_CSV).write_text(
        "\ufeffstudent,notebook,question,points,comment,my notes\n"
        f"ann,{NAME},{WRITTEN},2,good,keep this column\n"
        f"cat,{NAME},{WRITTEN},,,\n",
        encoding="utf-8",
    )
    results, _ = read_run(run)
    write_reports(run, results)
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert grades["ann", WRITTEN]["status"] == "graded by hand"
    assert grades["cat", WRITTEN]["status"] == "to grade"  # blank points: not graded yet
    save_entry(run, _entry("cat", 1, "Because $Z$ is a sum of probabilities."))
    rows = _rows(run / MANUAL_CSV)
    assert rows[0]["my notes"] == "keep this column" and len(rows) == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (f"student,notebook,question,points\nann,{NAME},{WRITTEN},two\n", "'two' is not a number"),
        (f"student,notebook,question,points\nann,,{WRITTEN},1\n", "must all be filled in"),
        ("student,notebook,points\nann,x,1\n", "no question column"),
    ],
)
def test_a_broken_manual_csv_is_named_with_its_row(tmp_path, text, problem):
    (tmp_path / MANUAL_CSV).write_text(text)
    with pytest.raises(ManualGradesError, match=problem):
        read_entries(tmp_path)


def test_points_outside_the_range_are_not_counted(run):
    save_entry(run, _entry("ann", 5, "Every factor is $e^0 = 1$, so $Z = 1$."))
    results, _ = read_run(run)
    write_reports(run, results)
    grades = _by(_rows(run / "grades.csv"), "student", "question")
    assert grades["ann", WRITTEN]["status"] == "to grade" and grades["ann", WRITTEN]["points"] == ""


def _save_forever(out: str, started) -> None:
    index = 0
    started.set()
    while True:
        index += 1
        save_entry(Path(out), _entry(f"s{index % 50}", index % 3, f"answer {index}", "x" * 2000))


def test_a_kill_in_the_middle_of_a_save_leaves_manual_csv_whole(tmp_path):
    for student in range(50):
        save_entry(tmp_path, _entry(f"s{student}", 1, "first"))
    context = multiprocessing.get_context("fork")
    for delay in (0.05, 0.13, 0.21, 0.37):
        started = context.Event()
        process = context.Process(target=_save_forever, args=(str(tmp_path), started))
        process.start()
        started.wait(10)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        entries = read_entries(tmp_path)  # parses: the old file or the new one
        assert len(entries) == 50
        assert all(e.comment in ("", "x" * 2000) for e in entries.values())


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    from rwlib.grading import files

    save_entry(tmp_path, _entry("ann", 1, "a"))
    before = (tmp_path / MANUAL_CSV).read_bytes()

    class Full:
        def __init__(self, *args, **kwargs):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.tempfile, "NamedTemporaryFile", Full)
    with pytest.raises(OSError):
        save_entry(tmp_path, _entry("ann", 2, "a"))
    assert (tmp_path / MANUAL_CSV).read_bytes() == before


# ---------------------------------------------------------------------------------------
# The review page's logic (the browser test drives its widgets)
# ---------------------------------------------------------------------------------------


def test_review_orders_stale_first_and_stubs_last_with_progress(run):
    save_entry(run, _entry("ann", 2, "Every factor is $e^0 = 1$, so $Z = 1$."))
    session = ReviewSession(run, grader="prof")
    (question,) = session.questions
    assert question.rubric.step == 0.5 and question.rubric.total == question.points == 2
    assert "<!--" not in question.model and question.model
    assert [(a.student, a.status) for a in session.answers(question)] == [
        ("cat", "to grade"),
        ("ann", "graded by hand"),
        ("ben", "unanswered"),
    ]
    assert session.progress(question) == "2 of 3 graded; 1 untouched stub(s) pre-scored 0"


def test_review_page_saves_each_entry_as_it_is_made(run):
    page = ReviewPage(ReviewSession(run, grader="prof"))
    assert page.points.options == ("not graded", "0", "0.5", "1", "1.5", "2")
    assert page.current.student == "ann"  # to grade, by name; then cat, then ben's stub
    page.points.value = "1.5"
    assert read_entries(run)["ann", NAME, WRITTEN].points == 1.5
    page.comment.value = "say why Z = 1"
    entry = read_entries(run)["ann", NAME, WRITTEN]
    assert (entry.points, entry.comment, entry.grader) == (1.5, "say why Z = 1", "prof")
    page.move(+1)
    assert page.current.student == "cat" and page.points.value == "not graded"
    page.only_waiting.value = True
    assert [a.student for a in page.answers] == ["cat"]  # ann is graded, ben pre-scored


def test_review_shows_names_from_the_roster_or_none(run, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name\nann,Ann Lee\nben,Ben Ode\ncat,Cat Li\n")
    named = ReviewSession(run, roster=roster)
    shown = [a.shown_as for a in named.answers(named.questions[0])]
    assert "Ann Lee (ann)" in shown
    blind = ReviewSession(run, roster=roster, anonymous=True)
    shown = [a.shown_as for a in blind.answers(blind.questions[0])]
    assert not any(name in s for s in shown for name in ("ann", "ben", "cat", "Lee", "Ode"))
    assert len(set(shown)) == 3


@pytest.mark.parametrize(
    "hostile",
    [
        '<img src=x onerror="alert(1)">',
        "<script>alert(1)</script>",
        "[click me](javascript:alert(1))",
        "[click me](JaVaScRiPt :alert(1))",
        "![tracker](https://example.com/pixel.png)",
        "<a href='data:text/html,<script>alert(1)</script>'>x</a>",
        "$\\href{javascript:alert(1)}{x}$",
    ],
)
def test_a_hostile_answer_is_rendered_as_text(hostile):
    safe = safe_markdown(hostile)
    assert "<" not in safe and "javascript:" not in safe.lower().replace(" ", "")
    assert "![" not in safe and "\\href" not in safe.replace("\\backslash href", "")


def test_the_review_notebook_runs(run):
    from nbclient import NotebookClient

    path = write_review_notebook(run, grader="prof")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=60, resources={"metadata": {"path": str(run)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_review_without_a_graded_run_says_what_to_do(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rwlib", "review", str(tmp_path), "--no-lab"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "run rwlib grade" in done.stderr


def test_the_rubric_of_a_solution_is_parsed_and_hidden_from_the_model_answer():
    text = "Model answer.\n<!-- rubric (steps of 0.5)\n1.5: first idea\n0.5: second\n-->\n"
    found = rubric(text)
    assert found.criteria == ((1.5, "first idea"), (0.5, "second")) and found.step == 0.5
    assert rubric("no rubric here").criteria == ()


def test_every_written_question_of_the_course_has_a_rubric_that_adds_up():
    """The review page shows each question's rubric; its points add up to the question's."""
    problems = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "markdown" or not meta.get("grade") or not meta.get("points"):
                continue
            found = rubric(cell.source)
            points = meta["points"]
            if (
                found.total != points
                or abs(points / found.step - round(points / found.step)) > 1e-9
            ):
                problems.append(f"{path.name} {meta['grade_id']}: {found} for {points} points")
    assert not problems, problems


# ---------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------


@pytest.fixture
def roster(tmp_path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(
        "student,name,email,lms_id,sis_user_id,sis_login_id,section\n"
        'ann,"Lee, Ann",ann@example.edu,101,S-1,alee,Section 1\n'
        "ben,Ben Ode,ben@example.edu,102,S-2,bode,Section 1\n"
        "cat,Cat Li,cat@example.edu,103,S-3,cli,Section 2\n"
        "dan,Dan Roe,dan@example.edu,104,S-4,droe,Section 2\n"
    )
    return path


def test_canvas_export_has_canvas_columns_and_a_row_for_a_student_who_submitted_nothing(
    run, roster
):
    save_entry(run, _entry("ann", 2, "Every factor is $e^0 = 1$, so $Z = 1$."))
    rows = list(csv.reader(io.StringIO(export.canvas(run, roster))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", NAME]
    assert rows[1] == ["Points Possible", "", "", "", "", "4"]
    by_name = {row[0]: row for row in rows[2:]}
    assert by_name["Lee, Ann"] == ["Lee, Ann", "101", "S-1", "alee", "Section 1", "4"]
    assert by_name["Dan Roe"] == ["Dan Roe", "104", "S-4", "droe", "Section 2", "0"]
    assert by_name["Cat Li"][-1] == "2"  # auto 2; the written answer is not graded yet
    assert export.waiting(run) == 1


def test_canvas_export_with_one_total_column_refuses_a_notebook_id(run, roster):
    with pytest.raises(export.ExportError, match="names 02_normalization_factor"):
        export.canvas(run, roster, total="Course notebooks", assignment_ids={NAME: "9"})


def test_canvas_export_total_column(run, roster):
    text = export.canvas(
        run, roster, total="Course notebooks", assignment_ids={"Course notebooks": "9"}
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-1] == "Course notebooks (9)" and rows[1][-1] == "4"
    with pytest.raises(export.ExportError, match="not a graded notebook"):
        export.canvas(run, roster, assignment_ids={"03_nothing": "9"})


def test_canvas_export_refuses_to_drop_a_graded_student_missing_from_the_roster(run, tmp_path):
    roster = tmp_path / "two.csv"
    roster.write_text("student,lms_id\nann,1\nben,2\n")
    with pytest.raises(
        export.ExportError, match=r"1 graded students are not in the roster \(cat\)"
    ):
        export.canvas(run, roster)


def test_canvas_export_needs_an_id_canvas_can_match(run, tmp_path):
    roster = tmp_path / "names_only.csv"
    roster.write_text("student,name\nann,Ann Lee\nben,Ben Ode\ncat,Cat Li\n")
    with pytest.raises(export.ExportError, match="lms_id, sis_user_id or sis_login_id"):
        export.canvas(run, roster)


def test_wide_export_lists_every_question_and_total(run, roster):
    rows = _by(list(csv.DictReader(io.StringIO(export.wide(run, roster)))), "student")
    assert list(rows) == ["ann", "ben", "cat", "dan"]  # the roster's order, dan included
    assert rows["ann"][f"{NAME}: {WRITTEN}"] == "" and rows["ann"][f"{NAME}: {AUTO}"] == "2"
    assert rows["dan"]["max"] == "4" and rows["dan"]["total"] == "0"


def test_export_cli_writes_the_file_and_warns_about_answers_to_grade(run, roster, tmp_path):
    target = tmp_path / "canvas.csv"
    command = [sys.executable, "-m", "rwlib", "export", "canvas", str(run), "--roster", str(roster)]
    done = subprocess.run([*command, "--out", str(target)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "not graded yet" in done.stderr and target.read_text().startswith("Student,ID")
    done = subprocess.run(
        [sys.executable, "-m", "rwlib", "export", "canvas", str(run), "--out", str(target)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "needs --roster" in done.stderr


def test_feedback_html_is_self_contained_and_escapes_what_students_and_graders_wrote(run):
    save_entry(
        run, _entry("ann", 1, "Every factor is $e^0 = 1$, so $Z = 1$.", "<script>x</script>")
    )
    results, _ = read_run(run)
    write_reports(run, results)
    page = (run / "feedback" / "ann.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "&lt;script&gt;" in page
    assert "<script" not in page and "http" not in page and "src=" not in page
    assert "1 / 2" in page and "2 / 2" in page


# ---------------------------------------------------------------------------------------
# End to end: rwlib grade with hand grading
# ---------------------------------------------------------------------------------------


def _class(folder: Path, source: Path, answers: dict) -> None:
    """Submissions of the small lesson 02: {student: written answer, or None for the stub}."""
    solution = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    blank = student_notebook(solution, NAME)
    for student, answer in answers.items():
        notebook = copy.deepcopy(solution if answer is not None else blank)
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN and answer:
                cell.source = answer
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, folder / student / f"{NAME}.ipynb")


@pytest.mark.grader
def test_hand_grading_survives_a_rerun_force_and_a_resubmission(tmp_path, small_source):
    subs, out = tmp_path / "submissions", tmp_path / "grades"
    settings = Settings(source=small_source, workers=2)
    _class(subs, small_source, {"ann": "Each factor is $e^0 = 1$.", "ben": None})
    grade(subs, out, settings, progress=False)
    session = ReviewSession(out, grader="prof")
    (answer,) = [a for a in session.answers(session.questions[0]) if a.student == "ann"]
    assert answer.text == "Each factor is $e^0 = 1$."
    session.save(answer, 2, "good")
    manual = (out / MANUAL_CSV).read_bytes()
    _class(subs, small_source, {"cat": "A late answer."})  # a late submission arrives
    grade(subs, out, settings, progress=False)
    grade(subs, out, settings, progress=False, force=True)
    assert (out / MANUAL_CSV).read_bytes() == manual  # rwlib grade never writes it
    grades = _by(_rows(out / "grades.csv"), "student", "question")
    assert (grades["ann", WRITTEN]["points"], grades["ann", WRITTEN]["status"]) == (
        "2",
        "graded by hand",
    )
    assert grades["ben", WRITTEN]["status"] == "unanswered"
    assert grades["cat", WRITTEN]["status"] == "to grade"
    book = _by(_rows(out / "gradebook.csv"), "student")
    assert book["ann"]["total"] == book["ann"]["max"] == "4"
    _class(subs, small_source, {"ann": "I changed my mind."})  # ann resubmits
    grade(subs, out, settings, progress=False)
    grades = _by(_rows(out / "grades.csv"), "student", "question")
    assert grades["ann", WRITTEN]["status"] == "stale" and grades["ann", WRITTEN]["points"] == ""
    session = ReviewSession(out)
    assert session.answers(session.questions[0])[0].student == "ann"


@pytest.mark.grader
def test_regrade_one_student_or_one_question(tmp_path, small_source):
    subs, out = tmp_path / "submissions", tmp_path / "grades"
    settings = Settings(source=small_source, workers=2)
    _class(subs, small_source, {"ann": "a", "ben": "b"})
    grade(subs, out, settings, progress=False)
    first = {r.student: r.run for r in read_run(out)[0]}
    grade(subs, out, settings, progress=False, students=("ben",))
    second = {r.student: r.run for r in read_run(out)[0]}
    assert second["ann"] == first["ann"] and second["ben"] != first["ben"]
    grade(subs, out, settings, progress=False, question=AUTO)
    third = {r.student: r.run for r in read_run(out)[0]}
    assert third["ann"] != second["ann"] and third["ben"] != second["ben"]
    with pytest.raises(GradingError, match="no submission of that student"):
        grade(subs, out, settings, progress=False, students=("zed",))
    with pytest.raises(GradingError, match="graded by hand"):
        grade(subs, out, settings, progress=False, question=WRITTEN)
    with pytest.raises(GradingError, match="no auto-graded question"):
        grade(subs, out, settings, progress=False, question="02-nothing")
