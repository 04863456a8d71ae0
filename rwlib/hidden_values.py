"""The hidden tests' side in the kernel: print what the answer produces, one line a case.

A hidden test in a solution notebook calls one of two functions with the
exercise's ``grade_id`` (its definition is in ``rwlib/exercises``):

- :func:`print_for_grading` for a number exercise;
- :func:`grade_function` for a function exercise, with the hidden cases' inputs,
  which live in the solution notebook only.

Each prints one line of plain JSON per case::

    grading values: {"exercise": "02-z-three-outputs", "case": "the answer", "value": 4.02...}

``rwlib grade`` reads those lines and decides the verdict in its own process
(:mod:`rwlib.grading.comparison`), with the definition's tolerance: for a number
against the definition's exact value, for a function case against the line that
the instructor's solution stored (``rwlib release`` executes it, and this module
asserts there that the solution agrees with the definition's reference). So
nothing a student's code does inside its kernel (patching ``rw.check``, lying
floats, printing) can pass a test it does not pass: the only way to print
matching values is to have them.

Run anywhere else (``RWLIB_GRADING`` unset, e.g. under ``nbgrader autograde``),
the hidden test also asserts, so that a grader that trusts the kernel grades it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from rwlib.checks import (
    PUBLIC_CASE,
    AnswerTypeError,
    FunctionExercise,
    NumberExercise,
    as_number,
    definition,
    grading,
    judge_number,
    judge_outputs,
)

PREFIX = "grading values: "
ANSWER_CASE = "the answer"


def _print(record: dict) -> None:
    print(PREFIX + json.dumps(record, allow_nan=True))


def print_for_grading(grade_id: str, answer) -> None:
    """The hidden test of a number exercise: print the answer as a grading line.

    Parameters
    ----------
    grade_id : str
        The exercise (a :class:`rwlib.checks.NumberExercise`).
    answer : object
        The student's answer.

    Raises
    ------
    AssertionError
        Outside ``rwlib grade`` (``RWLIB_GRADING`` unset), when the answer is wrong.

    Examples
    --------
    >>> import rwlib as rw
    >>> rw.print_for_grading("01-sum-b-with-d", 7 / 31)
    grading values: {"exercise": "01-sum-b-with-d", "case": "the answer", "value": 0.225806}
    """
    exercise = definition(grade_id)
    if not isinstance(exercise, NumberExercise):
        raise ValueError(f"{grade_id} is a function exercise: its hidden test uses grade_function")
    record = {"exercise": grade_id, "case": ANSWER_CASE}
    try:
        value = as_number(answer)
    except AnswerTypeError:
        _print({**record, "error": "AnswerTypeError"})
        value = None
    else:
        _print({**record, "value": value})
    if not grading():
        assert value is not None and judge_number(exercise, value) is None, (
            f"{grade_id}: the hidden test failed"
        )


def _outputs(function, calls: Sequence[tuple]) -> tuple[list, str | None]:
    """The function's outputs on each argument tuple as float lists, or the error's type."""
    outputs = []
    for args in calls:
        try:
            output = np.asarray(function(*args), dtype=float)
        except Exception as error:  # the student's bug; only its type is printed
            return outputs, type(error).__name__
        outputs.append(output.tolist())
    return outputs, None


def grade_function(grade_id: str, function, cases: Mapping[str, Sequence[tuple]]) -> None:
    """The hidden test of a function exercise: one grading line per named case.

    Parameters
    ----------
    grade_id : str
        The exercise (a :class:`rwlib.checks.FunctionExercise`).
    function : callable
        The student's function.
    cases : mapping of str to list of tuple
        The hidden cases: for each name in the definition's ``hidden_cases``
        (except :data:`rwlib.checks.PUBLIC_CASE`, added here from the
        definition's examples), the argument tuples to call the function with.

    Raises
    ------
    AssertionError
        Outside ``rwlib grade``, naming the cases whose outputs are wrong.

    Examples
    --------
    >>> import numpy as np, rwlib as rw
    >>> def z(ref, rewards, beta):
    ...     return np.sum(ref * np.exp(rewards / beta))
    >>> rw.grade_function("02-z-from-scratch", z, {
    ...     "every reward zero": [(np.array([0.3, 0.7]), np.zeros(2), 0.2)],
    ...     "equal rewards": [(np.array([0.3, 0.7]), np.array([1.5, 1.5]), 0.5)],
    ... })  # doctest: +ELLIPSIS
    grading values: {"exercise": "02-z-from-scratch", "case": "the check's examples", ...}
    grading values: {"exercise": "02-z-from-scratch", "case": "every reward zero", ...}
    grading values: {"exercise": "02-z-from-scratch", "case": "equal rewards", ...}
    """
    exercise = definition(grade_id)
    if not isinstance(exercise, FunctionExercise):
        raise ValueError(f"{grade_id} is a number exercise: its hidden test uses print_for_grading")
    named = {PUBLIC_CASE: list(exercise.examples), **cases}
    if set(named) != set(exercise.hidden_cases):
        raise ValueError(
            f"{grade_id}: the hidden test's cases {sorted(named)} are not the definition's "
            f"{sorted(exercise.hidden_cases)}"
        )
    asserting = not grading()  # under rwlib grade the grader judges, in its own process
    failed = []
    for name, calls in named.items():
        outputs, error = _outputs(function, calls)
        record = {"exercise": grade_id, "case": name}
        _print({**record, "error": error} if error else {**record, "values": outputs})
        if asserting and not (
            error is None
            and all(
                judge_outputs(exercise, got, exercise.reference(*args))
                for got, args in zip(outputs, calls, strict=True)
            )
        ):
            failed.append(name)
    if failed:
        raise AssertionError(f"{grade_id}: hidden cases failed: {', '.join(failed)}")
