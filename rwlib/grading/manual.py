"""Written answers, graded by hand: what a student wrote, and the points an instructor gave.

The grader records each written answer (its text and a fingerprint of it) in the
student's result, and never grades it: an untouched stub (``YOUR ANSWER HERE``)
is pre-scored 0 (status ``unanswered``), anything else is ``to grade``.

Hand grading lives in ``GRADES/manual.csv``, one row per student, notebook and
question, with the columns :data:`FIELDS`:

- ``points``: blank means not graded yet; otherwise a number from 0 to the question's points;
- ``comment``: what the student reads in the feedback;
- ``grader``, ``graded_at``: who, and when (ISO 8601, UTC);
- ``answer``: the fingerprint of the answer that was graded. When the student's
  answer has changed since (a resubmission), the grade is kept but ``stale``: it
  does not count until it is confirmed in ``rwlib review``. A row typed into a
  spreadsheet with a blank ``answer`` applies to whatever the student wrote.

``rwlib review`` writes the file one entry at a time (:func:`save_entry`: a lock,
then an atomic replace), and ``rwlib grade`` only reads it (:func:`merged`), so
no run of the grader can lose a hand-entered point. Columns a spreadsheet adds
are kept.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import io
import math
import re
from pathlib import Path

from rwlib.grading.files import csv_text, locked, write_atomically
from rwlib.grading.results import NotebookResult, QuestionResult

MANUAL_CSV = "manual.csv"
FIELDS = ["student", "notebook", "question", "points", "comment", "grader", "graded_at", "answer"]
STUB = "YOUR ANSWER HERE"  # what rwlib release puts in a written answer's cell
UNTOUCHED = f"not answered: the cell still holds {STUB} (pre-scored 0)"
TO_GRADE = "not graded yet"
ANSWER_LIMIT = 20_000  # characters of a written answer kept for the review page


class ManualGradesError(ValueError):
    """``manual.csv`` cannot be read; the message names the row and the fix."""


def answer_fingerprint(text: str) -> str:
    """A short fingerprint of a written answer; line endings and trailing spaces do not count.

    Examples
    --------
    >>> answer_fingerprint("Z = 1.\\r\\n") == answer_fingerprint("Z = 1.")
    True
    >>> answer_fingerprint("Z = 1.") == answer_fingerprint("Z = 2.")
    False
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    normal = "\n".join(line.rstrip() for line in lines).strip()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]


def written_question(question: dict, answer: str, untouched: bool) -> QuestionResult:
    """A written question as the grader records it: ``unanswered`` (0) or ``to grade``.

    The text kept is at most :data:`ANSWER_LIMIT` characters; the fingerprint is of all of it.
    """
    kept = answer
    if len(answer) > ANSWER_LIMIT:
        cut = f"*(cut here: the answer is {len(answer)} characters long)*"
        kept = f"{answer[:ANSWER_LIMIT]}\n\n{cut}"
    return QuestionResult(
        question["id"],
        question["points"],
        "unanswered" if untouched else "to grade",
        message=UNTOUCHED if untouched else TO_GRADE,
        manual=True,
        answer=kept,
        answer_fingerprint=answer_fingerprint(answer),
    )


@dataclasses.dataclass(frozen=True)
class ManualEntry:
    """One row of ``manual.csv``: an instructor's points and comment on one written answer."""

    student: str
    notebook: str
    question: str
    points: float | None = None
    comment: str = ""
    grader: str = ""
    graded_at: str = ""
    answer: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.student, self.notebook, self.question)

    def row(self) -> dict:
        fields = dataclasses.asdict(self)
        fields["points"] = "" if self.points is None else f"{self.points:g}"
        return fields


def now() -> str:
    """The time of an entry: ISO 8601 in UTC, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _points(text: str, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", ".")) if re.fullmatch(r"[0-9.,]+", text) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ManualGradesError(
            f"{where}: points {text!r} is not a number; write a number from 0 to the "
            "question's points, or leave it blank for not graded yet"
        )
    return value


def _read_rows(path: Path) -> tuple[list[str], list[dict]]:
    if not path.is_file():
        return list(FIELDS), []
    text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may have saved a BOM
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in FIELDS[:4] if name not in header]
    if missing:
        raise ManualGradesError(
            f"{path}: the header has no {', '.join(missing)} column; the first row must name "
            f"the columns {', '.join(FIELDS)}"
        )
    reader.fieldnames = header
    return header + [f for f in FIELDS if f not in header], list(reader)


def read_entries(out: Path) -> dict[tuple[str, str, str], ManualEntry]:
    """The entries of ``GRADES/manual.csv`` by (student, notebook, question); {} without one.

    A later row for the same answer replaces an earlier one (a spreadsheet may have both).
    """
    path = Path(out) / MANUAL_CSV
    _, rows = _read_rows(path)
    entries = {}
    for number, row in enumerate(rows, start=2):
        cells = {name: (row.get(name) or "").strip() for name in FIELDS}
        if not (cells["student"] and cells["notebook"] and cells["question"]):
            if any(cells.values()):
                raise ManualGradesError(
                    f"{path}, row {number}: student, notebook and question must all be filled in"
                )
            continue
        where = f"{path}, row {number}"
        entry = ManualEntry(**{**cells, "points": _points(cells["points"], where)})
        entries[entry.key] = entry
    return entries


def save_entry(out: Path, entry: ManualEntry) -> None:
    """Write one entry into ``GRADES/manual.csv``, replacing the row of the same answer.

    Under a lock (two review pages never interleave), the file is read, changed and
    replaced atomically: a crash leaves the old file or the new one, never half of one.
    Other rows, and columns added in a spreadsheet, are kept as they are.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with locked(out / ".manual.lock"):
        header, rows = _read_rows(out / MANUAL_CSV)
        replaced = False
        for row in rows:
            if (row.get("student"), row.get("notebook"), row.get("question")) == entry.key:
                row.update(entry.row())
                replaced = True
        if not replaced:
            rows.append(entry.row())
        write_atomically(out / MANUAL_CSV, csv_text(rows, header))


def graded(question: QuestionResult, entry: ManualEntry | None) -> QuestionResult:
    """A written question with its hand grading: ``graded by hand``, ``stale`` or as it was."""
    if not question.manual or entry is None or entry.points is None:
        return question
    if question.status not in ("to grade", "unanswered"):
        return question  # missing, refused or unreadable: there is no answer to grade
    if not 0 <= entry.points <= question.points:
        return dataclasses.replace(
            question,
            message=f"manual.csv gives {entry.points:g} points, outside 0 to "
            f"{question.points:g}; fix the row or grade it again in rwlib review",
        )
    if entry.answer and entry.answer != question.answer_fingerprint:
        return dataclasses.replace(
            question,
            status="stale",
            score=0.0,
            message=f"the answer changed after it was graded ({entry.points:g} points"
            f"{f' by {entry.grader}' if entry.grader else ''}"
            f"{f' on {entry.graded_at[:10]}' if entry.graded_at else ''}); "
            "confirm or change the grade in rwlib review",
        )
    return dataclasses.replace(
        question, status="graded by hand", score=entry.points, message=entry.comment
    )


def merged(result: NotebookResult, entries: dict) -> NotebookResult:
    """``result`` with the hand grading of its written answers taken from ``entries``."""
    questions = tuple(
        graded(q, entries.get((result.student, result.notebook, q.id))) for q in result.questions
    )
    return dataclasses.replace(result, questions=questions)


RUBRIC = re.compile(r"<!--\s*rubric(?:\s*\(\s*steps? of\s*([0-9.]+)\s*\))?\s*\n(.*?)-->", re.S)


@dataclasses.dataclass(frozen=True)
class Rubric:
    """How a written question is graded: the criteria with their points, and the step.

    In the solution notebook it is an HTML comment at the end of the written answer's
    cell (hidden when the solution is rendered; the student copy holds only the stub)::

        <!-- rubric (steps of 1)
        1: says why the sum cannot be used
        1: shows that the added constant changes the answer
        -->
    """

    criteria: tuple[tuple[float, str], ...] = ()
    step: float = 1.0

    @property
    def total(self) -> float:
        return sum(points for points, _ in self.criteria)

    def choices(self, maximum: float) -> list[float]:
        """The points an instructor may give: 0 to ``maximum`` in steps of :attr:`step`.

        Examples
        --------
        >>> Rubric(step=0.5).choices(2)
        [0.0, 0.5, 1.0, 1.5, 2.0]
        """
        count = int(round(maximum / self.step))
        return [round(k * self.step, 6) for k in range(count + 1)]


def rubric(text: str) -> Rubric:
    """The rubric of a solution's written answer (:class:`Rubric`); empty if it has none.

    Examples
    --------
    >>> text = "The sum is 0.\\n<!-- rubric (steps of 0.5)\\n1: names the sum\\n1: the shift\\n-->"
    >>> rubric(text)
    Rubric(criteria=((1.0, 'names the sum'), (1.0, 'the shift')), step=0.5)
    >>> model_answer(text)
    'The sum is 0.'
    """
    found = RUBRIC.search(text)
    if found is None:
        return Rubric()
    criteria = []
    for line in found.group(2).splitlines():
        item = re.fullmatch(r"\s*([0-9.]+)\s*:\s*(.+?)\s*", line)
        if item:
            criteria.append((float(item.group(1)), item.group(2)))
    return Rubric(tuple(criteria), float(found.group(1) or 1))


def model_answer(text: str) -> str:
    """A solution's written answer without its rubric."""
    return RUBRIC.sub("", text).strip()
