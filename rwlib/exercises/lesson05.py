"""Checks of the exercises in ``05_why_pi_star_is_optimal.ipynb``.

Expected values are computed here with rwlib and numpy from the exercise's
data, never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint

# 05-max-j-three-outputs and 05-kl-from-j: three outputs at beta = 0.5.
THREE_REF = np.array([0.2, 0.5, 0.3])
THREE_REWARDS = np.array([3.0, 1.0, 0.0])
THREE_BETA = 0.5
GIVEN_POLICY = np.array([0.4, 0.4, 0.2])  # 05-kl-from-j: the policy whose KL(pi || pi*) is asked

# 05-best-p-grid: the two-output example on a grid of p, at beta = 0.3.
TWO_REF = np.array([0.6, 0.4])
TWO_REWARDS = np.array([2.0, 1.0])
GRID_BETA = 0.3
P_GRID = np.linspace(0.0, 1.0, 1001)


def _beta_log_z(ref, rewards, beta) -> float:
    return beta * rw.log_normalization_factor(ref, rewards, beta)


@exercise("05-max-j-three-outputs")
def max_j_three_outputs(answer):
    """Max of J over all policies for pi_ref = (0.2, 0.5, 0.3), r = (3, 1, 0), beta = 0.5."""
    log_z = rw.log_normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA)
    return number_hint(
        answer,
        THREE_BETA * log_z,
        "the maximum of J is reached at pi* and has a closed form in terms of Z (section 2); "
        "rw.log_normalization_factor gives log Z",
        mistakes=[
            (log_z, "that is log Z; the maximum of J is measured in reward units, so multiply"),
            (
                rw.normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
                "that is Z itself; the maximum involves its logarithm",
            ),
            (
                THREE_BETA * rw.log_normalization_factor(THREE_REF, THREE_REWARDS, 1.0),
                "that log Z is computed at beta = 1: pass beta = 0.5 to "
                "rw.log_normalization_factor",
            ),
            (
                THREE_REWARDS.max(),
                "the largest reward is what the policy could earn without the KL penalty; "
                "J subtracts beta KL(pi || pi_ref)",
            ),
            (
                rw.expected_reward(THREE_REF, THREE_REWARDS),
                "that is J(pi_ref), where the KL is 0; pi_ref is not the maximizer",
            ),
        ],
    )


@exercise("05-kl-from-j")
def kl_from_j(answer):
    """KL(pi || pi*) for pi = (0.4, 0.4, 0.2) in the three-output example, from J and beta log Z."""
    top = _beta_log_z(THREE_REF, THREE_REWARDS, THREE_BETA)
    j = rw.kl_regularized_objective(GIVEN_POLICY, THREE_REF, THREE_REWARDS, THREE_BETA)
    pi_star = rw.reward_weighted(THREE_REF, THREE_REWARDS, THREE_BETA)
    return number_hint(
        answer,
        (top - j) / THREE_BETA,
        "rearrange J(pi) = beta log Z - beta KL(pi || pi*) for the KL, then use "
        "rw.kl_regularized_objective and rw.log_normalization_factor",
        mistakes=[
            (top - j, "that is beta KL(pi || pi*), the gap in J; divide it by beta"),
            (
                (j - top) / THREE_BETA,
                "check the sign: J never exceeds beta log Z, and a KL is never negative",
            ),
            (
                rw.kl_divergence(GIVEN_POLICY, THREE_REF),
                "that is KL(pi || pi_ref), the penalty inside J; the question asks for the "
                "distance to pi*",
            ),
            (
                rw.kl_divergence(pi_star, GIVEN_POLICY),
                "KL is not symmetric: the identity has KL(pi || pi*), with pi first",
            ),
        ],
    )


def _grid_objective(beta) -> np.ndarray:
    policies = np.stack([P_GRID, 1 - P_GRID], axis=-1)
    return rw.kl_regularized_objective(policies, TWO_REF, TWO_REWARDS, beta)


@exercise("05-best-p-grid")
def best_p_grid(answer):
    """The p on np.linspace(0, 1, 1001) that maximizes J((p, 1 - p)) at beta = 0.3."""
    expected = P_GRID[np.argmax(_grid_objective(GRID_BETA))]
    return number_hint(
        answer,
        expected,
        "stack the policies (p, 1 - p) for every p of the grid, compute J of all of them with "
        "rw.kl_regularized_objective at beta = 0.3, and take the p with the largest J",
        mistakes=[
            (
                rw.reward_weighted(TWO_REF, TWO_REWARDS, GRID_BETA)[0],
                "that is the exact maximizer pi*(y1), which is not a point of the grid; "
                "the question asks for the grid point with the largest J",
            ),
            (
                P_GRID[np.argmax(_grid_objective(1.0))],
                "that is the maximizer at beta = 1; use beta = 0.3",
            ),
            (
                P_GRID[np.argmax(_grid_objective(1 / GRID_BETA))],
                "beta = 0.3 goes into rw.kl_regularized_objective as beta, not as 1/beta",
            ),
            (
                1.0,
                "p = 1 maximizes the expected reward alone; J also subtracts beta KL(pi || pi_ref)",
            ),
            (
                TWO_REF[0],
                "p = pi_ref(y1) makes the KL penalty 0, but J also rewards moving toward y1",
            ),
        ],
    )


OBJECTIVE_CASES = [
    ([0.8, 0.2], [0.6, 0.4], [2.0, 1.0], 1.0),
    ([1.0, 0.0], [0.6, 0.4], [2.0, 1.0], 1.0),
    ([0.2, 0.3, 0.5], [0.2, 0.5, 0.3], [3.0, 1.0, 0.0], 0.5),
    ([0.7, 0.3, 0.0], [0.5, 0.3, 0.2], [1.0, 2.0, 0.0], 2.0),
    ([0.6, 0.4, 0.0], [0.5, 0.5, 0.0], [1.0, 2.0, 5.0], 0.25),
    ([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4], [0.0, 1.0, -1.0, 2.0], 3.0),
]


@exercise("05-objective")
def objective(answer):
    """A function objective(policy, ref, rewards, beta) returning J(pi), written with numpy."""
    cases = []
    for policy, ref, rewards, beta in OBJECTIVE_CASES:
        args = (np.array(policy), np.array(ref), np.array(rewards), beta)
        cases.append((args, rw.kl_regularized_objective(*args)))
    return function_hint(
        answer,
        cases,
        "return sum(pi * r) - beta * sum(pi * log(pi / pi_ref)), where the KL sum runs only over "
        "the outputs with pi(y) > 0 (0 log 0 counts as 0); return a single number",
    )
