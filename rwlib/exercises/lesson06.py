"""Checks of the exercises in ``06_dpo_and_the_normalization_factor.ipynb``.

Expected values are computed here with rwlib and numpy from the exercise's
data, never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint

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


@exercise("06-implicit-reward")
def implicit_reward(answer):
    """The reward of y_2 for which the policy (0.2, 0.6, 0.2) is pi*, given log Z = 1.2."""
    i = IMPLICIT_OUTPUT
    policy, ref, beta, log_z = IMPLICIT_POLICY, IMPLICIT_REF, IMPLICIT_BETA, IMPLICIT_LOG_Z
    expected = rw.implicit_reward(policy[i], ref[i], beta, log_z=log_z)
    log_ratio = beta * np.log(policy[i] / ref[i])
    return number_hint(
        answer,
        expected,
        "invert pi* = pi_ref exp(r / beta) / Z for r: use rw.implicit_reward with the policy, "
        "the reference, beta and log_z, for the second output",
        mistakes=[
            (
                log_ratio,
                "that is the reward up to the per-prompt term: pass log_z, the beta log Z(x) "
                "term belongs to the reward here",
            ),
            (
                log_ratio + log_z,
                "log Z is multiplied by beta too: r = beta log(pi / pi_ref) + beta log Z",
            ),
            (
                beta * np.log(ref[i] / policy[i]) + beta * log_z,
                "the log-ratio has the policy on top: log(pi(y) / pi_ref(y))",
            ),
            (
                rw.implicit_reward(policy[0], ref[0], beta, log_z=log_z),
                "that is the first output; y_2 is the second (index 1 in Python)",
            ),
        ],
    )


def _pair_margin(beta: float) -> float:
    return beta * ((PAIR_POLICY[0] - PAIR_REF[0]) - (PAIR_POLICY[1] - PAIR_REF[1]))


@exercise("06-dpo-loss-pair")
def dpo_loss_pair(answer):
    """The DPO loss of a pair given as sequence log-probabilities, at beta = 0.1."""
    expected = rw.dpo_loss(*PAIR_POLICY, *PAIR_REF, PAIR_BETA, log_probs=True)
    return number_hint(
        answer,
        expected,
        "use rw.dpo_loss with the four log-probabilities (chosen first) and log_probs=True, "
        "or compute -log sigma of the implicit-reward margin",
        mistakes=[
            (
                rw.dpo_loss(*PAIR_POLICY, *PAIR_REF, 1.0, log_probs=True),
                "the log-ratios are multiplied by beta before the sigmoid",
            ),
            (
                rw.dpo_loss(
                    PAIR_POLICY[1],
                    PAIR_POLICY[0],
                    PAIR_REF[1],
                    PAIR_REF[0],
                    PAIR_BETA,
                    log_probs=True,
                ),
                "the chosen output y_w comes first: its implicit reward minus the rejected one's",
            ),
            (
                -expected,
                "a loss is -log sigma(margin), which is positive; check the sign",
            ),
        ],
    )


def _p_for_loss(beta: float, ref_chosen: float) -> float:
    """pi_theta(y_w) at which -log sigma(margin) = TARGET_LOSS (closed form)."""
    margin = -np.log(np.expm1(TARGET_LOSS))  # sigma(m) = exp(-loss)
    return _sigmoid(_logit(ref_chosen) + margin / beta)


@exercise("06-p-for-loss")
def p_for_loss(answer):
    """The pi_theta(y_w) (two outputs, the other 1 - p) with DPO loss 0.3 at beta = 0.5."""
    expected = _p_for_loss(TARGET_BETA, TARGET_REF)
    return number_hint(
        answer,
        expected,
        "the loss rw.dpo_loss(p, 1 - p, 0.6, 0.4, beta=0.5) falls as p grows: bisect on p "
        "(or a fine grid) for the p where it equals the target",
        mistakes=[
            (
                _p_for_loss(1.0, TARGET_REF),
                "use beta = 0.5 in rw.dpo_loss, not the default of other functions",
            ),
            (
                _p_for_loss(TARGET_BETA, 0.5),
                "the reference is (0.6, 0.4), not uniform: pass ref_chosen = 0.6, "
                "ref_rejected = 0.4",
            ),
            (
                1 - expected,
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


PREFERENCE_CASES = [
    (np.array([0.2, 0.6, 0.2]), np.array([0.5, 0.3, 0.2]), 0.5, 1, 0),
    (np.array([0.7, 0.3]), np.array([0.6, 0.4]), 1.0, 1, 0),
    (np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.1, 0.2, 0.3, 0.4]), 2.0, 0, 3),
    (np.array([0.05, 0.5, 0.25, 0.2]), np.array([0.4, 0.3, 0.2, 0.1]), 0.25, 2, 3),
    (np.array([1e-12, 1 - 1e-12]), np.array([0.5, 0.5]), 0.1, 0, 1),
]


@exercise("06-preference-probability")
def preference_probability(answer):
    """A function preference_probability(policy, ref, beta, chosen, rejected) = sigma(margin)."""
    cases = []
    for policy, ref, beta, chosen, rejected in PREFERENCE_CASES:
        r_chosen = rw.implicit_reward(policy[chosen], ref[chosen], beta)
        r_rejected = rw.implicit_reward(policy[rejected], ref[rejected], beta)
        cases.append(
            ((policy, ref, beta, chosen, rejected), rw.bradley_terry(r_chosen, r_rejected))
        )
    return function_hint(
        answer,
        cases,
        "return sigma(beta log(policy[chosen] / ref[chosen]) - beta log(policy[rejected] / "
        "ref[rejected])), with sigma(t) = 1 / (1 + exp(-t)); return a single number",
    )
