"""Op catalogue: pointwise maths PyTorch scripts reach for: log1p, logsigmoid, sin, cos, tan, atan,
expm1, erf, square, reciprocal, rsqrt, log2, log10, and the piecewise-constant round, floor, ceil,
sign (zero derivative, as PyTorch's).

Written as the lesson core's table (:func:`tinygrad_lr.ops.rules.elementwise`): each forward
beside its derivative. A derivative that needs another function of this module calls the
recorded op under ``create_graph=True`` (``xp.graph``) and the NumPy function on arrays, so every
derivative here is differentiable again.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.kernels import elementwise as kernels
from tinygrad_lr.ops.inplace import inplace_variant
from tinygrad_lr.ops.rules import elementwise
from tinygrad_lr.tensor import Tensor, as_float, as_tensor_operand

_erf_array = np.frompyfunc(math.erf, 1, 1)

Log1p = elementwise("Log1p", np.log1p, lambda g, x, y, xp: g / (x + 1), uses="x")
# log(sigmoid(x)) = -softplus(-x), finite for any x.
LogSigmoid = elementwise("LogSigmoid", lambda x: -kernels.softplus(-x),
                         lambda g, x, y, xp: g * xp.sigmoid(-x), uses="x")
Sin = elementwise("Sin", np.sin, lambda g, x, y, xp: g * (cos(x) if xp.graph else np.cos(x)),
                  uses="x")
Cos = elementwise("Cos", np.cos, lambda g, x, y, xp: -g * (sin(x) if xp.graph else np.sin(x)),
                  uses="x")
Tan = elementwise("Tan", np.tan, lambda g, x, y, xp: g * (y * y + 1), uses="y")
Atan = elementwise("Atan", np.arctan, lambda g, x, y, xp: g / (x * x + 1), uses="x")
Expm1 = elementwise("Expm1", np.expm1, lambda g, x, y, xp: g * (y + 1), uses="y")
# The error function (math.erf elementwise); derivative 2/sqrt(pi) e^(-x^2).
Erf = elementwise("Erf", lambda x: np.asarray(_erf_array(x), dtype=x.dtype),
                  lambda g, x, y, xp: g * xp.exp(-(x * x)) * (2 / math.sqrt(math.pi)), uses="x")
Reciprocal = elementwise("Reciprocal", np.reciprocal, lambda g, x, y, xp: -g * y * y, uses="y")
Rsqrt = elementwise("Rsqrt", lambda x: 1 / np.sqrt(x), lambda g, x, y, xp: g * y * y * y * -0.5,
                    uses="y")


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


def _on_floats(op: type, name: str, doc: str) -> Any:
    """The function ``name``: ``op`` applied to its input as a floating tensor."""
    def function(input: Any) -> Tensor:
        return op.apply(as_float(input))
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


log1p = _on_floats(Log1p, "log1p", "log(1 + input), accurate near 0.")
logsigmoid = _on_floats(LogSigmoid, "logsigmoid", "log(sigmoid(x)), stable for any x.")
sin = _on_floats(Sin, "sin", "Sine.")
cos = _on_floats(Cos, "cos", "Cosine.")
tan = _on_floats(Tan, "tan", "Tangent.")
atan = _on_floats(Atan, "atan", "Arctangent.")
expm1 = _on_floats(Expm1, "expm1", "e^x - 1, accurate near 0.")
erf = _on_floats(Erf, "erf", "The error function.")
reciprocal = _on_floats(Reciprocal, "reciprocal", "1 / input (integers give floats).")
rsqrt = _on_floats(Rsqrt, "rsqrt", "1 / sqrt(input).")


def square(input: Any) -> Tensor:
    """input * input (integers stay integers, as PyTorch)."""
    return Tensor.pow(as_tensor_operand(input), 2)


def clamp_min(input: Any, min: Any) -> Tensor:
    """max(input, min)."""
    return Tensor.clamp(input, min=min)


def clamp_max(input: Any, max: Any) -> Tensor:
    """min(input, max)."""
    return Tensor.clamp(input, max=max)


def log2(input: Any) -> Tensor:
    """Base-2 logarithm."""
    return _LogBase.apply(as_float(input), base=2)


def log10(input: Any) -> Tensor:
    """Base-10 logarithm."""
    return _LogBase.apply(as_float(input), base=10)


def _piecewise(kind: str, input: Any, decimals: int = 0) -> Tensor:
    x = as_tensor_operand(input)
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
    x = as_tensor_operand(input)
    if x._data.dtype.kind == "b":
        return x.clone()
    return _Piecewise.apply(x, kind="sign")


def _install() -> None:
    functions = (log1p, sin, cos, tan, atan, expm1, erf, square, reciprocal, rsqrt, log2, log10,
                 floor, ceil, sign, clamp_min, clamp_max)
    for f in functions:
        setattr(Tensor, f.__name__, f)
        setattr(Tensor, f.__name__ + "_", inplace_variant(f.__name__ + "_", f))
    Tensor.arctan = atan
    Tensor.round = lambda self, decimals=0: round(self, decimals=decimals)
    Tensor.round.__doc__ = round.__doc__
    Tensor.round_ = inplace_variant("round_", lambda x, decimals=0: round(x, decimals=decimals))


_install()
