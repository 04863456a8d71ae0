"""``rwlib grade SUBMISSIONS --out GRADES``: grade a whole class with nbval, in a sandbox.

For every submission (see :mod:`rwlib.grading.intake`), grading

1. rebuilds the notebook from the source notebook, taking only the student's
   answer cells;
2. runs every rebuilt notebook in one pytest session (``pytest --nbval-lax
   -p rwlib.grading.runner -n N --dist loadfile``), each kernel sandboxed by
   :mod:`rwlib.grading.sandbox`; the plugin decides each verdict in the pytest process
   and writes one result file per submission as soon as it is graded;
3. writes ``grades.csv`` (one row per student, notebook and question),
   ``gradebook.csv`` (one row per student) and ``feedback/<student>/<notebook>.md``.

Every file is written atomically (a temporary file, then a rename). Results are
kept in ``GRADES/.work/results``, keyed by a fingerprint of the submission, the
source notebook and the grading settings, so killing a run loses nothing
already graded, and a re-run grades only what is new or changed (``force=True``
regrades everything). Submissions are only ever read.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from rwlib.grading import intake, rules, sandbox
from rwlib.grading.comparison import GradingLineError, records, stream_text
from rwlib.grading.files import ReportError, csv_text, write_atomically
from rwlib.grading.manual import ManualGradesError, read_entries
from rwlib.grading.reports import write_reports, write_run
from rwlib.grading.results import NotebookResult, QuestionResult
from rwlib.grading.roster import RosterError
from rwlib.grading.roster import read as read_roster


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to grade: the one object that carries every limit to the kernels.

    ``rwlib grade`` writes it to ``GRADES/.work/settings.json``
    (:meth:`to_dict`), and the pytest plugin reads it from there
    (``--rwlib-settings``, :meth:`from_dict`).

    Attributes
    ----------
    source : pathlib.Path
        The source notebooks (``solutions/``).
    workers : int
        Parallel pytest workers (``-n``).
    timeout : float
        Seconds per cell (default 30), also while the cell keeps printing; a cell
        still running 5 s after its interrupt has its kernel stopped.
    notebook_timeout : float
        Wall-clock seconds per notebook, from the hand-over of its kernel (default
        300); then its kernel and every process it started are ended, and what did
        not run gets status ``timeout``.
    question_timeouts : dict
        Seconds per cell for some questions, by grade_id.
    output_limit : int
        Bytes a kernel may send for one cell (default 1 MiB), counted on the wire
        before a message is decoded: every message on every channel (printed
        output, displays, widget and other comm messages, replies). No single
        frame larger than this is even received.
    limits : rwlib.grading.sandbox.Limits
        Resource limits of each kernel: memory, CPU seconds, processes, file size
        and scratch space (disk).
    """

    source: Path = Path("solutions")
    workers: int = 2
    timeout: float = 30.0
    notebook_timeout: float = 300.0
    question_timeouts: dict = dataclasses.field(default_factory=dict)
    output_limit: int = 1 << 20
    limits: sandbox.Limits = sandbox.Limits()

    #: The smallest limits a kernel can start and run a notebook's setup under.
    SMALLEST = {
        "output_limit": 64 << 10,
        "memory_bytes": 512 << 20,
        "processes": 16,
        "disk_bytes": 4 << 20,
        "file_bytes": 1 << 20,
    }

    def __post_init__(self):
        """Check every limit; a ValueError names the setting and what it accepts."""
        import math

        def positive(name, value, integer=False):
            kind = int if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ValueError(f"{name} must be a {'whole ' if integer else ''}number")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive, finite number, not {value!r}")

        positive("workers", self.workers, integer=True)
        positive("timeout", self.timeout)
        positive("notebook_timeout", self.notebook_timeout)
        for grade_id, seconds in self.question_timeouts.items():
            positive(f"the timeout of question {grade_id}", seconds)
        # 30 and 30.0 are the same setting, and must give the same cache key.
        object.__setattr__(self, "timeout", float(self.timeout))
        object.__setattr__(self, "notebook_timeout", float(self.notebook_timeout))
        timeouts = {grade_id: float(s) for grade_id, s in self.question_timeouts.items()}
        object.__setattr__(self, "question_timeouts", timeouts)
        positive("output_limit", self.output_limit, integer=True)
        for field in dataclasses.fields(self.limits):
            positive(field.name, getattr(self.limits, field.name), integer=True)
        values = {"output_limit": self.output_limit, **dataclasses.asdict(self.limits)}
        for name, smallest in self.SMALLEST.items():
            if values[name] < smallest:
                raise ValueError(
                    f"{name} must be at least {smallest:,}"
                    f" (a kernel needs that much to start), not {values[name]:,}"
                )

    def key(self) -> bytes:
        """What in these settings changes a grade (not the number of workers)."""
        fields = self.to_dict()
        fields.pop("workers")
        fields["source"] = ""
        return json.dumps(fields, sort_keys=True).encode()

    def to_dict(self) -> dict:
        """The settings as plain JSON values (``source`` as a string)."""
        fields = dataclasses.asdict(self)
        fields["source"] = str(self.source)
        return fields

    @classmethod
    def from_dict(cls, fields: dict) -> Settings:
        """The settings that :meth:`to_dict` gave."""
        fields = dict(fields)
        fields["source"] = Path(fields["source"])
        fields["limits"] = sandbox.Limits(**fields["limits"])
        return cls(**fields)


def unrun_result(identity: dict, questions, status, message) -> NotebookResult:
    """A result decided without running anything (missing, refused or malformed)."""
    graded = tuple(
        QuestionResult(q["id"], q["points"], status, message=message, manual=q["manual"])
        for q in questions
    )
    return NotebookResult(
        identity["student"],
        identity["notebook"],
        graded,
        origin=identity.get("origin", ""),
        key=identity.get("key", ""),
    )


class GradingError(RuntimeError):
    """Grading cannot start (e.g. no source notebooks); the message says why."""


def validate_source(path: Path, notebook, found: list[dict]) -> None:
    """Every auto-graded question has a definition and a stored grading line for each case."""
    from rwlib.checks import PUBLIC_CASE, FunctionExercise, definition
    from rwlib.hidden_values import ANSWER_CASE

    cells = {intake.cell_grade_id(cell): (index, cell) for index, cell in enumerate(notebook.cells)}
    for question in found:
        if question["manual"]:
            continue
        index, cell = cells[question["id"]]
        where = f"{path}, cell {index} ({question['id']})"
        try:
            exercise = definition(question["id"])
        except ValueError:
            raise GradingError(
                f"{where}: no exercise definition has this grade_id in rwlib.exercises"
            ) from None
        stored = stream_text(cell.get("outputs", []))
        try:
            lines = records(stored, question["id"])
        except GradingLineError as error:
            raise GradingError(f"{where}: the stored output holds {error}") from None
        cases = exercise.hidden_cases if isinstance(exercise, FunctionExercise) else [ANSWER_CASE]
        wrong = [case for case in cases if len(lines.get(case, [])) != 1]
        if wrong:
            raise GradingError(
                f"{where}: the stored output has no single grading line for "
                f"{', '.join(repr(c) for c in wrong)}; its hidden test must call "
                f"rw.{'grade_function' if PUBLIC_CASE in cases else 'print_for_grading'}, "
                "then run `rwlib release` to store the outputs"
            )


def _sources(folder: Path) -> dict[str, tuple]:
    """The graded source notebooks, by name: (notebook, questions, bytes)."""
    import nbformat

    sources = {}
    for path in sorted(folder.glob("*.ipynb")):
        data = path.read_bytes()
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        found = intake.questions(notebook)
        if found:
            sources[path.stem] = (notebook, found, data)
    if not sources:
        raise GradingError(f"no graded notebooks in {folder}; pass --source SOLUTIONS_FOLDER")
    return sources


@functools.cache
def grading_code_fingerprint() -> bytes:
    """A fingerprint of the installed rwlib: the grading code and the exercise definitions.

    Computed once per process: the installed code does not change during a run.
    """
    import rwlib

    package = Path(rwlib.__file__).resolve().parent
    parts = []
    for path in sorted(package.rglob("*.py")):
        parts += [path.relative_to(package).as_posix().encode(), path.read_bytes()]
    return intake.fingerprint(*parts).encode()


def _rule_breaks(source, rebuilt, grading: list[dict]) -> None:
    """Mark each question whose answer breaks a rule of :mod:`rwlib.grading.rules`."""
    from rwlib.checks import FunctionExercise, definition

    modules = rules.notebook_modules(source)
    texts = {intake.cell_grade_id(cell): cell.source for cell in rebuilt.cells}
    tampered = None
    for question in grading:
        exercise = definition(question["id"])
        allowed = exercise.allowed_modules if isinstance(exercise, FunctionExercise) else None
        for answer in question["answer_ids"]:
            why = rules.tampering(texts[answer], modules)
            if why:
                question["not_allowed"] = f"your answer cell {answer} is not allowed: {why}"
                if rules.changes_a_module(texts[answer], modules):
                    tampered = tampered or answer
            elif allowed and tampered:
                question["not_allowed"] = (
                    f"{exercise.rule()}, and the earlier answer cell {tampered} changes what "
                    "later cells run"
                )
            elif allowed:
                why = rules.not_allowed(texts[answer], allowed, modules)
                if why:
                    question["not_allowed"] = f"{exercise.rule()}: {why}"


def _prepare(submission, sources, settings: Settings, work: Path, force: bool, run: str):
    """Rebuild one submission; returns (its result, None) or, to run it, (None, rebuilt path)."""
    import nbformat

    source, found, source_bytes = sources[submission.notebook]
    identity = {"student": submission.student, "notebook": submission.notebook}
    data = submission.read_bytes()
    key = intake.fingerprint(data, source_bytes, settings.key(), grading_code_fingerprint())
    result_path = _result_path(work, submission.student, submission.notebook)
    if not force and result_path.exists():
        try:
            cached = NotebookResult.from_json(result_path.read_text())
        except (ValueError, TypeError, KeyError):
            cached = None
        if cached is not None and cached.key == key:
            return cached, None
    identity |= {"key": key, "origin": submission.origin}
    try:
        rebuilt, unanswered, notes = intake.rebuild(source, intake.parse(data), submission.notebook)
    except intake.MalformedSubmission as error:
        result = unrun_result(identity, found, "error", str(error))
        write_atomically(result_path, result.to_json())
        return result, None
    grading = [
        {**q, "unanswered": any(a in unanswered for a in q["answer_ids"])}
        for q in found
        if not q["manual"]
    ]
    _rule_breaks(source, rebuilt, grading)
    timeouts = {}
    for q in grading:
        if q["id"] in settings.question_timeouts:
            for cell_id in [q["id"], *q["answer_ids"]]:
                timeouts[cell_id] = settings.question_timeouts[q["id"]]
    rebuilt.metadata["rwlib_grading"] = {
        "submission": {**identity, "notes": notes, "run": run},
        "questions": grading,
        "timeouts": timeouts,
        "result": str(result_path.resolve()),
    }
    texts = {intake.cell_grade_id(cell): cell.source for cell in rebuilt.cells}
    rebuilt.metadata["rwlib_grading"]["manual"] = [
        {**q, "answer": texts.get(q["id"], ""), "untouched": q["id"] in unanswered}
        for q in found
        if q["manual"]
    ]
    folder = intake.fingerprint(key.encode(), submission.student.encode())[:16]
    path = work / "rebuilt" / folder / f"{submission.notebook}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(rebuilt, path)
    return None, path


def _pytest_command(paths, settings: Settings, work: Path, scratch: Path) -> list[str]:
    (work / "pytest.ini").write_text("[pytest]\n")
    # Only the plugins grading needs: nbval, xdist and ours (PYTEST_DISABLE_PLUGIN_AUTOLOAD).
    command = [sys.executable, "-m", "pytest", "-p", "nbval.plugin", "-p", "xdist.plugin"]
    command += ["-p", "rwlib.grading.runner", "--nbval-lax"]
    command += ["-c", str(work / "pytest.ini"), "--rootdir", str(work), "--noconftest"]
    command += ["-p", "no:cacheprovider", "-q", "--tb=no", "-W", "ignore"]
    command += [f"--nbval-cell-timeout={settings.timeout}", "--nbval-kernel-startup-timeout=60"]
    # Every limit reaches the plugin, and from there the kernels, in one file.
    plugin_settings = {"settings": settings.to_dict(), "scratch": str(scratch)}
    write_atomically(work / "settings.json", json.dumps(plugin_settings, indent=1))
    command += [f"--rwlib-settings={work / 'settings.json'}"]
    if settings.workers > 1:
        command += ["-n", str(settings.workers), "--dist", "loadfile"]
    return command + [str(p) for p in paths]


def _full_disk_is_a_grading_error(grade_function):
    """``grade`` with a full disk turned into a GradingError that says what to do.

    Whatever was graded before the disk filled up stays in ``GRADES/.work/results``
    (each result is written atomically, and a later run reuses it); half-written
    temporary files and the rebuilt notebooks are removed.
    """
    import errno

    @functools.wraps(grade_function)
    def grade_with_clear_errors(root, out, *args, **kwargs):
        results = Path(out).resolve() / ".work" / "results"
        try:
            return grade_function(root, out, *args, **kwargs)
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            if isinstance(error, ReportError):
                raise GradingError(error.strerror) from None
            where = Path(error.filename).parent if error.filename else Path(out).resolve()
            raise GradingError(
                f"no space left on the disk of {where}; free some space and run again "
                f"(every result already graded is kept in {results})"
            ) from None
        finally:
            shutil.rmtree(Path(out).resolve() / ".work" / "rebuilt", ignore_errors=True)

    return grade_with_clear_errors


@_full_disk_is_a_grading_error
def grade(
    root: Path,
    out: Path,
    settings: Settings = Settings(),
    *,
    force=False,
    progress=True,
    roster: Path | None = None,
    students: tuple[str, ...] = (),
    question: str | None = None,
):
    """Grade every submission under ``root`` into ``out``; returns the results.

    Parameters
    ----------
    root : pathlib.Path
        SUBMISSIONS: a folder (or a zip) with one entry per student, as
        :func:`rwlib.grading.intake.find` reads it: ``<student>/``, ``<student>.zip``,
        ``<student>_<notebook>.ipynb``, or an LMS export's names.
    out : pathlib.Path
        GRADES: ``grades.csv``, ``gradebook.csv``, ``feedback/``, ``skipped.csv``,
        ``unmatched.csv`` and ``.work/``.
    settings : Settings
        Source notebooks, workers, timeouts and limits.
    force : bool
        Regrade submissions whose result is already there.
    progress : bool
        Show a progress bar (tqdm) with the counts graded and failed.
    roster : pathlib.Path, optional
        The class's roster CSV (:mod:`rwlib.grading.roster`): every rostered student
        gets a gradebook row, and files that match no rostered student are listed in
        ``unmatched.csv`` instead of being graded.
    students : tuple of str
        Regrade only these students (``--student``); everyone else keeps the result
        stored from an earlier run (a submission never graded before is graded).
    question : str, optional
        Regrade only this question (``--question GRADE_ID``), in every submission of
        its notebook (or of ``students``); every other question keeps its stored result.

    Hand grading (``GRADES/manual.csv``) is read, never written: every report includes it.

    Returns
    -------
    list of dict
        One result per (student, notebook): its questions with status and points.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if not root.is_dir() and not (root.is_file() and zipfile.is_zipfile(root)):
        raise GradingError(f"{root} is not a folder of submissions (nor a zip of them)")
    if out == root:
        raise GradingError("GRADES must not be the SUBMISSIONS folder itself; pick another --out")
    problem = sandbox.user_id_problem()
    if problem:
        raise GradingError(problem)
    sources = _sources(Path(settings.source))
    try:
        class_roster = None if roster is None else read_roster(roster)
    except RosterError as error:
        raise GradingError(str(error)) from None
    try:
        read_entries(out)
    except ManualGradesError as error:
        raise GradingError(f"{error} (nothing was graded)") from None
    found = intake.find(root, set(sources), skip=out, roster=class_roster)
    _check_regrade(found, sources, students, question)
    for name in sorted({submission.notebook for submission in found.submissions}):
        notebook, questions, _ = sources[name]
        validate_source(Path(settings.source) / f"{name}.ipynb", notebook, questions)
    work = out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    # The rebuilt answers and the results: without bubblewrap, a kernel (its own user id
    # when grading as root) could otherwise read other students' answers here.
    os.chmod(work, 0o700)
    results, pending = [], {}
    run = os.urandom(8).hex()
    earlier = {}  # (student, notebook) -> the stored result that a --question run updates
    for submission in found.submissions:
        stored = _stored(work, submission)
        chosen = not students or submission.student in students
        concerned = question is None or question in _question_ids(sources[submission.notebook])
        if stored is not None and not (chosen and concerned) and (students or question):
            results.append(stored)
            continue
        if question is not None and stored is not None:
            earlier[(submission.student, submission.notebook)] = stored
        try:
            redo = force or bool(students or question)
            result, path = _prepare(submission, sources, settings, work, redo, run)
        except intake.MalformedSubmission as error:  # changed since it was found, or unreadable
            status = "refused" if isinstance(error, intake.Refused) else "error"
            found.skip(submission.origin, status, str(error), submission.student)
            identity = {"student": submission.student, "notebook": submission.notebook}
            questions = sources[submission.notebook][1]
            result, path = unrun_result(identity, questions, status, str(error)), None
        if result is not None:
            results.append(result)
        else:
            pending[path] = submission
    results += _unsubmitted(found, sources, class_roster)
    fields = ["file", "status", "student", "reason"]
    write_atomically(out / "skipped.csv", csv_text(found.skipped, fields))
    unmatched = csv_text(found.unmatched, ["file", "found", "suggestion"])
    write_atomically(out / "unmatched.csv", unmatched)
    if pending:
        new = _run(pending, settings, work, out, results, progress)
        results += [_only_question(r, earlier, question, work) for r in new]
    results = [_noted(result, found.notes) for result in results]
    write_run(out, results, settings.source)
    write_reports(out, results)
    shutil.rmtree(work / "rebuilt", ignore_errors=True)
    return results


def _result_path(work: Path, student: str, notebook: str) -> Path:
    return work / "results" / student / f"{notebook}.json"


def _stored(work: Path, submission) -> NotebookResult | None:
    """The result an earlier run stored for this submission, whatever it was graded with."""
    path = _result_path(work, submission.student, submission.notebook)
    try:
        return NotebookResult.from_json(path.read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _question_ids(source) -> set[str]:
    return {q["id"] for q in source[1]}


def _check_regrade(found, sources: dict, students, question) -> None:
    """``--student`` names submitted students, and ``--question`` an auto-graded question."""
    submitted = {s.student for s in found.submissions}
    unknown = [s for s in students if s not in submitted]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(submitted), n=3)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise GradingError(
            f"--student {unknown[0]}: no submission of that student in SUBMISSIONS{hint}"
        )
    if question is None:
        return
    auto = sorted(q["id"] for s in sources.values() for q in s[1] if not q["manual"])
    if question not in auto:
        written = any(question in _question_ids(s) for s in sources.values())
        why = (
            "is a written answer, graded by hand in rwlib review, not by the grader"
            if written
            else f"is no auto-graded question of the source notebooks ({', '.join(auto)})"
        )
        raise GradingError(f"--question {question} {why}")


def _only_question(result: NotebookResult, earlier: dict, question, work: Path):
    """A --question run's result: the stored result with only ``question`` replaced."""
    before = earlier.get((result.student, result.notebook))
    if before is None:
        return result
    new = {q.id: q for q in result.questions if q.id == question}
    updated = dataclasses.replace(
        before,
        questions=tuple(new.get(q.id, q) for q in before.questions),
        run=result.run,
    )
    write_atomically(_result_path(work, result.student, result.notebook), updated.to_json())
    return updated


def _unsubmitted(found, sources: dict, roster) -> list[NotebookResult]:
    """A result for each notebook a student has no submission of: refused, or missing.

    The notebooks are those anyone submitted (with a roster and no submission at
    all, every source notebook); the students, everyone named by a file and every
    rostered student.
    """
    named = [*found.submissions, *found.refused]
    notebooks = sorted({s.notebook for s in named if s.notebook})
    if roster is not None and not notebooks:
        notebooks = sorted(sources)
    students = {s.student for s in named} | {s.student for s in (roster.students if roster else ())}
    graded = {(s.student, s.notebook) for s in found.submissions}
    refused = {(s.student, s.notebook): s for s in found.refused}
    results = []
    for student in sorted(students):
        for notebook in notebooks:
            if (student, notebook) in graded:
                continue
            identity = {"student": student, "notebook": notebook}
            refusal = refused.get((student, notebook)) or refused.get((student, ""))
            if refusal is None:
                results.append(
                    unrun_result(identity, sources[notebook][1], "missing", "not submitted")
                )
                continue
            message = (
                f"{refusal.origin} is {refusal.problem}, and was not read: the grader reads only "
                "the student's own notebook files; submit the notebook itself (in JupyterLab: "
                "File > Download)"
            )
            identity["origin"] = refusal.origin
            results.append(unrun_result(identity, sources[notebook][1], "refused", message))
    return results


def _noted(result: NotebookResult, notes: dict) -> NotebookResult:
    """The result with what intake noted for its student and notebook (the attempt graded)."""
    extra = [n for n in notes.get((result.student, result.notebook), ()) if n not in result.notes]
    return dataclasses.replace(result, notes=(*result.notes, *extra)) if extra else result


def summary(out: Path, limit: int = 5) -> list[str]:
    """What a run did not grade, and why, from ``skipped.csv`` and ``unmatched.csv``.

    Counts by reason and the first ``limit`` files of each; every unmatched file with
    the closest roster entry; the attempts chosen.
    """
    import csv

    def rows(name):
        path = Path(out) / name
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as file:
            return list(csv.DictReader(file))

    lines, skipped = [], rows("skipped.csv")
    by_status: dict[str, list[dict]] = {}
    for row in skipped:
        by_status.setdefault(row["status"], []).append(row)
    if skipped:
        counts = ", ".join(f"{len(group)} {status}" for status, group in sorted(by_status.items()))
        lines.append(
            f"not graded: {len(skipped)} files ({counts}); see {Path(out) / 'skipped.csv'}"
        )
    for status, group in sorted(by_status.items()):
        if status == "unmatched":
            continue
        for row in group[:limit]:
            lines.append(f"  {status}: {row['file']}: {row['reason']}")
        if len(group) > limit:
            lines.append(f"  {status}: ... and {len(group) - limit} more")
    unmatched = rows("unmatched.csv")
    if unmatched:
        lines.append(
            f"unmatched: {len(unmatched)} of SUBMISSIONS' entries name no rostered student "
            f"(fix the roster or the names, then grade again; {Path(out) / 'unmatched.csv'}):"
        )
        for row in unmatched:
            closest = f"; closest: {row['suggestion']}" if row["suggestion"] else "; no close match"
            lines.append(f"  {row['file']} (names {row['found']!r}{closest})")
    return lines


class _Log:
    """pytest's output, copied into a log file by a thread that never fails.

    pytest writes into a pipe, not into the file: if the disk fills up, the log
    loses lines, but pytest does not crash and grading goes on.
    """

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import threading

        read, self.pipe = os.pipe()
        self.thread = threading.Thread(target=self._copy, args=(read,), daemon=True)
        self.thread.start()
        return self

    def _copy(self, read: int) -> None:
        with open(read, "rb") as source:
            try:
                log = open(self.path, "wb")
            except OSError:
                log = None
            while chunk := source.read1(1 << 16):
                try:
                    if log is not None:
                        log.write(chunk)
                        log.flush()
                except OSError:
                    pass
            if log is not None:
                try:
                    log.close()
                except OSError:
                    pass

    def __exit__(self, *exc):
        os.close(self.pipe)  # pytest's copy closes when it exits
        self.thread.join(timeout=10)


def _run(pending: dict, settings: Settings, work: Path, out: Path, done: list, progress: bool):
    """Run the rebuilt notebooks in one pytest session; results as they come, with a bar."""
    import nbformat
    from tqdm import tqdm

    expected = {}
    for path in pending:
        grading = nbformat.read(path, as_version=4).metadata["rwlib_grading"]
        expected[Path(grading["result"])] = grading
    new: dict[Path, dict] = {}
    failed = 0
    # Kernels talk over Unix sockets in their scratch folders, whose paths may not exceed
    # about 100 bytes: the scratch folders live in the system's temporary folder, not in GRADES.
    scratch = Path(tempfile.mkdtemp(prefix="rwlib-grade-"))
    os.chmod(scratch, 0o711)
    with _Log(work / "pytest.log") as log:
        process = subprocess.Popen(
            _pytest_command(pending, settings, work, scratch),
            stdout=log.pipe,
            stderr=subprocess.STDOUT,
            cwd=work,
            env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            start_new_session=True,
        )
        bar = tqdm(total=len(pending), unit="notebook", desc="grading", disable=not progress)
        last_report = time.monotonic()
        try:
            while True:
                finished = process.poll() is not None
                for result_path, grading in expected.items():
                    if result_path in new or not result_path.exists():
                        continue
                    result = NotebookResult.from_json(result_path.read_text())
                    if result.run != grading["submission"]["run"]:
                        continue
                    new[result_path] = result
                    failed += any(q.status != "passed" for q in result.auto)
                    bar.update(1)
                    bar.set_postfix(graded=len(new), failed=failed)
                if time.monotonic() - last_report > 5:
                    try:
                        write_reports(out, done + list(new.values()))
                    except OSError:  # e.g. a full disk: grading goes on, the last write says so
                        pass
                    last_report = time.monotonic()
                if finished:
                    break
                time.sleep(0.25)
        finally:
            bar.close()
            if process.poll() is None:
                os.killpg(process.pid, 9)
                process.wait()
            shutil.rmtree(scratch, ignore_errors=True)
    for result_path, grading in expected.items():
        if result_path not in new:
            message = "the grader could not run this notebook; see GRADES/.work/pytest.log"
            found = grading["questions"] + grading["manual"]
            new[result_path] = unrun_result(grading["submission"], found, "error", message)
    return list(new.values())
