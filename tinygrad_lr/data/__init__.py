"""Data utilities: packaged data sets, a CSV reader, generators, splitting, scaling, minibatches."""

from tinygrad_lr.data.bundled import Bunch, load_breast_cancer, load_digits
from tinygrad_lr.data.csv_reader import read_csv, read_features
from tinygrad_lr.data.generators import make_classification, make_regression
from tinygrad_lr.data.preprocessing import StandardScaler
from tinygrad_lr.data.split import train_test_split
from tinygrad_lr.exceptions import DataError, DataValueError, NotFittedError
from tinygrad_lr.utils.minibatches import DataLoader, iterate_minibatches

__all__ = [
    "Bunch",
    "DataError",
    "DataValueError",
    "DataLoader",
    "NotFittedError",
    "StandardScaler",
    "iterate_minibatches",
    "load_breast_cancer",
    "load_digits",
    "make_classification",
    "make_regression",
    "read_csv",
    "read_features",
    "train_test_split",
]
