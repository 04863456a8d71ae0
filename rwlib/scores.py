"""From scores to probabilities: normalize, softmax and log-sum-exp.

Taught in ``notebooks/01_scores_to_probabilities.ipynb``.
"""

from __future__ import annotations

import numpy as np

from rwlib.validate import real_array, require_finite, require_log_scores


def scalar_or_array(values: np.ndarray):
    """A 0-d result as a Python float (prints cleanly in a notebook), else the array."""
    return float(values) if values.ndim == 0 else values


def normalize(scores):
    r"""Divide nonnegative scores by their sum, turning them into probabilities.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Nonnegative, finite scores, one per output on the last axis; leading
        axes are a batch. At least one score per row must be positive.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        ``scores / scores.sum(-1)``: nonnegative, sums to 1 along the last axis.

    Raises
    ------
    ValueError
        If a score is negative, NaN or infinite, or a row is all zeros.

    Notes
    -----
    .. math:: P(y) = \frac{s(y)}{\sum_{y'} s(y')}

    Only nonnegative scores can be normalized this way; model scores (logits),
    which can be negative, go through :func:`softmax` instead.

    See Also
    --------
    softmax : probabilities from scores of any sign.

    Examples
    --------
    The scores 12, 7 and 1 give outcome B the probability 7/20:

    >>> import rwlib as rw
    >>> rw.normalize([12, 7, 1])
    array([0.6 , 0.35, 0.05])
    """
    array = real_array(scores, "scores").astype(np.float64, copy=False)
    require_finite(array, "scores")
    if (array < 0).any():
        raise ValueError(
            "scores must be nonnegative to be divided by their sum; "
            "for scores of any sign (logits) use rw.softmax"
        )
    totals = array.sum(axis=-1, keepdims=True)
    if (totals == 0).any():
        raise ValueError("scores has a row of all zeros: there is nothing to normalize")
    return array / totals


def softmax_and_logsumexp(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable softmax and log-sum-exp of checked float64 logits, in one pass.

    Shifting by the row maximum makes the largest exponent exactly 0, so
    ``exp`` never overflows and the row sum lies in [1, n].
    """
    shift = logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits - shift)
    totals = weights.sum(axis=-1, keepdims=True)
    weights /= totals
    return weights, (shift + np.log(totals))[..., 0]


def _checked_logits(logits) -> np.ndarray:
    array = real_array(logits, "logits").astype(np.float64, copy=False)
    require_log_scores(array, "logits")
    return array


def softmax(logits):
    r"""Turn model scores (logits) into probabilities, without overflow.

    Parameters
    ----------
    logits : array_like, shape (..., n)
        Real scores on the last axis; ``-inf`` means probability 0. Leading axes
        are a batch.

    Returns
    -------
    numpy.ndarray, shape (..., n)
        Nonnegative, sums to 1 along the last axis. Unchanged when a constant is
        added to every logit of a row.

    Raises
    ------
    ValueError
        If a logit is NaN or ``+inf``, or a whole row is ``-inf``.

    Notes
    -----
    .. math:: \mathrm{softmax}(z)_i = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}},
              \qquad m = \max_j z_j

    See Also
    --------
    logsumexp : the log of the softmax denominator.
    normalize : for scores that are already nonnegative.

    Examples
    --------
    >>> import rwlib as rw
    >>> rw.softmax([12.0, 7.0, 1.0])
    array([9.932907e-01, 6.692740e-03, 1.658964e-05])
    >>> rw.softmax([1000.0, 1001.0])  # naive exp(1000) would overflow
    array([0.268941, 0.731059])
    """
    return softmax_and_logsumexp(_checked_logits(logits))[0]


def logsumexp(a):
    r"""Compute ``log(sum(exp(a)))`` over the last axis, without overflow.

    Parameters
    ----------
    a : array_like, shape (..., n)
        Real values on the last axis; ``-inf`` terms contribute nothing.

    Returns
    -------
    float or numpy.ndarray, shape (...)
        ``log(sum(exp(a), axis=-1))``; it lies between ``max(a)`` and
        ``max(a) + log(n)``. A float for a single row.

    Raises
    ------
    ValueError
        If a value is NaN or ``+inf``, or a whole row is ``-inf``.

    Notes
    -----
    .. math:: \log \sum_i e^{a_i} = m + \log \sum_i e^{a_i - m},
              \qquad m = \max_i a_i

    See Also
    --------
    softmax : the normalized weights ``exp(a - logsumexp(a))``.
    log_normalization_factor : log Z of the reward-weighted distribution.

    Examples
    --------
    >>> import rwlib as rw
    >>> round(rw.logsumexp([1000.0, 1000.0]), 6)  # 1000 + log 2
    1000.693147
    """
    return scalar_or_array(softmax_and_logsumexp(_checked_logits(a))[1])
