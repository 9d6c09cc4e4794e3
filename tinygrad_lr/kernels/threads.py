"""Run an elementwise kernel (an optimizer update, a fused loss's passes) over slices of large
arrays on several threads.

NumPy releases the GIL inside ufunc loops, so disjoint slices of the same arrays can be updated at
the same time. Every element goes through the same arithmetic whatever the slicing, so the result is
bit for bit that of a single call on the whole arrays.
"""
from __future__ import annotations

import os
import threading
from itertools import pairwise
from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_lr.kernels.tuning import DEFAULT_MAX_THREADS, MAIN_SHARE, MIN_SLICE


class _Worker:
    """A daemon thread running one task at a time, handed over through two locks (a lighter
    round trip than a thread pool's futures, which matters for updates of a few hundred µs)."""

    def __init__(self) -> None:
        self._start = threading.Lock()
        self._start.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._task: tuple[Callable[..., None], tuple, dict[str, Any]] | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._loop, name="tinygrad_lr-optim", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._start.acquire()
            kernel, args, floating_point_errors = self._task
            try:
                with np.errstate(**floating_point_errors):
                    kernel(*args)
            except BaseException as exc:  # handed to the caller by join()
                self._error = exc
            self._done.release()

    def submit(self, kernel: Callable[..., None], args: tuple,
               floating_point_errors: dict[str, Any]) -> None:
        """Start ``kernel(*args)`` under the caller's ``np.errstate`` settings (which are
        per thread: a new thread would warn where the caller asked to raise)."""
        self._task = (kernel, args, floating_point_errors)
        self._start.release()

    def join(self) -> BaseException | None:
        """Wait for the task; the exception it raised, if any."""
        self._done.acquire()
        error, self._error = self._error, None
        return error


_workers: list[_Worker] = []
_workers_pid = -1
_busy = threading.Lock()  # one parallel update at a time; others run in their own thread


_requested: int | None = None


def set_num_threads(count: int) -> None:
    """Use at most ``count`` threads for large elementwise updates (optimizer steps, the fused
    loss), as ``torch.set_num_threads``; 1 runs every update in the calling thread."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(count).__name__}")
    if count < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {count}")
    global _requested
    _requested = count


def get_num_threads() -> int:
    """The thread limit: the value given to :func:`set_num_threads`, else the CPUs this process
    may run on, at most 4."""
    return _requested if _requested is not None else min(_cpus(), DEFAULT_MAX_THREADS)


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_count() -> int:
    """Threads an update may use: the limit, and no more than the CPUs this process may run on."""
    return min(_requested or DEFAULT_MAX_THREADS, _cpus())


def _get_workers(count: int) -> list[_Worker]:
    """``count`` workers, started on first use (and again in a child process after a fork)."""
    global _workers_pid
    if _workers_pid != os.getpid():
        _workers.clear()
        _workers_pid = os.getpid()
    while len(_workers) < count:
        _workers.append(_Worker())
    return _workers[:count]


def run(kernel: Callable[..., None], arrays: Sequence[np.ndarray | None], *scalars: Any) -> None:
    """Call ``kernel(*arrays, *scalars)``, split along the flattened arrays across threads if large.

    ``arrays`` have one shape (None stands for an absent buffer); the kernel updates them in place.
    Arrays that are not all C-contiguous are updated in one call, as slicing them would copy.
    """
    first = arrays[0]
    slices = min(thread_count(), first.size // MIN_SLICE) if first.size >= 2 * MIN_SLICE else 1
    if slices < 2 or not all(a is None or a.flags.c_contiguous for a in arrays) \
            or not _busy.acquire(blocking=False):
        kernel(*arrays, *scalars)
        return
    try:
        flat = [None if a is None else a.reshape(-1) for a in arrays]
        # The caller's slice is the first and the largest: a worker starts only after a wake-up
        # (see benchmarks/SPEED_LOG.md), so equal slices would leave the caller waiting at the
        # join.
        shares = [MAIN_SHARE] + [1.0] * (slices - 1)
        total = sum(shares)
        bounds = [round(first.size * sum(shares[:i]) / total) for i in range(slices + 1)]
        pieces = [tuple(None if a is None else a[lo:hi] for a in flat) + scalars
                  for lo, hi in pairwise(bounds)]
        workers = _get_workers(slices - 1)
        floating_point_errors = dict(np.geterr(), call=np.geterrcall())
        for worker, piece in zip(workers, pieces[1:], strict=True):
            worker.submit(kernel, piece, floating_point_errors)
        try:
            kernel(*pieces[0])
        finally:  # the other slices finish before anyone touches the arrays again
            errors = [worker.join() for worker in workers]
    finally:
        _busy.release()
    for error in errors:
        if error is not None:
            raise error
