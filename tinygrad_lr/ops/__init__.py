"""The differentiable operations, installed onto :class:`~tinygrad_lr.tensor.Tensor` as methods
and operators, and the tensor namespace that makes every derivative rule differentiable."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.tensor import Tensor
from tinygrad_lr.ops import functional as fn
from tinygrad_lr.ops.common import ArrayOps
from tinygrad_lr.ops.inplace import install_inplace
from tinygrad_lr.ops.elementwise import Sign
from tinygrad_lr.ops.movement import IndexGrad, IndexPut


def _prod_of_others(x: Tensor, axis: int) -> Tensor:
    """Differentiable product of the other elements along ``axis`` (O(n^2), higher orders only)."""
    n = x.shape[axis]
    moved = fn.transpose(x, axis, -1) if axis != x.ndim - 1 else x
    grid = fn.broadcast_to(fn.unsqueeze(moved, -2), moved.shape[:-1] + (n, n))
    without_self = fn.where(np.eye(n, dtype=bool), 1.0, grid)
    others = fn.prod(without_self, -1)
    return fn.transpose(others, axis, -1) if axis != x.ndim - 1 else others


class TensorOps:
    """The namespace derivative rules use under ``create_graph=True``: the same functions on
    Tensors, so the gradient computation is itself recorded."""

    graph = True
    exp = staticmethod(fn.exp)
    log = staticmethod(fn.log)
    sqrt = staticmethod(fn.sqrt)
    tanh = staticmethod(fn.tanh)
    sigmoid = staticmethod(fn.sigmoid)
    broadcast_to = staticmethod(fn.broadcast_to)
    permute = staticmethod(fn.permute)
    prod_of_others = staticmethod(_prod_of_others)
    vector_matrix = staticmethod(fn.matmul)

    sign = staticmethod(Sign.apply)

    @staticmethod
    def index_grad(g: Tensor, index: Any, shape: tuple[int, ...]) -> Tensor:
        """Scatter-add ``g`` into zeros of ``shape``, recorded."""
        return IndexGrad.apply(g, index=index, shape=shape)

    @staticmethod
    def cast(g: Tensor, dtype: np.dtype) -> Tensor:
        """Convert to ``dtype``, recorded."""
        return fn.to_dtype(g, dtype)

    @staticmethod
    def zero_at(g: Tensor, index: Any) -> Tensor:
        """``g`` with zeros at ``index``, recorded."""
        return IndexPut.apply(g, Tensor._make(np.zeros((), g._data.dtype)), index=index)


Function.array_ops = ArrayOps
Function.tensor_ops = TensorOps


def _install() -> None:
    """Attach the operations to Tensor: operators, methods and PyTorch's aliases."""
    methods = {
        "__add__": fn.add, "__radd__": fn.reflected(fn.add), "__sub__": fn.sub,
        "__rsub__": fn.reflected(fn.sub), "__mul__": fn.mul, "__rmul__": fn.reflected(fn.mul),
        "__truediv__": fn.div, "__rtruediv__": fn.reflected(fn.div), "__pow__": fn.pow,
        "__rpow__": fn.reflected(fn.pow), "__matmul__": fn.matmul,
        "__rmatmul__": fn.reflected(fn.matmul), "__neg__": fn.neg, "__abs__": fn.abs,
        "__getitem__": fn.index, "__eq__": fn.eq, "__ne__": fn.ne, "__lt__": fn.lt,
        "__le__": fn.le, "__gt__": fn.gt, "__ge__": fn.ge, "__invert__": fn.logical_not,
        "add": fn.add, "sub": fn.sub, "mul": fn.mul, "div": fn.div, "pow": fn.pow,
        "neg": fn.neg, "clone": fn.clone, "matmul": fn.matmul, "mm": fn.mm, "exp": fn.exp, "log": fn.log,
        "log1p": fn.log1p, "sqrt": fn.sqrt, "abs": fn.abs, "sigmoid": fn.sigmoid,
        "tanh": fn.tanh, "relu": fn.relu, "clamp": fn.clamp, "clip": fn.clamp,
        "maximum": fn.maximum, "minimum": fn.minimum, "sum": fn.sum, "mean": fn.mean,
        "var": fn.var, "std": fn.std, "prod": fn.prod, "amax": fn.amax, "amin": fn.amin,
        "max": fn.max, "min": fn.min, "logsumexp": fn.logsumexp, "argmax": fn.argmax,
        "argmin": fn.argmin, "reshape": fn.reshape, "view": fn.reshape, "flatten": fn.flatten,
        "squeeze": fn.squeeze, "unsqueeze": fn.unsqueeze, "transpose": fn.transpose,
        "swapaxes": fn.transpose, "permute": fn.permute, "t": fn.t, "expand": fn.expand,
        "broadcast_to": fn.broadcast_to, "eq": fn.eq, "ne": fn.ne, "lt": fn.lt, "le": fn.le,
        "gt": fn.gt, "ge": fn.ge, "_cast": fn.to_dtype,
    }
    for name, method in methods.items():
        setattr(Tensor, name, method)
    Tensor.T = property(lambda self: fn.permute(self, tuple(reversed(range(self.ndim)))),
                        doc="The tensor with its dimensions reversed.")


_install()
install_inplace(Tensor)
