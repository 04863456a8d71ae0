"""Submissions for ``rwlib grade``: finding them, reading them, and rebuilding them.

Found under SUBMISSIONS (and inside ``.zip`` files):

- ``<student>/<notebook>.ipynb`` (nbgrader's and most LMS exports) and
  ``<student>_<notebook>.ipynb`` (a flat folder);
- the export layouts of Canvas (``lastfirst[_LATE]_userid_submissionid_file``),
  Moodle, Blackboard, D2L/Brightspace and Gradescope, and the usual renames
  (``-Copy1``, `` (1)``, case, spaces, non-ASCII); of several attempts the latest
  is graded, and the choice is reported.

Only regular files are read: links (symbolic or hard), FIFOs, sockets and
devices are refused without being opened, and so are zip members that are links
or leave the zip. A zip, or a student's folder, speaks only for its owner. With a
roster (:mod:`rwlib.grading.roster`), names are matched to rostered students and
the rest is reported as unmatched. Nothing in a zip is extracted to disk or
unpickled.

A submission is never run as it is. :func:`rebuild` takes the source notebook
(the instructor's solution, with its hidden tests and their recorded outputs)
and replaces only the answer cells, matched by nbgrader ``grade_id``, with the
student's; it also says which of the student's own cells were not run.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import datetime
import hashlib
import json
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

from rwlib.grading.roster import STUDENT_ID, loose
from rwlib.release import BEGIN_HIDDEN, END_HIDDEN, student_source

MAX_NOTEBOOK_BYTES = 256 << 20
MAX_DEPTH = 32  # folders below SUBMISSIONS that are looked into

# ---- names: which notebook, which student, which attempt ----------------------------------

# What renaming a file adds to its name, last first: Jupyter's "-Copy1", Windows' " - Copy (2)",
# macOS's " copy 2", a browser's " (1)", an LMS's resubmission "-1", a version "_v2".
_COPY = re.compile(
    r"(?:-copy(\d*)|\s*-\s*copy(?:\s*\((\d+)\))?|\s+copy(?:\s+(\d+))?|\s*\((\d+)\)|[-_ ]v?(\d+))$",
    re.IGNORECASE,
)
_CANVAS = re.compile(r"(?P<key>[^\W_]+)(?P<late>_LATE)?_(?P<id>\d+)_(?P<attempt>\d+)_(?P<rest>.+)")
_MOODLE = re.compile(r"(?P<key>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_(?P<rest>.*)")
_D2L = re.compile(
    r"(?P<id>\d+(?:-\d+)?) - (?P<key>.+?) - "
    r"(?P<date>[A-Z][a-z]{2} \d{1,2}, \d{4} \d{3,4} [AP]M) - (?P<rest>.+)"
)
_BLACKBOARD = re.compile(
    r"(?P<assignment>.+)_(?P<key>[^_]+)_attempt_(?P<date>\d{4}(?:-\d\d){5})(?:_(?P<rest>.+))?"
)
_GRADESCOPE = "submission_metadata.yml"


class Named(NamedTuple):
    """What an LMS export's file or folder name says."""

    lms: str  # "Canvas", "Moodle", "D2L" or "Blackboard"
    student: str  # the student as the name gives them: a "lastfirst" name, a full name, a username
    clues: tuple[str, ...]  # what may match a roster entry, the most exact first
    rest: str  # the student's own file name ("" for a Moodle folder)
    when: tuple  # grows with later attempts: an attempt id or a time; () when the name has none


def _fold(text: str) -> str:
    """``text`` as notebook names are compared: case, spaces, ``-``, ``_`` and ``.`` do not count.

    >>> _fold(" 02 Normalization-Factor ")
    '02_normalization_factor'
    """
    return re.sub(r"[\s_.\-]+", "_", unicodedata.normalize("NFKC", text).casefold()).strip("_")


def notebook_name(filename: str, notebooks) -> tuple[str, int] | None:
    """The course notebook a file name stands for, and the copy number its renames added.

    Case, spaces, hyphens and underscores do not count, and copy or version
    suffixes are taken off one at a time until the name is a notebook's.

    Parameters
    ----------
    filename : str
        A file's name, with its ``.ipynb``.
    notebooks : iterable of str
        The course notebooks' names, without ``.ipynb``.

    Returns
    -------
    (str, int) or None
        The notebook, and the number of the last suffix taken off (0 if none had one).

    Examples
    --------
    >>> names = {"02_normalization_factor"}
    >>> notebook_name("02_normalization_factor-Copy1.ipynb", names)
    ('02_normalization_factor', 1)
    >>> notebook_name("02 Normalization Factor (2).IPYNB", names)
    ('02_normalization_factor', 2)
    >>> notebook_name("02-normalization-factor-1 - Copy.ipynb", names)
    ('02_normalization_factor', 1)
    >>> notebook_name("02_normalization_factor.py", names) is None
    True
    """
    stem, dot, suffix = unicodedata.normalize("NFC", filename).rpartition(".")
    if not dot or suffix.lower() != "ipynb":
        return None
    wanted = {_fold(name): name for name in notebooks}
    number = 0
    for _ in range(4):
        if _fold(stem) in wanted:
            return wanted[_fold(stem)], number
        copy = _COPY.search(stem)
        if copy is None or copy.start() == 0:
            return None
        if not number:
            number = int(next((g for g in copy.groups() if g), "1"))
        stem = stem[: copy.start()]
    return None


def flat_name(filename: str, notebooks) -> tuple[str, str, int] | None:
    """``<student>_<notebook>.ipynb``: the student, the notebook and its copy number, or None.

    Examples
    --------
    >>> flat_name("ann_lee_02_normalization_factor (1).ipynb", {"02_normalization_factor"})
    ('ann_lee', '02_normalization_factor', 1)
    >>> flat_name("02_normalization_factor.ipynb", {"02_normalization_factor"}) is None
    True
    """
    for split in re.finditer(r"[\s_\-]+", filename):
        found = notebook_name(filename[split.end() :], notebooks)
        if found and split.start() > 0:
            return filename[: split.start()], *found
    return None


def _time(text: str, layout: str) -> tuple:
    try:
        moment = datetime.datetime.strptime(text, layout)
    except ValueError:
        return ()
    return (moment.replace(tzinfo=datetime.timezone.utc).timestamp(),)


def lms_name(name: str) -> Named | None:
    """Whose, which file and which attempt an LMS export's file or folder name says, or None.

    Canvas: ``lastfirst[_LATE]_userid_attemptid_file``; Moodle:
    ``Full Name_id_assignsubmission_file_[file]``; D2L/Brightspace: ``id - Full
    Name - Mon D, YYYY HMM AM - file``; Blackboard:
    ``Assignment_username_attempt_YYYY-MM-DD-HH-MM-SS[_file]``.

    Examples
    --------
    >>> named = lms_name("doejane_LATE_12345_67890_02_normalization_factor-1.ipynb")
    >>> named.lms, named.student, named.clues, named.rest, named.when
    ('Canvas', 'doejane', ('12345', 'doejane'), '02_normalization_factor-1.ipynb', (67890,))
    >>> lms_name("Jane Doe_4711_assignsubmission_file_")[:4]
    ('Moodle', 'Jane Doe', ('4711', 'Jane Doe'), '')
    >>> named = lms_name("81234-5678 - Jane Doe - Jan 31, 2024 1159 PM - hw.ipynb")
    >>> named.lms, named.student, named.rest, named.when
    ('D2L', 'Jane Doe', 'hw.ipynb', (1706745540.0,))
    >>> named = lms_name("Homework 2_jdoe_attempt_2024-01-31-23-59-59_hw.ipynb")
    >>> named.lms, named.student, named.rest, named.when
    ('Blackboard', 'jdoe', 'hw.ipynb', (1706745599.0,))
    >>> lms_name("02_normalization_factor.ipynb") is None
    True
    """
    name = unicodedata.normalize("NFC", name)
    if found := _MOODLE.fullmatch(name):
        key = found["key"].strip()
        return Named("Moodle", key, (found["id"], key), found["rest"], ())
    if found := _D2L.fullmatch(name):
        when = _time(found["date"], "%b %d, %Y %I%M %p")
        return Named("D2L", found["key"], (found["id"], found["key"]), found["rest"], when)
    if found := _BLACKBOARD.fullmatch(name):
        when = _time(found["date"], "%Y-%m-%d-%H-%M-%S")
        return Named("Blackboard", found["key"], (found["key"],), found["rest"] or "", when)
    if found := _CANVAS.fullmatch(name):
        key = found["key"]
        return Named("Canvas", key, (found["id"], key), found["rest"], (int(found["attempt"]),))
    return None


def _student_id(text: str) -> str | None:
    text = unicodedata.normalize("NFC", text).strip()
    return text if STUDENT_ID.fullmatch(text) else None


# ---- reading files without following links ------------------------------------------------


_KINDS = {
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFDIR: "a folder",
}


def _problem(info: os.stat_result) -> str:
    """Why a file with this lstat cannot be read as a submission, or ``""``."""
    if not stat.S_ISREG(info.st_mode):
        return _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
    if info.st_nlink > 1:
        return f"a hard link (one file with {info.st_nlink} names)"
    return ""


def _identity(info: os.stat_result) -> tuple:
    """What tells one file from another that replaced it: device, inode, size and time."""
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _open(root: Path, parts: tuple[str, ...]) -> int:
    """A read-only descriptor of ``root/parts``, through no link below ``root`` (else OSError).

    No open blocks: a FIFO or a device is opened non-blocking, and refused by the caller.
    """
    quiet = os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK
    fd = os.open(root, quiet)
    try:
        for index, part in enumerate(parts):
            folder = 0 if index == len(parts) - 1 else os.O_DIRECTORY
            new = os.open(part, quiet | os.O_NOFOLLOW | folder, dir_fd=fd)
            os.close(fd)
            fd = new
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read(root: Path, parts: tuple, identity: tuple, member: int | None) -> bytes:
    """The bytes of the regular file ``root/parts`` (or of its zip member number ``member``).

    Refused when the file is no longer the one that was found (``identity``:
    device and inode) or is not a regular file with one name.
    """
    try:
        fd = _open(root, parts)
    except OSError as error:
        raise Refused(
            f"the file can no longer be opened without following a link ({error.strerror})"
        ) from None
    with open(fd, "rb") as file:
        info = os.fstat(fd)
        problem = _problem(info) or ("" if _identity(info) == identity else "replaced")
        if problem:
            raise Refused(f"the file is {problem}, not the regular file that was found")
        if member is None:
            return file.read(MAX_NOTEBOOK_BYTES + 1)
        try:
            with zipfile.ZipFile(file) as archive, archive.open(archive.infolist()[member]) as data:
                return data.read(MAX_NOTEBOOK_BYTES + 1)
        except (
            zipfile.BadZipFile,
            OSError,
            EOFError,
            RuntimeError,
            NotImplementedError,
            zlib.error,
        ) as error:
            raise MalformedSubmission(
                f"the file in the zip cannot be read ({error}); zip it again and resubmit"
            ) from None


@dataclasses.dataclass(frozen=True)
class Submission:
    """One student's copy of one notebook, as found (its bytes are read lazily).

    ``problem`` says why it is refused; ``notebook`` is ``""`` for a refused folder.
    """

    student: str
    notebook: str
    origin: str  # where it was found, for messages: a path, or "archive.zip:member"
    root: Path  # SUBMISSIONS (a folder, or a zip)
    parts: tuple[str, ...] = ()  # the file, or the zip holding it, below root
    member: int | None = None  # the zip member's index
    identity: tuple = ()  # the file's _identity when found: only that file is read
    when: tuple = ()  # orders one student's attempts at a notebook: the largest is graded
    problem: str = ""

    def read_bytes(self) -> bytes:
        """The submitted file's bytes (at most MAX_NOTEBOOK_BYTES + 1 of them)."""
        return _read(self.root, self.parts, self.identity, self.member)


@dataclasses.dataclass(frozen=True)
class _Entry:
    """A file found under SUBMISSIONS (or in a zip there), not yet opened."""

    parts: tuple[str, ...]  # its path below SUBMISSIONS; a zip member's follows its zip's name
    where: tuple[str, ...]  # the file on disk: itself, or its zip (() for SUBMISSIONS itself)
    identity: tuple = ()
    mtime: float = 0.0
    member: int | None = None
    problem: str = ""

    @property
    def origin(self) -> str:
        """Where it is, for messages: ``folder/file``, or ``folder/archive.zip:member``."""
        inside = "/".join(self.parts[len(self.where) :])
        if self.member is None or not self.where:
            return "/".join(self.parts)
        return f"{'/'.join(self.where)}:{inside}"


def _hidden(part: str) -> bool:
    return (part.startswith(".") and part != "..") or part == "__MACOSX" or part.startswith("~$")


def _members(root: Path, where: tuple, file, info) -> list[_Entry]:
    """The entries of the zip ``root/where`` (``file`` is open on it)."""
    identity = _identity(info)
    try:
        infos = zipfile.ZipFile(file).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return [_Entry(where, where, identity, problem=f"not a readable zip file ({error})")]
    entries = []
    for index, member in enumerate(infos):
        name = member.filename
        if not member.flag_bits & 0x800:  # not marked UTF-8: zipfile read it as cp437
            try:
                name = name.encode("cp437").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
        parts = tuple(
            p for p in re.split(r"[/\\]", unicodedata.normalize("NFC", name)) if p not in ("", ".")
        )
        mode = member.external_attr >> 16
        if member.is_dir() or stat.S_ISDIR(mode) or not parts:
            continue
        problem = ""
        if ".." in parts or name.startswith(("/", "\\")) or ":" in parts[0]:
            problem = "a path that leads out of the zip"
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            problem = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        elif member.flag_bits & 0x1:
            problem = "encrypted; zip it again without a password"
        try:
            mtime = datetime.datetime(*member.date_time).timestamp()
        except ValueError:
            mtime = 0.0
        entries.append(_Entry((*where, *parts), where, identity, mtime, index, problem))
    return entries


def _walk(root: Path, skip: tuple | None) -> list[_Entry]:
    """Every file under ``root`` and in its zips, never following a link or opening a non-file."""
    quiet = os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_NOFOLLOW
    if root.is_file():  # SUBMISSIONS is itself a zip: a class's export
        fd = _open(root, ())
        with open(fd, "rb") as file:
            return _members(root, (), file, os.fstat(fd))

    def scan(fd: int, parts: tuple) -> list[_Entry]:
        with os.scandir(fd) as listing:
            found = sorted((entry.name, entry.stat(follow_symlinks=False)) for entry in listing)
        entries = []
        for name, info in found:
            here = (*parts, name)
            if here == skip:
                continue
            if not stat.S_ISDIR(info.st_mode) or _hidden(name):
                problem = _problem(info)
                if problem or not name.lower().endswith(".zip") or _hidden(name):
                    entries.append(
                        _Entry(here, here, _identity(info), info.st_mtime, None, problem)
                    )
                    continue
                with open(os.open(name, quiet, dir_fd=fd), "rb") as file:
                    opened = os.fstat(file.fileno())
                    if _identity(opened) != _identity(info):
                        entries.append(_Entry(here, here, problem="replaced while it was read"))
                    else:
                        entries += _members(root, here, file, opened)
            elif len(here) > MAX_DEPTH:
                entries.append(
                    _Entry(here, here, problem=f"nested more than {MAX_DEPTH} folders deep")
                )
            else:
                child = os.open(name, quiet | os.O_DIRECTORY, dir_fd=fd)
                try:
                    entries += scan(child, here)
                finally:
                    os.close(child)
        return entries

    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return scan(fd, ())
    finally:
        os.close(fd)


# ---- whose is each file, and which one is graded ----------------------------------------------


@dataclasses.dataclass
class Found:
    """What :func:`find` found.

    Attributes
    ----------
    submissions : list of Submission
        One per (student, notebook): the latest attempt.
    refused : list of Submission
        Per (student, notebook), the file that names it but cannot be graded, when
        nothing else can (``problem`` says why; ``notebook`` is ``""`` for a folder).
    skipped : list of dict
        Every file not graded: ``file``, ``status`` (``refused``, ``earlier attempt``,
        ``unmatched`` or ``not a submission``), ``student`` and ``reason``.
    unmatched : list of dict
        With a roster, each entry that names no rostered student: ``file``, ``found``
        (the name it gives) and ``suggestion`` (the closest roster entry, or ``""``).
    notes : dict
        What each student should know, by (student, notebook); ``""``: every notebook.
    """

    submissions: list = dataclasses.field(default_factory=list)
    refused: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    unmatched: list = dataclasses.field(default_factory=list)
    notes: dict = dataclasses.field(default_factory=dict)

    def skip(self, file: str, status: str, reason: str, student: str = "") -> None:
        """Report a file that is not graded."""
        self.skipped.append({"file": file, "status": status, "student": student, "reason": reason})


def _gradescope(root: Path, entries: list[_Entry], found: Found) -> dict[tuple, tuple]:
    """Gradescope exports' ``submission_<id>`` folders: {folder parts: (submitters, when)}.

    Each submitter is (key, clues): the id used without a roster (email, else
    sid, else name), and the sid, email and name to match a roster with.
    """
    folders = {}
    for entry in entries:
        if entry.parts[-1] != _GRADESCOPE or entry.problem:
            continue
        try:
            import yaml

            data = yaml.safe_load(_read(root, entry.where, entry.identity, entry.member))
            for folder, record in data.items():
                submitters = []
                for person in record.get(":submitters") or []:
                    sid, email, name = (
                        str(person.get(f":{k}") or "") for k in ("sid", "email", "name")
                    )
                    submitters.append((email or sid or name, (sid, email, name)))
                moment = record.get(":created_at")
                when = (moment.timestamp(),) if isinstance(moment, datetime.datetime) else ()
                folders[(*entry.parts[:-1], str(folder))] = (submitters, when)
        except Exception as error:  # a broken export must not stop the class: say what is wrong
            reason = f"Gradescope's list of submitters cannot be read ({error})"
            found.skip(entry.origin, "not a submission", reason)
    return folders


def _is_file(entry: _Entry, index: int) -> bool:
    """Whether ``entry.parts[index]`` is a file (else a folder, a zip, or a link taken as one)."""
    part = entry.parts[index]
    if index < len(entry.parts) - 1 or part.lower().endswith(".zip"):
        return False
    return not entry.problem or "." in part


class _Finder:
    """Decides whose each entry is, for :func:`find`."""

    def __init__(self, root, notebooks, roster, owner, entries, found):
        self.root, self.notebooks, self.roster, self.owner = root, set(notebooks), roster, owner
        self.found = found
        self.gradescope = _gradescope(root, entries, found)
        self.exports = {folder[:-1] for folder in self.gradescope}
        self.known = set()  # without a roster: every student some entry names
        if roster is None and owner is None:
            for entry in entries:
                self.known |= {loose(s) for s in self._owners(entry, self._start(entry))[0]}

    def _start(self, entry: _Entry) -> int:
        """Which part of the entry's path names its student: the first below any export folder."""
        return next((k for k in range(len(entry.parts)) if entry.parts[:k] in self.exports), 0)

    def _name(self, entry: _Entry, index: int):
        """(LMS name, clues, notebook, copy number) that ``entry.parts[index]`` gives.

        The copy number counts only in Canvas's names, where ``-1`` is a resubmission.
        """
        part = entry.parts[index]
        named = lms_name(part)
        if not _is_file(entry, index):
            return named, named.clues if named else (part.removesuffix(".zip"),), None, 0
        if named:
            notebook, copy = notebook_name(named.rest, self.notebooks) or (None, 0)
            return named, named.clues, notebook, copy if named.lms == "Canvas" else 0
        if found := notebook_name(part, self.notebooks):
            return None, (), found[0], 0
        if found := flat_name(part, self.notebooks):
            return None, (found[0],), found[1], 0
        return None, (), None, 0

    def _resolve(self, key: str, clues: tuple) -> list[str]:
        if self.roster is not None:
            student = self.roster.match(*clues)
        else:
            student = _student_id(key) if key else None
        return [student] if student else []

    def _owners(self, entry: _Entry, start: int):
        """(students, clues, when, notebook, copy) that the part at ``start`` gives."""
        head = entry.parts[: start + 1]
        if head in self.gradescope:
            submitters, when = self.gradescope[head]
            students = [s for key, clues in submitters for s in self._resolve(key, clues)]
            clues = tuple(c for _, clues in submitters for c in clues if c)
            return students, clues, when, None, 0
        named, clues, notebook, copy = self._name(entry, start)
        key = named.student if named else (clues[0] if clues else "")
        students = self._resolve(key, clues) if clues else []
        return students, clues, named.when if named else (), notebook, copy

    def _other(self, entry: _Entry, start: int, owners: list[str]) -> str:
        """Another student whom a part of the path below the owner's names, or ``""``."""
        mine = {loose(owner) for owner in owners}
        for index in range(start + 1, len(entry.parts)):
            named, clues, _, _ = self._name(entry, index)
            if not clues or mine & {loose(c) for c in clues}:
                continue
            if self.roster is not None:
                other = self.roster.match(*clues)
                if other and other not in owners:
                    return other
            elif named or loose(clues[0]) in self.known:
                return named.student if named else clues[0]
        return ""

    def _unowned(self, entry: _Entry, start: int, clues: tuple, notebook, unmatched: dict):
        """Report an entry whose name gives no student (or, with a roster, no rostered one)."""
        origin, head = entry.origin, "/".join(entry.parts[: start + 1])
        if self.roster is not None and (clues or notebook):
            found = clues[-1] if clues else ""
            suggestion = self.roster.suggest(*clues) if clues else ""
            unmatched.setdefault(head, {"file": head, "found": found, "suggestion": suggestion})
            closest = f" (closest: {suggestion})" if suggestion else ""
            self.found.skip(origin, "unmatched", f"{found!r} names no rostered student{closest}")
        elif clues:
            reason = f"{clues[-1]!r} cannot be a student id (letters, digits, spaces, . , @ + ' -)"
            self.found.skip(origin, "not a submission", reason)
        elif notebook:
            reason = "the name gives no student: use <student>_<notebook>.ipynb or a folder"
            self.found.skip(origin, "not a submission", reason)
        else:
            self.found.skip(origin, "not a submission", "not a course notebook")

    def classify(self, entry: _Entry, candidates: list, unmatched: dict) -> None:
        """Add the entry to ``candidates`` (as a submission or a refusal), or report it."""
        found, parts, last = self.found, entry.parts, len(entry.parts) - 1
        if any(_hidden(part) for part in parts):
            return found.skip(entry.origin, "not a submission", "a hidden or system file")
        if parts[-1] == _GRADESCOPE and parts[:-1] in self.exports:
            return None
        if entry.member is not None and parts[-1].lower().endswith(".zip"):
            return found.skip(
                entry.origin, "not a submission", "a zip in a zip: extract the outer one"
            )
        if self.owner is not None:
            start, owners, when, notebook, copy = -1, [self.owner], (), None, 0
        else:
            start = self._start(entry)
            owners, clues, when, notebook, copy = self._owners(entry, start)
            if not owners:
                return self._unowned(entry, start, clues, notebook, unmatched)
        if start < last:  # a file in the student's folder or zip
            named, _, notebook, copy = self._name(entry, last)
            when = when or (named.when if named else ())
        other = self._other(entry, start, owners) if self.owner is None else ""
        problem = f"a file for another student ({other})" if other else entry.problem
        for owner in owners:
            if problem:
                found.skip(entry.origin, "refused", problem, owner)
                if notebook or not (other or _is_file(entry, last)):
                    candidates.append(
                        Submission(owner, notebook or "", entry.origin, self.root, problem=problem)
                    )
            elif notebook is None:
                found.skip(entry.origin, "not a submission", "not a course notebook", owner)
            else:
                order = (when, copy, entry.mtime)
                candidates.append(
                    Submission(
                        owner,
                        notebook,
                        entry.origin,
                        self.root,
                        entry.where,
                        entry.member,
                        entry.identity,
                        order,
                    )
                )
        return None


def find(
    root: Path, notebooks, skip: Path | None = None, roster=None, owner: str | None = None
) -> Found:
    """The submissions under ``root``: whose each is, which attempt is graded, and what is not.

    Each entry directly in ``root`` names its student: a folder or zip
    ``<student>`` (everything in it is theirs), a file
    ``<student>_<notebook>.ipynb``, or an LMS export's names (Canvas, Moodle,
    D2L, Blackboard, and Gradescope's ``submission_metadata.yml`` with its
    ``submission_<id>`` folders). A part of a path in a student's folder or zip
    that names another student is refused. Only regular files with one name are
    read: links, FIFOs, sockets and devices are refused without being opened, and
    no link is followed. Of several files for one notebook, the latest attempt is
    graded: by the LMS's attempt number or date in the name, else the file's time.

    Parameters
    ----------
    root : pathlib.Path
        SUBMISSIONS: a folder, or a zip (a class's export).
    notebooks : iterable of str
        The source notebooks' names, without ``.ipynb``.
    skip : pathlib.Path, optional
        A folder inside ``root`` to leave alone (the grades, if they are there).
    roster : rwlib.grading.roster.Roster, optional
        The class: entries are matched to its students; the rest are unmatched.
    owner : str, optional
        Every file under ``root`` is this student's (Gradescope's ``submission/``).

    Returns
    -------
    Found
        The submissions to grade, the refused, skipped and unmatched files, and notes.
    """
    root = Path(root)
    skip_parts = None
    if skip is not None and Path(skip).resolve().is_relative_to(root.resolve()):
        skip_parts = Path(skip).resolve().relative_to(root.resolve()).parts
    found = Found()
    entries = _walk(root, skip_parts)
    finder = _Finder(root, notebooks, roster, owner, entries, found)
    candidates: list[Submission] = []
    unmatched: dict[str, dict] = {}
    for entry in entries:
        finder.classify(entry, candidates, unmatched)
    found.unmatched = list(unmatched.values())
    names: dict[tuple, list[str]] = {}  # each hard-linked file's names, for the report
    for entry in entries:
        if entry.problem.startswith("a hard link"):
            names.setdefault(entry.identity, []).append(entry.origin)
    for row in found.skipped:
        for origins in names.values():
            if row["file"] in origins and len(origins) > 1:
                others = ", ".join(o for o in origins if o != row["file"])
                row["reason"] += f"; the same file as {others}"
    _choose(candidates, found)
    return found


def _choose(candidates: list[Submission], found: Found) -> None:
    """The latest readable attempt of each (student, notebook) is graded; the choice is noted."""
    groups: dict[tuple, list[Submission]] = {}
    for candidate in candidates:
        groups.setdefault((candidate.student, candidate.notebook), []).append(candidate)
    for (student, notebook), group in sorted(groups.items()):
        refused = [s for s in group if s.problem]
        readable = sorted((s for s in group if not s.problem), key=lambda s: (s.when, s.origin))
        if not readable:
            found.refused.append(refused[-1])
            continue
        chosen, earlier = readable[-1], readable[:-1]
        found.submissions.append(chosen)
        notes = [f"{s.origin} was not graded: it is {s.problem}" for s in refused]
        if earlier:
            if chosen.when[:2] != earlier[-1].when[:2]:
                basis = "the attempt or date in the LMS's file name"
            elif chosen.when != earlier[-1].when:
                basis = "file modification time"
            else:
                basis = "name, as their times are the same"
            notes.append(
                f"{len(readable)} files were submitted for {notebook}; {chosen.origin} is graded, "
                f"the latest by {basis}; not graded: {', '.join(s.origin for s in earlier)}"
            )
            for s in earlier:
                found.skip(
                    s.origin, "earlier attempt", f"{chosen.origin} is graded (by {basis})", student
                )
        if notes:
            found.notes[(student, notebook)] = notes


class MalformedSubmission(ValueError):
    """A submitted file that is not a gradable notebook; the message says why and what to do."""


class Refused(MalformedSubmission):
    """A submitted file that is not read: a link, a FIFO, a device, or not the file found."""


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
    # The course's own cells, by id and by text (solution and student copy): every other
    # code cell of the submission is the student's own, and is not run.
    course_cells = {cell.get("id") for cell in source.cells} - {None}
    course_texts = {_normalised(cell.source) for cell in source.cells}
    course_texts |= {
        _normalised(student_source(cell, f"{name}, cell {index}"))
        for index, cell in enumerate(source.cells)
    }
    taken: dict[str, str] = {}
    own: list[tuple[int, str]] = []  # the student's own code cells: not run
    notes = []
    for number, cell in enumerate(submitted["cells"], start=1):
        if not isinstance(cell, dict):
            continue
        grade_id = cell_grade_id(cell)
        if grade_id is None or grade_id not in source_ids:
            text = _source(cell)
            theirs = cell.get("id") not in course_cells and _normalised(text) not in course_texts
            if cell.get("cell_type") == "code" and text.strip() and theirs:
                own.append((number, text))
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
