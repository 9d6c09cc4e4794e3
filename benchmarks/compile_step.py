"""The compiled training step (issue 15): ``tl.compile`` of the logistic-regression step against
the same step eager, PyTorch's eager step and the hand-written NumPy floor, side by side.

Run alone: ``python -m benchmarks.compile_step [--quick] [--runs N]``; it is also the
``compile-step`` case of ``python -m benchmarks``.
"""
from __future__ import annotations

import argparse
import statistics
from typing import Any, Callable

import numpy as np

from .cases import (ADAM_BETAS, ADAM_EPS, ADAM_LR, SGD_LR, logistic_data, median_or_none,
                    numpy_step, optional)
from .harness import (FULL, QUICK, Check, Settings, Table, best_ratio, fmt_noise, fmt_ratio,
                      fmt_time, interleave, one_thread, ratio)

SHAPES = ((100, 3, np.float64), (1000, 10, np.float32))
TARGET = 0.3
# compiled/floor at most this makes compiled/torch <= TARGET hold even at PyTorch's reference speed
# (its step ran 3x faster when issue 15 was written than on the machines measured since).
FLOOR_TARGET = 1.3
MOMENTUM = 0.9


def training_step(lib: Any, data: dict[str, np.ndarray], optimizer: str,
                  compiled: bool) -> Callable[[], Any]:
    """One step (zero_grad, forward, loss, backward, optimizer step) in ``lib``, as a training
    loop writes it; SGD with momentum or Adam. ``compiled`` wraps it in ``lib.compile``."""
    X, y = lib.from_numpy(data["X"]), lib.from_numpy(data["y"])
    w = lib.tensor(data["w0"], requires_grad=True)
    b = lib.tensor(data["b0"], requires_grad=True)
    if optimizer == "SGD":
        opt = lib.optim.SGD([w, b], lr=SGD_LR, momentum=MOMENTUM)
    else:
        opt = lib.optim.Adam([w, b], lr=ADAM_LR, betas=ADAM_BETAS, eps=ADAM_EPS)
    bce = lib.nn.functional.binary_cross_entropy_with_logits

    def step(X: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = bce(X @ w + b, y)
        loss.backward()
        opt.step()
        return loss

    run = lib.compile(step) if compiled else step

    def side() -> None:  # the harness times sides that return None
        run(X, y)
    return side


def momentum_floor(data: dict[str, np.ndarray], optimizer: str) -> Callable[[], None]:
    """The hand-written NumPy step (no loss value); SGD with momentum where asked."""
    if optimizer != "SGD":
        return numpy_step(data, optimizer)
    X, y = data["X"], data["y"]
    m = X.shape[0]
    theta, bias = data["w0"].copy(), data["b0"].copy()
    velocity = {"w": np.zeros_like(theta), "b": np.zeros_like(bias)}

    def step() -> None:
        z = X @ theta + bias
        r = 1 / (1 + np.exp(-z)) - y
        for key, param, grad in (("w", theta, (X.T @ r) / m), ("b", bias, r.mean())):
            v = velocity[key]
            v *= MOMENTUM
            v += grad
            param -= SGD_LR * v
    return step


def compile_step_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Compiled step (ours) against PyTorch's eager step: at most 0.3x (issue 15)."""
    tl = optional("tinygrad_lr")
    table = Table("compile-step", "compiled logistic-regression training step (time per step)",
                  ["m x n", "dtype", "optim", "compiled", "eager", "torch", "numpy floor",
                   "compiled/torch", "eager/torch", "compiled/eager", "compiled/floor", "target",
                   "status", "floor target", "noise"])
    checks = []
    if tl is None or not hasattr(tl, "compile"):
        table.notes.append("ours: n/a (tinygrad_lr.compile is not available)")
        return table, checks
    for m, n, dtype in SHAPES:
        data = logistic_data(m, n, np.dtype(dtype))
        for optimizer in ("SGD", "Adam"):
            sides: dict[str, Callable[[], Any]] = {
                "compiled": training_step(tl, data, optimizer, True),
                "eager": training_step(tl, data, optimizer, False)}
            if torch is not None:
                sides["torch"] = training_step(torch, data, optimizer, False)
            sides["floor"] = momentum_floor(data, optimizer)
            with one_thread(torch, tl):
                stats = interleave(sides, settings)
            compiled, eager, theirs, floor = (median_or_none(stats, s)
                                              for s in ("compiled", "eager", "torch", "floor"))
            label = f"{m:,} x {n}"
            name = "SGD momentum" if optimizer == "SGD" else optimizer
            check = Check("compile-step", f"{label} {np.dtype(dtype).name} {name}",
                          ratio(compiled, theirs), TARGET, f"compiled/torch <= {TARGET}",
                          best_ratio(stats, "compiled", "torch"))
            floor_check = Check("compile-step", f"{label} {np.dtype(dtype).name} {name}",
                                ratio(compiled, floor), FLOOR_TARGET,
                                f"compiled/floor <= {FLOOR_TARGET}",
                                best_ratio(stats, "compiled", "floor"))
            checks += [check, floor_check]
            table.rows.append([label, np.dtype(dtype).name, name, fmt_time(compiled),
                               fmt_time(eager), fmt_time(theirs), fmt_time(floor),
                               fmt_ratio(ratio(compiled, theirs)),
                               fmt_ratio(ratio(eager, theirs)), fmt_ratio(ratio(compiled, eager)),
                               fmt_ratio(ratio(compiled, floor)), check.rule, check.status,
                               f"{floor_check.rule}: {floor_check.status}",
                               fmt_noise(*stats.values())])
    table.notes.append(f"SGD lr={SGD_LR} momentum={MOMENTUM}; Adam lr={ADAM_LR}, "
                       f"betas={ADAM_BETAS}, eps={ADAM_EPS}. Each side runs zero_grad, forward, "
                       "BCE-with-logits loss, backward and the optimizer step, and returns the "
                       "loss tensor; compiled = tinygrad_lr.compile of that function (captured "
                       "on its first call, replayed after). torch is eager PyTorch. One thread "
                       "each (at these sizes ours runs on one anyway; PyTorch's spinning OpenMP "
                       "threads lose milliseconds on a busy machine).")
    table.notes.append("numpy floor: the hand-written step without a loss value (SGD with "
                       "momentum, or Adam), into the parameters in place. The compiled step "
                       "also computes the loss (eager's fused formula: about ten NumPy calls the "
                       "floor does not make) and runs eager's exact calls, bit for bit.")
    table.notes.append("compiled/eager and compiled/floor compare NumPy code with NumPy code and "
                       "move least with the machine's load; PyTorch's step slows down more than "
                       "ours on a busy machine, which flatters compiled/torch then.")
    return table, checks


def main(argv: list[str] | None = None) -> int:
    """Run the case ``--runs`` times and print each run's table and the ratios' range."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    torch = None if args.no_torch else optional("torch")
    settings = QUICK if args.quick else FULL
    ratios: dict[tuple[str, str], list[float]] = {}
    for run in range(args.runs):
        table, checks = compile_step_case(settings, torch)
        print(f"run {run + 1}:")
        print(table.text())
        for check in checks:
            if check.value is not None:
                ratios.setdefault((check.what, check.rule.split(" ")[0]), []).append(check.value)
    for (name, kind), values in ratios.items():
        print(f"{name}: {kind} median {statistics.median(values):.3f} "
              f"(lowest {min(values):.3f}, highest {max(values):.3f}) over {len(values)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
