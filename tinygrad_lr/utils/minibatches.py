"""Minibatch iteration over aligned NumPy arrays: a one-shot generator and a re-iterable DataLoader.

It sits below ``linear_model`` (whose minibatch solver draws its batches here) and ``data``
(which re-exports both names as ``tinygrad_lr.data.iterate_minibatches`` and
``tinygrad_lr.data.DataLoader``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tinygrad_lr.utils.validation import (
    RandomState,
    check_consistent_length,
    check_int,
    check_random_state,
)

__all__ = ["DataLoader", "iterate_minibatches"]


def _as_arrays(arrays: tuple[Any, ...]) -> tuple[tuple[np.ndarray, ...], int]:
    """The inputs as numpy arrays (no copy for arrays) and their common number of samples."""
    converted = tuple(np.asarray(array) for array in arrays)
    return converted, check_consistent_length(converted)


def _batches(
    arrays: tuple[np.ndarray, ...],
    n_samples: int,
    batch_size: int,
    rng: np.random.Generator | None,
    drop_last: bool,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned batches: views in order if `rng` is None, else copies in a random order."""
    order = None if rng is None else rng.permutation(n_samples)
    stop = n_samples - n_samples % batch_size if drop_last else n_samples
    for start in range(0, stop, batch_size):
        end = min(start + batch_size, n_samples)
        if order is None:
            yield tuple(array[start:end] for array in arrays)
        else:
            rows = order[start:end]
            yield tuple(array[rows] for array in arrays)


def iterate_minibatches(
    *arrays: Any,
    batch_size: int,
    shuffle: bool = True,
    random_state: RandomState = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield tuples of aligned batches of `batch_size` rows from each array (one pass).

    The last batch is smaller unless `drop_last`. Arguments are checked when called, not when
    iteration starts.
    """
    converted, n_samples = _as_arrays(arrays)
    batch_size = check_int(batch_size, "batch_size", 1)
    rng = check_random_state(random_state)
    return _batches(converted, n_samples, batch_size, rng if shuffle else None, drop_last)


class DataLoader:
    """Re-iterable minibatches of aligned arrays; each pass reshuffles from the loader's own rng."""

    def __init__(
        self,
        *arrays: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        random_state: RandomState = None,
        drop_last: bool = False,
    ) -> None:
        self.arrays, self.n_samples = _as_arrays(arrays)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = check_random_state(random_state)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        rng = self._rng if self.shuffle else None
        return _batches(self.arrays, self.n_samples, self.batch_size, rng, self.drop_last)

    def __len__(self) -> int:
        """Number of batches per pass."""
        if self.drop_last:
            return self.n_samples // self.batch_size
        return -(-self.n_samples // self.batch_size)
