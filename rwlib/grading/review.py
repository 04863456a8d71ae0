"""``rwlib review GRADES``: grade the written answers in JupyterLab, one question at a time.

:func:`write_review_notebook` writes ``GRADES/review.ipynb``, one code cell that
shows a :class:`ReviewPage` (ipywidgets): per question, each student's answer
rendered as Markdown with its maths, the model answer and rubric of the solution
notebook, points (0 to the question's maximum, in the rubric's steps) and a
comment, previous and next, a filter for what is not graded yet, and progress.
Every entry is saved to ``GRADES/manual.csv`` as it is made
(:func:`rwlib.grading.manual.save_entry`).

Answers come in this order: stale ones (changed after they were graded) first,
then those to grade, those graded, and last the untouched stubs, which are
pre-scored 0 and flagged. :class:`ReviewSession` holds the logic, and is tested
without a browser.

A student's answer is untrusted text: :func:`safe_markdown` renders its HTML as
text and blocks script links before JupyterLab sees it.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import html
import re
from pathlib import Path

from rwlib.grading.manual import ManualEntry, Rubric, model_answer, now, read_entries, rubric
from rwlib.grading.manual import save_entry as save_manual_entry
from rwlib.grading.reports import read_run, with_hand_grading

REVIEW_NOTEBOOK = "review.ipynb"
ORDER = {"stale": 0, "to grade": 1, "graded by hand": 2, "unanswered": 3}


def safe_markdown(text: str) -> str:
    """A student's Markdown, safe to render: no HTML, no script or data links, no remote images.

    Examples
    --------
    >>> safe_markdown('<img src=x onerror="alert(1)"> and $a < b$')
    '&lt;img src=x onerror="alert(1)"> and $a &lt; b$'
    >>> safe_markdown("[click](javascript:alert(1)) ![x](http://x.example/t.png)")
    '[click](blocked:alert(1)) !\\\\[x](http://x.example/t.png)'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = re.sub(r"(?i)\b(javascript|vbscript|data)\s*:", "blocked:", text)
    text = re.sub(r"(?i)\\(href|class|cssId|style|data)\b", r"\\backslash \1", text)
    return text.replace("![", "!\\[")


@dataclasses.dataclass(frozen=True)
class Question:
    """A written question: where it is, its points, the model answer and the rubric."""

    notebook: str
    id: str
    points: float
    model: str
    rubric: Rubric


@dataclasses.dataclass(frozen=True)
class Answer:
    """One student's answer to one written question, with its hand grading so far."""

    student: str
    shown_as: str
    question: Question
    text: str
    fingerprint: str
    status: str
    entry: ManualEntry | None

    @property
    def untouched(self) -> bool:
        return self.status == "unanswered" and self.entry is None

    @property
    def waiting(self) -> bool:
        return self.status in ("to grade", "stale")


class ReviewSession:
    """The written answers of a graded run, and their hand grading in ``GRADES/manual.csv``.

    Parameters
    ----------
    out : pathlib.Path
        GRADES, as ``rwlib grade --out`` wrote it.
    grader : str, optional
        Who grades (the ``grader`` column); the login name by default.
    roster : pathlib.Path, optional
        A roster CSV: students are shown by their name.
    anonymous : bool
        Show "answer 7" instead of names, in an order that does not follow the names.
    """

    def __init__(self, out, grader: str | None = None, roster=None, anonymous: bool = False):
        from rwlib.grading.roster import read as read_roster

        self.out = Path(out)
        self.grader = grader or getpass.getuser()
        self.anonymous = anonymous
        results, self.source = read_run(self.out)
        self._results = results
        names = {}
        if roster is not None:
            names = {s.student: s.name for s in read_roster(Path(roster)).students if s.name}
        self._names = names
        self.questions = self._questions(results)

    def _questions(self, results) -> list[Question]:
        import nbformat

        from rwlib.grading.intake import cell_grade_id

        wanted = {(r.notebook, q.id): q.points for r in results for q in r.written}
        found = []
        for notebook in sorted({name for name, _ in wanted}):
            source = nbformat.read(self.source / f"{notebook}.ipynb", as_version=4)
            for cell in source.cells:
                points = wanted.get((notebook, cell_grade_id(cell)))
                if points is not None:
                    text = cell.source
                    found.append(
                        Question(
                            notebook, cell_grade_id(cell), points, model_answer(text), rubric(text)
                        )
                    )
        return found

    def _shown_as(self, student: str) -> str:
        if self.anonymous:
            return "answer " + hashlib.sha256(student.encode()).hexdigest()[:6]
        name = self._names.get(student)
        return f"{name} ({student})" if name else student

    def answers(self, question: Question) -> list[Answer]:
        """Every answer to ``question`` that can be graded, stale ones first, stubs last."""
        entries = read_entries(self.out)
        found = []
        for result in with_hand_grading(self.out, self._results):
            if result.notebook != question.notebook:
                continue
            for q in result.written:
                if q.id != question.id or q.status not in ORDER:
                    continue
                entry = entries.get((result.student, result.notebook, q.id))
                found.append(
                    Answer(
                        result.student,
                        self._shown_as(result.student),
                        question,
                        q.answer,
                        q.answer_fingerprint,
                        q.status,
                        entry,
                    )
                )
        return sorted(found, key=lambda a: (ORDER[a.status], a.shown_as))

    def progress(self, question: Question) -> str:
        """ "23 of 61 graded", with the stubs pre-scored and the stale grades among them."""
        answers = self.answers(question)
        done = sum(not a.waiting for a in answers)
        parts = [f"{done} of {len(answers)} graded"]
        stubs = sum(a.untouched for a in answers)
        stale = sum(a.status == "stale" for a in answers)
        if stubs:
            parts.append(f"{stubs} untouched stub(s) pre-scored 0")
        if stale:
            parts.append(f"{stale} stale: changed after grading")
        return "; ".join(parts)

    def save(self, answer: Answer, points: float | None, comment: str) -> ManualEntry:
        """Save a grade for ``answer`` (None: not graded yet) as it is now, to manual.csv."""
        maximum = answer.question.points
        if points is not None and not 0 <= points <= maximum:
            raise ValueError(f"points must be from 0 to {maximum:g}, not {points:g}")
        entry = ManualEntry(
            answer.student,
            answer.question.notebook,
            answer.question.id,
            points,
            comment,
            self.grader,
            now(),
            answer.fingerprint,
        )
        save_manual_entry(self.out, entry)
        return entry


class ReviewPage:
    """The widgets of the review page, over a :class:`ReviewSession`."""

    NOT_GRADED = "not graded"

    def __init__(self, session: ReviewSession):
        import ipywidgets as widgets

        self.session = session
        self.answers: list[Answer] = []
        self.index = 0
        options = [(f"{q.notebook}: {q.id} ({q.points:g} points)", q) for q in session.questions]
        self.question = widgets.Dropdown(options=options, description="question")
        self.only_waiting = widgets.Checkbox(description="only answers not graded yet")
        self.previous = widgets.Button(description="◀ previous")
        self.next = widgets.Button(description="next ▶")
        self.position = widgets.HTML()
        self.progress = widgets.HTML()
        self.flag = widgets.HTML()
        self.answer = widgets.Output()
        self.model = widgets.Output()
        self.points = widgets.ToggleButtons(description="points")
        self.comment = widgets.Textarea(
            description="comment", continuous_update=False, layout={"width": "90%"}
        )
        self.saved = widgets.HTML()
        for name in ("question", "previous", "next", "points", "comment", "answer", "flag"):
            getattr(self, name).add_class(f"rw-review-{name}")
        self.position.add_class("rw-review-position")
        self.progress.add_class("rw-review-progress")
        self.saved.add_class("rw-review-saved")
        self.question.observe(lambda _: self.load(), names="value")
        self.only_waiting.observe(lambda _: self.load(), names="value")
        self.previous.on_click(lambda _: self.move(-1))
        self.next.on_click(lambda _: self.move(+1))
        self.points.observe(self._save, names="value")
        self.comment.observe(self._save, names="value")
        model = widgets.Accordion(children=[self.model], titles=("model answer and rubric",))
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.question, self.only_waiting]),
                self.progress,
                widgets.HBox([self.previous, self.next, self.position]),
                self.flag,
                self.answer,
                self.points,
                self.comment,
                self.saved,
                model,
            ]
        )
        self._quiet = False
        self.load()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    @property
    def current(self) -> Answer | None:
        return self.answers[self.index] if self.answers else None

    def load(self) -> None:
        """Read the answers of the chosen question afresh; show the first."""
        question = self.question.value
        if question is None:
            self.position.value = "no written answers in this run"
            return
        self.answers = self.session.answers(question)
        if self.only_waiting.value:
            self.answers = [a for a in self.answers if a.waiting]
        self.index = 0
        self._show_model(question)
        self.show()

    def move(self, step: int) -> None:
        """Show the previous or next answer (only those still waiting, under the filter)."""
        if not self.answers:
            return
        self.index = max(0, min(len(self.answers) - 1, self.index + step))
        self.show()

    def show(self) -> None:
        from IPython.display import Markdown, display

        question = self.question.value
        self.progress.value = f"<b>{self.session.progress(question)}</b>"
        self.answer.clear_output()
        answer = self.current
        self._quiet = True
        try:
            choices = [str_points(p) for p in question.rubric.choices(question.points)]
            self.points.options = [self.NOT_GRADED, *choices]
            if answer is None:
                self.position.value = "nothing to show: every answer is graded"
                self.flag.value = ""
                self.points.value, self.comment.value = self.NOT_GRADED, ""
                return
            self.position.value = (
                f"answer {self.index + 1} of {len(self.answers)}: "
                f"<b>{html.escape(answer.shown_as)}</b>"
            )
            self.flag.value = _flag(answer)
            entry = answer.entry
            # A stale grade is shown, not chosen: choosing any points confirms it.
            given = entry.points if entry is not None and answer.status != "stale" else None
            self.points.value = self.NOT_GRADED if given is None else str_points(given)
            self.comment.value = entry.comment if entry is not None else ""
            self.saved.value = ""
        finally:
            self._quiet = False
        with self.answer:
            text = answer.text if not answer.untouched else "*(the stub, untouched)*"
            display(Markdown(safe_markdown(text)))

    def _show_model(self, question: Question) -> None:
        from IPython.display import Markdown, display

        self.model.clear_output()
        criteria = question.rubric.criteria
        rows = "\n".join(f"- **{p:g}**: {text}" for p, text in criteria) or (
            "*(the solution gives no rubric for this question)*"
        )
        with self.model:
            display(
                Markdown(
                    f"{question.model}\n\n**Rubric** (steps of {question.rubric.step:g}):\n\n{rows}"
                )
            )

    def _save(self, _change=None) -> None:
        answer = self.current
        if self._quiet or answer is None:
            return
        value = self.points.value
        points = None if value == self.NOT_GRADED else float(value)
        entry = self.session.save(answer, points, self.comment.value)
        self.answers[self.index] = dataclasses.replace(
            answer, entry=entry, status="graded by hand" if points is not None else answer.status
        )
        self.flag.value = _flag(self.answers[self.index])
        self.progress.value = f"<b>{self.session.progress(self.question.value)}</b>"
        shown = "not graded" if points is None else f"{points:g} points"
        self.saved.value = f"saved to manual.csv at {entry.graded_at}: {shown}"


def str_points(points: float) -> str:
    """Points as the page shows them: ``1``, ``0.5``."""
    return f"{points:g}"


def _flag(answer: Answer) -> str:
    if answer.untouched:
        return "⚑ <b>untouched stub</b>: pre-scored 0 (give points to override)"
    if answer.status == "stale":
        earlier = answer.entry
        return (
            f"⚑ <b>stale</b>: the answer changed after it was graded ({earlier.points:g} points "
            f"by {html.escape(earlier.grader)} at {earlier.graded_at}); those points do not count "
            "until you choose the points again"
        )
    return ""


def write_review_notebook(out, grader=None, roster=None, anonymous=False) -> Path:
    """Write ``GRADES/review.ipynb``: the review page, ready to run in JupyterLab."""
    import nbformat

    out = Path(out).resolve()
    ReviewSession(out, grader=grader, roster=roster, anonymous=anonymous)  # fails early
    arguments = {"grader": grader, "anonymous": anonymous}
    if roster is not None:
        arguments["roster"] = str(Path(roster).resolve())
    call = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(
            "# Written answers: review\n\nRun the cell below (Shift+Enter). Each grade is saved "
            "to `manual.csv` in this folder as you make it. `rwlib grade` (run again: it "
            "regrades nothing that is unchanged) or `rwlib export` then include the points."
        ),
        nbformat.v4.new_code_cell(
            "from rwlib.grading.review import ReviewPage, ReviewSession\n\n"
            f'ReviewPage(ReviewSession(".", {call}))'
        ),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = out / REVIEW_NOTEBOOK
    nbformat.write(notebook, path)
    return path
