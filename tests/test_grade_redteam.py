"""The red-team suite of ``rwlib grade``: cheats, crashes and malformed files in one batch.

One batch of submissions of notebook 02 is graded once, with two workers, as an
instructor would: honest students next to every cheat the issue lists. Each
submission has the points it earns honestly; a cheat must earn nothing more,
the honest students must be graded right, and no file outside the kernels'
scratch directories may change.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import nbformat
import pytest

from rwlib.grading import sandbox
from rwlib.grading.grade import Settings, grade
from rwlib.grading.intake import questions
from rwlib.release import student_notebook

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.grader  # every test here runs rwlib grade
NAME = "02_normalization_factor"
SOURCE = ROOT / "solutions" / f"{NAME}.ipynb"
POINTS = {
    "02-z-three-outputs": 2,
    "02-shift-to-z-one": 2,
    "02-beta-for-z-3": 3,
    "02-log-pi-star-tiny": 2,
    "02-z-from-scratch": 3,
}
FULL = sum(POINTS.values())
WRITTEN_POINTS = sum(
    q["points"] for q in questions(nbformat.read(SOURCE, as_version=4)) if q["manual"]
)
Z_FROM_SCRATCH_HEAD = "def z_from_scratch(ref, rewards, beta):"
WRONG_Z_THREE = (
    "ref_three = np.array([0.5, 0.3, 0.2])\nrewards_three = np.array([1.0, 0.0, -1.0])\n"
    "z_three = rw.normalization_factor(ref_three, rewards_three, beta=1.0)"
)


def _solution():
    return nbformat.read(SOURCE, as_version=4)


def _answer(notebook, question):
    (cell,) = [
        c
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == f"{question}-answer"
    ]
    return cell


def _edited(edits=None, notebook=None):
    """The solution with some answer cells' sources replaced ({question: source})."""
    notebook = copy.deepcopy(notebook or _solution())
    for question, source in (edits or {}).items():
        _answer(notebook, question).source = source
    return notebook


def _prepend(question, code, notebook=None):
    """The solution with ``code`` run at the start of one answer cell."""
    notebook = notebook or _solution()
    return _edited({question: code + "\n" + _answer(notebook, question).source}, notebook)


def _fork_bomb_allowed() -> str | None:
    """None when a sandboxed process provably cannot exceed its process limit, else why not."""
    if not sandbox.own_user_ids():
        return "the kernel cannot run as a user of its own (not root, or no bubblewrap)"
    limits = sandbox.Limits()
    probe = (
        "import os, time\n"
        "n = 0\n"
        f"for _ in range({4 * limits.processes}):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(3); os._exit(0)\n"
        "        n += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print(n)\n"
    )
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"rwlib-probe-{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    uid = sandbox.allocate_uid()
    os.chown(scratch, uid, uid)
    command = sandbox.command([sys.executable, "-c", probe], scratch, limits, uid)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    scratch.rmdir()
    forked = int(done.stdout.strip() or 10**6)
    if forked >= limits.processes:
        return f"the process limit did not hold: a probe forked {forked} processes"
    return None


def _tree_digest(*folders: Path) -> dict[str, str]:
    """sha256 of every file under the folders."""
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


class _Bait:
    """What a pickle-bearing zip holds: unpickling it would create a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade the whole batch once; the results by student, and what the cheats left behind."""
    tmp = tmp_path_factory.mktemp("redteam")
    submissions, out, outside = tmp / "submissions", tmp / "grades", tmp / "outside"
    outside.mkdir()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    connections = []

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(connection)
            connection.sendall(b"4.021595106112647\n")  # the right z_three, if asked

    threading.Thread(target=serve, daemon=True).start()

    solution = _solution()
    blank = student_notebook(solution, NAME)
    other_student = submissions / "honest" / f"{NAME}.ipynb"
    read_cheat = f"""
import glob
stolen = ""
paths = [{str(SOURCE)!r}, {str(other_student)!r}]
for path in paths + glob.glob({str(ROOT / "solutions")!r} + "/*"):
    try:
        stolen += open(path).read()
    except OSError:
        pass
z_three = 4.021595106112647 if "grading values" in stolen else 0.0
"""
    write_cheat = f"""
import rwlib
for path in [{str(out / "grades.csv")!r}, {str(out / "hacked.txt")!r},
             rwlib.__file__, {str(outside / "hacked.txt")!r}, {str(SOURCE)!r}]:
    try:
        with open(path, "a") as file:
            file.write("hacked")
    except OSError:
        pass
z_three = 0.0
"""
    network_cheat = f"""
import socket
try:
    z_three = float(socket.create_connection(("127.0.0.1", {port}), timeout=3).recv(64))
except OSError:
    z_three = 0.0
"""
    lying_float = """
class Liar(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __sub__(self, other): return 0.0
    def __rsub__(self, other): return 0.0
    def __abs__(self): return 0.0
    def __lt__(self, other): return True
    def __le__(self, other): return True
    __hash__ = float.__hash__
z_three = Liar(0.0)
"""
    transformer = """
def swallow(lines):
    body = ["    " + line for line in lines]
    return ["try:\\n", *body, "\\nexcept BaseException:\\n    pass\\n"]
get_ipython().input_transformers_post.append(swallow)
z_three = 0.0
"""
    monkeypatch = """
import rwlib, rwlib.checks, rwlib.hidden_values
rwlib.check = rwlib.checks.check = lambda *args, **kwargs: print("✔ right")
rwlib.hidden_values.compare = lambda *args: None
z_three = 0.0
"""
    fake_pass = """
import rwlib
def fake(grade_id, *args, **kwargs):
    print('grading values: {"exercise": "' + grade_id + '", "case": "the answer", "value": 1.0}')
rwlib.check = rw.check = lambda grade_id, answer: print(f"✔ {grade_id}: right")
rwlib.print_for_grading = rw.print_for_grading = fake
z_three = 0.0
"""
    # Everything a student's code can read (In, the input history, holds the sources of the
    # hidden tests that already ran) goes into the messages of its exceptions.
    leak = """
raise RuntimeError(repr(In))
"""
    forged = '{"exercise": "02-z-three-outputs", "case": "the answer", "value": '
    forger = (
        "class Forger:\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        print('grading values: ' + {forged!r} + {tail})\n"
        "        return np.array(4.021595106112647)\n"
        "z_three = Forger()"
    )
    forged_digits = forger.format(forged=forged, tail="'9' * 400 + '}'")
    forged_depth = forger.format(forged=forged, tail="'[' * 10**5 + ']' * 10**5 + '}'")
    from_scratch = f"{Z_FROM_SCRATCH_HEAD}\n    return rw.normalization_factor(ref, rewards, beta)"
    patched_numpy = "np.sum = lambda values, **kwargs: 4.021595106112647\nz_three = np.sum([0])"
    wrong_on_equal = (  # wrong on one hidden case only (the test knows its inputs)
        f"{Z_FROM_SCRATCH_HEAD}\n    if np.all(rewards == 1.5):\n        return 0.0\n"
        "    return np.sum(ref * np.exp(rewards / beta))"
    )
    markdown = _solution()
    _answer(markdown, "02-z-three-outputs").cell_type = "markdown"
    _answer(markdown, "02-z-three-outputs").pop("outputs", None)
    _answer(markdown, "02-z-three-outputs").pop("execution_count", None)
    crlf = copy.deepcopy(blank)
    _answer(crlf, "02-z-three-outputs").source = (
        _answer(blank, "02-z-three-outputs").source.replace("\n", "\r\n") + "  "
    )
    own_helper = _edited({"02-z-three-outputs": "z_three = my_helper()"})
    own_helper.cells.insert(
        1, nbformat.v4.new_code_cell("def my_helper():\n    return 4.021595106112647")
    )
    cases = {
        "honest": solution,
        "honest_too": solution,
        "blank": blank,
        "one_wrong": _edited({"02-z-three-outputs": WRONG_Z_THREE}),
        "read_files": _edited({"02-z-three-outputs": read_cheat}),
        "write_files": _edited({"02-z-three-outputs": write_cheat}),
        "network": _edited({"02-z-three-outputs": network_cheat}),
        "lying_float": _edited({"02-z-three-outputs": lying_float}),
        "transformer": _edited({"02-z-three-outputs": transformer}),
        "monkeypatch": _edited({"02-z-three-outputs": monkeypatch}),
        "fake_pass": _edited({"02-z-three-outputs": fake_pass}),
        "sys_exit": _prepend("02-z-three-outputs", "import sys\nsys.exit()"),
        "os_exit": _prepend("02-log-pi-star-tiny", "import os\nos._exit(1)"),
        "endless_loop": _prepend("02-z-three-outputs", "while True:\n    pass"),
        "stubborn_loop": _prepend(
            "02-z-from-scratch",
            "while True:\n    try:\n        pass\n    except KeyboardInterrupt:\n        pass",
        ),
        "memory": _prepend("02-z-three-outputs", "huge = np.ones(50_000_000_000 // 8)"),
        "flood": _prepend("02-z-from-scratch", "print('x' * 10_000_000)"),
        "leak": _edited({"02-log-pi-star-tiny": leak}),
        "forged_digits": _edited({"02-z-three-outputs": forged_digits}),
        "forged_depth": _edited({"02-z-three-outputs": forged_depth}),
        "uses_rwlib": _edited({"02-z-from-scratch": from_scratch}),
        "patched_numpy": _edited({"02-z-three-outputs": patched_numpy}),
        "partly_right": _edited({"02-z-from-scratch": wrong_on_equal}),
        "float32": _edited(
            {
                "02-z-three-outputs": WRONG_Z_THREE.replace("=1.0)", "=0.5)")
                + "\nz_three = np.float32(z_three)"
            }
        ),
        "size_one_array": _edited(
            {
                "02-shift-to-z-one": _answer(_solution(), "02-shift-to-z-one").source
                + "\nc_unit_z = np.array([c_unit_z, 0.0])[0:1]"
            }
        ),
        "markdown_answer": markdown,
        "crlf_stub": crlf,
        "own_helper": own_helper,
    }
    # Every test cell deleted, or edited to `pass`, changes nothing: tests come from the source.
    deleted = copy.deepcopy(solution)
    deleted.cells = [c for c in deleted.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    cases["tests_deleted"] = deleted
    edited = _edited({"02-z-three-outputs": WRONG_Z_THREE})
    for cell in edited.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            cell.source = "pass"
    cases["tests_edited_wrong"] = edited
    duplicated = copy.deepcopy(solution)
    answer = _answer(duplicated, "02-z-three-outputs")
    wrong_copy = copy.deepcopy(answer)
    wrong_copy.source = WRONG_Z_THREE
    duplicated.cells.insert(duplicated.cells.index(answer) + 1, wrong_copy)
    cases["duplicated"] = duplicated
    renamed = copy.deepcopy(solution)
    _answer(renamed, "02-shift-to-z-one").metadata["nbgrader"]["grade_id"] = "my-own-id"
    cases["renamed"] = renamed
    three = copy.deepcopy(solution)
    cases["wrong_kernel"] = three
    three.metadata["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    big = copy.deepcopy(solution)
    filler = {"output_type": "stream", "name": "stdout", "text": "y" * (100 << 20)}
    _answer(big, "02-z-three-outputs").outputs = [nbformat.from_dict(filler)]
    cases["huge_output"] = big
    fork_reason = _fork_bomb_allowed()
    if fork_reason is None:
        bomb = (
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
        )
        cases["fork_bomb"] = _prepend("02-z-three-outputs", bomb)
    for student, notebook in cases.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(notebook, submissions / student / f"{NAME}.ipynb")
    (submissions / f"flat_{NAME}.ipynb").write_text(json.dumps(solution))
    (submissions / "not_json").mkdir()
    (submissions / "not_json" / f"{NAME}.ipynb").write_text("this is not a notebook")
    (submissions / "no_cells").mkdir()
    (submissions / "no_cells" / f"{NAME}.ipynb").write_text(
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    )
    (submissions / "nbformat3").mkdir()
    (submissions / "nbformat3" / f"{NAME}.ipynb").write_text(
        json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []})
    )
    # A zip speaks for the student it is named after (tests/test_intake.py has the rest).
    with zipfile.ZipFile(submissions / "zipped.zip", "w") as archive:
        archive.writestr(f"zipped/{NAME}.ipynb", json.dumps(solution))
        archive.writestr(f"pickled/{NAME}.pkl", pickle.dumps(_Bait(outside / "unpickled")))
    (submissions / "notes.txt").write_text("not a submission")
    (submissions / "bom").mkdir()
    (submissions / "bom" / f"{NAME}.ipynb").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(solution).encode()
    )

    watched = [submissions, ROOT / "rwlib", ROOT / "solutions", outside]
    before = _tree_digest(*watched)
    settings = Settings(source=ROOT / "solutions", workers=2, timeout=10)
    results = grade(submissions, out, settings, progress=False)
    listener.close()
    return {
        "results": {r.student: r for r in results},
        "out": out,
        "changed": sorted(
            path for path, digest in _tree_digest(*watched).items() if before.get(path) != digest
        ),
        "connections": connections,
        "outside": outside,
        "fork_reason": fork_reason,
    }


def _points(result) -> dict[str, float]:
    return {q.id: q.score for q in result.auto}


def _status(result, question) -> str:
    return {q.id: q.status for q in result.questions}[question]


def _without(*questions):
    return FULL - sum(POINTS[q] for q in questions)


EARNED = {
    "honest": FULL,
    "honest_too": FULL,
    "flat": FULL,
    "zipped": FULL,
    "blank": 0,
    "one_wrong": _without("02-z-three-outputs"),
    "read_files": _without("02-z-three-outputs"),
    "write_files": _without("02-z-three-outputs"),
    "network": _without("02-z-three-outputs"),
    "lying_float": _without("02-z-three-outputs"),
    "transformer": _without("02-z-three-outputs"),
    # Changing a module is not allowed, nor a from-scratch answer after it.
    "monkeypatch": _without("02-z-three-outputs", "02-z-from-scratch"),
    # It changes rwlib, so its from-scratch answer is not allowed either; its fake lines
    # repeat the true ones in every later check, so each of those fails too.
    "fake_pass": 0,
    "sys_exit": _without("02-z-three-outputs"),
    "os_exit": _without("02-log-pi-star-tiny", "02-z-from-scratch"),  # no kernel after it died
    "endless_loop": _without("02-z-three-outputs"),
    "stubborn_loop": _without("02-z-from-scratch"),
    "memory": _without("02-z-three-outputs"),
    "flood": _without("02-z-from-scratch"),
    "tests_deleted": FULL,
    "tests_edited_wrong": _without("02-z-three-outputs"),
    "duplicated": FULL,
    "renamed": _without("02-shift-to-z-one"),
    "huge_output": FULL,
    "wrong_kernel": 0,
    "not_json": 0,
    "no_cells": 0,
    "nbformat3": 0,
    "leak": _without("02-log-pi-star-tiny"),
    "forged_digits": _without("02-z-three-outputs"),
    "forged_depth": _without("02-z-three-outputs"),
    "uses_rwlib": _without("02-z-from-scratch"),
    # Changing numpy in an answer cell is not allowed, and nor is a from-scratch answer
    # after it (it would run with the changed numpy).
    "patched_numpy": _without("02-z-three-outputs", "02-z-from-scratch"),
    "partly_right": FULL - 1,  # one of the three hidden cases of 02-z-from-scratch
    "float32": FULL,
    "size_one_array": FULL,
    "markdown_answer": FULL,
    "crlf_stub": 0,
    "own_helper": _without("02-z-three-outputs"),
    "bom": FULL,
}
# The fork bomb's copies spin until its kernel stops: what it earns after the bomb may vary,
# but never more than its honest answers.
AT_MOST = {"fork_bomb": _without("02-z-three-outputs")}


@pytest.mark.parametrize("student", sorted(EARNED))
def test_each_submission_earns_exactly_what_it_earned_honestly(batch, student):
    result = batch["results"][student]
    assert sum(_points(result).values()) == EARNED[student], result.questions


def test_a_fork_bomb_earns_nothing_and_stops_at_the_process_limit(batch):
    if batch["fork_reason"]:
        pytest.skip(
            f"fork bomb NOT run, so that it cannot take the machine down: {batch['fork_reason']}"
        )
    result = batch["results"]["fork_bomb"]
    assert sum(_points(result).values()) <= AT_MOST["fork_bomb"]
    assert _status(result, "02-z-three-outputs") == "timeout"


@pytest.mark.parametrize(
    ("student", "question", "status", "words"),
    [
        ("blank", "02-z-three-outputs", "unanswered", "not answered"),
        ("one_wrong", "02-z-three-outputs", "failed", "beta = 1"),
        ("sys_exit", "02-z-three-outputs", "not allowed", "imports sys"),
        ("os_exit", "02-log-pi-star-tiny", "error", "kernel died"),
        ("monkeypatch", "02-z-three-outputs", "not allowed", "changes the module rwlib"),
        ("monkeypatch", "02-z-from-scratch", "not allowed", "earlier answer cell"),
        ("transformer", "02-z-three-outputs", "not allowed", "get_ipython"),
        ("lying_float", "02-z-three-outputs", "not allowed", "__hash__"),
        ("endless_loop", "02-z-three-outputs", "timeout", "time limit"),
        ("stubborn_loop", "02-z-from-scratch", "timeout", "time limit"),
        ("memory", "02-z-three-outputs", "error", "MemoryError"),
        ("flood", "02-z-from-scratch", "error", "printed more than"),
        ("not_json", "02-z-three-outputs", "error", "not JSON"),
        ("no_cells", "02-z-three-outputs", "error", "no cells"),
        ("nbformat3", "02-z-three-outputs", "error", "nbformat 3"),
        ("wrong_kernel", "02-z-three-outputs", "error", "'R' kernel"),
        ("renamed", "02-shift-to-z-one", "unanswered", "not answered"),
        ("leak", "02-log-pi-star-tiny", "error", "raised RuntimeError"),
        ("forged_digits", "02-z-three-outputs", "failed", "more than 40 characters"),
        ("uses_rwlib", "02-z-from-scratch", "not allowed", "uses rw"),
        ("forged_depth", "02-z-three-outputs", "failed", "nested deeper"),
        ("uses_rwlib", "02-z-from-scratch", "not allowed", "numpy and math only"),
        ("patched_numpy", "02-z-three-outputs", "not allowed", "changes the module np"),
        ("patched_numpy", "02-z-from-scratch", "not allowed", "earlier answer cell"),
        ("partly_right", "02-z-from-scratch", "partial", "equal rewards"),
        ("crlf_stub", "02-z-three-outputs", "unanswered", "not answered"),
        ("own_helper", "02-z-three-outputs", "error", "NameError"),
    ],
)
def test_status_and_message_say_what_happened(batch, student, question, status, words):
    (entry,) = [q for q in batch["results"][student].questions if q.id == question]
    assert (entry.status, words in entry.message) == (status, True), entry


def test_the_notes_say_which_of_the_students_cells_did_not_run_and_why(batch):
    helper = " ".join(batch["results"]["own_helper"].notes)
    assert "were not run" in helper and "defines my_helper" in helper
    markdown = " ".join(batch["results"]["markdown_answer"].notes)
    assert "02-z-three-outputs-answer" in markdown and "markdown" in markdown


def test_nothing_a_submission_raises_or_reads_reaches_its_feedback(batch):
    """The leak's exceptions carry every earlier cell's source and the hidden inputs."""
    hidden = [
        cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
        for cell in _solution().cells
        if "### BEGIN HIDDEN TESTS" in cell.source
    ]
    texts = [(batch["out"] / "feedback" / "leak" / f"{NAME}.md").read_text()]
    texts.append((batch["out"] / ".work" / "results" / "leak" / f"{NAME}.json").read_text())
    inputs = [line.strip() for source in hidden for line in source.split("\n") if "np." in line]
    assert inputs, "the hidden tests of lesson 02 have inputs"
    for text in texts:
        assert "print_for_grading" not in text and "grade_function" not in text
        assert "BEGIN HIDDEN" not in text and "In[" not in text
        assert not [fragment for fragment in inputs if fragment in text]


def test_duplicated_and_renamed_answer_cells_are_reported(batch):
    duplicated = " ".join(batch["results"]["duplicated"].notes)
    renamed = " ".join(batch["results"]["renamed"].notes)
    assert "more than once" in duplicated
    assert "my-own-id" in renamed and "02-shift-to-z-one-answer" in renamed


def test_no_file_outside_the_scratch_directories_changed(batch):
    assert batch["changed"] == []
    assert not (batch["out"] / "hacked.txt").exists()
    assert not (batch["outside"] / "hacked.txt").exists()
    assert "hacked" not in (batch["out"] / "grades.csv").read_text()


def test_no_connection_left_the_sandbox(batch):
    assert batch["connections"] == []


def test_a_pickle_in_a_zip_is_reported_and_never_loaded(batch):
    skipped = (batch["out"] / "skipped.csv").read_text()
    assert f"pickled/{NAME}.pkl" in skipped and "notes.txt" in skipped
    assert not (batch["outside"] / "unpickled").exists()


def test_feedback_names_hidden_tests_but_never_their_expected_values(batch):
    reference = " ".join(
        "".join(o.get("text", "") for o in cell.get("outputs", []))
        for cell in _solution().cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    )
    values = [v for v in reference.replace(",", " ").replace("]", " ").split() if "." in v]
    assert len(values) >= 5
    feedback = "\n".join(p.read_text() for p in (batch["out"] / "feedback").rglob("*.md"))
    assert "02-z-three-outputs" in feedback
    leaked = [v for v in values if v[:8] in feedback]
    assert leaked == []


def test_gradebook_totals_are_the_sums_of_grades(batch):
    import csv

    with open(batch["out"] / "grades.csv") as file:
        grades = list(csv.DictReader(file))
    with open(batch["out"] / "gradebook.csv") as file:
        book = {row["student"]: row for row in csv.DictReader(file)}
    for student, row in book.items():
        mine = [g for g in grades if g["student"] == student and g["points"]]
        assert float(row["total"]) == sum(float(g["points"]) for g in mine)
        assert float(row["max"]) == FULL + WRITTEN_POINTS  # the written answer counts too
