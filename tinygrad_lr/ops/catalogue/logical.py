"""Op catalogue: comparisons (``== != < <= > >=``, bool results), boolean, integer and
floating-point tests: ``& | ^ ~``, ``all``/``any``, ``//`` and ``%``,
``isnan``/``isinf``/``isfinite``, ``nan_to_num``, ``isclose``/``allclose``/``equal``.

Results that are bools or integers are constants (outside the graph). ``%`` is differentiable
(d/dx = 1, d/dy = -floor(x/y), as PyTorch); ``//`` has none (backward raises, as PyTorch's);
``nan_to_num`` passes the gradient where the input is finite.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.ops.inplace import inplace_variant
from tinygrad_lr.tensor import Tensor, as_tensor_operand, coerce, normalize_axes, reflected


def _compare(ufunc: np.ufunc, a: Any, b: Any) -> Tensor:
    a_data = a._data if isinstance(a, Tensor) else a
    b_data = b._data if isinstance(b, Tensor) else b
    return Tensor._make(np.asarray(ufunc(a_data, b_data)))


def _comparison(name: str, ufunc: np.ufunc, what: str) -> Any:
    """The function ``name``: elementwise ``what``, a bool tensor (no graph)."""
    def compare(input: Any, other: Any) -> Tensor:
        return _compare(ufunc, input, other)
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"Elementwise {what}, a bool tensor."
    return compare


eq = _comparison("eq", np.equal, "==")
ne = _comparison("ne", np.not_equal, "!=")
lt = _comparison("lt", np.less, "<")
le = _comparison("le", np.less_equal, "<=")
gt = _comparison("gt", np.greater, ">")
ge = _comparison("ge", np.greater_equal, ">=")
logical_and = _comparison("logical_and", np.logical_and,
                          "and of the truth values (non-zero is true)")
logical_or = _comparison("logical_or", np.logical_or, "or of the truth values (non-zero is true)")
logical_xor = _comparison("logical_xor", np.logical_xor,
                          "exclusive or of the truth values (non-zero is true)")


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not (bool tensor)."""
    return Tensor._make(np.logical_not(input._data))


def _arrays(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = coerce(a, b)
    return x._data, y._data


def _bitwise(name: str, ufunc: np.ufunc, a: Any, b: Any) -> Tensor:
    x, y = _arrays(a, b)
    if x.dtype.kind == "f":
        raise RuntimeError(f'"{name}" not implemented for floating tensors (dtype {x.dtype}); '
                           "use bool or integer tensors")
    return Tensor._make(np.asarray(ufunc(x, y)))


def bitwise_and(input: Any, other: Any) -> Tensor:
    """Elementwise AND of bool or integer tensors (``a & b``)."""
    return _bitwise("bitwise_and", np.bitwise_and, input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:
    """Elementwise OR of bool or integer tensors (``a | b``)."""
    return _bitwise("bitwise_or", np.bitwise_or, input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:
    """Elementwise XOR of bool or integer tensors (``a ^ b``)."""
    return _bitwise("bitwise_xor", np.bitwise_xor, input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """Elementwise NOT: logical for bool tensors, two's complement for integers (``~a``)."""
    data = as_tensor_operand(input)._data
    if data.dtype.kind == "f":
        raise RuntimeError(f'"bitwise_not" not implemented for floating tensors (dtype '
                           f"{data.dtype})")
    return Tensor._make(np.asarray(np.invert(data)))


def _reduce_bool(ufunc: np.ufunc, input: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = as_tensor_operand(input)
    axes = normalize_axes(ufunc.__name__, x.shape, dim, None)
    return Tensor._make(np.asarray(ufunc.reduce(x._data.astype(bool, copy=False), axis=axes,
                                                keepdims=keepdim)))


def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where every element (along ``dim``) is non-zero, as a bool tensor."""
    return _reduce_bool(np.logical_and, input, dim, keepdim)


def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    """True where some element (along ``dim``) is non-zero, as a bool tensor."""
    return _reduce_bool(np.logical_or, input, dim, keepdim)


class Remainder(Function):
    """x - floor(x/y) y, with the sign of y (Python's and PyTorch's ``%``)."""
    __slots__ = ()

    def forward(self, x, y):
        return np.remainder(x, y)

    def backward(self, g, xp, x, y):
        quotient = Tensor._make(np.floor_divide(x._data, y._data)) if xp.graph else \
            np.floor_divide(x, y)
        return (g if self.needs[0] else None), (-g * quotient if self.needs[1] else None)


class FloorDivide(Function):
    """floor(x / y): recorded so that backward through it fails as in PyTorch, which defines no
    derivative for ``//`` (use ``torch.div(x, y, rounding_mode="floor")`` semantics elsewhere)."""
    __slots__ = ()

    def forward(self, x, y):
        return np.floor_divide(x, y)

    def backward(self, g, xp, x, y):
        raise RuntimeError("derivative for floor_divide is not implemented (as in PyTorch): "
                           "compute x // y from detached tensors, or use torch.floor(x / y)")


def _check_integer_division(x: Tensor, y: Tensor, op: str) -> None:
    if x._data.dtype.kind in "iub" and np.any(y._data == 0):
        raise RuntimeError(f"ZeroDivisionError: integer {op} by zero")


def remainder(input: Any, other: Any) -> Tensor:
    """input % other, the result taking the sign of ``other``."""
    x, y = coerce(input, other)
    _check_integer_division(x, y, "modulo")
    return Remainder.apply(x, y)


def floor_divide(input: Any, other: Any) -> Tensor:
    """input // other, rounded towards minus infinity (as Python and PyTorch)."""
    x, y = coerce(input, other)
    _check_integer_division(x, y, "division")
    return FloorDivide.apply(x, y)


def isnan(input: Any) -> Tensor:
    """True where the value is NaN."""
    return Tensor._make(np.isnan(as_tensor_operand(input)._data))


def isinf(input: Any) -> Tensor:
    """True where the value is +inf or -inf."""
    return Tensor._make(np.isinf(as_tensor_operand(input)._data))


def isfinite(input: Any) -> Tensor:
    """True where the value is neither NaN nor infinite."""
    return Tensor._make(np.isfinite(as_tensor_operand(input)._data))


class NanToNum(Function):
    __slots__ = ("nan", "posinf", "neginf")

    def __init__(self, nan: float, posinf: float | None, neginf: float | None) -> None:
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def backward(self, g, xp, x):
        finite = np.isfinite(x._data if xp.graph else x)
        return g * finite


def nan_to_num(input: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +-inf -> ``posinf``/``neginf`` (default: the dtype's largest and
    smallest finite values)."""
    x = as_tensor_operand(input)
    if x._data.dtype.kind != "f":
        return x.clone()
    return NanToNum.apply(x, nan=nan, posinf=posinf, neginf=neginf)


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """|input - other| <= atol + rtol |other|, elementwise, as a bool tensor."""
    x, y = _arrays(input, other)
    return Tensor._make(np.asarray(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """Whether every element is close (see ``isclose``): a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Any, other: Any) -> bool:
    """True when both have the same shape and the same values: a Python bool."""
    x, y = as_tensor_operand(input)._data, as_tensor_operand(other)._data
    return x.shape == y.shape and bool(np.array_equal(x, y))


def _install() -> None:
    methods = {
        "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
        "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "logical_not": logical_not,
        "__and__": bitwise_and, "__rand__": reflected(bitwise_and), "__or__": bitwise_or,
        "__ror__": reflected(bitwise_or), "__xor__": bitwise_xor,
        "__rxor__": reflected(bitwise_xor), "__invert__": bitwise_not,
        "__floordiv__": floor_divide, "__rfloordiv__": reflected(floor_divide),
        "__mod__": remainder, "__rmod__": reflected(remainder),
        "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
        "bitwise_not": bitwise_not, "logical_and": logical_and, "logical_or": logical_or,
        "logical_xor": logical_xor, "all": all, "any": any, "remainder": remainder,
        "floor_divide": floor_divide, "isnan": isnan, "isinf": isinf, "isfinite": isfinite,
        "nan_to_num": nan_to_num, "isclose": isclose, "allclose": allclose, "equal": equal,
    }
    methods.update({
        "remainder_": inplace_variant("remainder_", remainder),
        "__imod__": inplace_variant("remainder_", remainder),
        "floor_divide_": inplace_variant("floor_divide_", floor_divide),
        "__ifloordiv__": inplace_variant("floor_divide_", floor_divide),
        "nan_to_num_": inplace_variant("nan_to_num_", nan_to_num),
    })
    for name, method in methods.items():
        setattr(Tensor, name, method)


_install()
