"""Submissions for ``rwlib grade``: finding them, reading them, and rebuilding them.

Layouts found under SUBMISSIONS (also inside ``.zip`` files, at any depth):

- ``<student>/<notebook>.ipynb`` (nbgrader's and most LMS exports);
- ``<student>_<notebook>.ipynb`` (a flat folder).

``<notebook>`` must be the name of a source notebook. Anything else is reported
and skipped; nothing in a zip is extracted to disk or unpickled.

A submission is never run as it is. :func:`rebuild` takes the source notebook
(the instructor's solution, with its hidden tests and their recorded outputs)
and replaces only the answer cells, matched by nbgrader ``grade_id``, with the
student's.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import hashlib
import json
import re
import zipfile
from pathlib import Path

from rwlib.release import BEGIN_HIDDEN, END_HIDDEN, student_source

MAX_NOTEBOOK_BYTES = 256 << 20
_STUDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


@dataclasses.dataclass(frozen=True)
class Submission:
    """One student's copy of one notebook, as found (its bytes are read lazily)."""

    student: str
    notebook: str
    origin: str  # where it was found, for messages: a path, or "archive.zip:member"
    path: Path  # the file, or the zip holding it
    member: str | None = None

    def read_bytes(self) -> bytes:
        """The submitted file's bytes (at most MAX_NOTEBOOK_BYTES + 1 of them)."""
        if self.member is None:
            with open(self.path, "rb") as file:
                return file.read(MAX_NOTEBOOK_BYTES + 1)
        with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as file:
            return file.read(MAX_NOTEBOOK_BYTES + 1)


def _match(relative: str, notebooks: set[str]) -> tuple[str, str] | None:
    """(student, notebook) for a path relative to the submissions root or a zip, or None."""
    parts = [part for part in relative.replace("\\", "/").split("/") if part]
    if not parts or not parts[-1].endswith(".ipynb") or ".." in parts:
        return None
    name = parts[-1].removesuffix(".ipynb")
    if name in notebooks and len(parts) >= 2:
        student = parts[-2]
    else:
        flat = [n for n in notebooks if name.endswith("_" + n)]
        if not flat:
            return None
        notebook = max(flat, key=len)
        student, name = name[: -len(notebook) - 1], notebook
    return (student, name) if _STUDENT.fullmatch(student) else None


def find(root: Path, notebooks: set[str], skip: Path | None = None):
    """The submissions under ``root``, and what was skipped with the reason.

    Parameters
    ----------
    root : pathlib.Path
        The SUBMISSIONS folder.
    notebooks : set of str
        The source notebooks' names, without ``.ipynb``.
    skip : pathlib.Path, optional
        A folder inside ``root`` to leave alone (the grades, if they are there).

    Returns
    -------
    submissions : list of Submission
    skipped : list of (str, str)
        Each file that is not a submission, and why.
    """
    submissions, skipped = [], []
    for path in sorted(root.rglob("*")):
        if path.is_dir() or (skip is not None and skip in path.parents):
            continue
        relative = path.relative_to(root).as_posix()
        if path.suffix == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.infolist() if not m.is_dir()]
            except (zipfile.BadZipFile, OSError) as error:
                skipped.append((relative, f"not a readable zip file ({error})"))
                continue
            for member in members:
                found = _match(member.filename, notebooks)
                where = f"{relative}:{member.filename}"
                if found is None:
                    skipped.append((where, "not a course notebook (<student>/<notebook>.ipynb)"))
                else:
                    submissions.append(Submission(*found, where, path, member.filename))
            continue
        found = _match(relative, notebooks)
        if found is None:
            skipped.append((relative, "not a course notebook (<student>/<notebook>.ipynb)"))
        else:
            submissions.append(Submission(*found, relative, path))
    return submissions, skipped


class MalformedSubmission(ValueError):
    """A submitted file that is not a gradable notebook; the message says why and what to do."""


def parse(data: bytes) -> dict:
    """The submitted notebook as a dict, or MalformedSubmission saying what is wrong with it."""
    resubmit = "download the notebook again from JupyterLab (File > Download) and resubmit it"
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise MalformedSubmission(
            f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB; clear the outputs "
            "(Edit > Clear Outputs of All Cells), save, and resubmit"
        )
    try:
        notebook = json.loads(data.decode("utf-8-sig"))  # a byte-order mark is fine
    except (UnicodeDecodeError, ValueError):
        raise MalformedSubmission(f"the file is not a notebook (not JSON); {resubmit}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        if version is not None and version < 4:
            raise MalformedSubmission(
                f"the notebook is in the old format nbformat {version}; open it in JupyterLab, "
                "save it (which converts it to nbformat 4), and resubmit"
            )
        raise MalformedSubmission(f"the file is JSON but not a notebook (no cells); {resubmit}")
    if notebook.get("nbformat") != 4:
        raise MalformedSubmission(
            f"the notebook is nbformat {notebook.get('nbformat')!r}, not 4; {resubmit}"
        )
    if not notebook["cells"]:
        raise MalformedSubmission(f"the notebook has no cells; {resubmit}")
    language = notebook.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise MalformedSubmission(
            f"the notebook was written for a {language!r} kernel; the course is Python 3. "
            "Start from the course's copy of the notebook and resubmit"
        )
    return notebook


def cell_grade_id(cell) -> str | None:
    """The nbgrader grade_id of a cell, or None."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def questions(source) -> list[dict]:
    """The auto-graded questions of a source notebook: id, points and answer cells.

    A question is a code cell with nbgrader ``grade: true`` and points > 0; its
    answer cells are the solution cells whose ``grade_id`` is the question's id
    followed by ``-answer``. Graded markdown cells are listed as ``manual``.
    """
    ids = {cell_grade_id(cell) for cell in source.cells}
    found = []
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or not meta.get("points"):
            continue
        grade_id = meta["grade_id"]
        answers = [a for a in (f"{grade_id}-answer",) if a in ids]
        found.append(
            {
                "id": grade_id,
                "points": meta["points"],
                "answer_ids": answers,
                "manual": cell.cell_type == "markdown",
            }
        )
    return found


def rebuild(source, submitted: dict, name: str):
    """The notebook to run: ``source`` with only the student's answer cells taken.

    Parameters
    ----------
    source : nbformat.NotebookNode
        The source (solution) notebook, with its recorded outputs.
    submitted : dict
        The student's notebook, as :func:`parse` returned it.
    name : str
        The notebook's name, for messages.

    Returns
    -------
    notebook : nbformat.NotebookNode
        The rebuilt notebook.
    unanswered : set of str
        Answer ids that are stubs, or missing from the submission.
    notes : list of str
        What the student should know: duplicated, renamed or missing answer cells.
    """
    answer_cells = {
        cell_grade_id(cell): index
        for index, cell in enumerate(source.cells)
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    source_ids = {cell_grade_id(cell) for cell in source.cells} - {None}
    taken: dict[str, str] = {}
    own: list[tuple[int, str]] = []  # the student's own code cells: not run
    notes = []
    for number, cell in enumerate(submitted["cells"], start=1):
        if not isinstance(cell, dict):
            continue
        grade_id = cell_grade_id(cell)
        if grade_id is None or grade_id not in source_ids:
            if cell.get("cell_type") == "code" and _source(cell).strip():
                own.append((number, _source(cell)))
            if grade_id is not None and cell.get("metadata", {}).get("nbgrader", {}).get(
                "solution"
            ):
                notes.append(f"an answer cell has the unknown grade_id {grade_id!r} and is ignored")
            continue
        if grade_id in taken:
            notes.append(
                f"the answer cell {grade_id!r} appears more than once; the first is graded"
            )
        elif grade_id in answer_cells:
            expected_type = source.cells[answer_cells[grade_id]].cell_type
            if cell.get("cell_type") != expected_type:
                notes.append(
                    f"your answer cell {grade_id!r} was a {cell.get('cell_type')} cell; it was "
                    f"graded as {expected_type}, as it should be (change it back in JupyterLab)"
                )
            taken[grade_id] = _source(cell)
    rebuilt = copy.deepcopy(source)
    unanswered = set()
    for grade_id, index in answer_cells.items():
        cell = rebuilt.cells[index]
        stub = student_source(cell, f"{name}, cell {index}")
        if grade_id not in taken:
            notes.append(f"the answer cell {grade_id!r} is missing; it counts as unanswered")
        text = taken.get(grade_id, stub)
        if _normalised(text) == _normalised(stub):
            unanswered.add(grade_id)
        cell.source = text
    for cell in rebuilt.cells:
        cell.source = _hidden_tests_first(cell)
    notes += _own_cells_notes(own, [rebuilt.cells[i].source for i in answer_cells.values()])
    return rebuilt, unanswered, notes


def _normalised(text: str) -> str:
    """Source text with line endings and trailing spaces normalised (CRLF stubs are stubs)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _hidden_tests_first(cell) -> str:
    """A check cell's source with its hidden tests moved before the public check.

    The hidden tests then print their values even when the public check raises,
    so each hidden case earns its share of the points.
    """
    text = cell.source
    if cell.cell_type != "code" or BEGIN_HIDDEN not in text or END_HIDDEN not in text:
        return text
    before, rest = text.split(BEGIN_HIDDEN, 1)
    hidden, after = rest.split(END_HIDDEN, 1)
    return f"{BEGIN_HIDDEN}{hidden}{END_HIDDEN}\n{before.rstrip()}\n{after.lstrip()}".rstrip()


def _defined_names(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if target is not None:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def _own_cells_notes(own: list[tuple[int, str]], answers: list[str]) -> list[str]:
    """Notes on the student's own cells, which are not run: which names the answers lose."""
    if not own:
        return []
    used = set()
    for text in answers:
        try:
            used |= {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
        except SyntaxError:
            continue
    notes = [
        f"{len(own)} code cell(s) of your own (cell {', '.join(str(n) for n, _ in own)}) were "
        "not run: only the answer cells are graded"
    ]
    for number, text in own:
        lost = sorted(_defined_names(text) & used)
        if lost:
            notes.append(
                f"your cell {number} defines {', '.join(lost)}, which an answer cell uses; "
                "move it into that answer cell"
            )
    return notes


def fingerprint(*parts: bytes) -> str:
    """A sha256 of the parts, to tell whether a submission must be graded again."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()
