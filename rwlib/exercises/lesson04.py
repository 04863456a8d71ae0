"""Checks of the exercises in ``04_temperature_beta.ipynb``.

Expected values are computed here with rwlib and numpy from the exercise's
data, never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint

# The two-output example: pi_ref = (0.6, 0.4), rewards (2, 1).
TWO_REF = np.array([0.6, 0.4])
TWO_REWARDS = np.array([2.0, 1.0])
TARGET = 0.9  # 04-beta-for-0-9: the beta at which pi*(y1) = 0.9
KL_BETA = 0.5  # 04-kl-at-half: KL(pi* || pi_ref) at this beta

# 04-kl-budget: three outputs, a grid of betas, a KL budget in nats.
BUDGET_REF = np.array([0.2, 0.5, 0.3])
BUDGET_REWARDS = np.array([3.0, 1.0, 0.0])
BUDGET_GRID = np.geomspace(0.1, 10.0, 41)
BUDGET = 0.1


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@exercise("04-beta-for-0-9")
def beta_for_90(answer):
    """The beta at which pi*(y1) = 0.9 for pi_ref = (0.6, 0.4), rewards (2, 1)."""
    gap = TWO_REWARDS[0] - TWO_REWARDS[1]
    expected = gap / (_logit(TARGET) - _logit(TWO_REF[0]))
    return number_hint(
        answer,
        expected,
        "pi*(y1) = 0.9 means logit pi_ref(y1) + (r1 - r2)/beta = logit(0.9); solve for beta, "
        "or bisect on beta with rw.reward_weighted (pi*(y1) falls as beta grows)",
        mistakes=[
            (
                gap / _logit(TARGET),
                "the reference already favours y1 (pi_ref(y1) = 0.6): its logit is part of the sum",
            ),
            (
                (_logit(TARGET) - _logit(TWO_REF[0])) / gap,
                "the reward difference is divided by beta: beta = (r1 - r2) / (logit shift needed)",
            ),
            (
                gap / (_logit(TARGET) + _logit(TWO_REF[0])),
                "check the sign: the reference's logit helps y1, so the reward supplies less "
                "than logit(0.9)",
            ),
        ],
    )


@exercise("04-kl-at-half")
def kl_at_half(answer):
    """KL(pi* || pi_ref) in nats at beta = 0.5 for pi_ref = (0.6, 0.4), rewards (2, 1)."""
    pi_star = rw.reward_weighted(TWO_REF, TWO_REWARDS, KL_BETA)
    expected = rw.kl_divergence(pi_star, TWO_REF)
    return number_hint(
        answer,
        expected,
        "compute pi* with rw.reward_weighted at beta = 0.5, then rw.kl_divergence(pi*, pi_ref)",
        mistakes=[
            (
                rw.kl_divergence(TWO_REF, pi_star),
                "KL is not symmetric: the penalty is KL(pi* || pi_ref), pi* first",
            ),
            (
                rw.kl_divergence(rw.reward_weighted(TWO_REF, TWO_REWARDS, 1 / KL_BETA), TWO_REF),
                "beta = 0.5 goes into rw.reward_weighted as beta, not as 1/beta",
            ),
            (expected / np.log(2), "give the KL in nats (natural log), not in bits"),
        ],
    )


def _budget_kls() -> np.ndarray:
    pi_star = rw.reward_weighted(BUDGET_REF, BUDGET_REWARDS, BUDGET_GRID[:, None])
    return rw.kl_divergence(pi_star, BUDGET_REF)


@exercise("04-kl-budget")
def kl_budget(answer):
    """The smallest beta on the grid whose KL(pi* || pi_ref) is at most 0.1 nats."""
    kls = _budget_kls()
    first = int(np.flatnonzero(kls <= BUDGET)[0])
    return number_hint(
        answer,
        BUDGET_GRID[first],
        "compute the KL of every row of rw.reward_weighted(ref, rewards, grid[:, None]) with "
        "rw.kl_divergence, then take the smallest beta whose KL is at most the budget",
        mistakes=[
            (
                BUDGET_GRID[-1],
                "every large beta meets the budget; the question asks for the smallest one, "
                "the beta that uses the budget best",
            ),
            (
                BUDGET_GRID[first - 1],
                "at that beta KL(pi* || pi_ref) is just above the budget: compute the KL with "
                "pi* first (KL is not symmetric) and take the first beta at or under the budget",
            ),
            (
                BUDGET_GRID[0],
                "a small beta magnifies reward differences and moves pi* far from pi_ref; "
                "look at the KL values on the grid",
            ),
        ],
    )


TWO_OUTPUT_CASES = [
    (0.6, 2.0, 1.0, 1.0),
    (0.6, 2.0, 1.0, 0.5),
    (0.3, 0.0, 1.0, 2.0),
    (0.5, 1.0, 1.0, 3.0),
    (0.9, -1.0, 2.0, 0.25),
    (0.05, 4.0, 1.0, 10.0),
]


@exercise("04-two-output-pi-star")
def two_output_pi_star(answer):
    """A function two_output_pi_star(p1, r1, r2, beta) returning pi*(y1) by the sigmoid form."""
    cases = [
        ((p1, r1, r2, beta), rw.reward_weighted([p1, 1 - p1], [r1, r2], beta)[0])
        for p1, r1, r2, beta in TWO_OUTPUT_CASES
    ]
    return function_hint(
        answer,
        cases,
        "return sigma(logit(p1) + (r1 - r2) / beta), with logit(p) = log(p / (1 - p)) and "
        "sigma(t) = 1 / (1 + exp(-t)); return a single number",
    )
