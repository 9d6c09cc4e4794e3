"""Ordinary least squares: closed form (least squares or the normal equations) or gradient descent
on the mean squared error through the autodiff engine."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import tinygrad_lr.nn.functional as F
from tinygrad_lr.exceptions import ConvergenceWarning, sklearn_compatible
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.linear_model import _dask
from tinygrad_lr.linear_model.base import (
    BaseEstimator,
    RegressorMixin,
    check_choice,
    check_features,
    check_finite,
    check_fitted_features,
    check_targets,
    descend,
)
from tinygrad_lr.ops.catalogue.sparse import is_sparse, sparse_matmul
from tinygrad_lr.optim import SGD
from tinygrad_lr.tensor import Tensor
from tinygrad_lr.utils.validation import check_float, check_int

_SOLVERS = ("lstsq", "normal", "gd")
# Largest Gram matrix X^T X the closed-form solvers form for a sparse X (n_features^2 values):
# 1 GiB, about 11,500 float64 features. Beyond it only gradient descent fits in memory.
_MAX_SPARSE_GRAM_BYTES = 2**30


class LinearRegression(RegressorMixin, BaseEstimator):
    """Least-squares linear regression ``y ~ X @ coef_ + intercept_``.

    X may be a dense array or a SciPy sparse matrix or array (CSR, CSC; other formats are
    converted to CSR), which is never densified.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    solver : {"lstsq", "normal", "gd"}, default="lstsq"
        ``lstsq``: ``numpy.linalg.lstsq`` (SVD based: any rank, the minimum-norm solution).
        ``normal``: the normal equations ``X^T X b = X^T y`` solved by LU factorisation, never an
        explicit inverse (X must have full column rank). Both on centred data when fitting an
        intercept; on sparse X both solve from the Gram matrix ``X^T X``, computed sparsely and
        centred algebraically (refused beyond 1 GiB of Gram, with a pointer to ``gd``).
        ``gd``: full-batch gradient descent on the mean squared error through the engine.
    lr : float or None, default=None
        Learning rate of ``gd`` (ignored by the closed forms). None: ``1 / (2 mean_i(||x_i||^2
        + 1))``, the inverse of a bound on the objective's curvature, so steps never overshoot.
    max_iter : int, default=1000
        Most steps of ``gd``; reaching it first warns ConvergenceWarning.
    tol : float, default=1e-6
        ``gd`` stops when the largest absolute gradient entry is at most ``tol``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients.
    intercept_ : float
        Intercept (0 when ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen in `fit`.
    n_iter_ : int
        Steps ``gd`` took; 1 for the closed forms (one linear solve).

    See Also
    --------
    LogisticRegression : The classifier beside it.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_lr.linear_model import LinearRegression
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 3.0]])
    >>> model = LinearRegression().fit(X, X @ [2.0, -1.0] + 0.5)
    >>> model.coef_.round(6), round(float(model.intercept_), 6)
    (array([ 2., -1.]), 0.5)
    >>> model.predict([[1.0, 1.0]]).round(6)
    array([1.5])
    """

    def __init__(self, fit_intercept: bool = True, solver: str = "lstsq", lr: float | None = None,
                 max_iter: int = 1000, tol: float = 1e-6) -> None:
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol

    def _check_hyperparameters(self) -> None:
        check_choice(self.fit_intercept, "fit_intercept", (True, False))
        check_choice(self.solver, "solver", _SOLVERS)
        if self.lr is not None:
            check_float(self.lr, "lr", low=0.0, low_open=True)
        check_int(self.max_iter, "max_iter", 1)
        check_float(self.tol, "tol", low=0.0)

    def fit(self, X: Any, y: Any) -> LinearRegression:
        """Fit coef_ and intercept_ to X (n_samples, n_features) and targets y (n_samples,)."""
        if _dask.any_dask(X, y):
            return _dask.fit_linear(self, X, y)
        self._check_hyperparameters()
        where = "LinearRegression.fit"
        X = check_features(X, where)
        y = check_targets(y, X.shape[0], where)
        if y.dtype.kind not in "biufO":
            raise ValueError(f"{where}: y must hold numbers, got dtype {y.dtype}")
        try:
            y = y.astype(X.dtype, copy=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: y must hold numbers; {error}") from None
        if y.dtype.kind == "f":
            check_finite(y, "y", where)
        if self.solver == "gd":
            coef, intercept = self._gradient_descent(X, y)
        elif is_sparse(X):
            coef, intercept = self._closed_form_sparse(X, y)
            self.n_iter_ = 1
        else:
            coef, intercept = self._closed_form(X, y)
            self.n_iter_ = 1
        self.coef_, self.intercept_ = coef, intercept
        self.n_features_in_ = X.shape[1]
        return self

    def _closed_form(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, Any]:
        """Least squares on centred X and y (the intercept then follows from the means)."""
        if self.fit_intercept:
            X_mean, y_mean = X.mean(axis=0), y.mean()
            X, y = X - X_mean, y - y_mean
        if self.solver == "lstsq":
            coef = np.linalg.lstsq(X, y, rcond=None)[0]
        else:
            coef = self._solve_normal(X.T @ X, X.T @ y, X.shape[0])
        intercept = y_mean - X_mean @ coef if self.fit_intercept else X.dtype.type(0)
        return coef, intercept

    @staticmethod
    def _solve_normal(gram: np.ndarray, moment: np.ndarray, n_samples: int) -> np.ndarray:
        """Solve the normal equations gram @ coef = moment by LU factorisation."""
        try:
            return np.linalg.solve(gram, moment)
        except np.linalg.LinAlgError:
            raise ValueError("LinearRegression.fit: X^T X is singular (the features are "
                             f"linearly dependent: rank < n_features={gram.shape[0]}, with "
                             f"n_samples={n_samples}); use solver='lstsq'") from None

    def _closed_form_sparse(self, X: Any, y: np.ndarray) -> tuple[np.ndarray, Any]:
        """The closed-form solution from the Gram matrix X^T X, computed sparsely (X itself is
        never densified, nor centred: centring would fill it). With an intercept, the centred
        Gram and moment follow from the uncentred ones: X^T X - n m m^T and X^T y - n m y_mean,
        m the column means. ``lstsq`` takes the minimum-norm solution of these normal equations
        (the same set of minimisers as least squares on X), ``normal`` an LU solve."""
        n_samples, n_features = X.shape
        gram_bytes = n_features * n_features * X.dtype.itemsize
        if gram_bytes > _MAX_SPARSE_GRAM_BYTES:
            raise ValueError(f"LinearRegression.fit: solver={self.solver!r} on sparse X forms the "
                             f"dense {n_features} x {n_features} matrix X^T X "
                             f"({gram_bytes / 2**30:.1f} GiB); solver='gd' fits sparse data of "
                             "any width without it")
        gram = np.asarray((X.T @ X).toarray())
        moment = np.asarray(X.T @ y).ravel()
        if self.fit_intercept:
            X_mean, y_mean = np.asarray(X.mean(axis=0)).ravel(), y.mean()
            gram = gram - n_samples * np.outer(X_mean, X_mean)
            moment = moment - n_samples * X_mean * y_mean
        if self.solver == "lstsq":
            coef = np.linalg.lstsq(gram, moment, rcond=None)[0]
        else:
            coef = self._solve_normal(gram, moment, n_samples)
        coef = coef.astype(X.dtype, copy=False)
        intercept = X.dtype.type(y_mean - X_mean @ coef) if self.fit_intercept \
            else X.dtype.type(0)
        return coef, intercept

    def _gradient_descent(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, Any]:
        """Full-batch gradient descent on mean((X w + b - y)^2), gradients from backward()."""
        params = [from_numpy(np.zeros(X.shape[1], X.dtype)).requires_grad_()]
        if self.fit_intercept:
            params.append(from_numpy(np.zeros((), X.dtype)).requires_grad_())
        sparse = is_sparse(X)
        inputs, targets = (X if sparse else from_numpy(X)), from_numpy(y)

        def objective() -> Tensor:
            prediction = sparse_matmul(inputs, params[0]) if sparse else inputs @ params[0]
            if self.fit_intercept:
                prediction = prediction + params[1]
            return F.mse_loss(prediction, targets)

        lr = self.lr
        if lr is None:
            squares = float(X.data @ X.data) if sparse else float(np.einsum("ij,ij->", X, X))
            lr = 1.0 / (2 * (squares / X.shape[0] + float(self.fit_intercept)))
        curve, converged = descend(objective, SGD(params, lr=lr), params, self.max_iter,
                                   self.tol, compiled=not sparse)
        if not converged:
            warnings.warn(f"LinearRegression (solver='gd') did not converge in "
                          f"max_iter={self.max_iter} steps (tol={self.tol}); increase max_iter "
                          "or lr, or standardise the features",
                          sklearn_compatible(ConvergenceWarning), stacklevel=3)
        self.n_iter_ = len(curve) - 1
        intercept = params[1]._data[()] if self.fit_intercept else X.dtype.type(0)
        return params[0]._data.copy(), intercept

    def predict(self, X: Any) -> np.ndarray:
        """X @ coef_ + intercept_ (plain NumPy)."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, "predict")
        X = check_fitted_features(self, X, "LinearRegression.predict")
        return np.asarray(X @ self.coef_) + self.intercept_
