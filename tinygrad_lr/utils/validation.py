"""Argument checks shared by the estimators and the data modules, so a bad value raises the same
ValueError wherever it is passed (scikit-learn's ``sklearn.utils.validation``).

It sits below ``linear_model`` and ``data`` in the layout, so both use it through this public
module rather than one reaching into the other.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "RandomState",
    "check_consistent_length",
    "check_float",
    "check_int",
    "check_random_state",
    "num_samples",
    "take",
    "validate_random_state",
]

RandomState = int | np.random.Generator | None


def validate_random_state(random_state: RandomState) -> None:
    """Raise ValueError unless ``random_state`` is None, a non-negative int or a Generator; no
    Generator is built (seeding one from fresh entropy costs tens of microseconds)."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}")
        return
    raise ValueError(
        f"random_state must be None, a non-negative int or a numpy Generator, got {random_state!r}"
    )


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Return a Generator for None (fresh entropy), an int seed, or a Generator (used as is)."""
    validate_random_state(random_state)
    if isinstance(random_state, numbers.Integral):
        random_state = int(random_state)
    return np.random.default_rng(random_state)


def check_int(value: Any, name: str, minimum: int) -> int:
    """Return `value` as an int after checking it is an integer (not a bool) >= `minimum`."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def num_samples(array: Any) -> int:
    """Length of the first axis of an array or sequence, rejecting scalars."""
    if isinstance(array, np.ndarray):
        if array.ndim == 0:
            raise ValueError(
                f"expected an array with at least one dimension, got a scalar {array!r}"
            )
        return array.shape[0]
    if isinstance(array, Sequence) and not isinstance(array, str):
        return len(array)
    raise ValueError(f"expected a numpy array or a sequence, got {type(array).__name__}")


def check_consistent_length(arrays: Sequence[Any]) -> int:
    """Return the common number of samples of `arrays`; raise naming the lengths if they differ."""
    if not arrays:
        raise ValueError("at least one array is required as input")
    lengths = [num_samples(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"found input variables with inconsistent numbers of samples: {lengths}")
    return lengths[0]


def take(array: Any, indices: np.ndarray) -> Any:
    """Select rows of a numpy array (fancy indexing) or elements of a sequence (as a list)."""
    if isinstance(array, np.ndarray):
        return array[indices]
    return [array[i] for i in indices]


def check_float(
    value: Any, name: str, low: float = -np.inf, high: float = np.inf, low_open: bool = False
) -> float:
    """Return `value` as a finite float in [low, high] (or (low, high] if `low_open`)."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    if not np.isfinite(number) or too_low or number > high:
        interval = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return number
