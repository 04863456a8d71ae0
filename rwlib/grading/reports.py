"""The reports of ``rwlib grade``, all made from :class:`~rwlib.grading.results.NotebookResult`.

Every report includes the hand grading of ``GRADES/manual.csv`` (merged by
:func:`rwlib.grading.manual.merged`; the results stored in ``GRADES/.work`` never
hold it, so nothing counts twice):

- ``grades.csv``: one row per student, notebook and question;
- ``gradebook.csv``: one row per student: per notebook the auto-graded points,
  the written points, their total, the maximum (written questions included) and
  the written answers still to grade; then the same over all notebooks;
- ``feedback/<student>/<notebook>.md`` and ``feedback/<student>.html`` (one
  self-contained page for all notebooks): what a student gets back;
- ``.work/run.json``: the results of the last run, which ``rwlib review`` and
  ``rwlib export`` read.

Every file is written atomically (:func:`~rwlib.grading.files.write_atomically`),
so a crash or a full disk never leaves half a report.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from rwlib.grading.files import csv_text, write_atomically
from rwlib.grading.manual import merged, read_entries
from rwlib.grading.results import NotebookResult

RUN_JSON = Path(".work") / "run.json"
GRADES_FIELDS = ["student", "notebook", "question", "points", "max_points", "status"]
TOTALS = ("auto", "written", "total", "max", "to grade")


def _points(question) -> str:
    """A question's points as the reports show them: blank while a written answer waits."""
    return "" if question.waiting else f"{question.score:g}"


def _rows(result: NotebookResult) -> list[dict]:
    return [
        {
            "student": result.student,
            "notebook": result.notebook,
            "question": q.id,
            "points": _points(q),
            "max_points": f"{q.points:g}",
            "status": q.status,
        }
        for q in result.questions
    ]


def totals(result: NotebookResult) -> dict[str, float]:
    """A graded notebook's auto-graded, written and total points, maximum and answers to grade."""
    return {
        "auto": result.score,
        "written": result.written_score,
        "total": round(result.score + result.written_score, 6),
        "max": result.max_score + result.written_max,
        "to grade": result.to_grade,
    }


def gradebook_rows(results: list[NotebookResult]) -> tuple[list[dict], list[str]]:
    """One row per student (per notebook and over all, the :data:`TOTALS`), and the header."""
    notebooks = sorted({r.notebook for r in results})
    book: dict[str, dict] = {}
    for result in sorted(results, key=lambda r: (r.student, r.notebook)):
        entry = book.setdefault(result.student, {"student": result.student})
        for name, value in totals(result).items():
            entry[f"{result.notebook}: {name}"] = f"{value:g}"
            entry[name] = round(entry.get(name, 0) + value, 6)
    for entry in book.values():
        entry.update({name: f"{entry.get(name, 0):g}" for name in TOTALS})
    fields = ["student", *(f"{nb}: {name}" for nb in notebooks for name in TOTALS), *TOTALS]
    return list(book.values()), fields


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:400]


def _shown(question) -> str:
    if question.waiting:
        return f"– / {question.points:g}"
    return f"{question.score:g} / {question.points:g}"


def feedback(result: NotebookResult) -> str:
    """A student's feedback on one notebook: every question, its points and what went wrong."""
    total = totals(result)
    lines = [f"# {result.notebook}: feedback for {result.student}", ""]
    lines += [f"Points: **{total['total']:g} of {total['max']:g}**", ""]
    if result.to_grade:
        lines += [f"{result.to_grade} written answer(s) are not graded yet.", ""]
    lines += ["| question | points | status | what happened |", "|---|---:|---|---|"]
    for q in result.questions:
        lines.append(f"| {q.id} | {_shown(q)} | {q.status} | {_cell(q.message)} |")
    parted = [q for q in result.questions if len(q.cases) > 1]
    for q in parted:
        lines += ["", f"{q.id}, case by case:", ""]
        for case in q.cases:
            mark = "passed" if case.passed else "failed"
            lines.append(f"- {case.name} ({case.share:g} share): {mark}")
    if result.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in result.notes]
    lines += ["", FOOTER, ""]
    return "\n".join(lines)


FOOTER = (
    "Each question is graded by its check cell and by hidden tests. A hidden test is named "
    "here, but its inputs and expected values are not shown. Written answers are graded by "
    'hand; the comment under "what happened" is the instructor\'s.'
)

STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #1a1a1a; background: #fff; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #767676; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.points { text-align: right; white-space: nowrap; }
caption { text-align: left; font-weight: bold; }
"""


def feedback_html(student: str, results: list[NotebookResult]) -> str:
    """One self-contained HTML page of a student's feedback on every notebook (no links out)."""
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback for {escape(student)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Feedback for {escape(student)}</h1>",
    ]
    if len(results) > 1:
        earned = sum(totals(r)["total"] for r in results)
        possible = sum(totals(r)["max"] for r in results)
        parts.append(f"<p>All notebooks: <strong>{earned:g} of {possible:g}</strong> points</p>")
    for result in sorted(results, key=lambda r: r.notebook):
        total = totals(result)
        parts.append(f"<h2>{escape(result.notebook)}</h2>")
        waiting = f"; {result.to_grade} written answer(s) not graded yet" if result.to_grade else ""
        points = f"{total['total']:g} of {total['max']:g}"
        parts.append(f"<p>Points: <strong>{points}</strong>{waiting}</p>")
        parts.append(
            '<table><thead><tr><th scope="col">question</th><th scope="col">points</th>'
            '<th scope="col">status</th><th scope="col">what happened</th></tr></thead><tbody>'
        )
        for q in result.questions:
            message = escape(q.message).replace("\n", "<br>")
            marks = [(c, "passed" if c.passed else "failed") for c in q.cases]
            cases = "".join(
                f"<li>{escape(c.name)} ({c.share:g} share): {mark}</li>"
                for c, mark in marks
                if len(marks) > 1
            )
            if cases:
                message += f"<ul>{cases}</ul>"
            parts.append(
                f'<tr><td>{escape(q.id)}</td><td class="points">{escape(_shown(q))}</td>'
                f"<td>{escape(q.status)}</td><td>{message}</td></tr>"
            )
        parts.append("</tbody></table>")
        if result.notes:
            notes = "".join(f"<li>{escape(note)}</li>" for note in result.notes)
            parts.append(f"<p>Notes:</p><ul>{notes}</ul>")
    parts += [f"<p>{escape(FOOTER)}</p>", "</body></html>", ""]
    return "\n".join(parts)


def write_run(out: Path, results: list[NotebookResult], source: Path) -> None:
    """``.work/run.json``: the last run's results (without hand grading) and its source folder."""
    data = {"source": str(Path(source).resolve()), "results": [r.to_dict() for r in results]}
    write_atomically(Path(out) / RUN_JSON, json.dumps(data))


def read_run(out: Path) -> tuple[list[NotebookResult], Path]:
    """The results and source folder that :func:`write_run` wrote; FileNotFoundError without."""
    path = Path(out) / RUN_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"{out} holds no graded run ({RUN_JSON} is missing); run rwlib grade SUBMISSIONS "
            f"--out {out} first"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    return [NotebookResult.from_dict(r) for r in data["results"]], Path(data["source"])


def with_hand_grading(out: Path, results: list[NotebookResult]) -> list[NotebookResult]:
    """The results with ``GRADES/manual.csv``'s points merged in, sorted by student and notebook."""
    entries = read_entries(out)
    ordered = sorted(results, key=lambda r: (r.student, r.notebook))
    return [merged(result, entries) for result in ordered]


def write_reports(out: Path, results: list[NotebookResult]) -> None:
    """grades.csv, gradebook.csv and the feedback files, from all results so far."""
    out = Path(out)
    results = with_hand_grading(out, results)
    rows = [row for result in results for row in _rows(result)]
    write_atomically(out / "grades.csv", csv_text(rows, GRADES_FIELDS))
    book, fields = gradebook_rows(results)
    write_atomically(out / "gradebook.csv", csv_text(book, fields))
    by_student: dict[str, list[NotebookResult]] = {}
    for result in results:
        path = out / "feedback" / result.student / f"{result.notebook}.md"
        write_atomically(path, feedback(result))
        by_student.setdefault(result.student, []).append(result)
    for student, theirs in by_student.items():
        write_atomically(out / "feedback" / f"{student}.html", feedback_html(student, theirs))
