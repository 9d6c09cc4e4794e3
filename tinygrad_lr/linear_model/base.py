"""Estimator plumbing shared by the linear models: scikit-learn's parameter protocol (so `clone`,
pipelines and cross-validation accept them without this package importing scikit-learn), and the
input checks that turn bad data or hyperparameters into ValueErrors naming the values."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_lr.autograd import enable_grad
from tinygrad_lr.exceptions import NotFittedError
from tinygrad_lr.metrics import accuracy_score, r2_score
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
            input_tags=InputTags(),
            classifier_tags=ClassifierTags() if self._estimator_type == "classifier" else None,
            regressor_tags=RegressorTags() if self._estimator_type == "regressor" else None,
        )


class ClassifierMixin:
    """Marks an estimator as a classifier for scikit-learn; `score` is the accuracy."""

    _estimator_type = "classifier"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Fraction of samples of X whose predicted class is y (weighted by `sample_weight`)."""
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class RegressorMixin:
    """Marks an estimator as a regressor for scikit-learn; `score` is the R² of the predictions."""

    _estimator_type = "regressor"

    def score(self, X: Any, y: Any) -> float:
        """Coefficient of determination R² of the predictions on X against y."""
        return r2_score(y, self.predict(X))


def check_features(X: Any, where: str) -> np.ndarray:
    """X as a 2-D float array with at least one sample and one feature, all finite.

    Contiguous (C or Fortran order) float32 and float64 arrays are returned as they are (no
    copy, no upcast); a strided view is copied once into contiguous memory; other numbers (and
    object arrays of numbers) are converted to float64. The caller's array is never written to.
    """
    array = np.asarray(X)
    if array.dtype not in _FLOAT_DTYPES:
        if array.dtype.kind not in "biufO":
            raise ValueError(f"{where}: X must hold numbers, got dtype {array.dtype}")
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: X must hold numbers; its objects could not be converted "
                             "to float") from None
    if array.ndim != 2:
        raise ValueError(f"{where}: X must be a 2-D array (n_samples, n_features), got shape "
                         f"{array.shape}; reshape a single feature with X.reshape(-1, 1) or a "
                         "single sample with X.reshape(1, -1)")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{where}: X must have at least one sample and one feature, got shape "
                         f"{array.shape}")
    check_finite(array, "X", where)
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)  # once, rather than inside every matrix product
    return array


def check_finite(array: np.ndarray, name: str, where: str) -> None:
    """Raise naming the first NaN or infinity of a float array and its position."""
    if np.isfinite(array.sum()):  # one pass without a temporary; a finite sum means all finite
        return
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        position = tuple(int(i) for i in bad[0])
        raise ValueError(f"{where}: {name} contains NaN or infinity ({array[position]} at index "
                         f"{position[0] if len(position) == 1 else position})")


def check_targets(y: Any, n_samples: int, where: str) -> np.ndarray:
    """y as a 1-D array with one value per row of X (lengths checked as the data module does)."""
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{where}: y must be a 1-D array (n_samples,), got shape {array.shape}")
    if array.shape[0] != n_samples:
        raise ValueError(f"{where}: X and y have different numbers of samples: X has {n_samples} "
                         f"rows, y has {array.shape[0]} values")
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


def check_fitted_features(estimator: Any, X: Any, where: str) -> np.ndarray:
    """X checked as in `fit`, for an estimator that must be fitted and was fitted on as many
    features."""
    if not hasattr(estimator, "coef_"):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet; call "
                             f"'fit' before '{where.rsplit('.', 1)[-1]}'")
    array = check_features(X, where)
    if array.shape[1] != estimator.n_features_in_:
        raise ValueError(f"{where}: X has {array.shape[1]} features, but "
                         f"{type(estimator).__name__} was fitted with {estimator.n_features_in_} "
                         "features")
    return array


def gradient_max(params: list[Tensor]) -> float:
    """Largest absolute entry of the parameters' gradients (the stopping measure, as SciPy's)."""
    return max(float(np.abs(p.grad._data).max()) for p in params)


def descend(objective: Callable[[], Tensor], optimizer: Optimizer, params: list[Tensor],
            max_iter: int, tol: float, report: Report | None = None) -> tuple[list[float], bool]:
    """Full-batch optimizer steps on `objective` until the largest absolute gradient entry is at
    most `tol` (converged) or `max_iter` steps are taken.

    Returns the objective before each step and at the end, and whether it converged.
    """
    curve: list[float] = []
    while True:
        optimizer.zero_grad()
        with enable_grad():
            loss = objective()
            loss.backward()
        gradient = gradient_max(params)
        curve.append(loss.item())
        if report is not None:
            report(len(curve) - 1, curve[-1], gradient)
        if gradient <= tol:
            return curve, True
        if len(curve) > max_iter:
            return curve, False
        optimizer.step()
