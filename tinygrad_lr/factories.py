"""Tensor factories (``zeros``, ``randn``, ...) and the global random generator (``manual_seed``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .tensor import (DTypeLike, Tensor, _check_can_require_grad, as_array, get_default_dtype,
                     int64)

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind ``rand``, ``randn``, ``randint`` and layer initialisation."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator the random factories draw from."""
    return _generator


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._make(data)
    if requires_grad:
        _check_can_require_grad(data.dtype)
        t._requires_grad = True
    return t


def _dtype(dtype: DTypeLike) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    return _finish(np.zeros(_size(size), _dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    return _finish(np.ones(_size(size), _dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor."""
    return _finish(np.empty(_size(size), _dtype(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: DTypeLike = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it, as PyTorch)."""
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 int64 if isinstance(fill_value, int) else get_default_dtype())
    return _finish(np.full(tuple(size), fill_value, np.dtype(dtype)), requires_grad)


def zeros_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype) of ``input``."""
    return _finish(np.zeros(input.shape, dtype or input.dtype), requires_grad)


def ones_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype) of ``input``."""
    return _finish(np.ones(input.shape, dtype or input.dtype), requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: DTypeLike = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` with the shape (and dtype) of ``input``."""
    return _finish(np.full(input.shape, fill_value, dtype or input.dtype), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: DTypeLike = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); int64 for integer arguments, else the default dtype."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if integral else get_default_dtype()
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    return _finish(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike = None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _finish(_generator.random(_size(size)).astype(_dtype(dtype)), requires_grad)


def randn(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    return _finish(_generator.standard_normal(_size(size)).astype(_dtype(dtype)), requires_grad)


def randint(low: int, high: int | None = None, size: Sequence[int] = (),
            dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` also works, as PyTorch)."""
    if high is None:
        low, high = 0, low
    return _finish(_generator.integers(low, high, tuple(size)).astype(dtype or int64),
                   requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def as_tensor(data: Any, dtype: DTypeLike = None) -> Tensor:
    """Like ``tensor`` but without copying where it can: a Tensor or NumPy array of the right dtype
    is shared, not copied (the ops use it to wrap their non-Tensor operands)."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data._data.dtype):
        return data
    return Tensor._make(as_array(data, dtype, copy=False))
