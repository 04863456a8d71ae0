"""The exercises of ``04_temperature_beta.ipynb``: one definition each.

Expected values are closed forms, or rwlib and numpy on the exercise's data,
never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import (
    FUNCTION_OUTPUTS,
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    exercise,
)

# The two-output example: pi_ref = (0.6, 0.4), rewards (2, 1).
TWO_REF = np.array([0.6, 0.4])
TWO_REWARDS = np.array([2.0, 1.0])
TARGET = 0.9  # 04-beta-for-0-9: the beta at which pi*(y1) = 0.9
# 04-b-overtakes-a: the example of section 2, outputs A, B, C, D.
LIMITS_REF = np.array([0.5, 0.3, 0.2, 0.0])
LIMITS_REWARDS = np.array([1.0, 2.0, 0.0, 5.0])

# 04-kl-budget: three outputs, a grid of betas, a KL budget in nats.
BUDGET_REF = np.array([0.2, 0.5, 0.3])
BUDGET_REWARDS = np.array([3.0, 1.0, 0.0])
BUDGET_GRID = np.geomspace(0.1, 10.0, 41)
BUDGET = 0.1


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


GAP = float(TWO_REWARDS[0] - TWO_REWARDS[1])


def _beta_for(target: float) -> float:
    """The beta at which pi*(y1) = target: logit pi_ref(y1) + (r1 - r2) / beta = logit(target)."""
    return GAP / (_logit(target) - _logit(TWO_REF[0]))


exercise(
    NumberExercise(
        "04-beta-for-0-9",
        expected=lambda: _beta_for(TARGET),
        tolerance=SIX_DIGITS,
        hint="with two outputs, pi*(y1) is fixed by its log-odds; pi*(y1) falls as beta grows, "
        "so solve for the beta that gives log-odds of 0.9 (or bisect on beta)",
        mistakes=lambda: [
            (
                GAP / _logit(TARGET),
                "the reference already favours y1 (pi_ref(y1) = 0.6): its logit is part of the sum",
            ),
            (
                1 / _beta_for(TARGET),
                "that is 1 / beta: the reward difference is divided by beta",
            ),
            (
                GAP / (_logit(TARGET) + _logit(TWO_REF[0])),
                "check the sign: the reference's logit helps y1, so the reward supplies less "
                "than logit(0.9)",
            ),
        ],
    )
)


def _beta_b_equals_a() -> float:
    """pi*(B) / pi*(A) = (pi_ref(B) / pi_ref(A)) e^((r_B - r_A) / beta) = 1."""
    (ref_a, ref_b), (r_a, r_b) = LIMITS_REF[:2], LIMITS_REWARDS[:2]
    return float((r_b - r_a) / np.log(ref_a / ref_b))


exercise(
    NumberExercise(
        "04-b-overtakes-a",
        expected=_beta_b_equals_a,
        tolerance=SIX_DIGITS,
        hint="compare the two outputs directly: Z is the same for both, and the other outputs "
        "do not change the ratio of their probabilities",
        mistakes=lambda: [
            (
                1 / _beta_b_equals_a(),
                "that is 1 / beta: the reward difference is divided by beta",
            ),
            (
                -_beta_b_equals_a(),
                "beta is positive: B's higher reward makes up for its smaller pi_ref",
            ),
            (
                float(np.log10(LIMITS_REF[0] / LIMITS_REF[1]) ** -1),
                "rewards enter through exp: use the natural log",
            ),
        ],
    )
)


def _budget_kls() -> np.ndarray:
    pi_star = rw.reward_weighted(BUDGET_REF, BUDGET_REWARDS, BUDGET_GRID[:, None])
    return rw.kl_divergence(pi_star, BUDGET_REF)


def _budget_index() -> int:
    """The index of the smallest beta on the grid whose KL is at most the budget."""
    return int(np.flatnonzero(_budget_kls() <= BUDGET)[0])


exercise(
    NumberExercise(
        "04-kl-budget",
        expected=lambda: float(BUDGET_GRID[_budget_index()]),
        tolerance=SIX_DIGITS,
        hint="the KL from pi_ref falls as beta grows: find the first beta of the grid whose "
        "KL(pi* || pi_ref) is within the budget",
        mistakes=lambda: [
            (
                float(BUDGET_GRID[-1]),
                "every large beta meets the budget; the question asks for the smallest one, "
                "the beta that uses the budget best",
            ),
            (
                float(BUDGET_GRID[_budget_index() - 1]),
                "at that beta KL(pi* || pi_ref) is just above the budget: compute the KL with "
                "pi* first (KL is not symmetric) and take the first beta at or under the budget",
            ),
            (
                float(BUDGET_GRID[0]),
                "a small beta magnifies reward differences and moves pi* far from pi_ref; "
                "look at the KL values on the grid",
            ),
        ],
    )
)


def _two_output_pi_star(p1, r1, r2, beta):
    """The reference of 04-two-output-pi-star: pi*(y1) from rw.reward_weighted."""
    return float(rw.reward_weighted([p1, 1 - p1], [r1, r2], beta)[0])


exercise(
    FunctionExercise(
        "04-two-output-pi-star",
        reference=_two_output_pi_star,
        examples=[
            (0.6, 2.0, 1.0, 1.0),
            (0.6, 2.0, 1.0, 0.5),
            (0.3, 0.0, 1.0, 2.0),
            (0.5, 1.0, 1.0, 3.0),
            (0.9, -1.0, 2.0, 0.25),
            (0.05, 4.0, 1.0, 10.0),
        ],
        hidden_cases={PUBLIC_CASE: 1, "equal rewards": 1, "the outputs swapped": 1},
        tolerance=FUNCTION_OUTPUTS,
        hint="the sigmoid closed form of section 3: check where the reference starts y1, which "
        "way the reward gap pushes it, and what beta does to that push; return a single number",
    )
)
