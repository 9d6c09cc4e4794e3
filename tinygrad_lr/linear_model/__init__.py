"""Linear models with scikit-learn's API: logistic regression trained through the autodiff engine,
and least-squares linear regression (closed form or gradient descent).

``fit`` takes NumPy arrays or Dask collections alike; ``fit_logistic_dask`` is the Dask fit with
a hook called after every pass over the data (what the command line prints as it goes)."""

from tinygrad_lr.linear_model._dask import fit_logistic as fit_logistic_dask
from tinygrad_lr.linear_model.linear import LinearRegression
from tinygrad_lr.linear_model.logistic import LogisticRegression

__all__ = ["LinearRegression", "LogisticRegression", "fit_logistic_dask"]
