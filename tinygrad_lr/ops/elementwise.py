"""Elementwise ops with NumPy broadcasting: each forward beside its derivative rule.

Rules use only operators, ``.shape``/``.reshape``/``.sum`` and ``xp.*``, so they run on arrays and,
under ``create_graph=True``, on Tensors (which makes every rule differentiable again).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function, crossed
from tinygrad_lr.kernels import elementwise as kernels


class _Arithmetic(Function):
    """An elementwise op whose result is always new memory: 0-d inputs may come as NumPy scalars
    (see ``Function.on_scalars``)."""
    __slots__ = ()
    on_scalars = True


class Add(_Arithmetic):
    __slots__ = ()
    reads = ()

    def forward(self, x, y):
        return kernels.add(x, y)

    def backward(self, g, xp, x, y):
        return (g if self.needs[0] else None,
                g if self.needs[1] else None)


class Sub(_Arithmetic):
    __slots__ = ()
    reads = ()

    def forward(self, x, y):
        return kernels.subtract(x, y)

    def backward(self, g, xp, x, y):
        return (g if self.needs[0] else None,
                -g if self.needs[1] else None)


class Mul(_Arithmetic):
    __slots__ = ()
    reads = crossed()

    def forward(self, x, y):
        return kernels.multiply(x, y)

    def backward(self, g, xp, x, y):
        return (g * y if self.needs[0] else None,
                g * x if self.needs[1] else None)


class Div(_Arithmetic):
    __slots__ = ()
    # x / y: the divisor always, the dividend for the divisor's gradient.
    reads = {(True, True): (0, 1), (True, False): (1,), (False, True): (0, 1)}

    def forward(self, x, y):
        return x / y

    def backward(self, g, xp, x, y):
        gx = g / y
        return (gx if self.needs[0] else None,
                -gx * x / y if self.needs[1] else None)


class Pow(_Arithmetic):
    """x ** y with both operands tensors."""
    __slots__ = ()
    saves_output = True

    def forward(self, x, y):
        self.out = x ** y
        return self.out

    def backward(self, g, xp, x, y):
        # d/dx x^y = y x^(y-1), taken as 0 where y == 0 (as PyTorch: 0 * 0^-1 would be nan).
        gx = g * y * x ** (y - 1 + (y == 0)) if self.needs[0] else None
        gy = None
        if self.needs[1]:
            # d/dy x^y = x^y log x; at x == 0 PyTorch takes it as 0 (the limit for y > 0).
            zero = x == 0
            gy = g * self.result(xp) * xp.log(x + zero) * (x != 0)
        return gx, gy


class PowScalar(_Arithmetic):
    """x ** c for a Python number c."""
    __slots__ = ("exponent",)

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, g, xp, x):
        c = self.exponent
        if c == 0:
            return g * 0
        return g * c * x ** (c - 1)


class RPowScalar(_Arithmetic):
    """c ** x for a Python number c."""
    __slots__ = ("base",)
    saves_output = True

    def __init__(self, base: float) -> None:
        self.base = base

    def forward(self, x):
        self.out = self.base ** x
        return self.out

    def backward(self, g, xp, x):
        return g * self.result(xp) * float(np.log(self.base))


class Clone(Function):
    """A copy of the data that stays in the graph (gradient passes unchanged)."""
    __slots__ = ()
    reads = ()

    def forward(self, x):
        return x.copy()

    def backward(self, g, xp, x):
        return g


class Neg(_Arithmetic):
    __slots__ = ()
    reads = ()

    def forward(self, x):
        return -x

    def backward(self, g, xp, x):
        return -g


class Exp(_Arithmetic):
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        self.out = np.exp(x)
        return self.out

    def backward(self, g, xp, x):
        return g * self.result(xp)


class Log(_Arithmetic):
    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def backward(self, g, xp, x):
        return g / x


class Log1p(_Arithmetic):
    __slots__ = ()

    def forward(self, x):
        return np.log1p(x)

    def backward(self, g, xp, x):
        return g / (x + 1)


class Sqrt(_Arithmetic):
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        self.out = np.sqrt(x)
        return self.out

    def backward(self, g, xp, x):
        return g / (self.result(xp) * 2)


class Abs(_Arithmetic):
    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def backward(self, g, xp, x):
        return g * xp.sign(x)


class Sign(_Arithmetic):
    """sign(x): derivative zero (almost everywhere). Recorded under create_graph, so that a
    gradient built on it (abs, relu) keeps its graph, as PyTorch's does."""
    __slots__ = ()
    reads = ()

    def forward(self, x):
        return np.sign(x)

    def backward(self, g, xp, x):
        return g * 0


class Sigmoid(_Arithmetic):
    """Its own op, not composed from exp: the composed form overflows for large |x|."""
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        self.out = kernels.sigmoid(x)
        return self.out

    def backward(self, g, xp, x):
        s = self.result(xp)
        return g * s * (1 - s)


class Tanh(_Arithmetic):
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g, xp, x):
        t = self.result(xp)
        # (1 - t)(1 + t), not 1 - t*t: t*t underflows for tiny t, and 1 - t is exact near t = 1.
        return g * ((1 - t) * (1 + t))


class Softplus(_Arithmetic):
    """log(1 + e^x), stable for any x; derivative sigmoid(x)."""
    __slots__ = ()

    def forward(self, x):
        return kernels.softplus(x)

    def backward(self, g, xp, x):
        return g * xp.sigmoid(x)


class LogSigmoid(_Arithmetic):
    """log(sigmoid(x)) = -softplus(-x), stable for any x; derivative sigmoid(-x)."""
    __slots__ = ()

    def forward(self, x):
        return -kernels.softplus(-x)

    def backward(self, g, xp, x):
        return g * xp.sigmoid(-x)


class Relu(_Arithmetic):
    """max(x, 0); the derivative at 0 is taken as 0, as in PyTorch (read from the output, as
    PyTorch does: out > 0 exactly where x > 0)."""
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        self.out = np.maximum(x, 0)
        return self.out

    def backward(self, g, xp, x):
        return g * xp.sign(self.result(xp))  # 1 where the output is positive, else 0


class Clamp(_Arithmetic):
    """Clip to [low, high]; gradient passes where low <= x <= high, as in PyTorch."""
    __slots__ = ("low", "high")

    def __init__(self, low: Any, high: Any) -> None:
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)

    def backward(self, g, xp, x):
        if self.low is not None:
            g = g * (x >= self.low)
        if self.high is not None:
            g = g * (x <= self.high)
        return g


class Maximum(_Arithmetic):
    """Elementwise max; at ties the gradient is split equally, as in PyTorch."""
    __slots__ = ()

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, g, xp, x, y):
        tie = g * (x == y) * 0.5
        return (g * (x > y) + tie if self.needs[0] else None,
                g * (x < y) + tie if self.needs[1] else None)


class Minimum(_Arithmetic):
    """Elementwise min; at ties the gradient is split equally, as in PyTorch."""
    __slots__ = ()

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, g, xp, x, y):
        tie = g * (x == y) * 0.5
        return (g * (x < y) + tie if self.needs[0] else None,
                g * (x > y) + tie if self.needs[1] else None)


class Where(Function):
    """Pick x where the (constant) condition holds, else y."""
    __slots__ = ("condition",)
    reads = ()

    def __init__(self, condition: np.ndarray) -> None:
        self.condition = condition

    def forward(self, x, y):
        return np.where(self.condition, x, y)

    def backward(self, g, xp, x, y):
        c = self.condition
        return (g * c if self.needs[0] else None,
                g * ~c if self.needs[1] else None)


class Cast(Function):
    """Change the floating dtype; the gradient is cast back."""
    __slots__ = ("dtype",)
    reads = ()

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g, xp, x):
        return xp.cast(g, x.dtype)
