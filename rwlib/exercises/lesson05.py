"""The exercises of ``05_why_pi_star_is_optimal.ipynb``: one definition each.

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
    Tolerance,
    exercise,
)

# 05-max-j-three-outputs: three outputs at beta = 0.5.
THREE_REF = np.array([0.2, 0.5, 0.3])
THREE_REWARDS = np.array([3.0, 1.0, 0.0])
THREE_BETA = 0.5

# 05-flat-top-width and 05-best-p-grid: the two-output example.
TWO_REF = np.array([0.6, 0.4])
TWO_REWARDS = np.array([2.0, 1.0])
FLAT_BETA = 0.5  # 05-flat-top-width: where is J(p) within FLAT_GAP of its maximum?
FLAT_GAP = 0.01
GRID_BETA = 0.3  # 05-best-p-grid
P_GRID = np.linspace(0.0, 1.0, 1001)

# The question asks for a point of the grid (spacing 0.001): within 1e-4 picks out one point,
# and refuses the exact maximizer pi*(y1), which lies 2.3e-4 from the nearest grid point.
GRID_POINT = Tolerance(atol=1e-4)


def _beta_log_z(ref, rewards, beta) -> float:
    return beta * rw.log_normalization_factor(ref, rewards, beta)


def max_j() -> float:
    """max over pi of J(pi) = beta log Z (the key equation of section 2)."""
    return _beta_log_z(THREE_REF, THREE_REWARDS, THREE_BETA)


exercise(
    NumberExercise(
        "05-max-j-three-outputs",
        expected=max_j,
        tolerance=SIX_DIGITS,
        hint="the maximum of J is reached at pi*, and the key equation of section 2 gives its "
        "value in terms of Z: no search is needed",
        mistakes=lambda: [
            (
                rw.log_normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
                "that is log Z; the maximum of J is measured in reward units, so multiply",
            ),
            (
                rw.normalization_factor(THREE_REF, THREE_REWARDS, THREE_BETA),
                "that is Z itself; the maximum involves its logarithm",
            ),
            (
                THREE_BETA * rw.log_normalization_factor(THREE_REF, THREE_REWARDS, 1.0),
                "that log Z is computed at beta = 1: the exercise's beta is 0.5",
            ),
            (
                float(THREE_REWARDS.max()),
                "the largest reward is what the policy could earn without the KL penalty; "
                "J subtracts beta KL(pi || pi_ref)",
            ),
            (
                rw.expected_reward(THREE_REF, THREE_REWARDS),
                "that is J(pi_ref), where the KL is 0; pi_ref is not the maximizer",
            ),
        ],
    )
)


def _bisect(f, low: float, high: float, steps: int = 200) -> float:
    """The root of ``f`` between ``low`` and ``high``, where ``f`` changes sign once."""
    f_low = f(low)
    for _ in range(steps):
        middle = (low + high) / 2
        if (f(middle) > 0) == (f_low > 0):
            low, f_low = middle, f(middle)
        else:
            high = middle
    return (low + high) / 2


def _flat_top(gap: float, reverse: bool = False) -> tuple[float, float]:
    """The p on each side of pi*(y1) where J(p) = beta log Z - gap (two outputs, FLAT_BETA).

    By the key equation the shortfall is beta KL(pi || pi*); ``reverse`` uses KL(pi* || pi)
    instead (a known mistake).
    """
    star = rw.reward_weighted(TWO_REF, TWO_REWARDS, FLAT_BETA)

    def excess(p: float) -> float:
        policy = np.array([p, 1 - p])
        kl = rw.kl_divergence(star, policy) if reverse else rw.kl_divergence(policy, star)
        return FLAT_BETA * kl - gap

    return _bisect(excess, 1e-12, star[0]), _bisect(excess, star[0], 1 - 1e-12)


def flat_top_width() -> float:
    """The width of the interval of p where J(p) is within FLAT_GAP of its maximum."""
    low, high = _flat_top(FLAT_GAP)
    return high - low


def _mistakes_flat_top():
    star = rw.reward_weighted(TWO_REF, TWO_REWARDS, FLAT_BETA)[0]
    low, high = _flat_top(FLAT_GAP)
    no_beta_low, no_beta_high = _flat_top(FLAT_GAP * FLAT_BETA)  # KL <= gap, beta forgotten
    reverse_low, reverse_high = _flat_top(FLAT_GAP, reverse=True)
    # KL(pi || pi*) ~ (p - p*)^2 / (2 p* (1 - p*)) near the top: a symmetric interval.
    quadratic = 2 * np.sqrt(2 * FLAT_GAP / FLAT_BETA * star * (1 - star))
    return [
        (
            no_beta_high - no_beta_low,
            "the shortfall of J below its maximum is beta times the divergence, and beta is 0.5 "
            "here: the divergence may reach twice the gap",
        ),
        (
            reverse_high - reverse_low,
            "KL is not symmetric: the shortfall of J is the divergence of the policy from pi*, "
            "with the policy first",
        ),
        (
            quadratic,
            "close: that is the width of the quadratic approximation near the top; the curve is "
            "not symmetric about pi*(y1), find where it crosses on each side",
        ),
        (high - star, "that is only the part of the interval above pi*(y1); add the part below"),
        (star - low, "that is only the part of the interval below pi*(y1); add the part above"),
    ]


exercise(
    NumberExercise(
        "05-flat-top-width",
        expected=flat_top_width,
        tolerance=SIX_DIGITS,
        hint="the key equation of section 2 says how far J falls below its maximum for each p; "
        "find the p on each side of pi*(y1) where that shortfall reaches 0.01",
        mistakes=_mistakes_flat_top,
    )
)


def _grid_objective(beta) -> np.ndarray:
    policies = np.stack([P_GRID, 1 - P_GRID], axis=-1)
    return rw.kl_regularized_objective(policies, TWO_REF, TWO_REWARDS, beta)


def _grid_argmax(beta) -> float:
    return float(P_GRID[np.argmax(_grid_objective(beta))])


exercise(
    NumberExercise(
        # The question asks for exactly this: the grid point with the largest J.
        "05-best-p-grid",
        expected=lambda: _grid_argmax(GRID_BETA),
        tolerance=GRID_POINT,
        hint="compute J for every policy (p, 1 - p) of the grid at once, at beta = 0.3, and "
        "take the p whose J is largest",
        mistakes=lambda: [
            (
                rw.reward_weighted(TWO_REF, TWO_REWARDS, GRID_BETA)[0],
                "that is the exact maximizer pi*(y1), which is not a point of the grid; "
                "the question asks for the grid point with the largest J",
            ),
            (_grid_argmax(1.0), "that is the maximizer at beta = 1; use beta = 0.3"),
            (_grid_argmax(1 / GRID_BETA), "beta = 0.3 is passed as beta, not as 1/beta"),
            (
                1.0,
                "p = 1 maximizes the expected reward alone; J also subtracts beta KL(pi || pi_ref)",
            ),
            (
                float(TWO_REF[0]),
                "p = pi_ref(y1) makes the KL penalty 0, but J also rewards moving toward y1",
            ),
        ],
    )
)

exercise(
    FunctionExercise(
        "05-objective",
        reference=rw.kl_regularized_objective,
        examples=[
            (np.array(policy), np.array(ref), np.array(rewards), beta)
            for policy, ref, rewards, beta in [
                ([0.8, 0.2], [0.6, 0.4], [2.0, 1.0], 1.0),
                ([1.0, 0.0], [0.6, 0.4], [2.0, 1.0], 1.0),
                ([0.2, 0.3, 0.5], [0.2, 0.5, 0.3], [3.0, 1.0, 0.0], 0.5),
                ([0.7, 0.3, 0.0], [0.5, 0.3, 0.2], [1.0, 2.0, 0.0], 2.0),
                ([0.6, 0.4, 0.0], [0.5, 0.5, 0.0], [1.0, 2.0, 5.0], 0.25),
                ([0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4], [0.0, 1.0, -1.0, 2.0], 3.0),
            ]
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "the optimal policy pi*": 1,
            "the reference itself": 1,
            "policies with zeros": 1,
        },
        tolerance=FUNCTION_OUTPUTS,
        hint="J is the expected reward minus beta times the KL to the reference, and an output "
        "the policy never picks adds nothing to the KL (0 log 0 = 0); return one number",
        allowed_modules=("numpy", "math"),
    )
)
