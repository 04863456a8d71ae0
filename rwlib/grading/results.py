"""The grader's one result model: what every report (CSV, feedback, Gradescope) is made from.

A :class:`NotebookResult` is one student's graded notebook: its questions
(:class:`QuestionResult`), each with its cases (:class:`CaseResult`). The runner
writes it as JSON (:meth:`NotebookResult.to_json`) as soon as a notebook is
graded; the reports read it back (:meth:`NotebookResult.from_json`).

Statuses of a question:

============== ============================================================
passed         every case passed: all its points
partial        some cases passed: their share of the points
failed         the answer is wrong
unanswered     the answer cell is the stub, or missing
not allowed    the answer uses what the exercise rules out, or tampers
timeout        a cell of the question ran out of time
error          a cell raised, the kernel died, or the file is not a notebook
missing        the notebook was not submitted
refused        the submitted file was refused (a link, a FIFO, ...)
to grade       a written answer, not graded by hand yet
graded by hand a written answer, with the points of ``manual.csv``
stale          a written answer that changed after it was graded: not counted until confirmed
============== ============================================================

A written answer (``manual``) that is still the stub is ``unanswered``, pre-scored 0.
Its text and fingerprint are kept (:mod:`rwlib.grading.manual` merges the hand grading).
"""

from __future__ import annotations

import dataclasses
import json

AUTO_STATUSES = ("passed", "partial", "failed", "unanswered", "not allowed", "timeout", "error")
WRITTEN_STATUSES = ("to grade", "graded by hand", "stale")
STATUSES = (*AUTO_STATUSES, "missing", "refused", *WRITTEN_STATUSES)


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """One named case of a question: its share of the points, and why it failed."""

    name: str
    share: float
    passed: bool
    message: str = ""


@dataclasses.dataclass(frozen=True)
class QuestionResult:
    """One question of a notebook: its points, status and score, and its cases."""

    id: str
    points: float
    status: str
    score: float = 0.0
    message: str = ""
    manual: bool = False
    cases: tuple[CaseResult, ...] = ()
    answer: str = ""
    answer_fingerprint: str = ""

    @property
    def waiting(self) -> bool:
        """A written answer that still waits for a (confirmed) grade by hand."""
        return self.status in ("to grade", "stale")

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; one of {', '.join(STATUSES)}")


@dataclasses.dataclass(frozen=True)
class NotebookResult:
    """One student's notebook, graded.

    Attributes
    ----------
    student, notebook : str
        Who and which notebook (its name without ``.ipynb``).
    questions : tuple of QuestionResult
        Every question of the source notebook, auto-graded and written.
    origin : str
        The file that was graded, for messages.
    key : str
        The fingerprint of everything the verdict depends on (a re-run reuses the result).
    run : str
        The id of the run that graded it.
    notes : tuple of str
        What the student should know (cells not run, renamed cells, ...).
    """

    student: str
    notebook: str
    questions: tuple[QuestionResult, ...]
    origin: str = ""
    key: str = ""
    run: str = ""
    notes: tuple[str, ...] = ()

    @property
    def auto(self) -> tuple[QuestionResult, ...]:
        """The auto-graded questions."""
        return tuple(q for q in self.questions if not q.manual)

    @property
    def score(self) -> float:
        """The auto-graded points earned."""
        return round(sum(q.score for q in self.auto), 6)

    @property
    def max_score(self) -> float:
        """The auto-graded points there are."""
        return sum(q.points for q in self.auto)

    @property
    def written(self) -> tuple[QuestionResult, ...]:
        """The written questions, graded by hand."""
        return tuple(q for q in self.questions if q.manual)

    @property
    def written_score(self) -> float:
        """The points of written answers graded by hand (0 for those still to grade)."""
        return round(sum(q.score for q in self.written), 6)

    @property
    def written_max(self) -> float:
        """The points of the written questions."""
        return sum(q.points for q in self.written)

    @property
    def to_grade(self) -> int:
        """How many written answers still wait for a (confirmed) grade by hand."""
        return sum(q.waiting for q in self.written)

    def to_dict(self) -> dict:
        """The result as plain data (JSON-ready); :meth:`from_dict` reads it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        """A result from :meth:`to_dict`'s data; ValueError, TypeError or KeyError if not one."""
        data = dict(data)
        questions = tuple(
            QuestionResult(**{**q, "cases": tuple(CaseResult(**c) for c in q.get("cases", ()))})
            for q in data.pop("questions")
        )
        return cls(**{**data, "questions": questions, "notes": tuple(data.get("notes", ()))})

    def to_json(self) -> str:
        """The result as JSON text (what the runner writes, and :meth:`from_json` reads)."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> NotebookResult:
        """A result from :meth:`to_json`'s text; ValueError if it is not one."""
        return cls.from_dict(json.loads(text))
