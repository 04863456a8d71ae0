"""``rwlib export``: the class's points for an LMS, from GRADES and the roster.

Both exports read the last run's results (``GRADES/.work/run.json``) with the hand
grading of ``GRADES/manual.csv`` merged in, as every report does, and list every
rostered student, also one who submitted nothing (0 points).

- :func:`canvas`: Canvas's gradebook import (*Grades › Import*): the columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, a ``Points Possible`` row,
  then one column per notebook (``NAME (ASSIGNMENT_ID)`` when an id is given, so
  Canvas updates that assignment; a new assignment otherwise) or one total column.
  Canvas matches a row by ``ID`` (the roster's ``lms_id``), ``SIS User ID``
  (``sis_user_id``) or ``SIS Login ID`` (``sis_login_id``), so each student needs one.
- :func:`wide`: one row per student, one column per question, then per-notebook
  and overall totals: for a spreadsheet, or any LMS that imports a CSV.

Written answers still to grade count 0; :func:`waiting` says how many there are.
"""

from __future__ import annotations

from pathlib import Path

from rwlib.grading.files import csv_text
from rwlib.grading.reports import TOTALS, read_run, totals, with_hand_grading
from rwlib.grading.roster import read as read_roster

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


class ExportError(ValueError):
    """The export cannot be made; the message names the problem and the fix."""


def _merged(out: Path):
    results, _ = read_run(out)
    return with_hand_grading(out, results)


def waiting(out: Path) -> int:
    """How many written answers of the last run still wait for a grade by hand."""
    return sum(result.to_grade for result in _merged(Path(out)))


def canvas(
    out: Path, roster: Path, total: str | None = None, assignment_ids: dict | None = None
) -> str:
    """The Canvas gradebook import CSV of the last run.

    Parameters
    ----------
    out : pathlib.Path
        GRADES.
    roster : pathlib.Path
        The roster CSV; each student needs an ``lms_id``, ``sis_user_id`` or ``sis_login_id``.
    total : str, optional
        One column of this name with each student's total, instead of one per notebook.
    assignment_ids : dict, optional
        Canvas assignment ids by notebook (or by ``total``'s name).
    """
    out, ids = Path(out), dict(assignment_ids or {})
    results = _merged(out)
    notebooks = sorted({r.notebook for r in results})
    columns = [total] if total else notebooks
    unknown = sorted(set(ids) - set(columns))
    if unknown:
        what = (
            f"the total column {total!r}"
            if total
            else f"a graded notebook ({', '.join(notebooks)})"
        )
        raise ExportError(f"--assignment-id names {', '.join(unknown)}, which is not {what}")
    by_key = {(r.student, r.notebook): totals(r) for r in results}
    maxima = {nb: next(by_key[k]["max"] for k in by_key if k[1] == nb) for nb in notebooks}

    def header(column):
        return f"{column} ({ids[column]})" if column in ids else column

    def points(student, column):
        if total:
            return sum(by_key.get((student, nb), {}).get("total", 0) for nb in notebooks)
        return by_key.get((student, column), {}).get("total", 0)

    rows = [dict.fromkeys(CANVAS_IDENTITY, "") | {"Student": "Points Possible"}]
    rows[0] |= {header(c): f"{sum(maxima.values()) if total else maxima[c]:g}" for c in columns}
    listed = read_roster(Path(roster)).students
    strays = sorted({r.student for r in results} - {s.student for s in listed})
    if strays:
        raise ExportError(
            f"{len(strays)} graded students are not in the roster ({', '.join(strays[:5])}"
            f"{', ...' if len(strays) > 5 else ''}), so Canvas would not get their points: add "
            "them to the roster, or grade with --roster so that only rostered students are graded"
        )
    for student in listed:
        identity = {
            "ID": student.lms_id,
            "SIS User ID": student.column("sis_user_id"),
            "SIS Login ID": student.column("sis_login_id"),
        }
        if not any(identity.values()):
            raise ExportError(
                f"the roster gives {student.student} no lms_id, sis_user_id or sis_login_id; "
                "Canvas matches a row by one of them (its ID, SIS User ID or SIS Login ID "
                "column): add one to the roster (Canvas's own gradebook export lists them)"
            )
        row = {"Student": student.name or student.student, **identity}
        row["Section"] = student.column("section")
        row |= {header(c): f"{points(student.student, c):g}" for c in columns}
        rows.append(row)
    return csv_text(rows, [*CANVAS_IDENTITY, *(header(c) for c in columns)])


def wide(out: Path, roster: Path | None = None) -> str:
    """One row per student: every question's points, then per notebook and overall totals.

    A written answer still to grade has blank points. With a roster, every rostered
    student has a row (in the roster's order) and the ``name`` column is filled in.
    """
    results = _merged(Path(out))
    questions = []
    for result in results:
        for q in result.questions:
            if (result.notebook, q.id) not in questions:
                questions.append((result.notebook, q.id))
    notebooks = sorted({r.notebook for r in results})
    students = sorted({r.student for r in results})
    names = {}
    if roster is not None:
        listed = read_roster(Path(roster)).students
        names = {s.student: s.name for s in listed}
        students = [s.student for s in listed] + [s for s in students if s not in names]
    by_key = {(r.student, r.notebook): r for r in results}
    maxima = {r.notebook: totals(r)["max"] for r in results}
    rows = []
    for student in students:
        row, overall = (
            {"student": student, "name": names.get(student, "")},
            dict.fromkeys(TOTALS, 0),
        )
        for notebook in notebooks:
            result = by_key.get((student, notebook))
            if result is None:  # not even a "missing" result: nothing from this student
                counts = dict.fromkeys(TOTALS, 0) | {"max": maxima[notebook]}
            else:
                counts = totals(result)
                for q in result.questions:
                    row[f"{notebook}: {q.id}"] = "" if q.waiting else f"{q.score:g}"
            for name, value in counts.items():
                row[f"{notebook}: {name}"] = f"{value:g}"
                overall[name] += value
        rows.append(row | {name: f"{round(value, 6):g}" for name, value in overall.items()})
    fields = ["student", "name", *(f"{nb}: {q}" for nb, q in questions)]
    fields += [f"{nb}: {name}" for nb in notebooks for name in TOTALS] + list(TOTALS)
    return csv_text(rows, fields)
