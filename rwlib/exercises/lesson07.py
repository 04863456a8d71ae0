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

# 07-beta-ess-tenth: the beta at which n reference samples of T = 4 words are worth n / 10.
TENTH_LENGTH = 4
TENTH_FRACTION = 0.1

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
        hint="the pilot tells you how much a single weight varies; the standard error of an "
        "average shrinks with the number of samples at a rate you know: which n brings it to 1% "
        "of Z_hat?",
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


def _chi_square(length: int, beta: float) -> float:
    """chi^2(pi* || pi_ref) = Z(beta / 2) / Z(beta)^2 - 1 over sequences of ``length`` tokens."""
    return math.expm1(_log_z(length, beta / 2) - 2 * _log_z(length, beta))


def beta_for_chi_square(target: float, length: int = TENTH_LENGTH) -> float:
    """The beta at which chi^2(pi* || pi_ref) = target (chi^2 falls as beta grows)."""
    low, high = math.log(0.05), math.log(20.0)
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (
            (middle, high) if _chi_square(length, math.exp(middle)) > target else (low, middle)
        )
    return math.exp((low + high) / 2)


exercise(
    NumberExercise(
        "07-beta-ess-tenth",
        expected=lambda: beta_for_chi_square(TENTH_FRACTION**-1 - 1),
        tolerance=SIX_DIGITS,
        hint="section 6 links the effective sample size of n reference samples to a divergence "
        "between pi* and pi_ref that you can compute exactly for this model; it falls steadily "
        "as beta grows, so search beta for the value that gives one tenth",
        mistakes=lambda: [
            (
                beta_for_chi_square(TENTH_FRACTION**-1),
                "the effective sample size is n / (1 + chi^2): one tenth of n needs 1 + chi^2 = 10",
            ),
            (
                beta_for_chi_square(TENTH_FRACTION**-1 - 2),
                "chi^2 is Z(beta / 2) / Z(beta)^2 minus 1; the ratio itself is 1 + chi^2",
            ),
            (
                beta_for_chi_square(TENTH_FRACTION**-1 - 1, length=3),
                "the reviews have T = 4 words here, not the 3 of section 6",
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
