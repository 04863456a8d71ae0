"""Checks of the exercises in ``02_normalization_factor.ipynb``."""

import numpy as np

from rwlib.checks import exercise, function_hint, number_hint
from rwlib.reward_weighted import log_normalization_factor, normalization_factor

# The settings of the exercises, as the notebook states them.
THREE_REF, THREE_REWARDS, THREE_BETA = (0.5, 0.3, 0.2), (1.0, 0.0, -1.0), 0.5
SHIFT_REF, SHIFT_REWARDS, SHIFT_C, SHIFT_BETA = (
    (0.1, 0.2, 0.3, 0.4),
    (0.5, -1.0, 2.0, 0.3),
    -2.0,
    0.8,
)
TWO_REF, TWO_REWARDS, TARGET_Z = (0.6, 0.4), (2.0, 1.0), 3.0
LARGE_REF, LARGE_REWARDS, LARGE_BETA = (0.2, 0.5, 0.3), (300.0, 800.0, 500.0), 0.5


@exercise("02-z-three-outputs")
def z_three_outputs(answer):
    """Z for pi_ref = (0.5, 0.3, 0.2), r = (1, 0, -1), beta = 0.5."""
    ref, rewards = np.array(THREE_REF), np.array(THREE_REWARDS)
    return number_hint(
        answer,
        normalization_factor(ref, rewards, THREE_BETA),
        "Z is the sum over the three outputs of pi_ref(y) exp(r(y) / beta); "
        "pass the reference, the rewards and beta to rw.normalization_factor",
        mistakes=[
            (
                normalization_factor(ref, rewards, 1.0),
                "this is Z for beta = 1: pass beta=0.5 as well",
            ),
            (
                float(np.sum(ref * np.exp(rewards * THREE_BETA))),
                "the reward is divided by beta, not multiplied",
            ),
            (
                float(np.sum(np.exp(rewards / THREE_BETA))),
                "each exponential is weighted by the reference probability of its output",
            ),
            (
                log_normalization_factor(ref, rewards, THREE_BETA),
                "this is log Z; the exercise asks for Z itself",
            ),
        ],
    )


@exercise("02-shift-ratio")
def shift_ratio(answer):
    """The ratio Z(r + c) / Z(r) for c = -2, beta = 0.8 on a four-output example."""
    ref, rewards = np.array(SHIFT_REF), np.array(SHIFT_REWARDS)
    shifted = normalization_factor(ref, rewards + SHIFT_C, SHIFT_BETA)
    ratio = shifted / normalization_factor(ref, rewards, SHIFT_BETA)
    return number_hint(
        answer,
        ratio,
        "compute Z for the shifted rewards and for the original rewards with "
        "rw.normalization_factor (both with beta = 0.8) and divide the first by the second",
        mistakes=[
            (1 / ratio, "the ratio is upside down: shifted Z over original Z"),
            (float(np.exp(SHIFT_C)), "the shift enters Z divided by beta"),
            (float(np.exp(SHIFT_C * SHIFT_BETA)), "the shift is divided by beta, not multiplied"),
            (SHIFT_C / SHIFT_BETA, "this is the log of the ratio; the exercise asks for the ratio"),
        ],
    )


def _beta_for_z(target: float) -> float:
    """The beta with 0.6 e^(2/beta) + 0.4 e^(1/beta) = target: a quadratic in u = e^(1/beta)."""
    a, b = TWO_REF
    u = (-b + np.sqrt(b * b + 4 * a * target)) / (2 * a)
    return float(1 / np.log(u))


@exercise("02-beta-for-z-3")
def beta_for_z_3(answer):
    """The beta at which Z of the two-output example equals 3 (within 0.1 %)."""
    beta = _beta_for_z(TARGET_Z)
    return number_hint(
        answer,
        beta,
        "Z falls as beta grows here: evaluate rw.normalization_factor on a fine grid of "
        "beta (np.logspace, beta=grid[:, None]) and take the beta whose Z is closest to 3, "
        "or bisect",
        rtol=1e-3,
        mistakes=[(1 / beta, "this is 1 / beta; the exercise asks for beta itself")],
    )


@exercise("02-log-z-large")
def log_z_large(answer):
    """log Z for rewards (300, 800, 500), beta = 0.5, where Z itself overflows."""
    ref, rewards = np.array(LARGE_REF), np.array(LARGE_REWARDS)
    shift = rewards.max() / LARGE_BETA
    return number_hint(
        answer,
        log_normalization_factor(ref, rewards, LARGE_BETA),
        "Z overflows here: rw.log_normalization_factor returns log Z directly",
        mistakes=[
            (
                log_normalization_factor(ref, rewards, 1.0),
                "this is log Z for beta = 1: pass beta=0.5 as well",
            ),
            (
                float(shift),
                "max r / beta is only the first term of log Z: add the log of the shifted sum",
            ),
        ],
    )


@exercise("02-z-from-scratch")
def z_from_scratch(answer):
    """A function z_from_scratch(ref, rewards, beta) returning Z, with numpy only."""
    cases = [
        (np.array(TWO_REF), np.array(TWO_REWARDS), 1.0),
        (np.array(THREE_REF), np.array(THREE_REWARDS), THREE_BETA),
        (np.array(SHIFT_REF), np.array(SHIFT_REWARDS), 2.5),
        (np.array([0.5, 0.0, 0.5]), np.array([1.0, 7.0, -1.0]), 0.7),
        (np.array([0.25, 0.75]), np.zeros(2), 0.3),
    ]
    return function_hint(
        answer,
        [
            ((ref, rewards, beta), normalization_factor(ref, rewards, beta))
            for ref, rewards, beta in cases
        ],
        "return the sum over outputs of ref * exp(rewards / beta), a single number",
    )
