"""Vectorization: the same dot product as a Python loop, as np.dot, and through the engine.

    z = w . x = sum_i w_i x_i

A Python loop pays the interpreter's overhead for every element; np.dot runs one compiled loop
over the whole array; the engine hands its arrays to NumPy, so it pays a small fixed cost per
operation (recording the graph) and none per element.

How to time code: a single measurement is mostly noise (other processes, cold caches, the first
call's setup), so each method is called once to warm up, then timed in several repetitions of as
many calls as fill about 50 ms (timeit-style, so small n repeats more and large n stays within
seconds). The median time per call is reported, with the fastest and slowest repetition as its
spread. Times still vary by machine; compare them within one run.

Run: python examples/04_vectorization.py [--n N]
"""
import argparse
import statistics
import time
import timeit
from collections.abc import Callable

import numpy as np

import tinygrad_lr as tl

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=1_000_000, help="vector length (default 1,000,000)")
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.standard_normal(args.n)
w = rng.standard_normal(args.n)

REPEATS = 5                # repetitions: enough for a median, few enough to stay quick
SECONDS_PER_REPEAT = 0.05  # each repetition calls the function as often as fills this time


def timed(label: str, compute: Callable[[], float]) -> tuple[float, float]:
    """Time `compute` timeit-style; print and return its value and median milliseconds per call."""
    value = compute()                                    # warm-up: the first call is slower
    timer = timeit.Timer(compute)
    calls = 1
    while timer.timeit(calls) < SECONDS_PER_REPEAT:      # how many calls fill one repetition
        calls *= 2
    per_call_ms = [total / calls * 1e3 for total in timer.repeat(repeat=REPEATS, number=calls)]
    median_ms = statistics.median(per_call_ms)
    print(f"{label:<28} z = {value:+.6f}   median {median_ms:9.3f} ms "
          f"(fastest {min(per_call_ms):.3f}, slowest {max(per_call_ms):.3f} ms; "
          f"{REPEATS} runs of {calls} call{'s' if calls > 1 else ''})")
    return value, median_ms


def python_loop() -> float:
    z = 0.0
    for i in range(len(x)):          # one interpreted multiply-add per element
        z += w[i] * x[i]
    return z


x_t = tl.tensor(x)
w_t = tl.tensor(w, requires_grad=True)


def engine_forward_backward() -> float:
    w_t.grad = None                  # backward() accumulates: start each call from no gradient
    z = (w_t * x_t).sum()            # z = sum_i w_i x_i, recorded in the graph
    z.backward()                     # dz/dw = x, also vectorized
    return z.item()


print(f"dot product of two vectors of length {args.n:,}")
z_loop, _ = timed("Python for loop", python_loop)
z_numpy, numpy_ms = timed("np.dot", lambda: float(np.dot(w, x)))
z_engine, engine_ms = timed("engine: (w * x).sum()", lambda: (w_t.detach() * x_t).sum().item())
z_matmul, _ = timed("engine: w @ x", lambda: (w_t.detach() @ x_t).item())
z_graph, _ = timed("engine: forward + backward", engine_forward_backward)
if numpy_ms > engine_ms:
    # np.dot does less work than multiply-then-sum; when it is slower, its BLAS library's
    # threads are waiting for busy cores. One thread is then faster: OPENBLAS_NUM_THREADS=1.
    print("np.dot is slower than (w * x).sum(): BLAS threads are waiting for busy cores; "
          "try OPENBLAS_NUM_THREADS=1")

# Same value, different summation order: equal up to rounding.
assert np.allclose([z_loop, z_engine, z_matmul, z_graph], z_numpy, rtol=1e-9, atol=1e-9)
assert np.array_equal(w_t.grad.numpy(), x)
print("all agree; and the engine's gradient dz/dw equals x exactly")
