r"""Exact Z over sequences, two ways, and exact sampling from pi* over sequences.

For a language model the outputs are sequences ``y = (w_1, ..., w_T)``, and

.. math:: Z = \sum_{y \in \mathcal{V}^T} \pi_\mathrm{ref}(y)\, e^{r(y)/\beta}

has ``V^T`` terms. Enumerating them is hopeless for a real model, but when the
reference is a bigram model and the reward is a sum over tokens, a backward
recursion over prefixes ("soft values") gives Z in ``O(T V^2)`` operations and
lets us sample from pi* one token at a time.

Taught in ``notebooks/07_estimating_z.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.language_model import (
    BigramModel,
    _draw,
    sequence_reward,
)
from rwlib.reward_weighted import log_normalization_factor
from rwlib.scores import softmax_and_logsumexp
from rwlib.validate import (
    random_generator,
    real_array,
    require_finite,
    require_log_probabilities,
    scalar_beta,
    whole_number,
)


def _checked(model, token_rewards, length, beta):
    """Validated (token rewards / beta as float64 (V,), length as int)."""
    if not isinstance(model, BigramModel):
        raise TypeError(
            f"model must be a BigramModel, got {type(model).__name__}; "
            "use rwlib.language_model.course_model()"
        )
    rewards = real_array(token_rewards, "token_rewards").astype(np.float64, copy=False)
    if rewards.shape != (model.vocabulary_size,):
        raise ValueError(
            f"token_rewards must have one reward per word, shape ({model.vocabulary_size},), "
            f"got {rewards.shape}; build it with rwlib.language_model.token_rewards"
        )
    require_finite(rewards, "token_rewards")
    return rewards / scalar_beta(beta), whole_number(length, "length")


def _next_token_logits(model: BigramModel, scaled_rewards, next_values) -> np.ndarray:
    """``log p(w | c) + r(w) / beta + values[t + 1, w + 1]`` for every context c, shape (V+1, V)."""
    return model.log_transitions + (scaled_rewards + next_values[1:])


def log_z_of_sequences(log_probs, rewards, beta=1.0) -> float:
    r"""log Z over a list of sequences, given their log-probabilities and any rewards.

    Parameters
    ----------
    log_probs : array_like, shape (N,)
        ``log pi_ref`` of every sequence of the output set (e.g. the second
        result of ``model.enumerate(T)``); their exponentials sum to 1.
    rewards : array_like, shape (N,)
        Finite reward of each sequence, aligned with ``log_probs``. Any reward
        works here, additive or not (e.g. :func:`~rwlib.language_model.contains_word`).
    beta : float, default 1.0
        Positive temperature.

    Returns
    -------
    float
        ``log Z``, between ``E_ref[r] / beta`` and ``max r / beta``.

    Raises
    ------
    ValueError
        If ``log_probs`` is not a vector of log-probabilities, ``rewards`` is
        not finite or not aligned with it, or ``beta`` is not positive.

    Notes
    -----
    .. math:: \log Z = \log \sum_{y} e^{\log \pi_\mathrm{ref}(y) + r(y)/\beta}

    The sequences are just outputs: this is
    ``rw.log_normalization_factor(log_probs, rewards, beta, log_ref=True)``.

    See Also
    --------
    log_z_by_enumeration : the same for an additive reward, listing the sequences itself.
    rwlib.log_normalization_factor : log Z for any finite output set.

    Examples
    --------
    Z of the reward "contains the word great" over all 3-word sequences:

    >>> import rwlib.language_model as lm
    >>> from rwlib.sequences import log_z_of_sequences
    >>> model = lm.course_model()
    >>> ids, log_probs = model.enumerate(3)
    >>> rewards = lm.contains_word(ids, model.encode("great")[0])
    >>> round(log_z_of_sequences(log_probs, rewards, beta=0.5), 6)
    0.111719
    """
    log_probs = real_array(log_probs, "log_probs")
    rewards = real_array(rewards, "rewards")
    if log_probs.ndim != 1 or rewards.shape != log_probs.shape:
        raise ValueError(
            f"log_probs and rewards must both have shape (N,), one entry per sequence; got "
            f"{log_probs.shape} and {rewards.shape}"
        )
    require_log_probabilities(log_probs, "log_probs")
    require_finite(rewards, "rewards")
    return log_normalization_factor(log_probs, rewards, scalar_beta(beta), log_ref=True)


def log_z_by_enumeration(model, token_rewards, length, beta=1.0) -> float:
    r"""log Z over all sequences of a length, by listing every one of them.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        Finite reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T``; ``V**T`` must not exceed 5,000,000.
    beta : float, default 1.0
        Positive temperature.

    Returns
    -------
    float
        ``log Z``; equals :func:`log_z_by_recursion` up to rounding.

    Raises
    ------
    ValueError
        On invalid inputs, or when ``V**length`` is too large to list.

    Notes
    -----
    .. math:: \log Z = \log \sum_{w_1, \ldots, w_T}
              \pi_\mathrm{ref}(w_{1:T})\, e^{\sum_t r(w_t)/\beta}

    Time and memory grow like ``V^T``: 46 words and ``T = 4`` already make 4.5
    million sequences, and a real model (``V = 50,257``, ``T = 100``) would make
    about ``10^470``, more than there are atoms in the universe. This is why
    Z is intractable for language models, and why the course estimates it.

    See Also
    --------
    log_z_by_recursion : the same number in ``O(T V^2)``.
    log_z_of_sequences : log Z for a reward that is not a sum over tokens.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> from rwlib.sequences import log_z_by_enumeration
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> round(log_z_by_enumeration(model, rewards, length=3, beta=1.0), 6)
    0.538156
    """
    scaled, length = _checked(model, token_rewards, length, beta)
    ids, log_probs = model.enumerate(length)
    return log_z_of_sequences(log_probs, sequence_reward(ids, scaled), beta=1.0)


def soft_values(model, token_rewards, length, beta=1.0) -> np.ndarray:
    r"""Soft values: log Z of every suffix, computed backwards from the end.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        Finite reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T >= 1``.
    beta : float, default 1.0
        Positive temperature.

    Returns
    -------
    numpy.ndarray, shape (length + 1, V + 1)
        ``values[t, c]``: the log of the expected ``exp(r / beta)`` of the
        ``T - t`` tokens still to come, when ``t`` tokens have been generated
        and the context is ``c`` (``c = 0`` the start ``<s>``, ``c = i + 1``
        last word ``vocabulary[i]``). ``values[T] = 0``; ``values[0, 0] = log Z``,
        and ``values[t, 0]`` is ``log Z`` for sequences of ``T - t`` tokens.
        Finite for any finite rewards.

    Notes
    -----
    With :math:`V_t(c)` = ``values[t, c]`` and :math:`p(w \mid c)` the model's
    transitions:

    .. math::

        V_T(c) = 0, \qquad
        V_t(c) = \log \sum_{w} p(w \mid c)\, e^{r(w)/\beta + V_{t+1}(w)},
        \qquad \log Z = V_0(\langle s \rangle).

    It is the sum over all sequences, factored from the last token back
    (``sum_{w_1} p e^{r/beta} sum_{w_2} p e^{r/beta} ...``), possible because
    the model looks only at the previous word and the reward is a sum over
    tokens. Each step is a log-sum-exp over a ``(V + 1) x V`` table: ``O(T V^2)``
    in all instead of ``O(V^T)``. A Transformer conditions on the whole prefix,
    so its "contexts" are all ``V^t`` prefixes and the recursion is no cheaper
    than enumeration.

    See Also
    --------
    log_z_by_recursion : ``values[0, 0]``.
    sample_pi_star : samples pi* token by token with these values.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> from rwlib.sequences import soft_values
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> values = soft_values(model, rewards, length=3, beta=1.0)
    >>> values.shape
    (4, 47)
    >>> values[:, 0]  # log Z for 3, 2, 1 and 0 tokens
    array([0.538156, 0.390918, 0.032101, 0.      ])
    """
    scaled, length = _checked(model, token_rewards, length, beta)
    values = np.zeros((length + 1, model.vocabulary_size + 1))
    for t in range(length - 1, -1, -1):
        values[t] = softmax_and_logsumexp(_next_token_logits(model, scaled, values[t + 1]))[1]
    return values


def log_z_by_recursion(model, token_rewards, length, beta=1.0) -> float:
    r"""log Z over all sequences of a length, by the soft-value recursion.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        Finite reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T >= 1``; any length (``T = 1000`` is fine).
    beta : float, default 1.0
        Positive temperature.

    Returns
    -------
    float
        ``log Z``; equals :func:`log_z_by_enumeration` up to rounding.

    Notes
    -----
    .. math:: \log Z = \log \sum_{w} p(w \mid \langle s \rangle)\, e^{r(w)/\beta + V_1(w)}
              = V_0(\langle s \rangle)

    ``T`` log-sum-exps over a ``(V + 1) x V`` table: ``O(T V^2)`` operations and
    ``O(T V)`` memory, computed in log space so that it never overflows.

    See Also
    --------
    soft_values : the whole table of values.
    log_z_by_enumeration : the brute-force sum it replaces.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> from rwlib.sequences import log_z_by_recursion
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> round(log_z_by_recursion(model, rewards, length=3, beta=1.0), 6)
    0.538156
    >>> round(log_z_by_recursion(model, rewards, length=50, beta=0.01), 3)  # Z = e^9787
    9786.594
    """
    return float(soft_values(model, token_rewards, length, beta)[0, 0])


def sample_pi_star(model, token_rewards, length, beta, rng, size=1) -> np.ndarray:
    r"""Exact samples from pi* over sequences, drawn one token at a time.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        Finite reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T >= 1``.
    beta : float
        Positive temperature.
    rng : numpy.random.Generator
        The source of randomness, e.g. ``np.random.default_rng(0)``.
    size : int, default 1
        The number of sequences.

    Returns
    -------
    numpy.ndarray of int, shape (size, length)
        Independent draws from
        ``pi*(y) = pi_ref(y) exp(r(y) / beta) / Z`` over sequences of ``length`` tokens.

    Notes
    -----
    pi* is again a Markov chain, with the soft values as a look-ahead:

    .. math:: \pi^*(w_{t+1} \mid w_t) = p(w_{t+1} \mid w_t)\,
              \frac{e^{r(w_{t+1})/\beta + V_{t+1}(w_{t+1})}}{e^{V_t(w_t)}}

    Multiplying these over ``t`` telescopes to ``pi_ref(y) e^{r(y)/beta} / Z``.
    Without the ``V_{t+1}`` term (greedy reweighting of each token) the samples
    would not follow pi*. All ``size`` sequences advance together.

    See Also
    --------
    soft_values : the look-ahead term.
    rwlib.language_model.BigramModel.sample : the same without rewards (pi_ref).

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib.language_model as lm
    >>> from rwlib.sequences import sample_pi_star
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> rng = np.random.default_rng(0)
    >>> model.decode(sample_pi_star(model, rewards, 5, beta=0.5, rng=rng, size=2))
    ['i really brilliant brilliant but', 'so great and brilliant and']
    """
    rng = random_generator(rng)
    size = whole_number(size, "size")
    values = soft_values(model, token_rewards, length, beta)
    scaled, length = _checked(model, token_rewards, length, beta)
    ids = np.empty((size, length), dtype=np.intp)
    context = np.zeros(size, dtype=np.intp)
    for t in range(length):
        policy = softmax_and_logsumexp(_next_token_logits(model, scaled, values[t + 1]))[0]
        ids[:, t] = _draw(np.cumsum(policy, axis=-1)[context], rng)
        context = ids[:, t] + 1
    return ids
