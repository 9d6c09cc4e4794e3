"""Fast elementwise kernels: results of large arrays in pooled memory, the passes of the fused
logistic loss on several threads. Each has a plain ``*_reference`` beside it, the textbook NumPy
expression that ``tests/test_kernels.py`` holds it to (bit for bit where the arithmetic is the
same)."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.kernels import threads
from tinygrad_lr.kernels.pool import new_array, owned
from tinygrad_lr.kernels.tuning import POOL_MIN_BYTES

# exp(t) overflows to inf above these (the log of the largest finite value).
_EXP_OVERFLOW = {np.dtype(np.float16): 11.09, np.dtype(np.float32): 88.72,
                 np.dtype(np.float64): 709.78}


def _pooled(ufunc: np.ufunc, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``ufunc(x, y)`` for a large x, into pooled memory when the result has x's shape and dtype
    (a large array and a broadcast smaller one, the common case)."""
    if x.dtype == y.dtype and np.broadcast_shapes(x.shape, y.shape) == x.shape:
        return ufunc(x, y, out=new_array(x.shape, x.dtype))
    return ufunc(x, y)


# x + y, x - y, x * y; large results in pooled memory. The operators, not the ufuncs, for small
# operands: on the NumPy scalars of scalar graphs they cost a fifth of a ufunc call.
def add(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x + y if x.nbytes < POOL_MIN_BYTES else _pooled(np.add, x, y)


def subtract(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x - y if x.nbytes < POOL_MIN_BYTES else _pooled(np.subtract, x, y)


def multiply(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * y if x.nbytes < POOL_MIN_BYTES else _pooled(np.multiply, x, y)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + e^-x), into ``out`` or a fresh (large: pooled) array, as 1 / (1 + e) for x >= 0
    and e / (1 + e) for x < 0 with e = e^-|x|: exp never overflows, and NumPy's float32 exp of
    large arguments (which the plain formula takes for x < 0) would bias sums of sigmoids. Where
    PyTorch's e^-x overflows (x below -88.72 in float32, -709.78 in float64) the result is
    exactly 0, as PyTorch's."""
    limit = _EXP_OVERFLOW.get(x.dtype, 709.78)
    if type(x) is not np.ndarray:  # a NumPy scalar (see Function.on_scalars)
        if x >= 0:
            return 1 / (1 + np.exp(-x))
        e = np.exp(x)
        return x.dtype.type(0) if -x > limit else e / (1 + e)
    if out is None and x.nbytes >= POOL_MIN_BYTES:
        out = new_array(x.shape, x.dtype)
    e = exp_neg_abs(x)
    return sigmoid_from(e, x >= 0, x, out, scratch=e)


def sigmoid_from(e: np.ndarray, nonnegative: np.ndarray, x: np.ndarray,
                 out: np.ndarray | None = None, scratch: np.ndarray | None = None) -> np.ndarray:
    """sigmoid(x) from e = e^-|x| and the mask x >= 0 (the logistic loss's forward has both):
    the numerator max(e, mask) is 1 for x >= 0 and e for x < 0 (e <= 1), branch-free; into
    ``out`` and ``scratch`` (for 1 + e) when given, else fresh arrays."""
    s = owned(np.maximum(e, nonnegative, out=out))
    np.divide(s, np.add(e, 1, out=scratch), out=s)
    limit = _EXP_OVERFLOW.get(x.dtype, 709.78)
    if s.size and np.minimum.reduce(x, axis=None) < -limit:  # PyTorch's e^-x overflows: 0
        s[x < -limit] = 0
    return s


def sigmoid_reference(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    s[x < -_EXP_OVERFLOW.get(x.dtype, 709.78)] = 0
    return s


def exp_neg_abs(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """exp(-|x|) in one buffer, ``out`` or a fresh one (large: pooled); it never overflows."""
    if out is None and x.nbytes >= POOL_MIN_BYTES:
        out = new_array(x.shape, x.dtype)
    e = owned(np.abs(x, out=out))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), finite for any x."""
    out = exp_neg_abs(x)
    np.log1p(out, out=out)
    return np.add(out, np.maximum(x, 0), out=out)


def softplus_reference(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _bce_terms(x: np.ndarray, e: np.ndarray | None, nonnegative: np.ndarray | None,
               log_term: np.ndarray | None) -> None:
    """exp(-|x|), the mask x >= 0 and log1p(exp(-|x|)) into the given buffers (slices of them
    when threads.run splits the work)."""
    exp_neg_abs(x, out=e)
    np.greater_equal(x, 0, out=nonnegative)
    np.log1p(e, out=log_term)


def bce_with_logits_sum(x: np.ndarray, y: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray]:
    """Σ [max(x, 0) - x y + log1p(e^-|x|)] for x and y of one shape, as Σ log1p(e^-|x|) plus the
    dot product of x with 1[x >= 0] - y: three buffers the size of x and two passes fewer than
    summing the elementwise loss (which matters when x has a million rows); large ones pooled,
    very large ones on several threads. Returns the sum, e = e^-|x| and the mask x >= 0 (the
    derivative's sigmoid is made from them)."""
    if x.nbytes < POOL_MIN_BYTES:  # fresh arrays, no pool or thread machinery
        e, nonnegative = exp_neg_abs(x), x >= 0
        total = np.add.reduce(np.log1p(e), axis=None) + np.vdot(x, np.subtract(nonnegative, y))
        return total, e, nonnegative
    e, nonnegative, log_term = [new_array(x.shape, dtype) for dtype in (x.dtype, bool, x.dtype)]
    threads.run(_bce_terms, [x, e, nonnegative, log_term])
    total = np.add.reduce(log_term, axis=None)
    # 1[x >= 0] - y into the summed buffer, then its dot product with x.
    threads.run(np.subtract, [nonnegative, y, log_term])
    return total + np.vdot(x, log_term), e, nonnegative


def bce_with_logits_sum_reference(x: np.ndarray, y: np.ndarray) -> Any:
    return np.sum(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))


def _bce_gradient(e: np.ndarray, nonnegative: np.ndarray, x: np.ndarray, y: np.ndarray,
                  out: np.ndarray | None, scratch: np.ndarray | None, g: Any) -> np.ndarray:
    out = sigmoid_from(e, nonnegative, x, out, scratch)
    np.subtract(out, y, out=out)
    return np.multiply(out, g, out=out)


def bce_with_logits_grad(e: np.ndarray, nonnegative: np.ndarray, x: np.ndarray, y: np.ndarray,
                         g: Any) -> np.ndarray:
    """(sigmoid(x) - y) g for x and y of one shape and g a scalar or an array of that shape,
    from bce_with_logits_sum's e and mask (left intact: backward may run again); large ones into
    pooled memory, very large ones on several threads."""
    if x.nbytes < POOL_MIN_BYTES:
        return _bce_gradient(e, nonnegative, x, y, None, None, g)
    out, scratch = new_array(x.shape, x.dtype), new_array(x.shape, x.dtype)
    if np.ndim(g) == 0:
        threads.run(_bce_gradient, [e, nonnegative, x, y, out, scratch], g)
    else:
        threads.run(_bce_gradient, [e, nonnegative, x, y, out, scratch,
                                    np.broadcast_to(g, x.shape)])
    return out


def bce_with_logits_grad_reference(x: np.ndarray, y: np.ndarray, g: Any) -> np.ndarray:
    return (sigmoid_reference(x) - y) * g
