"""Op catalogue: order-based ops: ``sort``, ``argsort``, ``topk``, ``gather`` and ``cumsum``.

Sorted values are the input gathered at the sorting indices, through the recorded indexing op,
so their gradient scatters back to where each value came from (to any order). ``cumsum`` is its
own op: its derivative is the reversed cumulative sum.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.tensor import Tensor, as_tensor_operand, int64, normalize_axes



class _ValuesIndices(namedtuple("_ValuesIndices", ["values", "indices"])):
    """A (values, indices) pair that prints as PyTorch's ``torch.return_types`` tuples."""
    __slots__ = ()
    op = ""

    def __repr__(self) -> str:
        return (f"tinygrad_lr.return_types.{self.op}(\nvalues={self.values!r},\n"
                f"indices={self.indices!r})")


class SortResult(_ValuesIndices):
    """The result of ``sort``: (values, indices)."""
    __slots__ = ()
    op = "sort"


class TopKResult(_ValuesIndices):
    """The result of ``topk``: (values, indices)."""
    __slots__ = ()
    op = "topk"


def _axis(name: str, x: Tensor, dim: int) -> int:
    (axis,) = normalize_axes(name, x.shape, dim, None) or (0,)
    return axis


def _take_along(x: Tensor, indices: np.ndarray, axis: int) -> Tensor:
    """x gathered at ``indices`` along ``axis`` (the other dimensions index themselves)."""
    grid = []
    for i in range(indices.ndim):
        if i == axis:
            grid.append(indices)
        else:
            shape = [1] * indices.ndim
            shape[i] = indices.shape[i]
            grid.append(np.arange(indices.shape[i]).reshape(shape))
    return x[tuple(grid)]


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sorting indices; descending keeps equal values in their original order too."""
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")
    key = ~data if data.dtype.kind == "b" else -data.astype(np.float64) \
        if data.dtype.kind in "iu" else -data
    return np.argsort(key, axis=axis, kind="stable")


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
         ) -> SortResult:
    """(values, indices) sorted along ``dim``; equal values keep their order."""
    x = as_tensor_operand(input)
    if x._data.ndim == 0:
        return SortResult(x, Tensor._make(np.array(0)))
    axis = _axis("sort", x, dim)
    order = _order(x._data, axis, descending)
    return SortResult(_take_along(x, order, axis), Tensor._make(order.astype(int64)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False
            ) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
         ) -> TopKResult:
    """The ``k`` largest (or smallest) values along ``dim`` and their indices."""
    x = as_tensor_operand(input)
    axis = _axis("topk", x, dim)
    size = x.shape[axis] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size {size}")
    if x._data.ndim == 0:
        return TopKResult(x, Tensor._make(np.array(0)))
    order = np.take(_order(x._data, axis, largest), np.arange(k), axis=axis)
    return TopKResult(_take_along(x, order, axis), Tensor._make(order.astype(int64)))


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """out[i][j] = input[index[i][j]][j] for dim 0 (and likewise for any ``dim``)."""
    x = as_tensor_operand(input)
    idx = np.asarray(index._data if isinstance(index, Tensor) else index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {idx.dtype}")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index of shape {idx.shape} must have as many dimensions as "
                           f"the input of shape {x.shape}")
    return _take_along(x, idx, _axis("gather", x, dim))


def _reverse_cumsum(xp: Any, g: Any, axis: int) -> Any:
    if xp.graph:
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        return cumsum(g[flip], axis)[flip]
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis)


class Cumsum(Function):
    __slots__ = ("axis",)

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, g, xp, x):
        return _reverse_cumsum(xp, g, self.axis)


def cumsum(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """Running sums along ``dim`` (bool and integer inputs sum in int64, as PyTorch)."""
    x = as_tensor_operand(input)
    if dtype is not None:
        x = x.to(np.dtype(dtype))
    elif x._data.dtype.kind in "bu" or x._data.dtype.kind == "i":
        x = x.to(int64)
    if x._data.ndim == 0:
        return x.clone()
    return Cumsum.apply(x, axis=_axis("cumsum", x, dim))


for _function in (sort, argsort, topk, cumsum, gather):
    setattr(Tensor, _function.__name__, _function)
