"""Capture and replay: tl.compile records a training step's kernels once and replays them.

An eager engine rebuilds the computation graph on every call: it wraps each result in a Tensor,
records a node per op, walks the graph newest-first for backward, looks up hyperparameters. At
small sizes that dispatch costs more than the arithmetic. But the step does the same work every
call: the same ops on arrays of the same shapes. So the first call of a compiled function runs
eagerly while a recorder writes down each kernel it runs (each op's forward, each derivative
rule, each gradient sum and accumulation into .grad, the optimizer update) with the buffers it
reads and writes. Later calls with the same signature (input shapes, dtypes, requires_grad, the
same parameters) run only that list of kernels on the new inputs' arrays. The dynamic graph
becomes a static one: printed below as its list of kernels.

What changes between calls stays live: the inputs, the parameters, .grad, the learning rate a
scheduler sets, Adam's step count. A step that reads a tensor's value on the host (.item(),
if loss > 0:) cannot be replayed, because its Python decides from that value: it runs eagerly,
with one warning (torch.compile's "graph break").

Timing as example 04: a warm-up call, then several repetitions of as many calls as fill about
50 ms; the median per call with the fastest and slowest repetition.

Run: python examples/09_compile.py [--steps N]
"""
import argparse
import statistics
import timeit
import warnings
from collections.abc import Callable

import numpy as np

import tinygrad_lr as tl
import tinygrad_lr.nn.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=50, help="training steps compared (default 50)")
args = parser.parse_args()

REPEATS = 5
SECONDS_PER_REPEAT = 0.05


def make_run(m: int, n: int, dtype: np.dtype) -> tuple[Callable, list, Callable]:
    """Data, a logistic-regression model with SGD + momentum, and its training step."""
    rng = np.random.default_rng(0)
    X = tl.from_numpy(rng.standard_normal((m, n)).astype(dtype))
    y = tl.from_numpy((rng.random(m) < 0.5).astype(dtype))
    w = tl.zeros(n, dtype=dtype, requires_grad=True)
    b = tl.zeros(1, dtype=dtype, requires_grad=True)
    opt = tl.optim.SGD([w, b], lr=0.1, momentum=0.9)

    def step(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(X @ w + b, y)  # sigma(Xw + b) vs y
        loss.backward()                                           # dL/dw = X^T (sigma - y) / m
        opt.step()                                                # v = 0.9 v + g; w -= 0.1 v
        return loss
    return step, [X, y], lambda: (w.detach().numpy().copy(), b.detach().numpy().copy())


def timed(label: str, call: Callable[[], object]) -> float:
    """Median seconds per call, timeit-style; prints it with the spread."""
    call()
    timer = timeit.Timer(call)
    calls = 1
    while timer.timeit(calls) < SECONDS_PER_REPEAT:
        calls *= 2
    per_call = [total / calls for total in timer.repeat(repeat=REPEATS, number=calls)]
    median = statistics.median(per_call)
    print(f"  {label:<9} median {median * 1e6:7.1f} µs per step "
          f"(fastest {min(per_call) * 1e6:.1f}, slowest {max(per_call) * 1e6:.1f}; "
          f"{REPEATS} runs of {calls} steps)")
    return median


# 1. The same training, eager and compiled, from the same start: identical bit for bit.
eager_step, data, eager_params = make_run(100, 3, np.float64)
compiled_step, data2, compiled_params = make_run(100, 3, np.float64)
compiled = tl.compile(compiled_step)
for _ in range(args.steps):
    loss_eager = eager_step(*data)
    loss_compiled = compiled(*data2)
same = all(np.array_equal(a, b) for a, b in zip(eager_params(), compiled_params()))
print(f"{args.steps} steps: eager loss {loss_eager.item():.12f}, compiled loss "
      f"{loss_compiled.item():.12f}; parameters bit-identical: {same}")
assert same and loss_eager.item() == loss_compiled.item()

# 2. The plan: the static graph the first call recorded, one kernel a line, each followed by the
# Python statements its replay runs (the NumPy calls of the op, the rule, the optimizer's kernel:
# one generated function, compiled once, is the whole replay).
print()
print(compiled.plan())

# 3. Eager against compiled, timed, at two sizes.
for m, n, dtype in ((100, 3, np.float64), (1000, 10, np.float32)):
    print(f"\nstep at {m} x {n} {np.dtype(dtype).name}:")
    step, inputs, _ = make_run(m, n, dtype)
    fast = tl.compile(make_run(m, n, dtype)[0])
    eager_time = timed("eager", lambda: step(*inputs))
    compiled_time = timed("compiled", lambda: fast(*inputs))
    print(f"  compiled / eager = {compiled_time / eager_time:.2f}")

# 4. A new shape is a new signature: captured again (a small cache, as torch.compile's guards).
small = [tl.from_numpy(np.asarray(t.detach().numpy()[:10])) for t in data2]
compiled(*small)
print(f"\nafter a call on 10 rows: {len(compiled.captures)} captures")

# 5. A graph break: the step decides in Python from a value it reads on the host.
def step_with_a_branch(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
    loss = compiled_step(X, y)
    if loss.item() < 0.1:          # .item() reads the value: a replay could not take this branch
        print("converged")
    return loss


with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    branching = tl.compile(step_with_a_branch)
    for _ in range(3):
        branching(*data2)
print(f"graph break: {len(caught)} warning for 3 calls: {caught[0].message}")
