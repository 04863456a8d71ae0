r"""rwlib: the course library for the reward-weighted distribution.

.. math:: \pi^*(y \mid x) = \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta} / Z(x)

Import it as ``import rwlib as rw``. Every function takes numpy arrays with the
outputs on the last axis (leading axes are a batch), checks its input, and
computes in log space where overflow is possible.
"""

from rwlib.checks import check
from rwlib.hidden_values import grade_function, print_for_grading
from rwlib.language_model import (
    BigramModel,
    contains_word,
    course_corpus,
    course_model,
    sentiment_lexicon,
    sequence_reward,
    token_rewards,
)
from rwlib.objective import expected_reward, kl_divergence, kl_regularized_objective
from rwlib.preferences import bradley_terry, dpo_loss, implicit_reward
from rwlib.reward_weighted import log_normalization_factor, normalization_factor, reward_weighted
from rwlib.sampling import (
    acceptance_rate,
    best_of_n_distribution,
    best_of_n_kl_bound,
    best_of_n_sample,
    effective_sample_size,
    monte_carlo_log_z,
    monte_carlo_z,
    rejection_sample,
    self_normalized_estimate,
)
from rwlib.scores import logsumexp, normalize, softmax
from rwlib.sequences import (
    log_z_by_enumeration,
    log_z_by_recursion,
    log_z_of_sequences,
    sample_pi_star,
    soft_values,
)

__version__ = "0.1.0"

__all__ = [
    "BigramModel",
    "acceptance_rate",
    "best_of_n_distribution",
    "best_of_n_kl_bound",
    "best_of_n_sample",
    "bradley_terry",
    "check",
    "contains_word",
    "course_corpus",
    "course_model",
    "dpo_loss",
    "effective_sample_size",
    "expected_reward",
    "implicit_reward",
    "kl_divergence",
    "kl_regularized_objective",
    "log_normalization_factor",
    "log_z_by_enumeration",
    "log_z_by_recursion",
    "log_z_of_sequences",
    "logsumexp",
    "monte_carlo_log_z",
    "monte_carlo_z",
    "normalization_factor",
    "normalize",
    "grade_function",
    "print_for_grading",
    "rejection_sample",
    "reward_weighted",
    "sample_pi_star",
    "self_normalized_estimate",
    "sentiment_lexicon",
    "sequence_reward",
    "soft_values",
    "softmax",
    "token_rewards",
]
