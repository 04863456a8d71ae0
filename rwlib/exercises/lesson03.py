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
from rwlib.reward_weighted import reward_weighted

# The two-output example: pi_ref = (0.6, 0.4), rewards (2, 1).
TWO_REF, TWO_REWARDS = (0.6, 0.4), (2.0, 1.0)

# 03-half-mass-reward: a third output with pi_ref = 1e-6, taken from the second output.
TINY = 1e-6
HALF_MASS_REF = (0.6, 0.4 - TINY, TINY)

# 03-equal-completions: the summaries of the notebook; "terse" (index 2) against "balanced" (0).
SUMMARY_REF = (0.15, 0.30, 0.25, 0.20, 0.08, 0.02)
SUMMARY_REWARDS = (3.0, 1.5, 0.5, 1.0, -2.0, -3.0)
EQUAL_BETA = 0.5


def _two_weights(beta: float) -> np.ndarray:
    """The unnormalised weights pi_ref e^(r / beta) of the two-output example."""
    return np.array(TWO_REF) * np.exp(np.array(TWO_REWARDS) / beta)


def _pi_star_beta_half() -> float:
    weights = _two_weights(0.5)
    return float(weights[0] / weights.sum())


def _pi_star_beta_half_mistakes():
    weights = _two_weights(0.5)
    unscaled = np.array(TWO_REF) * np.exp(np.array(TWO_REWARDS) * 0.5)
    return [
        (
            float(reward_weighted(TWO_REF, TWO_REWARDS, 1.0)[0]),
            "that is pi*(y1) at beta = 1, not 0.5",
        ),
        (float(weights[1] / weights.sum()), "that is pi*(y2); y1 is entry 0"),
        (
            float(unscaled[0] / unscaled.sum()),
            "this is pi*(y1) at beta = 2 (the same as multiplying the rewards by 0.5): "
            "the exercise divides each reward by beta = 0.5",
        ),
        (float(weights[0]), "that weight is not normalised yet: divide by Z"),
    ]


exercise(
    NumberExercise(
        "03-pi-star-beta-half",
        expected=_pi_star_beta_half,
        tolerance=SIX_DIGITS,
        hint="the reward-weighted distribution of the two-output example at beta = 0.5: "
        "its entry for y1",
        mistakes=_pi_star_beta_half_mistakes,
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
