"""The Tensor: a NumPy array plus the links autograd needs (``grad``, ``grad_fn``, ``requires_grad``).

Its operators and methods prepare their operands (PyTorch's type promotion, on the dtypes and
argument forms of :mod:`tinygrad_lr.operands`) and apply a rule from
:mod:`tinygrad_lr.ops.rules`, where each op's forward and derivative stand side by side; its
``backward()`` runs :mod:`tinygrad_lr.autograd.engine`. The op catalogue
(:mod:`tinygrad_lr.ops.catalogue`) installs the rest of PyTorch's Tensor API when the package loads.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from tinygrad_lr._printing import tensor_repr
from tinygrad_lr.devices import check_device
from tinygrad_lr.operands import (DTypeLike, array_from, category, category_default,
                                  check_can_require_grad, get_default_dtype, int64, normalize_axes,
                                  normalize_dim, promote, scalar_category, shape_arg)
from tinygrad_lr.size import Size


def as_array(data: Any, dtype: DTypeLike = None, copy: bool = True) -> np.ndarray:
    """``data`` (a Tensor's values, or array-like data) as a NumPy array, by PyTorch's dtype
    rules (:func:`tinygrad_lr.operands.array_from`)."""
    return array_from(data._data if isinstance(data, Tensor) else data, dtype, copy)


# ---- operand preparation: PyTorch's type promotion (tinygrad_lr/operands.py) on Tensors ---------
def as_tensor_operand(value: Any) -> "Tensor":
    """``value`` itself if a Tensor, else a constant Tensor over it (an array is not copied)."""
    return value if isinstance(value, Tensor) else Tensor._make(as_array(value, copy=False))


def coerce(a: Any, b: Any) -> tuple["Tensor", "Tensor"]:
    """Make two operands Tensors of one dtype by PyTorch's rules (Python numbers are weak)."""
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is and b_is:
        if a._data.dtype is b._data.dtype or a._data.dtype == b._data.dtype:
            return a, b
        dtype = promote(a._data, b._data)
        return a._cast(dtype), b._cast(dtype)
    if not a_is and not b_is:
        return coerce(as_tensor_operand(a), b)
    t, other = (a, b) if a_is else (b, a)
    kind = scalar_category(other)
    if kind is None:
        other_t = as_tensor_operand(other)
        return coerce(t, other_t) if a_is else coerce(other_t, t)
    if kind > category(t._data.dtype):
        t = t._cast(category_default(kind))
    constant = Tensor._make(np.array(other, dtype=t._data.dtype))
    return (t, constant) if a_is else (constant, t)


def as_float(x: Any) -> "Tensor":
    """``x`` as a Tensor of a floating dtype (integers and bools become the default dtype)."""
    if not isinstance(x, Tensor):
        x = Tensor._make(as_array(x, copy=False))
    return x if x._data.dtype.kind == "f" else x._cast(get_default_dtype())


def _refuse_bool(what: str, *operands: Any) -> None:
    """PyTorch refuses subtraction and negation of bool tensors (a mask is inverted with ~)."""
    if any(isinstance(t, Tensor) and t._data.dtype == np.bool_ for t in operands):
        raise RuntimeError(f"{what} with a bool tensor is not supported; to invert a mask, use "
                           "the `~` operator or logical_not()")


def reflected(op: Any) -> Any:
    """The method for an operator's reflected form (``other OP self``), as ``__radd__``."""
    def method(self: "Tensor", other: Any) -> "Tensor":
        return op(other, self)
    return method


def _index_part(item: Any) -> Any:
    if isinstance(item, Tensor):
        return item._data
    return np.asarray(item) if isinstance(item, list) else item


def index_key(key: Any) -> Any:
    """An indexing key with Tensors and lists turned into arrays."""
    return tuple(_index_part(k) for k in key) if isinstance(key, tuple) else _index_part(key)


class Tensor:
    """An n-dimensional array that records the operations applied to it, for reverse-mode autodiff."""

    # _version_counter: a one-element list, shared by every tensor over the same storage (views,
    # detach()); each in-place write adds 1, and nodes compare it with what they saved.
    # _view_of: (base tensor, view op class, its parameters), set only on a view made by a view
    # op (unset otherwise: read it with getattr(t, "_view_of", None)).
    __slots__ = ("_data", "_grad", "_requires_grad", "grad_fn", "_version_counter", "_view_of",
                 "__weakref__")
    __array_ufunc__ = None  # make NumPy defer `ndarray * Tensor` to Tensor.__rmul__

    def __init__(self, *data: Any, dtype: DTypeLike = None, requires_grad: bool = False,
                 device: Any = None) -> None:
        # PyTorch's legacy constructor: Tensor(list) holds the default float dtype whatever the
        # values, Tensor(2, 3) is an uninitialised 2x3 tensor, Tensor() is empty.
        check_device(device)
        dtype = get_default_dtype() if dtype is None else dtype
        if len(data) == 1 and not isinstance(data[0], (int, np.integer)):
            self._data: np.ndarray = as_array(data[0], dtype)
        else:
            self._data = np.empty(tuple(int(n) for n in data) if data else (0,), dtype)
        self._grad: Tensor | None = None
        self.grad_fn = None
        self._requires_grad = False
        self._version_counter = [0]
        if requires_grad:
            check_can_require_grad(self._data.dtype)
            self._requires_grad = True

    @classmethod
    def _make(cls, data: np.ndarray, grad_fn: Any = None) -> "Tensor":
        """Wrap an array without copying; a node makes the result part of the graph."""
        t = object.__new__(cls)
        t._data = data
        t._grad = None
        t.grad_fn = grad_fn
        t._requires_grad = grad_fn is not None
        t._version_counter = [0]
        return t

    # ---- autograd attributes ------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a tensor outside the graph that shares their memory.

        As in PyTorch, changes made through ``.data`` are not seen by autograd (its escape
        hatch: the new tensor has a version counter of its own), and assigning
        ``t.data = other`` replaces the values, keeping ``t``'s place in the graph.
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"assigned data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to (or through) this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; "
                               "use detach() to get a tensor outside the graph")
        if value:
            check_can_require_grad(self._data.dtype)
        self._requires_grad = bool(value)

    @property
    def grad(self) -> "Tensor | None":
        """The accumulated gradient (a Tensor of this shape) or None."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape}, "
                                   f"but the tensor has shape {self.shape}")
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.grad_fn is None

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Iterable["Tensor"] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` by the chain rule."""
        engine.backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> "Tensor":
        """A tensor sharing this data and its version counter, outside the graph: writes
        through it are seen by the nodes that saved this tensor."""
        t = Tensor._make(self._data)
        t._version_counter = self._version_counter
        return t

    # ---- array attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The shape, as a :class:`Size` (a tuple, as PyTorch's torch.Size)."""
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        extras = []
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return tensor_repr(self._data, get_default_dtype(), extras)

    # ---- the operations: operand preparation, then the rule (tinygrad_lr/ops/rules.py) --------
    # Each method also serves as the function (``tl.mul(x, y)`` is ``Tensor.mul(x, y)``), so its
    # first operand may be a number or an array too.
    def add(self, other: Any, alpha: Any = 1) -> "Tensor":
        """self + alpha * other, broadcasting."""
        if alpha != 1:
            other = Tensor.mul(other, alpha)
        return Add.apply(*coerce(self, other))

    def sub(self, other: Any, alpha: Any = 1) -> "Tensor":
        """self - alpha * other, broadcasting."""
        _refuse_bool("subtraction, the `-` operator,", self, other)
        if alpha != 1:
            other = Tensor.mul(other, alpha)
        return Sub.apply(*coerce(self, other))

    def mul(self, other: Any) -> "Tensor":
        """Elementwise product, broadcasting."""
        return Mul.apply(*coerce(self, other))

    def div(self, other: Any) -> "Tensor":
        """True division (integers give floats), broadcasting."""
        a, b = coerce(self, other)
        if a._data.dtype.kind != "f":
            a, b = a._cast(get_default_dtype()), b._cast(get_default_dtype())
        return Div.apply(a, b)

    def pow(self, exponent: Any) -> "Tensor":
        """self ** exponent; either side may be a Python number."""
        kind = scalar_category(exponent)
        if isinstance(self, Tensor) and kind is not None:
            if kind == 0 and self._data.dtype == np.bool_:
                # A boolean tensor to a boolean power stays boolean, as in PyTorch (NumPy: int8).
                return Tensor._make(np.power(self._data, exponent).astype(np.bool_))
            x = self._cast(category_default(kind)) if kind > category(self._data.dtype) else self
            return PowScalar.apply(x, exponent=exponent)
        base_kind = scalar_category(self)
        if isinstance(exponent, Tensor) and base_kind is not None:
            if exponent._data.dtype.kind != "f" and base_kind == 2:
                exponent = exponent._cast(get_default_dtype())
            return RPowScalar.apply(exponent, base=self)
        return Pow.apply(*coerce(self, exponent))

    def matmul(self, other: Any) -> "Tensor":
        """Matrix product with NumPy/PyTorch rules for 1-D and batched operands; both operands
        must have one dtype, as in PyTorch (no promotion)."""
        if isinstance(self, Tensor) and isinstance(other, Tensor) \
                and self._data.dtype != other._data.dtype:
            raise RuntimeError(f"matmul: expected both operands to have the same dtype, but got "
                               f"{self._data.dtype} and {other._data.dtype}")
        x, y = coerce(self, other)
        if x._data.ndim == 0 or y._data.ndim == 0:
            raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                               f"{x.shape} and {y.shape}")
        return MatMul.apply(x, y)

    __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__ = add, sub, mul, div, pow, matmul
    __radd__, __rsub__, __rmul__ = reflected(add), reflected(sub), reflected(mul)
    __rtruediv__, __rpow__, __rmatmul__ = reflected(div), reflected(pow), reflected(matmul)

    def neg(self) -> "Tensor":
        """-self."""
        _refuse_bool("negation, the `-` operator,", self)
        return Neg.apply(self)

    def abs(self) -> "Tensor":
        """Absolute value (derivative sign(x), 0 at 0)."""
        return Abs.apply(as_tensor_operand(self))

    def relu(self) -> "Tensor":
        """max(x, 0)."""
        return Relu.apply(as_tensor_operand(self))

    __neg__, __abs__ = neg, abs

    def exp(self) -> "Tensor":
        """e ** self."""
        return Exp.apply(as_float(self))

    def log(self) -> "Tensor":
        """Natural logarithm."""
        return Log.apply(as_float(self))

    def sqrt(self) -> "Tensor":
        """Square root."""
        return Sqrt.apply(as_float(self))

    def sigmoid(self) -> "Tensor":
        """1 / (1 + e^-x), stable for any x."""
        return Sigmoid.apply(as_float(self))

    def tanh(self) -> "Tensor":
        """Hyperbolic tangent."""
        return Tanh.apply(as_float(self))

    def clone(self) -> "Tensor":
        """A copy with its own memory; gradients flow back to ``self``."""
        return Clone.apply(self)

    def _cast(self, dtype: np.dtype) -> "Tensor":
        """Convert to ``dtype``; differentiable between float dtypes, a constant otherwise."""
        if dtype == self._data.dtype:
            return self
        if dtype.kind == "f" and self._data.dtype.kind == "f":
            return Cast.apply(self, dtype=dtype)
        return Tensor._make(self._data.astype(dtype))

    def sum(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
            keepdims: bool | None = None, dtype: Any = None) -> "Tensor":
        """Sum over ``dim`` (all by default); bool and int tensors sum to int64."""
        x = as_tensor_operand(self)
        if dtype is not None:
            x = x._cast(np.dtype(dtype))
        elif x._data.dtype.kind == "b":
            x = x._cast(int64)
        return Sum.apply(x, axes=normalize_axes("sum", x._data.shape, dim, axis),
                         keepdim=bool(keepdim if keepdims is None else keepdims))

    def mean(self, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
             keepdims: bool | None = None) -> "Tensor":
        """Arithmetic mean over ``dim`` (all by default); floating tensors only, as PyTorch."""
        x = as_tensor_operand(self)
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype: the input must be a "
                               f"floating point tensor, got dtype {x._data.dtype}; convert it "
                               "with .float()")
        return Mean.apply(x, axes=normalize_axes("mean", x._data.shape, dim, axis),
                          keepdim=bool(keepdim if keepdims is None else keepdims))

    def reshape(self, *shape: Any) -> "Tensor":
        """Same data, new shape (one dimension may be -1)."""
        shape = shape_arg(shape)
        return self if shape == self._data.shape else Reshape.apply(self, shape=shape)

    view = reshape

    def permute(self, *dims: Any) -> "Tensor":
        """Reorder dimensions."""
        dims = shape_arg(dims)
        axes = tuple(normalize_dim("permute", self._data.shape, d) for d in dims)
        if sorted(axes) != list(range(self.ndim)):
            raise RuntimeError(f"permute: {dims} is not a permutation of the {self.ndim} "
                               f"dimensions of a tensor of shape {self.shape}")
        return Permute.apply(self, axes=axes)

    @property
    def T(self) -> "Tensor":
        """The tensor with its dimensions reversed."""
        return Permute.apply(self, axes=tuple(reversed(range(self._data.ndim))))

    def broadcast_to(self, shape: Sequence[int]) -> "Tensor":
        """A broadcast view with ``shape`` (gradients sum back)."""
        shape = tuple(int(s) for s in shape)
        return self if shape == self._data.shape else Expand.apply(self, shape=shape)

    def __getitem__(self, key: Any) -> "Tensor":
        """``self[key]``: ints, slices, None, Ellipsis, boolean masks, integer arrays."""
        return Index.apply(self, index=index_key(key))


def reset_grads(tensors: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Drop each tensor's gradient (``set_to_none``) or zero it in place where that is safe: the
    shared body of ``Module.zero_grad`` and ``Optimizer.zero_grad``."""
    for t in tensors:
        grad = t.grad
        if grad is None:
            continue
        if set_to_none:
            t.grad = None
        elif grad.requires_grad or not grad._data.flags.writeable:
            t.grad = Tensor._make(np.zeros_like(grad._data))
        else:
            grad._data[...] = 0
            grad._version_counter[0] += 1


def tensor(data: Any, dtype: DTypeLike = None, *, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Build a tensor from data (copied), as ``torch.tensor``: the dtype follows the values
    (Python floats -> the default dtype, ints -> int64, bools -> bool)."""
    check_device(device)
    t = Tensor._make(as_array(data, dtype))
    if requires_grad:
        check_can_require_grad(t._data.dtype)
        t._requires_grad = True
    return t


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (broadcasting all three)."""
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition, dtype=bool)
    x, y = coerce(input, other)
    try:
        np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise RuntimeError(f"where: condition {cond.shape}, input {x.shape} and other {y.shape} "
                           "cannot be broadcast together") from None
    return Where.apply(x, y, condition=cond)


def softplus(input: Any) -> Tensor:
    """log(1 + e^x), stable for any x."""
    return Softplus.apply(as_float(input))


# The rules and the engine import Tensor, so they are imported once it exists; importing the ops
# package also installs the op catalogue and the in-place methods onto Tensor.
from tinygrad_lr.autograd import engine  # noqa: E402
from tinygrad_lr.ops.rules import (Abs, Add, Cast, Clone, Div, Exp, Expand, Index,  # noqa: E402
                                   Log, MatMul, Mean, Mul, Neg, Permute, Pow, PowScalar, Relu,
                                   Reshape, RPowScalar, Sigmoid, Softplus, Sqrt, Sub, Sum, Tanh,
                                   Where)
