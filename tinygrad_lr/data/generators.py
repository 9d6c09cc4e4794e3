"""Synthetic data generators in the spirit of scikit-learn's make_classification/make_regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_lr.utils.validation import RandomState, check_float, check_int, check_random_state

# Hypercube vertices are drawn as distinct integers whose bits are the coordinates; int64 holds 62.
_MAX_CODE_BITS = 62


def _apportion(total: int, proportions: np.ndarray) -> np.ndarray:
    """Split `total` into integer counts proportional to `proportions` (largest-remainder rounding).

    Each count differs from total * proportion by less than 1, and the counts sum to `total`.
    """
    exact = total * proportions / proportions.sum()
    counts = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(counts - exact, kind="stable")[:short]] += 1
    return counts


def _class_proportions(weights: Sequence[float] | None, n_classes: int) -> np.ndarray:
    """Validate `weights` (n_classes entries, or n_classes - 1 with the last implied).

    Returns class proportions that sum to 1.
    """
    if weights is None:
        return np.full(n_classes, 1.0 / n_classes)
    given = np.asarray(weights, dtype=np.float64)
    if given.ndim != 1 or given.size not in (n_classes, n_classes - 1):
        raise ValueError(
            f"weights must have n_classes ({n_classes}) or n_classes - 1 entries, "
            f"got shape {given.shape}"
        )
    if not np.all(np.isfinite(given)) or np.any(given < 0):
        raise ValueError(f"weights must be finite and non-negative, got {given.tolist()}")
    if given.size == n_classes - 1:
        if given.sum() > 1:
            raise ValueError(
                f"with n_classes - 1 weights their sum must be <= 1 (the last class gets the "
                f"rest), got sum {given.sum()} for {given.tolist()}"
            )
        given = np.append(given, 1.0 - given.sum())
    if given.sum() <= 0:
        raise ValueError(f"weights must not all be zero, got {given.tolist()}")
    return given / given.sum()


def _hypercube_vertices(n_vertices: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    """`n_vertices` distinct random vertices of the {0, 1}^dimension cube, as float rows."""
    code_bits = min(dimension, _MAX_CODE_BITS)
    codes = rng.choice(2**code_bits, size=n_vertices, replace=False)
    bits = (codes[:, None] >> np.arange(code_bits)) & 1
    extra = rng.integers(0, 2, size=(n_vertices, dimension - code_bits))
    return np.hstack([bits, extra]).astype(np.float64)


def make_classification(
    n_samples: int = 100,
    n_features: int = 20,
    *,
    n_informative: int = 2,
    n_redundant: int = 2,
    n_classes: int = 2,
    n_clusters_per_class: int = 2,
    class_sep: float = 1.0,
    flip_y: float = 0.01,
    weights: Sequence[float] | None = None,
    shuffle: bool = True,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Random classification problem: X float64 (n_samples, n_features), y int64 in [0, n_classes).

    Each class owns n_clusters_per_class Gaussian clusters (random covariance) centred on distinct
    vertices of a hypercube with side 2 * class_sep in the informative features; redundant features
    are random linear combinations of those, the rest is N(0, 1) noise. Class sizes follow `weights`
    (relative proportions; None = balanced); then each label is replaced by a random class with
    probability flip_y. With `shuffle`, samples and feature columns are permuted.
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_features = check_int(n_features, "n_features", 1)
    n_informative = check_int(n_informative, "n_informative", 1)
    n_redundant = check_int(n_redundant, "n_redundant", 0)
    n_classes = check_int(n_classes, "n_classes", 1)
    n_clusters_per_class = check_int(n_clusters_per_class, "n_clusters_per_class", 1)
    class_sep = check_float(class_sep, "class_sep", low=0.0, low_open=True)
    flip_y = check_float(flip_y, "flip_y", low=0.0, high=1.0)
    if n_informative + n_redundant > n_features:
        raise ValueError(
            f"n_informative ({n_informative}) + n_redundant ({n_redundant}) must be <= "
            f"n_features ({n_features})"
        )
    n_clusters = n_classes * n_clusters_per_class
    if n_clusters > 2**n_informative:
        raise ValueError(
            f"n_classes ({n_classes}) * n_clusters_per_class ({n_clusters_per_class}) = "
            f"{n_clusters} must be <= 2**n_informative = {2**n_informative} "
            "(the number of hypercube vertices)"
        )
    proportions = _class_proportions(weights, n_classes)
    rng = check_random_state(random_state)

    cluster_counts = np.concatenate(
        [
            _apportion(count, np.ones(n_clusters_per_class))
            for count in _apportion(n_samples, proportions)
        ]
    )
    cluster_labels = np.repeat(np.arange(n_classes), n_clusters_per_class)
    centroids = (2.0 * _hypercube_vertices(n_clusters, n_informative, rng) - 1.0) * class_sep
    informative = rng.standard_normal((n_samples, n_informative))
    y = np.repeat(cluster_labels, cluster_counts)
    start = 0
    for centroid, count in zip(centroids, cluster_counts, strict=True):
        mixing = rng.uniform(-1.0, 1.0, size=(n_informative, n_informative))
        informative[start : start + count] = informative[start : start + count] @ mixing + centroid
        start += count
    redundant = informative @ rng.uniform(-1.0, 1.0, size=(n_informative, n_redundant))
    noise = rng.standard_normal((n_samples, n_features - n_informative - n_redundant))
    X = np.hstack([informative, redundant, noise])

    flipped = rng.random(n_samples) < flip_y
    y[flipped] = rng.integers(0, n_classes, size=int(flipped.sum()))
    if shuffle:
        order = rng.permutation(n_samples)
        X, y = X[order][:, rng.permutation(n_features)], y[order]
    return X, y


def make_regression(
    n_samples: int = 100,
    n_features: int = 100,
    *,
    n_informative: int = 10,
    n_targets: int = 1,
    bias: float = 0.0,
    noise: float = 0.0,
    shuffle: bool = True,
    coef: bool = False,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random linear regression problem y = X @ coef + bias + N(0, noise**2), X ~ N(0, 1).

    Only n_informative features get non-zero coefficients (uniform in [0, 100)). Returns (X, y),
    or (X, y, coef) if `coef`; y and coef are 1-D when n_targets == 1. `shuffle` permutes samples
    and features (coef follows the features).
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_features = check_int(n_features, "n_features", 1)
    n_informative = check_int(n_informative, "n_informative", 0)
    n_targets = check_int(n_targets, "n_targets", 1)
    bias = check_float(bias, "bias")
    noise = check_float(noise, "noise", low=0.0)
    if n_informative > n_features:
        raise ValueError(f"n_informative ({n_informative}) must be <= n_features ({n_features})")
    rng = check_random_state(random_state)

    X = rng.standard_normal((n_samples, n_features))
    true_coef = np.zeros((n_features, n_targets))
    true_coef[:n_informative] = 100.0 * rng.random((n_informative, n_targets))
    y = X @ true_coef + bias
    if noise > 0:
        y += rng.normal(scale=noise, size=y.shape)
    if shuffle:
        features = rng.permutation(n_features)
        order = rng.permutation(n_samples)
        X, y, true_coef = X[order][:, features], y[order], true_coef[features]
    if n_targets == 1:
        y, true_coef = y[:, 0], true_coef[:, 0]
    return (X, y, true_coef) if coef else (X, y)
