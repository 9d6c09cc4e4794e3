"""The user-facing operations (``tl.exp``, ``tl.sum``, ...): argument handling, PyTorch's type
promotion, then one recorded op from :mod:`.elementwise`, :mod:`.reduce` or :mod:`.movement`."""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any, Sequence

import numpy as np

from tinygrad_lr.factories import as_tensor
from tinygrad_lr.tensor import Tensor, get_default_dtype, int64
from tinygrad_lr.ops import elementwise as ew
from tinygrad_lr.ops import losses as ls
from tinygrad_lr.ops import movement as mv
from tinygrad_lr.ops import reduce as rd

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _category(dtype: np.dtype) -> int:
    try:
        return _CATEGORY[dtype.kind]
    except KeyError:
        raise TypeError(f"unsupported dtype {dtype}") from None


def _category_default(category: int) -> np.dtype:
    return get_default_dtype() if category == 2 else int64


def _promote(a: Tensor, b: Tensor) -> np.dtype:
    """PyTorch's result dtype: dimensioned tensors outrank 0-d ones unless of a lower category."""
    da, db = a._data.dtype, b._data.dtype
    ca, cb = _category(da), _category(db)
    if (a._data.ndim > 0) == (b._data.ndim > 0):
        if ca == cb:
            return np.promote_types(da, db)
        return da if ca > cb else db
    high, low = (a, b) if a._data.ndim > 0 else (b, a)
    if _category(high._data.dtype) >= _category(low._data.dtype):
        return high._data.dtype
    return low._data.dtype


def _scalar_category(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return 0
    if isinstance(value, (int, np.integer)):
        return 1
    if isinstance(value, (float, np.floating)):
        return 2
    return None


def coerce(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Make two operands Tensors of one dtype by PyTorch's rules (Python numbers are weak)."""
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if a_is and b_is:
        if a._data.dtype == b._data.dtype:
            return a, b
        dtype = _promote(a, b)
        return a.to(dtype), b.to(dtype)
    if not a_is and not b_is:
        return coerce(as_tensor(a), b)
    t, other = (a, b) if a_is else (b, a)
    category = _scalar_category(other)
    if category is None:
        other_t = as_tensor(other)
        return coerce(t, other_t) if a_is else coerce(other_t, t)
    if category > _category(t._data.dtype):
        t = t.to(_category_default(category))
    constant = Tensor._make(np.array(other, dtype=t._data.dtype))
    return (t, constant) if a_is else (constant, t)


def _float_operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    a, b = coerce(a, b)
    if a._data.dtype.kind != "f":
        dtype = get_default_dtype()
        a, b = a.to(dtype), b.to(dtype)
    return a, b


def _float(x: Any) -> Tensor:
    x = as_tensor(x)
    return x if x._data.dtype.kind == "f" else x.to(get_default_dtype())


# ---- arithmetic -------------------------------------------------------------------------------
def add(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """input + alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return ew.Add.apply(*coerce(input, other))


def _refuse_bool(what: str, *operands: Any) -> None:
    """PyTorch refuses subtraction and negation of bool tensors (a mask is inverted with ~)."""
    if any(isinstance(t, Tensor) and t._data.dtype == np.bool_ for t in operands):
        raise RuntimeError(f"{what} with a bool tensor is not supported; to invert a mask, use "
                           "the `~` operator or logical_not()")


def sub(input: Any, other: Any, alpha: Any = 1) -> Tensor:
    """input - alpha * other, broadcasting."""
    _refuse_bool("subtraction, the `-` operator,", input, other)
    if alpha != 1:
        other = mul(other, alpha)
    return ew.Sub.apply(*coerce(input, other))


def mul(input: Any, other: Any) -> Tensor:
    """Elementwise product, broadcasting."""
    return ew.Mul.apply(*coerce(input, other))


def div(input: Any, other: Any) -> Tensor:
    """True division (integers give floats), broadcasting."""
    return ew.Div.apply(*_float_operands(input, other))


def clone(input: Tensor) -> Tensor:
    """A copy with its own memory; gradients flow back to ``input``."""
    return ew.Clone.apply(input)


def neg(input: Tensor) -> Tensor:
    """-input."""
    _refuse_bool("negation, the `-` operator,", input)
    return ew.Neg.apply(input)


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent; either side may be a Python number."""
    if isinstance(input, Tensor) and _scalar_category(exponent) is not None:
        if _scalar_category(exponent) == 0 and input._data.dtype == np.bool_:
            # A boolean tensor to a boolean power stays boolean, as in PyTorch (NumPy: int8).
            return Tensor._make(np.power(input._data, exponent).astype(np.bool_))
        if _scalar_category(exponent) > _category(input._data.dtype):
            input = input.to(_category_default(_scalar_category(exponent)))
        return ew.PowScalar.apply(input, exponent=exponent)
    if isinstance(exponent, Tensor) and _scalar_category(input) is not None:
        if exponent._data.dtype.kind != "f" and _scalar_category(input) == 2:
            exponent = exponent.to(get_default_dtype())
        return ew.RPowScalar.apply(exponent, base=input)
    return ew.Pow.apply(*coerce(input, exponent))


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy/PyTorch rules for 1-D and batched operands; both operands must
    have one dtype, as in PyTorch (no promotion)."""
    if isinstance(input, Tensor) and isinstance(other, Tensor) \
            and input._data.dtype != other._data.dtype:
        raise RuntimeError(f"matmul: expected both operands to have the same dtype, but got "
                           f"{input._data.dtype} and {other._data.dtype}")
    input, other = coerce(input, other)
    if input._data.ndim == 0 or other._data.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                           f"{input.shape} and {other.shape}")
    return mv.MatMul.apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only, as ``torch.mm``)."""
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"mm: both arguments must be 2-D, got shapes {input.shape} and "
                           f"{mat2.shape}")
    return matmul(input, mat2)


# ---- elementwise functions --------------------------------------------------------------------
def exp(input: Any) -> Tensor:
    """e ** input."""
    return ew.Exp.apply(_float(input))


def log(input: Any) -> Tensor:
    """Natural logarithm."""
    return ew.Log.apply(_float(input))


def log1p(input: Any) -> Tensor:
    """log(1 + input), accurate near 0."""
    return ew.Log1p.apply(_float(input))


def sqrt(input: Any) -> Tensor:
    """Square root."""
    return ew.Sqrt.apply(_float(input))


def abs(input: Any) -> Tensor:
    """Absolute value (derivative sign(x), 0 at 0)."""
    return ew.Abs.apply(as_tensor(input))


def sigmoid(input: Any) -> Tensor:
    """1 / (1 + e^-x), stable for any x."""
    return ew.Sigmoid.apply(_float(input))


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return ew.Tanh.apply(_float(input))


def relu(input: Any) -> Tensor:
    """max(x, 0)."""
    return ew.Relu.apply(as_tensor(input))


def softplus(input: Any) -> Tensor:
    """log(1 + e^x), stable for any x."""
    return ew.Softplus.apply(_float(input))


def logsigmoid(input: Any) -> Tensor:
    """log(sigmoid(x)), stable for any x."""
    return ew.LogSigmoid.apply(_float(input))


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Clip values to [min, max]; tensor bounds use maximum/minimum."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    if min is not None and _scalar_category(min) == 2 or max is not None and \
            _scalar_category(max) == 2:
        input = _float(input)
    return ew.Clamp.apply(input, low=min, high=max)


clip = clamp


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum, broadcasting."""
    return ew.Maximum.apply(*coerce(input, other))


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum, broadcasting."""
    return ew.Minimum.apply(*coerce(input, other))


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (broadcasting all three)."""
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition, dtype=bool)
    x, y = coerce(input, other)
    try:
        np.broadcast_shapes(cond.shape, x.shape, y.shape)
    except ValueError:
        raise RuntimeError(f"where: condition {cond.shape}, input {x.shape} and other {y.shape} "
                           "cannot be broadcast together") from None
    return ew.Where.apply(x, y, condition=cond)


def to_dtype(input: Tensor, dtype: np.dtype) -> Tensor:
    """Convert to ``dtype``; differentiable between float dtypes, a constant otherwise."""
    if dtype.kind == "f" and input._data.dtype.kind == "f":
        return ew.Cast.apply(input, dtype=dtype)
    return Tensor._make(input._data.astype(dtype))


# ---- the fused losses, for callers that checked their arguments ----------------------------------
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean",
                                     weight: np.ndarray | None = None,
                                     pos_weight: np.ndarray | None = None) -> Tensor:
    """The logistic loss on logits as one op, without nn.functional's argument checks: for
    callers (the estimators) that already hold ``input`` and ``target`` of one floating dtype,
    target broadcastable to input, and ``weight``/``pos_weight`` as arrays of that dtype."""
    return ls.BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction,
                                                 weight=weight, pos_weight=pos_weight)


def log_softmax(input: Tensor, axis: int) -> Tensor:
    """x - logsumexp(x) along ``axis`` (a normalised, non-negative index), without
    nn.functional's argument handling."""
    return ls.LogSoftmax.apply(input, axis=axis)


# ---- comparisons (bool results, no graph) -----------------------------------------------------
def _compare(ufunc: np.ufunc, a: Any, b: Any) -> Tensor:
    a_data = a._data if isinstance(a, Tensor) else a
    b_data = b._data if isinstance(b, Tensor) else b
    return Tensor._make(np.asarray(ufunc(a_data, b_data)))


def eq(input: Any, other: Any) -> Tensor:
    """Elementwise ==, a bool tensor."""
    return _compare(np.equal, input, other)


def ne(input: Any, other: Any) -> Tensor:
    """Elementwise !=, a bool tensor."""
    return _compare(np.not_equal, input, other)


def lt(input: Any, other: Any) -> Tensor:
    """Elementwise <, a bool tensor."""
    return _compare(np.less, input, other)


def le(input: Any, other: Any) -> Tensor:
    """Elementwise <=, a bool tensor."""
    return _compare(np.less_equal, input, other)


def gt(input: Any, other: Any) -> Tensor:
    """Elementwise >, a bool tensor."""
    return _compare(np.greater, input, other)


def ge(input: Any, other: Any) -> Tensor:
    """Elementwise >=, a bool tensor."""
    return _compare(np.greater_equal, input, other)


def logical_not(input: Tensor) -> Tensor:
    """Elementwise not (bool tensor)."""
    return Tensor._make(np.logical_not(input._data))


# ---- reductions -------------------------------------------------------------------------------
def _axes(name: str, x: Tensor, dim: Any, axis: Any) -> tuple[int, ...] | None:
    """Normalize ``dim`` (or its alias ``axis``): None, an int or a sequence of ints."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: pass either dim or axis, not both")
        dim = axis
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    ndim = x._data.ndim
    out = []
    for d in dims:
        limit = builtins.max(ndim, 1)
        if not -limit <= d < limit:
            raise IndexError(f"{name}: dimension {d} is out of range for a tensor of shape "
                             f"{x.shape} (expected in [{-limit}, {limit - 1}])")
        out.append(d % limit if ndim else 0)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{name}: dimension {dims} repeats a dimension")
    return tuple(out) if ndim else None


def _keep(keepdim: bool, keepdims: bool | None) -> bool:
    return bool(keepdim if keepdims is None else keepdims)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
        keepdims: bool | None = None, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all by default); bool and int tensors sum to int64."""
    if dtype is not None:
        input = input.to(np.dtype(dtype))
    elif input._data.dtype.kind == "b":
        input = input.to(int64)
    return rd.Sum.apply(input, axes=_axes("sum", input, dim, axis), keepdim=_keep(keepdim, keepdims))


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Arithmetic mean over ``dim`` (all by default); floating-point tensors only, as PyTorch."""
    input = as_tensor(input)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype: the input must be a floating "
                           f"point tensor, got dtype {input._data.dtype}; convert it with .float()")
    return rd.Mean.apply(input, axes=_axes("mean", input, dim, axis),
                         keepdim=_keep(keepdim, keepdims))


def var(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    input = _float(input)
    axes = _axes("var", input, dim, axis)
    count = input._data.size if axes is None else int(np.prod([input.shape[a] for a in axes]))
    centered = input - mean(input, axes, keepdim=True)
    dof = builtins.max(count - correction, 0)
    return sum(centered * centered, axes, _keep(keepdim, keepdims)) / dof


def std(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: float | None = None, axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Standard deviation: the square root of :func:`var`."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction, axis=axis,
                    keepdims=keepdims))


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *,
         axis: int | None = None, keepdims: bool | None = None) -> Tensor:
    """Product over one dimension (or all elements)."""
    axes = _axes("prod", input, dim, axis)
    if axes is not None and len(axes) != 1:
        raise TypeError("prod: dim must be a single int")
    return rd.Prod.apply(input, axes=axes, keepdim=_keep(keepdim, keepdims))


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient equally."""
    return rd.Extremum.apply(input, axes=_axes("amax", input, dim, axis),
                             keepdim=_keep(keepdim, keepdims), largest=True)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Minimum over ``dim``; tied minima share the gradient equally."""
    return rd.Extremum.apply(input, axes=_axes("amin", input, dim, axis),
                             keepdim=_keep(keepdim, keepdims), largest=False)


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """log(sum(exp(x))) over ``dim``, without overflow or underflow."""
    input = _float(input)
    return rd.LogSumExp.apply(input, axes=_axes("logsumexp", input, dim, axis),
                              keepdim=_keep(keepdim, keepdims))


ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def _extreme_with_indices(name: str, input: Tensor, dim: int, keepdim: bool,
                          largest: bool) -> ValuesIndices:
    (axis,) = _axes(name, input, dim, None) or (0,)
    data = input._data
    if data.ndim == 0:
        return ValuesIndices(input, Tensor._make(np.array(0)))
    indices = (np.argmax if largest else np.argmin)(data, axis=axis)
    grid = []
    for i in range(data.ndim):
        if i == axis:
            grid.append(indices)
        else:
            shape = [1] * (data.ndim - 1)
            shape[i if i < axis else i - 1] = data.shape[i]
            grid.append(np.arange(data.shape[i]).reshape(shape))
    values = input[tuple(grid)]
    if keepdim:
        values = unsqueeze(values, axis)
        indices = np.expand_dims(indices, axis)
    return ValuesIndices(values, Tensor._make(indices))


def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``max(x)``: the maximum; ``max(x, dim)``: (values, indices); ``max(x, other)``: maximum."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        return amax(input)
    return _extreme_with_indices("max", input, dim, keepdim, largest=True)


def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """``min(x)``: the minimum; ``min(x, dim)``: (values, indices); ``min(x, other)``: minimum."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        return amin(input)
    return _extreme_with_indices("min", input, dim, keepdim, largest=False)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None)."""
    if dim is None:
        return Tensor._make(np.asarray(np.argmax(input._data)))
    (axis,) = _axes("argmax", input, dim, None) or (0,)
    return Tensor._make(np.argmax(input._data, axis=axis, keepdims=keepdim))


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None)."""
    if dim is None:
        return Tensor._make(np.asarray(np.argmin(input._data)))
    (axis,) = _axes("argmin", input, dim, None) or (0,)
    return Tensor._make(np.argmin(input._data, axis=axis, keepdims=keepdim))


# ---- shape ops --------------------------------------------------------------------------------
def _shape_arg(shape: Sequence[Any]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """Same data, new shape (one dimension may be -1)."""
    shape = _shape_arg(shape)
    if shape == input._data.shape:
        return input
    return mv.Reshape.apply(input, shape=shape)


def _dim(name: str, input: Tensor, dim: int, extra: int = 0) -> int:
    """Normalize one dimension index (``extra`` = 1 where a new dimension may be inserted)."""
    limit = builtins.max(input._data.ndim + extra, 1)
    if not -limit <= dim < limit:
        raise IndexError(f"{name}: dimension {dim} is out of range for a tensor of shape "
                         f"{input.shape} (expected in [{-limit}, {limit - 1}])")
    return dim % limit


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions start_dim..end_dim into one."""
    if input._data.ndim == 0:
        return reshape(input, 1)
    start, end = _dim("flatten", input, start_dim), _dim("flatten", input, end_dim)
    if start > end:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                           f"tensor of shape {input.shape}")
    shape = input.shape
    merged = int(np.prod(shape[start:end + 1]))
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop dimensions of size 1 (only ``dim`` when given; a no-op if its size is not 1)."""
    shape = input.shape
    if dim is None:
        return reshape(input, tuple(n for n in shape if n != 1))
    dims = {_dim("squeeze", input, d) for d in ((dim,) if isinstance(dim, int) else dim)}
    return reshape(input, tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim``."""
    dim = _dim("unsqueeze", input, dim, extra=1)
    shape = input.shape
    return reshape(input, shape[:dim] + (1,) + shape[dim:])


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder dimensions."""
    dims = _shape_arg(dims)
    axes = tuple(_dim("permute", input, d) for d in dims)
    if sorted(axes) != list(range(input.ndim)):
        raise RuntimeError(f"permute: {dims} is not a permutation of the {input.ndim} dimensions "
                           f"of a tensor of shape {input.shape}")
    return mv.Permute.apply(input, axes=axes)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions."""
    if input._data.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    d0, d1 = _dim("transpose", input, dim0), _dim("transpose", input, dim1)
    axes = list(range(input.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return mv.Permute.apply(input, axes=tuple(axes))


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dimensions."""
    if input.ndim > 2:
        raise RuntimeError(f"t: expects a tensor with at most 2 dimensions, got shape {input.shape}")
    return transpose(input, 0, -1)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """A broadcast view with ``shape`` (gradients sum back)."""
    shape = tuple(int(s) for s in shape)
    if shape == input._data.shape:
        return input
    return mv.Expand.apply(input, shape=shape)


def expand(input: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes``; -1 keeps that dimension's size."""
    sizes = _shape_arg(sizes)
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes {sizes} is less than the number of "
                           f"dimensions of shape {input.shape}")
    if -1 in sizes[:lead]:
        raise RuntimeError(f"expand: size -1 is not allowed for the new leading dimension "
                           f"{sizes.index(-1)} of sizes {sizes} (tensor shape {input.shape})")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    return broadcast_to(input, shape)


def _index_part(item: Any) -> Any:
    if isinstance(item, Tensor):
        return item._data
    if isinstance(item, list):
        return np.asarray(item)
    return item


def index(input: Tensor, key: Any) -> Tensor:
    """``input[key]``: ints, slices, None, Ellipsis, boolean masks, integer arrays."""
    key = tuple(_index_part(k) for k in key) if isinstance(key, tuple) else _index_part(key)
    return mv.Index.apply(input, index=key)


def _common_dtype(tensors: Sequence[Tensor]) -> list[Tensor]:
    tensors = [as_tensor(x) for x in tensors]
    dtype = tensors[0]._data.dtype
    for x in tensors[1:]:
        if x._data.dtype != dtype:
            dtype = _promote(Tensor._make(np.empty(1, dtype)), Tensor._make(np.empty(1, x.dtype)))
    return [x.to(dtype) for x in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dimension."""
    if not tensors:
        raise RuntimeError("cat: expected a non-empty sequence of tensors")
    tensors = _common_dtype(tensors)
    axis = _dim("cat", tensors[0], dim)
    first = tensors[0].shape
    for i, x in enumerate(tensors[1:], 1):
        if x.ndim != len(first) or x.shape[:axis] + x.shape[axis + 1:] != \
                first[:axis] + first[axis + 1:]:
            raise RuntimeError(f"cat: tensor {i} has shape {x.shape}, which does not match shape "
                               f"{first} of tensor 0 outside dimension {axis}")
    return mv.Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    if not tensors:
        raise RuntimeError("stack: expected a non-empty sequence of tensors")
    tensors = _common_dtype(tensors)
    for i, x in enumerate(tensors[1:], 1):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack: tensor {i} has shape {x.shape}, but tensor 0 has shape "
                               f"{tensors[0].shape}; all must be equal")
    axis = _dim("stack", tensors[0], dim, extra=1)
    return mv.Stack.apply(*tensors, axis=axis)


def reflected(op: Any) -> Any:
    """The method for an operator's reflected form (``other OP self``), as ``__radd__``."""
    def method(self: Tensor, other: Any) -> Tensor:
        return op(other, self)
    return method
