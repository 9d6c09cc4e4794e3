"""Case 5: peak resident memory while training, one fresh process per library so peaks don't mix.

The parent runs ``python -m benchmarks.memory LIBRARY M N STEPS`` for each library. The child
imports, makes the data, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``; without it
the peak since start is used), trains a few full-batch SGD steps and prints one JSON line with the
resident set sizes before the data, after the data and at the peak.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np

from .cases import framework_step, logistic_data, numpy_step, tinygrad_training_parts
from .harness import Check, Settings, Table

MIB = 2**20
LIBRARIES = ("numpy floor", "ours", "torch")
SLACK = 50 * MIB


def _status_kib(field: str) -> int:
    """A ``Vm*`` line of /proc/self/status in KiB (or the peak from getrusage as a fallback)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Set the peak-RSS mark to the current RSS (Linux); False when the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(library: str, m: int, n: int, steps: int) -> dict[str, Any]:
    """Train ``steps`` SGD steps at (m, n) float32 with ``library``; sizes in bytes."""
    if library == "torch":
        import torch
        parts = (torch, torch.nn.functional, torch.optim)
    elif library == "ours":
        parts = tinygrad_training_parts()
        if parts is None:
            raise SystemExit("tinygrad_lr.optim or nn.functional is not available")
    before_data = _status_kib("VmRSS")
    data = logistic_data(m, n, np.dtype(np.float32))
    step = numpy_step(data, "SGD") if library == "numpy floor" else framework_step(*parts, data,
                                                                                 "SGD")
    reset = _reset_peak()
    baseline = _status_kib("VmRSS") if reset else _status_kib("VmHWM")
    for _ in range(steps):
        step()
    peak = _status_kib("VmHWM")
    return {"library": library, "size_x": data["X"].nbytes, "before_data": before_data * 1024,
            "baseline": baseline * 1024, "peak": peak * 1024, "peak_reset": reset}


def memory_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Peak RSS over the post-data baseline for each library, against the size of X."""
    m, n, steps = 100_000, 100, 5
    table = Table("peak-memory",
                  f"peak RSS while training {steps} SGD steps at {m:,} x {n} float32",
                  ["library", "size(X)", "peak - baseline", "(peak - baseline)/size(X)",
                   "size(X) + extra", "target", "status"])
    checks = []
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    notes = set()
    for library in LIBRARIES:
        if library == "torch" and torch is None:
            table.rows.append([library, "n/a", "n/a", "n/a", "n/a", "", ""])
            continue
        proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", library, str(m), str(n),
                               str(steps)], cwd=repo_root, capture_output=True, text=True)
        if proc.returncode != 0:
            table.rows.append([library, "n/a", "n/a", "n/a", "n/a", "", ""])
            notes.add(f"{library}: the measuring process failed: "
                      f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if not r["peak_reset"]:
            notes.add("the peak mark could not be reset; peaks since process start are used")
        size_x, extra = r["size_x"], r["peak"] - r["baseline"]
        footprint = size_x + extra
        limit = 1.25 * size_x + SLACK
        rule, status = "", ""
        if library == "ours":
            check = Check("peak-memory", f"{m:,} x {n} float32, {steps} SGD steps",
                          footprint / MIB, limit / MIB, "size(X) + extra <= 1.25 size(X) + 50 MB")
            checks.append(check)
            rule, status = check.rule, check.status
        table.rows.append([library, f"{size_x / MIB:.1f} MiB", f"{extra / MIB:.1f} MiB",
                           f"{extra / size_x:.2f}", f"{footprint / MIB:.1f} MiB", rule, status])
    table.notes.append("Each library in its own fresh process; baseline = RSS after imports, data "
                       "and model creation (the peak mark is reset there), peak = VmHWM after the "
                       "steps. 'extra' = peak - baseline; X is already in the baseline, so the "
                       "target peak <= 1.25 size(X) + 50 MB is checked as size(X) + extra.")
    table.notes.extend(sorted(notes))
    return table, checks


if __name__ == "__main__":
    library_name, rows, cols, step_count = sys.argv[1], *map(int, sys.argv[2:5])
    if library_name not in LIBRARIES:
        raise SystemExit(f"unknown library {library_name!r}; expected one of {LIBRARIES}")
    print(json.dumps(measure(library_name, rows, cols, step_count)))
