"""Vectorization: the same dot product as a Python loop, as np.dot, and through the engine.

    z = w . x = sum_i w_i x_i

A Python loop pays the interpreter's overhead for every element; np.dot runs one compiled loop
over the whole array; the engine hands its arrays to NumPy, so it pays a small fixed cost per
operation (recording the graph) and none per element. Times vary by machine.

Run: python examples/04_vectorization.py [--n N]
"""
import argparse
import time

import numpy as np

import tinygrad_lr as tl

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=1_000_000, help="vector length (default 1,000,000)")
args = parser.parse_args()

rng = np.random.default_rng(0)
x = rng.standard_normal(args.n)
w = rng.standard_normal(args.n)


def timed(label: str, compute) -> float:
    start = time.perf_counter()
    value = compute()
    elapsed = time.perf_counter() - start
    print(f"{label:<38} z = {value:+.6f}   {elapsed * 1e3:9.2f} ms")
    return value


def python_loop() -> float:
    z = 0.0
    for i in range(len(x)):          # one interpreted multiply-add per element
        z += w[i] * x[i]
    return z


x_t = tl.tensor(x)
w_t = tl.tensor(w, requires_grad=True)


def engine_forward_backward() -> float:
    z = (w_t * x_t).sum()            # z = sum_i w_i x_i, recorded in the graph
    z.backward()                     # dz/dw = x, also vectorized
    return z.item()


print(f"dot product of two vectors of length {args.n:,}")
z_loop = timed("Python for loop", python_loop)
z_numpy = timed("np.dot", lambda: float(np.dot(w, x)))
z_engine = timed("engine: (w * x).sum()", lambda: (w_t.detach() * x_t).sum().item())
z_matmul = timed("engine: w @ x", lambda: (w_t.detach() @ x_t).item())
z_graph = timed("engine: forward + backward", engine_forward_backward)

# Same value, different summation order: equal up to rounding.
assert np.allclose([z_loop, z_engine, z_matmul, z_graph], z_numpy, rtol=1e-9, atol=1e-9)
assert np.array_equal(w_t.grad.numpy(), x)
print("all agree; and the engine's gradient dz/dw equals x exactly")
