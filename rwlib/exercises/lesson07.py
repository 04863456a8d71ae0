"""Checks of the exercises in ``07_estimating_z.ipynb``.

Expected values are computed here with rwlib and numpy from the exercise's
data (the course model, the sentiment lexicon, a fixed seed), never pasted in
as literals.
"""

import math

import numpy as np

import rwlib as rw
from rwlib.checks import exercise, function_hint, number_hint

# 07-log-z-two-tokens: exact log Z over all 2-token sequences at beta = 0.5.
LOG_Z_LENGTH = 2
LOG_Z_BETA = 0.5

# 07-samples-for-1-percent: a pilot sample fixed by its seed and size.
PILOT_SEED = 707
PILOT_SIZE = 1000
PILOT_LENGTH = 3
PILOT_BETA = 1.0
TARGET = 0.01  # the standard error should be 1% of Z

# 07-ess-quarter: ten reviews and beta = 0.25.
ESS_SENTENCES = (
    "it was great fun",
    "i loved the clever plot",
    "the film was great",
    "i loved it",
    "good and funny",
    "the acting was good",
    "the story was okay",
    "the plot was slow",
    "i hated the ending",
    "i would watch it again",
)
ESS_BETA = 0.25

# 07-mc-log-z: (rewards of the samples, beta); some overflow or underflow if exponentiated naively.
MC_LOG_Z_CASES = (
    ([0.0, 1.0, 2.0], 1.0),
    ([0.0, 1.0, 2.0], 0.5),
    ([2.0, 2.0, 2.0, 2.0], 0.25),
    ([1000.0, 1000.0, 999.0], 1.0),
    ([-1000.0, -1001.0, -1002.5], 1.0),
    ([8.0, 6.0, 7.5, -3.0], 0.01),
    ([3.0], 2.0),
)


def _course():
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


@exercise("07-log-z-two-tokens")
def log_z_two_tokens(answer):
    """Exact log Z of the course model over all 2-token sequences at beta = 0.5."""
    model, rewards = _course()

    def log_z(length, beta):
        return rw.log_z_by_recursion(model, rewards, length, beta)

    expected = log_z(LOG_Z_LENGTH, LOG_Z_BETA)
    return number_hint(
        answer,
        expected,
        "use rw.log_z_by_recursion (or rw.log_z_by_enumeration) with the course model, "
        "the sentiment rewards from rw.token_rewards, length 2 and beta 0.5",
        mistakes=[
            (math.exp(expected), "the question asks for log Z, not Z"),
            (log_z(LOG_Z_LENGTH, 1 / LOG_Z_BETA), "beta = 0.5 is passed as beta, not as 1/beta"),
            (log_z(3, LOG_Z_BETA), "the sequences have T = 2 tokens here, not 3"),
            (log_z(LOG_Z_LENGTH, 1.0), "pass beta = 0.5: the default beta is 1"),
        ],
    )


def pilot_rewards() -> np.ndarray:
    """Rewards of the exercise's pilot sample: 1000 sequences of 3 tokens, seed 707."""
    model, rewards = _course()
    rng = np.random.default_rng(PILOT_SEED)
    return rw.sequence_reward(model.sample(rng, PILOT_LENGTH, size=PILOT_SIZE), rewards)


@exercise("07-samples-for-1-percent")
def samples_for_1_percent(answer):
    """Samples needed for SE(Z_hat) <= 1% of Z at beta = 1, estimated from the seeded pilot."""
    estimate, error = rw.monte_carlo_z(pilot_rewards(), PILOT_BETA)
    spread = error * math.sqrt(PILOT_SIZE)  # the standard deviation of one weight
    expected = (spread / (TARGET * estimate)) ** 2
    return number_hint(
        answer,
        expected,
        "the standard error with n samples is s / sqrt(n), with s = SE_pilot * sqrt(n_pilot); "
        "solve s / sqrt(n) = 0.01 * Z_hat for n",
        rtol=2e-3,  # whole-number rounding, and s with ddof 0 or 1
        mistakes=[
            (
                (error / (TARGET * estimate)) ** 2,
                "the pilot's standard error already contains 1/sqrt(n_pilot): multiply it by "
                "sqrt(n_pilot) to get the spread of a single weight",
            ),
            (
                spread / (TARGET * estimate),
                "the standard error falls like 1/sqrt(n): square the ratio to get n",
            ),
            (
                (spread / estimate) ** 2,
                "1% is 0.01: the target standard error is 0.01 * Z_hat",
            ),
        ],
    )


def ess_rewards() -> np.ndarray:
    """Sentiment rewards of the exercise's ten reviews."""
    model, rewards = _course()
    return np.array([rw.sequence_reward(model.encode(text), rewards) for text in ESS_SENTENCES])


@exercise("07-ess-quarter")
def ess_quarter(answer):
    """Effective sample size of the ten reviews' weights exp(r / beta) at beta = 0.25."""
    rewards = ess_rewards()
    expected = rw.effective_sample_size(rewards, ESS_BETA)
    return number_hint(
        answer,
        expected,
        "compute each review's reward with rw.sequence_reward(model.encode(text), rewards), "
        "then rw.effective_sample_size(those rewards, beta=0.25)",
        mistakes=[
            (
                rw.effective_sample_size(rewards, 1.0),
                "pass beta = 0.25: the default beta is 1",
            ),
            (
                rw.effective_sample_size(rewards, 1 / ESS_BETA),
                "the weights are exp(r / beta), with beta = 0.25: a small beta makes them unequal",
            ),
            (
                float(len(rewards)),
                "that is the effective sample size of equal weights; these rewards differ",
            ),
            (
                1 / expected,
                "the effective sample size is 1 / sum of squared normalised weights, not the sum",
            ),
        ],
    )


@exercise("07-mc-log-z")
def mc_log_z(answer):
    """A function mc_log_z(rewards_of_samples, beta) returning log mean exp(r / beta), stably."""
    cases = [
        ((np.array(rewards), beta), rw.monte_carlo_log_z(rewards, beta))
        for rewards, beta in MC_LOG_Z_CASES
    ]
    return function_hint(
        answer,
        cases,
        "return log mean exp(a) with a = r / beta, computed as m + log mean exp(a - m) "
        "with m = max(a), so that nothing overflows or underflows; return a single number",
    )
