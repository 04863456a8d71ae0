r"""A bigram language model small enough to enumerate: the reference policy of a sequence.

A sequence ``y = (w_1, ..., w_T)`` of exactly ``T`` words has probability

.. math:: \pi_\mathrm{ref}(y) = \prod_{t=1}^{T} p(w_t \mid w_{t-1}), \qquad w_0 = \langle s \rangle,

so the ``V^T`` sequences of length ``T`` form a finite output set whose
probabilities sum to 1, and every earlier formula for pi* and Z applies to it.
The course model is fitted to ``rwlib/data/reviews.txt``, a few hundred short
movie reviews written for the course with a vocabulary of 46 words.

Taught in ``notebooks/07_estimating_z.ipynb``.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
from dataclasses import dataclass

import numpy as np

from rwlib.scores import scalar_or_array
from rwlib.validate import (
    random_generator,
    real_array,
    require_finite,
    require_log_probabilities,
    whole_number,
)

#: The most sequences BigramModel.enumerate lists (5 million log-probabilities: 40 MB).
MAX_ENUMERATED = 5_000_000


# -- small input checks shared with rwlib.sequences and rwlib.sampling ----------------------------


def _token_ids(ids, name: str, vocabulary_size: int | None = None) -> np.ndarray:
    """Token ids as an integer array of shape (T,) or (n, T), each in [0, vocabulary_size)."""
    try:
        array = np.asarray(ids)
    except ValueError:  # ragged nested lists
        raise ValueError(
            f"{name} must be a rectangular array: give every sequence T tokens"
        ) from None
    if array.size == 0 and array.dtype.kind == "f":  # [] arrives as float64
        array = array.astype(np.intp)
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer token ids, got dtype {array.dtype}; "
            "turn words into ids with model.encode"
        )
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must have shape (T,) for one sequence or (n, T) for n sequences, "
            f"got shape {array.shape}"
        )
    upper = "V - 1" if vocabulary_size is None else str(vocabulary_size - 1)
    outside = (array < 0) if vocabulary_size is None else (array < 0) | (array >= vocabulary_size)
    if outside.any():
        raise ValueError(
            f"{name} holds the token id {array[outside].flat[0]}, outside 0..{upper}; "
            "ids index model.vocabulary"
        )
    return array.astype(np.intp, copy=False)


def _draw(cumulative: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of cumulative probabilities (n, V), by inverting the CDF.

    With ``u`` in (0, 1] the drawn index is the first ``j`` whose cumulative sum
    reaches ``u * total``; it always has positive probability, and it never runs
    past the last column, whatever the rounding of the cumulative sums.
    """
    u = 1.0 - rng.random(len(cumulative))
    return (cumulative < (u * cumulative[:, -1])[:, None]).sum(axis=-1)


# -- the model -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class BigramModel:
    r"""A bigram language model over a fixed vocabulary, for sequences of fixed length.

    Parameters
    ----------
    vocabulary : tuple of str
        The ``V`` distinct words, each without spaces; word ``i`` has token id ``i``.
    log_transitions : array_like, shape (V + 1, V)
        ``log p(w | context)``. Row 0 is the start context ``<s>``; row ``i + 1``
        is the context "previous word = ``vocabulary[i]``". Each row's
        exponentials sum to 1; ``-inf`` means probability 0. Stored read-only.

    Notes
    -----
    .. math:: \log \pi_\mathrm{ref}(w_1, \ldots, w_T)
              = \sum_{t=1}^{T} \log p(w_t \mid w_{t-1}), \qquad w_0 = \langle s \rangle

    There is no end-of-sentence token: a sequence has exactly ``T`` tokens, and
    the ``V^T`` sequences of length ``T`` have probabilities summing to 1.

    See Also
    --------
    course_model : the model fitted to the course corpus.
    rwlib.sequences.log_z_by_recursion : Z over all sequences without enumerating them.

    Examples
    --------
    A hand-made model of two words: after ``<s>`` both are equally likely, then
    each word repeats itself with probability 0.9.

    >>> import numpy as np
    >>> from rwlib.language_model import BigramModel
    >>> model = BigramModel(("good", "bad"), np.log([[0.5, 0.5], [0.9, 0.1], [0.1, 0.9]]))
    >>> model
    BigramModel(vocabulary=('good', 'bad'))
    >>> round(model.log_prob(model.encode("good good bad")), 6)  # log(0.5 * 0.9 * 0.1)
    -3.101093
    """

    vocabulary: tuple[str, ...]
    log_transitions: np.ndarray

    def __post_init__(self):
        vocabulary = tuple(self.vocabulary)
        for word in vocabulary:
            if not isinstance(word, str) or not word or len(word.split()) != 1:
                raise ValueError(
                    f"vocabulary must hold words without spaces, got {word!r}; "
                    "split sentences into words first"
                )
        if len(set(vocabulary)) != len(vocabulary):
            repeated = next(word for word in vocabulary if vocabulary.count(word) > 1)
            raise ValueError(f"vocabulary lists the word {repeated!r} twice; list each word once")
        size = len(vocabulary)
        table = real_array(self.log_transitions, "log_transitions").astype(np.float64, copy=True)
        if table.shape != (size + 1, size):
            raise ValueError(
                f"log_transitions must have shape (V + 1, V) = ({size + 1}, {size}) for "
                f"{size} words (row 0 is the start context <s>), got {table.shape}"
            )
        require_log_probabilities(table, "log_transitions")
        table.setflags(write=False)
        object.__setattr__(self, "vocabulary", vocabulary)
        object.__setattr__(self, "log_transitions", table)

    def __repr__(self) -> str:
        words = self.vocabulary if len(self.vocabulary) <= 8 else self.vocabulary[:6] + ("...",)
        shown = ", ".join(word if word == "..." else repr(word) for word in words)
        comma = "," if len(words) == 1 else ""
        return f"BigramModel(vocabulary=({shown}{comma}))"

    @property
    def vocabulary_size(self) -> int:
        """The number of words ``V``."""
        return len(self.vocabulary)

    @classmethod
    def from_sentences(cls, sentences, smoothing: float = 0.1) -> BigramModel:
        r"""Fit a bigram model to sentences by counting, with add-k smoothing.

        Parameters
        ----------
        sentences : iterable of str
            Sentences, words separated by whitespace. The vocabulary is their
            distinct words, in alphabetical order.
        smoothing : float, default 0.1
            The pseudo-count ``k > 0`` added to every transition count.

        Returns
        -------
        BigramModel
            Every transition has positive probability; each row sums to 1.

        Raises
        ------
        ValueError
            If ``sentences`` is a single string, empty, or holds an empty
            sentence; if ``smoothing`` is not positive and finite.

        Notes
        -----
        With ``n(c, w)`` the number of times word ``w`` follows context ``c``
        (``c = <s>`` for the first word of a sentence):

        .. math:: p(w \mid c) = \frac{n(c, w) + k}{\sum_{w'} n(c, w') + k V}

        The last word of a sentence is followed by nothing: the model has no
        end token, because the course fixes the length of the sequences.

        See Also
        --------
        course_model : this constructor applied to the course corpus.

        Examples
        --------
        >>> from rwlib.language_model import BigramModel
        >>> model = BigramModel.from_sentences(["good film", "bad film"], smoothing=1.0)
        >>> model.vocabulary
        ('bad', 'film', 'good')
        >>> model.next_token_probs(model.encode("good"))  # counts 0, 1, 0 plus 1 each
        array([0.25, 0.5 , 0.25])
        """
        if isinstance(sentences, str):
            raise ValueError(
                "sentences must be a list of sentences, got a single string; "
                "split a text into sentences first, e.g. text.splitlines()"
            )
        smoothing = float(smoothing)
        if not (math.isfinite(smoothing) and smoothing > 0):
            raise ValueError(
                f"smoothing must be a positive, finite pseudo-count, got {smoothing!r}; try 0.1"
            )
        tokenized = [sentence.split() for sentence in sentences]
        if not tokenized:
            raise ValueError("sentences is empty; give at least one sentence")
        for number, words in enumerate(tokenized):
            if not words:
                raise ValueError(f"sentences[{number}] is empty; remove blank sentences")
        vocabulary = tuple(sorted({word for words in tokenized for word in words}))
        index = {word: i for i, word in enumerate(vocabulary)}
        counts = np.zeros((len(vocabulary) + 1, len(vocabulary)))
        for words in tokenized:
            ids = [index[word] for word in words]
            contexts = [0] + [i + 1 for i in ids[:-1]]
            np.add.at(counts, (contexts, ids), 1.0)
        smoothed = counts + smoothing
        log_transitions = np.log(smoothed) - np.log(smoothed.sum(axis=-1, keepdims=True))
        return cls(vocabulary, log_transitions)

    def encode(self, words) -> np.ndarray:
        """Token ids of words.

        Parameters
        ----------
        words : str or sequence of str
            A sentence (split on whitespace) or a list of words.

        Returns
        -------
        numpy.ndarray of int, shape (T,)
            ``ids[t]`` is the position of ``words[t]`` in ``vocabulary``.

        Raises
        ------
        ValueError
            If a word is not in the vocabulary.

        See Also
        --------
        decode : the inverse.

        Examples
        --------
        >>> import rwlib.language_model as lm
        >>> model = lm.course_model()
        >>> ids = model.encode("the plot was great")
        >>> ids
        array([38, 33, 42, 20])
        >>> model.decode(ids)
        'the plot was great'
        """
        words = words.split() if isinstance(words, str) else list(words)
        index = {word: i for i, word in enumerate(self.vocabulary)}
        for word in words:
            if word not in index:
                raise ValueError(
                    f"unknown word {word!r}: it is not among the {self.vocabulary_size} words "
                    "of the model; model.vocabulary lists the words it knows"
                )
        return np.array([index[word] for word in words], dtype=np.intp)

    def decode(self, ids):
        """Words of token ids, joined by spaces.

        Parameters
        ----------
        ids : array_like of int, shape (T,) or (n, T)
            Token ids, each between 0 and ``V - 1``.

        Returns
        -------
        str or list of str
            One sentence, or a list of ``n`` sentences for a 2-D input.

        Raises
        ------
        ValueError
            If an id lies outside ``0..V-1``.

        See Also
        --------
        encode : the inverse.

        Examples
        --------
        >>> import rwlib.language_model as lm
        >>> lm.course_model().decode([[23, 22, 25], [23, 27, 25]])
        ['i hated it', 'i loved it']
        """
        array = _token_ids(ids, "ids", self.vocabulary_size)
        sentences = [" ".join(self.vocabulary[i] for i in row) for row in np.atleast_2d(array)]
        return sentences[0] if array.ndim == 1 else sentences

    def next_token_probs(self, prefix_ids) -> np.ndarray:
        r"""Probabilities of the next word after a prefix.

        Parameters
        ----------
        prefix_ids : array_like of int, shape (t,) or (n, t)
            The words so far; may be empty (``t = 0``): then the start context.

        Returns
        -------
        numpy.ndarray, shape (V,) or (n, V)
            ``p(w | last word of the prefix)``; positive for a smoothed model,
            sums to 1 along the last axis.

        Notes
        -----
        .. math:: p(w_{t+1} \mid w_1, \ldots, w_t) = p(w_{t+1} \mid w_t)

        A bigram model only looks at the last word.

        See Also
        --------
        sample : draws whole sequences word by word from these probabilities.

        Examples
        --------
        >>> import rwlib.language_model as lm
        >>> model = lm.course_model()
        >>> probs = model.next_token_probs(model.encode("i would"))
        >>> [model.vocabulary[i] for i in probs.argsort()[::-1][:2]]
        ['watch', 'never']
        """
        prefix = _token_ids(prefix_ids, "prefix_ids", self.vocabulary_size)
        context = prefix[..., -1] + 1 if prefix.shape[-1] else np.zeros(prefix.shape[:-1], np.intp)
        return np.exp(self.log_transitions[context])

    def log_prob(self, sequences):
        r"""Log-probability of whole sequences under the model.

        Parameters
        ----------
        sequences : array_like of int, shape (T,) or (n, T)
            One or ``n`` sequences of ``T >= 1`` token ids.

        Returns
        -------
        float or numpy.ndarray, shape (n,)
            ``log pi_ref(y) <= 0``; a float for one sequence.

        Notes
        -----
        .. math:: \log \pi_\mathrm{ref}(w_1, \ldots, w_T)
                  = \log p(w_1 \mid \langle s \rangle) + \sum_{t=2}^{T} \log p(w_t \mid w_{t-1})

        See Also
        --------
        enumerate : every sequence of a length with its log-probability.

        Examples
        --------
        >>> import rwlib.language_model as lm
        >>> model = lm.course_model()
        >>> good, bad = model.encode("the plot was great"), model.encode("the plot was boring")
        >>> round(model.log_prob(good), 6), round(model.log_prob(bad), 6)
        (-7.132915, -7.41649)
        """
        ids = _token_ids(sequences, "sequences", self.vocabulary_size)
        if ids.shape[-1] == 0:
            raise ValueError("sequences must hold at least one token per sequence (T >= 1)")
        start = np.zeros(ids.shape[:-1] + (1,), dtype=np.intp)
        contexts = np.concatenate([start, ids[..., :-1] + 1], axis=-1)
        return scalar_or_array(self.log_transitions[contexts, ids].sum(axis=-1))

    def sample(self, rng, length: int, size: int = 1) -> np.ndarray:
        r"""Draw sequences word by word (ancestral sampling).

        Parameters
        ----------
        rng : numpy.random.Generator
            The source of randomness, e.g. ``np.random.default_rng(0)``.
        length : int
            The number of tokens ``T >= 1`` of each sequence.
        size : int, default 1
            The number of sequences.

        Returns
        -------
        numpy.ndarray of int, shape (size, length)
            Independent draws from ``pi_ref`` over sequences of ``length`` tokens.

        Notes
        -----
        .. math:: w_t \sim p(\,\cdot \mid w_{t-1}), \qquad t = 1, \ldots, T

        All ``size`` sequences advance together, one token per step.

        See Also
        --------
        rwlib.sequences.sample_pi_star : the same, from pi* instead of pi_ref.

        Examples
        --------
        >>> import numpy as np
        >>> import rwlib.language_model as lm
        >>> model = lm.course_model()
        >>> model.decode(model.sample(np.random.default_rng(3), length=5, size=2))
        ['this film was not boring', 'the film is the story']
        """
        rng = random_generator(rng)
        length = whole_number(length, "length")
        size = whole_number(size, "size")
        cumulative = np.cumsum(np.exp(self.log_transitions), axis=-1)
        ids = np.empty((size, length), dtype=np.intp)
        context = np.zeros(size, dtype=np.intp)
        for t in range(length):
            ids[:, t] = _draw(cumulative[context], rng)
            context = ids[:, t] + 1
        return ids

    def enumerate(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        r"""Every sequence of exactly ``length`` tokens, with its log-probability.

        Parameters
        ----------
        length : int
            The number of tokens ``T >= 1``.

        Returns
        -------
        ids : numpy.ndarray of int, shape (V**length, length)
            All sequences in lexicographic order of token ids (the last token
            varies fastest).
        log_probs : numpy.ndarray, shape (V**length,)
            ``log pi_ref`` of each; their exponentials sum to 1.

        Raises
        ------
        ValueError
            If ``V**length`` exceeds ``MAX_ENUMERATED`` (5,000,000).

        Notes
        -----
        The number of sequences, ``V^T``, grows exponentially with ``T``: for
        the course model (``V = 46``) ``T = 4`` gives 4.5 million sequences, and a
        real language model (``V = 50,257``, ``T = 100``) would give about
        ``10^470``. That is why Z cannot be computed by enumeration in practice.

        See Also
        --------
        rwlib.sequences.log_z_by_enumeration : log Z as a sum over this list.

        Examples
        --------
        >>> import numpy as np
        >>> import rwlib.language_model as lm
        >>> ids, log_probs = lm.course_model().enumerate(2)
        >>> ids.shape
        (2116, 2)
        >>> round(float(np.exp(log_probs).sum()), 12)
        1.0
        """
        length = whole_number(length, "length")
        size = self.vocabulary_size
        if size**length > MAX_ENUMERATED:
            raise ValueError(
                f"length={length} gives {size}**{length} = {size**length:,} sequences, more than "
                f"{MAX_ENUMERATED:,}; choose a smaller length, or use "
                "rwlib.sequences.log_z_by_recursion, which never lists the sequences"
            )
        ids = np.stack(np.unravel_index(np.arange(size**length), (size,) * length), axis=-1)
        return ids, self.log_prob(ids)


# -- the course model and its rewards --------------------------------------------------------------


@functools.cache
def course_corpus() -> tuple[str, ...]:
    """The course corpus of short movie reviews, one sentence per entry.

    Returns
    -------
    tuple of str
        360 lowercase sentences without punctuation, read from the package file
        ``rwlib/data/reviews.txt``.

    See Also
    --------
    course_model : the bigram model fitted to these sentences.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> len(lm.course_corpus()), lm.course_corpus()[0]
    (360, 'the plot was bad and the plot was too slow')
    """
    text = importlib.resources.files("rwlib").joinpath("data/reviews.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@functools.cache
def course_model() -> BigramModel:
    """The bigram model of the course corpus (add-0.1 smoothing), built once and cached.

    Returns
    -------
    BigramModel
        46 words; every transition has positive probability.

    See Also
    --------
    course_corpus : the sentences it is fitted to.
    BigramModel.from_sentences : how it is fitted.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> model = lm.course_model()
    >>> model.vocabulary_size
    46
    >>> model.vocabulary[:5]
    ('a', 'acting', 'again', 'and', 'awful')
    """
    return BigramModel.from_sentences(course_corpus(), smoothing=0.1)


def sentiment_lexicon() -> dict[str, float]:
    """Sentiment scores of the words of the course corpus.

    Returns
    -------
    dict of str to float
        Positive words score +1 or +2, negative words -1 or -2; a word that is
        not listed scores 0. A new dict on every call.

    Notes
    -----
    A per-word score ignores context: "not good" still earns the +1 of
    "good". That keeps the sequence reward additive, which is what makes exact
    Z and exact sampling cheap (:mod:`rwlib.sequences`).

    See Also
    --------
    token_rewards : this lexicon as an array over a model's vocabulary.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> lexicon = lm.sentiment_lexicon()
    >>> lexicon["great"], lexicon["dull"], lexicon.get("plot", 0.0)
    (2.0, -1.0, 0.0)
    """
    positive = {"great": 2.0, "brilliant": 2.0, "loved": 2.0, "good": 1.0, "fun": 1.0}
    positive |= {"funny": 1.0, "clever": 1.0, "beautiful": 1.0, "enjoyed": 1.0}
    negative = {"awful": -2.0, "boring": -2.0, "hated": -2.0, "bad": -1.0, "dull": -1.0}
    negative |= {"slow": -1.0, "weak": -1.0}
    return positive | negative


def token_rewards(model: BigramModel, lexicon) -> np.ndarray:
    r"""Per-token rewards over a model's vocabulary, from a word-to-score lexicon.

    Parameters
    ----------
    model : BigramModel
        The model whose vocabulary orders the result.
    lexicon : mapping of str to float
        Scores of some words; every word must be in ``model.vocabulary``.
        Words not listed score 0.

    Returns
    -------
    numpy.ndarray, shape (V,)
        ``rewards[i]`` is the score of ``model.vocabulary[i]``; finite.

    Raises
    ------
    ValueError
        If a lexicon word is not in the vocabulary, or a score is not finite.

    Notes
    -----
    The reward of a sequence is the sum over its tokens (it is additive):

    .. math:: r(w_1, \ldots, w_T) = \sum_{t=1}^{T} r(w_t)

    See Also
    --------
    sequence_reward : applies these rewards to sequences.
    sentiment_lexicon : the course lexicon.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> rewards[model.encode("the plot was great")]
    array([0., 0., 0., 2.])
    """
    if not isinstance(model, BigramModel):
        raise TypeError(f"model must be a BigramModel, got {type(model).__name__}")
    rewards = np.zeros(model.vocabulary_size)
    for word, score in dict(lexicon).items():
        if word not in model.vocabulary:
            raise ValueError(
                f"lexicon word {word!r} is not in the model's vocabulary; remove it from "
                "the lexicon (model.vocabulary lists the words)"
            )
        rewards[model.vocabulary.index(word)] = score
    require_finite(rewards, "lexicon scores")
    return rewards


def sequence_reward(ids, token_rewards):
    r"""Additive reward of sequences: the sum of their tokens' rewards.

    Parameters
    ----------
    ids : array_like of int, shape (T,) or (n, T)
        One or ``n`` sequences of token ids.
    token_rewards : array_like, shape (V,)
        Finite reward of each token, e.g. from :func:`token_rewards`.

    Returns
    -------
    float or numpy.ndarray, shape (n,)
        ``sum_t token_rewards[ids[..., t]]``; a float for one sequence.

    Notes
    -----
    .. math:: r(w_1, \ldots, w_T) = \sum_{t=1}^{T} r(w_t)

    See Also
    --------
    contains_word : a reward that is not a sum over tokens.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> model = lm.course_model()
    >>> rewards = lm.token_rewards(model, lm.sentiment_lexicon())
    >>> lm.sequence_reward(model.encode("i loved it but it was slow"), rewards)
    1.0
    """
    rewards = real_array(token_rewards, "token_rewards").astype(np.float64, copy=False)
    if rewards.ndim != 1:
        raise ValueError(f"token_rewards must have shape (V,), got {rewards.shape}")
    require_finite(rewards, "token_rewards")
    ids = _token_ids(ids, "ids", len(rewards))
    return scalar_or_array(rewards[ids].sum(axis=-1))


def contains_word(ids, word_id: int):
    r"""Reward 1 for a sequence that contains a given word, else 0 (not additive).

    Parameters
    ----------
    ids : array_like of int, shape (T,) or (n, T)
        One or ``n`` sequences of token ids.
    word_id : int
        The token id of the word, e.g. ``model.encode("great")[0]``.

    Returns
    -------
    float or numpy.ndarray, shape (n,)
        1.0 where the sequence contains ``word_id``, 0.0 elsewhere.

    Notes
    -----
    .. math:: r(w_1, \ldots, w_T) = \mathbb{1}[\exists t:\ w_t = w]

    This reward is not a sum of per-token rewards, so the token-level
    recursion of :mod:`rwlib.sequences` does not apply as is; for short
    sequences Z still follows by enumeration (``log_z_of_sequences``).

    See Also
    --------
    sequence_reward : an additive reward.
    rwlib.sequences.log_z_of_sequences : log Z for any per-sequence reward.

    Examples
    --------
    >>> import rwlib.language_model as lm
    >>> model = lm.course_model()
    >>> great = model.encode("great")[0]
    >>> lm.contains_word(model.encode("it was great"), great)
    1.0
    >>> lm.contains_word([model.encode("it was great"), model.encode("it was bad")], great)
    array([1., 0.])
    """
    word_id = whole_number(word_id, "word_id", minimum=0)
    ids = _token_ids(ids, "ids")
    return scalar_or_array((ids == word_id).any(axis=-1).astype(np.float64))
