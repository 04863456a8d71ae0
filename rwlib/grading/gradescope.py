"""``rwlib gradescope --out autograder.zip``: the course's notebooks as a Gradescope autograder.

The zip follows Gradescope's autograder specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/). Gradescope
extracts it into ``/autograder/source``; it holds

- ``setup.sh``: run once when Gradescope builds the autograder's image; installs
  Python and bubblewrap, and the bundled ``rwlib`` (with its ``course`` extra)
  into ``/autograder/venv``;
- ``run_autograder``: run for every submission; it runs ``python -m rwlib
  gradescope-run`` (:func:`run`);
- ``solutions/``: the source notebooks, executed, so that their outputs hold the
  reference grading values;
- ``notebooks.txt``: the notebooks a submission should hold, one a line;
- ``package/``: the source of ``rwlib``, to install.

Two builds from the same files are byte-identical (fixed timestamps, sorted entries).

:func:`run` grades one submission with :func:`rwlib.grading.grade.grade`, exactly as
``rwlib grade`` grades a class, and writes ``results/results.json``: one test per
auto-graded question. Written answers are left out: on Gradescope they are
questions of their own, graded by hand.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

from rwlib.grading import intake, sandbox
from rwlib.grading.results import QuestionResult

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
apt-get update
apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
/autograder/venv/bin/python -m pip install "/autograder/source/package[instructor]"
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. RWLIB_PYTHON and AUTOGRADER_ROOT are for tests.
set -euo pipefail
exec "${{RWLIB_PYTHON:-/autograder/venv/bin/python}}" -m rwlib gradescope-run \\
    --root "${{AUTOGRADER_ROOT:-/autograder}}" --visibility {visibility}
"""


class GradescopeError(RuntimeError):
    """The autograder cannot be built; the message says why."""


def _questions(folder: Path) -> dict[str, list[dict]]:
    """The questions of every source notebook in ``folder`` that has any, by notebook name."""
    import nbformat

    found = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        questions = intake.questions(nbformat.read(path, as_version=4))
        if questions:
            found[path.stem] = questions
    return found


def _check_references(path: Path) -> None:
    """The notebook is a valid source: every auto-graded question stores its grading lines."""
    import nbformat

    from rwlib.grading.grade import GradingError, validate_source

    notebook = nbformat.read(path, as_version=4)
    try:
        validate_source(path, notebook, intake.questions(notebook))
    except GradingError as error:
        raise GradescopeError(str(error)) from None


def _package_files(root: Path) -> dict[str, bytes]:
    """pyproject.toml, README.md, LICENSE and rwlib/ (without caches), as ``package/...``."""
    if not (root / "pyproject.toml").is_file() or not (root / "rwlib").is_dir():
        raise GradescopeError(
            f"{root} is not a course folder (no pyproject.toml and rwlib/ in it): pass --course "
            "DIR, a checkout or an unpacked copy of the course, whose rwlib the autograder installs"
        )
    files = {f"package/{n}": (root / n).read_bytes() for n in ("pyproject.toml", "README.md")}
    files["package/LICENSE"] = (root / "LICENSE").read_bytes()
    for path in sorted((root / "rwlib").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"package/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return files


def build(
    out: Path,
    source: Path = Path("solutions"),
    notebooks=None,
    visibility: str = "after_published",
    course: Path | None = None,
) -> list[str]:
    """Write the Gradescope autograder zip; returns the notebooks it grades.

    Parameters
    ----------
    out : pathlib.Path
        The zip to write (``autograder.zip``).
    source : pathlib.Path
        The executed source notebooks (``solutions/``).
    notebooks : list of str, optional
        The notebooks of this assignment (default: every source notebook with questions).
    visibility : str
        When students see the tests' results: one of :data:`VISIBILITIES`.
    course : pathlib.Path, optional
        The course folder whose ``pyproject.toml`` and ``rwlib/`` the autograder
        installs (default: the checkout that holds the imported rwlib, for an
        editable install).

    Returns
    -------
    list of str
        The notebooks' names.

    Examples
    --------
    >>> import tempfile, zipfile
    >>> from pathlib import Path
    >>> out = Path(tempfile.mkdtemp()) / "autograder.zip"
    >>> build(out, notebooks=["02_normalization_factor"])
    ['02_normalization_factor']
    >>> "run_autograder" in zipfile.ZipFile(out).namelist()
    True
    >>> out.unlink(); out.parent.rmdir()
    """
    import rwlib

    if visibility not in VISIBILITIES:
        raise GradescopeError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    source = Path(source)
    available = _questions(source)
    names = [n.removesuffix(".ipynb") for n in notebooks] if notebooks else sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown or not names:
        raise GradescopeError(
            f"no graded notebook {', '.join(unknown)} in {source}; "
            f"there are: {', '.join(available) or 'none'}"
        )
    if course is None:
        course = Path(rwlib.__file__).resolve().parent.parent
    files = {name: (data, 0o644) for name, data in _package_files(Path(course)).items()}
    for name in names:
        _check_references(source / f"{name}.ipynb")
        files[f"solutions/{name}.ipynb"] = ((source / f"{name}.ipynb").read_bytes(), 0o644)
    files["notebooks.txt"] = ("".join(f"{n}\n" for n in names).encode(), 0o644)
    files["setup.sh"] = (SETUP.encode(), 0o755)
    files["run_autograder"] = (RUN.format(visibility=visibility).encode(), 0o755)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, so that the mode below counts
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(out)
    return names


def _test(notebook: str, question: QuestionResult, visibility: str) -> dict:
    """One question as a Gradescope test: only its status and the grader's message."""
    message = question.message
    return {
        "name": f"{notebook}: {question.id}",
        "score": question.score,
        "max_score": question.points,
        # Gradescope knows only these two; the grader's own status starts the output.
        "status": "passed" if question.status == "passed" else "failed",
        "output": question.status + (f": {message}" if message else ""),
        "visibility": visibility,
    }


def _submitted(folder: Path, expected: list[str]) -> tuple[dict, dict, list[str], dict]:
    """What the student uploaded, read as :func:`rwlib.grading.intake.find` reads a student's zip.

    Only regular files are read (a link, FIFO, socket or device is refused unopened);
    renamed notebooks (``-Copy1``, `` (1)``, case, spaces) count; of several files for
    one notebook the latest is graded.

    Returns
    -------
    data : dict
        The bytes of each submitted notebook, by name.
    refused : dict
        Why each notebook that has only refused files is not graded, by name.
    ignored : list of str
        Every file not graded, and why.
    notes : dict
        What the student should know about each notebook (the attempt graded).
    """
    if not folder.is_dir():
        return {}, {}, [], {}
    found = intake.find(folder, expected, owner="student")
    data, refused = {}, {}
    for submission in found.submissions:
        try:
            data[submission.notebook] = submission.read_bytes()
        except intake.MalformedSubmission as error:
            refused[submission.notebook] = f"{submission.origin}: {error}"
    for submission in found.refused:
        message = f"{submission.origin} is {submission.problem}, and was not read; upload the "
        message += "notebook file itself"
        for name in [submission.notebook] if submission.notebook else expected:
            refused.setdefault(name, message)
    names = ", ".join(f"{n}.ipynb" for n in expected)
    ignored = [
        f"{row['file']}: "
        + (f"not one of {names}" if row["reason"] == "not a course notebook" else row["reason"])
        for row in found.skipped
    ]
    notes = {notebook: lines for (_, notebook), lines in found.notes.items()}
    return data, refused, ignored, notes


def run(root: Path = Path("/autograder"), visibility: str = "after_published") -> dict:
    """Grade the submission in ``root/submission``; writes and returns ``results.json``.

    Parameters
    ----------
    root : pathlib.Path
        Gradescope's ``/autograder``: ``source/`` (the extracted zip), ``submission/``
        (the student's files) and ``results/``.
    visibility : str
        The ``visibility`` of every test (one of :data:`VISIBILITIES`).

    Returns
    -------
    dict
        What ``root/results/results.json`` now holds: ``score``, ``output``,
        ``stdout_visibility``, ``visibility`` and one test per auto-graded question
        of each expected notebook (a notebook not submitted scores 0).
    """
    from rwlib.grading.files import write_atomically
    from rwlib.grading.grade import Settings, grade, unrun_result

    root = Path(root)
    source = root / "source" / "solutions"
    questions = _questions(source)
    listed = root / "source" / "notebooks.txt"
    expected = listed.read_text().split() if listed.is_file() else sorted(questions)
    found, refused, ignored, notes = _submitted(root / "submission", expected)
    warning = sandbox.isolation_warning()
    if warning:
        print(f"rwlib gradescope-run: WARNING: {warning}")
    if sandbox.own_user_ids():
        # Kernels run as user ids of their own: they must not read the solutions, even
        # where bubblewrap cannot hide them (a container that allows no namespaces).
        os.chmod(root / "source", 0o700)
        print(f"rwlib gradescope-run: made {root / 'source'} private (700) for the kernels")
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        student = work / "submissions" / "student"
        student.mkdir(parents=True)
        for name, data in found.items():
            (student / f"{name}.ipynb").write_bytes(data)
        settings = Settings(source=source, workers=1)
        results = grade(work / "submissions", work / "grades", settings, progress=False)
        log = work / "grades" / ".work" / "pytest.log"
        if any(q.status == "error" for r in results for q in r.questions) and log.exists():
            print("pytest.log of the grading run:\n" + log.read_text()[-20_000:])
    by_name = {r.notebook: r for r in results if r.questions[0].status != "missing"}
    tests, lines, manual = [], [], []
    for name in expected:
        result = by_name.get(name)
        if result is None:
            status = "refused" if name in refused else "missing"
            message = refused.get(name, f"{name}.ipynb was not submitted")
            lines.append(f"{name}: {message} (upload {name}.ipynb); its questions score 0")
            identity = {"student": "student", "notebook": name}
            graded = unrun_result(identity, questions[name], status, message).questions
        else:
            graded = result.questions
            lines += [f"{name}: {note}" for note in (*result.notes, *notes.get(name, ()))]
        manual += [f"{q.id} ({q.points:g} points)" for q in graded if q.manual]
        tests += [_test(name, q, visibility) for q in graded if not q.manual]
    lines += [f"ignored {item}" for item in ignored]
    if manual:
        lines.append(
            "Written answers are graded by hand, as separate Gradescope questions, and are not "
            f"in this score: {', '.join(manual)}"
        )
    score = sum(test["score"] for test in tests)
    maximum = sum(test["max_score"] for test in tests)
    lines.insert(0, f"Auto-graded points: {score:g} of {maximum:g}.")
    report = {
        "score": score,
        "output": "\n".join(lines),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    write_atomically(root / "results" / "results.json", json.dumps(report, indent=1) + "\n")
    for test in tests:
        print(f"{test['score']:g}/{test['max_score']:g}  {test['name']}  {test['output']}")
    print("\n".join(lines))
    return report
