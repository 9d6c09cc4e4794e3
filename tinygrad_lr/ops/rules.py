"""The textbook rules: each differentiable op of the lesson core, its forward beside its derivative.

A rule's ``forward`` runs on NumPy arrays; its ``backward(g, xp, *inputs)`` maps the output
gradient ``g`` to one gradient per input, written with operators and ``xp.*`` only, so the same
rule runs on arrays (``xp`` = :class:`~tinygrad_lr.ops.arrays.ArrayOps`) and, under
``create_graph=True``, on Tensors (``xp`` = :class:`TensorOps`), which makes every derivative
differentiable again. A rule returns gradients of the broadcast shape (the engine sums them back)
and None where ``self.needs`` says an input needs none. ``reads`` and ``saves_output`` declare the
values a rule reads, so that backward can refuse values changed in place since (see ``Function``).

More ops (maximum, minimum and clamp, trigonometry, rounding, linear algebra, sorting, extra
reductions, the multiclass and other losses) are in the op catalogue,
:mod:`tinygrad_lr.ops.catalogue`, written in the same pattern.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tinygrad_lr.autograd.function import Function, crossed
from tinygrad_lr.kernels import elementwise as kernels
from tinygrad_lr.kernels import products
from tinygrad_lr.ops.arrays import ArrayOps, index_grad_array
from tinygrad_lr.tensor import Tensor


# ---- elementwise ops of one input whose derivative is one expression ----------------------------
class Elementwise(Function):
    """An op made by :func:`elementwise`: ``function`` is its forward on arrays, and
    ``derivative(g, x, y, xp)`` is dL/dx from the output gradient g, the input x and the output
    y. Its result is new memory, so 0-d floating inputs come as NumPy scalars (see
    ``Function.on_scalars``)."""
    __slots__ = ()
    on_scalars = True
    function: Callable[[Any], Any]
    derivative: Callable[..., Any]

    def forward(self, x):
        out = self.out = self.function(x)  # kept for the derivative
        return out

    def backward(self, g, xp, x):
        y = self.out if self.saves_output else None  # the output, if the derivative reads it
        if xp.graph and y is not None:
            y = Tensor._make(y, self)
        return self.derivative(g, x, y, xp)


def elementwise(name: str, forward: Callable[[Any], Any], derivative: Callable[..., Any],
                uses: str) -> type:
    """The op class ``name`` from its forward and its derivative, side by side (HIPS autograd's
    ``defvjp``). ``uses`` names the values the derivative reads, "x" (the input) and/or "y" (the
    output): the node keeps, and checks the versions of, exactly those."""
    members = {"__slots__": (), "__module__": __name__, "function": staticmethod(forward),
               "derivative": staticmethod(derivative), "reads": (0,) if "x" in uses else (),
               "saves_output": "y" in uses}
    op = type(name, (Elementwise,), members)
    if "y" not in uses:  # no output to keep: the array function is the forward itself (set
        op.forward = staticmethod(forward)  # after the class, which is no user ctx-style Function)
    return op


Neg = elementwise("Neg", np.negative, lambda g, x, y, xp: -g, uses="")
Clone = elementwise("Clone", np.copy, lambda g, x, y, xp: g, uses="")
Exp = elementwise("Exp", np.exp, lambda g, x, y, xp: g * y, uses="y")
Log = elementwise("Log", np.log, lambda g, x, y, xp: g / x, uses="x")
Sqrt = elementwise("Sqrt", np.sqrt, lambda g, x, y, xp: g / (y * 2), uses="y")
Abs = elementwise("Abs", np.abs, lambda g, x, y, xp: g * xp.sign(x), uses="x")
# sign has derivative 0, but is recorded under create_graph so that the gradients built on it
# (abs, relu) keep their graph, as PyTorch's do.
Sign = elementwise("Sign", np.sign, lambda g, x, y, xp: g * 0, uses="")
# Its own op, not composed from exp: e^-x overflows for large |x|.
Sigmoid = elementwise("Sigmoid", kernels.sigmoid, lambda g, x, y, xp: g * y * (1 - y), uses="y")
# (1 - y)(1 + y), not 1 - y*y: y*y underflows for tiny y, and 1 - y is exact near y = 1.
Tanh = elementwise("Tanh", np.tanh, lambda g, x, y, xp: g * ((1 - y) * (1 + y)), uses="y")
# Derivative 0 at x = 0, as PyTorch's, read from the output: y > 0 exactly where x > 0.
Relu = elementwise("Relu", lambda x: np.maximum(x, 0), lambda g, x, y, xp: g * xp.sign(y),
                   uses="y")
# log(1 + e^x), finite for any x.
Softplus = elementwise("Softplus", kernels.softplus, lambda g, x, y, xp: g * xp.sigmoid(x),
                       uses="x")


# ---- arithmetic ---------------------------------------------------------------------------------
class Add(Function):
    """x + y: the gradient passes to both operands unchanged."""
    __slots__ = ()
    on_scalars = True
    reads = ()

    def forward(self, x, y):
        return kernels.add(x, y)

    def backward(self, g, xp, x, y):
        return (g if self.needs[0] else None), (g if self.needs[1] else None)


class Sub(Add):
    """x - y: as Add, with the second operand's gradient negated."""
    __slots__ = ()

    def forward(self, x, y):
        return kernels.subtract(x, y)

    def backward(self, g, xp, x, y):
        return (g if self.needs[0] else None), (-g if self.needs[1] else None)


class Mul(Function):
    __slots__ = ()
    on_scalars = True
    reads = crossed()  # d(xy)/dx = y: each input is read only for the other's gradient

    def forward(self, x, y):
        return kernels.multiply(x, y)

    def backward(self, g, xp, x, y):
        return (g * y if self.needs[0] else None), (g * x if self.needs[1] else None)


class Div(Function):
    __slots__ = ()
    on_scalars = True
    # x / y: the divisor always, the dividend for the divisor's gradient.
    reads = {(True, True): (0, 1), (True, False): (1,), (False, True): (0, 1)}

    def forward(self, x, y):
        return x / y

    def backward(self, g, xp, x, y):
        gx = g / y
        return (gx if self.needs[0] else None), (-gx * x / y if self.needs[1] else None)


class Pow(Function):
    """x ** y with both operands tensors."""
    __slots__ = ()
    on_scalars = True
    saves_output = True

    def forward(self, x, y):
        self.out = x ** y
        return self.out

    def backward(self, g, xp, x, y):
        # d/dx x^y = y x^(y-1), taken as 0 where y == 0 (as PyTorch: 0 * 0^-1 would be nan).
        gx = g * y * x ** (y - 1 + (y == 0)) if self.needs[0] else None
        # d/dy x^y = x^y log x; at x == 0 PyTorch takes it as 0 (the limit for y > 0).
        gy = g * self.result(xp) * xp.log(x + (x == 0)) * (x != 0) if self.needs[1] else None
        return gx, gy


class PowScalar(Function):
    """x ** c for a Python number c."""
    __slots__ = ("exponent",)
    on_scalars = True

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def forward(self, x):
        return x ** self.exponent

    def backward(self, g, xp, x):
        c = self.exponent
        return g * 0 if c == 0 else g * c * x ** (c - 1)


class RPowScalar(Function):
    """c ** x for a Python number c."""
    __slots__ = ("base",)
    on_scalars = True
    saves_output = True

    def __init__(self, base: float) -> None:
        self.base = base

    def forward(self, x):
        self.out = self.base ** x
        return self.out

    def backward(self, g, xp, x):
        return g * self.result(xp) * float(np.log(self.base))


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
        return (g * c if self.needs[0] else None), (g * ~c if self.needs[1] else None)


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


# ---- reductions ---------------------------------------------------------------------------------
def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` with the reduced axes kept as size 1 (``keepdims=True``)."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Reduction(Function):
    """A reduction over ``axes`` (None: all), keeping them as size 1 when ``keepdim``."""
    __slots__ = ("axes", "keepdim")
    reads = ()

    def __init__(self, axes: tuple[int, ...] | None, keepdim: bool) -> None:
        self.axes, self.keepdim = axes, keepdim

    def spread(self, g: Any, xp: Any, shape: tuple[int, ...]) -> Any:
        """Broadcast the output gradient back over the reduced dimensions."""
        if not self.keepdim:
            g = g.reshape(kept_shape(shape, self.axes))
        return xp.broadcast_to(g, shape)


class Sum(Reduction):
    __slots__ = ()

    def forward(self, x):
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g, xp, x):
        return self.spread(g, xp, x.shape)


class Mean(Reduction):
    __slots__ = ("count",)

    def forward(self, x):
        out = x.mean(axis=self.axes, keepdims=self.keepdim)
        self.count = x.size // out.size if out.size else 0
        return out

    def backward(self, g, xp, x):
        return self.spread(g / self.count, xp, x.shape)


# ---- shapes and indexing (views: the rules read no values) --------------------------------------
class View(Function):
    """An op whose result may share its input's memory (and then its version counter)."""
    __slots__ = ()
    reads = ()
    is_view = True


class ToShape(View):
    """x viewed with a new ``shape``: reshaped, or expanded (broadcast)."""
    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        try:
            return self.view(x, self.shape)
        except ValueError:
            raise RuntimeError(self.error(x)) from None


class Reshape(ToShape):
    __slots__ = ()
    view = staticmethod(np.reshape)

    def error(self, x: np.ndarray) -> str:
        return f"reshape: shape {self.shape} is invalid for a tensor of shape {x.shape} " \
               f"({x.size} elements)"

    def backward(self, g, xp, x):
        return g.reshape(x.shape)


class Expand(ToShape):
    __slots__ = ()
    view = staticmethod(np.broadcast_to)

    def error(self, x: np.ndarray) -> str:
        return f"expand: a tensor of shape {x.shape} cannot be expanded to shape {self.shape}"

    def backward(self, g, xp, x):
        return g  # summed back to x's shape by the engine


class Permute(View):
    __slots__ = ("axes",)

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, g, xp, x):
        return xp.permute(g, tuple(np.argsort(self.axes)))


class Index(View):
    """x[index] for ints, slices, None, Ellipsis, boolean masks and integer arrays (basic
    indexing gives a view, advanced indexing a copy)."""
    __slots__ = ("index",)

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x):
        try:
            out = x[self.index]
            if type(out) is not np.ndarray:  # integers only: a 0-d view, as PyTorch's x[i]
                index = self.index if isinstance(self.index, tuple) else (self.index,)
                out = x[index + (Ellipsis,)]
            return out
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor shape {x.shape})") from None

    def backward(self, g, xp, x):
        return xp.index_grad(g, self.index, x.shape)


class IndexGrad(Function):
    """Scatter-add into zeros: the derivative of Index, whose own derivative is Index again."""
    __slots__ = ("index", "shape")
    reads = ()

    def __init__(self, index: Any, shape: tuple[int, ...]) -> None:
        self.index, self.shape = index, shape

    def forward(self, g):
        return index_grad_array(g, self.index, self.shape)

    def backward(self, g, xp, x):
        return g[self.index]


class IndexPut(Function):
    """x with x[index] = v, out of place: what ``x[index] = v`` and the in-place fills write.
    The written positions take their gradient from v, the others from x; no value is read."""
    __slots__ = ("index",)
    reads = ()

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x, v):
        out = x.copy()
        out[self.index] = v
        return out

    def backward(self, g, xp, x, v):
        return (xp.zero_at(g, self.index) if self.needs[0] else None,
                g[self.index] if self.needs[1] else None)


# ---- matrix products ----------------------------------------------------------------------------
class MatMul(Function):
    """Matrix product with NumPy's rules (1-D operands promoted, batch dimensions broadcast)."""
    __slots__ = ()
    reads = crossed()

    def forward(self, x, y):
        try:
            return products.matmul(x, y)
        except ValueError:
            inner_x = x.shape[-1] if x.ndim else None
            inner_y = y.shape[-2] if y.ndim > 1 else y.shape[0] if y.ndim else None
            problem = (f"inner dimensions {inner_x} and {inner_y} must match" if inner_x != inner_y
                       else f"batch dimensions {x.shape[:-2]} and {y.shape[:-2]} cannot be "
                       "broadcast together")
            raise RuntimeError(f"matmul: shapes {x.shape} and {y.shape} cannot be multiplied "
                               f"({problem})") from None

    def backward(self, g, xp, x, y):
        if x.ndim == 2 and y.ndim == 1:  # matrix @ vector (a linear model): dw = g @ X
            return (g.reshape((-1, 1)) * y if self.needs[0] else None,
                    xp.vector_matrix(g, x) if self.needs[1] else None)
        if x.ndim == 1 and y.ndim == 1:  # dot product: g is a scalar
            return (g * y if self.needs[0] else None), (g * x if self.needs[1] else None)
        # Promote 1-D operands to matrices, as the forward did, so one rule covers every case;
        # the engine sums the broadcast batch dimensions (and the promoted 1) back.
        x2 = x.reshape((1,) + x.shape) if x.ndim == 1 else x
        y2 = y.reshape(y.shape + (1,)) if y.ndim == 1 else y
        if x.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if y.ndim > 1 else g.reshape((1,))
        if y.ndim == 1:
            g = g.reshape(g.shape + (1,))
        gx = g @ y2.swapaxes(-1, -2) if self.needs[0] else None
        gy = x2.swapaxes(-1, -2) @ g if self.needs[1] else None
        if gy is not None and y.ndim == 1:  # drop the promoted column
            gy = gy.reshape(gy.shape[:-1])
        return gx, gy


# ---- the fused losses ---------------------------------------------------------------------------
class ReducedLoss(Function):
    """A loss computed elementwise, then returned as is (``none``), summed or averaged.
    ``weight`` is a constant array broadcastable to the input, of its dtype (or None)."""
    __slots__ = ("reduction", "count", "weight")

    def __init__(self, reduction: str, weight: np.ndarray | None = None) -> None:
        self.reduction, self.weight, self.count = reduction, weight, 1

    def reduce(self, loss: np.ndarray) -> np.ndarray:
        """Apply the reduction (and the weight) to the elementwise loss."""
        if self.weight is not None:  # every caller passes a fresh array: scale it in place
            loss = np.multiply(loss, self.weight, out=loss if type(loss) is np.ndarray else None)
        self.count = loss.size
        if self.reduction == "none":
            return loss
        total = np.add.reduce(loss, axis=None)
        return total / loss.size if self.reduction == "mean" else total

    def upstream(self, g: Any) -> Any:
        """The output gradient as the factor of each element's derivative (weight included)."""
        if self.reduction == "mean":
            g = g / self.count
        return g if self.weight is None else g * self.weight


def softplus_rule(xp: Any, z: Any) -> Any:
    """log(1 + e^z) in the rule vocabulary, finite for any z: max(z, 0) - log(sigmoid(|z|))."""
    return z * (z > 0) - xp.log(xp.sigmoid(xp.sign(z) * z))


class BinaryCrossEntropyWithLogits(ReducedLoss):
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] on logits x (p = pos_weight), as
    (1 - y) x + (1 + (p - 1) y) softplus(-x): finite for any x; derivative w (sigmoid(x) - y).

    The common case (no weights, x and y of one shape, a summed or averaged loss) runs the fused
    kernels: the loss in three passes over x, the derivative in one (see kernels.elementwise)."""
    __slots__ = ("pos_weight", "fused", "e", "nonnegative")

    def __init__(self, reduction: str, weight: np.ndarray | None = None,
                 pos_weight: np.ndarray | None = None) -> None:
        super().__init__(reduction, weight)
        self.pos_weight = pos_weight

    def forward(self, x, y):
        self.fused = (self.pos_weight is None and self.weight is None
                      and self.reduction != "none" and x.shape == y.shape)
        if self.fused:  # e^-|x| and the mask x >= 0 are kept for the derivative's sigmoid
            self.count = x.size
            total, self.e, self.nonnegative = kernels.bce_with_logits_sum(x, y)
            return total / x.size if self.reduction == "mean" else total
        softplus_neg = kernels.softplus(-x)
        if self.pos_weight is not None:
            softplus_neg = (1 + (self.pos_weight - 1) * y) * softplus_neg
        return self.reduce((1 - y) * x + softplus_neg)

    def backward(self, g, xp, x, y):
        g = self.upstream(g)
        p = self.pos_weight
        gx = gy = None
        if self.needs[0]:
            if self.fused and not xp.graph:  # the same arithmetic, fused
                gx = kernels.bce_with_logits_grad(self.e, self.nonnegative, x, y, g)
            else:
                s = xp.sigmoid(x)
                gx = (s - y) * g if p is None else g * ((1 + (p - 1) * y) * s - p * y)
        if self.needs[1]:
            gy = -g * x if p is None else g * ((p - 1) * softplus_rule(xp, -x) - x)
        return gx, gy

    def release(self) -> None:
        """Also drop the kept e^-|x| and mask."""
        super().release()
        self.e = self.nonnegative = None


# ---- the namespace of the rules on Tensors (on arrays: ArrayOps, tinygrad_lr/ops/arrays.py) -----
class TensorOps:
    """``xp`` under ``create_graph=True``: the same functions on Tensors, so the gradient
    computation is itself recorded."""
    graph = True
    exp, log, sqrt, tanh = Exp.apply, Log.apply, Sqrt.apply, Tanh.apply
    sigmoid, sign = Sigmoid.apply, Sign.apply
    broadcast_to = staticmethod(Tensor.broadcast_to)
    permute = staticmethod(Tensor.permute)
    vector_matrix = staticmethod(Tensor.matmul)
    cast = staticmethod(Tensor._cast)

    @staticmethod
    def index_grad(g: Tensor, index: Any, shape: tuple[int, ...]) -> Tensor:
        """Scatter-add ``g`` into zeros of ``shape``, recorded."""
        return IndexGrad.apply(g, index=index, shape=shape)

    @staticmethod
    def zero_at(g: Tensor, index: Any) -> Tensor:
        """``g`` with zeros at ``index``, recorded."""
        return IndexPut.apply(g, Tensor._make(np.zeros((), g._data.dtype)), index=index)


Function.array_ops = ArrayOps
Function.tensor_ops = TensorOps
