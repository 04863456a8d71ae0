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
SHIFT_BETA = 0.8
TWO_REF, TWO_REWARDS, TARGET_Z = np.array([0.6, 0.4]), np.array([2.0, 1.0]), 3.0
LARGE_REF, LARGE_REWARDS = np.array([0.2, 0.5, 0.3]), np.array([300.0, 800.0, 200.0])
LARGE_BETA = 0.5


exercise(
    NumberExercise(
        "02-z-three-outputs",
        expected=lambda: normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
        tolerance=SIX_DIGITS,
        hint="Z is what the reweighted reference probabilities add up to, at this exercise's beta",
        mistakes=lambda: [
            (
                normalization_factor(THREE_REF, THREE_REWARDS, 1.0),
                "this is Z for beta = 1: the exercise's beta is 0.5",
            ),
            (
                float(np.sum(THREE_REF * np.exp(THREE_REWARDS * THREE_BETA))),
                "this is Z at beta = 2 (the same as multiplying the rewards by 0.5): "
                "the exercise divides each reward by beta = 0.5",
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


def _shift_to_z_one() -> float:
    """c with Z(r + c) = e^(c / beta) Z(r) = 1: c = -beta log Z(r)."""
    return -SHIFT_BETA * log_normalization_factor(SHIFT_REF, SHIFT_REWARDS, SHIFT_BETA)


exercise(
    NumberExercise(
        "02-shift-to-z-one",
        expected=_shift_to_z_one,
        tolerance=SIX_DIGITS,
        hint="a shift of every reward by c multiplies Z by a factor that depends only on c and "
        "beta: which factor brings this Z to 1?",
        mistakes=lambda: [
            (-_shift_to_z_one(), "the sign: this shift multiplies Z by Z again"),
            (
                _shift_to_z_one() / SHIFT_BETA,
                "the shift enters Z divided by beta, so c is beta times the log of the factor",
            ),
            (
                _shift_to_z_one() * SHIFT_BETA,
                "the shift enters Z divided by beta, not multiplied by it",
            ),
            (
                -float(SHIFT_REF @ SHIFT_REWARDS),
                "removing the average reward makes the lower bound 1, not Z itself",
            ),
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


def _log_pi_y3() -> float:
    """log pi*(y3) = log pi_ref(y3) + r3 / beta - log Z, log Z by the max-shift."""
    return float(
        np.log(LARGE_REF[2])
        + LARGE_REWARDS[2] / LARGE_BETA
        - log_normalization_factor(LARGE_REF, LARGE_REWARDS, LARGE_BETA)
    )


exercise(
    NumberExercise(
        "02-log-pi-star-tiny",
        expected=_log_pi_y3,
        tolerance=SIX_DIGITS,
        hint="pi* itself underflows: take logs of its three factors, and compute the one that "
        "overflows, log Z, without forming Z",
        mistakes=lambda: [
            (
                float(LARGE_REWARDS[2] / LARGE_BETA - LARGE_REWARDS.max() / LARGE_BETA),
                "log Z is not only its largest exponent (the best output's pi_ref enters it), "
                "and pi_ref(y3) enters log pi*(y3) too",
            ),
            (
                _log_pi_y3() - float(np.log(LARGE_REF[2])),
                "the log of y3's reference probability is one of the terms",
            ),
            (_log_pi_y3() / np.log(10), "that is log10; the course's log is the natural log"),
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
