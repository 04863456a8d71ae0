r"""RLHF on the course model: preferences, a Bradley–Terry reward model, policy gradient.

The three steps of RLHF, each small enough to check against an exact answer:

1. pairs of completions from pi_ref, labelled by Bradley–Terry on a true reward,
   :math:`P(y_a \succ y_b) = \sigma(r(y_a) - r(y_b))`;
2. a reward model :math:`\hat r` fitted to the labels by maximum likelihood;
3. a policy that maximises :math:`J(\pi_\theta) = \mathbb{E}_{\pi_\theta}[\hat r]
   - \beta\, \mathrm{KL}(\pi_\theta \,\|\, \pi_\mathrm{ref})`, by the exact gradient
   (a softmax over a small output set) or by REINFORCE (a tabular policy over
   sequences), whose target, the pi* of :math:`\hat r`, the soft values give exactly.

A *tabular policy* over sequences of ``T`` tokens is an array ``policy`` of
shape ``(T, V + 1, V)``: ``policy[t, c, w]`` is the probability that token
``t + 1`` is ``w`` when ``t`` tokens have been written and the context is ``c``
(``c = 0`` the start ``<s>``, ``c = i + 1`` the last word ``vocabulary[i]``),
the index convention of :func:`rwlib.sequences.soft_values`.

Taught in ``notebooks/09_rlhf_reaches_pi_star.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.language_model import BigramModel, _draw, _token_ids
from rwlib.preferences import bradley_terry
from rwlib.scores import softmax_and_logsumexp
from rwlib.sequences import _checked, _next_token_logits, soft_values
from rwlib.validate import (
    random_generator,
    real_array,
    require_finite,
    require_log_probabilities,
    require_probabilities,
    scalar_beta,
    whole_number,
)


def _model(model) -> BigramModel:
    if not isinstance(model, BigramModel):
        raise TypeError(
            f"model must be a BigramModel, got {type(model).__name__}; use rw.course_model()"
        )
    return model


def _tabular(policy, name: str) -> np.ndarray:
    """A checked tabular policy, float64 of shape (T, V + 1, V)."""
    array = real_array(policy, name).astype(np.float64, copy=False)
    if array.ndim != 3 or array.shape[1] != array.shape[2] + 1:
        raise ValueError(
            f"{name} must be a tabular policy of shape (T, V + 1, V), got {array.shape}; "
            "build one with rwlib.rlhf.pi_star_policy or rwlib.rlhf.reference_policy"
        )
    require_probabilities(array, name)
    return array


# -- 1. preferences --------------------------------------------------------------------------------


def sample_preferences(model, token_rewards, length, size, rng):
    r"""Pairs of completions from pi_ref, labelled by Bradley–Terry on a true reward.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref; both completions of a pair are drawn from it.
    token_rewards : array_like, shape (V,)
        The true reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T`` of each completion.
    size : int
        The number of pairs.
    rng : numpy.random.Generator
        The source of randomness, e.g. ``np.random.default_rng(0)``.

    Returns
    -------
    chosen, rejected : numpy.ndarray of int, shape (size, length)
        The preferred completion ``y_w`` and the other one ``y_l`` of each pair.

    Notes
    -----
    Draw :math:`y_a, y_b \sim \pi_\mathrm{ref}` independently; a labeller prefers
    :math:`y_a` with the Bradley–Terry probability

    .. math:: P(y_a \succ y_b) = \sigma\big(r(y_a) - r(y_b)\big).

    Two equal completions are a pair too (each is preferred half the time);
    they carry no information and cost nothing.

    See Also
    --------
    fit_reward_model : the reward model fitted to these pairs.
    rwlib.bradley_terry : the preference probability.

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import sample_preferences
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> chosen, rejected = sample_preferences(model, rewards, 2, 3, np.random.default_rng(0))
    >>> chosen.shape
    (3, 2)
    """
    model, rng = _model(model), random_generator(rng)
    size = whole_number(size, "size")
    scaled, length = _checked(model, token_rewards, length, 1.0)
    first, second = model.sample(rng, length, size), model.sample(rng, length, size)
    gap = scaled[first].sum(axis=-1), scaled[second].sum(axis=-1)
    first_wins = rng.random(size) < bradley_terry(*gap)
    chosen = np.where(first_wins[:, None], first, second)
    rejected = np.where(first_wins[:, None], second, first)
    return chosen, rejected


# -- 2. the reward model ---------------------------------------------------------------------------


def token_counts(ids, vocabulary_size) -> np.ndarray:
    r"""The features of the linear reward model: how often each word occurs in each sequence.

    Parameters
    ----------
    ids : array_like of int, shape (n, T)
        Token ids of ``n`` sequences.
    vocabulary_size : int
        ``V``.

    Returns
    -------
    numpy.ndarray, shape (n, V)
        ``counts[i, w]``: the number of times word ``w`` occurs in sequence ``i``;
        each row sums to ``T``.

    Notes
    -----
    A linear model over these features is an additive reward,
    :math:`\hat r(y) = \sum_w \theta_w \phi_w(y) = \sum_t \theta_{w_t}`.

    Examples
    --------
    >>> from rwlib.rlhf import token_counts
    >>> token_counts([[0, 2, 0]], 3)
    array([[2., 0., 1.]])
    """
    vocabulary_size = whole_number(vocabulary_size, "vocabulary_size")
    ids = np.atleast_2d(_token_ids(ids, "ids", vocabulary_size))
    counts = np.zeros((len(ids), vocabulary_size))
    np.add.at(counts, (np.arange(len(ids))[:, None], ids), 1.0)
    return counts


def reward_model_loss(theta, chosen, rejected, ridge=0.0):
    r"""The Bradley–Terry loss of a linear reward model, with its gradient and Hessian.

    Parameters
    ----------
    theta : array_like, shape (V,)
        The reward model's reward of each word.
    chosen, rejected : array_like of int, shape (n, T)
        The preference pairs, as from :func:`sample_preferences`.
    ridge : float, default 0.0
        The weight ``lambda >= 0`` of the penalty ``lambda / 2 * ||theta||^2``.

    Returns
    -------
    loss : float
        The mean of ``-log sigma(r_theta(y_w) - r_theta(y_l))`` over the pairs, plus the penalty.
    gradient : numpy.ndarray, shape (V,)
    hessian : numpy.ndarray, shape (V, V)
        Positive semi-definite; ``hessian @ ones = ridge * ones``.

    Notes
    -----
    With :math:`d_i = \phi(y_w^i) - \phi(y_l^i)` and :math:`m_i = \theta \cdot d_i`:

    .. math::

        \mathcal{L}(\theta) = \frac{1}{n} \sum_i -\log \sigma(m_i) + \frac{\lambda}{2} \|\theta\|^2,
        \qquad
        \nabla \mathcal{L} = -\frac{1}{n} \sum_i \sigma(-m_i)\, d_i + \lambda \theta,
        \qquad
        \nabla^2 \mathcal{L} = \frac{1}{n} \sum_i \sigma(m_i) \sigma(-m_i)\, d_i d_i^\top
        + \lambda I.

    Every sequence has ``T`` tokens, so every :math:`d_i` sums to 0: adding the
    same constant to every word's reward (the direction ``ones``) changes no
    margin, and the likelihood cannot see it.

    Examples
    --------
    At ``theta = 0`` every pair has probability 1/2:

    >>> import numpy as np
    >>> from rwlib.rlhf import reward_model_loss
    >>> loss, gradient, hessian = reward_model_loss(np.zeros(3), [[0, 1]], [[2, 2]])
    >>> round(loss, 6), gradient
    (0.693147, array([-0.5, -0.5,  1. ]))
    """
    theta = real_array(theta, "theta").astype(np.float64, copy=False)
    require_finite(theta, "theta")
    ridge = float(ridge)
    if not ridge >= 0:
        raise ValueError(f"ridge must be a number >= 0, got {ridge}")
    return _bradley_terry_fit_terms(theta, _count_differences(chosen, rejected, len(theta)), ridge)


def _count_differences(chosen, rejected, size: int):
    """The pairs' tokens side by side, (n, 2T), and their signs (+1 chosen, -1 rejected)."""
    chosen = np.atleast_2d(_token_ids(chosen, "chosen", size))
    rejected = np.atleast_2d(_token_ids(rejected, "rejected", size))
    if chosen.shape != rejected.shape:
        raise ValueError(
            f"chosen and rejected must have the same shape (n, T), got {chosen.shape} and "
            f"{rejected.shape}"
        )
    signs = np.repeat([1.0, -1.0], chosen.shape[1])
    return np.concatenate([chosen, rejected], axis=1), signs


def _bradley_terry_fit_terms(theta, pairs, ridge: float):
    """(loss, gradient, Hessian) of the penalised Bradley–Terry loss.

    ``d_i = phi(y_w) - phi(y_l)`` has at most 2T nonzero entries, so the sums over
    pairs are scattered token by token (no dense (n, V) matrix, no BLAS threads).
    """
    tokens, signs = pairs
    n, size = len(tokens), len(theta)
    margins = theta[tokens] @ signs
    loss = np.mean(np.logaddexp(0.0, -margins)) + ridge / 2 * theta @ theta
    lose = bradley_terry(0.0, margins)  # sigma(-m)
    gradient = ridge * theta
    np.add.at(gradient, tokens, -np.outer(lose, signs) / n)
    hessian = ridge * np.eye(size)
    weight = lose * (1 - lose) / n
    for a in range(tokens.shape[1]):
        for b in range(tokens.shape[1]):
            np.add.at(hessian, (tokens[:, a], tokens[:, b]), weight * (signs[a] * signs[b]))
    return float(loss), gradient, hessian


def fit_reward_model(chosen, rejected, vocabulary_size, ridge=1e-4, steps=30):
    r"""Fit a linear reward model to preference pairs by Bradley–Terry maximum likelihood.

    Parameters
    ----------
    chosen, rejected : array_like of int, shape (n, T)
        The preference pairs, as from :func:`sample_preferences`.
    vocabulary_size : int
        ``V``, the number of words.
    ridge : float, default 1e-4
        A small positive penalty ``lambda / 2 * ||theta||^2``: it keeps the
        reward of a word that no pair separates finite (at 0).
    steps : int, default 30
        At most this many Newton steps from ``theta = 0`` (it stops once a
        step moves no reward by 1e-13; about 10 steps suffice).

    Returns
    -------
    numpy.ndarray, shape (V,)
        The learned reward of each word, :math:`\hat\theta`; it sums to 0.

    Notes
    -----
    Newton's method on the convex loss of :func:`reward_model_loss`,
    :math:`\theta \leftarrow \theta - (\nabla^2 \mathcal{L})^{-1} \nabla \mathcal{L}`.
    The margins cannot see a constant added to every word (each sequence has
    ``T`` words), and the penalty sets that constant to 0: the learned reward
    is the true one *minus its mean over words*, up to noise that shrinks like
    :math:`1/\sqrt{n}`. A per-prompt constant is all that preferences cannot
    tell (notebook 06), and it does not change pi*.

    See Also
    --------
    reward_model_loss : the loss, its gradient and Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import fit_reward_model, sample_preferences
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> pairs = sample_preferences(model, rewards, 2, 20_000, np.random.default_rng(0))
    >>> theta = fit_reward_model(*pairs, model.vocabulary_size)
    >>> bool(abs(theta.sum()) < 1e-9)
    True
    >>> great, plot = model.encode("great plot")
    >>> bool(abs(theta[great] - theta[plot] - 2.0) < 0.3)
    True
    """
    steps = whole_number(steps, "steps")
    if not float(ridge) > 0:
        raise ValueError(f"ridge must be positive (a small penalty such as 1e-4), got {ridge}")
    theta = np.zeros(whole_number(vocabulary_size, "vocabulary_size"))
    pairs = _count_differences(chosen, rejected, len(theta))
    for _ in range(steps):
        _, gradient, hessian = _bradley_terry_fit_terms(theta, pairs, float(ridge))
        step = np.linalg.solve(hessian, gradient)
        theta = theta - step
        if np.abs(step).max() < 1e-13:  # converged: Newton's steps square the error
            break
    return theta


# -- 3. exact targets and distances over sequences -------------------------------------------------


def reference_policy(model, length) -> np.ndarray:
    r"""pi_ref as a tabular policy: the bigram transitions, repeated at every position.

    Parameters
    ----------
    model : BigramModel
        The reference model.
    length : int
        The number of tokens ``T``.

    Returns
    -------
    numpy.ndarray, shape (T, V + 1, V)
        ``policy[t, c, w] = p(w | c)`` for every ``t``; sums to 1 along the last axis.

    Examples
    --------
    >>> import rwlib as rw
    >>> from rwlib.rlhf import reference_policy
    >>> reference_policy(rw.course_model(), 3).shape
    (3, 47, 46)
    """
    model, length = _model(model), whole_number(length, "length")
    return np.repeat(np.exp(model.log_transitions)[None], length, axis=0)


def pi_star_policy(model, token_rewards, length, beta) -> np.ndarray:
    r"""pi* over sequences as a tabular policy, exactly, from the soft values.

    Parameters
    ----------
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        Finite reward of each word; a sequence's reward is the sum over its tokens.
    length : int
        The number of tokens ``T``.
    beta : float
        Positive temperature.

    Returns
    -------
    numpy.ndarray, shape (T, V + 1, V)
        ``policy[t, c, w] = pi*(w_{t+1} = w | t tokens written, context c)``; sums
        to 1 along the last axis.

    Notes
    -----
    With the soft values :math:`V_t(c)` of :func:`rwlib.sequences.soft_values`:

    .. math:: \pi^*(w \mid t, c) = p(w \mid c)\, e^{r(w)/\beta + V_{t+1}(w) - V_t(c)}

    The product of these over a sequence is
    :math:`\pi_\mathrm{ref}(y)\, e^{r(y)/\beta} / Z`.

    See Also
    --------
    rwlib.sample_pi_star : draws sequences from this policy.

    Examples
    --------
    >>> import rwlib as rw
    >>> from rwlib.rlhf import pi_star_policy
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> policy = pi_star_policy(model, rewards, 3, beta=1.0)
    >>> policy.shape, bool(abs(policy.sum(axis=-1) - 1).max() < 1e-12)
    ((3, 47, 46), True)
    """
    values = soft_values(_model(model), token_rewards, length, beta)
    scaled, length = _checked(model, token_rewards, length, beta)
    return np.stack(
        [
            softmax_and_logsumexp(_next_token_logits(model, scaled, values[t + 1]))[0]
            for t in range(length)
        ]
    )


def context_marginals(policy) -> np.ndarray:
    r"""The distribution of the context before each token, under a tabular policy.

    Parameters
    ----------
    policy : array_like, shape (T, V + 1, V)
        A tabular policy.

    Returns
    -------
    numpy.ndarray, shape (T, V + 1)
        ``marginals[t, c]``: the probability that the context is ``c`` when ``t``
        tokens have been written. Row 0 is the start (all mass on ``c = 0``);
        every row sums to 1.

    Notes
    -----
    .. math:: d_0 = \delta_{\langle s \rangle}, \qquad
              d_{t+1}(w + 1) = \sum_c d_t(c)\, \pi(w \mid t, c)

    Examples
    --------
    >>> import rwlib as rw
    >>> from rwlib.rlhf import context_marginals, reference_policy
    >>> marginals = context_marginals(reference_policy(rw.course_model(), 2))
    >>> marginals.shape, float(marginals[0, 0]), round(float(marginals[1].sum()), 12)
    ((2, 47), 1.0, 1.0)
    """
    policy = _tabular(policy, "policy")
    marginals = np.zeros(policy.shape[:2])
    marginals[0, 0] = 1.0
    for t in range(1, len(policy)):
        marginals[t, 1:] = marginals[t - 1] @ policy[t - 1]
    return marginals


def sequence_kl(policy, other) -> float:
    r"""``KL(policy || other)`` over whole sequences, for two tabular policies, exactly.

    Parameters
    ----------
    policy, other : array_like, shape (T, V + 1, V)
        Tabular policies over the same sequences.

    Returns
    -------
    float
        :math:`\mathrm{KL}(\pi \,\|\, \pi') \ge 0` over the ``V^T`` sequences,
        computed without listing them; ``inf`` if ``policy`` reaches a token
        that ``other`` never writes.

    Notes
    -----
    The chain rule of the KL: the divergence of the whole sequence is the sum
    over positions of the next-token divergences, averaged over the contexts
    that ``policy`` reaches,

    .. math:: \mathrm{KL}(\pi \,\|\, \pi') = \sum_{t=0}^{T-1} \sum_c d_t(c)\,
              \mathrm{KL}\big(\pi(\cdot \mid t, c) \,\|\, \pi'(\cdot \mid t, c)\big).

    ``O(T V^2)`` operations, like the soft values.

    See Also
    --------
    context_marginals : the :math:`d_t` of ``policy``.
    rwlib.kl_divergence : the same for one distribution.

    Examples
    --------
    The KL from pi* to pi_ref, here against enumeration of all 2-word sentences:

    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import pi_star_policy, reference_policy, sequence_kl
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> star, ref = pi_star_policy(model, rewards, 2, 1.0), reference_policy(model, 2)
    >>> ids, log_ref = model.enumerate(2)
    >>> pi = rw.reward_weighted(log_ref, rw.sequence_reward(ids, rewards), 1.0, log_ref=True)
    >>> bool(np.isclose(sequence_kl(star, ref), rw.kl_divergence(pi, np.exp(log_ref))))
    True
    """
    policy, other = _tabular(policy, "policy"), _tabular(other, "other")
    if policy.shape != other.shape:
        raise ValueError(
            f"policy and other must have the same shape, got {policy.shape} and {other.shape}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(policy > 0, policy * (np.log(policy) - np.log(other)), 0.0)
    return max(float(np.sum(context_marginals(policy) * terms.sum(axis=-1))), 0.0)


def sequence_expected_reward(policy, token_rewards) -> float:
    r"""``E[r]`` of an additive reward under a tabular policy, exactly.

    Parameters
    ----------
    policy : array_like, shape (T, V + 1, V)
        A tabular policy.
    token_rewards : array_like, shape (V,)
        Finite reward of each word.

    Returns
    -------
    float
        :math:`\mathbb{E}_\pi[r] = \sum_t \sum_c d_t(c) \sum_w \pi(w \mid t, c)\, r(w)`.

    Examples
    --------
    >>> import rwlib as rw
    >>> from rwlib.rlhf import reference_policy, sequence_expected_reward
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> round(sequence_expected_reward(reference_policy(model, 2), rewards), 6)
    -0.003127
    """
    policy = _tabular(policy, "policy")
    rewards = real_array(token_rewards, "token_rewards").astype(np.float64, copy=False)
    require_finite(rewards, "token_rewards")
    if rewards.shape != policy.shape[-1:]:
        raise ValueError(
            f"token_rewards must have shape ({policy.shape[-1]},), got {rewards.shape}"
        )
    return float(np.sum(context_marginals(policy) * (policy @ rewards)))


# -- 4. policy optimisation ------------------------------------------------------------------------


def policy_gradient(logits, log_ref, rewards, beta) -> np.ndarray:
    r"""The exact gradient of ``J = E[r] - beta KL(pi || ref)`` for a softmax policy.

    Parameters
    ----------
    logits : array_like, shape (..., n)
        The policy's logits, :math:`\pi_\theta = \mathrm{softmax}(\theta)`.
    log_ref : array_like, shape (..., n)
        ``log pi_ref`` of the same outputs.
    rewards : array_like, shape (..., n)
        Finite rewards, one per output.
    beta : float
        Positive temperature.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        :math:`\nabla_\theta J`; sums to 0 along the last axis, and is 0 exactly
        at :math:`\theta = \log \pi^* + c`.

    Notes
    -----
    With the shaped reward :math:`g(y) = r(y) - \beta \log(\pi_\theta(y) / \pi_\mathrm{ref}(y))`:

    .. math:: \frac{\partial J}{\partial \theta_y} = \pi_\theta(y)\,
              \big(g(y) - \mathbb{E}_{\pi_\theta}[g]\big)

    (the derivative of :math:`\log \pi_\theta` inside the KL averages to 0).

    See Also
    --------
    policy_gradient_ascent : steps along this gradient.
    reinforce_gradient : an estimate of it from samples, for sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from rwlib.rlhf import policy_gradient
    >>> ref, rewards = np.log([0.6, 0.4]), np.array([2.0, 1.0])
    >>> policy_gradient(ref, ref, rewards, beta=1.0)  # at pi_ref: pi (r - E r)
    array([ 0.24, -0.24])
    """
    logits = real_array(logits, "logits").astype(np.float64, copy=False)
    log_ref = real_array(log_ref, "log_ref").astype(np.float64, copy=False)
    rewards = real_array(rewards, "rewards").astype(np.float64, copy=False)
    require_finite(logits, "logits")
    require_log_probabilities(log_ref, "log_ref")
    require_finite(rewards, "rewards")
    return _policy_gradient(logits, log_ref, rewards, scalar_beta(beta))


def _policy_gradient(logits, log_ref, rewards, beta: float) -> np.ndarray:
    """The gradient of :func:`policy_gradient`, on checked float64 inputs."""
    policy, log_norm = softmax_and_logsumexp(logits)
    shaped = rewards - beta * (logits - log_norm[..., None] - log_ref)
    return policy * (shaped - np.sum(policy * shaped, axis=-1, keepdims=True))


def policy_gradient_ascent(log_ref, rewards, beta, step_size, steps, *, natural=False):
    r"""Gradient ascent on ``J`` for a softmax policy, from pi_ref: the log-policy after each step.

    Parameters
    ----------
    log_ref : array_like, shape (n,)
        ``log pi_ref``; the start, :math:`\theta_0 = \log \pi_\mathrm{ref}`.
    rewards : array_like, shape (n,)
        Finite rewards (e.g. a learned reward model's).
    beta : float
        Positive temperature.
    step_size : float
        Positive step :math:`\eta`.
    steps : int
        The number of steps ``K``.
    natural : bool, default False
        Step along the natural gradient (the gradient divided by
        :math:`\pi_\theta(y)`, output by output) instead of the plain one.

    Returns
    -------
    numpy.ndarray, shape (K + 1, n)
        ``log pi_theta`` after 0, 1, ..., K steps; each row's exponentials sum to 1.

    Notes
    -----
    .. math:: \theta_{k+1} = \theta_k + \eta\, \nabla_\theta J(\theta_k)

    The plain gradient carries a factor :math:`\pi_\theta(y)`: an output the
    policy rarely writes moves slowly, however good it is. The natural gradient
    (the plain one preconditioned by the Fisher information of the softmax)
    drops that factor, :math:`\theta_{k+1} = \theta_k + \eta\,(g_k - \mathbb{E}_{\pi_k}[g_k])`.
    Then :math:`\theta_k - \log \pi^*` shrinks by the factor :math:`1 - \eta\beta`
    at every step (up to a constant), so for :math:`0 < \eta\beta < 2` it
    converges linearly, and :math:`\eta\beta = 1` reaches pi* in one step.

    See Also
    --------
    policy_gradient : the gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import policy_gradient_ascent
    >>> ref, rewards = np.array([0.6, 0.4]), np.array([2.0, 1.0])
    >>> path = policy_gradient_ascent(np.log(ref), rewards, 1.0, step_size=2.0, steps=200)
    >>> np.round(np.exp(path[-1]), 6), np.round(rw.reward_weighted(ref, rewards, 1.0), 6)
    (array([0.80305, 0.19695]), array([0.80305, 0.19695]))

    The natural gradient at ``step_size * beta = 1`` gets there in one step:

    >>> path = policy_gradient_ascent(np.log(ref), rewards, 1.0, 1.0, 1, natural=True)
    >>> np.round(np.exp(path[-1]), 6)
    array([0.80305, 0.19695])
    """
    step_size = scalar_beta(step_size)
    steps = whole_number(steps, "steps")
    policy_gradient(log_ref, log_ref, rewards, beta)  # checks the inputs once
    log_ref = real_array(log_ref, "log_ref").astype(np.float64, copy=False)
    rewards = real_array(rewards, "rewards").astype(np.float64, copy=False)
    beta, theta = scalar_beta(beta), log_ref.copy()
    path = np.empty((steps + 1,) + theta.shape)
    path[0] = theta
    for k in range(steps):
        gradient = _policy_gradient(theta, log_ref, rewards, beta)
        if natural:
            gradient = gradient / np.exp(path[k])
        theta = theta + step_size * gradient
        path[k + 1] = theta - softmax_and_logsumexp(theta)[1][..., None]
    return path


def tabular_policy_gradient(logits, model, token_rewards, beta):
    r"""The exact gradient of ``J`` for a tabular policy over sequences, and ``J`` itself.

    Parameters
    ----------
    logits : array_like, shape (T, V + 1, V)
        The policy's logits: :math:`\pi_\theta(\cdot \mid t, c) = \mathrm{softmax}(\theta_{t, c})`.
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        The reward of each word.
    beta : float
        Positive temperature.

    Returns
    -------
    gradient : numpy.ndarray, shape (T, V + 1, V)
        :math:`\nabla_\theta J`, exactly; 0 at pi* (:func:`pi_star_policy`).
    objective : float
        :math:`J(\pi_\theta) = \mathbb{E}[r] - \beta\,\mathrm{KL}(\pi_\theta \| \pi_\mathrm{ref})`.

    Notes
    -----
    A backward recursion, like the soft values but under :math:`\pi_\theta`, with the
    shaped reward :math:`s(t, c, w) = r(w) - \beta \log(\pi_\theta(w \mid t, c) / p(w \mid c))`:

    .. math::

        Q_t(c, w) = s(t, c, w) + U_{t+1}(w), \qquad
        U_t(c) = \sum_w \pi_\theta(w \mid t, c)\, Q_t(c, w), \qquad U_T = 0,

    and :math:`J = U_0(\langle s \rangle)`. Then, with :math:`d_t` of :func:`context_marginals`,

    .. math:: \frac{\partial J}{\partial \theta_{t, c, w}}
              = d_t(c)\, \pi_\theta(w \mid t, c)\, \big(Q_t(c, w) - U_t(c)\big).

    This is the mean of :func:`reinforce_gradient`.

    Examples
    --------
    At pi* the gradient vanishes and ``J = beta log Z``:

    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import pi_star_policy, tabular_policy_gradient
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> star = pi_star_policy(model, rewards, 3, beta=1.0)
    >>> gradient, objective = tabular_policy_gradient(np.log(star), model, rewards, 1.0)
    >>> log_z = rw.log_z_by_recursion(model, rewards, 3, beta=1.0)
    >>> bool(abs(gradient).max() < 1e-12), round(objective, 6), round(log_z, 6)
    (True, 0.538156, 0.538156)
    """
    model = _model(model)
    logits = real_array(logits, "logits").astype(np.float64, copy=False)
    require_finite(logits, "logits")
    rewards, length = _checked(model, token_rewards, logits.shape[0], 1.0)
    if logits.shape != (length, model.vocabulary_size + 1, model.vocabulary_size):
        raise ValueError(f"logits must have shape (T, V + 1, V), got {logits.shape}")
    beta = scalar_beta(beta)
    policy, log_norm = softmax_and_logsumexp(logits)
    log_policy = logits - log_norm[..., None]
    gradient, later = np.empty_like(logits), np.zeros(model.vocabulary_size + 1)
    for t in range(length - 1, -1, -1):
        q = rewards - beta * (log_policy[t] - model.log_transitions) + later[1:]
        later = np.sum(policy[t] * q, axis=-1)
        gradient[t] = policy[t] * (q - later[:, None])
    return context_marginals(policy)[..., None] * gradient, float(later[0])


def sample_sequences(policy, rng, size) -> np.ndarray:
    r"""Draw sequences from a tabular policy, one token at a time.

    Parameters
    ----------
    policy : array_like, shape (T, V + 1, V)
        A tabular policy.
    rng : numpy.random.Generator
        The source of randomness.
    size : int
        The number of sequences.

    Returns
    -------
    numpy.ndarray of int, shape (size, T)

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import reference_policy, sample_sequences
    >>> model = rw.course_model()
    >>> ids = sample_sequences(reference_policy(model, 5), np.random.default_rng(3), 2)
    >>> model.decode(ids) == model.decode(model.sample(np.random.default_rng(3), 5, 2))
    True
    """
    policy, rng = _tabular(policy, "policy"), random_generator(rng)
    size = whole_number(size, "size")
    cumulative = np.cumsum(policy, axis=-1)
    ids = np.empty((size, len(policy)), dtype=np.intp)
    context = np.zeros(size, dtype=np.intp)
    for t in range(len(policy)):
        ids[:, t] = _draw(cumulative[t, context], rng)
        context = ids[:, t] + 1
    return ids


def reinforce_gradient(logits, model, token_rewards, beta, rng, size):
    r"""REINFORCE with a baseline and the per-token shaped reward, for a tabular policy.

    Parameters
    ----------
    logits : array_like, shape (T, V + 1, V)
        The policy's logits: :math:`\pi_\theta(\cdot \mid t, c) = \mathrm{softmax}(\theta_{t, c})`.
    model : BigramModel
        The reference model pi_ref.
    token_rewards : array_like, shape (V,)
        The reward of each word (e.g. the learned reward model's).
    beta : float
        Positive temperature.
    rng : numpy.random.Generator
        The source of randomness.
    size : int
        The number of sequences sampled from :math:`\pi_\theta`, at least 2.

    Returns
    -------
    gradient : numpy.ndarray, shape (T, V + 1, V)
        An unbiased estimate of :math:`\nabla_\theta J`.
    objective : float
        The batch mean of the shaped return, an unbiased estimate of
        :math:`J(\pi_\theta) = \mathbb{E}[r] - \beta\,\mathrm{KL}(\pi_\theta \| \pi_\mathrm{ref})`.

    Notes
    -----
    Each token earns the shaped reward of notebook 05,
    :math:`s_t = r(w_t) - \beta \log \frac{\pi_\theta(w_t \mid t, c_t)}{p(w_t \mid c_t)}`,
    whose sum over a sequence has mean :math:`J`. A token's choice affects only
    the rewards from its own position on (the return-to-go :math:`G_t = \sum_{u \ge t} s_u`),
    and the batch mean :math:`b_t` of :math:`G_t` over the *other* sequences is a
    baseline that adds no bias:

    .. math:: \widehat{\nabla J} = \frac{1}{N} \sum_{i=1}^{N} \sum_{t}
              \nabla_\theta \log \pi_\theta(w^i_t \mid t, c^i_t)\, \big(G^i_t - b^i_t\big),
              \qquad
              \nabla_{\theta_{t, c}} \log \pi_\theta(w \mid t, c)
              = e_w - \pi_\theta(\cdot \mid t, c).

    See Also
    --------
    tabular_policy_gradient : the exact gradient this estimates.
    policy_gradient : the exact gradient, for a softmax over a small output set.

    Examples
    --------
    >>> import numpy as np
    >>> import rwlib as rw
    >>> from rwlib.rlhf import reference_policy, reinforce_gradient
    >>> model = rw.course_model()
    >>> rewards = rw.token_rewards(model, rw.sentiment_lexicon())
    >>> logits = np.log(reference_policy(model, 2))
    >>> rng = np.random.default_rng(0)
    >>> gradient, objective = reinforce_gradient(logits, model, rewards, 1.0, rng, 500)
    >>> gradient.shape, bool(abs(gradient.sum(axis=-1)).max() < 1e-12)
    ((2, 47, 46), True)
    """
    model, rng = _model(model), random_generator(rng)
    logits = real_array(logits, "logits").astype(np.float64, copy=False)
    require_finite(logits, "logits")
    scaled, length = _checked(model, token_rewards, logits.shape[0], 1.0)
    if logits.shape != (length, model.vocabulary_size + 1, model.vocabulary_size):
        raise ValueError(f"logits must have shape (T, V + 1, V), got {logits.shape}")
    size = whole_number(size, "size", minimum=2)
    policy, log_norm = softmax_and_logsumexp(logits)
    ids = sample_sequences(policy, rng, size)
    contexts = np.concatenate([np.zeros((size, 1), np.intp), ids[:, :-1] + 1], axis=1)
    steps = np.arange(length)
    log_pi = logits[steps, contexts, ids] - log_norm[steps, contexts]
    shaped = scaled[ids] - scalar_beta(beta) * (log_pi - model.log_transitions[contexts, ids])
    to_go = np.cumsum(shaped[:, ::-1], axis=1)[:, ::-1]
    advantage = to_go - (to_go.sum(axis=0) - to_go) / (size - 1)  # leave-one-out baseline
    gradient = np.zeros_like(logits)
    np.add.at(gradient, (steps, contexts, ids), advantage)
    visits = np.zeros(logits.shape[:2])
    np.add.at(visits, (steps, contexts), advantage)
    gradient -= visits[..., None] * policy
    return gradient / size, float(to_go[:, 0].mean())
