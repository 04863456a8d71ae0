"""The exercises of ``09_rlhf_reaches_pi_star.ipynb``: one definition each.

Expected values are computed here with rwlib and numpy on the exercise's data
(the course model, its sentiment reward, and the lesson's preference pairs,
drawn from a fixed seed), never pasted in as literals.
"""

import functools

import numpy as np

import rwlib as rw
from rwlib import rlhf
from rwlib.checks import (
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    Tolerance,
    exercise,
)

# The lesson's data: two-word sentences, 4000 preference pairs from this seed.
LENGTH = 2
PAIRS_SEED = 2024
N_PAIRS = 4000
# 09-reward-shift: a reward model for sentences of this many words.
SHIFT_LENGTH = 3
# 09-steps-to-target: natural-gradient ascent at this beta and step size.
STEPS_BETA = 0.5
STEPS_STEP_SIZE = 0.4
KL_TARGET = 1e-3
# 09-kl-gap: the end point's distance to the true pi*, at this beta.
GAP_BETA = 2.0

# 09-steps-to-target: a count; within 0.5 of it, a whole number is that count.
EXACT_COUNT = Tolerance(atol=0.5)


def course():
    """The course model and its true (lexicon) reward per word."""
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


@functools.cache
def _learned_reward() -> tuple[float, ...]:
    """The lesson's reward model: fitted to N_PAIRS pairs drawn with PAIRS_SEED (computed once)."""
    model, token_reward = course()
    pairs = rlhf.sample_preferences(
        model, token_reward, LENGTH, N_PAIRS, np.random.default_rng(PAIRS_SEED)
    )
    return tuple(rlhf.fit_reward_model(*pairs, model.vocabulary_size))


def learned_reward() -> np.ndarray:
    """The lesson's learned reward of each word, a new array on every call."""
    return np.array(_learned_reward())


def _sentences():
    """(log pi_ref, true reward, learned reward) of every two-word sentence."""
    model, token_reward = course()
    ids, log_ref = model.enumerate(LENGTH)
    return log_ref, rw.sequence_reward(ids, token_reward), rw.sequence_reward(ids, learned_reward())


# -- 09-reward-shift ---------------------------------------------------------------------------


def _shift(length: int, sign: float = -1.0) -> float:
    _, token_reward = course()
    return float(sign * length * token_reward.mean())


exercise(
    NumberExercise(
        "09-reward-shift",
        expected=lambda: _shift(SHIFT_LENGTH),
        tolerance=SIX_DIGITS,
        hint="preferences fix every difference of rewards; the penalty decides the one thing "
        "they cannot see, a constant on every word; what does the penalty make of the learned "
        "words' rewards, and how many words does a sentence have?",
        mistakes=lambda: [
            (_shift(1), "that is the shift of one word's reward; a sentence has 3 words"),
            (
                _shift(LENGTH),
                "that is the shift for the notebook's two-word sentences; these have 3",
            ),
            (_shift(SHIFT_LENGTH, +1.0), "mind the sign: is the learned reward above or below?"),
            (0.0, "the true rewards do not sum to 0 over the words, and the learned ones do"),
        ],
    )
)


# -- 09-steps-to-target ------------------------------------------------------------------------


def steps_to_target(beta: float = STEPS_BETA, step_size: float = STEPS_STEP_SIZE) -> int:
    """The first step k of natural-gradient ascent with KL(pi_k || pi*(r_hat)) < KL_TARGET."""
    log_ref, _, learned = _sentences()
    path = rlhf.policy_gradient_ascent(log_ref, learned, beta, step_size, 200, natural=True)
    kl = rw.kl_divergence(np.exp(path), rw.reward_weighted(log_ref, learned, beta, log_ref=True))
    return int(np.flatnonzero(kl < KL_TARGET)[0])


def _mistakes_steps():
    k = steps_to_target()
    return [
        (k - 1, "at that step the KL is still at or above 1e-3: count the steps taken, from 0"),
        (k + 1, "that is one step late: step k is the policy after k updates, pi_ref is step 0"),
        (
            steps_to_target(beta=1.0),
            "that is the count at beta = 1; the exercise's beta is 0.5, and eta times beta "
            "sets the pace",
        ),
    ]


exercise(
    NumberExercise(
        "09-steps-to-target",
        expected=lambda: float(steps_to_target()),
        tolerance=EXACT_COUNT,
        whole_number=True,
        hint="the natural gradient's pace is set by eta times beta, and its target by beta: "
        "follow the distance to the target of this beta step by step, counting pi_ref as step 0",
        mistakes=_mistakes_steps,
    )
)


# -- 09-kl-gap ---------------------------------------------------------------------------------


def _gap(beta: float, reverse: bool = False) -> float:
    log_ref, true, learned = _sentences()
    star_learned = rw.reward_weighted(log_ref, learned, beta, log_ref=True)
    star_true = rw.reward_weighted(log_ref, true, beta, log_ref=True)
    if reverse:
        return float(rw.kl_divergence(star_true, star_learned))
    return float(rw.kl_divergence(star_learned, star_true))


def _mistakes_gap():
    log_ref, _, learned = _sentences()
    star_learned = rw.reward_weighted(log_ref, learned, GAP_BETA, log_ref=True)
    return [
        (
            _gap(GAP_BETA, reverse=True),
            "the KL is taken from the policy to the target: "
            "KL(end point || true pi*), not the other way round",
        ),
        (_gap(1.0), "that is the gap at beta = 1; the exercise asks for beta = 2"),
        (
            float(rw.kl_divergence(star_learned, np.exp(log_ref))),
            "that is how far the end point moved from pi_ref; the question asks how far it is "
            "from the true reward's pi*",
        ),
    ]


exercise(
    NumberExercise(
        "09-kl-gap",
        expected=lambda: _gap(GAP_BETA),
        tolerance=SIX_DIGITS,
        hint="with enough steps the policy stops at one distribution, fixed by the learned reward "
        "and beta; measure its KL to the distribution the true reward defines",
        mistakes=_mistakes_gap,
    )
)


# -- 09-policy-gradient ---------------------------------------------------------------------------


def policy_gradient_reference(logits, ref, rewards, beta):
    """The exact gradient of J for pi = softmax(logits), with the reference as probabilities."""
    return rlhf.policy_gradient(logits, np.log(ref), rewards, beta)


exercise(
    FunctionExercise(
        "09-policy-gradient",
        reference=policy_gradient_reference,
        examples=[
            (np.array([0.6, 0.4]), np.array([0.6, 0.4]), np.array([2.0, 1.0]), 1.0),
            (np.array([0.0, 1.0, -1.0]), np.array([0.5, 0.3, 0.2]), np.array([1.0, 0.0, 2.0]), 0.5),
            (np.array([2.0, 0.0, 0.0, 1.0]), np.array([0.1, 0.2, 0.3, 0.4]), np.zeros(4), 2.0),
            (np.array([3.0, -2.0]), np.array([0.5, 0.5]), np.array([-1.0, 4.0]), 0.1),
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "at the optimum pi*": 1,
            "a shift of the logits": 1,
            "eight outputs": 1,
        },
        tolerance=Tolerance(rtol=1e-9, atol=1e-12),
        hint="differentiate both terms of J with respect to each logit: the softmax's "
        "derivative turns each into the policy times a quantity minus its average; return one "
        "number per output",
        allowed_modules=("numpy", "math"),
    )
)
