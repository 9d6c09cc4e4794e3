"""Operand preparation, before any Tensor exists: the dtypes, the default dtype, PyTorch's type
promotion, and the forms PyTorch accepts for dimension, shape and reduction arguments.

:mod:`tinygrad_lr.tensor` builds on these to turn an operator's operands into Tensors of one dtype
(``coerce``) before it applies a rule; everything here works on NumPy arrays, dtypes and shapes.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default_dtype = float32

DTypeLike = Any


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become (float32 unless changed, as in PyTorch)."""
    return _default_dtype


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the dtype Python floats become; only float32 and float64 are allowed, as in PyTorch."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 or float64 are supported, got {dtype}")
    _default_dtype = dtype


def check_can_require_grad(dtype: np.dtype) -> None:
    """Only floating tensors can require gradients, as in PyTorch."""
    if dtype.kind != "f":
        raise RuntimeError(
            f"only tensors of floating point dtype can require gradients, got dtype {dtype}")


def array_from(data: Any, dtype: DTypeLike = None, copy: bool = True) -> np.ndarray:
    """Convert ``data`` (an array, a NumPy scalar, or nested Python numbers) to a NumPy array with
    PyTorch's dtype rules: Python floats become the default dtype, Python ints int64."""
    if isinstance(data, np.ndarray):
        if dtype is not None:
            return np.array(data, dtype=dtype, copy=copy or None)
        return data.copy() if copy else data
    if isinstance(data, np.generic):
        return np.array(data, dtype=dtype)
    arr = np.array(data, dtype=dtype)
    if dtype is None:
        if arr.dtype == float64:
            arr = arr.astype(_default_dtype, copy=False)
        elif arr.dtype.kind == "i" and arr.dtype != int64:
            arr = arr.astype(int64)
        elif arr.dtype.kind not in "fib":
            raise TypeError(f"tensor: cannot build a tensor from data of type "
                            f"{type(data).__name__} (NumPy dtype {arr.dtype})")
    return arr


# ---- PyTorch's type promotion: bool < integer < floating, Python numbers weak -------------------
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating dtypes."""
    try:
        return _CATEGORY[dtype.kind]
    except KeyError:
        raise TypeError(f"unsupported dtype {dtype}") from None


def scalar_category(value: Any) -> int | None:
    """The category of a Python or NumPy number, None for anything else."""
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (float, np.floating)):
        return 2
    return None


def category_default(category: int) -> np.dtype:
    """The dtype a number of ``category`` lifts a tensor of a lower category to."""
    return _default_dtype if category == 2 else int64


def promote(a: np.ndarray, b: np.ndarray) -> np.dtype:
    """PyTorch's result dtype for two operands: arrays with dimensions outrank 0-d ones unless of
    a lower category."""
    da, db = a.dtype, b.dtype
    ca, cb = category(da), category(db)
    if (a.ndim > 0) == (b.ndim > 0):
        if ca == cb:
            return np.promote_types(da, db)
        return da if ca > cb else db
    high, low = (da, db) if a.ndim > 0 else (db, da)
    return high if category(high) >= category(low) else low


# ---- dimension and shape arguments --------------------------------------------------------------
def normalize_axes(name: str, shape: tuple[int, ...], dim: Any,
                   axis: Any = None) -> tuple[int, ...] | None:
    """Normalize ``dim`` (or its alias ``axis``), None, an int or a sequence of ints, for a
    tensor of ``shape``: non-negative, checked, None for all dimensions."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: pass either dim or axis, not both")
        dim = axis
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    ndim = len(shape)
    limit = max(ndim, 1)
    for d in dims:
        if not -limit <= d < limit:
            raise IndexError(f"{name}: dimension {d} is out of range for a tensor of shape "
                             f"{tuple(shape)} (expected in [{-limit}, {limit - 1}])")
    out = tuple(d % limit if ndim else 0 for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: dimension {dims} repeats a dimension")
    return out if ndim else None


def normalize_dim(name: str, shape: tuple[int, ...], dim: int, extra: int = 0) -> int:
    """Normalize one dimension index of a tensor of ``shape`` (``extra`` = 1 where a new
    dimension may be inserted)."""
    limit = max(len(shape) + extra, 1)
    if not -limit <= dim < limit:
        raise IndexError(f"{name}: dimension {dim} is out of range for a tensor of shape "
                         f"{tuple(shape)} (expected in [{-limit}, {limit - 1}])")
    return dim % limit


def shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    """A shape given as separate ints or as one sequence."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    """Reject a loss reduction other than 'none', 'mean' or 'sum', naming it."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(map(repr, REDUCTIONS))})")
