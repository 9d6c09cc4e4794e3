"""Pointwise maths PyTorch scripts reach for: sin, cos, square, reciprocal, rsqrt, log2, log10,
and the piecewise-constant round, floor, ceil, sign (zero derivative, as PyTorch's).

Each rule is written with operators and this module's own Tensor functions: under
``create_graph=True`` (``xp.graph``) a rule calls the recorded op, on arrays the NumPy function,
so every derivative here is differentiable again.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.tensor import Tensor
from tinygrad_lr.ops import functional as fn
from tinygrad_lr.ops.inplace import inplace_variant


def _float(x: Any) -> Tensor:
    x = fn.as_tensor(x)
    return x if x._data.dtype.kind == "f" else x.to(fn.get_default_dtype())


def _cos(xp: Any, x: Any) -> Any:
    return cos(x) if xp.graph else np.cos(x)


def _sin(xp: Any, x: Any) -> Any:
    return sin(x) if xp.graph else np.sin(x)


class Sin(Function):
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def backward(self, g, xp, x):
        return g * _cos(xp, x)


class Cos(Function):
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def backward(self, g, xp, x):
        return -g * _sin(xp, x)


class Tan(Function):
    __slots__ = ()

    def forward(self, x):
        self.out = np.tan(x)
        return self.out

    def backward(self, g, xp, x):
        t = self.result(xp)
        return g * (t * t + 1)


class Atan(Function):
    __slots__ = ()

    def forward(self, x):
        return np.arctan(x)

    def backward(self, g, xp, x):
        return g / (x * x + 1)


class Expm1(Function):
    __slots__ = ()

    def forward(self, x):
        self.out = np.expm1(x)
        return self.out

    def backward(self, g, xp, x):
        return g * (self.result(xp) + 1)


_erf_array = np.frompyfunc(math.erf, 1, 1)


class Erf(Function):
    """The error function (math.erf elementwise); derivative 2/sqrt(pi) e^(-x^2)."""
    __slots__ = ()

    def forward(self, x):
        return np.asarray(_erf_array(x), dtype=x.dtype)

    def backward(self, g, xp, x):
        return g * xp.exp(-(x * x)) * (2 / math.sqrt(math.pi))


class Reciprocal(Function):
    __slots__ = ()

    def forward(self, x):
        self.out = np.reciprocal(x)
        return self.out

    def backward(self, g, xp, x):
        r = self.result(xp)
        return -g * r * r


class Rsqrt(Function):
    """1/sqrt(x); derivative -r^3 / 2."""
    __slots__ = ()

    def forward(self, x):
        self.out = 1 / np.sqrt(x)
        return self.out

    def backward(self, g, xp, x):
        r = self.result(xp)
        return g * r * r * r * -0.5


class _LogBase(Function):
    __slots__ = ("base",)

    def __init__(self, base: float) -> None:
        self.base = base

    def forward(self, x):
        return np.log2(x) if self.base == 2 else np.log10(x)

    def backward(self, g, xp, x):
        return g / (x * math.log(self.base))


class _Piecewise(Function):
    """A piecewise-constant function: derivative zero wherever it exists (PyTorch's convention)."""
    __slots__ = ("kind", "decimals")

    def __init__(self, kind: str, decimals: int = 0) -> None:
        self.kind, self.decimals = kind, decimals

    def forward(self, x):
        if self.kind == "round":
            return np.round(x, self.decimals)
        return getattr(np, self.kind)(x)

    def backward(self, g, xp, x):
        return g * 0


def sin(input: Any) -> Tensor:
    """Sine."""
    return Sin.apply(_float(input))


def cos(input: Any) -> Tensor:
    """Cosine."""
    return Cos.apply(_float(input))


def square(input: Any) -> Tensor:
    """input * input (integers stay integers, as PyTorch)."""
    return fn.pow(fn.as_tensor(input), 2)


def tan(input: Any) -> Tensor:
    """Tangent."""
    return Tan.apply(_float(input))


def atan(input: Any) -> Tensor:
    """Arctangent."""
    return Atan.apply(_float(input))


def expm1(input: Any) -> Tensor:
    """e^x - 1, accurate near 0."""
    return Expm1.apply(_float(input))


def erf(input: Any) -> Tensor:
    """The error function."""
    return Erf.apply(_float(input))


def clamp_min(input: Any, min: Any) -> Tensor:
    """max(input, min)."""
    return fn.clamp(input, min=min)


def clamp_max(input: Any, max: Any) -> Tensor:
    """min(input, max)."""
    return fn.clamp(input, max=max)


def reciprocal(input: Any) -> Tensor:
    """1 / input (integers give floats)."""
    return Reciprocal.apply(_float(input))


def rsqrt(input: Any) -> Tensor:
    """1 / sqrt(input)."""
    return Rsqrt.apply(_float(input))


def log2(input: Any) -> Tensor:
    """Base-2 logarithm."""
    return _LogBase.apply(_float(input), base=2)


def log10(input: Any) -> Tensor:
    """Base-10 logarithm."""
    return _LogBase.apply(_float(input), base=10)


def _piecewise(kind: str, input: Any, decimals: int = 0) -> Tensor:
    x = fn.as_tensor(input)
    if x._data.dtype.kind != "f" and kind != "sign":
        return x.clone()
    return _Piecewise.apply(x, kind=kind, decimals=decimals)


def round(input: Any, *, decimals: int = 0) -> Tensor:
    """Round half to even (as PyTorch), to ``decimals`` places; derivative 0."""
    return _piecewise("round", input, decimals)


def floor(input: Any) -> Tensor:
    """Largest integer <= x (same dtype); derivative 0."""
    return _piecewise("floor", input)


def ceil(input: Any) -> Tensor:
    """Smallest integer >= x (same dtype); derivative 0."""
    return _piecewise("ceil", input)


def sign(input: Any) -> Tensor:
    """-1, 0 or 1 by the sign of x (same dtype); derivative 0."""
    x = fn.as_tensor(input)
    if x._data.dtype.kind == "b":
        return x.clone()
    return _Piecewise.apply(x, kind="sign")


def _install() -> None:
    functions = (sin, cos, tan, atan, expm1, erf, square, reciprocal, rsqrt, log2, log10, floor,
                 ceil, sign, clamp_min, clamp_max)
    for f in functions:
        setattr(Tensor, f.__name__, f)
        setattr(Tensor, f.__name__ + "_", inplace_variant(f.__name__ + "_", f))
    Tensor.arctan = atan
    Tensor.round = lambda self, decimals=0: round(self, decimals=decimals)
    Tensor.round.__doc__ = round.__doc__
    Tensor.round_ = inplace_variant("round_", lambda x, decimals=0: round(x, decimals=decimals))


_install()
