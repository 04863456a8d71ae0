"""Checks of the exercises in ``01_scores_to_probabilities.ipynb``."""

import numpy as np

from rwlib.checks import exercise, function_hint, number_hint
from rwlib.scores import normalize, softmax

SCORES = np.array([12.0, 7.0, 1.0])  # outcomes A, B, C
SCORES_WITH_D = np.array([12.0, 7.0, 1.0, 11.0])  # outcome D joins with logit 11
TARGET_P_A = 0.9


@exercise("01-probability-of-b")
def probability_of_b(answer):
    """Scores 12, 7, 1 for outcomes A, B, C: P(B) after dividing by the sum."""
    return number_hint(
        answer,
        7 / 20,
        "divide B's score by the sum of all three scores",
        mistakes=[(7 / 12, "the normalizer is the sum of all the scores, not A's score")],
    )


@exercise("01-softmax-b-with-d")
def softmax_b_with_d(answer):
    """Logits 12, 7, 1, 11 for A, B, C, D: P(B) under softmax."""
    return number_hint(
        answer,
        float(softmax(SCORES_WITH_D)[1]),
        "put all four logits, in the order A, B, C, D, through rw.softmax and take B's entry",
        mistakes=[
            (
                float(softmax(SCORES)[1]),
                "that is B's probability among A, B and C only: D takes probability too",
            ),
            (
                float(normalize(SCORES_WITH_D)[1]),
                "that divides the logits by their sum; logits go through softmax",
            ),
        ],
    )


def _cases():
    """Arguments and expected results of the stable_softmax exercise (from rw.softmax)."""
    inputs = [
        [12.0, 7.0, 1.0],
        [1000.0, 1001.0],
        [-1000.0, -999.0, -1001.0],
        [800.0, 0.0, -800.0],
        [3.0, 3.0, 3.0, 3.0],
        [0.0],
    ]
    return [((np.array(z),), softmax(z)) for z in inputs]


@exercise("01-stable-softmax")
def stable_softmax(answer):
    """Implement softmax with the max-shift, so that [1000, 1001] works."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        return function_hint(
            answer,
            _cases(),
            "return a 1-D array that sums to 1: subtract the largest logit before np.exp, "
            "then divide by the sum",
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


@exercise("01-temperature-p-a-90")
def temperature_p_a_90(answer):
    """The temperature T at which softmax((12, 7, 1) / T) gives P(A) = 0.9, to 0.1 %."""
    temperature = _solve_temperature()
    return number_hint(
        answer,
        temperature,
        "P(A) = rw.softmax(scores / T)[0] falls as T grows: bracket 0.9 between two "
        "temperatures and halve the bracket (or use a fine grid of T)",
        rtol=1e-3,
        mistakes=[
            (1 / temperature, "divide the logits by T; you multiplied them by T"),
            (1.0, "at T = 1, P(A) is much more than 0.9: the answer is a larger T"),
        ],
    )
