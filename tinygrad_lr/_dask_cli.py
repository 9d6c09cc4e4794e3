"""``tinygrad-lr train/predict --dask`` (or ``--scheduler ADDRESS``): data larger than memory,
read by Dask from CSV files (a glob) or Parquet, fitted on a cluster where the rows stay.

``train`` reads the files lazily, splits the rows at random per partition (Dask's random_split:
not stratified), standardises with the mean and variance of the training part (one pass),
fits with the Dask path of LogisticRegression (a line on stderr per pass over the data), and
reports the test accuracy and log loss computed where the test rows are. ``predict`` writes one
CSV per partition (``part-00000.csv``...) into the ``--out`` folder, each written by the worker
holding the partition. Dask is imported only here, only when asked for.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
from typing import Any, Iterator

import numpy as np

from tinygrad_lr.data import StandardScaler
from tinygrad_lr.exceptions import DataError
from tinygrad_lr.linear_model import LogisticRegression, fit_logistic_dask

PROG = "tinygrad-lr"
SOLVERS = ("lbfgs", "newton")


def wanted(args: argparse.Namespace) -> bool:
    """Whether the command asks for the Dask path (--dask, --scheduler or Parquet input)."""
    return bool(getattr(args, "dask", False) or getattr(args, "scheduler", None)
                or getattr(args, "parquet", None))


def add_options(command: argparse.ArgumentParser) -> None:
    """--dask and --scheduler (the data input flags are the command's own)."""
    command.add_argument("--dask", action="store_true",
                         help="read and fit with Dask on a local cluster sized to this machine "
                              "(needs pip install 'tinygrad-lr[dask]'); --csv may be a glob")
    command.add_argument("--scheduler", metavar="ADDRESS",
                         help="fit on the running Dask cluster at ADDRESS (implies --dask)")


def _usage(message: str) -> ValueError:
    from tinygrad_lr.cli import UsageError

    return UsageError(message)


@contextlib.contextmanager
def _cluster(args: argparse.Namespace) -> Iterator[Any]:
    """A Client of the cluster at --scheduler, or of a LocalCluster of one single-threaded
    worker process per CPU, closed at the end."""
    try:
        import dask.dataframe  # noqa: F401
        from distributed import Client, LocalCluster
    except ImportError:
        raise _usage("--dask needs Dask: pip install 'tinygrad-lr[dask]'") from None
    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout=10)
        except (OSError, TimeoutError) as error:
            raise DataError(f"--scheduler {args.scheduler}: no Dask scheduler answers there "
                            f"({error})") from None
        with client:
            yield client
        return
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with LocalCluster(n_workers=cpus or 1, threads_per_worker=1, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        yield client


def _read(args: argparse.Namespace) -> tuple[Any, str]:
    """The data as a lazy Dask DataFrame, and a description of its source."""
    import dask.dataframe as dd

    if getattr(args, "parquet", None):
        try:
            return dd.read_parquet(args.parquet), args.parquet
        except (OSError, ValueError) as error:
            raise DataError(f"{args.parquet}: cannot read Parquet ({error})") from None
    pattern = args.csv
    try:
        frame = dd.read_csv(pattern, sep=args.delimiter or _detect_delimiter(pattern),
                            blocksize="64MB")
    except (OSError, ValueError) as error:
        raise DataError(f"{pattern}: cannot read CSV ({' '.join(str(error).split())})") from None
    return frame, pattern


def _detect_delimiter(pattern: str) -> str:
    """The separator of the first file's header: the most frequent of comma, semicolon, tab."""
    import glob

    files = sorted(glob.glob(pattern))
    if not files:
        raise DataError(f"{pattern}: no file matches")
    with open(files[0], encoding="utf-8") as handle:
        header = handle.readline()
    return max(",;\t", key=header.count)


def _columns(frame: Any, names: list[str], source: str) -> Any:
    """The numeric columns `names` of the frame, checked by their dtypes (known without reading
    the data)."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(f"{source}: no column named {missing[0]!r} (the columns are "
                        f"{', '.join(map(str, frame.columns))})")
    for name in names:
        if frame[name].dtype.kind not in "biuf":
            raise DataError(f"{source}: column {name!r} is not numeric (dtype "
                            f"{frame[name].dtype}); features must be numbers")
    return frame[names]


def _scaler(X: Any, names: list[str], source: str) -> StandardScaler:
    """A StandardScaler fitted on the Dask array X in one pass: population variance, zero
    variances scaled by 1 (as StandardScaler does)."""
    import dask
    import dask.array as da

    count, mean, var = dask.compute(da.ones_like(X[:, 0], dtype=np.int64).sum(),
                                    X.mean(axis=0), X.var(axis=0))
    bad = ~np.isfinite(mean) | ~np.isfinite(var)
    if bad.any():
        raise DataError(f"{source}: column {names[int(np.argmax(bad))]!r} holds an empty cell, "
                        "NaN or infinity")
    scaler = StandardScaler()
    scaler.n_features_in_ = X.shape[1]
    scaler.n_samples_seen_ = int(count)
    scaler.mean_ = np.asarray(mean, dtype=np.float64)
    scaler.var_ = np.asarray(var, dtype=np.float64)
    scaler.scale_ = np.where(scaler.var_ > 0, np.sqrt(scaler.var_), 1.0)
    return scaler


def _standardised(X: Any, scaler: StandardScaler) -> Any:
    return (X - scaler.mean_) / scaler.scale_


def _test_metrics(model: LogisticRegression, X: Any, y: Any) -> tuple[float, float, int]:
    """Accuracy, log loss and row count on the test part, computed where its rows are (a label
    the model never saw counts as wrong, with the loss of probability 0, clipped)."""
    import dask
    import dask.array as da

    classes = model.classes_
    proba = model.predict_proba(X)
    encoded = y.map_blocks(lambda block: np.searchsorted(classes, block), dtype=np.intp)
    matches = encoded[:, None] == da.arange(classes.size)[None, :]
    known = y.map_blocks(lambda block: np.isin(block, classes), dtype=bool)
    picked = (proba * matches).sum(axis=1)
    eps = np.finfo(np.float64).eps
    correct = (proba.argmax(axis=1) == encoded) & known
    loss = -da.log(da.clip(picked, eps, 1.0))
    rows, right, total_loss = dask.compute(da.ones_like(encoded).sum(), correct.sum(),
                                           loss.sum())
    rows = int(rows)
    return float(right) / max(rows, 1), float(total_loss) / max(rows, 1), rows


def train(args: argparse.Namespace) -> int:
    """``train --dask``: read, split, standardise, fit on the cluster, report, save."""
    from tinygrad_lr.cli import check_output_path, report_line, save_model

    check_output_path("--save", args.save, args.csv, args.parquet)
    if args.csv is None and args.parquet is None:
        raise _usage("--dask needs --csv PATTERN or --parquet PATH (the shipped data sets fit "
                     "in memory)")
    if args.target is None:
        raise _usage("--dask needs --target COLUMN, the column that holds the labels")
    if args.solver not in SOLVERS:
        raise _usage(f"--solver {args.solver} is not available with --dask; use "
                     f"{' or '.join(SOLVERS)}")
    if not 0 < args.test_size < 1:
        raise _usage(f"--test-size must be a fraction between 0 and 1 (exclusive), got "
                     f"{args.test_size}")
    quiet = args.quiet
    with _cluster(args) as client:
        started = time.perf_counter()
        frame, source = _read(args)
        if args.target not in frame.columns:
            raise DataError(f"{source}: no column named {args.target!r} (the columns are "
                            f"{', '.join(map(str, frame.columns))})")
        names = [str(name) for name in frame.columns if name != args.target]
        if not names:
            raise DataError(f"{source}: no feature column besides {args.target!r}")
        train_part, test_part = frame.random_split([1 - args.test_size, args.test_size],
                                                   random_state=args.seed)
        X_train = _columns(train_part, names, source).to_dask_array()
        scaler = _scaler(X_train, names, source)
        no_penalty = args.penalty == "none" or math.isinf(args.C)
        model = LogisticRegression(penalty=None if no_penalty else "l2",
                                   C=1.0 if math.isinf(args.C) else args.C, solver=args.solver,
                                   max_iter=args.max_iter)

        def progress(passes: int, kind: str, value: float, gradient: float | None) -> None:
            if not quiet:
                tail = "" if gradient is None else f", max |gradient| {gradient:.3e}"
                shown = "" if math.isnan(value) else f": objective {value:.10g}"
                print(f"pass {passes} over the data ({kind}){shown}{tail}", file=sys.stderr)

        fit_started = time.perf_counter()
        fit_logistic_dask(model, _standardised(X_train, scaler),
                          train_part[args.target].to_dask_array(), progress=progress)
        fitted = time.perf_counter() - fit_started
        accuracy, loss, test_rows = _test_metrics(
            model, _standardised(_columns(test_part, names, source).to_dask_array(), scaler),
            test_part[args.target].to_dask_array())
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
        print(report_line("data", f"{source}: {scaler.n_samples_seen_} train / {test_rows} "
                                  f"test rows (random split per partition, seed {args.seed}), "
                                  f"{len(names)} features, {model.classes_.size} classes"))
        print(report_line("cluster", f"{workers} Dask workers"
                                     + (f" at {args.scheduler}" if args.scheduler else " (local)")))
        print(report_line("solver", f"{args.solver}, penalty {'none' if no_penalty else 'l2'}, "
                                    f"C={args.C}"))
        print(report_line("iterations", f"{int(model.n_iter_[0])} ({model.n_passes_} passes over "
                                        "the data)"))
        total = time.perf_counter() - started
        print(report_line("time", f"fit {fitted:.3f} s (total {total:.3f} s)"))
        print(report_line("objective", f"{model.loss_curve_[-1]:.4f}"))
        print(report_line("test accuracy", f"{accuracy:.4f}"))
        print(report_line("test log loss", f"{loss:.4f}"))
        if args.save is not None:
            save_model(args.save, model, scaler, names, args.target)
            print(f"model saved to {args.save}")
    return 0


def _predict_partition(part: Any, model: LogisticRegression, scaler: StandardScaler | None,
                       names: list[str]) -> Any:
    """One partition's predicted labels and class probabilities, as a pandas DataFrame (the
    columns of the in-memory predict: label, proba_<class>...)."""
    import pandas as pd

    classes = model.classes_
    if len(part) == 0:
        proba = np.empty((0, classes.size))
    else:
        X = part[names].to_numpy(dtype=np.float64)
        proba = model.predict_proba(X if scaler is None else scaler.transform(X))
    columns = {"label": classes[proba.argmax(axis=1)] if len(part) else classes[:0]}
    columns.update({f"proba_{c}": proba[:, i] for i, c in enumerate(classes.tolist())})
    return pd.DataFrame(columns, index=part.index)


def predict(args: argparse.Namespace) -> int:
    """``predict --dask``: one CSV of labels and probabilities per partition, in --out."""
    from tinygrad_lr.cli import load_model, trained_feature_names

    if args.out is None:
        raise _usage("predict --dask needs --out FOLDER: one CSV per partition is written there")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise _usage(f"--out {args.out}: exists and is not a folder (predict --dask writes one "
                     "file per partition into a folder)")
    model, scaler, trained = load_model(args.model)
    names = trained_feature_names(model, trained)
    if names is None:
        raise DataError(f"{args.model}: the model file holds no feature names; predict --dask "
                        "finds the columns by name")
    with _cluster(args):
        frame, source = _read(args)
        _columns(frame, names, source)
        meta = _predict_partition(frame._meta, model, scaler, names)
        predictions = frame.map_partitions(_predict_partition, model, scaler, names, meta=meta)
        os.makedirs(args.out, exist_ok=True)
        files = predictions.to_csv(os.path.join(args.out, "part-*.csv"), index=False,
                                   name_function=lambda i: f"{i:05d}")
    if not args.quiet:
        print(f"predictions written to {len(files)} files in {args.out}", file=sys.stderr)
    return 0
