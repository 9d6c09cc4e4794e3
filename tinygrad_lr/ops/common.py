"""What every op shares: the one broadcast-gradient reducer and the array namespace for rules."""
from __future__ import annotations

import math
import sys
import threading
from typing import Any

import numpy as np

# exp() of anything below these is below the smallest normal number: clamping there keeps the
# stable formulas (sigmoid, softplus, logsumexp) free of underflow and their values unchanged.
_EXP_FLOOR = {np.dtype(np.float16): -9.0, np.dtype(np.float32): -80.0, np.dtype(np.float64): -700.0}
# From this many elements exp_neg_abs tests whether it must clamp before clamping.
_CLAMP_TEST_MIN = 4096


def sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to ``shape``: the single place broadcasting is undone."""
    grad_shape = grad.shape
    if grad_shape == shape:
        return grad
    is_array = type(grad) is np.ndarray
    if not shape:
        return np.add.reduce(grad, axis=None) if is_array else grad.sum()
    lead = len(grad_shape) - len(shape)
    axes = tuple(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and grad_shape[lead + i] != 1:
            axes += (lead + i,)
    if axes:
        grad = (np.add.reduce(grad, axis=axes, keepdims=True) if is_array
                else grad.sum(axis=axes, keepdims=True))
    return grad.reshape(shape) if lead else grad


def broadcast_array(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only view of ``a`` broadcast to ``shape`` (``np.broadcast_to`` minus its overhead).

    ``a`` must already have ``shape``'s trailing dimensions or 1 in their place, as reductions'
    keepdims gradients do.
    """
    a = np.asarray(a)
    if a.shape == shape:
        return a
    if not a.flags.c_contiguous:
        return np.broadcast_to(a, shape)
    lead = len(shape) - a.ndim
    strides = (0,) * lead + tuple(0 if n == 1 else s for n, s in zip(a.shape, a.strides))
    view = np.ndarray(shape, a.dtype, a, 0, strides)
    view.flags.writeable = False
    return view


def exp_floored(a: np.ndarray) -> np.ndarray:
    """exp(a) with the argument clamped from below so tiny results never underflow."""
    a = np.asarray(a)
    floor = _EXP_FLOOR.get(a.dtype, -700.0)
    return np.exp(np.maximum(a, floor))


# ---- memory for large results ----------------------------------------------------------------
# A training step on many rows allocates arrays of hundreds of kilobytes or more and frees them
# when the graph is released. glibc serves such sizes with mmap, or trims them off its heap, so the
# next step faults the memory in again page by page: about 4,500 page faults (a third of the
# time) per 1,000,000 x 100 float32 step on the benchmark machine, 430 (a quarter) at 100,000 x
# 100. Ops therefore write results from 128 KiB (glibc's default mmap threshold) on into blocks
# kept here, per thread; a block is handed out again only once no array refers to it any more.
POOL_MIN_BYTES = 1 << 17
_POOL_MAX_BYTES = 256 << 20  # kept per thread at most; beyond it, large arrays come from np.empty
_pool = threading.local()


def _free(block: np.ndarray) -> bool:
    """True when nothing but the pool refers to ``block`` (its list, the caller's variable and
    this call's argument)."""
    return sys.getrefcount(block) == 4


def new_array(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array, as ``np.empty``; from 128 KiB on, in a pooled block of that size
    that no array uses (every view of a block holds the block itself as its ``base``)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    if not hasattr(_pool, "blocks"):
        _pool.blocks, _pool.total = {}, 0
    blocks = _pool.blocks.setdefault(nbytes, [])
    for block in blocks:
        if _free(block):
            return block.view(dtype).reshape(shape)
    if _pool.total + nbytes > _POOL_MAX_BYTES:
        _release_free_blocks()
    block = np.empty(nbytes, np.uint8)
    if _pool.total + nbytes <= _POOL_MAX_BYTES:
        blocks.append(block)
        _pool.total += nbytes
    return block.view(dtype).reshape(shape)


def _release_free_blocks() -> None:
    """Drop this thread's unused blocks (of every size), so the pool stays under its limit when
    the sizes in use change."""
    for nbytes, blocks in _pool.blocks.items():
        kept = [block for block in blocks if not _free(block)]
        _pool.total -= nbytes * (len(blocks) - len(kept))
        blocks[:] = kept


def owned(a: np.ndarray | np.generic) -> np.ndarray:
    """A fresh ufunc result as an array that ``out=`` can write into (0-d results are scalars)."""
    return a if type(a) is np.ndarray else np.asarray(a)


def exp_neg_abs(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """exp(-|x|) in one buffer, ``out`` or a fresh one (never overflows, floored so it never
    underflows): the core of the stable sigmoid, softplus and BCE-with-logits."""
    if out is None and x.nbytes >= POOL_MIN_BYTES:
        out = new_array(x.shape, x.dtype)
    e = owned(np.abs(x, out=out))
    limit = -_EXP_FLOOR.get(e.dtype, -700.0)
    # NumPy's minimum against a scalar is not vectorized: over many elements, a max-reduction
    # first (4 against 33 µs over 100,000 float32) mostly shows that no |x| needs the clamp.
    if e.size < _CLAMP_TEST_MIN or not np.maximum.reduce(e, axis=None) <= limit:
        np.minimum(e, limit, out=e)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def sigmoid_from(e: np.ndarray, nonnegative: np.ndarray, out: np.ndarray | None = None,
                 scratch: np.ndarray | None = None) -> np.ndarray:
    """sigmoid(x) from e = exp(-|x|) and the mask x >= 0: 1/(1+e), or e/(1+e) where x < 0 (both
    forms exact, no cancellation). The numerator is max(e, mask), as e <= 1: branch-free, where
    ``np.where`` on a mask of mixed signs runs about ten times slower. Written into ``out`` (and
    ``scratch`` for 1 + e) when given, else into fresh (large: pooled) arrays."""
    if out is None and e.nbytes >= POOL_MIN_BYTES:
        out, scratch = new_array(e.shape, e.dtype), new_array(e.shape, e.dtype)
    s = owned(np.maximum(e, nonnegative, out=out))
    return np.divide(s, np.add(e, 1, out=scratch), out=s)


def sigmoid_array(x: np.ndarray) -> np.ndarray:
    """1/(1+e^-x) without overflow: exp is only taken of -|x|."""
    return sigmoid_from(exp_neg_abs(x), x >= 0)


def softplus_array(x: np.ndarray) -> np.ndarray:
    """log(1+e^x) = max(x,0) + log1p(e^-|x|), finite for any x."""
    out = exp_neg_abs(x)
    np.log1p(out, out=out)
    return np.add(out, np.maximum(x, 0), out=out)


def index_grad_array(grad: np.ndarray, index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Scatter ``grad`` into zeros of ``shape`` at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=grad.dtype)
    if is_advanced_index(index):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def is_advanced_index(index: Any) -> bool:
    """True when NumPy indexing with ``index`` is advanced (integer arrays or boolean masks)."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (np.ndarray, list)) or (isinstance(i, np.generic) and i.dtype == bool)
               or isinstance(i, bool) for i in items)


def prod_of_others_array(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the others along ``axis`` (exact with zeros)."""
    ones_shape = list(x.shape)
    ones_shape[axis] = 1
    ones = np.ones(ones_shape, dtype=x.dtype)
    before = np.cumprod(np.concatenate([ones, np.delete(x, -1, axis=axis)], axis=axis), axis=axis)
    rev = np.flip(x, axis=axis)
    after = np.cumprod(np.concatenate([ones, np.delete(rev, -1, axis=axis)], axis=axis), axis=axis)
    return before * np.flip(after, axis=axis)


# Rows per block in vector_matrix: a few MB of a 100-column float32 matrix, enough that the block
# loop is cheap and small enough that each BLAS call stays fast.
_ROW_BLOCK = 8192


def vector_matrix_array(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``v @ a`` for a vector ``v`` and a matrix ``a`` with many rows, summed over blocks of rows.

    One BLAS call over a million rows is slower than short per-block products summed afterwards
    (13 against 10 ms at 1,000,000 x 100 float32) and less accurate (largest error 0.09 against
    0.002). A matrix that is not C-contiguous gets one call: splitting it into blocks would copy it.
    """
    rows = a.shape[0]
    blocks = rows // _ROW_BLOCK
    if blocks < 2 or not a.flags.c_contiguous:
        return v.dot(a)
    head = blocks * _ROW_BLOCK
    partial = np.matmul(v[:head].reshape(blocks, 1, _ROW_BLOCK),
                        a[:head].reshape(blocks, _ROW_BLOCK, a.shape[1]))
    out = partial.sum(axis=0).reshape(a.shape[1])
    if head < rows:
        out += v[head:].dot(a[head:])
    return out


class ArrayOps:
    """The namespace derivative rules use when they run on plain arrays (the fast path)."""

    graph = False
    exp = staticmethod(exp_floored)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    tanh = staticmethod(np.tanh)
    sigmoid = staticmethod(sigmoid_array)
    sign = staticmethod(np.sign)
    broadcast_to = staticmethod(broadcast_array)
    permute = staticmethod(np.transpose)
    index_grad = staticmethod(index_grad_array)
    prod_of_others = staticmethod(prod_of_others_array)
    vector_matrix = staticmethod(vector_matrix_array)

    @staticmethod
    def cast(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Convert to ``dtype``."""
        return a.astype(dtype)

    @staticmethod
    def zero_at(g: np.ndarray, index: Any) -> np.ndarray:
        """A copy of ``g`` with zeros at ``index``."""
        out = g.copy()
        out[index] = 0
        return out
