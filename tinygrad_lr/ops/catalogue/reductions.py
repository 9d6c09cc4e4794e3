"""Op catalogue: the reductions beyond sum and mean: ``var``/``std``, ``prod``, ``amax``/``amin``,
``max``/``min`` (with indices along a dimension), ``argmax``/``argmin`` and ``logsumexp``.

Written in the lesson core's pattern (:mod:`tinygrad_lr.ops.rules`): each rule's forward beside
its derivative, in the rule vocabulary so that it differentiates again.
"""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from tinygrad_lr.ops.rules import Reduction, kept_shape
from tinygrad_lr.tensor import Tensor, as_float, as_tensor_operand, normalize_axes, where


class KeptReduction(Reduction):
    """A reduction whose forward computes with the reduced axes kept (``keepdims=True``)."""
    __slots__ = ()

    def squeeze(self, kept: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A keepdims result reshaped to the requested output shape."""
        if self.keepdim:
            return kept
        return kept.reshape(tuple(n for i, n in enumerate(shape)
                                  if self.axes is not None and i not in self.axes))


class Extremum(KeptReduction):
    """amax/amin; tied extremes share the gradient equally, as in PyTorch."""
    __slots__ = ("largest", "share")
    reads = None
    saves_output = True

    def __init__(self, axes: tuple[int, ...] | None, keepdim: bool, largest: bool) -> None:
        super().__init__(axes, keepdim)
        self.largest = largest

    def forward(self, x):
        name = "amax" if self.largest else "amin"
        if x.size == 0 and self.axes is None:
            raise RuntimeError(f"{name}: cannot reduce an empty tensor of shape {x.shape} over "
                               "all of its dimensions (there is no identity)")
        empty = [axis for axis in self.axes or () if x.shape[axis] == 0]
        if empty:
            raise IndexError(f"{name}: expected reduction dim {empty[0]} to have non-zero size "
                             f"(tensor shape {x.shape})")
        extreme = (np.max if self.largest else np.min)(x, axis=self.axes, keepdims=True)
        hits = x == extreme
        self.share = hits / hits.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        self.out = self.squeeze(extreme, x.shape)
        return self.out

    def backward(self, g, xp, x):
        return self.spread(g, xp, x.shape) * self.share


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


def prod_of_others_tensor(x: Tensor, axis: int) -> Tensor:
    """Differentiable product of the other elements along ``axis`` (O(n^2), higher orders only)."""
    n = x.shape[axis]
    moved = x.transpose(axis, -1) if axis != x.ndim - 1 else x
    grid = moved.unsqueeze(-2).broadcast_to(moved.shape[:-1] + (n, n))
    others = Tensor.prod(where(np.eye(n, dtype=bool), 1.0, grid), -1)
    return others.transpose(axis, -1) if axis != x.ndim - 1 else others


class Prod(Reduction):
    """Product over one axis (or all); exact gradient even where elements are zero."""
    __slots__ = ()
    reads = None
    saves_output = True  # as PyTorch's, whose rule reads it: changing it in place is refused

    def forward(self, x):
        self.out = np.prod(x, axis=self.axes, keepdims=self.keepdim)
        return self.out

    def backward(self, g, xp, x):
        prod_of_others = prod_of_others_tensor if xp.graph else prod_of_others_array
        if self.axes is None:
            others = prod_of_others(x.reshape(-1), 0).reshape(x.shape)
        else:
            others = prod_of_others(x, self.axes[0])
        return self.spread(g, xp, x.shape) * others


class LogSumExp(KeptReduction):
    """log Σ exp(x), shifted by the max so it neither overflows nor underflows."""
    __slots__ = ()
    reads = None
    saves_output = True

    def forward(self, x):
        # The maximum of an empty slice is -inf, so its log-sum-exp is -inf, as PyTorch's.
        m = np.max(x, axis=self.axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(m), m, 0)
        total = np.exp(x - shift).sum(axis=self.axes, keepdims=True)
        # Adding the unshifted max keeps an all -inf (or any +inf) slice at its exact -inf (+inf).
        with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf or empty slice
            self.out = self.squeeze(np.log(total) + m, x.shape)
        return self.out

    def backward(self, g, xp, x):
        out = self.result(xp)
        if not self.keepdim:
            out = out.reshape(kept_shape(x.shape, self.axes))
        return self.spread(g, xp, x.shape) * xp.exp(x - out)


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    input = as_float(input)
    axes = normalize_axes("var", input.shape, dim, axis)
    count = input._data.size if axes is None else int(np.prod([input.shape[a] for a in axes]))
    centered = input - input.mean(axes, keepdim=True)
    dof = builtins.max(count - correction, 0)
    return (centered * centered).sum(axes, _keep(keepdim, keepdims)) / dof


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    return var(input, dim, unbiased, keepdim, correction=correction, axis=axis,
               keepdims=keepdims).sqrt()


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         axis: int | None = None, keepdims: bool | None = None) -> Tensor:
    """Product over one dimension (or all elements)."""
    axes = normalize_axes("prod", input.shape, dim, axis)
    if axes is not None and len(axes) != 1:
        raise TypeError("prod: dim must be a single int")
    return Prod.apply(input, axes=axes, keepdim=_keep(keepdim, keepdims))


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient equally."""
    return Extremum.apply(input, axes=normalize_axes("amax", input.shape, dim, axis),
                          keepdim=_keep(keepdim, keepdims), largest=True)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Minimum over ``dim``; tied minima share the gradient equally."""
    return Extremum.apply(input, axes=normalize_axes("amin", input.shape, dim, axis),
                          keepdim=_keep(keepdim, keepdims), largest=False)


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """log(sum(exp(x))) over ``dim``, without overflow or underflow."""
    input = as_float(input)
    return LogSumExp.apply(input, axes=normalize_axes("logsumexp", input.shape, dim, axis),
                           keepdim=_keep(keepdim, keepdims))


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _extreme_with_indices(name: str, input: Tensor, dim: int, keepdim: bool,
                          largest: bool) -> ValuesIndices:
    (axis,) = normalize_axes(name, input.shape, dim) or (0,)
    data = input._data
    if data.ndim == 0:
        return ValuesIndices(input, Tensor._make(np.array(0)))
    indices = (np.argmax if largest else np.argmin)(data, axis=axis)
    grid = []
    for i in range(data.ndim):
        if i == axis:
            grid.append(indices)
        else:
            shape = [1] * (data.ndim - 1)
            shape[i if i < axis else i - 1] = data.shape[i]
            grid.append(np.arange(data.shape[i]).reshape(shape))
    values = input[tuple(grid)]
    if keepdim:
        values = values.unsqueeze(axis)
        indices = np.expand_dims(indices, axis)
    return ValuesIndices(values, Tensor._make(indices))


def _max_or_min(name: str, input: Tensor, dim: Any, keepdim: bool, largest: bool) -> Any:
    if isinstance(dim, Tensor):
        return (Tensor.maximum if largest else Tensor.minimum)(input, dim)
    if dim is None:
        return (amax if largest else amin)(input)
    return _extreme_with_indices(name, input, dim, keepdim, largest)


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the maximum; ``max(x, dim)``: (values, indices); ``max(x, other)``: maximum."""
    return _max_or_min("max", input, dim, keepdim, largest=True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``: the minimum; ``min(x, dim)``: (values, indices); ``min(x, other)``: minimum."""
    return _max_or_min("min", input, dim, keepdim, largest=False)


def _arg_extreme(name: str, find: Any, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    if dim is None:
        return Tensor._make(np.asarray(find(input._data)))
    (axis,) = normalize_axes(name, input.shape, dim) or (0,)
    return Tensor._make(find(input._data, axis=axis, keepdims=keepdim))


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    return _arg_extreme("argmax", np.argmax, as_tensor_operand(input), dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    return _arg_extreme("argmin", np.argmin, as_tensor_operand(input), dim, keepdim)


for _function in (var, std, prod, amax, amin, max, min, logsumexp, argmax, argmin):
    setattr(Tensor, _function.__name__, _function)
