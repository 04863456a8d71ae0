"""The exercises' definitions and their instant feedback: ``rw.check(grade_id, answer)``.

Each auto-graded exercise has **one definition** (:class:`NumberExercise` or
:class:`FunctionExercise`), registered under its nbgrader ``grade_id`` by
:func:`exercise`, in ``rwlib/exercises/lessonNN.py``. A definition holds the
expected value (exact, a closed form or a high-precision computation), the
tolerance, the answer types it accepts, the hints, and for a function its
reference implementation, public examples and named hidden cases with their
share of the points. Three things read it and nothing restates it:

- the public check, :func:`check`, in the student's notebook;
- the hidden tests (:mod:`rwlib.hidden_values`), which print what the answer
  produces, and assert when run outside ``rwlib grade`` (e.g. by nbgrader);
- the grader, which decides the verdict in its own process
  (:mod:`rwlib.grading.comparison`) with :func:`judge_number` and
  :func:`judge_outputs`, the same functions the public check uses.

A hint says where to look, never what the answer is.
"""

from __future__ import annotations

import dataclasses
import dis
import functools
import importlib
import math
import os
import pkgutil
import re
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

# The hidden case that runs the check's own examples: a function that passes every hidden
# case therefore passes the public check too.
PUBLIC_CASE = "the check's examples"


@dataclasses.dataclass(frozen=True)
class Tolerance:
    """How close an answer must be: ``|got - expected| <= atol + rtol * |expected|``.

    Examples
    --------
    >>> Tolerance(rtol=5e-6).describe()
    '6 significant digits (a relative error of at most 5e-06)'
    >>> Tolerance(atol=1e-6).describe()
    'within 1e-06 of the exact value'
    >>> Tolerance(rtol=5e-6).accepts(0.924556, 0.92455612)
    True
    """

    rtol: float = 0.0
    atol: float = 0.0

    def __post_init__(self):
        if not (self.rtol >= 0 and self.atol >= 0 and (self.rtol > 0 or self.atol > 0)):
            raise ValueError(f"a Tolerance needs rtol or atol > 0, got {self}")

    def accepts(self, got, expected) -> bool:
        """True when ``got`` has ``expected``'s shape and every entry is within the tolerance."""
        got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        if got.shape != expected.shape:
            return False
        same = (got == expected) | (np.isnan(got) & np.isnan(expected))
        # The tiny factor keeps a decimal rounded exactly at the boundary inside.
        with np.errstate(invalid="ignore", over="ignore"):
            allowed = (self.atol + self.rtol * np.abs(expected)) * (1 + 1e-9)
            close = np.abs(got - expected) <= allowed
        return bool(np.all(same | (close & np.isfinite(got))))

    def describe(self) -> str:
        """The precision in words, as every question that uses this tolerance states it.

        A relative tolerance of 5e-n is "n significant digits": an answer rounded to
        n significant digits is within it.
        """
        digits = self.significant_digits()
        if self.atol == 0 and digits is not None:
            plural = "s" if digits != 1 else ""
            return f"{digits} significant digit{plural} (a relative error of at most {self.rtol:g})"
        if self.atol == 0:
            return f"a relative error of at most {self.rtol:g}"
        if self.rtol == 0:
            return f"within {self.atol:g} of the exact value"
        return f"within {self.atol:g} plus a relative error of {self.rtol:g}"

    def significant_digits(self) -> int | None:
        """n when the relative tolerance is 5e-n, else None."""
        if self.rtol <= 0:
            return None
        digits = math.log10(5 / self.rtol)
        return round(digits) if abs(digits - round(digits)) < 1e-9 and digits >= 1 else None

    def closeness(self, got: float, expected: float) -> str:
        """How far ``got`` is, in the tolerance's own terms, for a "close, but" hint."""
        if self.atol == 0 and expected != 0:
            error = abs(got - expected) / abs(expected)
            agree = max(0, math.floor(math.log10(5 / error))) if error > 0 else 16
            return f"only {agree} significant digits agree; the question asks for {self.describe()}"
        return f"it is off by more than the question allows: {self.describe()}"


#: The course's usual precision for a computed number: an answer rounded to 6 significant
#: digits is within it.
SIX_DIGITS = Tolerance(rtol=5e-6)
#: The precision of a function's outputs (an exact implementation, up to rounding).
FUNCTION_OUTPUTS = Tolerance(rtol=1e-9)


@dataclasses.dataclass(frozen=True)
class NumberExercise:
    """An exercise whose answer is one number.

    Attributes
    ----------
    grade_id : str
        The nbgrader id of the check cell.
    expected : callable
        ``expected() -> float``: the exact value (closed form or high precision).
    tolerance : Tolerance
        What the question's stated precision accepts.
    hint : str
        The hint for a wrong answer: the idea to look at, never the formula or the call.
    mistakes : callable, optional
        ``mistakes() -> [(value, hint), ...]``: the values of known mistakes and their hints.
    whole_number : bool
        The answer is a count: it must be a whole number.

    Accepted answers: a Python int or float, a numpy scalar of any float or int
    type (float32 included), or an array or list with exactly one number (a
    size-1 array, a slice ``x[1:2]``). Not a bool, a str, a complex number.
    """

    grade_id: str
    expected: Callable[[], float]
    tolerance: Tolerance
    hint: str
    mistakes: Callable[[], Sequence[tuple[float, str]]] = lambda: ()
    whole_number: bool = False


@dataclasses.dataclass(frozen=True)
class FunctionExercise:
    """An exercise whose answer is a function.

    Attributes
    ----------
    grade_id : str
        The nbgrader id of the check cell.
    reference : callable
        The exact implementation, called with the same arguments as the answer.
    examples : sequence of tuple
        The public examples: argument tuples that :func:`check` tries.
    hidden_cases : mapping of str to float
        The hidden cases by name, each with its share of the points;
        :data:`PUBLIC_CASE` (the examples above) must be one of them. Their inputs
        are in the solution notebook's hidden test, never in rwlib.
    tolerance : Tolerance
        How close each output must be to the reference's.
    hint : str
        The hint for a wrong function: the idea, never the formula.
    allowed_modules : tuple of str, optional
        For a from-scratch exercise: the only modules the function may use (e.g.
        ``("numpy", "math")``); rwlib is then not allowed. None allows anything.
    """

    grade_id: str
    reference: Callable
    examples: Sequence[tuple]
    hidden_cases: Mapping[str, float]
    tolerance: Tolerance
    hint: str
    allowed_modules: tuple[str, ...] | None = None

    def __post_init__(self):
        if PUBLIC_CASE not in self.hidden_cases or min(self.hidden_cases.values()) <= 0:
            raise ValueError(
                f"{self.grade_id}: hidden_cases must give {PUBLIC_CASE!r} and every case a "
                "share > 0 of the points"
            )

    def rule(self) -> str | None:
        """The rule on what the answer may use, as the check states it, or None."""
        if self.allowed_modules is None:
            return None
        return f"this exercise is done with {' and '.join(self.allowed_modules)} only (no rwlib)"


Exercise = NumberExercise | FunctionExercise
_EXERCISES: dict[str, Exercise] = {}


def exercise(definition: Exercise) -> Exercise:
    """Register an exercise's definition under its grade_id; returns it.

    Used in ``rwlib/exercises/lessonNN.py``, one definition per graded exercise.

    Examples
    --------
    >>> from rwlib.checks import NumberExercise, Tolerance, exercise
    >>> _ = exercise(NumberExercise("00-doc-example", lambda: 2.0, Tolerance(rtol=5e-6),
    ...                             "add one and one"))
    >>> import rwlib as rw
    >>> rw.check("00-doc-example", 2)
    ✔ 00-doc-example: right
    """
    grade_id = definition.grade_id
    if not re.fullmatch(r"[A-Za-z0-9_-]+", grade_id):
        raise ValueError(
            f"grade_id {grade_id!r} may hold only letters, digits, '_' and '-' "
            "(nbgrader's rule); e.g. 04-beta-for-0-9"
        )
    if grade_id in _EXERCISES:
        raise ValueError(f"two exercises share the grade_id {grade_id!r}; rename one")
    _EXERCISES[grade_id] = definition
    return definition


@functools.cache
def _load_exercises() -> None:
    """Import every lesson module of rwlib.exercises, which registers its definitions."""
    package = importlib.import_module("rwlib.exercises")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"rwlib.exercises.{module.name}")


def definition(grade_id: str) -> Exercise:
    """The definition of exercise ``grade_id``; ValueError naming the known ids if none."""
    _load_exercises()
    if grade_id not in _EXERCISES:
        raise ValueError(
            f"no exercise has the grade_id {grade_id!r}; known ids: {', '.join(sorted(_EXERCISES))}"
        )
    return _EXERCISES[grade_id]


def definitions() -> dict[str, Exercise]:
    """Every registered exercise definition, by grade_id."""
    _load_exercises()
    return dict(_EXERCISES)


def grading() -> bool:
    """True when ``RWLIB_GRADING=1``: then an unanswered exercise counts as wrong."""
    return os.environ.get("RWLIB_GRADING", "") == "1"


class AnswerTypeError(ValueError):
    """An answer of a type the exercise does not accept; the message says what it wants."""


def as_number(answer) -> float:
    """The answer as a float, if the exercise's accepted types include it.

    Examples
    --------
    >>> as_number(np.float32(0.5)), as_number(np.array([2.0])), as_number(3)
    (0.5, 2.0, 3.0)
    >>> as_number("0.35")
    Traceback (most recent call last):
    ...
    rwlib.checks.AnswerTypeError: the answer should be a single number, not str
    """
    if isinstance(answer, (str, bytes, bool, np.bool_)) or answer is None:
        raise AnswerTypeError(f"the answer should be a single number, not {type(answer).__name__}")
    try:
        array = np.asarray(answer)
    except (ValueError, TypeError):  # ragged nested lists
        array = None
    if array is None or array.dtype.kind not in "iuf" or array.size != 1:
        kind = "a single number" if array is None or array.size != 1 else "a real number"
        raise AnswerTypeError(f"the answer should be {kind}, not {type(answer).__name__}")
    value = float(array.reshape(()))
    if not math.isfinite(value):
        raise AnswerTypeError(f"the answer should be a finite number, got {value}")
    return value


def judge_number(exercise: NumberExercise, value: float) -> str | None:
    """None when ``value`` answers ``exercise``, else the hint (shared by check and grader)."""
    expected, tolerance = float(exercise.expected()), exercise.tolerance
    if exercise.whole_number and value != round(value):
        return "the answer is a count: give a whole number"
    if tolerance.accepts(value, expected):
        return None
    for mistake, hint in exercise.mistakes():
        if Tolerance(rtol=1e-9, atol=1e-12).accepts(value, mistake) or tolerance.accepts(
            value, mistake
        ):
            return hint
    if Tolerance(rtol=1e-2).accepts(value, expected):
        return "close, but " + tolerance.closeness(value, expected)
    return exercise.hint


def judge_outputs(exercise: FunctionExercise, got, expected) -> bool:
    """True when a function's output ``got`` matches the reference's ``expected``."""
    try:
        return exercise.tolerance.accepts(got, expected)
    except (TypeError, ValueError):
        return False


_DYNAMIC = {"LOAD_GLOBAL", "LOAD_NAME"}


def global_names(function) -> set[str]:
    """The global names a function's code (and the code nested in it) reads."""
    names, codes = set(), [function.__code__]
    while codes:
        code = codes.pop()
        names |= {i.argval for i in dis.get_instructions(code) if i.opname in _DYNAMIC}
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return {str(name) for name in names}


def _module_rule_hint(exercise: FunctionExercise, function) -> str | None:
    """A hint when a from-scratch function reads a global that is not an allowed module."""
    if exercise.allowed_modules is None:
        return None
    scope = getattr(function, "__globals__", {})
    for name in sorted(global_names(function)):
        value = scope.get(name)
        if isinstance(value, types.ModuleType):
            if value.__name__.split(".")[0] not in exercise.allowed_modules:
                return f"{exercise.rule()}: your function uses the module {name}"
        elif callable(value) and not isinstance(value, type):
            module = getattr(value, "__module__", "") or ""
            if module.split(".")[0] == "rwlib":
                return f"{exercise.rule()}: your function uses {name} from rwlib"
    return None


def _function_hint(exercise: FunctionExercise, function) -> str | None:
    if not callable(function):
        return f"the answer should be a function, not {type(function).__name__}"
    broken = _module_rule_hint(exercise, function)
    if broken:
        return broken
    for number, args in enumerate(exercise.examples, start=1):
        try:
            got = function(*args)
        except NotImplementedError:
            raise
        except Exception as error:  # a student's bug: report it as a hint
            return f"calling it on example {number} {args!r} raised {type(error).__name__}: {error}"
        if not judge_outputs(exercise, _plain_output(got), exercise.reference(*args)):
            return f"{exercise.hint} (it is not right for example {number}, the arguments {args!r})"
    return None


def _plain_output(value):
    """A function's output as floats (nested lists), or the object itself if it is not numeric."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return value
    return array


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
    >>> rw.check("01-sum-b-with-d", ...)
    01-sum-b-with-d: not answered yet
    >>> rw.check("01-sum-b-with-d", 7 / 31)
    ✔ 01-sum-b-with-d: right
    """
    exercise = definition(grade_id)
    answered = answer is not Ellipsis
    try:
        hint = verify(exercise, answer) if answered else None
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


def verify(exercise: Exercise, answer: Any) -> str | None:
    """None when ``answer`` solves ``exercise``, else its hint (NotImplementedError for a stub)."""
    if isinstance(exercise, FunctionExercise):
        return _function_hint(exercise, answer)
    try:
        value = as_number(answer)
    except AnswerTypeError as error:
        return str(error)
    return judge_number(exercise, value)
