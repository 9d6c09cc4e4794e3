"""Shape ops, indexing, concatenation and matrix products: each forward beside its derivative."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function, crossed
from tinygrad_lr.kernels import products
from tinygrad_lr.ops.common import index_grad_array


class _ToShape(Function):
    """A view of x with a new ``shape``; the rule reads no values."""
    __slots__ = ("shape",)
    reads = ()
    is_view = True

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape


class Reshape(_ToShape):
    __slots__ = ()

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {self.shape} is invalid for a tensor of shape "
                               f"{x.shape} ({x.size} elements)") from None

    def backward(self, g, xp, x):
        return g.reshape(x.shape)


class Permute(Function):
    __slots__ = ("axes",)
    reads = ()
    is_view = True

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, g, xp, x):
        return xp.permute(g, tuple(np.argsort(self.axes)))


class Expand(_ToShape):
    __slots__ = ()

    def forward(self, x):
        try:
            return np.broadcast_to(x, self.shape)
        except ValueError:
            raise RuntimeError(f"expand: a tensor of shape {x.shape} cannot be expanded to "
                               f"shape {self.shape}") from None

    def backward(self, g, xp, x):
        return g  # summed back to x's shape by the engine


class Index(Function):
    """x[index] for ints, slices, None, Ellipsis, boolean masks and integer arrays."""
    __slots__ = ("index",)
    reads = ()
    is_view = True  # basic indexing gives a view, advanced indexing a copy

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


def _per_input(grads: list[Any]) -> Any:
    """A variadic rule's result: one bare gradient for one input (the Function contract), else
    the tuple."""
    return grads[0] if len(grads) == 1 else tuple(grads)


class _Join(Function):
    """Tensors joined along ``axis``: each input's gradient is its own part of g."""
    __slots__ = ("axis",)
    reads = ()

    def __init__(self, axis: int) -> None:
        self.axis = axis


class Cat(_Join):
    __slots__ = ()

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g, xp, *xs):
        grads, start = [], 0
        lead = (slice(None),) * self.axis
        for x, need in zip(xs, self.needs):
            stop = start + x.shape[self.axis]
            grads.append(g[lead + (slice(start, stop),)] if need else None)
            start = stop
        return _per_input(grads)


class Stack(_Join):
    __slots__ = ()

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, g, xp, *xs):
        lead = (slice(None),) * self.axis
        return _per_input([g[lead + (i,)] if need else None for i, need in enumerate(self.needs)])


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
        if x.ndim == 2 and y.ndim == 1:  # matrix @ vector (a linear model): no reshapes needed
            return (g.reshape((-1, 1)) * y if self.needs[0] else None,
                    xp.vector_matrix(g, x) if self.needs[1] else None)
        if x.ndim == 1 and y.ndim == 1:  # dot product (a squared norm, say): g is a scalar
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
        gy = None
        if self.needs[1]:
            gy = x2.swapaxes(-1, -2) @ g
            if y.ndim == 1:  # drop the promoted column
                gy = gy.reshape(gy.shape[:-1])
        return gx, gy


class Linear(Function):
    """x @ w.T + b (b optional) in one node, as PyTorch's addmm: what nn.Linear computes, with
    no transpose node and no separate addition. Derivatives: g @ w, g.T @ x (over all leading
    dimensions of x) and g summed to b's shape."""
    __slots__ = ()
    reads = crossed()

    def forward(self, x, w, b=None):
        out = np.matmul(x, w.T)
        if b is None:
            return out
        # A bias of at most one dimension cannot enlarge the product: add it in place.
        return np.add(out, b, out=out) if b.ndim <= 1 else out + b

    def backward(self, g, xp, x, w, b=None):
        gx = g @ w if self.needs[0] else None
        gw = None
        if self.needs[1]:
            rows_g = g.reshape((-1, g.shape[-1])) if g.ndim != 2 else g
            rows_x = x.reshape((-1, x.shape[-1])) if x.ndim != 2 else x
            gw = rows_g.T @ rows_x
        if b is None:
            return gx, gw
        return gx, gw, (g if self.needs[2] else None)


class IndexPut(Function):
    """x with x[index] = v, out of place: the value setitem writes (``x[index] = v``) and the
    in-place fills. The written positions take their gradient from v, the others from x; the
    rule reads neither value."""
    __slots__ = ("index",)
    reads = ()

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x, v):
        out = x.copy()
        out[self.index] = v
        return out

    def backward(self, g, xp, x, v):
        gx = xp.zero_at(g, self.index) if self.needs[0] else None
        gv = g[self.index] if self.needs[1] else None
        return gx, gv
