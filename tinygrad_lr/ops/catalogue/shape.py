"""Op catalogue: shape conveniences on the core's reshape and permute (``flatten``, ``squeeze``,
``unsqueeze``, ``transpose``, ``t``), and joining tensors (``cat``, ``stack``), whose rules hand
each input its own part of the gradient."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.tensor import Tensor, as_tensor_operand, normalize_dim, promote


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    if input._data.ndim == 0:
        return input.reshape(1)
    start = normalize_dim("flatten", input.shape, start_dim)
    end = normalize_dim("flatten", input.shape, end_dim)
    if start > end:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                           f"tensor of shape {input.shape}")
    shape = input.shape
    return input.reshape(shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dimensions of size 1 (only ``dim`` when given; a no-op if its size is not 1)."""
    shape = input.shape
    if dim is None:
        return input.reshape(tuple(n for n in shape if n != 1))
    dims = {normalize_dim("squeeze", shape, d) for d in ((dim,) if isinstance(dim, int) else dim)}
    return input.reshape(tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    dim = normalize_dim("unsqueeze", input.shape, dim, extra=1)
    shape = input.shape
    return input.reshape(shape[:dim] + (1,) + shape[dim:])


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    if input._data.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    d0, d1 = (normalize_dim("transpose", input.shape, d) for d in (dim0, dim1))
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return input.permute(tuple(axes))


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with at most 2 dimensions, got shape {input.shape}")
    return transpose(input, 0, -1)


class Join(Function):
    """Tensors joined along ``axis``: each input's gradient is its own part of g (a bare
    gradient for one input, as the Function contract has it)."""
    __slots__ = ("axis",)
    reads = ()

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def backward(self, g, xp, *xs):
        lead = (slice(None),) * self.axis
        grads = [g[lead + (part,)] if need else None
                 for part, need in zip(self.parts(xs), self.needs)]
        return grads[0] if len(grads) == 1 else tuple(grads)


class Cat(Join):
    __slots__ = ()

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def parts(self, xs: Sequence[Any]) -> list[slice]:
        """Each input's slice of the joined axis."""
        stops = np.cumsum([x.shape[self.axis] for x in xs]).tolist()
        return [slice(stop - x.shape[self.axis], stop) for x, stop in zip(xs, stops)]


class Stack(Join):
    __slots__ = ()

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def parts(self, xs: Sequence[Any]) -> range:
        """Each input's index on the new axis."""
        return range(len(xs))


def _common_dtype(tensors: Sequence[Any]) -> list[Tensor]:
    tensors = [as_tensor_operand(x) for x in tensors]
    dtype = tensors[0]._data.dtype
    for x in tensors[1:]:
        if x._data.dtype != dtype:
            dtype = promote(np.empty(1, dtype), np.empty(1, x.dtype))
    return [x._cast(dtype) for x in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    if not tensors:
        raise RuntimeError("cat: expected a non-empty sequence of tensors")
    tensors = _common_dtype(tensors)
    axis = normalize_dim("cat", tensors[0].shape, dim)
    first = tensors[0].shape
    for i, x in enumerate(tensors[1:], 1):
        if x.ndim != len(first) or x.shape[:axis] + x.shape[axis + 1:] != \
                first[:axis] + first[axis + 1:]:
            raise RuntimeError(f"cat: tensor {i} has shape {x.shape}, which does not match shape "
                               f"{first} of tensor 0 outside dimension {axis}")
    return Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    if not tensors:
        raise RuntimeError("stack: expected a non-empty sequence of tensors")
    tensors = _common_dtype(tensors)
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack: tensor {i} has shape {x.shape}, but tensor 0 has shape "
                               f"{tensors[0].shape}; all must be equal")
    return Stack.apply(*tensors, axis=normalize_dim("stack", tensors[0].shape, dim, extra=1))


for _function in (flatten, squeeze, unsqueeze, transpose, t):
    setattr(Tensor, _function.__name__, _function)
Tensor.swapaxes = transpose
