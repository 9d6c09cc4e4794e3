"""Linear models with scikit-learn's API: logistic regression trained through the autodiff engine,
and least-squares linear regression (closed form or gradient descent)."""

from tinygrad_lr.linear_model.linear import LinearRegression
from tinygrad_lr.linear_model.logistic import LogisticRegression

__all__ = ["LinearRegression", "LogisticRegression"]
