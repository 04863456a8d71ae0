"""The ``rwlib`` command (also ``python -m rwlib``): the course's maintenance commands."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

# What rwlib[instructor] adds to a student's install (module names): the instructor's commands
# say so in one line when one is missing, instead of a traceback.
INSTRUCTOR_TOOLS = ("nbformat", "nbclient", "nbval", "pytest", "xdist", "yaml")


def _instructor_tools_missing(command: str) -> bool:
    """Print one line naming the install that ``rwlib COMMAND`` needs, when it is missing."""
    import importlib.util

    missing = [name for name in INSTRUCTOR_TOOLS if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"rwlib {command}: the instructor's tools are not installed ({', '.join(missing)}):"
            " pip install 'rwlib[instructor]'",
            file=sys.stderr,
        )
    return bool(missing)


def _not_linux(command: str) -> bool:
    """Print one line when ``rwlib COMMAND`` cannot run here: it needs POSIX process limits."""
    import importlib.util

    if importlib.util.find_spec("fcntl") and importlib.util.find_spec("resource"):
        return False
    print(
        f"rwlib {command}: grading runs student kernels under Linux's process limits (and "
        "bubblewrap), which this system does not have: grade on Linux, e.g. in WSL or a container",
        file=sys.stderr,
    )
    return True


def _course(args, command: str) -> Path | None:
    """The course folder of ``--course`` (default: the current folder), or None after an error.

    A course folder holds ``solutions/`` (a checkout of the course, or an unpacked copy);
    ``--source`` and ``--out`` default to its folders.
    """
    course = Path(args.course)
    explicit = args.source is not None
    if not explicit and not (course / "solutions").is_dir():
        where = "the current folder" if args.course == "." else str(course)
        print(
            f"rwlib {command}: no course folder found: {where} has no solutions/ folder. Run "
            "this from the course's folder (a checkout, or an unpacked copy of the course), or "
            "pass --course DIR (or --source SOLUTIONS)",
            file=sys.stderr,
        )
        return None
    if not explicit:
        args.source = course / "solutions"
    return course


def _release(args) -> int:
    if _instructor_tools_missing("release"):
        return 1
    from rwlib.hosting import Hosting, HostingError
    from rwlib.release import ReleaseError, release

    course = _course(args, "release")
    if course is None:
        return 1
    out = args.out if args.out is not None else course / "notebooks"
    try:
        hosting = Hosting.from_course(course, args.repository, args.ref)
        written = release(
            args.source,
            out,
            args.notebooks,
            execute=not args.no_execute,
            hosting=hosting,
            readme=course / "README.md",
        )
    except (ReleaseError, HostingError) as error:
        print(f"rwlib release: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _human(size: int) -> str:
    """``4G`` for 4 GiB: the largest unit that divides ``size``."""
    unit = max((u for u, factor in _UNITS.items() if size % factor == 0), key=_UNITS.get)
    return f"{size // _UNITS[unit]}{unit}"


def _smallest(field: str) -> int:
    from rwlib.grading.grade import Settings

    return Settings.SMALLEST.get(field, 1)


def _size(field: str):
    """An argparse type: a size (``4G``, ``512M``, ``64K``, or bytes), at least the smallest."""

    def parse(text: str) -> int:
        number = text.strip().upper().removesuffix("B").removesuffix("I")
        unit = number[-1:] if number[-1:] in _UNITS else ""
        try:
            value = float(number.removesuffix(unit)) * _UNITS[unit] if number else -1.0
        except ValueError:
            value = -1.0
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a size: give bytes, or a number with K, M, G or T (e.g. 4G, 512M)"
            )
        if int(value) < _smallest(field):
            raise argparse.ArgumentTypeError(
                f"{text} is too small: a kernel needs at least {_human(_smallest(field))} to run"
            )
        return int(value)

    return parse


def _count(field: str):
    """An argparse type: a whole number, at least the smallest that lets a kernel run."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < _smallest(field):
            raise argparse.ArgumentTypeError(
                f"{value} is too small: a kernel needs at least {_smallest(field)} to run"
            )
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive, finite number of seconds")
    return value


def _grade(args) -> int:
    if _instructor_tools_missing("grade") or _not_linux("grade"):
        return 1
    from rwlib.grading import sandbox
    from rwlib.grading.grade import GradingError, Settings, grade, summary
    from rwlib.grading.reports import with_hand_grading

    if _course(args, "grade") is None:
        return 1
    timeouts = {}
    for item in args.question_timeout:
        grade_id, _, seconds = item.partition("=")
        try:
            timeouts[grade_id] = float(seconds)
        except ValueError:
            print(
                f"rwlib grade: --question-timeout wants ID=SECONDS, got {item!r}", file=sys.stderr
            )
            return 2
    warning = sandbox.isolation_warning()
    if warning:
        print(f"rwlib grade: WARNING: {warning}", file=sys.stderr)
    try:
        settings = Settings(
            source=args.source,
            workers=args.workers,
            timeout=args.timeout,
            notebook_timeout=args.notebook_timeout,
            question_timeouts=timeouts,
            output_limit=args.output_limit,
            limits=sandbox.Limits(
                memory_bytes=args.memory,
                cpu_seconds=args.cpu_seconds,
                processes=args.processes,
                disk_bytes=args.disk,
            ),
        )
    except ValueError as error:
        print(f"rwlib grade: {error}", file=sys.stderr)
        return 2
    try:
        results = grade(
            args.submissions,
            args.out,
            settings,
            force=args.force,
            roster=args.roster,
            students=tuple(args.student),
            question=args.question,
        )
    except GradingError as error:
        print(f"rwlib grade: {error}", file=sys.stderr)
        return 1
    students = {r.student for r in results}
    print(f"graded {len(results)} notebooks of {len(students)} students into {args.out}")
    print(f"  {args.out / 'gradebook.csv'}, {args.out / 'grades.csv'}, {args.out / 'feedback'}/")
    for status in ("missing", "refused"):
        names = sorted(
            {r.student for r in results if r.questions and r.questions[0].status == status}
        )
        if names:
            print(f"{status}: {len(names)} students have a notebook {status}: {', '.join(names)}")
    for line in summary(args.out):
        print(line)
    waiting = sum(r.to_grade for r in with_hand_grading(args.out, results))
    if waiting:
        print(f"{waiting} written answers to grade by hand: rwlib review {args.out}")
    return 0


def _review(args) -> int:
    from rwlib.grading.review import write_review_notebook

    try:
        path = write_review_notebook(args.grades, args.grader, args.roster, args.anonymous)
    except (FileNotFoundError, ValueError) as error:
        print(f"rwlib review: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}; every grade is saved to {path.parent / 'manual.csv'} as it is made")
    if args.no_lab:
        return 0
    command = [sys.executable, "-m", "jupyterlab", path.name]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.call(command, cwd=path.parent)


def _export(args) -> int:
    from rwlib.grading import export
    from rwlib.grading.files import write_atomically
    from rwlib.grading.roster import RosterError

    ids = {}
    for item in args.assignment_id:
        name, _, number = item.rpartition("=")
        if not name or not number:
            print(f"rwlib export: --assignment-id wants NOTEBOOK=ID, got {item!r}", file=sys.stderr)
            return 2
        ids[name] = number
    try:
        if args.format == "canvas":
            text = export.canvas(args.grades, args.roster, args.total, ids)
        else:
            text = export.wide(args.grades, args.roster)
        waiting = export.waiting(args.grades)
    except (FileNotFoundError, RosterError, export.ExportError) as error:
        print(f"rwlib export: {error}", file=sys.stderr)
        return 1
    write_atomically(args.out, text)
    students = text.count("\n") - (2 if args.format == "canvas" else 1)  # header, points row
    print(f"wrote {args.out} in the {args.format} format: {students} students")
    if waiting:
        print(
            f"WARNING: {waiting} written answers are not graded yet and count 0 here "
            f"(rwlib review {args.grades})",
            file=sys.stderr,
        )
    return 0


def _gradescope(args) -> int:
    if _instructor_tools_missing("gradescope"):
        return 1
    from rwlib.grading.gradescope import GradescopeError, build

    try:
        course = _course(args, "gradescope")
        if course is None:
            return 1
        names = build(
            args.out, args.source, args.notebooks, visibility=args.visibility, course=course
        )
    except GradescopeError as error:
        print(f"rwlib gradescope: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: the Gradescope autograder of {', '.join(names)}")
    return 0


def _gradescope_run(args) -> int:
    if _instructor_tools_missing("gradescope-run") or _not_linux("gradescope-run"):
        return 1
    from rwlib.grading.gradescope import run

    run(args.root, visibility=args.visibility)
    return 0


COURSE_HELP = (
    "the course folder, a checkout or an unpacked copy of the course, holding solutions/ "
    "(default: the current folder)"
)


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="rwlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser(
        "release",
        help="execute solutions/ and write the student copies to notebooks/",
        description="Execute each solution notebook in place and write its student copy "
        "(solutions stubbed, hidden tests removed, executed) to the student folder.",
    )
    release.add_argument("notebooks", nargs="*", help="only these notebooks (default: all)")
    release.add_argument("--course", default=".", metavar="DIR", help=COURSE_HELP)
    release.add_argument("--source", type=Path, help="the solutions (COURSE/solutions)")
    release.add_argument("--out", type=Path, help="the student copies (COURSE/notebooks)")
    release.add_argument("--no-execute", action="store_true", help="write without executing")
    release.add_argument(
        "--repository",
        metavar="URL",
        help="the course's address for the Colab setup cell and the README's launch table "
        "(default: [tool.rwlib] repository in COURSE/pyproject.toml)",
    )
    release.add_argument(
        "--ref", help="the branch or tag students get (default: [tool.rwlib] ref, or main)"
    )
    release.set_defaults(run=_release)
    grade = commands.add_parser(
        "grade",
        help="grade SUBMISSIONS into GRADES (grades.csv, gradebook.csv, feedback/)",
        description="Rebuild each submission from the source notebooks, run it with nbval in a "
        "sandbox, and write grades.csv, gradebook.csv and feedback. Re-running grades only "
        "what is new or changed.",
    )
    grade.add_argument(
        "submissions",
        type=Path,
        help="a folder (or zip) of <student>/, <student>.zip, <student>_<notebook>.ipynb "
        "or an LMS export (Canvas, Moodle, D2L, Blackboard, Gradescope)",
    )
    grade.add_argument("--out", type=Path, required=True, help="the grades folder")
    grade.add_argument("--course", default=".", metavar="DIR", help=COURSE_HELP)
    grade.add_argument("--source", type=Path, help="the source notebooks (COURSE/solutions)")
    grade.add_argument("-n", "--workers", type=int, default=os.cpu_count() or 1, help="(cores)")
    from rwlib.grading.limits import Limits

    limits = Limits()
    grade.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="SECONDS", help="seconds per cell (30)"
    )
    grade.add_argument(
        "--notebook-timeout",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="wall-clock seconds per notebook; then its kernel is ended (300)",
    )
    grade.add_argument(
        "--memory",
        type=_size("memory_bytes"),
        default=limits.memory_bytes,
        metavar="SIZE",
        help="address space of each kernel, e.g. 4G or 512M (4G)",
    )
    grade.add_argument(
        "--cpu-seconds",
        type=_count("cpu_seconds"),
        default=limits.cpu_seconds,
        metavar="N",
        help="CPU seconds of each kernel (600)",
    )
    grade.add_argument(
        "--processes",
        type=_count("processes"),
        default=limits.processes,
        metavar="N",
        help="processes and threads of each kernel, when grading as root (64)",
    )
    grade.add_argument(
        "--disk",
        type=_size("disk_bytes"),
        default=limits.disk_bytes,
        metavar="SIZE",
        help="scratch space of each kernel, a tmpfs (needs bubblewrap >= 0.6) (256M)",
    )
    grade.add_argument(
        "--output-limit",
        type=_size("output_limit"),
        default=1 << 20,
        metavar="SIZE",
        help="bytes a kernel may send per cell, on any channel: output, displays, widgets (1M)",
    )
    grade.add_argument(
        "--question-timeout",
        action="append",
        default=[],
        metavar="ID=SECONDS",
        help="seconds per cell for one question (repeatable)",
    )
    grade.add_argument("--force", action="store_true", help="regrade what is already graded")
    grade.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="ID",
        help="regrade only this student (repeatable); the others keep their stored results",
    )
    grade.add_argument(
        "--question",
        metavar="GRADE_ID",
        help="regrade only this auto-graded question; every other question keeps its result",
    )
    grade.add_argument(
        "--roster",
        type=Path,
        help="CSV with a student column (and name, email, lms_id): every rostered student gets "
        "a gradebook row; files matching no one are listed in GRADES/unmatched.csv",
    )
    grade.set_defaults(run=_grade)
    review = commands.add_parser(
        "review",
        help="grade the written answers in JupyterLab (saved to GRADES/manual.csv)",
        description="Write GRADES/review.ipynb, the review page of the written answers, and "
        "open it in JupyterLab. Every grade is saved to GRADES/manual.csv as it is made; "
        "rwlib grade never writes that file, and every report includes it.",
    )
    review.add_argument("grades", type=Path, help="the grades folder of rwlib grade --out")
    review.add_argument("--roster", type=Path, help="show students by the roster's names")
    review.add_argument("--anonymous", action="store_true", help="show no names, for blind grading")
    review.add_argument("--grader", help="your name in manual.csv (your login name)")
    review.add_argument(
        "--no-lab", action="store_true", help="only write review.ipynb; do not start JupyterLab"
    )
    review.set_defaults(run=_review)
    export = commands.add_parser(
        "export",
        help="the gradebook for an LMS: canvas (Canvas's import CSV) or wide (one column per "
        "question)",
        description="Export the last run's points, hand grading included, for every rostered "
        "student (0 for one who submitted nothing).",
    )
    export.add_argument("format", choices=("canvas", "wide"))
    export.add_argument("grades", type=Path, help="the grades folder of rwlib grade --out")
    export.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    export.add_argument("--roster", type=Path, help="the roster CSV (required for canvas)")
    export.add_argument(
        "--total",
        metavar="NAME",
        help="canvas: one column NAME with each student's total, not one per notebook",
    )
    export.add_argument(
        "--assignment-id",
        action="append",
        default=[],
        metavar="NOTEBOOK=ID",
        help="canvas: the Canvas assignment id of a notebook's (or the total's) column",
    )
    export.set_defaults(run=_export)
    gradescope = commands.add_parser(
        "gradescope",
        help="write a Gradescope autograder zip (setup.sh, run_autograder, the notebooks, rwlib)",
        description="Write the zip to upload as a Gradescope programming assignment's "
        "autograder. It grades each submission as `rwlib grade` does, one Gradescope test per "
        "auto-graded question; written answers are graded by hand on Gradescope.",
    )
    gradescope.add_argument("--out", type=Path, required=True, help="the zip to write")
    gradescope.add_argument("--course", default=".", metavar="DIR", help=COURSE_HELP)
    gradescope.add_argument("--source", type=Path, help="the source notebooks (COURSE/solutions)")
    gradescope.add_argument(
        "--notebooks", nargs="+", help="the assignment's notebooks (default: all graded ones)"
    )
    gradescope.add_argument(
        "--visibility",
        choices=("hidden", "after_due_date", "after_published", "visible"),
        default="after_published",
        help="when students see the results (after_published)",
    )
    gradescope.set_defaults(run=_gradescope)
    gradescope_run = commands.add_parser(
        "gradescope-run",
        help="what run_autograder runs: grade ROOT/submission into ROOT/results/results.json",
    )
    gradescope_run.add_argument("--root", type=Path, default=Path("/autograder"))
    gradescope_run.add_argument(
        "--visibility",
        choices=("hidden", "after_due_date", "after_published", "visible"),
        default="after_published",
    )
    gradescope_run.set_defaults(run=_gradescope_run)
    args = parser.parse_args(argv)
    if args.command == "export" and args.format == "canvas" and args.roster is None:
        parser.error("export canvas needs --roster: Canvas matches rows by the roster's ids")
    return args.run(args)
