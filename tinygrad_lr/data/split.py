"""train_test_split with scikit-learn's size rules, optionally stratified by class."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from tinygrad_lr.utils.validation import (
    RandomState,
    check_consistent_length,
    check_random_state,
    num_samples,
    take,
)

_DEFAULT_TEST_SIZE = 0.25


def _size_kind(size: Any, name: str, n_samples: int) -> str | None:
    """Check test_size or train_size: 'i' for an int count, 'f' for a fraction, None if unset."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        if not 0 < size < n_samples:
            raise ValueError(
                f"{name}={size} as an int must be in [1, {n_samples - 1}] "
                f"(fewer than the number of samples, {n_samples})"
            )
        return "i"
    if isinstance(size, numbers.Real) and not isinstance(size, bool):
        if not 0 < size < 1:
            raise ValueError(f"{name}={size} as a float must be in the open interval (0, 1)")
        return "f"
    raise ValueError(f"{name} must be an int, a float or None, got {size!r}")


def _split_sizes(n_samples: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    """(n_train, n_test) by scikit-learn's rules: test = ceil(frac * n), train = floor(frac * n).

    An unset size is the complement of the other; both unset means test_size = 0.25.
    """
    if test_size is None and train_size is None:
        test_size = _DEFAULT_TEST_SIZE
    test_kind = _size_kind(test_size, "test_size", n_samples)
    train_kind = _size_kind(train_size, "train_size", n_samples)
    if test_kind == "f" and train_kind == "f" and train_size + test_size > 1:
        raise ValueError(
            f"test_size + train_size = {test_size} + {train_size} = {test_size + train_size} "
            "must not exceed 1"
        )
    n_test = math.ceil(test_size * n_samples) if test_kind == "f" else test_size
    n_train = math.floor(train_size * n_samples) if train_kind == "f" else train_size
    if n_train is None:
        n_train = n_samples - n_test
    elif n_test is None:
        n_test = n_samples - n_train
    if n_train + n_test > n_samples:
        raise ValueError(
            f"train_size={train_size} and test_size={test_size} give {n_train} train + {n_test} "
            f"test samples, more than the {n_samples} available"
        )
    if n_train == 0:
        raise ValueError(
            f"with n_samples={n_samples}, test_size={test_size} and train_size={train_size} "
            "the train set would be empty"
        )
    return int(n_train), int(n_test)


def _find_fractional_cycle(fractional: np.ndarray) -> list[tuple[int, int]] | None:
    """A cycle of cells in the row/column graph of True cells of `fractional`, or None if none.

    Every row and column with a True cell has at least two, so a walk never gets stuck.
    """
    rows = np.flatnonzero(fractional.any(axis=1))
    if rows.size == 0:
        return None
    vertex = (0, int(rows[0]))
    position = {vertex: 0}
    edges: list[tuple[int, int]] = []
    while True:
        side, index = vertex
        if side == 0:
            options = [(index, int(j)) for j in np.flatnonzero(fractional[index])]
        else:
            options = [(int(i), index) for i in np.flatnonzero(fractional[:, index])]
        edge = next(cell for cell in options if not edges or cell != edges[-1])
        edges.append(edge)
        vertex = (1, edge[1]) if side == 0 else (0, edge[0])
        if vertex in position:
            return edges[position[vertex] :]
        position[vertex] = len(edges)


def _stratified_allocation(
    class_counts: np.ndarray, sizes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Integer table (classes x parts) with the given row and column sums, each cell the floor or
    ceiling of its proportional value class_count * size / n.

    Rounds by randomized cycle cancelling on the fractional parts, which keeps each cell's
    expected value exactly proportional.
    """
    n = int(class_counts.sum())
    exact = np.outer(class_counts, sizes).astype(np.int64)
    table, remainder = exact // n, exact % n
    while (cycle := _find_fractional_cycle((remainder > 0) & (remainder < n))) is not None:
        plus, minus = tuple(np.array(cycle[0::2]).T), tuple(np.array(cycle[1::2]).T)
        up = min((n - remainder[plus]).min(), remainder[minus].min())
        down = min(remainder[plus].min(), (n - remainder[minus]).min())
        step = up if rng.random() * (up + down) < down else -down
        remainder[plus] += step
        remainder[minus] -= step
    return table + remainder // n


def _stratified_indices(
    stratify: Any, n_train: int, n_test: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices whose per-class counts are within 1 of proportional."""
    labels = np.asarray(stratify)
    if labels.ndim != 1:
        raise ValueError(f"stratify must be 1-D, got shape {labels.shape}")
    classes, inverse, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2:
        raise ValueError(
            f"stratify: class {classes.tolist()[class_counts.argmin()]!r} has only 1 member; "
            "every class needs at least 2 so it can appear in both train and test"
        )
    for name, size in (("train", n_train), ("test", n_test)):
        if size < classes.size:
            raise ValueError(
                f"stratified split: the {name} set size {size} is smaller than the number of "
                f"classes {classes.size}"
            )
    n_rest = labels.size - n_train - n_test
    allocation = _stratified_allocation(class_counts, np.array([n_train, n_test, n_rest]), rng)
    train, test = [], []
    for k, (k_train, k_test, _) in enumerate(allocation):
        members = rng.permutation(np.flatnonzero(inverse == k))
        train.append(members[:k_train])
        test.append(members[k_train : k_train + k_test])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def train_test_split(
    *arrays: Any,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    random_state: RandomState = None,
    shuffle: bool = True,
    stratify: Any = None,
) -> list[Any]:
    """Split arrays (numpy arrays or lists, same length) into [a_train, a_test, b_train, ...].

    Sizes follow scikit-learn; `stratify` (labels) keeps each class's share in train and test.
    """
    n_samples = check_consistent_length(arrays)
    n_train, n_test = _split_sizes(n_samples, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ValueError("stratify requires shuffle=True (a stratified split must shuffle)")
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    else:
        rng = check_random_state(random_state)
        if stratify is None:
            order = rng.permutation(n_samples)
            train, test = order[n_test : n_test + n_train], order[:n_test]
        else:
            if num_samples(stratify) != n_samples:
                raise ValueError(
                    f"stratify has {num_samples(stratify)} labels but the arrays have "
                    f"{n_samples} samples"
                )
            train, test = _stratified_indices(stratify, n_train, n_test, rng)
    return [part for array in arrays for part in (take(array, train), take(array, test))]
