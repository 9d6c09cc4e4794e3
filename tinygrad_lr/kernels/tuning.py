"""Every tuning constant of the kernel layer, in one place. Each can be overridden from the
environment before the package is imported (``TINYGRAD_LR_POOL_MIN_BYTES=0`` pools every result,
``TINYGRAD_LR_MIN_SLICE=1000000000`` keeps every update on one thread); the measurements behind
the defaults are in ``benchmarks/SPEED_LOG.md``."""
from __future__ import annotations

import os


def _setting(name: str, default: float) -> float:
    """``default``, or the value of the environment variable ``TINYGRAD_LR_<name>``."""
    raw = os.environ.get(f"TINYGRAD_LR_{name}")
    if raw is None:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise ValueError(f"environment variable TINYGRAD_LR_{name}={raw!r} is not {kind}") \
            from None
    if value < 0:
        raise ValueError(f"environment variable TINYGRAD_LR_{name}={raw!r} must not be negative")
    return value


# Results from this many bytes on are written into pooled blocks (glibc's default mmap threshold:
# below it, freed memory is reused without page faults anyway).
POOL_MIN_BYTES = _setting("POOL_MIN_BYTES", 1 << 17)
# The most memory each thread's pool keeps; beyond it large arrays come from np.empty.
POOL_MAX_BYTES = _setting("POOL_MAX_BYTES", 256 << 20)
# Rows per block in the blocked vector-matrix product.
ROW_BLOCK = max(1, _setting("ROW_BLOCK", 8192))
# Bytes of X per block of rows in the fused linear-loss passes (kernels.linear_loss): a block is
# multiplied by the coefficients and then by its rows' residuals while it is still in cache.
LOSS_BLOCK_BYTES = max(1, _setting("LOSS_BLOCK_BYTES", 1 << 20))
# ... for an X of at least this many bytes; a smaller one stays in the caches between its two
# products, and is multiplied whole (blocks would only add calls).
LOSS_BLOCKED_MIN_BYTES = _setting("LOSS_BLOCKED_MIN_BYTES", 32 << 20)
# The two-class logistic regression takes the fused loss op for a dense X of at least this many
# bytes (below, the engine's textbook graph, replayed by tl.compile, costs no more).
LOSS_FUSED_MIN_BYTES = _setting("LOSS_FUSED_MIN_BYTES", 4 << 20)
# The multiclass logistic regression takes the fused softmax loss op for a dense X of at least this.
SOFTMAX_FUSED_MIN_BYTES = _setting("SOFTMAX_FUSED_MIN_BYTES", 0)
# Newton on the softmax keeps a contiguous copy of X' for an X of at most this many bytes: its
# Hessian-vector products' V X' are faster on it than on X's transposed view (measured on digits,
# 1797 x 64, K = 10: benchmarks/SPEED_LOG.md, issue 15, Newton in logit space), at the cost of a
# second copy of X.
SOFTMAX_TRANSPOSED_MAX_BYTES = _setting("SOFTMAX_TRANSPOSED_MAX_BYTES", 4 << 20)
# The linear models' solvers keep the compiled objective of this many kinds of fit between fits
# (a later fit of the same shapes and choices replays the capture on its own data: no capture
# and no eager first evaluation), for data (X and the targets and weights) of at most this many
# bytes: above it the capture's fixed cost is small beside the fit, and what a kept capture holds
# (its nodes' arrays of the last replay, a row of floats per sample) is not.
FIT_CACHE_ENTRIES = _setting("FIT_CACHE_ENTRIES", 4)
FIT_CACHE_MAX_BYTES = _setting("FIT_CACHE_MAX_BYTES", 4 << 20)
# Below this many elements per slice, handing work to another thread costs more than it saves.
MIN_SLICE = max(1, _setting("MIN_SLICE", 1 << 17))
# The calling thread's slice, relative to each worker's (a worker starts after a wake-up).
MAIN_SHARE = _setting("MAIN_SHARE", 1.2)
# The most threads an update may use, unless set_num_threads says otherwise.
DEFAULT_MAX_THREADS = max(1, _setting("DEFAULT_MAX_THREADS", 4))
# Optimizer state and work arrays start on a multiple of this many bytes (a cache line): NumPy's
# large arrays start 16 bytes into a page, and then every other vector load of a pass straddles
# two cache lines.
ALIGNMENT = max(1, _setting("ALIGNMENT", 64))
# SGD with momentum forms lr * buffer in the momentum buffer itself, one pass more but none into
# the scratch array, for parameters of at least this many bytes; smaller ones (in the caches) take
# four passes, one NumPy call fewer.
SGD_SCALE_IN_BUFFER_MIN_BYTES = _setting("SGD_SCALE_IN_BUFFER_MIN_BYTES", 1 << 18)
