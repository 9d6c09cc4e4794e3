"""Memory for large results.

A training step on many rows allocates arrays of hundreds of kilobytes or more and frees them when
the graph is released. glibc serves such sizes with mmap, or trims them off its heap, so the next
step faults the memory in again page by page (a third of the time of a 1,000,000 x 100 float32
step; see benchmarks/SPEED_LOG.md). Kernels therefore write results from ``POOL_MIN_BYTES`` on into
blocks kept here, per thread; a block is handed out again only once no array refers to it.
"""
from __future__ import annotations

import math
import sys
import threading
from typing import Any

import numpy as np

from tinygrad_lr.kernels.tuning import POOL_MAX_BYTES, POOL_MIN_BYTES

_pool = threading.local()


def _free(block: np.ndarray) -> bool:
    """True when nothing but the pool refers to ``block`` (its list, the caller's variable and
    this call's argument)."""
    return sys.getrefcount(block) == 4


def new_array(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array, as ``np.empty``; from ``POOL_MIN_BYTES`` on, in a pooled block of
    that size that no array uses (every view of a block holds the block itself as its ``base``)."""
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
    if _pool.total + nbytes > POOL_MAX_BYTES:
        _release_free_blocks()
    block = np.empty(nbytes, np.uint8)
    if _pool.total + nbytes <= POOL_MAX_BYTES:
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
