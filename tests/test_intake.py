"""``rwlib grade`` reads only what each student submitted: links, FIFOs, zips, rosters, LMS exports.

Most tests call :func:`rwlib.grading.intake.find` on a folder laid out here, with
no kernel; the last ones grade two or three students end to end.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import nbformat
import pytest

from rwlib.grading import intake
from rwlib.grading.grade import Settings, grade
from rwlib.grading.roster import Roster, RosterError, Student, read
from rwlib.release import student_notebook

ROOT = Path(__file__).resolve().parent.parent
NAME = "02_normalization_factor"
NOTEBOOKS = {NAME, "03_reward_weighted_distribution"}
NOTEBOOK = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})


def _write(root: Path, relative: str, text: str = NOTEBOOK, mtime: float | None = None) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _zip(path: Path, members: dict[str, str], links: dict[str, str] = ()) -> Path:
    """A zip of ``members`` (name: text) and of symbolic links (name: target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def _graded(found) -> dict[str, str]:
    """The file graded for each student's notebook 02."""
    return {s.student: s.origin for s in found.submissions if s.notebook == NAME}


def _refused(found) -> dict[str, str]:
    """Why each student's notebook 02 (or whole folder) was refused."""
    return {s.student: s.problem for s in found.refused if s.notebook in (NAME, "")}


def _status(found) -> dict[str, str]:
    return {row["file"]: row["status"] for row in found.skipped}


@pytest.fixture
def solutions(tmp_path) -> Path:
    """A copy of the solutions, outside the submissions (a cheat's target)."""
    folder = tmp_path / "solutions"
    folder.mkdir()
    shutil.copy(ROOT / "solutions" / f"{NAME}.ipynb", folder)
    return folder


@pytest.fixture
def subs(tmp_path) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir()
    return folder


class TestLinks:
    """Only regular files with one name are read; a refusal is reported against its student."""

    def test_an_absolute_link_to_the_solutions_is_refused(self, subs, solutions):
        _write(subs, f"ann/{NAME}.ipynb")
        (subs / "ben").mkdir()
        (subs / "ben" / f"{NAME}.ipynb").symlink_to(solutions / f"{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"}
        assert _refused(found) == {"ben": "a symbolic link"}
        assert _status(found)[f"ben/{NAME}.ipynb"] == "refused"

    def test_a_relative_link_to_a_classmate_is_refused(self, subs):
        _write(subs, f"ann/{NAME}.ipynb")
        (subs / "ben").mkdir()
        os.symlink(f"../ann/{NAME}.ipynb", subs / "ben" / f"{NAME}.ipynb")
        os.symlink(f"ann/{NAME}.ipynb", subs / f"cat_{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"}
        assert _refused(found) == {"ben": "a symbolic link", "cat": "a symbolic link"}

    def test_a_dangling_or_looping_link_is_refused_without_being_followed(self, subs):
        os.symlink("/nonexistent/file.ipynb", subs / f"ann_{NAME}.ipynb")
        os.symlink(f"ben_{NAME}.ipynb", subs / f"ben_{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _refused(found) == {"ann": "a symbolic link", "ben": "a symbolic link"}

    def test_a_linked_folder_is_refused_and_not_looked_into(self, subs, solutions):
        (subs / "eve").symlink_to(solutions, target_is_directory=True)
        _write(subs, f"ann/{NAME}.ipynb")
        (subs / "ann" / "work").symlink_to(solutions, target_is_directory=True)
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"}
        # for every notebook not submitted otherwise: all of eve's, and ann's but 02
        assert {(s.student, s.notebook, s.problem) for s in found.refused} == {
            ("eve", "", "a symbolic link"),
            ("ann", "", "a symbolic link"),
        }
        assert _status(found)["ann/work"] == "refused"
        assert not [row for row in found.skipped if row["file"].startswith(("eve/", "ann/work/"))]

    def test_a_link_named_like_a_zip_is_refused(self, subs, tmp_path):
        real = _zip(tmp_path / "elsewhere.zip", {f"{NAME}.ipynb": NOTEBOOK})
        (subs / "ann.zip").symlink_to(real)
        found = intake.find(subs, NOTEBOOKS)
        assert found.submissions == [] and _refused(found) == {"ann": "a symbolic link"}

    def test_a_hard_link_to_the_solutions_is_refused(self, subs, solutions):
        (subs / "ann").mkdir()
        os.link(solutions / f"{NAME}.ipynb", subs / "ann" / f"{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert found.submissions == []
        assert _refused(found) == {"ann": "a hard link (one file with 2 names)"}

    def test_a_hard_link_to_a_classmate_is_refused_for_both_and_named(self, subs):
        original = _write(subs, f"ann/{NAME}.ipynb")
        os.link(original, subs / f"ben_{NAME}.ipynb")
        _write(subs, f"cat/{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"cat": f"cat/{NAME}.ipynb"}
        assert set(_refused(found)) == {"ann", "ben"}
        reasons = {row["file"]: row["reason"] for row in found.skipped}
        assert reasons[f"ben_{NAME}.ipynb"].endswith(f"the same file as ann/{NAME}.ipynb")

    def test_a_fifo_is_refused_without_being_opened(self, subs):
        """find() in a child process: opening the FIFO for reading would block it for ever."""
        _write(subs, f"ann/{NAME}.ipynb")
        os.mkfifo(subs / f"ben_{NAME}.ipynb")
        (subs / "cat").mkdir()
        os.mkfifo(subs / "cat" / f"{NAME}.ipynb")
        code = (
            "import json, sys\nfrom rwlib.grading import intake\n"
            f"found = intake.find(sys.argv[1], {sorted(NOTEBOOKS)!r})\n"
            "print(json.dumps({s.student: s.problem for s in found.refused}))\n"
            "print(json.dumps([s.origin for s in found.submissions]))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(subs)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        refused, graded = map(json.loads, done.stdout.splitlines())
        assert refused == {"ben": "a FIFO (named pipe)", "cat": "a FIFO (named pipe)"}
        assert graded == [f"ann/{NAME}.ipynb"]

    def test_a_socket_is_refused(self, subs, monkeypatch):
        monkeypatch.chdir(subs)  # a short relative path: socket paths may not exceed ~100 bytes
        Path("ann").mkdir()
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(f"ann/{NAME}.ipynb")
            found = intake.find(subs, NOTEBOOKS)
        finally:
            server.close()
        assert _refused(found) == {"ann": "a socket"}

    @pytest.mark.skipif(os.geteuid() != 0, reason="making a device file needs root")
    def test_a_device_is_refused(self, subs):
        (subs / "ann").mkdir()
        os.mknod(subs / "ann" / f"{NAME}.ipynb", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        found = intake.find(subs, NOTEBOOKS)
        assert _refused(found) == {"ann": "a character device"}

    def test_a_file_swapped_for_a_link_after_it_was_found_is_not_read(self, subs, solutions):
        path = _write(subs, f"ann/{NAME}.ipynb")
        (submission,) = intake.find(subs, NOTEBOOKS).submissions
        path.unlink()
        path.symlink_to(solutions / f"{NAME}.ipynb")
        with pytest.raises(intake.Refused, match="following a link"):
            submission.read_bytes()

    def test_a_folder_swapped_for_a_link_after_it_was_found_is_not_read(self, subs, tmp_path):
        _write(subs, f"ann/{NAME}.ipynb")
        (submission,) = intake.find(subs, NOTEBOOKS).submissions
        (subs / "ann").rename(tmp_path / "moved")
        (subs / "ann").symlink_to(tmp_path / "moved", target_is_directory=True)
        with pytest.raises(intake.Refused):
            submission.read_bytes()

    def test_a_file_replaced_by_another_is_not_read(self, subs):
        path = _write(subs, f"ann/{NAME}.ipynb")
        (submission,) = intake.find(subs, NOTEBOOKS).submissions
        path.unlink()
        _write(subs, f"ann/{NAME}.ipynb", "a different file")
        with pytest.raises(intake.Refused, match="replaced"):
            submission.read_bytes()

    def test_a_regular_file_is_read(self, subs):
        _write(subs, f"ann/{NAME}.ipynb")
        (submission,) = intake.find(subs, NOTEBOOKS).submissions
        assert submission.read_bytes() == NOTEBOOK.encode()


class TestZips:
    """A zip speaks only for the student it belongs to: its name, or the folder it is in."""

    def test_a_zip_cannot_replace_a_classmate_or_invent_students(self, subs):
        _write(subs, f"ben/{NAME}.ipynb", NOTEBOOK.replace("[]", '[{"x": 1}]'))
        members = {f"ann/{NAME}.ipynb": NOTEBOOK, f"ben/{NAME}.ipynb": "blank"}
        members |= {f"new{i}/{NAME}.ipynb": NOTEBOOK for i in range(3)}
        _zip(subs / "ann.zip", members)
        found = intake.find(subs, NOTEBOOKS)
        graded = _graded(found)
        assert set(graded) == {"ann", "ben"}  # no invented students
        assert graded["ben"] == f"ben/{NAME}.ipynb"  # ben's own file, not the zip's blank one
        assert graded["ann"].startswith("ann.zip:")
        assert _status(found)[f"ann.zip:ben/{NAME}.ipynb"] == "refused"
        reason = {row["file"]: row for row in found.skipped}[f"ann.zip:ben/{NAME}.ipynb"]
        assert reason["student"] == "ann" and "another student (ben)" in reason["reason"]

    def test_a_zip_of_only_a_classmate_s_file_is_refused_for_its_owner(self, subs):
        _write(subs, f"ben_{NAME}.ipynb")
        _zip(subs / "ann.zip", {f"ben_{NAME}.ipynb": NOTEBOOK})
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ben": f"ben_{NAME}.ipynb"}
        assert _refused(found) == {"ann": "a file for another student (ben)"}

    def test_an_lms_name_of_someone_else_in_a_zip_is_refused(self, subs):
        _zip(subs / "ann.zip", {f"doejane_12345_67890_{NAME}.ipynb": NOTEBOOK})
        found = intake.find(subs, NOTEBOOKS)
        assert found.submissions == []
        assert _refused(found) == {"ann": "a file for another student (doejane)"}

    def test_a_zip_member_that_is_a_link_is_refused(self, subs):
        links = {f"{NAME}.ipynb": str(ROOT / "solutions" / f"{NAME}.ipynb")}
        _zip(subs / "ann.zip", {}, links)
        _zip(subs / "ben.zip", {f"{NAME}.ipynb": NOTEBOOK}, {"other.ipynb": "../x"})
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ben": f"ben.zip:{NAME}.ipynb"}
        assert _refused(found) == {"ann": "a symbolic link"}
        assert _status(found)["ben.zip:other.ipynb"] == "refused"

    def test_a_zip_member_outside_the_zip_or_encrypted_is_refused(self, subs):
        path = _zip(subs / "ann.zip", {f"../{NAME}.ipynb": NOTEBOOK})
        data = bytearray(_zip(subs / "ben.zip", {f"{NAME}.ipynb": NOTEBOOK}).read_bytes())
        data[6] |= 0x1  # the "encrypted" flag, in the local header and the central directory
        data[data.find(b"PK\x01\x02") + 8] |= 0x1
        (subs / "ben.zip").write_bytes(bytes(data))
        found = intake.find(subs, NOTEBOOKS)
        assert path.exists() and found.submissions == []
        assert _refused(found) == {
            "ann": "a path that leads out of the zip",
            "ben": "encrypted; zip it again without a password",
        }

    def test_members_without_a_student_part_are_the_owner_s(self, subs):
        _zip(subs / "ann.zip", {f"homework/{NAME}.ipynb": NOTEBOOK, "readme.txt": "hi"})
        _zip(subs / "ben" / "upload.zip", {f"{NAME}.ipynb": NOTEBOOK})
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {
            "ann": f"ann.zip:homework/{NAME}.ipynb",
            "ben": f"ben/upload.zip:{NAME}.ipynb",
        }
        assert found.submissions[0].read_bytes() == NOTEBOOK.encode()

    def test_a_zip_in_a_student_s_folder_cannot_speak_for_a_classmate(self, subs):
        _write(subs, f"ben/{NAME}.ipynb")
        _zip(subs / "ann" / "hw.zip", {f"ben/{NAME}.ipynb": "blank"})
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ben": f"ben/{NAME}.ipynb"}
        assert _refused(found) == {"ann": "a file for another student (ben)"}

    def test_a_class_export_zip_can_be_the_submissions_itself(self, tmp_path):
        export = _zip(
            tmp_path / "submissions.zip",
            {
                f"doejane_12345_67890_{NAME}.ipynb": NOTEBOOK,
                f"roejim_LATE_23456_67891_{NAME}.ipynb": NOTEBOOK,
            },
        )
        found = intake.find(export, NOTEBOOKS)
        assert _graded(found) == {
            "doejane": f"doejane_12345_67890_{NAME}.ipynb",
            "roejim": f"roejim_LATE_23456_67891_{NAME}.ipynb",
        }
        assert found.submissions[0].read_bytes() == NOTEBOOK.encode()

    def test_a_class_export_zip_inside_submissions_is_not_anyone_s_class(self, subs):
        members = {f"doejane_12345_67890_{NAME}.ipynb": NOTEBOOK, f"ann/{NAME}.ipynb": NOTEBOOK}
        _zip(subs / "submissions.zip", members)
        _write(subs, f"ann/{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"}
        assert "doejane" not in _graded(found)

    def test_a_zip_named_after_no_rostered_student_is_unmatched(self, subs):
        _zip(subs / "annlee_hw.zip", {f"ben/{NAME}.ipynb": NOTEBOOK})
        roster = Roster([Student("ann", "Ann Lee"), Student("ben", "Ben Ode")])
        found = intake.find(subs, NOTEBOOKS, roster=roster)
        assert found.submissions == [] and found.refused == []
        assert found.unmatched == [
            {"file": "annlee_hw.zip", "found": "annlee_hw", "suggestion": "ann (Ann Lee)"}
        ]

    def test_a_broken_zip_is_refused_for_its_owner(self, subs):
        _write(subs, "ann.zip", "not a zip")
        found = intake.find(subs, NOTEBOOKS)
        assert _refused(found)["ann"].startswith("not a readable zip file")


class TestNames:
    """Renames and every LMS's export layout find their student and notebook."""

    @pytest.mark.parametrize(
        "name",
        [
            f"{NAME}-Copy1.ipynb",
            f"{NAME} (1).ipynb",
            f"{NAME} - Copy.ipynb",
            f"{NAME} copy 2.ipynb",
            f"{NAME}-1.ipynb",
            f"{NAME}_v2.ipynb",
            "02_Normalization_Factor.IPYNB",
            "02 normalization factor.ipynb",
            "02-normalization-factor (1) - Copy.ipynb",
        ],
    )
    def test_a_renamed_notebook_is_found(self, subs, name):
        _write(subs, f"ann/{name}")
        assert _graded(intake.find(subs, NOTEBOOKS)) == {"ann": f"ann/{name}"}

    def test_a_name_of_another_notebook_is_not_taken_for_this_one(self, subs):
        _write(subs, "ann/03_reward_weighted_distribution (1).ipynb")
        _write(subs, "ann/02_normalization.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {}
        assert [s.notebook for s in found.submissions] == ["03_reward_weighted_distribution"]
        assert _status(found)["ann/02_normalization.ipynb"] == "not a submission"

    def test_students_with_spaces_and_letters_beyond_ascii(self, subs):
        _write(subs, f"Zoë Ångström/{NAME}.ipynb")
        _write(subs, f"jörg_{NAME} (1).ipynb")
        decomposed = unicodedata.normalize("NFD", "Renée")  # as macOS writes names
        _write(subs, f"{decomposed}/{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert set(_graded(found)) == {"Zoë Ångström", "jörg", "Renée"}
        assert all(s.read_bytes() == NOTEBOOK.encode() for s in found.submissions)

    def test_canvas(self, subs):
        _write(subs, f"doejane_12345_67890_{NAME}.ipynb")
        _write(subs, f"müllerjörg_LATE_23456_67891_{NAME}-1.ipynb")
        _write(subs, "doejane_12345_67890_notes.txt")
        found = intake.find(subs, NOTEBOOKS)
        assert set(_graded(found)) == {"doejane", "müllerjörg"}
        assert _status(found)["doejane_12345_67890_notes.txt"] == "not a submission"

    def test_moodle_folders_and_flat_names(self, subs):
        _write(subs, f"Jane Doe_4711_assignsubmission_file_/{NAME}.ipynb")
        _write(subs, f"José Díaz_4712_assignsubmission_file_{NAME} (1).ipynb")
        _write(subs, "Jane Doe_4711_assignsubmission_onlinetext_/onlinetext.html", "<p>")
        found = intake.find(subs, NOTEBOOKS)
        assert set(_graded(found)) == {"Jane Doe", "José Díaz"}

    def test_d2l_brightspace(self, subs):
        _write(subs, f"81234-5678 - Jane Doe - Jan 31, 2024 1159 PM - {NAME}.ipynb")
        _write(subs, f"81235-5679 - Jim Roe - Feb 1, 2024 905 AM - {NAME}-Copy1.ipynb")
        _write(subs, "index.html", "<html>")
        found = intake.find(subs, NOTEBOOKS)
        assert set(_graded(found)) == {"Jane Doe", "Jim Roe"}
        assert _status(found)["index.html"] == "not a submission"

    def test_blackboard(self, subs):
        _write(subs, f"Homework 2_jdoe_attempt_2024-01-31-23-59-59_{NAME}.ipynb")
        _write(subs, "Homework 2_jdoe_attempt_2024-01-31-23-59-59.txt", "Name: Jane Doe")
        _write(subs, f"Homework 2_jroe_attempt_2024-02-01-09-05-00_{NAME} (1).ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert set(_graded(found)) == {"jdoe", "jroe"}

    def test_gradescope_export(self, subs):
        _write(
            subs,
            "assignment_42_export/submission_metadata.yml",
            """\
submission_101:
  :submitters:
  - :name: Jane Doe
    :sid: '12345'
    :email: jane@example.edu
  :created_at: 2024-01-31 23:59:59.000000000 -08:00
  :score: 0.0
submission_102:
  :submitters:
  - :name: Jim Roe
    :sid: '23456'
    :email: jim@example.edu
  - :name: Kim Poe
    :sid: ''
    :email: kim@example.edu
  :created_at: 2024-02-01 09:05:00.000000000 -08:00
""",
        )
        _write(subs, f"assignment_42_export/submission_101/{NAME}.ipynb")
        _write(subs, f"assignment_42_export/submission_102/work/{NAME}-Copy1.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {
            "jane@example.edu": f"assignment_42_export/submission_101/{NAME}.ipynb",
            "jim@example.edu": f"assignment_42_export/submission_102/work/{NAME}-Copy1.ipynb",
            "kim@example.edu": f"assignment_42_export/submission_102/work/{NAME}-Copy1.ipynb",
        }
        roster = Roster([Student("jdoe", "Jane Doe", lms_id="12345"), Student("kpoe", "Kim Poe")])
        found = intake.find(subs, NOTEBOOKS, roster=roster)
        assert set(_graded(found)) == {"jdoe", "kpoe"}

    def test_hidden_and_system_files_are_skipped(self, subs):
        _write(subs, f"ann/.ipynb_checkpoints/{NAME}-checkpoint.ipynb")
        _write(subs, f"__MACOSX/ann/._{NAME}.ipynb")
        _write(subs, f"ann/._{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert found.submissions == [] and found.refused == []
        assert set(_status(found).values()) == {"not a submission"}

    def test_a_file_that_names_no_student_is_reported(self, subs):
        _write(subs, f"{NAME}.ipynb")
        _write(subs, f"bad|name_{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert found.submissions == []
        reasons = {row["file"]: row["reason"] for row in found.skipped}
        assert "gives no student" in reasons[f"{NAME}.ipynb"]
        assert "cannot be a student id" in reasons[f"bad|name_{NAME}.ipynb"]

    def test_the_grades_folder_inside_submissions_is_left_alone(self, subs):
        _write(subs, f"ann/{NAME}.ipynb")
        _write(subs, f"grades/feedback/ann/{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS, skip=subs / "grades")
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"} and found.skipped == []


class TestAttempts:
    """Of several files for one notebook, the latest attempt is graded, and the choice said."""

    def test_canvas_resubmissions_by_attempt_id_and_suffix(self, subs):
        _write(subs, f"doejane_12345_67890_{NAME}.ipynb", mtime=2_000_000_000)
        _write(subs, f"doejane_LATE_12345_67999_{NAME}-1.ipynb", mtime=1_000_000_000)
        _write(subs, f"roejim_23456_70000_{NAME}.ipynb", mtime=2_000_000_000)
        _write(subs, f"roejim_23456_70000_{NAME}-1.ipynb", mtime=1_000_000_000)
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {
            "doejane": f"doejane_LATE_12345_67999_{NAME}-1.ipynb",
            "roejim": f"roejim_23456_70000_{NAME}-1.ipynb",
        }
        (note,) = found.notes[("doejane", NAME)]
        assert "2 files were submitted" in note and "LMS's file name" in note
        assert _status(found)[f"doejane_12345_67890_{NAME}.ipynb"] == "earlier attempt"

    def test_blackboard_and_d2l_attempts_by_their_dates(self, subs):
        _write(subs, f"HW2_jdoe_attempt_2024-01-31-23-59-59_{NAME}.ipynb", mtime=2_000_000_000)
        _write(subs, f"HW2_jdoe_attempt_2024-02-01-08-00-00_{NAME}.ipynb", mtime=1_000_000_000)
        _write(subs, f"1-2 - Jim Roe - Feb 1, 2024 905 AM - {NAME}.ipynb", mtime=1_000_000_000)
        _write(subs, f"1-3 - Jim Roe - Jan 31, 2024 1159 PM - {NAME}.ipynb", mtime=2_000_000_000)
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {
            "jdoe": f"HW2_jdoe_attempt_2024-02-01-08-00-00_{NAME}.ipynb",
            "Jim Roe": f"1-2 - Jim Roe - Feb 1, 2024 905 AM - {NAME}.ipynb",
        }

    def test_without_lms_dates_the_newest_file_wins(self, subs):
        _write(subs, f"ann/{NAME}.ipynb", mtime=1_000_000_000)
        _write(subs, f"ann/{NAME}-Copy1.ipynb", mtime=2_000_000_000)
        _write(subs, f"ben/{NAME}.ipynb", mtime=2_000_000_000)
        _write(subs, f"ben/{NAME} (1).ipynb", mtime=1_000_000_000)
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}-Copy1.ipynb", "ben": f"ben/{NAME}.ipynb"}
        (note,) = found.notes[("ann", NAME)]
        assert "modification time" in note and f"not graded: ann/{NAME}.ipynb" in note

    def test_a_refused_copy_does_not_hide_a_readable_one(self, subs, solutions):
        _write(subs, f"ann/{NAME}.ipynb", mtime=1_000_000_000)
        (subs / "ann" / f"{NAME}-Copy1.ipynb").symlink_to(solutions / f"{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS)
        assert _graded(found) == {"ann": f"ann/{NAME}.ipynb"} and found.refused == []
        assert "is a symbolic link" in found.notes[("ann", NAME)][0]


class TestRoster:
    def _roster(self, tmp_path, text: str, encoding="utf-8") -> Path:
        path = tmp_path / "roster.csv"
        path.write_bytes(text.encode(encoding))
        return path

    def test_a_spreadsheet_export_reads(self, tmp_path):
        text = "\ufeffStudent ; Name;Email\n\nann;Ann Lee;ann@x.edu\n ;;\nben ;Ben Ode;\n"
        roster = read(self._roster(tmp_path, text))
        assert [s.student for s in roster.students] == ["ann", "ben"]
        assert roster.students[0].email == "ann@x.edu"

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("name,email\nAnn Lee,ann@x.edu\n", "no 'student' column"),
            ("ann,Ann Lee\n", "no 'student' column"),
            ("student\nann\nben\nann\n", "'ann' is on lines 2 and 4"),
            ("student,email\nann,a@x.edu\nben,A@x.edu\n", "email 'A@x.edu' is on lines 2 and 3"),
            ("student,lms_id\nann,7\nben,7\n", "lms_id '7' is on lines 2 and 3"),
            ("student\nann/../ben\n", "cannot be a student id"),
            ("student,name\n,Ann Lee\n", "line 2"),
            ("", "is empty"),
            ("student\n\n", "lists no students"),
        ],
    )
    def test_a_bad_roster_says_what_to_fix(self, tmp_path, text, words):
        with pytest.raises(RosterError, match=words.replace("(", r"\(")):
            read(self._roster(tmp_path, text))

    def test_a_roster_that_is_not_utf8_says_how_to_save_it(self, tmp_path):
        with pytest.raises(RosterError, match="CSV UTF-8"):
            read(self._roster(tmp_path, "student,name\nmüller,Jörg Müller\n", "latin-1"))

    def test_lms_names_match_by_id_email_and_name(self):
        roster = Roster(
            [
                Student("s1", "Jane Doe", "jane.doe@x.edu", "12345"),
                Student("s2", "Müller, Jörg", "jm@x.edu", "23456"),
                Student("s3", "Jim Roe"),
                Student("s4", "Jim Roe"),
            ]
        )
        assert roster.match("12345") == roster.match("doejane") == "s1"
        assert roster.match("jane.doe") == roster.match("Jane Doe") == "s1"
        assert roster.match("mullerjorg") == roster.match("Jörg Müller") == "s2"
        assert roster.match("jm@x.edu") == "s2"
        assert roster.match("Jim Roe") is None  # two students: neither
        assert roster.match("s3") == "s3"
        assert roster.suggest("janedoee") == "s1 (Jane Doe)"
        assert roster.suggest("zzzzzz") == ""

    def test_find_with_a_roster_matches_lms_names_and_lists_the_rest(self, subs):
        roster = Roster(
            [
                Student("jdoe", "Jane Doe", "jane@x.edu", "12345"),
                Student("jroe", "Jim Roe", "jim@x.edu"),
                Student("kpoe", "Kim Poe"),
            ]
        )
        _write(subs, f"doejane_LATE_12345_67890_{NAME}-1.ipynb")
        _write(subs, f"Jim Roe_4711_assignsubmission_file_/{NAME}.ipynb")
        _write(subs, f"kimpo_{NAME}.ipynb")
        _write(subs, f"zed/{NAME}.ipynb")
        found = intake.find(subs, NOTEBOOKS, roster=roster)
        assert set(_graded(found)) == {"jdoe", "jroe"}
        assert found.unmatched == [
            {"file": f"kimpo_{NAME}.ipynb", "found": "kimpo", "suggestion": "kpoe (Kim Poe)"},
            {"file": "zed", "found": "zed", "suggestion": ""},
        ]
        assert _status(found)[f"zed/{NAME}.ipynb"] == "unmatched"


# ---- end to end: grade() and the command line, with kernels ------------------------------


@pytest.fixture(scope="module")
def notebooks():
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    return solution, student_notebook(solution, NAME)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


@pytest.mark.grader
def test_grade_with_a_roster_refuses_links_lists_missing_and_unmatched(tmp_path, notebooks):
    solution, blank = notebooks
    subs, out = tmp_path / "submissions", tmp_path / "grades"
    (subs / "ann").mkdir(parents=True)
    nbformat.write(blank, subs / "ann" / f"{NAME}.ipynb")
    os.utime(subs / "ann" / f"{NAME}.ipynb", (1_000_000_000, 1_000_000_000))
    nbformat.write(solution, subs / "ann" / f"{NAME}-Copy1.ipynb")
    os.symlink(ROOT / "solutions" / f"{NAME}.ipynb", subs / f"ben_{NAME}.ipynb")
    nbformat.write(solution, subs / f"danw_{NAME}.ipynb")
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name\nann,Ann Lee\nben,Ben Ode\ncat,Cat Poe\ndan,Dan Wu\n")
    settings = Settings(source=ROOT / "solutions", workers=1)
    results = grade(subs, out, settings, progress=False, roster=roster)
    by_student = {r.student: r for r in results}
    assert by_student["ann"].score == by_student["ann"].max_score > 0  # the later copy
    assert any("-Copy1.ipynb is graded" in note for note in by_student["ann"].notes)
    assert {q.status for q in by_student["ben"].auto} == {"refused"}
    assert "symbolic link" in by_student["ben"].auto[0].message
    assert {q.status for q in by_student["cat"].auto} == {"missing"}
    assert {q.status for q in by_student["dan"].auto} == {"missing"}
    assert [row["student"] for row in _rows(out / "gradebook.csv")] == ["ann", "ben", "cat", "dan"]
    assert _rows(out / "unmatched.csv") == [
        {"file": f"danw_{NAME}.ipynb", "found": "danw", "suggestion": "dan (Dan Wu)"}
    ]
    feedback = (out / "feedback" / "ann" / f"{NAME}.md").read_text()
    assert "-Copy1.ipynb is graded" in feedback


@pytest.mark.grader
def test_the_command_line_grades_past_a_fifo_and_a_hostile_zip(tmp_path, notebooks):
    solution, blank = notebooks
    subs, out = tmp_path / "submissions", tmp_path / "grades"
    (subs / "ann").mkdir(parents=True)
    nbformat.write(solution, subs / "ann" / f"{NAME}.ipynb")
    os.mkfifo(subs / f"ben_{NAME}.ipynb")
    with zipfile.ZipFile(subs / "cat.zip", "w") as archive:
        archive.writestr(f"cat/{NAME}.ipynb", nbformat.writes(blank))
        archive.writestr(f"ann/{NAME}.ipynb", nbformat.writes(blank))
        for i in range(3):
            archive.writestr(f"invented{i}/{NAME}.ipynb", nbformat.writes(solution))
    command = [sys.executable, "-m", "rwlib", "grade", str(subs), "--out", str(out)]
    command += ["--source", str(ROOT / "solutions"), "-n", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    book = {row["student"]: row for row in _rows(out / "gradebook.csv")}
    assert set(book) == {"ann", "ben", "cat"}
    solution = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    auto = sum(q["points"] for q in intake.questions(solution) if not q["manual"])
    assert float(book["ann"]["auto"]) == auto > 0  # every auto-graded point: not the zip's blank
    assert float(book["ben"]["total"]) == 0
    skipped = {row["file"]: row for row in _rows(out / "skipped.csv")}
    assert skipped[f"ben_{NAME}.ipynb"]["status"] == "refused"
    assert skipped[f"cat.zip:ann/{NAME}.ipynb"]["status"] == "refused"
    assert "refused: ben" in done.stdout and "a FIFO (named pipe)" in done.stdout
    assert f"cat.zip:ann/{NAME}.ipynb" in done.stdout


def test_rebuild_reports_only_the_students_own_cells_as_not_run():
    """Regression: every locked cell of the lesson was reported as the student's own."""
    import nbformat

    from rwlib.grading.intake import rebuild
    from rwlib.release import student_notebook

    source = nbformat.read(ROOT / "solutions" / f"{NAME}.ipynb", as_version=4)
    copy = student_notebook(source, NAME)
    _, _, notes = rebuild(source, nbformat.from_dict(copy), NAME)
    assert not [note for note in notes if "were not run" in note]
    copy.cells.insert(3, nbformat.v4.new_code_cell("def helper():\n    return 1"))
    _, _, notes = rebuild(source, nbformat.from_dict(copy), NAME)
    assert [note for note in notes if "cell 4" in note and "were not run" in note]
