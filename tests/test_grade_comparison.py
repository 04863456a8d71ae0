"""The grader's comparison and rules on their own: bounded parsing, forged lines, answer sources."""

from __future__ import annotations

import pytest

from rwlib.checks import PUBLIC_CASE, definition
from rwlib.grading import rules
from rwlib.grading.comparison import GradingLineError, judge_cell, parse_line, records, score
from rwlib.hidden_values import ANSWER_CASE, PREFIX

NUMBER = "02-z-three-outputs"
FUNCTION = "02-z-from-scratch"
MODULES = {"np": "numpy", "rw": "rwlib", "plt": "matplotlib.pyplot"}


def line(exercise: str, case: str, body: str) -> str:
    return f'{PREFIX}{{"exercise": "{exercise}", "case": "{case}", {body}}}'


def right_number() -> str:
    return line(NUMBER, ANSWER_CASE, f'"value": {definition(NUMBER).expected()!r}')


class TestBoundedParsing:
    @pytest.mark.parametrize(
        "body",
        [
            '"value": ' + "9" * 400,  # a 400-digit integer
            '"value": ' + "[" * 100_000 + "]" * 100_000,  # 100,000 deep
            '"value": 1e999999',  # a float that overflows
            '"value": "' + "x" * (2 << 20) + '"',  # a 2 MB line
        ],
    )
    def test_a_forged_line_fails_the_question_with_a_reason_and_never_raises(self, body):
        (verdict,) = judge_cell(definition(NUMBER), line(NUMBER, ANSWER_CASE, body), "")
        assert not verdict.passed and verdict.message

    def test_limits_raise_grading_line_errors(self):
        for text in ('{"case": "a", "value": ' + "1" * 41 + "}", "[" * 9 + "]" * 9, "not json"):
            with pytest.raises(GradingLineError):
                parse_line(text)

    def test_a_line_for_another_exercise_is_ignored(self):
        assert records(line("02-shift-to-z-one", ANSWER_CASE, '"value": 1.0'), NUMBER) == {}


class TestForgedLines:
    def test_the_right_value_passes(self):
        (verdict,) = judge_cell(definition(NUMBER), right_number(), "")
        assert verdict.passed

    def test_a_second_line_for_the_same_case_fails_it(self):
        (verdict,) = judge_cell(definition(NUMBER), right_number() + "\n" + right_number(), "")
        assert not verdict.passed and "more than once" in verdict.message

    def test_no_line_fails_with_did_not_run(self):
        (verdict,) = judge_cell(definition(NUMBER), "✔ right\n", "")
        assert not verdict.passed and "did not run" in verdict.message

    @pytest.mark.parametrize("value", ["true", '"4.02"', "NaN", "Infinity", "[4.02]", "null"])
    def test_a_value_that_is_not_a_finite_float_fails(self, value):
        (verdict,) = judge_cell(
            definition(NUMBER), line(NUMBER, ANSWER_CASE, f'"value": {value}'), ""
        )
        assert not verdict.passed

    def test_an_error_name_that_is_not_an_identifier_is_not_echoed(self):
        stored = "\n".join(
            line(FUNCTION, case, '"values": [1.0]') for case in definition(FUNCTION).hidden_cases
        )
        secret = "hidden input 0.3, 0.7"
        printed = "\n".join(
            line(FUNCTION, case, f'"error": "{secret}"')
            for case in definition(FUNCTION).hidden_cases
        )
        verdicts = judge_cell(definition(FUNCTION), printed, stored)
        assert not any(v.passed for v in verdicts)
        assert all(secret not in v.message for v in verdicts)

    def test_function_cases_earn_their_share(self):
        exercise = definition(FUNCTION)
        stored = "\n".join(line(FUNCTION, c, '"values": [1.0, 2.0]') for c in exercise.hidden_cases)
        printed = "\n".join(
            line(
                FUNCTION, c, '"values": [1.0, 2.0]' if c == PUBLIC_CASE else '"values": [1.0, 3.0]'
            )
            for c in exercise.hidden_cases
        )
        verdicts = judge_cell(exercise, printed, stored)
        assert [v.passed for v in verdicts] == [c == PUBLIC_CASE for c in exercise.hidden_cases]
        assert score(3, verdicts) == 1.0
        assert all("3.0" not in v.message and "2.0" not in v.message for v in verdicts)


class TestTampering:
    @pytest.mark.parametrize(
        "source",
        [
            "np.sum = lambda *a: 0",
            "rw.check = print",
            "import numpy\nnumpy.linalg.norm = abs",
            "setattr(np, 'sum', len)",
            "exec('x = 1')",
            "eval('1')",
            "__import__('os')",
            "import sys\nsys.stdout = None",
            "import builtins",
            "from importlib import import_module",
            "get_ipython().run_cell('1')",
            "x = np.__dict__",
            "del rw.check",
            "import linecache",
        ],
    )
    def test_tampering_is_named(self, source):
        assert rules.tampering(source, MODULES)

    @pytest.mark.parametrize(
        "source",
        [
            "z = rw.normalization_factor([0.5, 0.5], [1.0, 2.0], beta=0.5)",
            "grid = np.logspace(-1, 1, 101)\nbest = grid[np.argmin(np.abs(grid - 3))]",
            "def f(x):\n    return np.exp(x) / np.sum(np.exp(x))",
            "plt.rcParams['figure.dpi'] = 80",
            "values = {}\nvalues['a'] = 1",
            "this is not python (",
        ],
    )
    def test_ordinary_answers_pass(self, source):
        assert rules.tampering(source, MODULES) is None


class TestFromScratch:
    ALLOWED = ("numpy", "math")

    @pytest.mark.parametrize(
        "source",
        [
            "def z(a, b, c):\n    return rw.normalization_factor(a, b, c)",
            "import rwlib\ndef z(a, b, c):\n    return rwlib.normalization_factor(a, b, c)",
            "from rwlib import normalization_factor as nf\ndef z(a, b, c):\n    return nf(a, b, c)",
            "def z(a, b, c):\n    return helper(a, b, c)",  # a name from elsewhere
            "def z(a, b, c):\n    return np.zfs(a, b, c)",  # not numpy's
            "import scipy.special\ndef z(a, b, c):\n    return scipy.special.logsumexp(b)",
            "def z(a, b, c):\n    return np.testing.rw",
            "def z(a, b, c):\n    return open('x').read()",
            "def z(a, b, c):\n    return getattr(np.testing, 'sys').modules['rwlib']",
            "def z(a, b, c):\n    return getattr(np, 'test' + 'ing')",
        ],
    )
    def test_what_is_not_numpy_is_named(self, source):
        assert rules.not_allowed(source, self.ALLOWED, MODULES)

    @pytest.mark.parametrize(
        "source",
        [
            "def z(ref, r, beta):\n    return float(np.sum(np.asarray(ref) * np.exp(r / beta)))",
            "import math\ndef z(ref, r, b):\n"
            "    return sum(p * math.exp(x / b) for p, x in zip(ref, r))",
            "import numpy\ndef z(ref, r, b):\n"
            "    w = numpy.multiply(ref, numpy.exp(r / b))\n    return w.sum()",
            "def z(ref, r, b):\n    m = np.max(r)\n"
            "    return np.exp(m / b) * np.sum(ref * np.exp((r - m) / b))",
        ],
    )
    def test_numpy_answers_pass(self, source):
        assert rules.not_allowed(source, self.ALLOWED, MODULES) is None
