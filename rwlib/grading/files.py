"""Writing the grader's files: atomically (all or nothing), and CSV text with a header.

A full disk raises :class:`ReportError`, naming the folder, and leaves the old file.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import os
import tempfile
from pathlib import Path


class ReportError(OSError):
    """A report could not be written (e.g. the disk is full); results already graded are kept."""


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a new temporary file and a rename: all or nothing.

    The temporary file is created anew (never opened through an existing name or
    link), with permissions for its owner only, and removed if writing fails.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as temporary:
        try:
            temporary.write(text)
            temporary.flush()
        except OSError as error:
            try:  # closing flushes what is still buffered, and fails again on a full disk
                temporary.close()
            except OSError:
                pass
            os.unlink(temporary.name)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise ReportError(
                    error.errno,
                    f"no space left to write {path.name} in {path.parent}; free some space and "
                    "run again (every result already graded is kept in GRADES/.work/results)",
                ) from None
            raise
    os.replace(temporary.name, path)


def csv_text(rows: list[dict], fields: list[str]) -> str:
    """CSV text with a header row."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on the file ``path`` (made if missing): one writer at a time.

    ``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows (the review page
    may run on an instructor's laptop).
    """
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
