"""Op catalogue: bounding values elementwise: ``maximum`` and ``minimum`` of two tensors (at ties
the gradient is split equally, as PyTorch's) and ``clamp``/``clip`` to a range, each forward beside
its derivative rule; installed onto Tensor, with their in-place forms, when the package loads.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.operands import scalar_category
from tinygrad_lr.ops.inplace import inplace_variant
from tinygrad_lr.tensor import Tensor, as_float, coerce


class Maximum(Function):
    """Elementwise max; at ties the gradient is split equally, as in PyTorch."""
    __slots__ = ()
    on_scalars = True
    wins = staticmethod(operator.gt)  # where the first operand alone is the result

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g, xp, x, y):
        tie = g * (x == y) * 0.5
        return (g * self.wins(x, y) + tie if self.needs[0] else None,
                g * self.wins(y, x) + tie if self.needs[1] else None)


class Minimum(Maximum):
    """Elementwise min; at ties the gradient is split equally, as in PyTorch."""
    __slots__ = ()
    wins = staticmethod(operator.lt)

    def forward(self, x, y):
        return np.minimum(x, y)


class Clamp(Function):
    """Clip to [low, high]; the gradient passes where low <= x <= high, as in PyTorch."""
    __slots__ = ("low", "high")
    on_scalars = True

    def __init__(self, low: Any, high: Any) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)

    def backward(self, g, xp, x):
        if self.low is not None:
            g = g * (x >= self.low)
        return g if self.high is None else g * (x <= self.high)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum, broadcasting."""
    return Maximum.apply(*coerce(input, other))


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum, broadcasting."""
    return Minimum.apply(*coerce(input, other))


def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:
    """Clip values to [min, max]; tensor bounds use maximum/minimum."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    if scalar_category(min) == 2 or scalar_category(max) == 2:
        return Clamp.apply(as_float(input), low=min, high=max)
    return Clamp.apply(input, low=min, high=max)


clip = clamp


def _install() -> None:
    for name, f in (("maximum", maximum), ("minimum", minimum), ("clamp", clamp), ("clip", clip)):
        setattr(Tensor, name, f)
        setattr(Tensor, name + "_", inplace_variant(name + "_", f))


_install()
