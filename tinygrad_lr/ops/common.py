"""The array namespace ``xp`` the derivative rules run on when no graph is recorded, and the
helpers behind it."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import sum_to  # ops/logical.py imports it from here
from tinygrad_lr.kernels import elementwise as kernels
from tinygrad_lr.kernels.products import vector_matrix


def broadcast_array(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only view of ``a`` broadcast to ``shape`` (``np.broadcast_to`` minus its overhead).

    ``a`` must already have ``shape``'s trailing dimensions or 1 in their place, as reductions'
    keepdims gradients do.
    """
    a = np.asarray(a)
    if a.shape == shape:
        return a
    if not a.flags.c_contiguous:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = (0,) * lead + tuple(0 if n == 1 else s for n, s in zip(a.shape, a.strides))
    view = np.ndarray(shape, a.dtype, a, 0, strides)
    view.flags.writeable = False
    return view


def index_grad_array(grad: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter ``grad`` into zeros of ``shape`` at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=grad.dtype)
    if is_advanced_index(index):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def is_advanced_index(index: Any) -> bool:
    """True when NumPy indexing with ``index`` is advanced (integer arrays or boolean masks)."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) or (isinstance(i, np.generic) and i.dtype == bool)
               or isinstance(i, bool) for i in items)


def prod_of_others_array(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the others along ``axis`` (exact with zeros)."""
    if x.shape[axis] == 0:
        return np.ones_like(x)
    ones_shape = list(x.shape)
    ones_shape[axis] = 1
    ones = np.ones(ones_shape, dtype=x.dtype)
    before = np.cumprod(np.concatenate([ones, np.delete(x, -1, axis=axis)], axis=axis), axis=axis)
    rev = np.flip(x, axis=axis)
    after = np.cumprod(np.concatenate([ones, np.delete(rev, -1, axis=axis)], axis=axis), axis=axis)
    return before * np.flip(after, axis=axis)


class ArrayOps:
    """The namespace derivative rules use when they run on plain arrays (the fast path)."""

    graph = False
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    sigmoid = staticmethod(kernels.sigmoid)
    sign = staticmethod(np.sign)
    broadcast_to = staticmethod(broadcast_array)
    permute = staticmethod(np.transpose)
    index_grad = staticmethod(index_grad_array)
    prod_of_others = staticmethod(prod_of_others_array)
    vector_matrix = staticmethod(vector_matrix)

    @staticmethod
    def cast(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Convert to ``dtype``."""
        return a.astype(dtype)

    @staticmethod
    def zero_at(g: np.ndarray, index: Any) -> np.ndarray:
        """A copy of ``g`` with zeros at ``index``."""
        out = g.copy()
        out[index] = 0
        return out
