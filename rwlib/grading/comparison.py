"""The verdict of one question, decided in the grader's process from the lines its kernel printed.

A check cell's hidden test prints one grading line per case
(:mod:`rwlib.hidden_values`). Here, in the grader's own process, those lines are
parsed with bounds on their size, depth and digits (a forged line can make a
question fail, never the grader), and each case is judged by the exercise's
definition (:mod:`rwlib.checks`): a number against the definition's exact value,
a function case against the line the instructor's solution stored. Each case
earns its share of the question's points.

Nothing the kernel printed reaches a message: a case fails with its name and a
reason chosen here, or, for a number, the public check's own hint.
"""

from __future__ import annotations

import json
import re

from rwlib.checks import FunctionExercise, NumberExercise, definition, judge_number, judge_outputs
from rwlib.grading.results import CaseResult, QuestionResult
from rwlib.hidden_values import ANSWER_CASE, PREFIX

MAX_LINE_CHARS = 1 << 20
MAX_DEPTH = 8
MAX_NUMBER_CHARS = 40
_ERROR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")


class GradingLineError(ValueError):
    """A grading line beyond the parser's bounds, or not the shape of one."""


def _depth(text: str) -> int:
    """The deepest nesting of brackets in a JSON text, outside its strings."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _number(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise GradingLineError(f"a number with more than {MAX_NUMBER_CHARS} characters")
    return float(text)


def stream_text(outputs) -> str:
    """The printed text of a cell's outputs (its stream outputs, joined)."""
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def parse_line(line: str) -> dict:
    """One grading line (without its prefix) as a dict, within the bounds.

    Examples
    --------
    >>> parse_line('{"exercise": "x", "case": "the answer", "value": 0.5}')["value"]
    0.5
    >>> parse_line('{"values": [' + '1' * 400 + ']}')
    Traceback (most recent call last):
    ...
    rwlib.grading.comparison.GradingLineError: a number with more than 40 characters
    """
    if len(line) > MAX_LINE_CHARS:
        raise GradingLineError(f"a grading line longer than {MAX_LINE_CHARS:,} characters")
    if _depth(line) > MAX_DEPTH:
        raise GradingLineError(f"a grading line nested deeper than {MAX_DEPTH}")
    try:
        record = json.loads(line, parse_int=_number, parse_float=_number)
    except (ValueError, RecursionError) as error:
        if isinstance(error, GradingLineError):
            raise
        raise GradingLineError("a grading line that is not JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("case"), str):
        raise GradingLineError("a grading line that is not a case's record")
    return record


def records(text: str, grade_id: str) -> dict[str, list[dict]]:
    """The records of ``grade_id`` in a cell's output, by case name (bounded parse)."""
    found: dict[str, list[dict]] = {}
    for line in text.splitlines():
        if line.startswith(PREFIX):
            record = parse_line(line[len(PREFIX) :])
            if record.get("exercise") == grade_id:
                found.setdefault(record["case"], []).append(record)
    return found


def _one(found: dict, case: str) -> tuple[dict | None, str]:
    """The case's only record, or None and why not."""
    lines = found.get(case, [])
    if not lines:
        return None, "it did not run (the hidden test printed nothing for it)"
    if len(lines) > 1:
        return None, "the hidden test's output holds it more than once"
    if lines[0].get("error") is not None:
        name = str(lines[0]["error"])
        name = name if _ERROR_NAME.fullmatch(name) else "an exception"
        return None, f"your function raised {name}"
    return lines[0], ""


def _number_case(exercise: NumberExercise, found: dict) -> CaseResult:
    record, why = _one(found, ANSWER_CASE)
    if record is None:
        if why.startswith("your function raised"):
            why = "the answer is not a single finite number"
        return CaseResult(ANSWER_CASE, 1.0, False, why)
    value = record.get("value")
    if not isinstance(value, float) or value != value or abs(value) == float("inf"):
        return CaseResult(ANSWER_CASE, 1.0, False, "the answer is not a single finite number")
    hint = judge_number(exercise, value)
    return CaseResult(ANSWER_CASE, 1.0, hint is None, hint or "")


def _function_cases(exercise: FunctionExercise, found: dict, reference: dict) -> list:
    verdicts = []
    for case, share in exercise.hidden_cases.items():
        record, why = _one(found, case)
        expected, _ = _one(reference, case)
        if expected is None:
            raise GradingLineError(f"the solution stores no values for the case {case!r}")
        if record is not None:
            got, want = record.get("values"), expected["values"]
            right = isinstance(got, list) and len(got) == len(want)
            right = right and all(
                judge_outputs(exercise, g, w) for g, w in zip(got, want, strict=True)
            )
            why = "" if right else f"{exercise.hint} (wrong for the hidden case {case!r})"
        verdicts.append(CaseResult(case, share, record is not None and not why, why))
    return verdicts


def judge_cell(exercise, student_text: str, reference_text: str) -> list[CaseResult]:
    """Every case's verdict for one check cell's output.

    Parameters
    ----------
    exercise : rwlib.checks.NumberExercise or rwlib.checks.FunctionExercise
        The question's definition.
    student_text : str
        What the check cell printed in the student's kernel (untrusted).
    reference_text : str
        What it printed, stored, for the instructor's solution (trusted).

    Returns
    -------
    list of CaseResult
        One per case; a forged or oversized line fails every case with the reason.
    """
    try:
        found = records(student_text, exercise.grade_id)
    except GradingLineError as error:
        names = (
            exercise.hidden_cases if isinstance(exercise, FunctionExercise) else {ANSWER_CASE: 1}
        )
        return [CaseResult(n, s, False, f"the output holds {error}") for n, s in names.items()]
    if isinstance(exercise, NumberExercise):
        return [_number_case(exercise, found)]
    return _function_cases(exercise, found, records(reference_text, exercise.grade_id))


def score(points: float, verdicts: list[CaseResult]) -> float:
    """The points the passed cases earn: each case its share of ``points``.

    Examples
    --------
    >>> score(3, [CaseResult("a", 1, True), CaseResult("b", 2, False)])
    1.0
    """
    total = sum(v.share for v in verdicts)
    return round(points * sum(v.share for v in verdicts if v.passed) / total, 6)


def question_result(question: dict, cells: dict) -> QuestionResult:
    """A question's result from the records of its cells (see :mod:`rwlib.grading.runner`).

    Parameters
    ----------
    question : dict
        The question as the rebuilt notebook's ``rwlib_grading`` metadata holds it:
        ``id``, ``points``, ``answer_ids``, ``unanswered`` and, if the answer breaks
        a rule, ``not_allowed`` (why).
    cells : dict
        grade_id -> the record of that cell: ``outcome`` (ok, exception, timeout,
        died), ``ename``, ``message`` (chosen by the grader), ``stdout`` and the
        solution's stored ``reference`` output.

    Returns
    -------
    QuestionResult
    """
    qid, points = question["id"], question["points"]

    def result(status, message="", cases=()):
        earned = score(points, list(cases)) if cases else 0.0
        return QuestionResult(qid, points, status, earned, message, cases=tuple(cases))

    if question["unanswered"]:
        return result("unanswered", "not answered")
    if question.get("not_allowed"):
        return result("not allowed", question["not_allowed"])
    records = [cells.get(answer) for answer in question["answer_ids"]] + [cells.get(qid)]
    if any(record is None for record in records):
        return result("error", "a cell of this question did not run (the kernel stopped before it)")
    for outcome, status in (("timeout", "timeout"), ("died", "error")):
        for record in records:
            if record["outcome"] == outcome:
                return result(status, record["message"])
    *answers, check = records
    for answer in answers:
        if answer["outcome"] == "exception":
            return result("error", f"your answer cell raised {answer['ename']}")
    cases = judge_cell(definition(qid), check["stdout"], check["reference"])
    passed = sum(case.passed for case in cases)
    status = "passed" if passed == len(cases) else "partial" if passed else "failed"
    return result(status, "; ".join(case.message for case in cases if not case.passed), cases)
