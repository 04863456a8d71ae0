"""The exercises of ``01_scores_to_probabilities.ipynb``: one definition each."""

import numpy as np

from rwlib.checks import (
    FUNCTION_OUTPUTS,
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    Tolerance,
    exercise,
)
from rwlib.scores import softmax

SCORES = np.array([12.0, 7.0, 1.0])  # outcomes A, B, C
SCORES_WITH_D = np.array([12.0, 7.0, 1.0, 11.0])  # outcome D joins with logit 11
TARGET_P_A = 0.9


exercise(
    NumberExercise(
        "01-sum-b-with-d",
        expected=lambda: 7 / 31,
        tolerance=SIX_DIGITS,
        hint="B's share of the total score, now that four outcomes share it",
        mistakes=lambda: [
            (7 / 20, "that is B's share among A, B and C: D's score counts in the total too"),
            (7 / 12, "the normalizer is the sum of all the scores, not A's score"),
            (
                float(softmax(SCORES_WITH_D)[1]),
                "that is softmax; here the scores are divided by their sum",
            ),
        ],
    )
)


def _logit_halving_the_others() -> float:
    """e^d must equal the sum of the other weights: d is their log-sum-exp, in closed form."""
    top = SCORES.max()
    return float(top + np.log(np.exp(SCORES - top).sum()))


exercise(
    NumberExercise(
        "01-logit-d-halves-others",
        expected=_logit_halving_the_others,
        tolerance=SIX_DIGITS,
        hint="if every old probability is halved, what share of the total is left for D? "
        "Then compare D's weight with the others' weights",
        mistakes=lambda: [
            (float(SCORES.max()), "D as likely as A halves A, but B and C keep more than half"),
            (
                float(np.log(SCORES.sum())),
                "logits are log-weights: add their exponentials, not the logits themselves",
            ),
            (
                float(np.log10(np.exp(SCORES).sum())),
                "softmax exponentiates with e, so use the natural log",
            ),
        ],
    )
)


exercise(
    FunctionExercise(
        "01-stable-softmax",
        reference=softmax,
        examples=[
            (np.array([12.0, 7.0, 1.0]),),
            (np.array([1000.0, 1001.0]),),
            (np.array([-1000.0, -999.0, -1001.0]),),
            (np.array([800.0, 0.0, -800.0]),),
            (np.array([3.0, 3.0, 3.0, 3.0]),),
            (np.array([0.0]),),
        ],
        hidden_cases={PUBLIC_CASE: 1, "large logits": 1, "equal logits": 1},
        tolerance=FUNCTION_OUTPUTS,
        hint="return a 1-D array that sums to 1; softmax does not change when every logit moves "
        "by the same amount, and that freedom keeps np.exp from overflowing",
        allowed_modules=("numpy", "math"),
    )
)


def _p_a_at_temperature(temperature: float, scores=SCORES) -> float:
    """P(A) = softmax(scores / T)[0]."""
    return float(softmax(np.asarray(scores) / temperature)[0])


def _solve_temperature(target: float = TARGET_P_A, low: float = 0.01, high: float = 100.0) -> float:
    """The T with softmax((12, 7, 1) / T)[0] == target, by bisection (P(A) falls as T grows)."""
    for _ in range(200):
        middle = (low + high) / 2
        if _p_a_at_temperature(middle) > target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


exercise(
    NumberExercise(
        "01-temperature-p-a-90",
        expected=_solve_temperature,
        tolerance=Tolerance(rtol=1e-3),
        hint="P(A) falls as T grows: narrow down the T where it crosses 0.9 (bisection, or a "
        "fine grid of T)",
        mistakes=lambda: [
            (1 / _solve_temperature(), "divide the logits by T; you multiplied them by T"),
            (1.0, "at T = 1, P(A) is much more than 0.9: the answer is a larger T"),
        ],
    )
)
