"""The exercises of ``03_reward_weighted_distribution.ipynb``: one definition each.

Expected values are closed forms, or rwlib on the exercise's data, never pasted
in as literals.
"""

import math

import numpy as np

from rwlib.checks import (
    FUNCTION_OUTPUTS,
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    exercise,
)
from rwlib.reward_weighted import log_normalization_factor, reward_weighted

# 03-half-mass-reward: a third output with pi_ref = 1e-6, taken from the second output.
TINY = 1e-6
HALF_MASS_REF = (0.6, 0.4 - TINY, TINY)

# The summaries of section 3: 03-upbeat-breaks-even (index 1), 03-equal-completions ("terse",
# index 2, against "balanced", 0).
SUMMARY_REF = (0.15, 0.30, 0.25, 0.20, 0.08, 0.02)
SUMMARY_REWARDS = (3.0, 1.5, 0.5, 1.0, -2.0, -3.0)
EQUAL_BETA = 0.5


def _beta_upbeat(ref=SUMMARY_REF) -> float:
    """The beta with beta log Z(beta) = r(upbeat): bisection (beta log Z falls as beta grows)."""
    target = SUMMARY_REWARDS[1]
    low, high = 1e-2, 1e3
    for _ in range(200):
        middle = (low + high) / 2
        above = middle * log_normalization_factor(ref, SUMMARY_REWARDS, middle) > target
        low, high = (middle, high) if above else (low, middle)
    return (low + high) / 2


exercise(
    NumberExercise(
        "03-upbeat-breaks-even",
        expected=_beta_upbeat,
        tolerance=SIX_DIGITS,
        hint="an output gains probability exactly when its reward beats a threshold that "
        "depends on beta: find the beta at which upbeat's reward meets it",
        mistakes=lambda: [
            (1 / _beta_upbeat(), "that is 1 / beta; the exercise asks for beta itself"),
            (
                _beta_upbeat(np.full(len(SUMMARY_REF), 1 / len(SUMMARY_REF))),
                "Z averages the weights under the reference, not uniformly over the outputs",
            ),
        ],
    )
)


def _others() -> float:
    """The weights pi_ref e^r (beta = 1) of the two outputs other than y3."""
    return HALF_MASS_REF[0] * math.exp(2.0) + HALF_MASS_REF[1] * math.exp(1.0)


exercise(
    NumberExercise(
        "03-half-mass-reward",
        expected=lambda: math.log(_others() / TINY),
        tolerance=SIX_DIGITS,
        hint="pi*(y3) grows with its reward: find the reward where y3's weight equals the "
        "weight of all the other outputs together",
        mistakes=lambda: [
            (math.log(1 / TINY), "the other outputs' weights pi_ref e^r count in Z too"),
            (
                2.0 + math.log(0.6 / TINY),
                "that reward makes y3 as likely as y1; the question asks for half of all the mass",
            ),
            (math.log10(_others() / TINY), "rewards enter through exp, so use the natural log"),
        ],
    )
)


def _equal_reward(ref_a: float, ref_c: float) -> float:
    return SUMMARY_REWARDS[0] + EQUAL_BETA * math.log(ref_a / ref_c)


exercise(
    NumberExercise(
        "03-equal-completions",
        expected=lambda: _equal_reward(SUMMARY_REF[0], SUMMARY_REF[2]),
        tolerance=SIX_DIGITS,
        hint="two outputs are equally likely under pi* when their weights are equal: change "
        "only the reward of 'terse' until they are",
        mistakes=lambda: [
            (
                SUMMARY_REWARDS[0],
                "equal rewards keep the reference's odds 0.25 : 0.15, not equal odds",
            ),
            (
                SUMMARY_REWARDS[0] + math.log(SUMMARY_REF[0] / SUMMARY_REF[2]),
                "the reward difference is divided by beta = 0.5",
            ),
            (
                _equal_reward(SUMMARY_REF[2], SUMMARY_REF[0]),
                "'terse' already has more reference probability: it needs a lower reward",
            ),
        ],
    )
)


exercise(
    FunctionExercise(
        "03-reweight-function",
        reference=reward_weighted,
        examples=[
            (np.array([0.6, 0.4]), np.array([2.0, 1.0]), 1.0),
            (np.array([0.6, 0.4]), np.array([2.0, 1.0]), 0.5),
            (
                np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02]),
                np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0]),
                1.0,
            ),
            (np.array([0.5, 0.3, 0.2, 0.0]), np.array([1.0, -1.0, 0.5, 50.0]), 2.0),
            (np.array([0.25, 0.75]), np.array([800.0, 799.0]), 1.0),
            # section 4's example: shifting by the largest reward of all outputs (10^4, outside
            # the support) underflows every weight in the support to 0, and 0 / 0 is nan
            (np.array([0.6, 0.4, 0.0]), np.array([2.0, 1.0, 1e4]), 1.0),
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "an output with reference probability 0": 1,
            "large rewards": 1,
        },
        tolerance=FUNCTION_OUTPUTS,
        hint="pi* reweights each output's reference probability and renormalises; an output "
        "with ref = 0 gets exactly 0 whatever its reward, a large reward must not overflow, and "
        "the weights of the outputs in the support must not all underflow to 0",
        allowed_modules=("numpy", "math"),
    )
)
