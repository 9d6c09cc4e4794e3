"""Loaders for the real data sets shipped in the package (same values as scikit-learn's loaders)."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import numpy as np

from tinygrad_lr.data.csv_reader import parse_csv

_TARGET_COLUMN = "target"


class Bunch(dict):
    """A dict whose keys can also be read and written as attributes, like scikit-learn's Bunch."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.keys()))


def _data_file(name: str) -> str:
    """Text of a file in the package's `datasets` folder, read through importlib.resources."""
    return resources.files("tinygrad_lr.data").joinpath("datasets", name).read_text("utf-8")


@functools.cache
def _load_csv(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Parse a packaged CSV once; the arrays are made read-only so the cache cannot be corrupted."""
    X, y, feature_names = parse_csv(_data_file(name).splitlines(), name, _TARGET_COLUMN)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y, tuple(feature_names)


def _attribution(name: str) -> str:
    """The section of datasets/README.md about `name` (source, authors, licence, checksum)."""
    readme = _data_file("README.md")
    _, found, rest = readme.partition(f"## {name}\n")
    if not found:
        raise LookupError(f"datasets/README.md has no section for {name}")
    return rest.split("\n## ", 1)[0].strip()


def _load(
    name: str, title: str, return_X_y: bool, target_names: np.ndarray
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Fresh copies of a packaged data set, as (X, y) or as a Bunch with names and description."""
    X, y, feature_names = _load_csv(name)
    if return_X_y:
        return X.copy(), y.copy()
    descr = f"{title}\n{'=' * len(title)}\n\nFile {name} (shipped with tinygrad_lr).\n\n"
    return Bunch(
        data=X.copy(),
        target=y.copy(),
        feature_names=np.array(feature_names),
        target_names=target_names,
        DESCR=descr + _attribution(name) + "\n",
    )


def load_breast_cancer(*, return_X_y: bool = False) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Breast Cancer Wisconsin (Diagnostic): 569 x 30 features, target 0 = malignant, 1 = benign.

    Returns (X, y) if `return_X_y`, else a Bunch with data, target, feature_names,
    target_names and DESCR.
    """
    return _load(
        "breast_cancer.csv",
        "Breast Cancer Wisconsin (Diagnostic) data set",
        return_X_y,
        np.array(["malignant", "benign"]),
    )


def load_digits(*, return_X_y: bool = False) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Optical handwritten digits: 1,797 8x8 images as 64 pixel features (0-16), target 0-9.

    Returns (X, y) if `return_X_y`, else a Bunch as load_breast_cancer's plus `images` (n, 8, 8).
    """
    result = _load(
        "digits.csv",
        "Optical Recognition of Handwritten Digits data set",
        return_X_y,
        np.arange(10),
    )
    if isinstance(result, Bunch):
        result.images = result.data.reshape(-1, 8, 8)
    return result
