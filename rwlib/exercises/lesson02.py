"""The exercises of ``02_normalization_factor.ipynb``: one definition each.

Expected values are closed forms, or rwlib on the exercise's data, never pasted
in as literals.
"""

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
from rwlib.reward_weighted import log_normalization_factor, normalization_factor

# The settings of the exercises, as the notebook states them.
THREE_REF, THREE_REWARDS, THREE_BETA = np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, -1.0]), 0.5
SHIFT_REF, SHIFT_REWARDS = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, -1.0, 2.0, 0.3])
SHIFT_C, SHIFT_BETA = -2.0, 0.8
TWO_REF, TWO_REWARDS, TARGET_Z = np.array([0.6, 0.4]), np.array([2.0, 1.0]), 3.0
LARGE_REF, LARGE_REWARDS = np.array([0.2, 0.5, 0.3]), np.array([300.0, 800.0, 500.0])
LARGE_BETA = 0.5


exercise(
    NumberExercise(
        "02-z-three-outputs",
        expected=lambda: normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
        tolerance=SIX_DIGITS,
        hint="Z sums each output's reference probability times its exponentiated, scaled reward",
        mistakes=lambda: [
            (
                normalization_factor(THREE_REF, THREE_REWARDS, 1.0),
                "this is Z for beta = 1: the exercise's beta is 0.5",
            ),
            (
                float(np.sum(THREE_REF * np.exp(THREE_REWARDS * THREE_BETA))),
                "the reward is divided by beta, not multiplied",
            ),
            (
                float(np.sum(np.exp(THREE_REWARDS / THREE_BETA))),
                "each exponential is weighted by the reference probability of its output",
            ),
            (
                log_normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
                "this is log Z; the exercise asks for Z itself",
            ),
        ],
    )
)


def _shift_ratio() -> float:
    shifted = normalization_factor(SHIFT_REF, SHIFT_REWARDS + SHIFT_C, SHIFT_BETA)
    return shifted / normalization_factor(SHIFT_REF, SHIFT_REWARDS, SHIFT_BETA)


exercise(
    NumberExercise(
        "02-shift-ratio",
        expected=_shift_ratio,
        tolerance=SIX_DIGITS,
        hint="compute Z under both reward models, at the same beta, and divide",
        mistakes=lambda: [
            (1 / _shift_ratio(), "the ratio is upside down: Z(r') over Z(r)"),
            (float(np.exp(SHIFT_C)), "the shift enters Z divided by beta"),
            (float(np.exp(SHIFT_C * SHIFT_BETA)), "the shift is divided by beta, not multiplied"),
            (SHIFT_C / SHIFT_BETA, "this is the log of the ratio; the exercise asks for the ratio"),
        ],
    )
)


def beta_for_z(target: float) -> float:
    """The beta with 0.6 e^(2/beta) + 0.4 e^(1/beta) = target: a quadratic in u = e^(1/beta)."""
    a, b = TWO_REF
    u = (-b + np.sqrt(b * b + 4 * a * target)) / (2 * a)
    return float(1 / np.log(u))


exercise(
    NumberExercise(
        "02-beta-for-z-3",
        expected=lambda: beta_for_z(TARGET_Z),
        tolerance=Tolerance(rtol=1e-3),
        hint="Z falls as beta grows here: search over beta (a fine grid, or bisection) for Z = 3",
        mistakes=lambda: [
            (1 / beta_for_z(TARGET_Z), "this is 1 / beta; the exercise asks for beta itself")
        ],
    )
)

exercise(
    NumberExercise(
        "02-log-z-large",
        expected=lambda: log_normalization_factor(LARGE_REF, LARGE_REWARDS, LARGE_BETA),
        tolerance=SIX_DIGITS,
        hint="Z itself overflows here: work with log Z, which rwlib computes without forming Z",
        mistakes=lambda: [
            (
                log_normalization_factor(LARGE_REF, LARGE_REWARDS, 1.0),
                "this is log Z for beta = 1: the exercise's beta is 0.5",
            ),
            (
                float(LARGE_REWARDS.max() / LARGE_BETA),
                "max r / beta is only the first term of log Z: add the log of the shifted sum",
            ),
        ],
    )
)

exercise(
    FunctionExercise(
        "02-z-from-scratch",
        reference=normalization_factor,
        examples=[
            (TWO_REF, TWO_REWARDS, 1.0),
            (THREE_REF, THREE_REWARDS, THREE_BETA),
            (SHIFT_REF, SHIFT_REWARDS, 2.5),
            (np.array([0.5, 0.0, 0.5]), np.array([1.0, 7.0, -1.0]), 0.7),
        ],
        hidden_cases={PUBLIC_CASE: 1, "every reward zero": 1, "equal rewards": 1},
        tolerance=FUNCTION_OUTPUTS,
        hint="Z is a sum over the outputs of a weight per output; return one number",
        allowed_modules=("numpy", "math"),
    )
)
