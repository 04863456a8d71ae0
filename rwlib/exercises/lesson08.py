"""The exercises of ``08_sampling_from_pi_star.ipynb``: one definition each.

Expected values are exact: rwlib and numpy on the exercise's data (the course
model and its sentiment reward), never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import (
    PUBLIC_CASE,
    SIX_DIGITS,
    FunctionExercise,
    NumberExercise,
    Tolerance,
    exercise,
)

# 08-proposals-per-sample: rejection sampling on the course model, sentences of 4 words.
LONG_LENGTH = 4
BETA = 1.0  # every exercise of the lesson uses beta = 1
# 08-best-of-4-i-loved: best-of-4 over all two-word sentences.
SHORT_LENGTH = 2
N_BEST = 4
SENTENCE = "i loved"

# 08-smallest-n: a count; within 0.5 of it, a whole number is that count.
EXACT_COUNT = Tolerance(atol=0.5)


def _course():
    """The course model and its sentiment reward per word."""
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def _two_word_sentences():
    """(model, ids, ref, rewards) over every two-word sentence."""
    model, token_reward = _course()
    ids, log_ref = model.enumerate(SHORT_LENGTH)
    return model, ids, np.exp(log_ref), rw.sequence_reward(ids, token_reward)


def acceptance_rate(r_max_words: int = LONG_LENGTH) -> float:
    """Z / exp(r_max / beta) for 4-word sentences, r_max the best reward of r_max_words words."""
    model, token_reward = _course()
    log_z = rw.log_z_by_recursion(model, token_reward, LONG_LENGTH, BETA)
    return float(np.exp(log_z - r_max_words * token_reward.max() / BETA))


def _mistakes_proposals():
    model, token_reward = _course()
    log_z = rw.log_z_by_recursion(model, token_reward, LONG_LENGTH, BETA)
    return [
        (
            acceptance_rate(),
            "that is the acceptance rate, the fraction of proposals kept; the question asks "
            "for the number of proposals per accepted sample",
        ),
        (
            1 / acceptance_rate(r_max_words=1),
            "r_max is the largest reward of a whole sentence, the sum over its 4 words, "
            "not the largest reward of a single word",
        ),
        (
            float(np.exp(-log_z)),
            "a proposal is kept with probability exp((r - r_max) / beta): the rate compares Z "
            "with exp(r_max / beta)",
        ),
    ]


exercise(
    NumberExercise(
        "08-proposals-per-sample",
        expected=lambda: 1 / acceptance_rate(),
        tolerance=SIX_DIGITS,
        hint="the acceptance rate of the rejection sampler compares Z with the largest weight a "
        "4-word sentence can have; each accepted sample costs 1 / rate proposals on average",
        mistakes=_mistakes_proposals,
    )
)


def _i_loved():
    """(index, p, F(v), F(v^-)) of 'i loved' among the two-word sentences, v its reward."""
    model, ids, ref, rewards = _two_word_sentences()
    k = int(np.flatnonzero((ids == model.encode(SENTENCE)).all(axis=1))[0])
    v = rewards[k]
    return k, ref[k], ref[rewards <= v].sum(), ref[rewards < v].sum()


def _p_i_loved() -> float:
    _, _, ref, rewards = _two_word_sentences()
    return float(rw.best_of_n_distribution(ref, rewards, N_BEST)[_i_loved()[0]])


def _mistakes_i_loved():
    _, p, at_most, below = _i_loved()
    return [
        (
            at_most**N_BEST - below**N_BEST,
            "that is the probability that the best reward is 2, shared by all 216 sentences "
            "with reward 2; 'i loved' gets its reference share of it (step 5 of section 5)",
        ),
        (
            1 - (1 - p) ** N_BEST,
            "that is the probability that 'i loved' is among the 4 candidates; it must also "
            "be the first of the best, and other sentences can beat or tie it",
        ),
        (
            at_most**N_BEST - (at_most - p) ** N_BEST,
            "that is the formula for distinct rewards; 'i loved' ties with 215 other "
            "sentences at reward 2, which share the group's probability (step 5 of section 5)",
        ),
    ]


exercise(
    NumberExercise(
        "08-best-of-4-i-loved",
        expected=_p_i_loved,
        tolerance=SIX_DIGITS,
        hint="best-of-4 over all two-word sentences is a distribution you can compute exactly; "
        "take its entry for 'i loved', minding the ties",
        mistakes=_mistakes_i_loved,
    )
)


def _best_of_n_means(ref, rewards, largest: int) -> np.ndarray:
    return np.array(
        [
            rw.expected_reward(rw.best_of_n_distribution(ref, rewards, n), rewards)
            for n in range(1, largest + 1)
        ]
    )


def smallest_n() -> int:
    """The smallest N whose best-of-N expected reward exceeds E_pi*[r] at beta = 1 (T = 2)."""
    _, _, ref, rewards = _two_word_sentences()
    target = rw.expected_reward(rw.reward_weighted(ref, rewards, BETA), rewards)
    return int(np.flatnonzero(_best_of_n_means(ref, rewards, 64) > target)[0]) + 1


def _mistakes_smallest_n():
    expected = smallest_n()
    power_of_two = 2 ** int(np.ceil(np.log2(expected)))
    mistakes = [
        (
            expected - 1,
            "at that N best-of-N is still at or below pi*: the question asks for the first N "
            "whose expected reward is greater",
        )
    ]
    if power_of_two != expected:
        mistakes.append(
            (
                power_of_two,
                "try every N = 1, 2, 3, ..., not only powers of two; a smaller N already beats pi*",
            )
        )
    return mistakes


exercise(
    NumberExercise(
        "08-smallest-n",
        expected=lambda: float(smallest_n()),
        tolerance=EXACT_COUNT,
        whole_number=True,
        hint="compare the expected reward of pi* at beta = 1 with that of best-of-N for "
        "N = 1, 2, 3, ..., and stop at the first N that is greater",
        mistakes=_mistakes_smallest_n,
    )
)

exercise(
    FunctionExercise(
        "08-best-of-n-ties",
        reference=rw.best_of_n_distribution,
        examples=[
            (np.array(ref), np.array(rewards), n)
            for ref, rewards, n in [
                ([0.15, 0.30, 0.25, 0.20, 0.08, 0.02], [3.0, 1.5, 0.5, 1.5, -2.0, -3.0], 4),
                ([0.15, 0.30, 0.25, 0.20, 0.08, 0.02], [3.0, 1.5, 0.5, 1.0, -2.0, -3.0], 4),
                ([0.6, 0.4], [1.0, 1.0], 3),
                ([0.1, 0.4, 0.2, 0.3], [2.0, -1.0, 2.0, 7.0], 2),
                ([0.05, 0.5, 0.25, 0.2], [1.0, 1.0, -4.0, 1.0], 16),
                ([0.25, 0.25, 0.25, 0.25], [4.0, 3.0, 3.0, 1.0], 50),
            ]
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "a tie at the top": 1,
            "every reward equal": 1,
            "distinct rewards and n = 1": 1,
        },
        tolerance=Tolerance(rtol=1e-9, atol=1e-12),
        hint="the best reward of n candidates is at most v exactly when all n are; tied outputs "
        "share the probability of their reward level as the reference shares it among them; "
        "return one probability per output, in the input order",
        allowed_modules=("numpy", "math"),
    )
)
