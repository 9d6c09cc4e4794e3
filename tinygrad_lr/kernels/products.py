"""Fast matrix-vector products for long matrices, each with its plain ``*_reference``."""
from __future__ import annotations

import numpy as np

from tinygrad_lr.kernels.pool import new_array
from tinygrad_lr.kernels.tuning import POOL_MIN_BYTES, ROW_BLOCK


def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x @ y``: a long matrix times a vector into pooled memory; operands of one or two
    dimensions through ``ndarray.dot`` (matmul for them, with less call overhead)."""
    if x.nbytes >= POOL_MIN_BYTES and x.ndim == 2 and y.ndim == 1 and x.dtype == y.dtype \
            and x.shape[0] * x.itemsize >= POOL_MIN_BYTES:
        return np.matmul(x, y, out=new_array((x.shape[0],), x.dtype))
    if 0 < x.ndim <= 2 and 0 < y.ndim <= 2:
        return x.dot(y)
    return np.matmul(x, y)


def matmul_reference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.matmul(x, y)


def vector_matrix(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``v @ a`` for a vector ``v`` and a matrix ``a`` with many rows, summed over blocks of
    ``ROW_BLOCK`` rows: faster and more accurate than one BLAS call over a million rows. A matrix
    that is not C-contiguous gets one call (splitting it into blocks would copy it)."""
    rows = a.shape[0]
    blocks = rows // ROW_BLOCK
    if blocks < 2 or not a.flags.c_contiguous:
        return v.dot(a)
    head = blocks * ROW_BLOCK
    partial = np.matmul(v[:head].reshape(blocks, 1, ROW_BLOCK),
                        a[:head].reshape(blocks, ROW_BLOCK, a.shape[1]))
    out = partial.sum(axis=0).reshape(a.shape[1])
    if head < rows:
        out += v[head:].dot(a[head:])
    return out


def vector_matrix_reference(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    return v @ a
