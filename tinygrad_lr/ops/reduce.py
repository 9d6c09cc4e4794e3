"""Reductions over one or more dimensions: each forward beside its derivative rule."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1 (``keepdims=True``)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class _Reduction(Function):
    """Shared set-up: normalized axes and whether reduced dimensions are kept."""
    __slots__ = ("axes", "keepdim")

    def __init__(self, axes: tuple[int, ...] | None, keepdim: bool) -> None:
        self.axes, self.keepdim = axes, keepdim

    def spread(self, g: Any, xp: Any, shape: tuple[int, ...]) -> Any:
        """Broadcast the output gradient back over the reduced dimensions."""
        if not self.keepdim:
            g = g.reshape(kept_shape(shape, self.axes))
        return xp.broadcast_to(g, shape)

    def squeeze(self, kept: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """A keepdims result reshaped to the requested output shape."""
        if self.keepdim:
            return kept
        return kept.reshape(tuple(n for i, n in enumerate(shape)
                                  if self.axes is not None and i not in self.axes))


class Sum(_Reduction):
    __slots__ = ()
    reads = ()

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g, xp, x):
        return self.spread(g, xp, x.shape)


class Mean(_Reduction):
    __slots__ = ("count",)
    reads = ()

    def forward(self, x):
        out = x.mean(axis=self.axes, keepdims=self.keepdim)
        self.count = x.size // out.size if out.size else 0
        return out

    def backward(self, g, xp, x):
        return self.spread(g / self.count, xp, x.shape)


class Extremum(_Reduction):
    """amax/amin; tied extremes share the gradient equally, as in PyTorch."""
    __slots__ = ("largest", "share")
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
        reduce = np.max if self.largest else np.min
        extreme = reduce(x, axis=self.axes, keepdims=True)
        hits = x == extreme
        self.share = hits / hits.sum(axis=self.axes, keepdims=True).astype(x.dtype)
        self.out = self.squeeze(extreme, x.shape)
        return self.out

    def backward(self, g, xp, x):
        return self.spread(g, xp, x.shape) * self.share


class Prod(_Reduction):
    """Product over one axis (or all); exact gradient even where elements are zero."""
    __slots__ = ()
    saves_output = True

    def forward(self, x):
        self.out = np.prod(x, axis=self.axes, keepdims=self.keepdim)
        return self.out

    def backward(self, g, xp, x):
        if self.axes is None:
            others = xp.prod_of_others(x.reshape(-1), 0).reshape(x.shape)
        else:
            others = xp.prod_of_others(x, self.axes[0])
        return self.spread(g, xp, x.shape) * others


class LogSumExp(_Reduction):
    """log Σ exp(x), shifted by the max so it neither overflows nor underflows."""
    __slots__ = ()
    saves_output = True

    def forward(self, x):
        # The maximum of an empty slice is -inf, so its log-sum-exp is -inf, as PyTorch's.
        m = np.max(x, axis=self.axes, keepdims=True, initial=-np.inf)
        shift = np.where(np.isfinite(m), m, 0)
        total = np.exp(x - shift).sum(axis=self.axes, keepdims=True)
        # Adding the unshifted max keeps an all -inf (or any +inf) slice at its exact -inf (+inf).
        with np.errstate(divide="ignore"):  # log(0) = -inf for an all -inf or empty slice
            out = np.log(total) + m
        self.out = self.squeeze(out, x.shape)
        return self.out

    def backward(self, g, xp, x):
        out = self.result(xp)
        if not self.keepdim:
            out = out.reshape(kept_shape(x.shape, self.axes))
        return self.spread(g, xp, x.shape) * xp.exp(x - out)
