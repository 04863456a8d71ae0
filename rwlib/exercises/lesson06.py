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

# 06-dpo-loss-pair: sequence log-probabilities of a chosen and a rejected completion.
PAIR_POLICY = (-12.3, -15.1)  # log pi_theta(y_w), log pi_theta(y_l)
PAIR_REF = (-13.0, -14.2)  # log pi_ref(y_w), log pi_ref(y_l)
PAIR_BETA = 0.1

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


def _pair_loss(beta: float, chosen_first: bool = True) -> float:
    policy, ref = (PAIR_POLICY, PAIR_REF) if chosen_first else (PAIR_POLICY[::-1], PAIR_REF[::-1])
    return float(rw.dpo_loss(*policy, *ref, beta, log_probs=True))


exercise(
    NumberExercise(
        "06-dpo-loss-pair",
        expected=lambda: _pair_loss(PAIR_BETA),
        tolerance=SIX_DIGITS,
        hint="the DPO loss is -log sigma of the implicit-reward margin between the chosen and "
        "the rejected completion; the numbers given are log-probabilities",
        mistakes=lambda: [
            (_pair_loss(1.0), "the log-ratios are multiplied by beta before the sigmoid"),
            (
                _pair_loss(PAIR_BETA, chosen_first=False),
                "the chosen output y_w comes first: its implicit reward minus the rejected one's",
            ),
            (-_pair_loss(PAIR_BETA), "a loss is -log sigma(margin), which is positive"),
        ],
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
