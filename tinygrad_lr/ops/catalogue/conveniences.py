"""Op catalogue: Tensor helpers tutorial code reaches for, composed from the recorded ops (so differentiable
wherever their parts are): ``view_as``/``reshape_as``/``expand_as``/``type_as``, ``new_*``,
``masked_fill``, ``repeat``, ``flip``, ``roll``, ``chunk``/``split``, ``meshgrid``, ``diag``,
``trace``, ``diff``, ``lerp``, ``median``, ``std_mean``/``var_mean``, and the non-differentiable
``unique``, ``nonzero``, ``count_nonzero``."""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

import numpy as np

from tinygrad_lr.ops.catalogue.reductions import ValuesIndices
from tinygrad_lr.ops.catalogue.shape import cat
from tinygrad_lr.ops.catalogue.sorting import sort
from tinygrad_lr.ops.inplace import inplace_variant
from tinygrad_lr.tensor import (Tensor, as_tensor_operand, get_default_dtype, int64, normalize_axes,
                                shape_arg, where)


def _dim(x: Tensor, dim: int) -> int:
    (axis,) = normalize_axes("dim", x.shape, dim, None) or (0,)
    return axis


def _along(x: Tensor, axis: int, index: Any) -> Tensor:
    return x[(slice(None),) * axis + (index,)]


def view_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor viewed with ``other``'s shape."""
    return Tensor.reshape(self, other.shape)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor broadcast to ``other``'s shape."""
    return Tensor.broadcast_to(self, other.shape)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    """This tensor converted to ``other``'s dtype."""
    return self.to(other.dtype)


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """This tensor (NumPy-backed tensors need no contiguous copy to be viewed)."""
    return self


def _new(fill: Any) -> Any:
    def method(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
        from tinygrad_lr import factories
        shape = shape_arg(size)
        return getattr(factories, fill)(shape, dtype=dtype or self.dtype, device=device,
                                        requires_grad=requires_grad)
    method.__doc__ = f"A new tensor of ``{fill}`` with this tensor's dtype (unless given)."
    return method


def new_full(self: Tensor, size: Sequence[int], fill_value: Any, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor filled with ``fill_value``, with this tensor's dtype (unless given)."""
    from tinygrad_lr import factories
    return factories.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                          requires_grad=requires_grad)


def new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """A new tensor of ``data`` with this tensor's dtype (unless given)."""
    from tinygrad_lr.tensor import tensor
    return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, else the input (gradient flows where the mask is
    false, and to a tensor ``value`` where it is true)."""
    mask_data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask_data.dtype != np.bool_:
        raise RuntimeError(f"masked_fill only supports boolean masks, but got mask with dtype "
                           f"{mask_data.dtype}")
    if not isinstance(value, Tensor):
        value = Tensor._make(np.array(value, dtype=input.dtype))
    elif value._data.ndim:
        raise RuntimeError(f"masked_fill only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s)")
    out = where(mask_data, value.to(input.dtype), input)
    return out if out.shape == input.shape else Tensor.broadcast_to(out, input.shape)


def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor tiled ``sizes`` times along each dimension (leading new dimensions allowed)."""
    reps = shape_arg(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    shape = (1,) * (len(reps) - self.ndim) + tuple(self.shape)
    interleaved = [n for s in shape for n in (1, s)]
    expanded = [n for r, s in zip(reps, shape) for n in (r, s)]
    tiled = Tensor.broadcast_to(Tensor.reshape(self, tuple(interleaved)), tuple(expanded))
    return Tensor.reshape(tiled, tuple(r * s for r, s in zip(reps, shape)))


def flip(input: Tensor, dims: Any) -> Tensor:
    """The tensor with the order of elements reversed along ``dims``."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = {_dim(input, d) for d in dims}
    key = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(input.ndim))
    return input[key]


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Elements shifted cyclically by ``shifts`` along ``dims`` (the flattened tensor if None)."""
    if dims is None:
        return Tensor.reshape(roll(Tensor.flatten(input), shifts, 0), input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = input
    for shift, d in zip(shifts, dims):
        axis = _dim(out, d)
        n = out.shape[axis]
        k = shift % n if n else 0
        if k:
            tail, head = _along(out, axis, slice(n - k, None)), _along(out, axis, slice(0, n - k))
            out = cat([tail, head], axis)
    return out


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    axis = _dim(tensor, dim)
    n = tensor.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = builtins.max(split_size_or_sections, 1)
        sizes = [builtins.min(step, n - start) for start in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(_along(tensor, axis, slice(start, start + size)))
        start += size
    return tuple(pieces)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size ceil(n / chunks) along ``dim``."""
    n = input.shape[_dim(input, dim)]
    return split(input, builtins.max(math.ceil(n / chunks), 1), dim)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (``indexing='xy'`` swaps the first two axes)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    vectors = [Tensor.reshape(as_tensor_operand(t), -1) for t in tensors]
    order = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) > 1:
        order[0], order[1] = 1, 0
    shape = tuple(vectors[i].shape[0] for i in order)
    grids = []
    for i, v in enumerate(vectors):
        position = order.index(i)
        view = [1] * len(vectors)
        view[position] = v.shape[0]
        grids.append(Tensor.broadcast_to(Tensor.reshape(v, tuple(view)), shape))
    return tuple(grids)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the diagonal of a square matrix, or a matrix's diagonal as a 1-D tensor."""
    x = as_tensor_operand(input)
    if x.ndim == 1:
        n = x.shape[0] + builtins.abs(diagonal)
        rows = np.arange(x.shape[0]) + builtins.max(-diagonal, 0)
        cols = np.arange(x.shape[0]) + builtins.max(diagonal, 0)
        placed = np.zeros((x.shape[0], n * n), dtype=x.dtype)
        placed[np.arange(x.shape[0]), rows * n + cols] = 1
        return Tensor.reshape(Tensor.matmul(x, Tensor._make(placed)), (n, n))
    if x.ndim != 2:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")
    rows, cols = x.shape
    start_row, start_col = builtins.max(-diagonal, 0), builtins.max(diagonal, 0)
    length = builtins.max(builtins.min(rows - start_row, cols - start_col), 0)
    return x[np.arange(length) + start_row, np.arange(length) + start_col]


def trace(input: Tensor) -> Tensor:
    """The sum of a matrix's diagonal."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return Tensor.sum(diag(input))


def diff(input: Tensor, n: int = 1, dim: int = -1) -> Tensor:
    """The n-th forward difference along ``dim``."""
    axis = _dim(input, dim)
    out = input
    for _ in range(n):
        out = _along(out, axis, slice(1, None)) - _along(out, axis, slice(None, -1))
    return out


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """input + weight * (end - input)."""
    return Tensor.add(input, Tensor.mul(weight, Tensor.sub(end, input)))


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median (of all elements, or (values, indices) along ``dim``), as PyTorch."""
    if dim is None:
        flat = Tensor.reshape(input, -1)
        return sort(flat).values[(flat.shape[0] - 1) // 2]
    axis = _dim(input, dim)
    result = sort(input, axis)
    k = (input.shape[axis] - 1) // 2
    values, indices = _along(result.values, axis, k), _along(result.indices, axis, k)
    if keepdim:
        values, indices = Tensor.unsqueeze(values, axis), Tensor.unsqueeze(indices, axis)
    return ValuesIndices(values, indices)


def std_mean(input: Tensor, dim: Any = None, *, correction: float = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``dim``."""
    return (Tensor.std(input, dim, keepdim=keepdim, correction=correction),
            Tensor.mean(input, dim, keepdim=keepdim))


def var_mean(input: Tensor, dim: Any = None, *, correction: float = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``dim``."""
    return (Tensor.var(input, dim, keepdim=keepdim, correction=correction),
            Tensor.mean(input, dim, keepdim=keepdim))


def cov(input: Tensor, *, correction: int = 1) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in the
    columns), with Bessel's correction by default."""
    x = as_tensor_operand(input)
    x = x if x._data.dtype.kind == "f" else x.to(get_default_dtype())
    rows = Tensor.reshape(x, (1, -1)) if x.ndim < 2 else x
    centered = rows - Tensor.mean(rows, 1, keepdim=True)
    out = Tensor.matmul(centered, Tensor.transpose(centered, 0, 1)) / builtins.max(
        rows.shape[1] - correction, 0)
    return Tensor.reshape(out, ()) if x.ndim < 2 else out


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``."""
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = Tensor.sqrt(diag(c))
    return Tensor.clamp(c / Tensor.unsqueeze(d, 1) / Tensor.unsqueeze(d, 0), -1.0, 1.0)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: Any = None) -> Any:
    """The distinct values, sorted (with the inverse indices and counts when asked)."""
    values, inverse, counts = np.unique(input._data, return_inverse=True, return_counts=True,
                                        axis=dim)
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(inverse.reshape(input.shape if dim is None else -1)
                                .astype(np.int64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or one per dimension."""
    if as_tuple:
        return tuple(Tensor._make(i.astype(np.int64)) for i in np.nonzero(input._data))
    return Tensor._make(np.argwhere(input._data).astype(np.int64))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements (along ``dim``), int64."""
    return Tensor._make(np.asarray(np.count_nonzero(input._data, axis=dim)).astype(int64))


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only, as ``torch.mm``)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be 2-D, got shapes {input.shape} and "
                           f"{mat2.shape}")
    return Tensor.matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {input.ndim}D) and batch2 too "
                           f"(got {mat2.ndim}D)")
    return Tensor.matmul(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}D and "
                           f"{vec.ndim}D tensors")
    return Tensor.matmul(input, vec)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1,
          alpha: float = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    product = Tensor.mm(mat1, mat2)
    return Tensor.add(input if beta == 1 else Tensor.mul(input, beta),
                  product if alpha == 1 else Tensor.mul(product, alpha))


def is_floating_point(input: Tensor) -> bool:
    """True for floating dtypes."""
    return input._data.dtype.kind == "f"


def _install() -> None:
    methods = {
        "view_as": view_as, "reshape_as": view_as, "expand_as": expand_as, "type_as": type_as,
        "contiguous": contiguous, "new_zeros": _new("zeros"), "new_ones": _new("ones"),
        "new_empty": _new("empty"), "new_full": new_full, "new_tensor": new_tensor,
        "masked_fill": masked_fill, "repeat": repeat, "flip": flip, "roll": roll,
        "split": split, "chunk": chunk, "diag": diag, "trace": trace, "diff": diff,
        "lerp": lerp, "median": median, "unique": unique, "nonzero": nonzero,
        "count_nonzero": count_nonzero, "cov": cov, "corrcoef": corrcoef, "mm": mm, "bmm": bmm, "mv": mv, "addmm": addmm,
        "is_contiguous": lambda self, memory_format=None: True,
        "is_floating_point": is_floating_point,
        "is_complex": lambda self: False,
        "nelement": lambda self: self._data.size,
        "ndimension": lambda self: self._data.ndim,
        "element_size": lambda self: self._data.itemsize,
        "masked_fill_": inplace_variant("masked_fill_", masked_fill),
        "lerp_": inplace_variant("lerp_", lerp),
    }
    for name, method in methods.items():
        setattr(Tensor, name, method)


_install()
