"""The exercises of ``06_dpo_and_the_normalization_factor.ipynb``: one definition each.

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

# 06-implicit-reward: a policy that is pi* for some reward, with a given log Z.
IMPLICIT_POLICY = np.array([0.2, 0.6, 0.2])
IMPLICIT_REF = np.array([0.5, 0.3, 0.2])
IMPLICIT_BETA = 0.5
IMPLICIT_LOG_Z = 1.2
IMPLICIT_OUTPUT = 1  # y_2

# 06-flat-direction-kl: the four answers A, B, C, D of the lesson, compared only in the pairs
# (A, B) and (C, D); the loss minimiser that gives {A, B} the probability FLAT_MASS.
FLAT_REF = np.array([0.4, 0.3, 0.2, 0.1])
FLAT_REWARDS = np.array([1.0, 0.0, 3.0, 2.0])
FLAT_BETA = 0.5
FLAT_GROUP_AB = np.array([1.0, 1.0, 0.0, 0.0])
FLAT_MASS = 0.5

# 06-p-for-loss: two outputs, the chosen one has pi_ref = 0.6; the target loss at beta = 0.5.
TARGET_REF = 0.6
TARGET_BETA = 0.5
TARGET_LOSS = 0.3


def _sigmoid(t: float) -> float:
    return float(1 / (1 + np.exp(-t)))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _implicit(i: int) -> float:
    return float(
        rw.implicit_reward(IMPLICIT_POLICY[i], IMPLICIT_REF[i], IMPLICIT_BETA, log_z=IMPLICIT_LOG_Z)
    )


def _mistakes_implicit():
    i, beta, log_z = IMPLICIT_OUTPUT, IMPLICIT_BETA, IMPLICIT_LOG_Z
    log_ratio = beta * np.log(IMPLICIT_POLICY[i] / IMPLICIT_REF[i])
    return [
        (
            float(log_ratio),
            "that is the reward up to the per-prompt term: here the beta log Z(x) term "
            "belongs to the reward",
        ),
        (
            float(log_ratio + log_z),
            "log Z is multiplied by beta too, like the log-ratio",
        ),
        (
            float(beta * np.log(IMPLICIT_REF[i] / IMPLICIT_POLICY[i]) + beta * log_z),
            "the log-ratio has the policy on top: log(pi(y) / pi_ref(y))",
        ),
        (_implicit(0), "that is the first output; y_2 is the second (index 1 in Python)"),
    ]


exercise(
    NumberExercise(
        "06-implicit-reward",
        expected=lambda: _implicit(IMPLICIT_OUTPUT),
        tolerance=SIX_DIGITS,
        hint="solve the definition of pi* for the reward of one output: what is left is the "
        "implicit reward, with the given log Z",
        mistakes=_mistakes_implicit,
    )
)


def _flat_member(group_mass: float, within=None) -> np.ndarray:
    """The policy with mass ``group_mass`` on {A, B} and the rest on {C, D}, each group split
    as ``within`` splits it (default: pi*, the split that every minimiser shares)."""
    within = rw.reward_weighted(FLAT_REF, FLAT_REWARDS, FLAT_BETA) if within is None else within
    in_ab = FLAT_GROUP_AB
    ab = within * in_ab / np.sum(within * in_ab)
    cd = within * (1 - in_ab) / np.sum(within * (1 - in_ab))
    return group_mass * ab + (1 - group_mass) * cd


def flat_direction_kl() -> float:
    """KL(pi || pi*) of the loss minimiser that gives {A, B} the probability FLAT_MASS."""
    star = rw.reward_weighted(FLAT_REF, FLAT_REWARDS, FLAT_BETA)
    return float(rw.kl_divergence(_flat_member(FLAT_MASS), star))


def _mistakes_flat():
    star = rw.reward_weighted(FLAT_REF, FLAT_REWARDS, FLAT_BETA)
    member = _flat_member(FLAT_MASS)
    return [
        (
            float(rw.kl_divergence(star, member)),
            "KL is not symmetric: the question asks for the divergence of the policy from pi*, "
            "with the policy first",
        ),
        (
            float(rw.kl_divergence(member, FLAT_REF)),
            "that is the distance to the reference; the question asks how far the policy is "
            "from pi*",
        ),
        (
            float(rw.kl_divergence(_flat_member(FLAT_MASS, within=FLAT_REF), star)),
            "inside each compared pair the minimiser is pinned down: its log-ratio to the "
            "reference must match the reward gap, so the split inside {A, B} is not the "
            "reference's",
        ),
        (
            float(rw.kl_divergence(_flat_member(FLAT_REF[:2].sum()), star)),
            "give A and B together the probability the question asks for, not the reference's",
        ),
    ]


exercise(
    NumberExercise(
        "06-flat-direction-kl",
        expected=flat_direction_kl,
        tolerance=SIX_DIGITS,
        hint="the expected loss on a pair depends on the policy only through that pair's margin; "
        "work out what the two margins fix inside each pair, and what they leave free",
        mistakes=_mistakes_flat,
    )
)


def _p_for_loss(beta: float, ref_chosen: float) -> float:
    """pi_theta(y_w) at which -log sigma(margin) = TARGET_LOSS (closed form)."""
    margin = -np.log(np.expm1(TARGET_LOSS))  # sigma(m) = exp(-loss)
    return _sigmoid(_logit(ref_chosen) + margin / beta)


exercise(
    NumberExercise(
        "06-p-for-loss",
        expected=lambda: _p_for_loss(TARGET_BETA, TARGET_REF),
        tolerance=SIX_DIGITS,
        hint="the loss falls as p grows: search over p (bisection, or a fine grid) for the p "
        "where it equals 0.3",
        mistakes=lambda: [
            (_p_for_loss(1.0, TARGET_REF), "the exercise's beta is 0.5"),
            (
                _p_for_loss(TARGET_BETA, 0.5),
                "the reference is (0.6, 0.4), not uniform",
            ),
            (
                1 - _p_for_loss(TARGET_BETA, TARGET_REF),
                "that is the probability of the rejected output; the question asks for the "
                "chosen one's",
            ),
            (
                float(np.exp(-TARGET_LOSS)),
                "exp(-loss) is sigma(margin), the implied preference probability, "
                "not the policy's probability of y_w",
            ),
        ],
    )
)


def preference_reference(policy, ref, beta, chosen, rejected) -> float:
    """sigma of the implicit-reward margin, by rw.bradley_terry of rw.implicit_reward."""
    r_chosen = rw.implicit_reward(policy[chosen], ref[chosen], beta)
    r_rejected = rw.implicit_reward(policy[rejected], ref[rejected], beta)
    return rw.bradley_terry(r_chosen, r_rejected)


exercise(
    FunctionExercise(
        "06-preference-probability",
        reference=preference_reference,
        examples=[
            (np.array([0.2, 0.6, 0.2]), np.array([0.5, 0.3, 0.2]), 0.5, 1, 0),
            (np.array([0.7, 0.3]), np.array([0.6, 0.4]), 1.0, 1, 0),
            (np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.1, 0.2, 0.3, 0.4]), 2.0, 0, 3),
            (np.array([0.05, 0.5, 0.25, 0.2]), np.array([0.4, 0.3, 0.2, 0.1]), 0.25, 2, 3),
            (np.array([1e-12, 1 - 1e-12]), np.array([0.5, 0.5]), 0.1, 0, 1),
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "the reference as the policy": 1,
            "the policy pi*": 1,
            "chosen and rejected swapped": 1,
        },
        tolerance=FUNCTION_OUTPUTS,
        hint="each output's implicit reward compares the policy with the reference; the "
        "Bradley-Terry probability depends only on the difference of the two rewards; "
        "return one number",
    )
)
