"""Estimator plumbing shared by the linear models: scikit-learn's parameter protocol (so `clone`,
pipelines and cross-validation accept them without this package importing scikit-learn), and the
input checks that turn bad data or hyperparameters into ValueErrors naming the values."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_lr.autograd import enable_grad
from tinygrad_lr.exceptions import DataConversionWarning, NotFittedError, sklearn_compatible
from tinygrad_lr.linear_model import _dask, _solvers
from tinygrad_lr.metrics import accuracy_score, r2_score
from tinygrad_lr.ops.catalogue.sparse import is_sparse
from tinygrad_lr.optim import Optimizer
from tinygrad_lr.tensor import Tensor

Report = Callable[[int, float, float], None]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class BaseEstimator:
    """get_params/set_params/repr over the constructor's arguments, which subclasses store
    unmodified under the same names (validation happens in `fit`), as scikit-learn requires."""

    _estimator_type: str | None = None

    @classmethod
    def _param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted; *args cannot be cloned, so it is refused."""
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind == parameter.VAR_POSITIONAL:
                raise TypeError(f"{cls.__name__}.__init__ must not take *args: the parameters "
                                "have to be named for get_params")
            if parameter.kind != parameter.VAR_KEYWORD:
                names.append(parameter.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters by name; with `deep`, also `name__sub` entries of any
        parameter that is itself an estimator (has get_params)."""
        params: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            params[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", sub) for key, sub in value.get_params().items())
        return params

    def set_params(self, **params: Any) -> BaseEstimator:
        """Set constructor parameters by name (`name__sub` reaches into an estimator-valued
        parameter); unknown names raise ValueError listing the valid ones. Returns self."""
        valid = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, nested_key, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for estimator {type(self).__name__}; "
                                 f"valid parameters are: {valid}")
            if nested_key:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        """Class name and the parameters that differ from their defaults, as scikit-learn prints."""
        defaults = {name: parameter.default for name, parameter
                    in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{name}={value!r}" for name, value in self.get_params(deep=False).items()
                   if repr(value) != repr(defaults[name])]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn (>= 1.6) reads the estimator type from these tags; only scikit-learn calls
        this, so importing it here adds no dependency."""
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=True),
            input_tags=InputTags(sparse=True),
            classifier_tags=ClassifierTags() if self._estimator_type == "classifier" else None,
            regressor_tags=RegressorTags() if self._estimator_type == "regressor" else None,
        )


class ClassifierMixin:
    """Marks an estimator as a classifier for scikit-learn; `score` is the accuracy."""

    _estimator_type = "classifier"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Fraction of samples of X whose predicted class is y (weighted by `sample_weight`)."""
        if _dask.any_dask(X, y, sample_weight):
            return _dask.score(self, X, y, sample_weight)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class RegressorMixin:
    """Marks an estimator as a regressor for scikit-learn; `score` is the R² of the predictions."""

    _estimator_type = "regressor"

    def score(self, X: Any, y: Any) -> float:
        """Coefficient of determination R² of the predictions on X against y."""
        if _dask.any_dask(X, y):
            return _dask.score(self, X, y)
        return r2_score(y, self.predict(X))


def estimator_name(where: str) -> str:
    """The estimator's class name from a `where` such as "LogisticRegression.fit"."""
    return where.split(".", 1)[0]


def check_features(X: Any, where: str) -> Any:
    """X as a 2-D float array, or a SciPy sparse matrix, with at least one sample and one
    feature, all finite.

    Contiguous (C or Fortran order) float32 and float64 arrays are returned as they are (no
    copy, no upcast); a strided view is copied once into contiguous memory; other numbers (and
    object arrays of numbers) are converted to float64. Sparse input (recognised by its
    attributes, SciPy is never imported) stays sparse: CSR and CSC as they are, other formats
    converted to CSR, never to a dense array. The caller's data is never written to. Messages
    use scikit-learn's words ("Reshape your data", "0 feature(s)", "Complex data not
    supported"), which its checks and users' tools look for.
    """
    name = estimator_name(where)
    if X is None:
        raise ValueError(f"{where}: Expected 2D array, got None instead; X must be an array of "
                         "shape (n_samples, n_features)")
    if is_sparse(X):
        return _check_sparse_features(X, where)
    array = np.asarray(X)
    if array.dtype.kind == "c":
        raise ValueError(f"{where}: Complex data not supported (X has dtype {array.dtype})")
    if array.dtype not in _FLOAT_DTYPES:
        if array.dtype.kind not in "biufO":
            raise ValueError(f"{where}: X must hold numbers, got dtype {array.dtype}")
        try:
            array = array.astype(np.float64)
        except TypeError as error:
            raise TypeError(f"{where}: X must hold numbers; {error}") from None
        except ValueError as error:
            raise ValueError(f"{where}: X must hold numbers; {error}") from None
    if array.ndim == 0:
        raise ValueError(f"{where}: Expected 2D array, got scalar array instead: X={array!r}. "
                         "Reshape your data to shape (n_samples, n_features)")
    if array.ndim == 1:
        raise ValueError(f"{where}: Expected 2D array, got 1D array instead (shape "
                         f"{array.shape}). Reshape your data either using X.reshape(-1, 1) if "
                         "your data has a single feature or X.reshape(1, -1) if it contains a "
                         "single sample")
    if array.ndim > 2:
        raise ValueError(f"{where}: Found array with dim {array.ndim}. {name} expected <= 2 "
                         f"(X must have shape (n_samples, n_features), got {array.shape})")
    _check_not_empty(array.shape, where)
    check_finite(array, "X", where)
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)  # once, rather than inside every matrix product
    return array


def _check_not_empty(shape: tuple[int, ...], where: str) -> None:
    """Raise in scikit-learn's words when X has no sample or no feature."""
    for axis, what in ((0, "sample(s)"), (1, "feature(s)")):
        if shape[axis] == 0:
            raise ValueError(f"{where}: Found array with 0 {what} (shape={tuple(shape)}) while a "
                             f"minimum of 1 is required by {estimator_name(where)}.")


def _check_sparse_features(X: Any, where: str) -> Any:
    """A sparse X as CSR or CSC of float32 or float64 in canonical form (sorted indices, no
    duplicates), never densified: other formats are converted to CSR, integer and boolean values
    to float64, duplicates summed (copies; X itself is not changed)."""
    if len(X.shape) != 2:
        raise ValueError(f"{where}: Expected a 2D sparse matrix, got shape {X.shape}")
    if np.dtype(X.dtype).kind == "c":
        raise ValueError(f"{where}: Complex data not supported (sparse X has dtype {X.dtype})")
    if X.format not in ("csr", "csc"):
        X = X.tocsr()
    if X.dtype not in _FLOAT_DTYPES:
        if np.dtype(X.dtype).kind not in "biu":
            raise ValueError(f"{where}: sparse X must hold numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    if not X.has_canonical_format:
        # Duplicate entries (summed by products, not by norms) or unsorted indices: sum and sort
        # them in a copy, so that X.data holds each stored value once.
        X = X.copy()
        X.sum_duplicates()
    _check_not_empty(X.shape, where)
    if not np.isfinite(X.data).all():
        bad = X.data[~np.isfinite(X.data)][0]
        raise ValueError(f"{where}: Input X contains {'NaN' if np.isnan(bad) else 'infinity'} "
                         f"(a stored value {bad} of the sparse {X.format.upper()} matrix)")
    return X


def weighted_squared_norms(X: Any, weights: np.ndarray) -> float:
    """sum_i weights_i ||x_i||^2 over the rows x_i of a dense or a canonical sparse X, without a
    copy of X: a sparse X is walked in chunks of its stored values."""
    if not is_sparse(X):
        return float(weights @ np.einsum("ij,ij->i", X, X))
    chunk = 1 << 20  # stored values per step: a few MB of temporaries
    total = 0.0
    if X.format == "csc":  # stored values in column order; X.indices holds their rows
        for start in range(0, X.nnz, chunk):
            values = X.data[start:start + chunk]
            total += float((values * values) @ weights[X.indices[start:start + chunk]])
        return total
    rows_per_step = max(1, chunk * X.shape[0] // max(X.nnz, 1))
    for first in range(0, X.shape[0], rows_per_step):
        last = min(first + rows_per_step, X.shape[0])
        begin, end = X.indptr[first], X.indptr[last]
        values = X.data[begin:end]
        row_weights = np.repeat(weights[first:last], np.diff(X.indptr[first:last + 1]))
        total += float((values * values) @ row_weights)
    return total


def check_finite(array: np.ndarray, name: str, where: str) -> None:
    """Raise naming the first NaN or infinity of a float array and its position ("Input X
    contains NaN", as scikit-learn words it)."""
    if np.isfinite(array.sum()):  # one pass without a temporary; a finite sum means all finite
        return
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        position = tuple(int(i) for i in bad[0])
        value = array[position]
        kind = "NaN" if np.isnan(value) else "infinity"
        raise ValueError(f"{where}: Input {name} contains {kind} ({value} at index "
                         f"{position[0] if len(position) == 1 else position})")


def check_targets(y: Any, n_samples: int, where: str) -> np.ndarray:
    """y as a 1-D array with one value per row of X. A column vector (n_samples, 1) is flattened
    with a DataConversionWarning, as scikit-learn does."""
    if y is None:
        raise ValueError(f"{where}: {estimator_name(where)} requires y to be passed, but the "
                         "target y is None")
    if is_sparse(y):
        raise ValueError(f"{where}: y must be a dense 1-D array; a sparse y is not supported")
    array = np.asarray(y)
    if array.dtype.kind == "c":
        raise ValueError(f"{where}: Complex data not supported (y has dtype {array.dtype})")
    if array.ndim == 2 and array.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                      "the shape of y to (n_samples,), for example using ravel().",
                      sklearn_compatible(DataConversionWarning), stacklevel=3)
        array = array.ravel()
    if array.ndim != 1:
        raise ValueError(f"{where}: y should be a 1d array (n_samples,), got an array of shape "
                         f"{array.shape} instead")
    if array.shape[0] != n_samples:
        raise ValueError(f"{where}: Found input variables with inconsistent numbers of samples: "
                         f"X has {n_samples} rows, y has {array.shape[0]} values")
    if array.dtype.kind == "f":
        check_finite(array, "y", where)
    return array


def check_sample_weight(sample_weight: Any, n_samples: int, dtype: np.dtype,
                        where: str) -> np.ndarray:
    """Per-sample weights of `dtype`: ones when None, else finite, non-negative, with a positive
    total and one per sample."""
    if sample_weight is None:
        return np.ones(n_samples, dtype)
    weights = np.asarray(sample_weight)
    if weights.ndim != 1 or weights.shape[0] != n_samples:
        raise ValueError(f"{where}: sample_weight must have shape ({n_samples},) (one weight per "
                         f"sample), got shape {weights.shape}")
    if weights.dtype.kind not in "biuf":
        raise ValueError(f"{where}: sample_weight must hold numbers, got dtype {weights.dtype}")
    weights = weights.astype(dtype)
    check_finite(weights, "sample_weight", where)
    if (weights < 0).any():
        raise ValueError(f"{where}: sample_weight must be non-negative, got "
                         f"{weights[weights < 0][0]} at index {int(np.argmax(weights < 0))}")
    if not weights.sum() > 0:
        raise ValueError(f"{where}: sample_weight must have a positive total, got all zeros")
    return weights


def check_choice(value: Any, name: str, options: tuple[Any, ...]) -> None:
    """Raise unless `value` is one of `options` (compared by equality, None allowed)."""
    if not any(value is option or (isinstance(value, str) and value == option)
               for option in options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")


def check_is_fitted(estimator: Any, where: str) -> None:
    """Raise NotFittedError (also scikit-learn's, when it is imported) unless `fit` has run."""
    if not hasattr(estimator, "coef_"):
        raise sklearn_compatible(NotFittedError)(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            f"appropriate arguments before using '{where.rsplit('.', 1)[-1]}'.")


def check_fitted_features(estimator: Any, X: Any, where: str) -> Any:
    """X checked as in `fit`, for an estimator that must be fitted and was fitted on as many
    features."""
    check_is_fitted(estimator, where)
    array = check_features(X, where)
    if array.shape[1] != estimator.n_features_in_:
        raise ValueError(f"{where}: X has {array.shape[1]} features, but "
                         f"{type(estimator).__name__} is expecting {estimator.n_features_in_} "
                         "features as input")
    return array


class available_if:  # noqa: N801 (a decorator, named as scikit-learn's)
    """Make a method exist only while `check(estimator)` is true: otherwise reading it raises
    AttributeError, so `hasattr` is False and tools that probe for it (scikit-learn's checks,
    streaming code) see the truth. `reason(estimator)` explains the absence."""

    def __init__(self, check: Callable[[Any], bool], reason: Callable[[Any], str]) -> None:
        self.check, self.reason = check, reason

    def __call__(self, method: Callable[..., Any]) -> available_if:
        self.method = method
        self.__doc__ = method.__doc__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, estimator: Any, owner: type | None = None) -> Any:
        if estimator is None:
            return self.method
        if not self.check(estimator):
            raise AttributeError(f"This {type(estimator).__name__} has no attribute "
                                 f"{self.name!r}: {self.reason(estimator)}")
        return self.method.__get__(estimator, owner)


def gradient_max(params: list[Tensor]) -> float:
    """Largest absolute entry of the parameters' gradients (the stopping measure, as SciPy's)."""
    return max(float(np.abs(p.grad._data).max()) for p in params)


def descend(objective: Callable[[], Tensor], optimizer: Optimizer, params: list[Tensor],
            max_iter: int, tol: float, report: Report | None = None,
            compiled: bool = True) -> tuple[list[float], bool]:
    """Full-batch optimizer steps on `objective` until the largest absolute gradient entry is at
    most `tol` (converged) or `max_iter` steps are taken. ``compiled``: evaluate the objective and
    its gradient through a tinygrad_lr.compile capture (False: eagerly, e.g. for sparse X).

    Returns the objective before each step and at the end, and whether it converged.
    """
    def evaluate(*leaves: Tensor) -> Tensor:
        optimizer.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    # Zeroing, forward and backward captured once by tinygrad_lr.compile and replayed at every
    # step (the parameters are its arguments: their arrays are read live); the step and the
    # stopping test, which read values on the host, stay outside.
    run = _solvers.captured(evaluate) if compiled else evaluate
    curve: list[float] = []
    while True:
        with enable_grad():
            loss = run(*params)
        gradient = gradient_max(params)
        curve.append(float(loss._data))
        if report is not None:
            report(len(curve) - 1, curve[-1], gradient)
        if gradient <= tol:
            return curve, True
        if len(curve) > max_iter:
            return curve, False
        optimizer.step()
