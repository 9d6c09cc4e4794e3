"""Case 7: reading a numeric CSV, ``tinygrad_lr.data.read_csv`` against ``np.loadtxt`` on the same
file: time (interleaved in this process) and peak memory (each reader in its own fresh process).

The file: a header, then 200,000 rows (20,000 with --quick) of 50 standard-normal features written
to full precision and a 0/1 label column ``y``. ``np.loadtxt(path, delimiter=",", skiprows=1)``
reads all 51 columns as float64; ``read_csv(path, "y")`` returns the 50 feature columns and the
labels typed as int64. The targets: at most 1.5 times loadtxt's time, and a peak at most 2.5 times
the float64 feature array.

``python -m benchmarks.csv_read SIDE PATH`` is the child that measures one reader's peak memory: it
resets the kernel's peak-RSS mark after its imports, reads, and prints one JSON line.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from .cases import median_or_none
from .harness import (Check, Settings, Table, best_ratio, fmt_noise, fmt_ratio, fmt_time,
                      interleave, ratio)
from .memory import MIB, _reset_peak, _status_kib

COLUMNS = 50
ROWS_FULL, ROWS_QUICK = 200_000, 20_000
TIME_LIMIT = 1.5
MEMORY_LIMIT = 2.5
SIDES = ("np.loadtxt", "ours")
# Reads of a 200 MB file take seconds: a few samples of one read each are enough.
SAMPLES_FULL, SAMPLES_QUICK = 5, 2


def write_file(path: str, rows: int, columns: int = COLUMNS, seed: int = 0) -> None:
    """The benchmark's CSV: features f0..f{columns-1} at full precision (%.17g), then label y."""
    rng = np.random.default_rng(seed)
    chunk = 20_000
    with open(path, "w") as handle:
        handle.write(",".join([f"f{i}" for i in range(columns)] + ["y"]) + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            block = np.column_stack([rng.standard_normal((n, columns)),
                                     rng.integers(0, 2, n)])
            np.savetxt(handle, block, delimiter=",", fmt=["%.17g"] * columns + ["%d"])


def reader(side: str, path: str) -> Callable[[], Any]:
    """One full read of ``path`` by ``side``."""
    if side == "np.loadtxt":
        return lambda: np.loadtxt(path, delimiter=",", skiprows=1)
    from tinygrad_lr.data import read_csv
    return lambda: read_csv(path, "y")


def _timed(read: Callable[[], Any]) -> Callable[[], None]:
    """A harness side: the read, its result dropped (a side returns None to be timed outside)."""
    def side() -> None:
        read()
    return side


def measure(side: str, path: str) -> dict[str, Any]:
    """Peak RSS above the post-import baseline while ``side`` reads ``path`` once, in bytes."""
    read = reader(side, path)
    reset = _reset_peak()
    baseline = _status_kib("VmRSS") if reset else _status_kib("VmHWM")
    result = read()
    peak = _status_kib("VmHWM")
    X = result if isinstance(result, np.ndarray) else result[0]
    return {"side": side, "extra": (peak - baseline) * 1024, "shape": list(X.shape),
            "peak_reset": reset}


def _child(side: str, path: str, repo_root: str) -> dict[str, Any] | str:
    """``measure`` in a fresh process: its result, or the child's last error line."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.csv_read", side, path],
                          cwd=repo_root, capture_output=True, text=True)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def csv_read_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Time and peak memory of reading the CSV, ours against np.loadtxt."""
    rows = ROWS_QUICK if settings.quick else ROWS_FULL
    feature_bytes = rows * COLUMNS * 8
    table = Table("csv-read", f"reading a {rows:,} x {COLUMNS} numeric CSV (+ a label column)",
                  ["reader", "median", "best", "noise", "time / loadtxt", "peak - baseline",
                   "peak / size(X)"])
    folder = tempfile.mkdtemp(prefix="tinygrad-lr-bench-")
    try:
        path = os.path.join(folder, "numeric.csv")
        write_file(path, rows)
        size = os.path.getsize(path)
        timing = replace(settings, samples=SAMPLES_QUICK if settings.quick else SAMPLES_FULL,
                         min_sample_time=0.0, warmup=1, settle=0.0)
        try:
            sides = {side: _timed(reader(side, path)) for side in SIDES}
        except ImportError:  # tinygrad_lr.data missing: show loadtxt alone
            sides = {"np.loadtxt": _timed(reader("np.loadtxt", path))}
        stats = interleave(sides, timing)
        repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        peaks = {side: _child(side, path, repo_root) for side in sides}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reference = stats["np.loadtxt"].median()
    notes = []
    for side in SIDES:
        if side not in stats:
            table.rows.append([side, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"])
            continue
        peak = peaks[side]
        if isinstance(peak, str):
            notes.append(f"{side}: the memory-measuring process failed: {peak}")
            extra = None
        else:
            extra = peak["extra"]
            if not peak["peak_reset"]:
                notes.append("the peak mark could not be reset; peaks since process start used")
        table.rows.append([
            side, fmt_time(stats[side].median()), fmt_time(stats[side].best()),
            fmt_noise(stats[side]), fmt_ratio(ratio(stats[side].median(), reference)),
            "n/a" if extra is None else f"{extra / MIB:.1f} MiB",
            "n/a" if extra is None else f"{extra / feature_bytes:.2f}"])
    time_ratio = ratio(median_or_none(stats, "ours"), reference)
    ours_peak = peaks.get("ours")
    memory_ratio = ours_peak["extra"] / feature_bytes if isinstance(ours_peak, dict) else None
    checks = [
        Check("csv-read", f"read {rows:,} x {COLUMNS} CSV: time vs np.loadtxt", time_ratio,
              TIME_LIMIT, f"<= {TIME_LIMIT}x np.loadtxt",
              best=best_ratio(stats, "ours", "np.loadtxt")),
        Check("csv-read", f"read {rows:,} x {COLUMNS} CSV: peak memory vs the float64 X",
              memory_ratio, MEMORY_LIMIT, f"peak - baseline <= {MEMORY_LIMIT} size(X)"),
    ]
    table.notes.append(f"The file is {size / 1e6:.0f} MB. size(X) = {feature_bytes / MIB:.1f} MiB "
                       f"(the {COLUMNS} feature columns in float64). Time: {timing.samples} "
                       "interleaved samples of one read each. Memory: each reader alone in a "
                       "fresh process, peak RSS (VmHWM) minus the RSS after imports.")
    table.notes.extend(notes)
    return table, checks


if __name__ == "__main__":
    side_name, file_path = sys.argv[1], sys.argv[2]
    if side_name not in SIDES:
        raise SystemExit(f"unknown reader {side_name!r}; expected one of {SIDES}")
    print(json.dumps(measure(side_name, file_path)))
