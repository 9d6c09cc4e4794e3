"""Case: LogisticRegression on Dask arrays, on a LocalCluster of two single-threaded worker
processes (issue 16).

1. Speed: 1M x 100 float32 (100k x 100 with --quick), generated and persisted on the workers;
   the Dask fit against the in-memory fit of the same rows gathered into this process (target:
   at most 2.5x its time), and against dask-ml's lbfgs when dask-ml is installed (target: ours at
   most 0.2x its time, i.e. 5x faster; n/a otherwise). Repetitions interleaved.
2. Memory: 8M x 50 float64 (3.2 GB; 1.6M x 50 with --quick) generated lazily on the workers,
   each with a memory limit below the data's size, so the data is streamed from its generator on
   every pass; each worker's peak resident memory (getrusage) against its chunk share (the data
   divided by the workers) plus 0.5 GB.

``python -m benchmarks.dask_fit [--quick]`` runs it alone; ``python -m benchmarks`` runs it with
the others ("dask-fit"). Without Dask every cell is n/a.
"""
from __future__ import annotations

import statistics
import sys
import time
import warnings
from typing import Any

import numpy as np

from .harness import QUICK, FULL, Check, Settings, Table, fmt_ratio, fmt_time, ratio

CASE = "dask-fit"
GIB = 2**30
SPEED_LIMIT = 2.5  # Dask fit / in-memory fit
DASK_ML_LIMIT = 0.2  # ours / dask-ml's lbfgs: at least 5x faster
MEMORY_SLACK = 0.5 * GIB


def _cluster(memory_limit: str | int = "auto") -> tuple[Any, Any]:
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=memory_limit,
                               silence_logs=50)
    return cluster, Client(cluster)


def _logistic_data(rows: int, features: int, dtype: Any, chunk_rows: int, seed: int) -> Any:
    """Lazy X and 0/1 y drawn from a logistic model, generated chunk by chunk on the workers."""
    import dask.array as da

    generator = da.random.default_rng(seed)
    X = generator.standard_normal((rows, features), chunks=(chunk_rows, features), dtype=dtype)
    w = (np.random.default_rng(seed + 1).standard_normal(features) / np.sqrt(features)
         ).astype(dtype)
    y = (generator.random(rows, chunks=chunk_rows) < 1 / (1 + da.exp(-(X @ w)))).astype(dtype)
    return X, y


def _speed(settings: Settings) -> tuple[list[list[str]], list[Check], list[str]]:
    import dask

    from tinygrad_lr.linear_model import LogisticRegression

    rows = 100_000 if settings.quick else 1_000_000
    reps = 2 if settings.quick else 5
    cluster, client = _cluster()
    try:
        X, y = _logistic_data(rows, 100, np.float32, rows // 4, seed=0)
        X, y = dask.persist(X, y)
        X_local, y_local = dask.compute(X, y)
        try:
            from dask_ml.linear_model import LogisticRegression as DaskMLLogisticRegression
        except ImportError:
            DaskMLLogisticRegression = None
        sides: dict[str, list[float]] = {"in-memory": [], "dask": [], "dask-ml": []}
        fitted: dict[str, Any] = {}
        for rep in range(reps + 1):  # the first round warms up (imports on the workers)
            for side in sides:
                if side == "dask-ml" and DaskMLLogisticRegression is None:
                    continue
                start = time.perf_counter()
                if side == "in-memory":
                    fitted[side] = LogisticRegression().fit(X_local, y_local)
                elif side == "dask":
                    fitted[side] = LogisticRegression().fit(X, y)
                else:
                    fitted[side] = DaskMLLogisticRegression(solver="lbfgs").fit(X, y)
                if rep:
                    sides[side].append(time.perf_counter() - start)
    finally:
        client.close()
        cluster.close()
    median = {side: statistics.median(times) if times else None for side, times in sides.items()}
    low = {side: min(times) if times else None for side, times in sides.items()}
    versus_memory = ratio(median["dask"], median["in-memory"])
    versus_dask_ml = ratio(median["dask"], median["dask-ml"])
    gap = float(np.abs(fitted["dask"].coef_ - fitted["in-memory"].coef_).max()
                / np.abs(fitted["in-memory"].coef_).max())
    what = f"{rows:,} x 100 float32, 2 workers"
    table_rows = [
        [f"fit {what}", fmt_time(median["dask"]), fmt_time(median["in-memory"]),
         fmt_ratio(versus_memory), f"<= {SPEED_LIMIT}x",
         f"{fmt_time(low['dask'])} / {fmt_time(low['in-memory'])}"],
        [f"fit {what}, vs dask-ml lbfgs", fmt_time(median["dask"]), fmt_time(median["dask-ml"]),
         fmt_ratio(versus_dask_ml), f"<= {DASK_ML_LIMIT}x",
         "dask-ml not installed" if median["dask-ml"] is None else
         f"{fmt_time(low['dask'])} / {fmt_time(low['dask-ml'])}"],
    ]
    checks = [Check(CASE, f"fit {what} / in-memory fit", versus_memory, SPEED_LIMIT,
                    "Dask fit at most 2.5x the in-memory fit's time"),
              Check(CASE, f"fit {what} / dask-ml lbfgs", versus_dask_ml, DASK_ML_LIMIT,
                    "at least 5x faster than dask-ml's lbfgs (n/a without dask-ml)")]
    notes = [f"coefficients of the Dask fit within {gap:.1e} (relative to the largest) of the "
             f"in-memory fit's; {int(fitted['dask'].n_passes_)} passes over the data "
             f"({int(fitted['dask'].n_iter_[0])} iterations); medians of {reps} interleaved fits "
             "after one warm-up round"]
    return table_rows, checks, notes


def _peak_rss() -> int:
    """This process's peak resident set size in bytes (run on each worker)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _memory(settings: Settings) -> tuple[list[list[str]], list[Check], list[str]]:
    from tinygrad_lr.exceptions import ConvergenceWarning
    from tinygrad_lr.linear_model import LogisticRegression, _dask

    rows = 1_600_000 if settings.quick else 8_000_000
    features, chunk_rows = 50, 250_000
    data_bytes = rows * features * 8
    limit = max(GIB // 2, data_bytes // 3)  # per worker: less than the data, so it must stream
    cluster, client = _cluster(memory_limit=limit)
    try:
        X, y = _logistic_data(rows, features, np.float64, chunk_rows, seed=1)
        start = time.perf_counter()
        model = LogisticRegression(max_iter=15)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _dask.fit_logistic(model, X, y)
        elapsed = time.perf_counter() - start
        peaks = list(client.run(_peak_rss).values())
        persisted = data_bytes <= _dask._memory_budget()
    finally:
        client.close()
        cluster.close()
    share = data_bytes / 2
    worst = max(peaks)
    what = (f"{rows:,} x {features} float64 ({data_bytes / GIB:.2f} GB), "
            f"{'persisted' if persisted else 'streamed'}")
    table_rows = [[f"peak per worker, {what}", f"{worst / GIB:.2f} GB",
                   f"share {share / GIB:.2f} GB + 0.5", fmt_ratio(worst / (share + MEMORY_SLACK)),
                   "<= 1.00x", f"workers {', '.join(f'{p / GIB:.2f}' for p in peaks)} GB"]]
    checks = [Check(CASE, f"worker peak, {what} / (chunk share + 0.5 GB)",
                    worst / (share + MEMORY_SLACK), 1.0,
                    "each worker's peak at most its chunk share plus 0.5 GB")]
    notes = [f"memory limit {limit / GIB:.2f} GB per worker; the data "
             f"{'was persisted' if persisted else 'was streamed: generated again on every pass'}"
             f"; fit {elapsed:.1f} s for {int(model.n_passes_)} passes ({int(model.n_iter_[0])} "
             "iterations, max_iter=15)"]
    return table_rows, checks, notes


def dask_fit_case(settings: Settings, torch: Any = None) -> tuple[Table, list[Check]]:
    """The Dask case's table and checks (n/a everywhere without dask.distributed)."""
    headers = ["what", "ours", "reference", "ratio", "target", "fastest / detail"]
    table = Table(CASE, "LogisticRegression on Dask, two worker processes", headers)
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        table.rows.append(["Dask not installed (pip install 'tinygrad-lr[dask]')", "n/a", "n/a",
                           "n/a", "", ""])
        return table, [Check(CASE, "Dask fit", None, SPEED_LIMIT, "needs dask")]
    checks: list[Check] = []
    for part in (_speed, _memory):
        rows, part_checks, notes = part(settings)
        table.rows += rows
        table.notes += notes
        checks += part_checks
    return table, checks


if __name__ == "__main__":
    table, checks = dask_fit_case(QUICK if "--quick" in sys.argv[1:] else FULL)
    print(table.text())
    for check in checks:
        print(f"{check.status:5} {check.what}: {fmt_ratio(check.value)} (limit {check.limit})")
