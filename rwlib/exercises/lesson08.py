"""Checks of the exercises in ``08_sampling_from_pi_star.ipynb``.

Expected values are computed here with rwlib and numpy from the exercise's
data, never pasted in as literals.
"""

import numpy as np

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint

# 08-proposals-per-sample: rejection sampling on the course model, sentences of 4 words.
LONG_LENGTH = 4
BETA = 1.0  # every exercise of the lesson uses beta = 1
# 08-best-of-4-i-loved: best-of-4 over all two-word sentences.
SHORT_LENGTH = 2
N_BEST = 4
SENTENCE = "i loved"


def _course():
    """The course model and its sentiment reward per word."""
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def _two_word_sentences():
    """(model, ids, ref, rewards) over every two-word sentence."""
    model, token_reward = _course()
    ids, log_ref = model.enumerate(SHORT_LENGTH)
    return model, ids, np.exp(log_ref), rw.sequence_reward(ids, token_reward)


@exercise("08-proposals-per-sample")
def proposals_per_sample(answer):
    """The mean number of proposals per accepted sample: course model, T = 4, beta = 1."""
    model, token_reward = _course()
    log_z = rw.log_z_by_recursion(model, token_reward, LONG_LENGTH, BETA)
    r_max = LONG_LENGTH * token_reward.max()
    rate = np.exp(log_z - r_max / BETA)
    return number_hint(
        answer,
        1 / rate,
        "the acceptance rate is Z / exp(r_max / beta); each accepted sample costs 1 / rate "
        "proposals on average. Get log Z from rw.log_z_by_recursion with length 4, and r_max is "
        "the largest reward of a whole 4-word sentence",
        mistakes=[
            (
                rate,
                "that is the acceptance rate, the fraction of proposals kept; the question asks "
                "for the number of proposals per accepted sample",
            ),
            (
                np.exp(token_reward.max() / BETA - log_z),
                "r_max is the largest reward of a whole sentence, the sum over its 4 words, "
                "not the largest reward of a single word",
            ),
            (
                np.exp(-log_z),
                "the acceptance probability of a proposal is exp((r - r_max) / beta): the rate "
                "is Z / exp(r_max / beta), not Z",
            ),
        ],
    )


@exercise("08-best-of-4-i-loved")
def best_of_4_i_loved(answer):
    """P(best-of-4 over two-word sentences returns exactly 'i loved')."""
    model, ids, ref, rewards = _two_word_sentences()
    k = int(np.flatnonzero((ids == model.encode(SENTENCE)).all(axis=1))[0])
    p, v = ref[k], rewards[k]
    at_most, below = ref[rewards <= v].sum(), ref[rewards < v].sum()
    return number_hint(
        answer,
        rw.best_of_n_distribution(ref, rewards, N_BEST)[k],
        "compute rw.best_of_n_distribution(ref_seq, reward_seq, 4) over all 2116 sentences and "
        "take the entry of 'i loved' (index_of('i loved'))",
        mistakes=[
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
        ],
    )


def _best_of_n_means(ref, rewards, largest: int) -> np.ndarray:
    return np.array(
        [
            rw.expected_reward(rw.best_of_n_distribution(ref, rewards, n), rewards)
            for n in range(1, largest + 1)
        ]
    )


@exercise("08-smallest-n")
def smallest_n(answer):
    """The smallest N whose best-of-N expected reward exceeds E_pi*[r] at beta = 1 (T = 2)."""
    _, _, ref, rewards = _two_word_sentences()
    target = rw.expected_reward(rw.reward_weighted(ref, rewards, BETA), rewards)
    means = _best_of_n_means(ref, rewards, 64)
    expected = int(np.flatnonzero(means > target)[0]) + 1
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
    return number_hint(
        answer,
        expected,
        "compute the target rw.expected_reward(rw.reward_weighted(ref_seq, reward_seq, 1.0), "
        "reward_seq), then the expected reward of rw.best_of_n_distribution(ref_seq, "
        "reward_seq, n) for n = 1, 2, 3, ... and stop at the first one that is greater",
        mistakes=mistakes,
    )


FUNCTION_CASES = [
    ([0.15, 0.30, 0.25, 0.20, 0.08, 0.02], [3.0, 1.5, 0.5, 1.0, -2.0, -3.0], 4),
    ([0.15, 0.30, 0.25, 0.20, 0.08, 0.02], [3.0, 1.5, 0.5, 1.0, -2.0, -3.0], 1),
    ([0.6, 0.4], [2.0, 1.0], 3),
    ([0.1, 0.4, 0.2, 0.3], [2.5, -1.0, 0.3, 7.0], 2),
    ([0.05, 0.5, 0.25, 0.2], [0.0, 1.0, -4.0, 2.0], 16),
    ([0.25, 0.25, 0.25, 0.25], [4.0, 3.0, 2.0, 1.0], 50),
]


@exercise("08-best-of-n-probabilities")
def best_of_n_probabilities(answer):
    """A function best_of_n_probabilities(ref, rewards, n) for distinct rewards."""
    cases = [
        (
            (np.array(ref), np.array(rewards), n),
            rw.best_of_n_distribution(ref, rewards, n),
        )
        for ref, rewards, n in FUNCTION_CASES
    ]
    return function_hint(
        answer,
        cases,
        "sort the outputs by reward, take F = the running sum of ref in that order (put back "
        "in the original order), and return F**n - (F - ref)**n, one entry per output",
    )
