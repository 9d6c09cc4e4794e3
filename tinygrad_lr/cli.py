"""The ``tinygrad-lr`` command: train a logistic regression on shipped or CSV data, then predict
with it or evaluate it.

Bad input (a missing or malformed file, a bad hyperparameter, a model file that is not ours...)
ends the command with one line on stderr, ``tinygrad-lr: error: ...``, and exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import IO, Any

import numpy as np

from tinygrad_lr import __version__, _dask_cli, serialization
from tinygrad_lr.data import (StandardScaler, load_breast_cancer, load_digits, read_csv,
                              read_features, train_test_split)
from tinygrad_lr.exceptions import ConvergenceWarning, DataError, DataValueError
from tinygrad_lr.linear_model import LogisticRegression
from tinygrad_lr.metrics import accuracy_score, confusion_matrix, log_loss, roc_auc_score

PROG = "tinygrad-lr"
EXIT_ERROR = 2
SOLVERS = ("lbfgs", "newton", "sgd", "adam", "rmsprop")
FIRST_ORDER_SOLVERS = ("sgd", "adam", "rmsprop")  # the solvers with a learning rate and minibatches
# Reading a file at least this large shows a progress line (on a terminal, without --quiet).
PROGRESS_MIN_BYTES = 50 * 2**20
# A numeric target with more distinct values than this gets the continuous-target hint.
MANY_CLASSES = 20
DATASETS: dict[str, Callable[..., Any]] = {"breast_cancer": load_breast_cancer,
                                           "digits": load_digits}
MODEL_FORMAT = "tinygrad-lr.cli-model"
MODEL_VERSION = 1
# The fitted attributes of StandardScaler, saved with the model and set back on loading.
_SCALER = ("n_features_in_", "n_samples_seen_", "mean_", "var_", "scale_")


class UsageError(ValueError):
    """A problem with the command line itself (reported like any other bad input)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors turned into one-line messages instead of usage dumps."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ---- the model file: the fitted model, the scaler it expects, and the column names -----------
def save_model(path: str, model: LogisticRegression, scaler: StandardScaler | None,
               feature_names: Sequence[str], target: str | None) -> None:
    """Write one safe (pickle-free) file holding the model and the standardisation it needs."""
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    serialization.save({
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "model": serialization.load(buffer),
        "scaler": None if scaler is None else {name: getattr(scaler, name) for name in _SCALER},
        "feature_names": [str(name) for name in feature_names],
        "target": target,
    }, path)


def load_model(path: str) -> tuple[LogisticRegression, StandardScaler | None, dict[str, Any]]:
    """The model, its scaler and the column names it was trained with (feature_names, target),
    from a file written by ``train --save`` (or by ``LogisticRegression.save``: no scaler)."""
    try:
        state = serialization.load(path)
    except ValueError as error:
        problem = str(error).removeprefix(f"load: {path!r}: ")
        raise ValueError(f"{path}: not a model file: {problem}") from None
    if not (isinstance(state, dict) and state.get("format") == MODEL_FORMAT):
        return LogisticRegression.load(path), None, {"feature_names": None, "target": None}
    if state.get("version") != MODEL_VERSION:
        raise ValueError(f"{path}: unsupported model file version {state.get('version')!r} "
                         f"(this version reads {MODEL_VERSION})")
    try:
        buffer = io.BytesIO()
        serialization.save(state["model"], buffer)
        buffer.seek(0)
        model = LogisticRegression.load(buffer)
        scaler = None
        if state["scaler"] is not None:
            scaler = StandardScaler()
            for name in _SCALER:
                setattr(scaler, name, state["scaler"][name])
        trained = {"feature_names": state["feature_names"], "target": state["target"]}
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: damaged model file ({type(error).__name__}: {error})") from None
    return model, scaler, trained


# ---- reading data -------------------------------------------------------------------------------
class _ReadProgress:
    """Shows ``reading PATH: 42% (82 of 195 MB)`` in place on stderr while a large file is read,
    at most ten times a second; ``close`` wipes it."""

    def __init__(self, path: str, stream: IO[str]) -> None:
        self.path, self.stream, self.last_shown, self.shown = path, stream, 0.0, False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last_shown < 0.1 and done < total:
            return
        percent = min(100, int(100 * done / max(total, 1)))
        self.stream.write(f"\r\033[Kreading {self.path}: {percent}% ({done / 1e6:.0f} of "
                          f"{total / 1e6:.0f} MB)")
        self.stream.flush()
        self.last_shown, self.shown = now, True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


@contextlib.contextmanager
def _reading(path: str, quiet: bool) -> Any:
    """A progress callback for reading ``path`` (None unless the file is large, stderr is a
    terminal and --quiet is not given); the progress line is wiped when the block ends."""
    try:
        large = os.path.getsize(path) >= PROGRESS_MIN_BYTES
    except OSError:  # the reader names the problem
        large = False
    if quiet or not large or not sys.stderr.isatty():
        yield None
        return
    progress = _ReadProgress(path, sys.stderr)
    try:
        yield progress
    finally:
        progress.close()


def _looks_continuous(y: np.ndarray) -> bool:
    """A numeric target with fractional values, or with many distinct ones."""
    if y.dtype.kind == "f":  # read_csv gives floats only when some label is not an integer
        return True
    return y.dtype.kind in "iu" and np.unique(y).size > MANY_CLASSES


def _continuous_hint(y: np.ndarray, column: str) -> str:
    """Why a numeric target with many values does not suit this command."""
    values = np.unique(y)
    examples = ", ".join(str(v) for v in values[:: max(1, values.size // 3)][:3].tolist())
    return (f"{column} holds {values.size} distinct numbers ({examples}, ...): it looks "
            "like a continuous target, but tinygrad-lr trains a classifier (logistic "
            "regression), which needs class labels; to predict a number use "
            "tinygrad_lr.linear_model.LinearRegression in Python")


def _training_data(args: argparse.Namespace
                   ) -> tuple[np.ndarray, np.ndarray, list[str], str, str]:
    """X, y, feature names, a description of the source and of the label column, from --csv or
    --dataset."""
    if args.csv is not None:
        with _reading(args.csv, args.quiet) as progress:
            X, y, names = read_csv(args.csv, args.target, delimiter=args.delimiter,
                                   progress=progress)
        source, column = args.csv, f"column {args.target!r}"
    else:
        bunch = DATASETS[args.dataset]()
        X, y, names, source = bunch.data, bunch.target, list(bunch.feature_names), args.dataset
        column = "the target"
    classes = np.unique(y)
    if classes.size < 2:
        raise DataError(f"{source}: {column} has a single class ({classes.tolist()[0]!r}); "
                        "a classifier needs examples of at least two classes")
    if y.dtype.kind == "f":
        raise DataError(f"{source}: {_continuous_hint(y, column)}")
    return X, y, names, source, column


def _split(X: np.ndarray, y: np.ndarray, args: argparse.Namespace, source: str, column: str
           ) -> list[np.ndarray]:
    """The stratified train/test split; a target it cannot split is explained in the CLI's
    terms (and, when it looks continuous, with the hint that this is a classifier)."""
    try:
        return train_test_split(X, y, test_size=args.test_size, stratify=y,
                                random_state=args.seed)
    except ValueError as error:
        hint = f"; {_continuous_hint(y, column)}" if _looks_continuous(y) else (
            "; a smaller --test-size, or more rows of the rare classes, may help")
        raise DataError(f"{source}: cannot split {y.size} rows into train and test parts "
                        f"stratified by class ({str(error).removeprefix('stratify: ')}){hint}"
                        ) from None


# ---- reporting ---------------------------------------------------------------------------------
def report_line(name: str, value: Any) -> str:
    """One report line: the name in a 16-character column, then the value."""
    return f"{name:<16}{value}"


def _metrics_report(model: LogisticRegression, X: np.ndarray, y: np.ndarray, prefix: str) -> str:
    """Accuracy, log loss, ROC AUC (two classes) and the confusion matrix of the model on (X, y)."""
    proba = model.predict_proba(X)
    predicted = model.classes_[proba.argmax(axis=1)]
    classes = model.classes_
    lines = [report_line(prefix + "accuracy", f"{accuracy_score(y, predicted):.4f}"),
             report_line(prefix + "log loss", f"{log_loss(y, proba, labels=classes):.4f}")]
    if classes.size == 2:
        auc = (f"{roc_auc_score(y == classes[1], proba[:, 1]):.4f}" if np.unique(y).size == 2
               else "n/a (only one class in the data)")
        lines.append(report_line(prefix + "ROC AUC", auc))
    matrix = confusion_matrix(y, predicted, labels=classes)
    names = [str(c) for c in classes.tolist()]
    width = max(6, *(len(n) + 1 for n in names), len(str(matrix.max())) + 1)
    lines.append("confusion matrix (rows: true class, columns: predicted class)")
    lines.append(" " * width + "".join(n.rjust(width) for n in names))
    for name, row in zip(names, matrix):
        lines.append(name.rjust(width) + "".join(str(v).rjust(width) for v in row))
    return "\n".join(lines)


def _check_known_labels(model: LogisticRegression, y: np.ndarray, path: str, target: str) -> None:
    """Refuse labels the model never saw: its metrics would be meaningless."""
    unknown = sorted({label for label in np.unique(y).tolist()}
                     - set(model.classes_.tolist()), key=str)
    if unknown:
        raise DataError(f"{path}: column {target!r} holds labels {unknown} that the model was not "
                        f"trained on (its classes are {model.classes_.tolist()})")


class _ProgressLine(io.TextIOBase):
    """Receives the solver's per-iteration lines and shows the latest one in place on a terminal,
    at most ten times a second; ``close`` wipes it so the report starts on a clean line."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream, self.pending, self.last_shown, self.shown = stream, "", 0.0, False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        now = time.monotonic()
        if lines and lines[-1] and now - self.last_shown >= 0.1:
            self.stream.write("\r\033[K" + lines[-1])
            self.stream.flush()
            self.last_shown, self.shown = now, True
        return len(text)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
        super().close()


def _fit(model: LogisticRegression, X: np.ndarray, y: np.ndarray, quiet: bool
         ) -> tuple[float, bool]:
    """Fit, with live progress on a terminal and solver warnings as one line each; returns the
    time taken in seconds and whether the solver converged."""
    show_progress = not quiet and sys.stderr.isatty()
    model.set_params(verbose=1 if show_progress else 0)
    progress = _ProgressLine(sys.stderr)
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(progress):
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            model.fit(X, y)
        finally:
            progress.close()
        elapsed = time.perf_counter() - start
    if not quiet:
        for message in dict.fromkeys(" ".join(str(w.message).split()) for w in caught):
            print(f"{PROG}: warning: {message}", file=sys.stderr)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return elapsed, converged


def _plot_loss_curve(curve: Sequence[float], solver: str, path: str) -> None:
    """Draw the training loss per iteration to a PNG file (no window: the Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve)
    ax.set(xlabel="iteration (epoch for minibatches)", ylabel="training loss",
           title=f"loss curve, solver {solver}", yscale="log" if min(curve) > 0 else "linear")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


_EXAMPLES = """examples:
  tinygrad-lr train                                   breast-cancer data, lbfgs
  tinygrad-lr train --solver sgd --batch-size 32 --max-iter 200
  tinygrad-lr train --csv data.csv --target label --save model.npz
  tinygrad-lr predict --model model.npz --csv new.csv --out predictions.csv
  tinygrad-lr evaluate --model model.npz --csv test.csv --target label
"""


# ---- checks before any work ---------------------------------------------------------------------
def _check_train_options(args: argparse.Namespace) -> None:
    """The training options' values, named by their flags (before any data is read)."""
    if args.csv is None and args.target is not None:
        raise UsageError("--target applies to --csv data only")
    if args.csv is not None and args.target is None:
        raise UsageError("--csv needs --target COLUMN, the column that holds the labels")
    first_order = args.solver in FIRST_ORDER_SOLVERS
    if args.lr is not None:
        if not first_order:
            raise UsageError(f"--lr applies to the solvers {', '.join(FIRST_ORDER_SOLVERS)}; "
                             f"--solver {args.solver} has no learning rate (drop --lr)")
        if not (math.isfinite(args.lr) and args.lr > 0):
            raise UsageError(f"--lr must be a positive number, got {args.lr}")
    if args.batch_size is not None:
        if not first_order:
            raise UsageError(f"--batch-size applies to the solvers "
                             f"{', '.join(FIRST_ORDER_SOLVERS)}; --solver {args.solver} always "
                             "uses the full batch (drop --batch-size)")
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.max_iter < 1:
        raise UsageError(f"--max-iter must be at least 1, got {args.max_iter}")
    if not args.C > 0:  # inf is allowed: no penalty, as scikit-learn's C=np.inf
        raise UsageError(f"--C must be a positive number (inf for no penalty), got {args.C}")
    if not 0 < args.test_size < 1:
        raise UsageError(f"--test-size must be a fraction between 0 and 1 (exclusive), got "
                         f"{args.test_size}")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}")


def check_output_path(flag: str, path: str | None, *inputs: str | None) -> None:
    """An output path must be creatable (its folder exists and is writable), must not be a
    folder, and must not be one of the command's input files (user data is never overwritten)."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{flag} {path}: is a directory; give a file name")
    if not os.path.exists(folder):
        raise UsageError(f"{flag} {path}: the directory {folder} does not exist")
    if not os.path.isdir(folder):
        raise UsageError(f"{flag} {path}: {folder} is not a directory")
    if os.path.exists(path):
        if not _may(path, os.W_OK):
            raise UsageError(f"{flag} {path}: the file exists and is not writable")
        for source in inputs:
            if source is not None and os.path.exists(source) and os.path.samefile(path, source):
                raise UsageError(f"{flag} {path}: is an input of this command; writing there "
                                 "would overwrite it")
    elif not _may(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the directory {folder} is not writable")


def _may(path: str, mode: int) -> bool:
    """``os.access`` for the effective user (the one that will open the file) where the system
    can tell, which also reports read-only file systems."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)


# ---- commands ----------------------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    """``train``: split, standardise, fit, report; optionally save the model and plot the loss."""
    if _dask_cli.wanted(args):
        return _dask_cli.train(args)
    _check_train_options(args)
    check_output_path("--save", args.save, args.csv)
    check_output_path("--plot", args.plot, args.csv)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401  (checked before training, not after)
        except ImportError:
            raise UsageError("--plot needs matplotlib, which is not installed "
                             "(pip install matplotlib, or drop --plot)") from None
    started = time.perf_counter()
    X, y, feature_names, source, column = _training_data(args)
    X_train, X_test, y_train, y_test = _split(X, y, args, source, column)
    read_time = time.perf_counter() - started
    scaler = StandardScaler().fit(X_train)
    no_penalty = args.penalty == "none" or math.isinf(args.C)
    model = LogisticRegression(penalty=None if no_penalty else "l2",
                               C=1.0 if math.isinf(args.C) else args.C, solver=args.solver,
                               lr=args.lr, max_iter=args.max_iter, batch_size=args.batch_size,
                               random_state=args.seed)
    X_train = scaler.transform(X_train)
    elapsed, converged = _fit(model, X_train, y_train, args.quiet)
    if _looks_continuous(y) and not args.quiet:
        print(f"{PROG}: warning: {source}: {_continuous_hint(y, column)}", file=sys.stderr)
    batches = "full batch" if args.batch_size is None else f"minibatches of {args.batch_size}"
    stopped = "converged" if converged else "stopped by --max-iter before converging"
    train_loss = log_loss(y_train, model.predict_proba(X_train), labels=model.classes_)
    minimised = "train log loss, no penalty" if no_penalty else "train log loss + L2 penalty"
    print(report_line("data", f"{source}: {X.shape[0]} samples, {X.shape[1]} features, "
                              f"{model.classes_.size} classes"))
    print(report_line("split", f"{len(y_train)} train / {len(y_test)} test (stratified, seed "
                               f"{args.seed}); features standardised on the train part"))
    print(report_line("solver", f"{args.solver}, {batches}, penalty "
                                f"{'none' if no_penalty else 'l2'}, C={args.C}"))
    print(report_line("iterations", f"{int(np.max(model.n_iter_))} ({stopped})"))
    print(report_line("time", f"fit {elapsed:.3f} s (reading and splitting the data "
                              f"{read_time:.3f} s)"))
    print(report_line("train log loss", f"{train_loss:.4f}"))
    print(report_line("objective", f"{model.loss_curve_[-1]:.4f} ({minimised}: what the solver "
                                   "minimises)"))
    print(_metrics_report(model, scaler.transform(X_test), y_test, "test "))
    if args.save is not None:
        save_model(args.save, model, scaler, feature_names, args.target)
        print(f"model saved to {args.save}")
    if args.plot is not None:
        _plot_loss_curve(model.loss_curve_, args.solver, args.plot)
        print(f"loss curve saved to {args.plot}")
    return 0


def trained_feature_names(model: LogisticRegression, trained: dict[str, Any]) -> list[str] | None:
    """The feature names the model was trained with, when its file keeps them."""
    names = trained["feature_names"]
    if names is None:
        names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    names = [str(name) for name in names]
    if len(names) != model.n_features_in_:
        raise DataError(f"damaged model file: {len(names)} feature names for "
                        f"{model.n_features_in_} features")
    return names


def _model_features(args: argparse.Namespace, model: LogisticRegression,
                    scaler: StandardScaler | None, trained: dict[str, Any]
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """The CSV's features in the model's column order, standardised as in training, and its
    labels when --target is given (evaluate) . Columns are matched by name: any order, other
    columns ignored; a model file without names matches by position, and only a file with
    exactly the model's number of feature columns."""
    names = trained_feature_names(model, trained)
    target = args.target
    if target is not None and names is not None and target in names:
        raise DataError(f"{args.csv}: --target {target!r} is one of the model's feature "
                        f"columns ({', '.join(names)})")
    y = None
    with _reading(args.csv, args.quiet) as progress:
        if names is not None and args.command == "evaluate":
            X, y, _ = read_csv(args.csv, target, features=names, delimiter=args.delimiter,
                               progress=progress)
        elif names is not None:
            X, _ = read_features(args.csv, columns=names, delimiter=args.delimiter,
                                 progress=progress)
        elif args.command == "evaluate":
            X, y, found = read_csv(args.csv, target, delimiter=args.delimiter, progress=progress)
        else:
            try:
                X, found = read_features(args.csv, exclude=target or trained["target"],
                                         delimiter=args.delimiter, progress=progress)
            except DataValueError as error:
                raise DataError(f"{error}; if that column holds the labels, pass --target "
                                "COLUMN to ignore it") from None
    if names is None:
        if X.shape[1] != model.n_features_in_:
            raise DataError(f"{args.csv}: the model file holds no feature names, so columns can "
                            f"only be matched by position, and the file has {X.shape[1]} feature "
                            f"columns ({', '.join(found)}) where the model has "
                            f"{model.n_features_in_}; pass --target COLUMN if one of them holds "
                            "the labels")
        if not args.quiet:
            print(f"{PROG}: warning: {args.model}: the model file holds no feature names; the "
                  f"columns {', '.join(found)} are used by position", file=sys.stderr)
    return (X if scaler is None else scaler.transform(X)), y


def _predict(args: argparse.Namespace) -> int:
    """``predict``: the label and per-class probabilities of every row, as CSV."""
    if _dask_cli.wanted(args):
        return _dask_cli.predict(args)
    check_output_path("--out", args.out, args.csv, args.model)
    model, scaler, trained = load_model(args.model)
    X, _ = _model_features(args, model, scaler, trained)
    proba = model.predict_proba(X)
    labels = model.classes_[proba.argmax(axis=1)]
    with contextlib.ExitStack() as stack:
        out = sys.stdout if args.out is None else stack.enter_context(
            open(args.out, "w", newline="", encoding="utf-8"))
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["label"] + [f"proba_{c}" for c in model.classes_.tolist()])
        for label, row in zip(labels.tolist(), proba.tolist()):
            writer.writerow([label] + [repr(p) for p in row])
    if args.out is not None:
        print(f"{len(labels)} predictions written to {args.out}", file=sys.stderr)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: the metrics of a saved model on labelled rows."""
    model, scaler, trained = load_model(args.model)
    X, y = _model_features(args, model, scaler, trained)
    assert y is not None
    _check_known_labels(model, y, args.csv, args.target)
    print(report_line("data", f"{args.csv}: {X.shape[0]} samples"))
    print(_metrics_report(model, X, y, ""))
    return 0


def _delimiter(text: str) -> str:
    """The --delimiter value: one character, or the names tab, comma, semicolon (and \\t)."""
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}
    value = named.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(f"must be one character (or tab, comma, semicolon), "
                                         f"got {text!r}")
    return value


def _add_csv_options(command: argparse.ArgumentParser) -> None:
    """The options every command that reads a CSV shares."""
    command.add_argument("--delimiter", type=_delimiter, metavar="CHAR",
                         help="the field separator: a character, or tab (default: detected from "
                              "the header among comma, semicolon and tab)")
    command.add_argument("--quiet", action="store_true",
                         help="no progress display and no warnings")


def _add_train_options(train: argparse.ArgumentParser) -> None:
    """The data, solver and output options of ``train``."""
    data = train.add_mutually_exclusive_group()
    data.add_argument("--dataset", choices=sorted(DATASETS), default="breast_cancer",
                      help="a shipped data set (default: breast_cancer)")
    data.add_argument("--csv", metavar="PATH",
                      help="your own CSV: header row, numeric features, labels of any type")
    data.add_argument("--parquet", metavar="PATH",
                      help="Parquet file(s) read with Dask (implies --dask)")
    train.add_argument("--target", metavar="COLUMN", help="the label column of --csv")
    train.add_argument("--solver", choices=SOLVERS, default="lbfgs", help="default: lbfgs")
    train.add_argument("--lr", type=float, metavar="RATE", help="learning rate of sgd/adam/rmsprop "
                       "(default: the solver's own)")
    train.add_argument("--max-iter", type=int, default=100, metavar="N",
                       help="iterations, or epochs with --batch-size (default: 100)")
    train.add_argument("--batch-size", type=int, metavar="N", help="minibatch size for "
                       "sgd/adam/rmsprop (default: the full batch)")
    train.add_argument("--C", type=float, default=1.0,
                       help="inverse L2 penalty strength; inf for no penalty (default: 1.0)")
    train.add_argument("--penalty", choices=("l2", "none"), default="l2", help="default: l2")
    train.add_argument("--test-size", type=float, default=0.2, metavar="FRACTION",
                       help="fraction held out for testing (default: 0.2)")
    train.add_argument("--seed", type=int, default=42, metavar="N",
                       help="seed of the split and the minibatch order (default: 42)")
    train.add_argument("--save", metavar="MODEL",
                       help="write the model, its scaler and its column names to this file")
    train.add_argument("--plot", metavar="PNG",
                       help="draw the loss curve to this PNG (needs matplotlib: without it "
                       "the command stops with an error before training)")
    _add_csv_options(train)
    _dask_cli.add_options(train)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``tinygrad-lr`` and its three commands."""
    parser = _Parser(prog=PROG, description="Logistic regression on the tinygrad_lr autodiff "
                     "engine: train on shipped or CSV data, then predict or evaluate.",
                     epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model and report its test metrics",
        description="Train a logistic regression (features standardised on the training part, "
                    "stratified train/test split) and print solver, iterations, time, training "
                    "log loss and objective, and the test metrics.")
    _add_train_options(train)
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict", help="write predicted labels and class probabilities as CSV",
        description="Predict the label and per-class probabilities of every row of a CSV. "
                    "Columns are found by the names the model was trained with, in any order; "
                    "other columns are ignored.")
    predict.add_argument("--model", required=True, help="a file written by 'train --save'")
    rows = predict.add_mutually_exclusive_group(required=True)
    rows.add_argument("--csv", metavar="PATH", help="rows to predict")
    rows.add_argument("--parquet", metavar="PATH",
                      help="rows to predict, read with Dask (implies --dask)")
    predict.add_argument("--target", metavar="COLUMN",
                         help="a label column in the CSV, to be ignored (needed only with a "
                              "model file without column names)")
    predict.add_argument("--out", metavar="PATH", help="write here instead of to stdout")
    _add_csv_options(predict)
    _dask_cli.add_options(predict)
    predict.set_defaults(run=_predict)

    evaluate = commands.add_parser(
        "evaluate", help="print the metrics of a model on labelled CSV data",
        description="Print accuracy, log loss, ROC AUC (two classes) and the confusion matrix. "
                    "Columns are found by the names the model was trained with, in any order; "
                    "other columns are ignored.")
    evaluate.add_argument("--model", required=True, help="a file written by 'train --save'")
    evaluate.add_argument("--csv", required=True, metavar="PATH", help="labelled rows")
    evaluate.add_argument("--target", required=True, metavar="COLUMN",
                          help="the label column of the CSV")
    _add_csv_options(evaluate)
    evaluate.set_defaults(run=_evaluate)
    return parser


def _describe(error: BaseException) -> str:
    """One line naming the problem; OSErrors name their file."""
    if isinstance(error, OSError) and error.filename is not None:
        text = f"{error.filename}: {error.strerror or error}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except SystemExit as exit_request:  # --help
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except BrokenPipeError:  # the reader went away (`| head`): stop without a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as error:  # DataError and UsageError are ValueErrors
        print(f"{PROG}: error: {_describe(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
