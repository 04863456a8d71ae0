"""Input checks shared by every public function.

Each check raises an error that names the argument, says what is wrong with it,
and says what to do instead. None of them is public: the notebooks meet them
only through the messages.
"""

from __future__ import annotations

import numpy as np


def real_array(values, name: str) -> np.ndarray:
    """Return ``values`` as a floating array with at least one axis of outputs.

    Integers and booleans become float64; float16/32/64 keep their dtype so that
    tolerances can follow the precision the caller worked in.
    """
    try:
        array = np.asarray(values)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"{name} must be a rectangular array of numbers ({error}); "
            "give every row the same number of outputs"
        ) from None
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind != "f":
        raise TypeError(
            f"{name} must hold real numbers, got an array of dtype {array.dtype}; "
            "pass a list or numpy array of floats"
        )
    if array.ndim == 0:
        raise ValueError(
            f"{name} must have an axis of outputs, got the single number {array.item()!r}; "
            "pass one value per output, e.g. [0.6, 0.4]"
        )
    if array.size == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}); give at least one output on the last axis"
        )
    return array


def elementwise_array(values, name: str) -> np.ndarray:
    """Return ``values`` as a floating array of any shape, scalars included."""
    return real_array(np.atleast_1d(values), name).reshape(np.shape(values))


def broadcast_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    """The common shape of the named arrays, or a ValueError naming them all."""
    try:
        return np.broadcast_shapes(*(array.shape for array in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {array.shape}" for name, array in arrays.items())
        raise ValueError(
            f"shapes do not match: {shapes}; outputs lie on the last axis, so give "
            "one value per output there (leading axes are a batch)"
        ) from None


def _where(mask: np.ndarray) -> str:
    """Human-readable position of the first True entry of ``mask``."""
    index = np.unravel_index(np.argmax(mask), mask.shape)
    return f"index {index[0]}" if len(index) == 1 else f"index {tuple(int(i) for i in index)}"


def require_finite(array: np.ndarray, name: str, allow_minus_inf: bool = False) -> None:
    """Raise a ValueError when ``array`` holds NaN or infinities."""
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN at {_where(np.isnan(array))}; use finite values")
    bad = np.isposinf(array) if allow_minus_inf else np.isinf(array)
    if bad.any():
        allowed = " (-inf is allowed: it means probability 0)" if allow_minus_inf else ""
        raise ValueError(
            f"{name} contains {array[np.unravel_index(np.argmax(bad), bad.shape)]} "
            f"at {_where(bad)}; use finite values{allowed}"
        )


def sum_tolerance(dtype: np.dtype, n_outputs: int) -> float:
    """How far from 1 a probability vector of this dtype and length may sum.

    Rounding in a sum of ``n`` terms grows like ``sqrt(n) * eps``; 64 times that
    admits a float32 softmax over 50,257 outputs (off by about 1e-4) while the
    cap of 1e-2 always rejects a vector summing to 0.99.
    """
    eps = np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps
    return float(min(64 * np.sqrt(n_outputs) * eps, 1e-2))


def require_probabilities(array: np.ndarray, name: str) -> None:
    """Raise a ValueError unless every row on the last axis is a probability vector."""
    require_finite(array, name)
    if (array < 0).any():
        raise ValueError(
            f"{name} has a negative probability at {_where(array < 0)}; probabilities are "
            "nonnegative (use rw.softmax for logits, rw.normalize for nonnegative scores)"
        )
    totals = array.sum(axis=-1, dtype=np.float64)
    if (totals == 0).any():
        raise ValueError(
            f"{name} has a row of all zeros at {_where(np.atleast_1d(totals == 0))}; "
            "at least one output needs positive probability"
        )
    off = np.abs(totals - 1) > sum_tolerance(array.dtype, array.shape[-1])
    if off.any():
        row = np.atleast_1d(off)
        raise ValueError(
            f"{name} must sum to 1 along the last axis, but the row at {_where(row)} sums to "
            f"{np.atleast_1d(totals)[np.unravel_index(np.argmax(row), row.shape)]:.6g}; "
            "divide it by its sum first (rw.normalize)"
        )


def require_log_scores(array: np.ndarray, name: str) -> None:
    """Raise a ValueError unless every entry is finite or -inf and no row is -inf everywhere."""
    require_finite(array, name, allow_minus_inf=True)
    if np.isneginf(array).all(axis=-1).any():
        raise ValueError(f"{name} has a row that is -inf everywhere: no output has any probability")


def require_log_probabilities(array: np.ndarray, name: str) -> None:
    """Raise a ValueError unless every row is a vector of log-probabilities."""
    require_log_scores(array, name)
    with np.errstate(under="ignore"):
        require_probabilities(np.exp(array), f"exp({name})")


def positive_beta(beta) -> np.ndarray:
    """Return beta as a float64 array of positive finite values.

    A scalar, or an array whose last axis has length 1 (one beta per batch row).
    """
    try:
        array = np.asarray(beta, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"beta must be a positive number, got {beta!r}") from None
    if array.size == 0 or not (np.isfinite(array).all() and (array > 0).all()):
        raise ValueError(
            f"beta must be a positive, finite number, got {beta!r}; beta is the temperature "
            "(small beta follows the reward, large beta stays near ref); try beta=1.0"
        )
    if array.ndim > 0 and array.shape[-1] != 1:
        raise ValueError(
            f"beta has shape {array.shape}, which varies along the outputs axis; give one "
            "beta per row with a last axis of length 1, e.g. beta[:, None]"
        )
    return array


def whole_number(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError when it is not a whole number >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def random_generator(rng) -> np.random.Generator:
    """``rng`` itself, or a TypeError that says how to make one."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
            "create one with rng = np.random.default_rng(seed)"
        )
    return rng


def scalar_beta(beta) -> float:
    """A single positive finite beta as a float."""
    array = positive_beta(beta)
    if array.size != 1:
        raise ValueError(f"beta must be a single number here, got an array of shape {array.shape}")
    return float(array.item())
