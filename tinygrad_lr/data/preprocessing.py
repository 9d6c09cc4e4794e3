"""Feature scaling as scikit-learn's StandardScaler does it (population variance, constant -> 1)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.exceptions import NotFittedError, sklearn_compatible


def _check_features(X: Any, where: str) -> np.ndarray:
    """X as a float64 2-D array with at least one row and column and only finite values."""
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(
            f"{where}: expected a 2-D array (n_samples, n_features), got shape {array.shape}; "
            "reshape a single feature with X.reshape(-1, 1) "
            "or a single sample with X.reshape(1, -1)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{where}: X must have at least one sample and one feature, got shape {array.shape}"
        )
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        row, column = bad[0]
        raise ValueError(
            f"{where}: X contains NaN or infinity "
            f"({array[row, column]} at row {row}, column {column})"
        )
    return array


def _is_constant(var: np.ndarray, mean: np.ndarray, n_samples: int) -> np.ndarray:
    """Features whose computed variance is within the rounding error of a constant column.

    A constant column's variance comes out as rounding noise of order (n * eps * |mean|)**2 rather
    than exactly 0; such features get scale 1 (as scikit-learn does) instead of a tiny divisor.
    """
    eps = np.finfo(np.float64).eps
    return var <= n_samples * eps * var + (n_samples * mean * eps) ** 2


class StandardScaler:
    """Standardize features as z = (x - mean_) / scale_, with statistics learned by `fit`."""

    def __init__(self, *, with_mean: bool = True, with_std: bool = True) -> None:
        self.with_mean = with_mean
        self.with_std = with_std

    def __repr__(self) -> str:
        return f"StandardScaler(with_mean={self.with_mean}, with_std={self.with_std})"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters as a dict (`deep` is accepted for scikit-learn parity)."""
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def set_params(self, **params: Any) -> StandardScaler:
        """Set constructor parameters by name; unknown names raise ValueError. Returns self."""
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"invalid parameters {unknown} for StandardScaler; "
                f"valid parameters: {sorted(valid)}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X: Any, y: Any = None) -> StandardScaler:
        """Learn per-feature mean and population variance of X (n_samples, n_features).

        `y` is ignored; it is accepted so the scaler fits into pipelines.
        """
        array = _check_features(X, "StandardScaler.fit")
        n_samples, n_features = array.shape
        self.n_features_in_ = n_features
        self.n_samples_seen_ = n_samples
        self.mean_: np.ndarray | None = None
        self.var_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None
        if not (self.with_mean or self.with_std):
            return self
        self.mean_ = array.mean(axis=0)
        if self.with_std:
            centered = array - self.mean_
            # Corrected two-pass variance: subtracting the residual sum cancels the mean's rounding.
            squares = (centered**2).sum(axis=0) - centered.sum(axis=0) ** 2 / n_samples
            self.var_ = np.maximum(squares / n_samples, 0.0)
            self.scale_ = np.where(
                _is_constant(self.var_, self.mean_, n_samples), 1.0, np.sqrt(self.var_)
            )
        return self

    def _check_fitted_input(self, X: Any, where: str) -> np.ndarray:
        """Check the scaler is fitted and X has the number of features it was fitted on, with
        scikit-learn's error class and words (as the linear models' check_is_fitted and
        check_fitted_features), so code that catches its NotFittedError catches ours."""
        if not hasattr(self, "n_features_in_"):
            raise sklearn_compatible(NotFittedError)(
                "This StandardScaler instance is not fitted yet. Call 'fit' with appropriate "
                f"arguments before using '{where.rsplit('.', 1)[-1]}'."
            )
        array = _check_features(X, where)
        if array.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{where}: X has {array.shape[1]} features, but StandardScaler is expecting "
                f"{self.n_features_in_} features as input"
            )
        return array

    def transform(self, X: Any) -> np.ndarray:
        """Return a new array (X - mean_) / scale_ (each step only if enabled)."""
        result = np.array(self._check_fitted_input(X, "StandardScaler.transform"), copy=True)
        if self.with_mean:
            result -= self.mean_
        if self.with_std:
            result /= self.scale_
        return result

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit to X, then return X standardized; `y` is ignored."""
        return self.fit(X, y).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo `transform`: return a new array X * scale_ + mean_ (each step only if enabled)."""
        result = np.array(
            self._check_fitted_input(X, "StandardScaler.inverse_transform"), copy=True
        )
        if self.with_std:
            result *= self.scale_
        if self.with_mean:
            result += self.mean_
        return result
