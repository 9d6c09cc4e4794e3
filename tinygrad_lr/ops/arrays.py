"""``xp`` on arrays: the NumPy calls the rules of :mod:`tinygrad_lr.ops.rules` make when no graph
is recorded (the first-order path). It is the kernel layer's face to the rules: plain NumPy, or the
kernels of :mod:`tinygrad_lr.kernels` where those are faster; under ``create_graph=True`` the rules
run on :class:`~tinygrad_lr.ops.rules.TensorOps` instead, the same names on Tensors."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.kernels import elementwise as kernels
from tinygrad_lr.kernels import products


def broadcast_array(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only view of ``a`` broadcast to ``shape`` (``np.broadcast_to`` minus its overhead);
    ``a`` has ``shape``'s trailing dimensions or 1 in their place, as keepdims gradients do."""
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


def is_advanced_index(index: Any) -> bool:
    """True when NumPy indexing with ``index`` is advanced (integer arrays or boolean masks)."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) or (isinstance(i, np.generic) and i.dtype == bool)
               or isinstance(i, bool) for i in items)


def index_grad_array(grad: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter ``grad`` into zeros of ``shape`` at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=grad.dtype)
    if is_advanced_index(index):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def zero_at_array(g: np.ndarray, index: Any) -> np.ndarray:
    """A copy of ``g`` with zeros at ``index``."""
    out = g.copy()
    out[index] = 0
    return out


class ArrayOps:
    """``xp`` when no graph is recorded: the rules run on plain arrays (the fast path)."""
    graph = False
    exp, log, sqrt, tanh, sign = np.exp, np.log, np.sqrt, np.tanh, np.sign
    sigmoid = staticmethod(kernels.sigmoid)
    broadcast_to = staticmethod(broadcast_array)
    permute = staticmethod(np.transpose)
    index_grad = staticmethod(index_grad_array)
    vector_matrix = staticmethod(products.vector_matrix)
    cast = staticmethod(lambda a, dtype: a.astype(dtype))
    zero_at = staticmethod(zero_at_array)
