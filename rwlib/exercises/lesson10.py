"""The exercises of ``10_dpo_reaches_pi_star.ipynb``: one definition each.

Expected values are closed forms, or rwlib and numpy on the exercise's data (the
six summaries of notebook 03, and lesson 09's preference pairs, drawn from a
fixed seed), never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib import dpo_training, rlhf
from rwlib.checks import (
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    Tolerance,
    exercise,
)
from rwlib.exercises.lesson09 import LENGTH, N_PAIRS, PAIRS_SEED, course

# The six summaries of notebook 03.
REF6 = np.array([0.15, 0.30, 0.25, 0.20, 0.08, 0.02])
REWARDS6 = np.array([3.0, 1.5, 0.5, 1.0, -2.0, -3.0])
BETA = 1.0
# 10-disconnected-kl: pairs only within these two groups, at this beta.
GROUPS = (np.array([0, 1, 2]), np.array([3, 4, 5]))
SPLIT_BETA = 2.0
# 10-steps-to-target: infinite data over the six summaries, this step size.
STEP_SIZE = 5.0
KL_TARGET = 1e-3
# 10-early-stopping: DPO on lesson 09's pairs at this beta and step size, for this many steps.
STOP_BETA = 2.0
STOP_STEP_SIZE = 10.0
STOP_STEPS = 1000

# 10-steps-to-target: a count; within 0.5 of it, a whole number is that count.
EXACT_COUNT = Tolerance(atol=0.5)


def _star6(beta: float = BETA) -> np.ndarray:
    return rw.reward_weighted(REF6, REWARDS6, beta)


# -- 10-disconnected-kl ----------------------------------------------------------------------------


def disconnected_end_point(beta: float = SPLIT_BETA) -> np.ndarray:
    """Closed form: within each group the ratios of pi*, each group's sum of logits kept."""
    logits = np.log(REF6) + REWARDS6 / beta
    for group in GROUPS:
        logits[group] += np.log(REF6[group]).mean() - logits[group].mean()
    return rw.softmax(logits)


def _disconnected_kl(beta: float = SPLIT_BETA, reverse: bool = False) -> float:
    end = disconnected_end_point(beta)
    return float(
        rw.kl_divergence(_star6(beta), end) if reverse else rw.kl_divergence(end, _star6(beta))
    )


def _mistakes_disconnected():
    star = _star6(SPLIT_BETA)
    renormalised = np.concatenate([star[group] / star[group].sum() for group in GROUPS])
    return [
        (
            _disconnected_kl(reverse=True),
            "the KL goes from DPO's end point to pi*, not the other way",
        ),
        (
            0.0,
            "within each group DPO gets pi*'s ratios right; between the groups nothing moves them",
        ),
        (_disconnected_kl(beta=BETA), "that is the KL at beta = 1; the exercise's beta is 2"),
        (
            float(rw.kl_divergence(star, REF6)),
            "that is how far pi* is from pi_ref; DPO's end point has moved within each group",
        ),
        (
            float(rw.kl_divergence(renormalised / 2, star)),
            "the two groups keep what the steps cannot change, which is not an equal share of "
            "the mass",
        ),
    ]


exercise(
    NumberExercise(
        "10-disconnected-kl",
        expected=_disconnected_kl,
        tolerance=SIX_DIGITS,
        hint="a step moves a chosen logit up by what it moves a rejected one down: find what "
        "this keeps fixed in each group, and what the loss fixes inside a group",
        mistakes=_mistakes_disconnected,
    )
)


# -- 10-steps-to-target ----------------------------------------------------------------------------


def steps_to_target(step_size: float = STEP_SIZE, beta: float = BETA) -> int:
    """The first gradient step of DPO on infinite data with KL(pi_k || pi*) < KL_TARGET."""
    chosen, rejected, weights = dpo_training.all_pairs(REF6, REWARDS6)
    path = dpo_training.dpo_descent(np.log(REF6), chosen, rejected, beta, step_size, 500, weights)
    return int(np.flatnonzero(rw.kl_divergence(np.exp(path), _star6(beta)) < KL_TARGET)[0])


def _mistakes_steps():
    k = steps_to_target()
    return [
        (k - 1, "at that step the KL is still at or above 1e-3: step 0 is pi_ref"),
        (k + 1, "that is one step late: the policy after k steps is step k, pi_ref is step 0"),
        (steps_to_target(step_size=1.0), "that is the count for a step size of 1; this one is 5"),
    ]


exercise(
    NumberExercise(
        "10-steps-to-target",
        expected=lambda: float(steps_to_target()),
        tolerance=EXACT_COUNT,
        whole_number=True,
        hint="with infinite data every ordered pair counts in proportion to how often it is "
        "drawn and labelled; follow the distance to pi* step by step, counting pi_ref as step 0",
        mistakes=_mistakes_steps,
    )
)


# -- 10-early-stopping -----------------------------------------------------------------------------


def _sentence_kls(beta: float = STOP_BETA) -> np.ndarray:
    """KL(pi_k || pi*_beta) along DPO on lesson 09's pairs, k = 0 .. STOP_STEPS."""
    model, token_reward = course()
    chosen, rejected = rlhf.sample_preferences(
        model, token_reward, LENGTH, N_PAIRS, np.random.default_rng(PAIRS_SEED)
    )
    ids, log_ref = model.enumerate(LENGTH)
    shape = (model.vocabulary_size,) * LENGTH
    path = dpo_training.dpo_descent(
        log_ref,
        np.ravel_multi_index(chosen.T, shape),
        np.ravel_multi_index(rejected.T, shape),
        beta,
        STOP_STEP_SIZE,
        STOP_STEPS,
    )
    star = rw.reward_weighted(log_ref, rw.sequence_reward(ids, token_reward), beta, log_ref=True)
    return rw.kl_divergence(np.exp(path), star)


def _mistakes_stopping():
    kls = _sentence_kls()
    return [
        (float(kls[-1]), "that is where the 1000 steps end; early stopping keeps the best step"),
        (float(kls[0]), "that is pi_ref, step 0; DPO's first steps do improve on it"),
        (float(_sentence_kls(1.0).min()), "that is the best KL at beta = 1; the exercise uses 2"),
    ]


exercise(
    NumberExercise(
        "10-early-stopping",
        expected=lambda: float(_sentence_kls().min()),
        tolerance=SIX_DIGITS,
        hint="the KL to pi* first falls, then rises as DPO over-fits the finite pairs; track it "
        "after every step and keep the best",
        mistakes=_mistakes_stopping,
    )
)


# -- 10-dpo-gradient -------------------------------------------------------------------------------


def dpo_gradient_reference(logits, ref, chosen, rejected, beta):
    """The mean DPO loss's gradient for pi = softmax(logits), the reference as probabilities."""
    return dpo_training.dpo_loss_and_gradient(logits, np.log(ref), chosen, rejected, beta)[1]


exercise(
    FunctionExercise(
        "10-dpo-gradient",
        reference=dpo_gradient_reference,
        examples=[
            (np.array([0.6, 0.4]), np.array([0.6, 0.4]), np.array([0]), np.array([1]), 1.0),
            (
                np.array([0.0, 1.0, -1.0]),
                np.array([0.5, 0.3, 0.2]),
                np.array([0, 2, 2]),
                np.array([1, 1, 0]),
                0.5,
            ),
            (np.zeros(4), np.array([0.1, 0.2, 0.3, 0.4]), np.array([3, 3]), np.array([0, 0]), 2.0),
            (np.array([5.0, -5.0]), np.array([0.5, 0.5]), np.array([1]), np.array([0]), 0.1),
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "an output no pair mentions": 1,
            "a pair ranked right by a wide margin": 1,
            "many pairs": 1,
        },
        tolerance=Tolerance(rtol=1e-9, atol=1e-12),
        hint="the softmax's normaliser cancels in each margin, so a pair touches only its own "
        "two logits, and pushes harder the more it is ranked the wrong way; average over the "
        "pairs and return one number per output",
        allowed_modules=("numpy", "math"),
    )
)
