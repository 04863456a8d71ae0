"""Hidden tests whose verdict is decided outside the student's kernel.

A hidden test in a solution notebook does not assert anything. It prints the
values that the student's answer produces, as one line of plain JSON::

    rw.print_for_grading(z_three, rtol=1e-9)
    # grading values: {"values": [7.44...], "rtol": 1e-09, "atol": 0.0}

``rwlib release`` stores that line, run on the instructor's solution, as the
cell's output. When ``rwlib grade`` runs a submission, it reads the line the
student's kernel printed and compares it with the stored one in the grader's
own process (:func:`compare`), with the tolerances of the *stored* line. So
nothing a student's code does inside its kernel (patching ``rw.check``, lying
floats, input transformers, printing) can pass a test it does not pass: the
only way to print matching values is to have them.

Hidden test sources must therefore never contain the expected values, only the
computation of the student's values (e.g. calling the student's function on
inputs the student has not seen).
"""

from __future__ import annotations

import json
import math

import numpy as np

PREFIX = "grading values: "


def _plain(value):
    """A JSON-able plain form of one answer: str stays str, anything else is floats."""
    if isinstance(value, str):
        return value
    try:
        return np.asarray(value, dtype=float).tolist()
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"a graded value must be a number, an array of numbers or a str, not "
            f"{type(value).__name__} ({error})"
        ) from None


def print_for_grading(*values, rtol: float = 1e-9, atol: float = 0.0) -> None:
    """Print the values a hidden test grades, as one line that the grader compares.

    Parameters
    ----------
    *values : number, array_like or str
        What the student's answer produced. Numbers and arrays are printed as
        floats; a str is compared exactly.
    rtol, atol : float
        The tolerance of the comparison. Only the tolerance printed by the
        instructor's solution counts.

    Examples
    --------
    >>> import rwlib as rw
    >>> rw.print_for_grading(0.25, [1, 2], rtol=1e-6)
    grading values: {"values": [0.25, [1.0, 2.0]], "rtol": 1e-06, "atol": 0.0}
    """
    record = {"values": [_plain(value) for value in values], "rtol": rtol, "atol": atol}
    print(PREFIX + json.dumps(record, allow_nan=True))


def parse(text: str) -> list[dict]:
    """Every grading line in ``text``, parsed (lines that do not parse are skipped)."""
    records = []
    for line in text.splitlines():
        if line.startswith(PREFIX):
            try:
                record = json.loads(line[len(PREFIX) :])
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("values"), list):
                records.append(record)
    return records


def _close(got, expected, rtol: float, atol: float) -> bool:
    if isinstance(expected, str) or isinstance(got, str):
        return got == expected
    if isinstance(expected, list) or isinstance(got, list):
        return (
            isinstance(expected, list)
            and isinstance(got, list)
            and len(got) == len(expected)
            and all(_close(g, e, rtol, atol) for g, e in zip(got, expected, strict=True))
        )
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return math.isclose(got, expected, rel_tol=rtol, abs_tol=atol)


def compare(student_text: str, reference_text: str) -> str | None:
    """None when the student's output holds the reference's grading values, else why not.

    The student's output must hold exactly one grading line; its values must
    match the reference's within the reference's ``rtol`` and ``atol``. The
    reason never reveals the expected values.

    Examples
    --------
    >>> from rwlib.hidden_values import compare
    >>> ref = 'grading values: {"values": [0.5], "rtol": 1e-06, "atol": 0.0}'
    >>> compare('grading values: {"values": [0.5000001], "rtol": 1, "atol": 1}', ref) is None
    True
    >>> compare('grading values: {"values": [0.6], "rtol": 1, "atol": 1}', ref)
    'the hidden test does not get the expected values'
    """
    (reference,) = parse(reference_text)
    records = parse(student_text)
    if not records:
        return "the hidden test printed no values"
    if len(records) > 1:
        return "the hidden test's output holds more than one line of values"
    rtol, atol = float(reference["rtol"]), float(reference["atol"])
    if not _close(records[0]["values"], reference["values"], rtol, atol):
        return "the hidden test does not get the expected values"
    return None
