"""Checks of the exercises in ``03_reward_weighted_distribution.ipynb``."""

import math

import numpy as np

from rwlib.checks import exercise, function_hint, number_hint
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


@exercise("03-pi-star-beta-half")
def pi_star_beta_half(answer):
    """pi*(y1) of the two-output example at beta = 0.5."""
    weights = np.array(TWO_REF) * np.exp(np.array(TWO_REWARDS) / 0.5)
    unscaled = np.array(TWO_REF) * np.exp(np.array(TWO_REWARDS) * 0.5)
    return number_hint(
        answer,
        weights[0] / weights.sum(),
        "call rw.reward_weighted with the two-output example and beta=0.5, then take entry 0",
        mistakes=[
            (reward_weighted(TWO_REF, TWO_REWARDS, 1.0)[0], "that is pi*(y1) at beta = 1, not 0.5"),
            (weights[1] / weights.sum(), "that is pi*(y2); y1 is entry 0"),
            (unscaled[0] / unscaled.sum(), "the reward is divided by beta, not multiplied"),
            (weights[0], "that weight is not normalised yet: divide by Z"),
        ],
    )


@exercise("03-half-mass-reward")
def half_mass_reward(answer):
    """The reward at which an output with pi_ref = 1e-6 gets half of pi*."""
    others = HALF_MASS_REF[0] * math.exp(2.0) + HALF_MASS_REF[1] * math.exp(1.0)
    return number_hint(
        answer,
        math.log(others / TINY),
        "pi*(y3) grows with its reward: bisect between a reward where rw.reward_weighted gives it "
        "less than 1/2 and one where it gives more",
        mistakes=[
            (math.log(1 / TINY), "the other outputs' weights pi_ref e^r count in Z too"),
            (
                2.0 + math.log(0.6 / TINY),
                "that reward makes y3 as likely as y1; the question asks for half of all the mass",
            ),
            (math.log10(others / TINY), "rewards enter through exp, so use the natural log"),
        ],
    )


@exercise("03-equal-completions")
def equal_completions(answer):
    """The reward of "terse" that makes it as likely as "balanced" under pi* at beta = 0.5."""
    ref_a, ref_c = SUMMARY_REF[0], SUMMARY_REF[2]
    reward_a = SUMMARY_REWARDS[0]
    return number_hint(
        answer,
        reward_a + EQUAL_BETA * math.log(ref_a / ref_c),
        "compare pi* of the two completions from rw.reward_weighted at beta=0.5 while you change "
        "the reward of 'terse' only",
        mistakes=[
            (reward_a, "equal rewards keep the reference's odds 0.25 : 0.15, not equal odds"),
            (reward_a + math.log(ref_a / ref_c), "the reward difference is divided by beta = 0.5"),
            (
                reward_a + EQUAL_BETA * math.log(ref_c / ref_a),
                "'terse' already has more reference probability: it needs a lower reward",
            ),
        ],
    )


# Cases for 03-reweight-function: (ref, rewards, beta).
REWEIGHT_CASES = [
    ((0.6, 0.4), (2.0, 1.0), 1.0),
    ((0.6, 0.4), (2.0, 1.0), 0.5),
    ((0.15, 0.30, 0.25, 0.20, 0.08, 0.02), (3.0, 1.5, 0.5, 1.0, -2.0, -3.0), 1.0),
]
ZERO_CASE = ((0.5, 0.3, 0.2, 0.0), (1.0, -1.0, 0.5, 50.0), 2.0)
LARGE_CASE = ((0.25, 0.75), (800.0, 799.0), 1.0)


def _cases(cases):
    return [
        ((np.array(ref), np.array(rewards), beta), reward_weighted(ref, rewards, beta))
        for ref, rewards, beta in cases
    ]


@exercise("03-reweight-function")
def reweight_function(answer):
    """``reweight(ref, rewards, beta)`` from scratch: pi*, with pi* = 0 exactly where ref = 0."""
    hint = function_hint(
        answer,
        _cases(REWEIGHT_CASES),
        "multiply ref by exp(rewards / beta), then divide by the sum of the result",
    )
    if hint is not None:
        return hint
    hint = function_hint(
        answer,
        _cases([ZERO_CASE]),
        "an output with ref = 0 must get pi* = 0 and leave the others as if it were absent",
    )
    if hint is not None:
        return hint
    ref, rewards, beta = ZERO_CASE
    if np.asarray(answer(np.array(ref), np.array(rewards), beta), dtype=float)[-1] != 0.0:
        return "pi* must be exactly 0.0 where ref is 0, not just small"
    return function_hint(
        answer,
        _cases([LARGE_CASE]),
        "exp(800) overflows a float: subtract the largest reward from every reward before exp "
        "(notebook 01); the shift cancels when you normalise",
    )
