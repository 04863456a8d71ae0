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

import csv
import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rwlib.grading import intake, sandbox


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file and a rename: all or nothing.

    The temporary file is created anew (never opened through an existing name or
    link), with permissions for its owner only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as temporary:
        temporary.write(text)
    os.replace(temporary.name, path)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How to grade.

    Attributes
    ----------
    source : pathlib.Path
        The source notebooks (``solutions/``).
    workers : int
        Parallel pytest workers (``-n``).
    timeout : float
        Seconds per cell (default 30).
    question_timeouts : dict
        Seconds per cell for some questions, by grade_id.
    output_limit : int
        Bytes a cell may print before its kernel is stopped.
    limits : rwlib.grading.sandbox.Limits
        Resource limits of each kernel.
    """

    source: Path = Path("solutions")
    workers: int = 2
    timeout: float = 30.0
    question_timeouts: dict = dataclasses.field(default_factory=dict)
    output_limit: int = 1 << 20
    limits: sandbox.Limits = sandbox.Limits()

    def key(self) -> bytes:
        """What in these settings changes a grade (not the number of workers)."""
        fields = dataclasses.asdict(self)
        fields.pop("workers")
        fields["source"] = ""
        return json.dumps(fields, sort_keys=True, default=str).encode()


def _rows(result: dict) -> list[dict]:
    return [
        {
            "student": result["student"],
            "notebook": result["notebook"],
            "question": q["id"],
            "points": "" if q["status"] == "manual" else q["score"],
            "max_points": q["points"],
            "status": q["status"],
        }
        for q in result["questions"]
    ]


def _csv(rows: list[dict], fields: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _feedback(result: dict) -> str:
    """A student's feedback on one notebook: every question, its points and what went wrong."""
    lines = [f"# {result['notebook']}: feedback for {result['student']}", ""]
    auto = [q for q in result["questions"] if q["status"] != "manual"]
    score = sum(q["score"] for q in auto)
    lines += [f"Auto-graded points: **{score:g} of {sum(q['points'] for q in auto):g}**", ""]
    lines += ["| question | points | status | what happened |", "|---|---:|---|---|"]
    for q in result["questions"]:
        points = (
            "graded by hand" if q["status"] == "manual" else f"{q['score']:g} / {q['points']:g}"
        )
        message = q.get("message", "").replace("|", "\\|").replace("\n", " ")[:400]
        lines.append(f"| {q['id']} | {points} | {q['status']} | {message} |")
    if result.get("notes"):
        lines += ["", "Notes:", ""] + [f"- {note}" for note in result["notes"]]
    lines += [
        "",
        "Each question is graded by its check cell and by hidden tests. A hidden test is named "
        "here, but its inputs and expected values are not shown.",
        "",
    ]
    return "\n".join(lines)


def write_reports(out: Path, results: list[dict]) -> None:
    """grades.csv, gradebook.csv and the feedback files, from all results so far."""
    results = sorted(results, key=lambda r: (r["student"], r["notebook"]))
    rows = [row for result in results for row in _rows(result)]
    fields = ["student", "notebook", "question", "points", "max_points", "status"]
    write_atomically(out / "grades.csv", _csv(rows, fields))
    notebooks = sorted({r["notebook"] for r in results})
    book: dict[str, dict] = {}
    for result in results:
        entry = book.setdefault(result["student"], {"student": result["student"]})
        auto = [q for q in result["questions"] if q["status"] != "manual"]
        entry[result["notebook"]] = sum(q["score"] for q in auto)
        entry["total"] = entry.get("total", 0) + entry[result["notebook"]]
        entry["max"] = entry.get("max", 0) + sum(q["points"] for q in auto)
    write_atomically(
        out / "gradebook.csv", _csv(list(book.values()), ["student", *notebooks, "total", "max"])
    )
    for result in results:
        path = out / "feedback" / result["student"] / f"{result['notebook']}.md"
        write_atomically(path, _feedback(result))


def _result(submission, questions, status, message, notes=()) -> dict:
    """A result decided without running anything (missing or malformed)."""
    graded = [
        {**q, "status": "manual" if q["manual"] else status, "message": message, "score": 0}
        for q in questions
    ]
    return {**submission, "questions": graded, "notes": list(notes)}


class GradingError(RuntimeError):
    """Grading cannot start (e.g. no source notebooks); the message says why."""


def _sources(folder: Path) -> dict[str, tuple]:
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


def _prepare(submission, sources, settings: Settings, work: Path, force: bool, run: str):
    """Rebuild one submission; returns (its result, None) or, to run it, (None, rebuilt path)."""
    import nbformat

    source, found, source_bytes = sources[submission.notebook]
    identity = {"student": submission.student, "notebook": submission.notebook}
    data = submission.read_bytes()
    key = intake.fingerprint(data, source_bytes, settings.key())
    result_path = work / "results" / submission.student / f"{submission.notebook}.json"
    if not force and result_path.exists():
        try:
            cached = json.loads(result_path.read_text())
        except ValueError:
            cached = {}
        if cached.get("key") == key:
            return cached, None
    identity |= {"key": key, "origin": submission.origin}
    try:
        rebuilt, unanswered, notes = intake.rebuild(
            source, intake.parse(data), submission.notebook
        )
    except intake.MalformedSubmission as error:
        result = _result(identity, found, "error", str(error))
        write_atomically(result_path, json.dumps(result, indent=1))
        return result, None
    grading = [
        {**q, "unanswered": any(a in unanswered for a in q["answer_ids"])}
        for q in found
        if not q["manual"]
    ]
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
    rebuilt.metadata["rwlib_grading"]["manual"] = [q for q in found if q["manual"]]
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
    command += [f"--rwlib-output-limit={settings.output_limit}"]
    command += [f"--rwlib-scratch={scratch}"]
    if settings.workers > 1:
        command += ["-n", str(settings.workers), "--dist", "loadfile"]
    return command + [str(p) for p in paths]


def grade(root: Path, out: Path, settings: Settings = Settings(), *, force=False, progress=True):
    """Grade every submission under ``root`` into ``out``; returns the results.

    Parameters
    ----------
    root : pathlib.Path
        SUBMISSIONS: ``<student>/<notebook>.ipynb``, ``<student>_<notebook>.ipynb``
        or zip files of either.
    out : pathlib.Path
        GRADES: ``grades.csv``, ``gradebook.csv``, ``feedback/`` and ``.work/``.
    settings : Settings
        Source notebooks, workers, timeouts and limits.
    force : bool
        Regrade submissions whose result is already there.
    progress : bool
        Show a progress bar (tqdm) with the counts graded and failed.

    Returns
    -------
    list of dict
        One result per (student, notebook): its questions with status and points.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if not root.is_dir():
        raise GradingError(f"{root} is not a folder of submissions")
    if out == root:
        raise GradingError("GRADES must not be the SUBMISSIONS folder itself; pick another --out")
    problem = sandbox.user_id_problem()
    if problem:
        raise GradingError(problem)
    sources = _sources(Path(settings.source))
    found, skipped = intake.find(root, set(sources), skip=out)
    work = out / ".work"
    work.mkdir(parents=True, exist_ok=True)
    # The rebuilt answers and the results: without bubblewrap, a kernel (its own user id
    # when grading as root) could otherwise read other students' answers here.
    os.chmod(work, 0o700)
    results, pending = [], {}
    run = os.urandom(8).hex()
    seen = set()
    for submission in found:
        if (submission.student, submission.notebook) in seen:
            skipped.append((submission.origin, "a second copy of the same student's notebook"))
            continue
        seen.add((submission.student, submission.notebook))
        result, path = _prepare(submission, sources, settings, work, force, run)
        if result is not None:
            results.append(result)
        else:
            pending[path] = submission
    write_atomically(
        out / "skipped.csv",
        _csv([{"file": f, "reason": r} for f, r in skipped], ["file", "reason"]),
    )
    students = sorted({s for s, _ in seen})
    for student in students:
        for notebook in sorted({n for _, n in seen}):
            if (student, notebook) not in seen:
                identity = {"student": student, "notebook": notebook}
                results.append(_result(identity, sources[notebook][1], "missing", "not submitted"))
    if pending:
        results += _run(pending, settings, work, out, results, progress)
    write_reports(out, results)
    shutil.rmtree(work / "rebuilt", ignore_errors=True)
    return results


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
    with open(work / "pytest.log", "w") as log:
        process = subprocess.Popen(
            _pytest_command(pending, settings, work, scratch),
            stdout=log,
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
                    result = json.loads(result_path.read_text())
                    if result.get("run") != grading["submission"]["run"]:
                        continue
                    new[result_path] = result
                    failed += any(
                        q["status"] not in ("passed", "manual") for q in result["questions"]
                    )
                    bar.update(1)
                    bar.set_postfix(graded=len(new), failed=failed)
                if time.monotonic() - last_report > 5:
                    write_reports(out, done + list(new.values()))
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
            new[result_path] = _result(grading["submission"], found, "error", message)
    return list(new.values())
