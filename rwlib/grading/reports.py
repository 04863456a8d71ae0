"""The reports of ``rwlib grade``, all made from :class:`~rwlib.grading.results.NotebookResult`.

- ``grades.csv``: one row per student, notebook and question;
- ``gradebook.csv``: one row per student;
- ``feedback/<student>/<notebook>.md``: what a student gets back.

Every file is written atomically (:func:`write_atomically`), so a crash or a
full disk never leaves half a report; a full disk raises :class:`ReportError`
naming the folder.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import tempfile
from pathlib import Path

from rwlib.grading.results import NotebookResult


class ReportError(OSError):
    """A report could not be written (e.g. the disk is full); results already graded are kept."""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file and a rename: all or nothing.

    The temporary file is created anew (never opened through an existing name or
    link), with permissions for its owner only, and removed if writing fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as temporary:
        try:
            temporary.write(text)
            temporary.flush()
        except OSError as error:
            try:  # closing flushes what is still buffered, and fails again on a full disk
                temporary.close()
            except OSError:
                pass
            os.unlink(temporary.name)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ReportError(
                    error.errno,
                    f"no space left to write {path.name} in {path.parent}; free some space and "
                    "run again (every result already graded is kept in GRADES/.work/results)",
                ) from None
            raise
    os.replace(temporary.name, path)


def csv_text(rows: list[dict], fields: list[str]) -> str:
    """CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _rows(result: NotebookResult) -> list[dict]:
    return [
        {
            "student": result.student,
            "notebook": result.notebook,
            "question": q.id,
            "points": "" if q.manual else f"{q.score:g}",
            "max_points": f"{q.points:g}",
            "status": q.status,
        }
        for q in result.questions
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:400]


def feedback(result: NotebookResult) -> str:
    """A student's feedback on one notebook: every question, its points and what went wrong."""
    lines = [f"# {result.notebook}: feedback for {result.student}", ""]
    lines += [f"Auto-graded points: **{result.score:g} of {result.max_score:g}**", ""]
    lines += ["| question | points | status | what happened |", "|---|---:|---|---|"]
    for q in result.questions:
        points = "graded by hand" if q.manual else f"{q.score:g} / {q.points:g}"
        lines.append(f"| {q.id} | {points} | {q.status} | {_cell(q.message)} |")
    parted = [q for q in result.questions if len(q.cases) > 1]
    for q in parted:
        lines += ["", f"{q.id}, case by case:", ""]
        for case in q.cases:
            mark = "passed" if case.passed else "failed"
            lines.append(f"- {case.name} ({case.share:g} share): {mark}")
    if result.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in result.notes]
    lines += [
        "",
        "Each question is graded by its check cell and by hidden tests. A hidden test is named "
        "here, but its inputs and expected values are not shown.",
        "",
    ]
    return "\n".join(lines)


def write_reports(out: Path, results: list[NotebookResult]) -> None:
    """grades.csv, gradebook.csv and the feedback files, from all results so far."""
    results = sorted(results, key=lambda r: (r.student, r.notebook))
    rows = [row for result in results for row in _rows(result)]
    fields = ["student", "notebook", "question", "points", "max_points", "status"]
    write_atomically(out / "grades.csv", csv_text(rows, fields))
    notebooks = sorted({r.notebook for r in results})
    book: dict[str, dict] = {}
    for result in results:
        entry = book.setdefault(result.student, {"student": result.student, "total": 0, "max": 0})
        entry[result.notebook] = f"{result.score:g}"
        entry["total"] = round(entry["total"] + result.score, 6)
        entry["max"] += result.max_score
    for entry in book.values():
        entry["total"], entry["max"] = f"{entry['total']:g}", f"{entry['max']:g}"
    write_atomically(
        out / "gradebook.csv",
        csv_text(list(book.values()), ["student", *notebooks, "total", "max"]),
    )
    for result in results:
        path = out / "feedback" / result.student / f"{result.notebook}.md"
        write_atomically(path, feedback(result))
