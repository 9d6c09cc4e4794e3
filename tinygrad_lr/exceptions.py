"""Exception and warning classes shared across tinygrad_lr (names follow scikit-learn's)."""


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before `fit`; both bases, as in scikit-learn."""


class DataError(ValueError):
    """Raised when a data file cannot be read into a numeric feature matrix and label vector."""


class DataValueError(DataError):
    """Raised when a feature cell of a data file is not a finite number (the message names the
    column, line and value)."""


class ConvergenceWarning(UserWarning):
    """Warned when an iterative solver stops before meeting its convergence criterion."""


class UndefinedMetricWarning(UserWarning):
    """Warned when a metric is ill-defined (e.g. precision with no predicted positives)."""
