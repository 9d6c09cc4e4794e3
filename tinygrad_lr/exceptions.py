"""Exception and warning classes shared across tinygrad_lr (names follow scikit-learn's).

Code written for scikit-learn catches ``sklearn.exceptions.NotFittedError`` and filters
``sklearn.exceptions.ConvergenceWarning``; it must catch and filter ours too, yet scikit-learn is
not a dependency and is never imported here unless the user imported it. So the package raises and
warns with `sklearn_compatible(cls)`: the class itself, or, once scikit-learn is imported (decided
at each raise, so the order of the imports does not matter), a subclass of both the class and
scikit-learn's class of the same name. ``except tinygrad_lr.exceptions.NotFittedError`` and
``except sklearn.exceptions.NotFittedError`` then both catch it.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

Category = TypeVar("Category", bound=type)


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before `fit`; both bases, as in scikit-learn."""


class DataError(ValueError):
    """Raised when a data file cannot be read into a numeric feature matrix and label vector."""


class DataValueError(DataError):
    """Raised when a feature cell of a data file is not a finite number (the message names the
    column, line and value)."""


class ConvergenceWarning(UserWarning):
    """Warned when an iterative solver stops before meeting its convergence criterion."""


class DataConversionWarning(UserWarning):
    """Warned when input data is converted to the form an estimator needs, e.g. a column-vector
    y of shape (n_samples, 1) flattened to (n_samples,)."""


class UndefinedMetricWarning(UserWarning):
    """Warned when a metric is ill-defined (e.g. precision with no predicted positives)."""


_COMBINED: dict[tuple[type, type], type] = {}


def _reduce_to_base(self: BaseException) -> tuple[Any, ...]:
    """Pickle a combined exception as the package's own class (the combined class is not a module
    attribute, so pickle could not find it by name)."""
    return (type(self).__bases__[0], self.args)


def sklearn_compatible(cls: Category) -> Category:
    """`cls`, or a subclass of `cls` and of scikit-learn's class of the same name when
    scikit-learn has been imported by the user (scikit-learn is never imported otherwise)."""
    if "sklearn" not in sys.modules:
        return cls
    try:
        import sklearn.exceptions  # already imported with sklearn: costs nothing
    except ImportError:
        return cls
    theirs = getattr(sklearn.exceptions, cls.__name__, None)
    if not isinstance(theirs, type) or issubclass(cls, theirs):
        return cls
    combined = _COMBINED.get((cls, theirs))
    if combined is None:
        combined = type(cls.__name__, (cls, theirs), {
            "__module__": cls.__module__,
            "__doc__": f"{cls.__doc__}\n\n(Also scikit-learn's {cls.__name__}.)",
            "__reduce__": _reduce_to_base,
        })
        _COMBINED[(cls, theirs)] = combined
    return combined  # type: ignore[return-value]
