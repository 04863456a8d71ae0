"""Every limit of ``rwlib grade`` holds, and no submission can stall, crash or slow the batch.

Each limit is lowered, one at a time, for a submission that stays within the
default: with the defaults it passes, with the lowered limit it does not. The
notebooks are small: three questions of lesson 02, in a source folder of their
own. Then the cases that used to hang, crash or leak: a cell that keeps
printing and ignores interrupts, a notebook that fills its scratch space or
sends huge widget messages, a process left behind without bubblewrap, a full
disk. Timings are never asserted; a generous subprocess timeout guards against a
hang only.
"""

from __future__ import annotations

import copy
import csv
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import nbval.kernel
import pytest
import tomllib

from rwlib import cli
from rwlib.grading import runner, sandbox
from rwlib.grading.grade import Settings, grade
from rwlib.hosting import SETUP_TAG

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.grader  # every test here runs rwlib grade
NAME = "02_normalization_factor"
QUESTIONS = ("02-z-three-outputs", "02-shift-to-z-one", "02-log-pi-star-tiny")
FIRST = QUESTIONS[0]
HANG_GUARD = 600  # seconds: only so that a hang fails the test instead of stalling the suite

AS_ROOT = pytest.mark.skipif(not sandbox.own_user_ids(), reason="needs per-kernel user ids (root)")
SIZED_TMPFS = pytest.mark.skipif(
    not sandbox.sized_tmpfs(), reason="needs bubblewrap >= 0.6 (a sized tmpfs for scratch space)"
)


def _grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A source folder with a small lesson 02: its setup cell and three questions."""
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    keep = {*QUESTIONS, *(f"{q}-answer" for q in QUESTIONS)}
    small = copy.deepcopy(solution)
    setup = next(  # the imports (the cell before them installs rwlib on Colab only)
        c
        for c in solution.cells
        if c.cell_type == "code" and SETUP_TAG not in c.metadata.get("tags", [])
    )
    small.cells = [setup] + [c for c in solution.cells if _grade_id(c) in keep]
    folder = tmp_path_factory.mktemp("source")
    nbformat.write(small, folder / f"{NAME}.ipynb")
    return folder


def _notebook(source: Path, prepend: dict[str, str] | None = None):
    """The source notebook with ``code`` run first in some answer cells ({question: code})."""
    notebook = nbformat.read(source / f"{NAME}.ipynb", as_version=4)
    for question, code in (prepend or {}).items():
        (cell,) = [c for c in notebook.cells if _grade_id(c) == f"{question}-answer"]
        cell.source = code + "\n" + cell.source
    return notebook


def _write(submissions: Path, students: dict) -> None:
    for student, notebook in students.items():
        (submissions / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, submissions / student / f"{NAME}.ipynb")


def _statuses(results) -> dict[str, dict[str, str]]:
    return {r.student: {q.id: q.status for q in r.questions} for r in results}


def _messages(results) -> dict[str, dict[str, str]]:
    return {r.student: {q.id: q.message for q in r.questions} for r in results}


def _cli(submissions: Path, out: Path, source: Path, *options: str, env=None, prefix=()):
    """``rwlib grade`` in a subprocess (after ``prefix``, if any); (return code, stderr)."""
    command = [*prefix, sys.executable, "-m", "rwlib", "grade", str(submissions)]
    command += ["--out", str(out), "--source", str(source), "-n", "1", *options]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=HANG_GUARD, env=env or os.environ
    )
    return done.returncode, done.stderr


def _grades(out: Path) -> dict[str, dict[str, str]]:
    """grades.csv as {student: {question: status}}."""
    with open(out / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row["student"], {})[row["question"]] = row["status"]
    return found


# ---------------------------------------------------------------- each limit, lowered

# Each case: what the student's first answer cell runs first, the option that lowers the
# limit below what that code needs (it stays within the default), and what then happens.
THREADS = """
import threading
release = threading.Event()
threads = [threading.Thread(target=release.wait) for _ in range(30)]
for thread in threads:
    thread.start()
release.set()
for thread in threads:
    thread.join()
"""
LIMITED = {
    "timeout": ("import time\ntime.sleep(5)", ["--timeout", "2"], "timeout", "time limit"),
    "memory": (
        "import numpy as np\nbuffer = np.empty(1_500_000_000, dtype=np.uint8)",
        ["--memory", "1G"],
        "error",
        "MemoryError",
    ),
    "cpu_seconds": (
        "import time\nwhile time.process_time() < 4:\n    pass",
        ["--cpu-seconds", "2"],
        "error",
        "kernel died",
    ),
    "processes": (THREADS, ["--processes", "24"], "error", "RuntimeError"),
    "disk": (
        "with open('big.bin', 'wb') as file:\n    file.write(bytes(32 << 20))",
        ["--disk", "16M"],
        "error",
        "OSError",
    ),
    "output": ("print('x' * 300_000)", ["--output-limit", "128K"], "error", "printed more than"),
    "comm_message": (
        "import comm\ncomm.create_comm(target_name='rwlib-test').send({'x': 'y' * 300_000})",
        ["--output-limit", "128K"],
        "error",
        "printed more than",
    ),
}
NEEDS = {"processes": AS_ROOT, "disk": SIZED_TMPFS}
# The notebook limit: three answers of 3 s each, against a notebook limit of 4 s.
SLOW = "import time\ntime.sleep(3)"


@pytest.fixture(scope="module")
def within_defaults(source, tmp_path_factory):
    """Every case of LIMITED, and the slow notebook, graded once with the default limits."""
    tmp = tmp_path_factory.mktemp("defaults")
    students = {case: _notebook(source, {FIRST: code}) for case, (code, *_) in LIMITED.items()}
    students["notebook_timeout"] = _notebook(source, dict.fromkeys(QUESTIONS, SLOW))
    _write(tmp / "submissions", students)
    results = grade(tmp / "submissions", tmp / "grades", Settings(source=source), progress=False)
    return _statuses(results)


def _case(case):
    return pytest.param(case, marks=NEEDS[case]) if case in NEEDS else case


@pytest.mark.parametrize("case", [_case(c) for c in LIMITED])
def test_lowering_a_limit_changes_the_verdict(case, source, within_defaults, tmp_path):
    code, option, status, words = LIMITED[case]
    assert within_defaults[case][FIRST] == "passed"
    _write(tmp_path / "submissions", {case: _notebook(source, {FIRST: code})})
    returncode, stderr = _cli(tmp_path / "submissions", tmp_path / "grades", source, *option)
    assert returncode == 0, stderr
    results = json.loads(
        (tmp_path / "grades" / ".work" / "results" / case / f"{NAME}.json").read_text()
    )
    (first,) = [q for q in results["questions"] if q["id"] == FIRST]
    assert (first["status"], words in first["message"]) == (status, True), first


def test_lowering_the_notebook_timeout_times_out_what_did_not_run(
    source, within_defaults, tmp_path
):
    assert set(within_defaults["notebook_timeout"].values()) == {"passed"}
    _write(
        tmp_path / "submissions",
        {"slow": _notebook(source, dict.fromkeys(QUESTIONS, SLOW)), "honest": _notebook(source)},
    )
    returncode, stderr = _cli(
        tmp_path / "submissions", tmp_path / "grades", source, "--notebook-timeout", "4"
    )
    assert returncode == 0, stderr
    grades = _grades(tmp_path / "grades")
    assert grades["slow"][QUESTIONS[-1]] == "timeout"
    assert set(grades["honest"].values()) == {"passed"}
    feedback = (tmp_path / "grades" / "feedback" / "slow" / f"{NAME}.md").read_text()
    assert "notebook ran longer than its 4 s time limit" in feedback


# ---------------------------------------------------------------- what used to hang or crash

# Ignores the interrupt and prints every 4 s, under nbval's 5 s wait for output.
SLOW_PRINTER = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    print("still working", flush=True)
    time.sleep(4)
"""


def test_a_cell_that_keeps_printing_and_ignores_interrupts_times_out(source, tmp_path):
    """It used to outlive every limit, and the notebook queued behind it got an error."""
    students = {"a_printer": _notebook(source, {FIRST: SLOW_PRINTER})}
    students["b_honest"] = _notebook(source)
    _write(tmp_path / "submissions", students)
    returncode, stderr = _cli(
        tmp_path / "submissions", tmp_path / "grades", source, "--timeout", "3"
    )
    assert returncode == 0, stderr
    grades = _grades(tmp_path / "grades")
    assert grades["a_printer"][FIRST] == "timeout"
    assert set(grades["b_honest"].values()) == {"passed"}
    results = tmp_path / "grades" / ".work" / "results"
    # One worker: the honest notebook was graded after the printer, on the same worker.
    printer, honest = (results / s / f"{NAME}.json" for s in ("a_printer", "b_honest"))
    assert printer.stat().st_mtime_ns <= honest.stat().st_mtime_ns


FILLER = """
import itertools
for n in itertools.count():
    with open(f"filler-{n}.bin", "wb") as file:
        file.write(bytes(16 << 20))
"""


@SIZED_TMPFS
def test_a_notebook_that_fills_its_scratch_space_gets_an_error_and_the_batch_finishes(
    source, tmp_path
):
    students = {"filler": _notebook(source, {FIRST: FILLER}), "honest": _notebook(source)}
    _write(tmp_path / "submissions", students)
    results = grade(tmp_path / "submissions", tmp_path / "grades", Settings(source=source))
    statuses, messages = _statuses(results), _messages(results)
    assert statuses["filler"][FIRST] == "error" and "OSError" in messages["filler"][FIRST]
    assert set(statuses["honest"].values()) == {"passed"}
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as file:
        book = {row["student"]: row for row in csv.DictReader(file)}
    assert set(book) == {"filler", "honest"} and book["honest"]["total"] == book["honest"]["max"]


SOCKET_FILLER = """
import os
with open("/proc/self/cmdline") as cmdline:  # the kernel's command line
    argv = cmdline.read().split("\\0")
connection_file = argv[argv.index("-f") + 1]
for path in (os.path.join(os.path.dirname(connection_file), "filler.bin"), connection_file):
    try:
        with open(path, "ab") as file:
            file.write(bytes(1 << 20))
    except OSError:
        continue
    raise RuntimeError(f"could write into {path}")
"""


@AS_ROOT
def test_a_kernel_cannot_write_into_its_socket_folder(source, tmp_path):
    """The socket folder is on the host's disk: once the kernel is ready, it is root's."""
    _write(tmp_path / "submissions", {"socket_filler": _notebook(source, {FIRST: SOCKET_FILLER})})
    results = grade(tmp_path / "submissions", tmp_path / "grades", Settings(source=source))
    assert _statuses(results)["socket_filler"][FIRST] == "passed", _messages(results)


HUGE_COMM = """
import comm
import numpy as np
channel = comm.create_comm(target_name="rwlib-test")
for _ in range(3):  # 400 MB each, from pages of zeros: the kernel itself stays small
    channel.send({}, buffers=[memoryview(np.zeros(400 << 20, dtype=np.uint8))])
"""
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(done.returncode)
"""


def test_huge_widget_messages_never_reach_the_graders_memory(source, tmp_path):
    """Three 400 MB comm messages took the grader's pytest process to 3.5 GB."""
    students = {"huge": _notebook(source, {FIRST: HUGE_COMM}), "honest": _notebook(source)}
    _write(tmp_path / "submissions", students)
    command = [sys.executable, "-c", PEAK, sys.executable, "-m", "rwlib", "grade"]
    command += [str(tmp_path / "submissions"), "--out", str(tmp_path / "grades")]
    command += ["--source", str(source), "-n", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD)
    assert done.returncode == 0, done.stderr
    grades = _grades(tmp_path / "grades")
    assert grades["huge"][FIRST] == "error" and set(grades["honest"].values()) == {"passed"}
    feedback = (tmp_path / "grades" / "feedback" / "huge" / f"{NAME}.md").read_text()
    assert "printed more than 1,048,576 bytes" in feedback
    # The largest process of the run (the grader, pytest, every kernel) held far less than
    # one of those messages: none of them was ever received.
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 400 << 10, f"a process of the run peaked at {peak_kib >> 10} MiB"


# ---------------------------------------------------------------- without bubblewrap

LEAVE_BEHIND = """
import os, subprocess
# A process in a session of its own, out of reach of the kernel's process group.
child = subprocess.Popen(["sleep", "600"], start_new_session=True)
with open(os.path.join({folder!r}, f"{{os.getuid()}}.pid"), "w") as file:
    file.write(str(child.pid))
"""


def _python_open_to_others() -> list[str]:
    """A command prefix under which other users can reach this Python, as a kernel's user id must.

    Without bubblewrap, grading as root refuses a Python that other users cannot
    reach (e.g. one under /root). Then the grader runs in a mount namespace of its
    own where each closed folder on the way is an open tmpfs holding just the
    Python's folder: the processes, the user ids and /proc stay the machine's.
    """
    hidden = sandbox.hidden_from_other_users()
    if not hidden:
        return []
    if sandbox.bubblewrap() is None or any(not os.stat(p).st_mode & 0o004 for p in hidden):
        pytest.skip(f"{hidden} cannot be reached by other users, as grading without bwrap needs")
    prefix = [sandbox.bubblewrap(), "--dev-bind", "/", "/"]
    for path in hidden:
        for folder in list(reversed(path.parents))[1:]:
            if not os.stat(folder).st_mode & 0o001:
                inside = folder / path.relative_to(folder).parts[0]
                prefix += ["--perms", "0755", "--tmpfs", str(folder)]
                prefix += ["--dev-bind", str(inside), str(inside)]
                break
    return [*prefix, "--"]


@AS_ROOT
def test_without_bubblewrap_nothing_a_kernel_leaves_behind_survives_and_ids_are_never_reused(
    source, tmp_path
):
    environment = {**os.environ, "RWLIB_NO_BUBBLEWRAP": "1"}
    prefix = _python_open_to_others()
    folder = Path(tempfile.mkdtemp())  # not tmp_path: a kernel's own user id cannot reach it
    try:
        os.chmod(folder, 0o1777)
        code = LEAVE_BEHIND.format(folder=str(folder))
        runs = []
        for run in range(2):
            _write(tmp_path / f"submissions{run}", {"leaver": _notebook(source, {FIRST: code})})
            returncode, stderr = _cli(
                tmp_path / f"submissions{run}",
                tmp_path / f"grades{run}",
                source,
                env=environment,
                prefix=prefix,
            )
            assert returncode == 0, stderr
            assert "WITHOUT the sandbox" in stderr  # the fallback did run
            assert set(_grades(tmp_path / f"grades{run}")["leaver"].values()) == {"passed"}
            uids = {int(path.stem) for path in folder.glob("*.pid")} - {u for u, _ in runs}
            (uid,) = uids
            runs.append((uid, int((folder / f"{uid}.pid").read_text())))
    finally:
        shutil.rmtree(folder)
    for uid, pid in runs:
        assert sandbox.processes_of(uid) == [], f"a process of user id {uid} is still running"
        assert not _alive(pid)
    assert runs[0][0] != runs[1][0]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (not a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as file:
            return "\nState:\tZ" not in file.read()
    except FileNotFoundError:
        return False


@AS_ROOT
def test_user_ids_come_from_one_counter_and_are_never_handed_out_twice():
    script = "from rwlib.grading import sandbox\n"
    script += "print(*[sandbox.allocate_uid() for _ in range(50)])"
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=HANG_GUARD)[0] for p in processes]
    allocated = [int(uid) for output in outputs for uid in output.split()]
    assert len(allocated) == len(set(allocated)) == 200
    assert min(allocated) >= sandbox.FIRST_UID
    assert sandbox.allocate_uid() > max(allocated)
    folder = sandbox._uid_folder()
    info = os.lstat(folder)
    assert info.st_uid == 0 and not info.st_mode & 0o022


# ---------------------------------------------------------------- a full disk

FULL_DISK = """
import json, os, sys
from pathlib import Path
from rwlib.grading.grade import GradingError, Settings, grade

source, submissions, disk, report = map(Path, sys.argv[1:5])
out, ballast = disk / "grades", disk / "ballast.bin"
settings = Settings(source=source, workers=1)
found = {}


def attempt(name):
    try:
        grade(submissions, out, settings, progress=False)
        found[name] = "ok"
    except GradingError as error:
        found[name] = str(error)
    results = out / ".work" / "results"
    found[name + " results"] = {
        p.parent.name: p.read_text() for p in results.rglob("*.json")
    }
    found[name + " temporary"] = sorted(
        str(p) for p in out.rglob("*") if p.is_file() and p.name.startswith(".")
    )
    found[name + " rebuilt"] = (out / ".work" / "rebuilt").exists()


attempt("first")
with open(ballast, "wb") as file:  # the disk fills up
    try:
        while True:
            file.write(bytes(1 << 16))
            file.flush()
    except OSError:
        pass
attempt("nothing new")
(submissions / "ben").mkdir()
(submissions / "ben" / sys.argv[5]).write_bytes((submissions / "ann" / sys.argv[5]).read_bytes())
attempt("one new")
ballast.unlink()
attempt("space again")
found["gradebook"] = (out / "gradebook.csv").read_text()
report.write_text(json.dumps(found))
"""


@pytest.mark.skipif(sandbox.bubblewrap() is None, reason="needs bwrap for a small private disk")
def test_a_full_disk_is_a_clear_error_and_keeps_every_result(source, tmp_path):
    _write(tmp_path / "submissions", {"ann": _notebook(source)})
    disk = tmp_path / "disk"
    disk.mkdir()
    (tmp_path / "full_disk.py").write_text(FULL_DISK)
    # A mount namespace of its own, with an 8 MiB tmpfs as the disk GRADES is on.
    command = [sandbox.bubblewrap(), "--dev-bind", "/", "/", "--size", str(8 << 20)]
    command += ["--tmpfs", str(disk), "--", sys.executable, str(tmp_path / "full_disk.py")]
    command += [str(source), str(tmp_path / "submissions"), str(disk)]
    command += [str(tmp_path / "report.json"), f"{NAME}.ipynb"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD)
    assert done.returncode == 0, done.stderr
    found = json.loads((tmp_path / "report.json").read_text())
    assert found["first"] == "ok"
    for attempt in ("nothing new", "one new"):
        message = found[attempt]
        assert "no space left" in message and str(disk / "grades") in message, message
        assert "every result already graded is kept" in message
        assert found[f"{attempt} results"] == found["first results"]  # nothing lost
        assert found[f"{attempt} temporary"] == [] and not found[f"{attempt} rebuilt"]
    assert found["space again"] == "ok"
    # ann was not graded again: her result is the one of the first run.
    assert found["space again results"]["ann"] == found["first results"]["ann"]
    assert {line.split(",")[0] for line in found["gradebook"].splitlines()[1:]} == {"ann", "ben"}


# ---------------------------------------------------------------- settings, options, nbval


def test_every_setting_that_changes_a_grade_changes_the_cache_key():
    base = Settings()
    changed = {
        "timeout": 31.0,
        "notebook_timeout": 301.0,
        "question_timeouts": {FIRST: 5.0},
        "output_limit": 2 << 20,
    }
    keys = {base.key()}
    for field, value in changed.items():
        keys.add(Settings(**{field: value}).key())
    for field in sandbox.Limits.__dataclass_fields__:
        value = getattr(base.limits, field) * 2
        limits = sandbox.Limits(**{field: value})
        keys.add(Settings(limits=limits).key())
    assert len(keys) == 1 + len(changed) + len(sandbox.Limits.__dataclass_fields__)
    assert Settings(workers=7).key() == base.key()  # how fast is not what is graded
    assert Settings(timeout=30).key() == base.key()
    assert Settings.from_dict(json.loads(json.dumps(base.to_dict()))) == base


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--memory", "lots", "is not a size"),
        ("--memory", "10M", "at least 512M"),
        ("--disk", "0", "is not a size"),
        ("--disk", "1K", "at least 4M"),
        ("--output-limit", "100", "at least 64K"),
        ("--cpu-seconds", "1.5", "not a whole number"),
        ("--processes", "4", "at least 16"),
        ("--timeout", "0", "positive, finite"),
        ("--notebook-timeout", "inf", "positive, finite"),
    ],
)
def test_the_command_line_refuses_a_limit_a_kernel_cannot_run_under(
    option, value, words, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["grade", str(tmp_path), "--out", str(tmp_path / "g"), option, value])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}" in error and words in error, error


# What the plugin replaces in nbval, as nbval 0.11 defines it (pyproject.toml pins the range).
NBVAL_SIGNATURES = {
    "start_new_kernel": "(startup_timeout=60, kernel_name='python', **kwargs)",
    "await_reply": "(self, msg_id, timeout=None)",
    "get_message": "(self, stream, timeout=None)",
    "execute_cell_input": "(self, cell_input, allow_stdin=None)",
}


def test_the_nbval_names_the_plugin_replaces_still_exist_as_it_expects():
    """Fails when nbval renames, re-signs or stops calling what runner.py patches."""
    from importlib.metadata import version

    from nbval import plugin
    from packaging.specifiers import SpecifierSet

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = pyproject["optional-dependencies"].values()
    pins = {pin for extra in extras for pin in extra if pin.startswith("nbval")}
    assert pins == {"nbval>=0.11,<0.12"}, "pin nbval to the range these signatures hold for"
    assert version("nbval") in SpecifierSet(pins.pop().removeprefix("nbval"))
    assert set(runner.ORIGINALS) == set(runner.PATCHED) == set(NBVAL_SIGNATURES)
    for name, (owner, replacement) in runner.PATCHED.items():
        original = runner.ORIGINALS[name]
        assert owner in (nbval.kernel, nbval.kernel.RunningKernel)
        assert getattr(owner, name, None) in (original, replacement), name
        assert str(inspect.signature(original)) == NBVAL_SIGNATURES[name], name
        assert list(inspect.signature(replacement).parameters) == list(
            inspect.signature(original).parameters
        ), name
    # ...and nbval still reaches them the way the plugin relies on.
    assert "start_new_kernel(" in inspect.getsource(nbval.kernel.RunningKernel.__init__)
    runtest = inspect.getsource(plugin.IPyNbCell.runtest)
    for call in ("execute_cell_input(", "await_reply(", "get_kernel_message("):
        assert call in runtest, call
    assert "get_message(" in inspect.getsource(plugin.IPyNbFile.get_kernel_message)
