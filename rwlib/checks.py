"""Instant feedback on exercises: ``rw.check(grade_id, answer)``.

Each exercise registers a *verifier* under its nbgrader ``grade_id``: a function
that takes the student's answer and returns ``None`` when it is right, or a hint
when it is not. A hint says where to look, never what the answer is. The
verifiers live in ``rwlib.exercises``, one module per lesson.

The public check in a student's notebook is feedback only: the grade comes from
the instructor's copy with its hidden tests (see the README's instructor guide).
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import pkgutil
import re
from collections.abc import Callable
from typing import Any

import numpy as np

Verifier = Callable[[Any], "str | None"]

_VERIFIERS: dict[str, Verifier] = {}


def exercise(grade_id: str) -> Callable[[Verifier], Verifier]:
    """Register ``verify(answer) -> None | hint`` as the check of ``grade_id``.

    Used in ``rwlib/exercises/lessonNN.py``, one decorated function per graded
    exercise; ``grade_id`` is the nbgrader id of the exercise's check cell.

    Examples
    --------
    >>> from rwlib.checks import exercise, number_hint
    >>> @exercise("00-doc-example")
    ... def doc_example(answer):
    ...     return number_hint(answer, 2.0, "add one and one")
    >>> import rwlib as rw
    >>> rw.check("00-doc-example", 2)
    ✔ 00-doc-example: right
    """

    def register(verify: Verifier) -> Verifier:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", grade_id):
            raise ValueError(
                f"grade_id {grade_id!r} may hold only letters, digits, '_' and '-' "
                "(nbgrader's rule); e.g. 04-beta-for-0-9"
            )
        if grade_id in _VERIFIERS:
            raise ValueError(f"two exercises share the grade_id {grade_id!r}; rename one")
        _VERIFIERS[grade_id] = verify
        return verify

    return register


@functools.cache
def _load_exercises() -> None:
    """Import every lesson module of rwlib.exercises, which registers its checks."""
    package = importlib.import_module("rwlib.exercises")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"rwlib.exercises.{module.name}")


def grading() -> bool:
    """True when ``RWLIB_GRADING=1``: then an unanswered exercise counts as wrong."""
    return os.environ.get("RWLIB_GRADING", "") == "1"


def check(grade_id: str, answer) -> None:
    """Say whether ``answer`` solves exercise ``grade_id``: right, wrong with a hint, or not yet.

    Parameters
    ----------
    grade_id : str
        The exercise's id, as in its nbgrader cell metadata (e.g. ``"02-z-two-outputs"``).
    answer : object
        The student's answer: a number, an array or a function, as the exercise asks.

    Returns
    -------
    None
        Prints ``✔ <grade_id>: right`` when the answer is right, and
        ``<grade_id>: not answered yet`` for a stub (``...``, or a function that
        raises NotImplementedError).

    Raises
    ------
    AssertionError
        When the answer is wrong, with a hint that does not give the answer
        away; also for a stub when the environment has ``RWLIB_GRADING=1``.
    ValueError
        If no exercise has this ``grade_id``.

    Examples
    --------
    >>> import rwlib as rw
    >>> rw.check("01-probability-of-b", ...)
    01-probability-of-b: not answered yet
    >>> rw.check("01-probability-of-b", 7 / 20)
    ✔ 01-probability-of-b: right
    """
    _load_exercises()
    if grade_id not in _VERIFIERS:
        raise ValueError(
            f"no exercise has the grade_id {grade_id!r}; known ids: {', '.join(sorted(_VERIFIERS))}"
        )
    # A stub is "..." left in place, or a function whose body still raises NotImplementedError.
    answered = answer is not Ellipsis
    try:
        hint = _VERIFIERS[grade_id](answer) if answered else None
    except NotImplementedError:
        answered, hint = False, None
    if not answered:
        if grading():
            raise AssertionError(f"{grade_id}: not answered (replace the ... or the raise)")
        print(f"{grade_id}: not answered yet")
        return
    if hint is not None:
        raise AssertionError(f"✘ {grade_id}: not right yet. Hint: {hint}")
    print(f"✔ {grade_id}: right")


def number_hint(
    answer, expected: float, hint: str, *, rtol: float = 1e-6, mistakes=()
) -> str | None:
    """Verify a numeric answer: None when within ``rtol`` of ``expected``, else a hint.

    ``mistakes`` pairs the value a known mistake produces with a hint about that
    mistake, e.g. ``[(value_without_beta, "did you divide by beta?")]``.

    Examples
    --------
    >>> from rwlib.checks import number_hint
    >>> number_hint(0.35, 7 / 20, "divide by the sum") is None
    True
    >>> number_hint(7 / 12, 7 / 20, "divide by the sum", mistakes=[(7 / 12, "not by A")])
    'not by A'
    >>> number_hint("0.35", 7 / 20, "divide by the sum")
    'the answer should be a single number, not str'
    """
    try:
        array = None if isinstance(answer, str) else np.asarray(answer)
    except ValueError:  # ragged nested lists
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.size != 1:
        return f"the answer should be a single number, not {type(answer).__name__}"
    answer = float(array.reshape(()))
    if not math.isfinite(answer):
        return f"the answer should be a finite number, got {answer}"
    if math.isclose(answer, expected, rel_tol=rtol, abs_tol=rtol * 1e-3):
        return None
    for value, mistake in mistakes:
        if math.isclose(answer, value, rel_tol=rtol, abs_tol=rtol * 1e-3):
            return mistake
    return hint


def function_hint(function, cases, hint: str, *, rtol: float = 1e-9) -> str | None:
    """Verify a function: None when ``function(*args)`` matches every case, else a hint.

    ``cases`` is a list of ``(args, expected)``; ``expected`` may be a number or
    an array. A NotImplementedError from the function's stub propagates, so that
    :func:`check` reports "not answered yet".

    Examples
    --------
    >>> from rwlib.checks import function_hint
    >>> cases = [((2.0,), 4.0), ((3.0,), 9.0)]
    >>> function_hint(lambda x: x * x, cases, "square it") is None
    True
    >>> function_hint(lambda x: 2 * x, cases, "square it")
    'square it (it is not right for the arguments (3.0,))'
    """
    if not callable(function):
        return f"the answer should be a function, not {type(function).__name__}"
    for args, expected in cases:
        try:
            got = function(*args)
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return f"calling it with {args!r} raised {type(error).__name__}: {error}"
        try:
            close = np.allclose(np.asarray(got, dtype=float), expected, rtol=rtol, atol=1e-12)
        except (TypeError, ValueError):
            close = False
        if not close or np.shape(got) != np.shape(expected):
            return f"{hint} (it is not right for the arguments {args!r})"
    return None
