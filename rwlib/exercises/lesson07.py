"""The exercises of ``07_estimating_z.ipynb``: one definition each.

Expected values are exact: rwlib's recursion and numpy on the exercise's data
(the course model, the sentiment lexicon), never pasted in as literals and
never a sampled estimate.
"""

import math

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

# The count is estimated from a pilot of 1000 samples, whose variance estimate of these
# heavy-tailed weights is itself uncertain: the seeded pilot's n is 1.23 times the exact n,
# and 94% of pilots of that size (any seed) are within a relative 0.5 of it.
PILOT_PRECISION = Tolerance(rtol=0.5)


def _course():
    model = rw.course_model()
    return model, rw.token_rewards(model, rw.sentiment_lexicon())


def _log_z(length: int, beta: float) -> float:
    model, rewards = _course()
    return rw.log_z_by_recursion(model, rewards, length, beta)


exercise(
    NumberExercise(
        "07-log-z-two-tokens",
        expected=lambda: _log_z(LOG_Z_LENGTH, LOG_Z_BETA),
        tolerance=SIX_DIGITS,
        hint="Z sums over every sequence of T = 2 tokens; section 4 computes it exactly without "
        "listing them one by one",
        mistakes=lambda: [
            (math.exp(_log_z(LOG_Z_LENGTH, LOG_Z_BETA)), "the question asks for log Z, not Z"),
            (_log_z(LOG_Z_LENGTH, 1 / LOG_Z_BETA), "beta = 0.5 is passed as beta, not as 1/beta"),
            (_log_z(3, LOG_Z_BETA), "the sequences have T = 2 tokens here, not 3"),
            (_log_z(LOG_Z_LENGTH, 1.0), "the exercise's beta is 0.5, not the default 1"),
        ],
    )
)


def pilot_rewards() -> np.ndarray:
    """Rewards of the exercise's pilot sample: 1000 sequences of 3 tokens, seed 707."""
    model, rewards = _course()
    rng = np.random.default_rng(PILOT_SEED)
    return rw.sequence_reward(model.sample(rng, PILOT_LENGTH, size=PILOT_SIZE), rewards)


def exact_samples_needed() -> float:
    """The exact n with SE(Z_hat) = 1% of Z: Var(w) / Z^2 = chi^2 = Z(beta/2) / Z(beta)^2 - 1."""
    chi2 = math.expm1(_log_z(PILOT_LENGTH, PILOT_BETA / 2) - 2 * _log_z(PILOT_LENGTH, PILOT_BETA))
    return chi2 / TARGET**2


exercise(
    NumberExercise(
        "07-samples-for-1-percent",
        expected=lambda: float(math.ceil(exact_samples_needed())),
        tolerance=PILOT_PRECISION,
        whole_number=True,
        hint="the standard error falls like 1/sqrt(n): find the spread of a single weight from "
        "the pilot, then the n at which the standard error is 1% of Z_hat",
        mistakes=lambda: [
            (
                exact_samples_needed() / PILOT_SIZE,
                "the pilot's standard error already contains 1/sqrt(n_pilot): undo that to get "
                "the spread of a single weight",
            ),
            (
                math.sqrt(exact_samples_needed()),
                "the standard error falls like 1/sqrt(n): square the ratio to get n",
            ),
            (exact_samples_needed() * TARGET**2, "1% is 0.01: the target is 0.01 * Z_hat"),
        ],
    )
)


def ess_rewards() -> np.ndarray:
    """Sentiment rewards of the exercise's ten reviews."""
    model, rewards = _course()
    return np.array([rw.sequence_reward(model.encode(text), rewards) for text in ESS_SENTENCES])


def _ess(beta: float) -> float:
    return float(rw.effective_sample_size(ess_rewards(), beta))


exercise(
    NumberExercise(
        "07-ess-quarter",
        expected=lambda: _ess(ESS_BETA),
        tolerance=SIX_DIGITS,
        hint="each review's weight is exp(r / beta) of its own sentiment reward; the effective "
        "sample size measures how unequal the ten weights are",
        mistakes=lambda: [
            (_ess(1.0), "the exercise's beta is 0.25, not the default 1"),
            (
                _ess(1 / ESS_BETA),
                "the weights are exp(r / beta), with beta = 0.25: a small beta makes them unequal",
            ),
            (
                float(len(ESS_SENTENCES)),
                "that is the effective sample size of equal weights; these rewards differ",
            ),
            (
                1 / _ess(ESS_BETA),
                "the effective sample size is 1 / sum of squared normalised weights, not the sum",
            ),
        ],
    )
)

exercise(
    FunctionExercise(
        "07-mc-log-z",
        reference=rw.monte_carlo_log_z,
        examples=[
            (np.array(rewards), beta)
            for rewards, beta in [
                ([0.0, 1.0, 2.0], 1.0),
                ([0.0, 1.0, 2.0], 0.5),
                ([2.0, 2.0, 2.0, 2.0], 0.25),
                ([1000.0, 1000.0, 999.0], 1.0),
                ([-1000.0, -1001.0, -1002.5], 1.0),
                ([8.0, 6.0, 7.5, -3.0], 0.01),
                ([3.0], 2.0),
            ]
        ],
        hidden_cases={
            PUBLIC_CASE: 1,
            "small samples with a closed form": 1,
            "weights that overflow": 1,
            "weights that underflow": 1,
        },
        tolerance=FUNCTION_OUTPUTS,
        hint="log Z_hat is the log of a mean of exponentials: take the largest exponent out "
        "before exponentiating, so that nothing overflows or underflows; return one number",
    )
)
