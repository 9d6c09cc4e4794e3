"""Where our time goes in one benchmark workload: cProfile's hottest functions per unit of work,
and the page faults per unit (fresh large temporaries are first touched page by page).

Usage, from the repo root::

    python -m benchmarks.profile train-step --m 1000000 --n 100 --dtype float32 --optim SGD
    python -m benchmarks.profile scalar-chain
    python -m benchmarks.profile optimizer-step --optim Adam
    python -m benchmarks.profile fit --solver lbfgs
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import time
from typing import Any, Callable

import numpy as np

from .cases import (ADAM_BETAS, ADAM_EPS, ADAM_LR, SGD_LR, framework_step, logistic_data,
                    numpy_step, optimizer_step, optional, scalar_chain, tinygrad_training_parts)


Work = Callable[[], object]


def _workload(args: argparse.Namespace) -> tuple[Work, str, Work | None]:
    """Our side of the chosen case, its unit of work, and the NumPy floor when the case has one."""
    tl = optional("tinygrad_lr")
    if args.case == "train-step":
        parts = tinygrad_training_parts()
        if parts is None:
            raise SystemExit("tinygrad_lr.optim or nn.functional is not available")
        data = logistic_data(args.m, args.n, np.dtype(args.dtype))
        return framework_step(*parts, data, args.optim), "step", numpy_step(data, args.optim)
    if args.case == "scalar-chain":
        return scalar_chain(tl, tl.float64, args.iterations, False), "chain", None
    if args.case == "optimizer-step":
        rng = np.random.default_rng(1)
        param, grad = (rng.standard_normal(args.size, dtype=np.float32) for _ in range(2))
        name = {"SGD": "SGD momentum=0.9"}.get(args.optim, args.optim)
        return optimizer_step(tl, optional("tinygrad_lr.optim"), name, param, grad), "step", None
    from .fit import breast_cancer, ours_fit
    fit = ours_fit(args.solver)
    if fit is None:
        raise SystemExit("tinygrad_lr.linear_model is not available")
    X, y = breast_cancer()
    return lambda: fit(X, y), "fit", None


def phase_times(lib: Any, functional: Any, optim: Any, data: dict[str, np.ndarray], optimizer: str,
                reps: int) -> dict[str, float]:
    """Median seconds of each phase of one training step (the same step the benchmark times)."""
    X, y = lib.from_numpy(data["X"]), lib.from_numpy(data["y"])
    w = lib.tensor(data["w0"], requires_grad=True)
    b = lib.tensor(data["b0"], requires_grad=True)
    opt = (optim.SGD([w, b], lr=SGD_LR) if optimizer == "SGD"
           else optim.Adam([w, b], lr=ADAM_LR, betas=ADAM_BETAS, eps=ADAM_EPS))
    bce = functional.binary_cross_entropy_with_logits
    times: dict[str, list[float]] = {p: [] for p in ("X @ w + b", "loss", "backward", "step",
                                                      "zero_grad")}
    for _ in range(reps):
        t0 = time.perf_counter()
        z = X @ w + b
        t1 = time.perf_counter()
        loss = bce(z, y)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        opt.zero_grad()
        t5 = time.perf_counter()
        for phase, seconds in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            times[phase].append(seconds)
    return {phase: float(np.median(values)) for phase, values in times.items()}


def _timed(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median seconds per call over ``reps`` calls, and minor page faults per call."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return float(np.median(times)), faults / reps


def _print_phases(args: argparse.Namespace) -> None:
    """Per-phase medians of our training step beside PyTorch's (when installed)."""
    data = logistic_data(args.m, args.n, np.dtype(args.dtype))
    sides = {"ours": tinygrad_training_parts()}
    torch = optional("torch")
    if torch is not None:
        sides["torch"] = (torch, torch.nn.functional, torch.optim)
    results = {}
    for name, parts in sides.items():
        phase_times(*parts, data, args.optim, 2)
        results[name] = phase_times(*parts, data, args.optim, args.reps)
    print("\nphase medians (µs):  " + "  ".join(f"{name:>10s}" for name in results))
    for phase in results["ours"]:
        print(f"  {phase:17s}  " + "  ".join(f"{r[phase] * 1e6:10.1f}" for r in results.values()))


def main(argv: list[str] | None = None) -> None:
    """Time, count page faults and profile our side of one case; print the hottest functions."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("case", choices=["train-step", "scalar-chain", "optimizer-step", "fit"])
    parser.add_argument("--m", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--optim", default="SGD", choices=["SGD", "Adam", "RMSprop"])
    parser.add_argument("--size", type=int, default=1_000_000, help="optimizer-step parameter size")
    parser.add_argument("--iterations", type=int, default=10_000, help="scalar-chain iterations")
    parser.add_argument("--solver", default="lbfgs", choices=["lbfgs", "newton"])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    ours, unit, floor = _workload(args)
    for _ in range(2):
        ours()
        if floor is not None:
            floor()
    for name, fn in (("ours", ours), ("numpy floor", floor)):
        if fn is not None:
            seconds, faults = _timed(fn, args.reps)
            print(f"{name}: {seconds * 1e3:.3f} ms per {unit} (median of {args.reps}), "
                  f"{faults:.0f} minor page faults per {unit}")
    if args.case == "train-step":
        _print_phases(args)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.reps):
        ours()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"\ncProfile of ours over {args.reps} {unit}s "
          f"(divide times by {args.reps} for per-{unit}):")
    print(out.getvalue())


if __name__ == "__main__":
    main()
