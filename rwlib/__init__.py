r"""rwlib: the course library for the reward-weighted distribution.

.. math:: \pi^*(y \mid x) = \pi_\mathrm{ref}(y \mid x)\, e^{r(x, y)/\beta} / Z(x)

Import it as ``import rwlib as rw``. Every function takes numpy arrays with the
outputs on the last axis (leading axes are a batch), checks its input, and
computes in log space where overflow is possible.
"""

from rwlib.checks import check
from rwlib.objective import expected_reward, kl_divergence, kl_regularized_objective
from rwlib.preferences import bradley_terry, dpo_loss, implicit_reward
from rwlib.reward_weighted import log_normalization_factor, normalization_factor, reward_weighted
from rwlib.scores import logsumexp, normalize, softmax

__version__ = "0.1.0"

__all__ = [
    "bradley_terry",
    "check",
    "dpo_loss",
    "expected_reward",
    "implicit_reward",
    "kl_divergence",
    "kl_regularized_objective",
    "log_normalization_factor",
    "logsumexp",
    "normalization_factor",
    "normalize",
    "reward_weighted",
    "softmax",
]
