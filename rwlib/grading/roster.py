"""The class roster of ``rwlib grade --roster roster.csv``: who should submit, and whose a file is.

A roster is a CSV file whose first row names its columns: ``student`` (required:
the id the gradebook uses), and optionally ``name``, ``email`` and ``lms_id``
(the id an LMS export puts in its file names). Other columns are kept for the
exports (``section``, ``sis_user_id``, ``sis_login_id`` for Canvas) and otherwise
ignored, so an LMS's own roster export works once it has a ``student`` column.

LMS exports name a student in many ways: an id, a "lastfirst" name (Canvas),
a full name (Moodle, D2L), a username (Blackboard), an email (Gradescope).
:meth:`Roster.match` accepts any of them, compared loosely (case, accents,
spaces and punctuation do not count); a name two students share matches neither.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re
import unicodedata
from pathlib import Path

#: What a student id may hold: it also names the student's folder under GRADES/feedback/.
STUDENT_ID = re.compile(r"[^\W_][\w .,@+'-]{0,99}")


class RosterError(ValueError):
    """The roster cannot be used; the message names the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class Student:
    """One row of the roster."""

    student: str
    name: str = ""
    email: str = ""
    lms_id: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # every column of the row, for exports

    def column(self, name: str) -> str:
        """The value of one of the roster's columns (e.g. ``section``); "" without it."""
        return dict(self.columns).get(name, "")


def loose(text: str) -> str:
    """``text`` as names are compared: no accents, case, spaces or punctuation.

    Examples
    --------
    >>> loose("Müller-Lüdenscheidt, Jörg")
    'mullerludenscheidtjorg'
    >>> loose("jane.doe@example.edu") == loose("Jane Doe@example.edu")
    True
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in kept.casefold() if c.isalnum())


def _names(student: Student) -> set[str]:
    """Every way an LMS may name this student (loosely compared)."""
    name = " ".join(student.name.split())
    if "," in name:  # "Doe, Jane"
        last, _, first = name.partition(",")
    else:
        first, _, last = name.rpartition(" ")
    forms = {student.student, student.lms_id, student.email, student.email.partition("@")[0]}
    forms |= {name, first + last, last + first}
    return {loose(form) for form in forms} - {""}


class Roster:
    """The students of a class, and who a name found in a submission stands for.

    Examples
    --------
    >>> roster = Roster([Student("jdoe", "Jane Doe", "jane@example.edu", "12345")])
    >>> [roster.match(clue) for clue in ("doejane", "12345", "Jane Doe", "JANE", "nobody")]
    ['jdoe', 'jdoe', 'jdoe', 'jdoe', None]
    >>> roster.suggest("doejan")
    'jdoe (Jane Doe)'
    """

    def __init__(self, students):
        self.students = tuple(students)
        owners: dict[str, set[str]] = {}
        for student in self.students:
            for form in _names(student):
                owners.setdefault(form, set()).add(student.student)
        self._index = {form: next(iter(who)) for form, who in owners.items() if len(who) == 1}
        self._by_id = {student.student: student for student in self.students}

    def match(self, *clues: str) -> str | None:
        """The student the first clue that names exactly one student names, or None."""
        for clue in clues:
            found = self._index.get(loose(clue or ""))
            if found is not None:
                return found
        return None

    def suggest(self, *clues: str) -> str:
        """The rostered student closest to any clue (``'id (name)'``), or ``''``."""
        best, score = "", 0.0
        for clue in filter(None, map(loose, clues)):
            for form, student in self._index.items():
                ratio = difflib.SequenceMatcher(None, clue, form).ratio()
                if ratio > score:
                    best, score = student, ratio
        if score < 0.6:
            return ""
        name = self._by_id[best].name
        return f"{best} ({name})" if name else best


def read(path: Path) -> Roster:
    """The roster in a CSV file; RosterError says what is wrong with it and how to fix it.

    A UTF-8 byte order mark (as Excel writes it), blank lines, spaces around
    values, the case of the column names and a ``;`` separator are accepted.

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "roster.csv"
    >>> text = "\\ufeffStudent,Name\\nann,Ann Lee\\n\\nben,Ben Ode\\n"
    >>> _ = path.write_text(text, encoding="utf-8")
    >>> [s.student for s in read(path).students]
    ['ann', 'ben']
    >>> _ = path.write_text("id,name\\nann,Ann Lee\\n")
    >>> try:
    ...     read(path)
    ... except RosterError as error:
    ...     print(str(error).split(" (")[0].replace(str(path), "roster.csv"))
    the roster roster.csv has no 'student' column
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise RosterError(f"cannot read the roster {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise RosterError(
            f"the roster {path} is not UTF-8 text; save it as 'CSV UTF-8' and try again"
        ) from None
    first = text.lstrip().partition("\n")[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1)
        if any(cell.strip() for cell in row)
    ]
    if not rows:
        raise RosterError(
            f"the roster {path} is empty; its first row must be: student,name,email,lms_id"
        )
    header = [cell.strip().lower() for cell in rows[0][1]]
    if "student" not in header:
        raise RosterError(
            f"the roster {path} has no 'student' column (its first row is {', '.join(header)}); "
            "the first row must name the columns, e.g. student,name,email,lms_id"
        )
    students, lines = [], {}
    for number, row in rows[1:]:
        values = dict(zip(header, (cell.strip() for cell in row), strict=False))
        student = unicodedata.normalize("NFC", values.get("student", ""))
        if not STUDENT_ID.fullmatch(student):
            raise RosterError(
                f"line {number} of {path}: {student!r} cannot be a student id; use letters, "
                "digits, spaces and . , @ + ' - (at most 100), starting with a letter or digit"
            )
        entry = Student(
            student,
            values.get("name", ""),
            values.get("email", ""),
            values.get("lms_id", ""),
            tuple(values.items()),
        )
        for column in ("student", "email", "lms_id"):
            value = getattr(entry, column).casefold()
            if value and (column, value) in lines:
                raise RosterError(
                    f"{column} {getattr(entry, column)!r} is on lines {lines[column, value]} and "
                    f"{number} of {path}; list each student once, with their own {column}"
                )
            lines[column, value] = number
        students.append(entry)
    if not students:
        raise RosterError(f"the roster {path} lists no students below its first row")
    return Roster(students)
