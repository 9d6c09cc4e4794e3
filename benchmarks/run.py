"""Run the benchmark suite: print each case's table, write RESULTS.md and a chart of the ratios.

Usage: ``python -m benchmarks [--quick] [--cases NAME ...] [--no-torch] [--threads N] [--runs N]``
(or ``python benchmarks/run.py ...``). ``--quick`` is a smoke run with few, short samples and
smaller sizes; it writes ``RESULTS.quick.md`` so the committed full ``RESULTS.md`` stays as it is.
"""
from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make the package importable from the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.cases import (backward_chain_case, optimizer_case, optional, scalar_chain_case,
                              train_step_case)
from benchmarks.compile_step import compile_step_case
from benchmarks.csv_read import csv_read_case
from benchmarks.dask_fit import dask_fit_case
from benchmarks.fit import fit_case, optimum_case
from benchmarks.harness import (FULL, QUICK, Check, OtherLoad, Settings, Table, environment,
                                load_average)
from benchmarks.memory import memory_case

HERE = os.path.dirname(os.path.abspath(__file__))
# The hand-written record of speed work, copied into the results file.
SPEED_LOG = os.path.join(HERE, "SPEED_LOG.md")
CaseFn = Callable[[Settings, Any], "tuple[Table, list[Check]]"]
CASES: dict[str, CaseFn] = {
    "train-step": train_step_case,
    "compile-step": compile_step_case,
    "scalar-chain": scalar_chain_case,
    "optimizer-step": optimizer_case,
    "fit-breast-cancer": fit_case,
    "fit-optimum": optimum_case,
    "peak-memory": memory_case,
    "backward-chain": backward_chain_case,
    "csv-read": csv_read_case,
    "dask-fit": dask_fit_case,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few short samples, smaller sizes; writes RESULTS.quick.md")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), metavar="NAME",
                        help=f"run only these cases (of: {', '.join(CASES)})")
    parser.add_argument("--no-torch", action="store_true",
                        help="run without PyTorch even when it is installed (its columns show n/a)")
    parser.add_argument("--threads", type=int, default=None,
                        help="limit torch and tinygrad_lr (set_num_threads) and the BLAS/OpenMP "
                             "pools of NumPy, SciPy and scikit-learn (threadpoolctl) to N threads; "
                             "default: each library's own. --threads 1 makes a busy machine's "
                             "numbers usable")
    parser.add_argument("--runs", type=_positive_int, default=1, metavar="N",
                        help="run the cases N times in turn: the tables are the last run's, and a "
                             "table adds each target's lowest, median and highest value over the "
                             "runs (the machine's speed drifts between runs)")
    parser.add_argument("--output", default=None,
                        help="Markdown file to write (default: benchmarks/RESULTS.md, or "
                             "benchmarks/RESULTS.quick.md with --quick)")
    return parser.parse_args(argv)


def _import_torch(disabled: bool) -> Any:
    """torch, or None when it is missing or disabled."""
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def _limit_threads(torch: Any, threads: int) -> Any:
    """Limit every thread pool the cases use to ``threads``; returns the limiter to keep alive."""
    if torch is not None:
        torch.set_num_threads(threads)
    ours = optional("tinygrad_lr")
    if ours is not None and hasattr(ours, "set_num_threads"):
        ours.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
        # Load SciPy's and scikit-learn's own pools first, so that the limit reaches them too.
        importlib.import_module("sklearn.linear_model")
    except ImportError:
        return None
    return threadpool_limits(limits=threads)


def write_chart(checks: list[Check], path: str) -> str:
    """A horizontal bar chart of each target's value relative to its limit; returns a note."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed"
    measured = [c for c in checks if c.status in ("PASS", "MISS") and c.value != float("inf")]
    if not measured:
        return "chart skipped: no target was measured"
    labels = [f"{c.case}: {c.what}" for c in measured]
    values = [c.value / c.limit for c in measured]
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(measured) + 1.2))
    colors = ["tab:green" if c.status == "PASS" else "tab:red" for c in measured]
    ax.barh(range(len(measured)), values, color=colors)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(measured)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.35 * max(values + [1.0]))
    ax.set_xlabel("measured / target limit (left of the dashed line = PASS)")
    for i, c in enumerate(measured):
        ax.text(values[i], i, f" {c.value:.3g} (limit {c.limit:.3g})", va="center", fontsize=7)
    ax.set_title("tinygrad_lr benchmark targets")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart: {os.path.basename(path)} (beside the results file)"


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _shown(check: Check, value: float | None) -> str:
    """A target's value as the tables print it."""
    if value is None or check.status == "n/a":
        return "n/a"
    return "not converged" if value == float("inf") else f"{value:.3g}"


def _summary(checks: list[Check]) -> Table:
    """Every target with its measured value, limit and PASS/MISS."""
    table = Table("summary", "targets", ["case", "what", "measured (medians)", "limit", "rule",
                                         "status", "best samples"])
    for c in checks:
        best = "" if c.best is None else f"{c.best:.3g}"
        table.rows.append([c.case, c.what, _shown(c, c.value), f"{c.limit:.3g}", c.rule, c.status,
                           best])
    return table


def _over_runs(runs: list[list[Check]]) -> Table:
    """Each target over several runs: its lowest, median and highest value, and the runs it
    passed (a target at the edge passes or misses with the machine's drift)."""
    table = Table("runs", f"targets over {len(runs)} runs",
                  ["case", "what", "lowest", "median", "highest", "limit", "passed"])
    for same in zip(*runs, strict=True):
        first = same[0]
        values = sorted(c.value for c in same if c.status != "n/a")
        low, mid, high = ((values[0], statistics.median(values), values[-1]) if values
                          else (None, None, None))
        passed = sum(c.status == "PASS" for c in same)
        table.rows.append([first.case, first.what, _shown(first, low), _shown(first, mid),
                           _shown(first, high), f"{first.limit:.3g}", f"{passed}/{len(same)}"])
    return table


def busy_note(others: float | None) -> str:
    """A warning when other processes took more than a fifth of the machine's CPU time during
    the run (``others``, a share), else an empty string."""
    if others is None or others <= 0.2:
        return ""
    return (f"WARNING: the machine was busy (other processes took {others:.0%} of its CPU time "
            "during the run). Multi-threaded libraries suffer most: PyTorch's and scikit-learn's "
            "OpenMP threads wait at barriers for threads the OS has descheduled, so their times "
            "(and our ratios against them) are inflated. Rerun on a quiet machine, or compare "
            "with --threads 1.")


def render_markdown(env: dict[str, str], settings: Settings, tables: list[Table],
                    summary: Table, chart_note: str, elapsed: float, warning: str,
                    over_runs: Table | None = None, others: float | None = None) -> str:
    """The whole RESULTS.md text."""
    lines = ["# Benchmark results", "",
             "Generated by `python -m benchmarks`" + (" --quick (smoke run; not representative)"
                                                      if settings.quick else "") + ". Do not edit.",
             "", "## Machine and libraries", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in env.items()]
    lines += ["", "## Method", "",
              f"Each side is warmed up ({settings.warmup} calls), calibrated so that one sample "
              f"lasts at least {settings.min_sample_time * 1e3:g} ms, then sampled "
              f"{settings.samples} times in turns (ours, torch, floor, ours, ...), each sample "
              f"after {settings.settle * 1e3:g} ms of busy waiting, so that the threads of the "
              "side before (PyTorch's OpenMP workers spin for milliseconds after a call) are idle "
              "again. Times are "
              "medians of the per-call sample means (time.perf_counter); noise is the largest "
              "interquartile range over median among the sides of a row. Ratios are ours over "
              "the reference, lower is better. While sampling, the objects that existed before "
              "(imported libraries, data) are frozen out of Python's garbage collector "
              "(gc.freeze), so that collections cost each side only for what it allocates.", "",
              "The summary's last column is the same ratio over each side's fastest sample, a "
              "cross-check that is less sensitive to load from other processes.", "",
              f"Total run time {elapsed:.0f} s; 1-minute load average at the end "
              f"{load_average()}; other processes took "
              f"{'an unknown share' if others is None else f'{others:.0%}'} of the machine's CPU "
              f"time during the run. {chart_note}.", ""]
    if warning:
        lines += [f"**{warning}**", ""]
    lines += ["## Targets", "", summary.markdown(), ""]
    if over_runs is not None:
        lines += [over_runs.markdown(), ""]
    lines += ["## Cases", ""]
    for table in tables:
        lines += [table.markdown(), ""]
    if os.path.exists(SPEED_LOG):
        with open(SPEED_LOG) as f:
            lines += ["## What we tried and what each change bought", "", f.read()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases and write the results; the exit code is 0 unless a case crashed."""
    args = _parse(argv)
    settings = QUICK if args.quick else FULL
    torch = _import_torch(args.no_torch)
    limiter = _limit_threads(torch, args.threads) if args.threads is not None else None
    env = environment(torch, args.no_torch)
    print("\n".join(f"{k}: {v}" for k, v in env.items()), flush=True)
    started = time.perf_counter()
    other_load = OtherLoad()
    runs: list[list[Check]] = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"\n#### run {run + 1} of {args.runs}", flush=True)
        tables, checks = [], []
        for name in args.cases or list(CASES):
            case_start = time.perf_counter()
            table, case_checks = CASES[name](settings, torch)
            tables.append(table)
            checks += case_checks
            table.notes.append(f"1-minute load average after this case: {load_average()}.")
            print(f"\n{table.text()}\n   ({time.perf_counter() - case_start:.1f} s)", flush=True)
        runs.append(checks)
    elapsed = time.perf_counter() - started
    summary = _summary(checks)
    over_runs = _over_runs(runs) if args.runs > 1 else None
    others = other_load.share()
    warning = busy_note(others)
    print(f"\n{summary.text()}")
    if over_runs is not None:
        print(f"\n{over_runs.text()}")
    if warning:
        print(f"\n{warning}")
    suffix = ".quick" if args.quick else ""
    output = args.output or os.path.join(HERE, f"RESULTS{suffix}.md")
    chart_note = write_chart(checks, os.path.splitext(output)[0] + ".png")
    with open(output, "w") as f:
        f.write(render_markdown(env, settings, tables, summary, chart_note, elapsed, warning,
                                over_runs, others))
    print(f"\nwrote {output}; {chart_note}; {elapsed:.1f} s in total")
    if limiter is not None:
        limiter.restore_original_limits()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
