"""The timed cases: training steps, per-op overhead, optimizer steps, backward through long chains.

Each case builds the same data and initial values for every side, times the sides interleaved
(see :mod:`benchmarks.harness`) and returns its result table and the targets it checks. A side
whose library (or part of it) is missing shows n/a instead of stopping the run.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

import numpy as np

from .harness import (Check, Settings, Stats, Table, best_ratio, fmt_noise, fmt_ratio, fmt_time,
                      interleave, one_thread, ratio)

SGD_LR = 0.1
ADAM_LR = 0.01
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def optional(module: str, attribute: str | None = None) -> Any:
    """``module`` (or one attribute of it) if it can be imported, else None."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(found, attribute, None) if attribute else found


def median_or_none(stats: dict[str, Stats], side: str, phase: str = "total") -> float | None:
    """A side's median seconds, or None when the side was not run."""
    return stats[side].median(phase) if side in stats else None


# ---- case 1: full-batch logistic-regression training step ----------------------------------------
def logistic_data(m: int, n: int, dtype: np.dtype, seed: int = 0) -> dict[str, np.ndarray]:
    """Features, 0/1 labels drawn from a logistic model and small initial weights, in ``dtype``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n), dtype=dtype)
    true_w = rng.standard_normal(n) / np.sqrt(n)
    chunk = 1 << 16
    logits = np.concatenate([X[i:i + chunk] @ true_w.astype(dtype) for i in range(0, m, chunk)])
    y = (rng.random(m) < 1 / (1 + np.exp(-logits))).astype(dtype)
    w0 = (0.01 * rng.standard_normal(n)).astype(dtype)
    b0 = np.zeros(1, dtype=dtype)
    return {"X": X, "y": y, "w0": w0, "b0": b0}


def numpy_step(data: dict[str, np.ndarray], optimizer: str) -> Callable[[], None]:
    """The hand-written vectorized step (the floor): mean log-loss gradient, then SGD or Adam."""
    X, y = data["X"], data["y"]
    m = X.shape[0]
    theta, bias = data["w0"].copy(), data["b0"].copy()
    if optimizer == "SGD":
        def step() -> None:
            z = X @ theta + bias
            h = 1 / (1 + np.exp(-z))
            r = h - y
            theta[...] -= SGD_LR * (X.T @ r) / m
            bias[...] -= SGD_LR * r.mean()
        return step
    beta1, beta2 = ADAM_BETAS
    moments = {"m_w": np.zeros_like(theta), "v_w": np.zeros_like(theta),
               "m_b": np.zeros_like(bias), "v_b": np.zeros_like(bias), "t": 0}

    def adam(param: np.ndarray, grad: np.ndarray, m_key: str, v_key: str, t: int) -> None:
        mom, vel = moments[m_key], moments[v_key]
        mom[...] = beta1 * mom + (1 - beta1) * grad
        vel[...] = beta2 * vel + (1 - beta2) * grad * grad
        m_hat = mom / (1 - beta1 ** t)
        v_hat = vel / (1 - beta2 ** t)
        param[...] -= ADAM_LR * m_hat / (np.sqrt(v_hat) + ADAM_EPS)

    def adam_step() -> None:
        z = X @ theta + bias
        h = 1 / (1 + np.exp(-z))
        r = h - y
        moments["t"] += 1
        adam(theta, (X.T @ r) / m, "m_w", "v_w", moments["t"])
        adam(bias, np.atleast_1d(r.mean()), "m_b", "v_b", moments["t"])
    return adam_step


def framework_step(lib: Any, functional: Any, optim: Any, data: dict[str, np.ndarray],
                   optimizer: str) -> Callable[[], None]:
    """One autograd training step in ``lib`` (tinygrad_lr or torch): forward, loss, backward, step,
    zero_grad, with the data shared (not copied) from NumPy."""
    X, y = lib.from_numpy(data["X"]), lib.from_numpy(data["y"])
    w = lib.tensor(data["w0"], requires_grad=True)
    b = lib.tensor(data["b0"], requires_grad=True)
    if optimizer == "SGD":
        opt = optim.SGD([w, b], lr=SGD_LR)
    else:
        opt = optim.Adam([w, b], lr=ADAM_LR, betas=ADAM_BETAS, eps=ADAM_EPS)
    bce = functional.binary_cross_entropy_with_logits

    def step() -> None:
        loss = bce(X @ w + b, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step


def tinygrad_training_parts() -> tuple[Any, Any, Any] | None:
    """(tinygrad_lr, its functional module, its optim module), or None while one is missing."""
    tl = optional("tinygrad_lr")
    functional = optional("tinygrad_lr.nn.functional")
    optim = optional("tinygrad_lr.optim")
    parts = (tl, functional, optim)
    if any(p is None for p in parts) or not hasattr(optim, "SGD") or not hasattr(optim, "Adam") \
            or not hasattr(functional, "binary_cross_entropy_with_logits"):
        return None
    return parts


def train_step_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Case 1: one full-batch training step at several sizes, against PyTorch and the floor."""
    shapes = [(100, 3, np.float64), (1000, 10, np.float32), (100_000, 100, np.float32),
              (100_000, 100, np.float64)]
    if not settings.quick:
        shapes.append((1_000_000, 100, np.float32))
    table = Table("train-step", "full-batch logistic-regression training step (time per step)",
                  ["m x n", "dtype", "optim", "ours", "torch", "numpy floor", "ours/torch",
                   "ours/floor", "target", "status", "noise"])
    checks = []
    ours_parts = tinygrad_training_parts()
    for m, n, dtype in shapes:
        data = logistic_data(m, n, np.dtype(dtype))
        for optimizer in ("SGD", "Adam"):
            sides: dict[str, Callable[[], None]] = {}
            if ours_parts is not None:
                sides["ours"] = framework_step(*ours_parts, data, optimizer)
            if torch is not None:
                sides["torch"] = framework_step(torch, torch.nn.functional, torch.optim, data,
                                                optimizer)
            sides["floor"] = numpy_step(data, optimizer)
            stats = interleave(sides, settings)
            ours, theirs, floor = (median_or_none(stats, s) for s in ("ours", "torch", "floor"))
            vs_torch, vs_floor = ratio(ours, theirs), ratio(ours, floor)
            small = m * n <= 10_000
            label = f"{m:,} x {n}"
            check = Check("train-step", f"{label} {np.dtype(dtype).name} {optimizer}",
                          vs_torch if small else vs_floor, 0.5 if small else 1.15,
                          "ours/torch <= 0.5" if small else "ours/floor <= 1.15",
                          best_ratio(stats, "ours", "torch" if small else "floor"))
            checks.append(check)
            table.rows.append([label, np.dtype(dtype).name, optimizer, fmt_time(ours),
                               fmt_time(theirs), fmt_time(floor), fmt_ratio(vs_torch),
                               fmt_ratio(vs_floor), check.rule, check.status,
                               fmt_noise(*stats.values())])
        del data
    table.notes.append(f"SGD lr={SGD_LR}; Adam lr={ADAM_LR}, betas={ADAM_BETAS}, eps={ADAM_EPS}; "
                       "weights (n,), bias (1,), same initial values on every side; X shared "
                       "with NumPy (from_numpy) on both frameworks.")
    table.notes.append("numpy floor: z = X@w + b; h = 1/(1+exp(-z)); w -= lr X^T(h-y)/m; "
                       "b -= lr mean(h-y) (Adam: the hand-written Adam update on that gradient). "
                       "It computes no loss value; the frameworks do.")
    if ours_parts is None:
        table.notes.append("ours: n/a (tinygrad_lr.optim or nn.functional is not available yet)")
    return table, checks


# ---- case 2 and 6: scalar chains ----------------------------------------------------------------
def scalar_chain(lib: Any, dtype: Any, iterations: int, backward_only: bool
                 ) -> Callable[[], dict[str, float]]:
    """Build ``y = tanh(y*a + b)`` ``iterations`` times on 0-d float64 tensors and backpropagate;
    the phases are timed separately (the forward is left untimed with ``backward_only``)."""
    import time
    a = lib.tensor(0.9, dtype=dtype, requires_grad=True)
    b = lib.tensor(0.1, dtype=dtype, requires_grad=True)
    y0 = lib.tensor(0.5, dtype=dtype)
    tanh = lib.tanh

    def run() -> dict[str, float]:
        a.grad = None
        b.grad = None
        start = time.perf_counter()
        y = y0
        for _ in range(iterations):
            y = tanh(y * a + b)
        built = time.perf_counter()
        y.backward()
        done = time.perf_counter()
        if backward_only:
            return {"backward": done - built}
        return {"forward": built - start, "backward": done - built}
    return run


def scalar_chain_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Case 2: per-op overhead on a 30,000-op scalar chain, forward and backward (µs per op)."""
    tl = optional("tinygrad_lr")
    iterations = 1_000 if settings.quick else 10_000
    ops = 3 * iterations
    sides = {"ours": scalar_chain(tl, tl.float64, iterations, False)}
    if torch is not None:
        sides["torch"] = scalar_chain(torch, torch.float64, iterations, False)
    stats = interleave(sides, settings)
    table = Table("scalar-chain", f"per-op overhead, {ops:,}-op scalar chain y = tanh(y*a + b), "
                  "0-d float64 (µs per op)",
                  ["phase", "ours µs/op", "torch µs/op", "ours/torch", "target", "status",
                   "noise"])
    checks = []
    for phase in ("forward", "backward", "total"):
        ours = stats["ours"].median(phase) / ops * 1e6
        theirs = stats["torch"].median(phase) / ops * 1e6 if "torch" in stats else None
        value = ratio(ours, theirs)
        rule, status = "", ""
        if phase == "total":
            check = Check("scalar-chain", f"{ops:,}-op chain forward+backward", value, 0.6,
                          "ours/torch <= 0.6 per op", best_ratio(stats, "ours", "torch"))
            checks.append(check)
            rule, status = check.rule, check.status
        table.rows.append([phase, f"{ours:.2f}", "n/a" if theirs is None else f"{theirs:.2f}",
                           fmt_ratio(value), rule, status,
                           fmt_noise(*stats.values(), phase=phase)])
    return table, checks


def backward_chain_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Case 6: backward alone through a 10,000- and a 100,000-op chain; time should be linear."""
    tl = optional("tinygrad_lr")
    lengths = (1_000, 10_000) if settings.quick else (10_000, 100_000)
    table = Table("backward-chain", "backward through long scalar chains (µs per op)",
                  ["ops", "ours µs/op", "torch µs/op", "ours/torch", "noise"])
    per_op: dict[str, list[float | None]] = {"ours": [], "torch": []}
    for length in lengths:
        iterations = -(-length // 3)
        ops = 3 * iterations
        sides = {"ours": scalar_chain(tl, tl.float64, iterations, True)}
        if torch is not None:
            sides["torch"] = scalar_chain(torch, torch.float64, iterations, True)
        stats = interleave(sides, settings)
        ours = stats["ours"].median() / ops * 1e6
        theirs = stats["torch"].median() / ops * 1e6 if "torch" in stats else None
        per_op["ours"].append(ours)
        per_op["torch"].append(theirs)
        table.rows.append([f"{ops:,}", f"{ours:.2f}", "n/a" if theirs is None else f"{theirs:.2f}",
                           fmt_ratio(ratio(ours, theirs)), fmt_noise(*stats.values())])
    growth = {side: ratio(v[1], v[0]) for side, v in per_op.items()}
    table.rows.append([f"µs/op ratio {lengths[1]:,}/{lengths[0]:,}", fmt_ratio(growth["ours"]),
                       fmt_ratio(growth["torch"]), "", ""])
    check = Check("backward-chain", f"µs/op at {lengths[1]:,} over {lengths[0]:,} ops (ours)",
                  growth["ours"], 1.5, "µs/op ratio <= 1.5 (linear; not an issue target)")
    table.notes.append("A µs/op ratio near 1.0 means backward time grows linearly with the chain. "
                       "The graph is built untimed before each timed backward.")
    return table, [check]


# ---- case 3: optimizer step on one large parameter ----------------------------------------------
def optimizer_step(lib: Any, optim: Any, name: str, param: np.ndarray, grad: np.ndarray
                   ) -> Callable[[], None]:
    """``opt.step()`` on one parameter whose gradient is preset (and kept) to ``grad``."""
    p = lib.tensor(param, requires_grad=True)
    p.grad = lib.tensor(grad)
    if name == "SGD momentum=0.9":
        opt = optim.SGD([p], lr=1e-3, momentum=0.9)
    elif name == "RMSprop":
        opt = optim.RMSprop([p])
    else:
        opt = optim.Adam([p])
    return opt.step


# Issue 15's limits, one thread each: NumPy's binary ufuncs need four passes for SGD with momentum
# where PyTorch's kernels take three (a floor of about 1.25).
OPTIMIZER_LIMITS = {"SGD momentum=0.9": 1.3, "RMSprop": 1.1, "Adam": 1.1}


def optimizer_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Case 3: one optimizer step on a 1,000,000-element float32 parameter, one thread each (the
    target), and each library's default threads beside it."""
    size = 1_000_000
    rng = np.random.default_rng(1)
    param = rng.standard_normal(size, dtype=np.float32)
    grad = rng.standard_normal(size, dtype=np.float32)
    optim = optional("tinygrad_lr.optim")
    tl = optional("tinygrad_lr")
    table = Table("optimizer-step", f"optimizer step on one {size:,}-element float32 parameter",
                  ["optimizer", "ours", "torch", "ours/torch", "target", "status", "noise",
                   "default threads: ours, torch, ours/torch"])
    checks = []
    for name, cls in (("SGD momentum=0.9", "SGD"), ("RMSprop", "RMSprop"), ("Adam", "Adam")):
        sides = {}
        if optim is not None and hasattr(optim, cls):
            sides["ours"] = optimizer_step(tl, optim, name, param, grad)
        if torch is not None:
            sides["torch"] = optimizer_step(torch, torch.optim, name, param, grad)
        default = interleave(sides, settings) if sides else {}
        ours_n, theirs_n = median_or_none(default, "ours"), median_or_none(default, "torch")
        with one_thread(tl, torch):
            single = interleave(sides, settings) if sides else {}
        ours, theirs = median_or_none(single, "ours"), median_or_none(single, "torch")
        limit = OPTIMIZER_LIMITS[name]
        check = Check("optimizer-step", name, ratio(ours, theirs), limit,
                      f"ours/torch <= {limit} (1 thread each)",
                      best_ratio(single, "ours", "torch"))
        checks.append(check)
        table.rows.append([name, fmt_time(ours), fmt_time(theirs), fmt_ratio(check.value),
                           check.rule, check.status, fmt_noise(*single.values()),
                           f"{fmt_time(ours_n)}, {fmt_time(theirs_n)}, "
                           f"{fmt_ratio(ratio(ours_n, theirs_n))}"])
    table.notes.append("Default hyperparameters (SGD: lr=1e-3, momentum=0.9); torch picks its own "
                       "foreach/fused defaults on CPU. The same preset gradient every step.")
    table.notes.append("ours, torch: both libraries' set_num_threads(1), as the target is set. "
                       "NumPy has no fused multiply-add, so our update takes more whole-array "
                       "passes than torch's fused kernels (SGD with momentum 4 against 3, RMSprop "
                       "9 against 5, Adam 12 against 7; the square root costs the same on both "
                       "sides). Default threads: each library's own setting (--threads N sets "
                       "both); two threads at best halve each side's time.")
    return table, checks
