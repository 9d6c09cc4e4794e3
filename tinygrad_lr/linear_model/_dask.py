"""The linear models on Dask collections: the data stays on the workers that hold it.

Spark MLlib's design (its ``RDDLossFunction``), and dask-glm's: every evaluation of the objective
sends the parameters (a NumPy vector) to the row chunks, the worker holding each chunk computes
the chunk's weighted loss sum and its gradient with this package's engine (forward and backward on
the chunk), Dask adds the per-chunk float64 vectors up in a tree, and the client runs the
in-memory fit's own solvers (``linear_model._solvers``) on the total: L-BFGS, or Newton's method
with conjugate gradients on distributed Hessian-vector products, with the same stopping rule.
LinearRegression needs one pass: each chunk's centred second moments, merged pairwise (Chan,
Golub and LeVeque's update).

Only arrays cross between processes, never engine graphs (a graph's nodes are numbered per
process): each kernel builds its graph on the worker and returns NumPy. Chunks that arrive from
another process may be misaligned, which made ``X @ w`` 6.7 times slower: the kernels realign them
first. The data is persisted on the cluster when it fits in half the cluster's memory, and
streamed from its source on every pass otherwise. In a worker process the engine's thread count
follows the worker's (its BLAS setting, one thread by default: the worker runs a task per thread).

Nothing here imports Dask until a Dask collection arrives: `is_dask_collection` looks only at the
type, and the estimators call it before any validation that would pull the data into memory.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import tinygrad_lr.nn.functional as F
from tinygrad_lr.autograd import enable_grad, grad, no_grad
from tinygrad_lr.exceptions import ConvergenceWarning, sklearn_compatible
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.kernels.threads import get_num_threads, set_num_threads

_LOGISTIC_SOLVERS = ("lbfgs", "newton")
_LINEAR_SOLVERS = ("lstsq", "normal")
_SPLIT_EVERY = 8  # chunk results added per task of the tree reduction (Dask's default)
_PERSIST_SHARE = 0.5  # persist the data when it takes at most this share of the cluster memory

Progress = Callable[[int, str, float, float | None], None]


def is_dask_collection(value: Any) -> bool:
    """Whether `value` is a Dask collection (array, DataFrame, Series), decided from its type
    alone: nothing is imported and nothing is computed."""
    kind = type(value)
    return kind.__module__.startswith("dask.") or hasattr(kind, "__dask_graph__")


def any_dask(*values: Any) -> bool:
    """Whether any of `values` is a Dask collection."""
    return any(is_dask_collection(value) for value in values)


# ---- inputs: Dask arrays of aligned row chunks -----------------------------------------------
@dataclass
class _Data:
    """X (2-D, one chunk across the columns) and the 1-D arrays of the rows (y, sample weights),
    all with the same row chunks."""

    X: Any
    y: Any
    weight: Any
    where: str
    # (client, X, y and weight futures per chunk) once persisted on a distributed cluster
    futures: tuple[Any, list[Any], list[Any], list[Any]] | None = None

    def blocks(self) -> list[tuple[Any, Any, Any]]:
        """The chunks as Delayed objects, (X, y, weight) per row chunk (None where absent).
        Unoptimised, so X and y taken from the same source partitions share its tasks."""
        xs = self.X.to_delayed(optimize_graph=False).ravel().tolist()
        ys = [None] * len(xs) if self.y is None else self.y.to_delayed(optimize_graph=False) \
            .ravel().tolist()
        ws = [None] * len(xs) if self.weight is None else \
            self.weight.to_delayed(optimize_graph=False).ravel().tolist()
        return list(zip(xs, ys, ws))


def _as_dask_array(value: Any, name: str, where: str) -> Any:
    """A Dask array from a Dask array, DataFrame or Series."""
    import dask.array as da

    if isinstance(value, da.Array):
        return value
    if hasattr(value, "to_dask_array"):
        return value.to_dask_array()
    raise TypeError(f"{where}: {name} must be a Dask array, DataFrame or Series (or a NumPy "
                    f"array beside Dask ones), got {type(value).__module__}."
                    f"{type(value).__name__}")


def _features(X: Any, where: str) -> Any:
    """X as a 2-D Dask array of numbers with one chunk across its columns."""
    X = _as_dask_array(X, "X", where)
    if X.ndim != 2:
        raise ValueError(f"{where}: X must be a 2-D array (n_samples, n_features), got "
                         f"{X.ndim} dimension(s) with shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{where}: X must hold numbers, got dtype {X.dtype}")
    if math.isnan(X.shape[1]):
        raise ValueError(f"{where}: X's number of columns is unknown; give a Dask array with "
                         "known column chunks")
    if X.shape[1] == 0:
        raise ValueError(f"{where}: X must have at least one feature, got shape {X.shape}")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def _known(chunks: tuple[float, ...]) -> bool:
    return not any(math.isnan(size) for size in chunks)


def _rows_like(X: Any, value: Any, name: str, where: str) -> tuple[Any, Any]:
    """`value` (a 1-D Dask or NumPy array, or a Series) with X's row chunks, and X (with its chunk
    sizes computed when they had to be known to align the two)."""
    import dask.array as da

    if not is_dask_collection(value):
        array = np.asarray(value)
        if array.ndim != 1:
            raise ValueError(f"{where}: {name} must be a 1-D array (n_samples,), got shape "
                             f"{array.shape}")
        if not _known(X.chunks[0]):
            X = X.compute_chunk_sizes()
        if array.shape[0] != X.shape[0]:
            raise ValueError(f"{where}: X and {name} have different numbers of samples: X has "
                             f"{X.shape[0]} rows, {name} has {array.shape[0]} values")
        return da.from_array(array, chunks=(X.chunks[0],)), X
    array = _as_dask_array(value, name, where)
    if array.ndim != 1:
        raise ValueError(f"{where}: {name} must be a 1-D array (n_samples,), got shape "
                         f"{array.shape}")
    if array.numblocks[0] == X.numblocks[0] and not (
            _known(X.chunks[0]) and _known(array.chunks[0]) and array.chunks[0] != X.chunks[0]):
        return array, X  # chunk i of both is paired; sizes unknown on a side are checked per chunk
    if not _known(X.chunks[0]):
        X = X.compute_chunk_sizes()
    if not _known(array.chunks[0]):
        array = array.compute_chunk_sizes()
    if array.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: X and {name} have different numbers of samples: X has "
                         f"{X.shape[0]} rows, {name} has {array.shape[0]} values")
    return array.rechunk({0: X.chunks[0]}), X


def _collect(X: Any, y: Any, sample_weight: Any, where: str) -> _Data:
    """Dask arrays of X, y and the sample weights (None when not given) with aligned rows."""
    if not is_dask_collection(X):
        if not is_dask_collection(y):
            raise TypeError(f"{where}: sample_weight is a Dask collection but X and y are not; "
                            "give X (or y) as a Dask collection too, chunked by rows")
        target = _as_dask_array(y, "y", where)
        if not _known(target.chunks[0]):
            target = target.compute_chunk_sizes()
        import dask.array as da

        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(f"{where}: X must be a 2-D array (n_samples, n_features), got shape "
                             f"{array.shape}")
        X = da.from_array(array, chunks=(target.chunks[0], -1))
    X = _features(X, where)
    target, X = _rows_like(X, y, "y", where)
    weight = None
    if sample_weight is not None:
        weight, X = _rows_like(X, sample_weight, "sample_weight", where)
        if weight.dtype.kind not in "biuf":
            raise ValueError(f"{where}: sample_weight must hold numbers, got dtype "
                             f"{weight.dtype}")
        if target.numblocks[0] != X.numblocks[0] or target.chunks[0] != X.chunks[0]:
            target, X = _rows_like(X, target, "y", where)
    return _Data(X, target, weight, where)


def _compute_dtype(X: Any) -> np.dtype:
    """float32 and float64 stay; other numbers are computed in float64, as in memory."""
    return X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)


# ---- where the work runs ------------------------------------------------------------------------
def _client() -> Any:
    """The default distributed Client, or None (Dask's local schedulers)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _memory_budget() -> float:
    """Bytes of memory the data may take if persisted: a share of the workers' memory limits (of
    this machine's memory without a distributed cluster, or for workers without a limit)."""
    try:
        machine = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        machine = math.inf
    client = _client()
    if client is None:
        return _PERSIST_SHARE * machine
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return _PERSIST_SHARE * sum(worker.get("memory_limit") or machine for worker in workers)


def _persist_if_it_fits(data: _Data, rows: int | None = None) -> tuple[_Data, bool]:
    """The data persisted on the cluster (where it then stays between passes) when it fits in
    its memory budget, else as it came (streamed from its source on every pass)."""
    import dask

    n_rows = data.X.shape[0] if rows is None else rows
    if math.isnan(n_rows):
        return data, False
    itemsize = np.dtype(data.X.dtype).itemsize
    size = n_rows * (data.X.shape[1] * itemsize + 8 * (data.y is not None)
                     + 8 * (data.weight is not None))
    if size > _memory_budget():
        return data, False
    X, y, weight = dask.persist(data.X, data.y, data.weight)
    return _Data(X, y, weight, data.where, _chunk_futures(X, y, weight)), True


def _chunk_futures(X: Any, y: Any, weight: Any) -> tuple[Any, list[Any], list[Any], list[Any]
                                                          ] | None:
    """The futures of the persisted chunks on the distributed cluster, in row order (None
    without a distributed client)."""
    client = _client()
    if client is None:
        return None
    from distributed import futures_of

    def ordered(array: Any) -> list[Any]:
        if array is None:
            return [None] * X.numblocks[0]
        by_key = {future.key: future for future in futures_of(array)}
        return [by_key[key] for key in _flat_keys(array.__dask_keys__())]

    return client, ordered(X), ordered(y), ordered(weight)


def _flat_keys(keys: Any) -> list[Any]:
    """Dask's nested lists of block keys, flattened in block order."""
    if isinstance(keys, list):
        return [key for part in keys for key in _flat_keys(part)]
    return [keys]


def _follow_worker_threads(client_pid: int) -> None:
    """In a worker process, the engine's thread limit follows the worker's: its BLAS setting
    (the nanny sets OMP_NUM_THREADS=1, as each worker thread runs a task), else the CPUs per
    worker thread. The client's own process keeps the user's setting."""
    if os.getpid() == client_pid:
        return
    threads = int(os.environ.get("OMP_NUM_THREADS") or 0)
    if threads < 1:
        try:
            from distributed import get_worker

            per_worker = get_worker().state.nthreads
        except (ImportError, ValueError, AttributeError):
            per_worker = 1
        threads = max(1, (os.cpu_count() or 1) // max(1, per_worker))
    if get_num_threads() != threads:
        set_num_threads(threads)


def _add(*parts: np.ndarray) -> np.ndarray:
    """The float64 sum of chunk results."""
    total = np.array(parts[0], dtype=np.float64)
    for part in parts[1:]:
        total += part
    return total


def _tree(parts: list[Any], combine: Callable[..., Any]) -> Any:
    """Delayed results combined in a tree of fan-in _SPLIT_EVERY (Dask's tree reduction)."""
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(combine, pure=True)(*parts[i:i + _SPLIT_EVERY])
                 for i in range(0, len(parts), _SPLIT_EVERY)]
    return parts[0]


def _over_chunks(data: _Data, kernel: Callable[..., Any], combine: Callable[..., Any],
                 *args: Any) -> Any:
    """One pass: kernel(X_i, y_i, weight_i, i, *args) on every row chunk, where the chunk lives,
    the results combined in a tree; only the combined result comes back."""
    if data.futures is not None:
        return _over_futures(data.futures, kernel, combine, args)
    import dask
    from dask import delayed

    parts = [delayed(kernel, pure=True)(x, y, w, index, *args)
             for index, (x, y, w) in enumerate(data.blocks())]
    (total,) = dask.compute(_tree(parts, combine))
    return total


def _call(kernel: Callable[..., Any], args: tuple[Any, ...], X: Any, y: Any, weight: Any,
          index: int) -> Any:
    return kernel(X, y, weight, index, *args)


def _over_futures(futures: tuple[Any, list[Any], list[Any], list[Any]],
                  kernel: Callable[..., Any], combine: Callable[..., Any],
                  args: tuple[Any, ...]) -> Any:
    """One pass over data persisted on a distributed cluster, submitted as futures: no task
    graph to build (a third of a pass's time with Delayed objects on small chunks)."""
    from functools import partial

    client, xs, ys, ws = futures
    parts = client.map(partial(_call, kernel, args), xs, ys, ws, range(len(xs)), pure=False)
    while len(parts) > 1:
        parts = [client.submit(combine, *parts[i:i + _SPLIT_EVERY], pure=False)
                 for i in range(0, len(parts), _SPLIT_EVERY)]
    return parts[0].result()


# ---- chunk kernels (run on the workers; NumPy in, NumPy out) ------------------------------------
def _chunk_features(X: Any, dtype: np.dtype, index: int, where: str) -> np.ndarray:
    """The chunk as an aligned array of `dtype` (realigned if it arrived misaligned)."""
    X = np.require(np.asarray(X), requirements="A")
    if X.dtype != dtype:
        X = X.astype(dtype)
    if not np.isfinite(X.sum()):
        row, column = (int(i) for i in np.argwhere(~np.isfinite(X))[0])
        raise ValueError(f"{where}: X contains NaN or infinity ({X[row, column]} at row {row} of "
                         f"chunk {index}, column {column})")
    return X


def _chunk_rows(values: Any, n_rows: int, name: str, index: int, where: str) -> np.ndarray:
    array = np.asarray(values)
    if array.shape[0] != n_rows:
        raise ValueError(f"{where}: X and {name} have different numbers of samples in chunk "
                         f"{index}: {n_rows} rows of X, {array.shape[0]} values of {name}")
    return array


def _chunk_weights(weight: Any, n_rows: int, index: int, where: str) -> np.ndarray:
    if weight is None:
        return np.ones(n_rows)
    weights = _chunk_rows(weight, n_rows, "sample_weight", index, where).astype(np.float64)
    bad = ~np.isfinite(weights) | (weights < 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{where}: sample_weight must be finite and non-negative, got "
                         f"{weights[row]} at row {row} of chunk {index}")
    return weights


def _scan_labels(X: Any, y: Any, weight: Any, index: int, where: str) -> dict[str, Any]:
    """Validation pass of a classifier's chunk: finite X, one label per row, finite non-negative
    weights; returns the row count and the chunk's labels with their summed weights."""
    n_rows = np.shape(X)[0]
    _chunk_features(X, np.dtype(np.float64) if np.asarray(X).dtype.kind != "f"
                    else np.asarray(X).dtype, index, where)
    labels = _chunk_rows(y, n_rows, "y", index, where)
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            raise ValueError(f"{where}: y contains NaN or infinity (in chunk {index})")
        fractional = labels != np.round(labels)
        if fractional.any():
            raise ValueError(f"{where}: y must hold class labels, but it looks like a continuous "
                             f"target (non-integer values such as {labels[fractional][0]})")
    try:
        classes, inverse = np.unique(labels, return_inverse=True)
    except TypeError as error:
        raise ValueError(f"{where}: y mixes label types that cannot be sorted ({error})") from None
    counts = np.bincount(inverse.reshape(-1), weights=_chunk_weights(weight, n_rows, index, where),
                         minlength=classes.size)
    return {"rows": n_rows, "labels": classes, "counts": counts}


def _merge_labels(*parts: dict[str, Any]) -> dict[str, Any]:
    """The label counts of several chunks together."""
    labels = np.concatenate([part["labels"] for part in parts])
    try:
        classes, inverse = np.unique(labels, return_inverse=True)
    except TypeError as error:
        raise ValueError(f"y mixes label types that cannot be sorted ({error})") from None
    counts = np.bincount(inverse.reshape(-1), np.concatenate([part["counts"] for part in parts]),
                         minlength=classes.size)
    return {"rows": sum(part["rows"] for part in parts), "labels": classes, "counts": counts}


@dataclass(frozen=True)
class _Spec:
    """What a logistic chunk kernel needs besides its chunk and the parameters."""

    classes: np.ndarray
    class_weights: np.ndarray  # per class, float64
    scale: float  # 1 / the total weight: the chunks' sums add up to the weighted mean loss
    n_features: int
    fit_intercept: bool
    dtype: np.dtype
    client_pid: int
    where: str

    @property
    def rows(self) -> int:
        return 1 if self.classes.size == 2 else self.classes.size

    @property
    def n_weights(self) -> int:
        return self.rows * self.n_features


def _logistic_graph(X: Any, y: Any, weight: Any, index: int, theta: np.ndarray, spec: _Spec,
                    ) -> tuple[Any, list[Any]]:
    """The chunk's weighted loss sum at theta as an engine graph, and its parameter leaves."""
    _follow_worker_threads(spec.client_pid)
    features = _chunk_features(X, spec.dtype, index, spec.where)
    n_rows = features.shape[0]
    encoded = np.searchsorted(spec.classes, _chunk_rows(y, n_rows, "y", index, spec.where))
    weights = (_chunk_weights(weight, n_rows, index, spec.where)
               * spec.class_weights[encoded] * spec.scale).astype(spec.dtype)
    theta = theta.astype(spec.dtype)
    binary = spec.classes.size == 2
    shape = (spec.n_features,) if binary else (spec.rows, spec.n_features)
    params = [from_numpy(theta[:spec.n_weights].reshape(shape).copy()).requires_grad_()]
    if spec.fit_intercept:
        params.append(from_numpy(theta[spec.n_weights:].copy()).requires_grad_())
    inputs = from_numpy(features)
    if binary:
        logits = inputs @ params[0]
        if spec.fit_intercept:
            logits = logits + params[1]
        loss = F.binary_cross_entropy_with_logits(
            logits, from_numpy((encoded == 1).astype(spec.dtype)), weight=from_numpy(weights),
            reduction="sum")
    else:
        logits = F.linear(inputs, params[0], params[1] if spec.fit_intercept else None)
        loss = (F.cross_entropy(logits, from_numpy(encoded.astype(np.int64)), reduction="none")
                * from_numpy(weights)).sum()
    return loss, params


def _flat(tensors: Any) -> np.ndarray:
    return np.concatenate([np.asarray(t.detach().numpy(), np.float64).reshape(-1)
                           for t in tensors])


def _logistic_value(X: Any, y: Any, weight: Any, index: int, theta: np.ndarray,
                    spec: _Spec) -> np.ndarray:
    """[loss sum] of the chunk at theta, in float64 (forward only)."""
    with no_grad():
        loss, _ = _logistic_graph(X, y, weight, index, theta, spec)
    return np.array([float(loss.item())])


def _logistic_gradient(X: Any, y: Any, weight: Any, index: int, theta: np.ndarray,
                       spec: _Spec) -> np.ndarray:
    """[loss sum, gradient...] of the chunk at theta, in float64: forward and backward by the
    engine, on the worker holding the chunk."""
    with enable_grad():
        loss, params = _logistic_graph(X, y, weight, index, theta, spec)
        gradients = grad(loss, params)
    return np.concatenate([[float(loss.item())], _flat(gradients)])


def _logistic_hvp(X: Any, y: Any, weight: Any, index: int, theta: np.ndarray, vector: np.ndarray,
                  spec: _Spec) -> np.ndarray:
    """The chunk's Hessian at theta times `vector`, in float64, by the engine's double backward
    (the gradient's graph recorded, then differentiated along `vector`)."""
    with enable_grad():
        loss, params = _logistic_graph(X, y, weight, index, theta, spec)
        gradients = grad(loss, params, create_graph=True)
        parts = vector.astype(spec.dtype)
        directional = None
        offset = 0
        for gradient in gradients:
            size = int(np.prod(gradient.shape))
            along = from_numpy(parts[offset:offset + size].reshape(gradient.shape))
            term = (gradient * along).sum()
            directional = term if directional is None else directional + term
            offset += size
        products = grad(directional, params)
    return _flat(products)


def _linear_moments(X: Any, y: Any, weight: Any, index: int, dtype: np.dtype, centred: bool,
                    where: str) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows, column means, centred cross-products) of the chunk's [X, y] in float64; without
    `centred`, means 0 and the plain cross-products."""
    features = _chunk_features(X, dtype, index, where)
    targets = _chunk_rows(y, features.shape[0], "y", index, where)
    if targets.dtype.kind not in "biuf":
        raise ValueError(f"{where}: y must hold numbers, got dtype {targets.dtype}")
    targets = targets.astype(np.float64)
    if not np.isfinite(targets).all():
        raise ValueError(f"{where}: y contains NaN or infinity (in chunk {index})")
    joined = np.column_stack([features.astype(np.float64), targets])
    means = joined.mean(axis=0) if centred and joined.shape[0] else np.zeros(joined.shape[1])
    deviations = joined - means
    return joined.shape[0], means, deviations.T @ deviations


def _merge_moments(*parts: tuple[int, np.ndarray, np.ndarray]) -> tuple[int, np.ndarray,
                                                                        np.ndarray]:
    """Moments of the union of chunks: n = n1 + n2, the means weighted by rows, and
    M = M1 + M2 + (n1 n2 / n) d d^T with d the difference of the means."""
    count, means, products = parts[0][0], parts[0][1].copy(), parts[0][2].copy()
    for other_count, other_means, other_products in parts[1:]:
        total = count + other_count
        if other_count:
            delta = other_means - means
            products += other_products + np.outer(delta, delta) * (count * other_count / total)
            means += delta * (other_count / total)
        count = total
    return count, means, products


def _predict_chunk(X: Any, model: Any, method: str) -> np.ndarray:
    """The in-memory estimator's `method` on one chunk (realigned first); an empty chunk (a
    filtered partition) gives an empty result of the right shape and dtype."""
    X = np.require(np.asarray(X), requirements="A")
    if X.shape[0] == 0:
        return getattr(model, method)(np.zeros((1, X.shape[1]), X.dtype))[:0]
    return getattr(model, method)(X)


def _accuracy_chunk(X: Any, y: Any, weight: Any, index: int, model: Any) -> np.ndarray:
    """[weighted correct predictions, total weight] of the chunk."""
    labels = _chunk_rows(y, np.shape(X)[0], "y", index, "score")
    weights = _chunk_weights(weight, labels.shape[0], index, "score")
    correct = _predict_chunk(X, model, "predict") == labels
    return np.array([weights @ correct, weights.sum()])


def _r2_chunk(X: Any, y: Any, weight: Any, index: int, model: Any
              ) -> tuple[int, np.ndarray, np.ndarray]:
    """Moments of [y, y - prediction] of the chunk: the variance of y and the residual sum."""
    targets = _chunk_rows(y, np.shape(X)[0], "y", index, "score").astype(np.float64)
    residuals = targets - _predict_chunk(X, model, "predict")
    joined = np.column_stack([targets, residuals])
    means = joined.mean(axis=0) if joined.shape[0] else np.zeros(2)
    deviations = joined - means
    return joined.shape[0], means, deviations.T @ deviations


# ---- the client side: objective and solvers ------------------------------------------------------
class _DistributedObjective:
    """The scaled objective (weighted mean loss + alpha / 2 ||W||^2) of the data on the cluster:
    each call is one pass over the chunks, reported to `progress` if given."""

    def __init__(self, data: _Data, spec: _Spec, alpha: float, progress: Progress | None
                 ) -> None:
        self.data, self.spec, self.alpha, self.progress = data, spec, alpha, progress
        self.passes = 0

    def _penalty(self, theta: np.ndarray) -> np.ndarray:
        weights = np.zeros_like(theta)
        weights[:self.spec.n_weights] = theta[:self.spec.n_weights]
        return weights

    def _report(self, kind: str, value: float, gradient: float | None) -> None:
        self.passes += 1
        if self.progress is not None:
            self.progress(self.passes, kind, value, gradient)

    def gradient(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Objective value and gradient at theta (float64)."""
        total = _over_chunks(self.data, _logistic_gradient, _add, theta, self.spec)
        penalty = self._penalty(theta)
        value = float(total[0]) + self.alpha / 2 * float(penalty @ penalty)
        gradient = total[1:] + self.alpha * penalty
        self._report("gradient", value, float(np.abs(gradient).max()))
        return value, gradient

    def value(self, theta: np.ndarray) -> float:
        """Objective value at theta (a forward pass only)."""
        total = _over_chunks(self.data, _logistic_value, _add, theta, self.spec)
        penalty = self._penalty(theta)
        value = float(total[0]) + self.alpha / 2 * float(penalty @ penalty)
        self._report("value", value, None)
        return value

    def hvp(self, theta: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Hessian at theta times `vector`."""
        total = _over_chunks(self.data, _logistic_hvp, _add, theta, vector, self.spec)
        self._report("hessian-vector", math.nan, None)
        return total + self.alpha * self._penalty(vector)

    # The interface of the in-memory solvers' problems (linear_model._solvers), so the Dask fit
    # runs the same L-BFGS and Newton iterations with the same stopping rule.
    value_and_grad = gradient

    def newton_system(self, theta: np.ndarray
                      ) -> tuple[float, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """Value and gradient at theta (one pass), and its Hessian-vector products (a pass each)."""
        value, gradient = self.gradient(theta)
        return value, gradient, lambda vector: self.hvp(theta, vector)


# ---- the estimators' entry points -------------------------------------------------------------
def _check_solver(solver: str, supported: tuple[str, ...], where: str) -> None:
    if solver not in supported:
        raise ValueError(f"{where}: solver={solver!r} is not available for Dask collections; "
                         f"the solvers that fit them are {', '.join(map(repr, supported))}")


def fit_logistic(model: Any, X: Any, y: Any, sample_weight: Any = None,
                 progress: Progress | None = None) -> Any:
    """LogisticRegression.fit on Dask collections: a validation pass (finite values, the classes
    and their weights), then lbfgs or newton on per-chunk loss and gradient sums. `progress`
    (pass number, kind, objective, max |gradient| or None) is called after every pass over the
    data. Returns the fitted model."""
    from tinygrad_lr.linear_model import _solvers
    from tinygrad_lr.linear_model.logistic import _class_mean_free, _class_weights

    where = "LogisticRegression.fit"
    model._check_hyperparameters()
    _check_solver(model.solver, _LOGISTIC_SOLVERS, where)
    data = _collect(X, y, sample_weight, where)
    data, persisted = _persist_if_it_fits(data)
    scan = _over_chunks(data, _scan_labels, _merge_labels, where)
    if scan["rows"] == 0:
        raise ValueError(f"{where}: X must have at least one sample, got 0 rows")
    if not persisted:  # the row count is known now: persist if the data fits after all
        data, persisted = _persist_if_it_fits(data, scan["rows"])
    classes, counts = scan["labels"], scan["counts"]
    if classes.size < 2:
        raise ValueError(f"{where}: y has a single class {classes.tolist()}; logistic regression "
                         "needs samples of at least 2 classes")
    per_class = _class_weights(model.class_weight, classes, np.arange(classes.size), counts)
    total = float(per_class @ counts)
    if not total > 0:
        raise ValueError(f"{where}: sample_weight must have a positive total, got all zeros")
    dtype = _compute_dtype(data.X)
    n_features = int(data.X.shape[1])
    spec = _Spec(classes, per_class.astype(np.float64), 1.0 / total, n_features,
                 bool(model.fit_intercept), dtype, os.getpid(), where)
    alpha = 0.0 if model.penalty is None else 1.0 / (model.C * total)
    objective = _DistributedObjective(data, spec, alpha, progress)
    size = spec.n_weights + (spec.rows if model.fit_intercept else 0)

    def report(iteration: int, value: float, gradient: float) -> None:
        if model.verbose:
            print(f"[{model.solver}, dask] iteration {iteration}: objective {value:.10g}, "
                  f"max |gradient| {gradient:.3e}")

    start = np.zeros(size)
    if model.solver == "lbfgs":
        theta, curve, converged = _solvers.lbfgs(objective, start, model.max_iter, model.tol,
                                                 report)
    else:
        binary = classes.size == 2
        theta, curve, converged = _solvers.newton(
            objective, start, model.max_iter, model.tol, report, full_hessian=False,
            definite=alpha > 0 and (binary or not model.fit_intercept),
            project=None if binary else _class_mean_free(spec.n_weights, classes.size))
    if not converged:
        warnings.warn(f"LogisticRegression (solver={model.solver!r}) did not converge in "
                      f"max_iter={model.max_iter} iterations (tol={model.tol}); increase "
                      "max_iter or scale the data", sklearn_compatible(ConvergenceWarning),
                      stacklevel=3)
    model._optimizer = None
    model.classes_ = classes
    model.n_features_in_ = n_features
    model.coef_ = theta[:spec.n_weights].reshape(spec.rows, n_features).astype(dtype)
    model.intercept_ = theta[spec.n_weights:].astype(dtype) if model.fit_intercept \
        else np.zeros(spec.rows, dtype)
    model.n_iter_ = np.array([len(curve) - 1], dtype=np.int32)
    model.loss_curve_ = curve
    model.n_passes_ = objective.passes + 1
    return model


def fit_linear(model: Any, X: Any, y: Any) -> Any:
    """LinearRegression.fit on Dask collections: the normal equations from one pass (each chunk's
    centred cross-products of [X, y] in float64, merged in a tree), solved on the client."""
    where = "LinearRegression.fit"
    model._check_hyperparameters()
    _check_solver(model.solver, _LINEAR_SOLVERS, where)
    data = _collect(X, y, None, where)
    dtype = _compute_dtype(data.X)
    count, means, products = _over_chunks(data, _linear_moments, _merge_moments, dtype,
                                          bool(model.fit_intercept), where)
    if count == 0:
        raise ValueError(f"{where}: X must have at least one sample, got 0 rows")
    gram, moment = products[:-1, :-1], products[:-1, -1]
    if model.solver == "lstsq":
        # The minimum-norm solution of the normal equations is the minimum-norm least-squares
        # solution (X^T X and X^T share their range).
        coef = np.linalg.lstsq(gram, moment, rcond=None)[0]
    else:
        try:
            coef = np.linalg.solve(gram, moment)
        except np.linalg.LinAlgError:
            raise ValueError(f"{where}: X^T X is singular (the features are linearly dependent, "
                             f"rank < {gram.shape[0]}); use solver='lstsq'") from None
    model.coef_ = coef.astype(dtype)
    model.intercept_ = dtype.type(means[-1] - means[:-1] @ coef) if model.fit_intercept \
        else dtype.type(0)
    model.n_features_in_ = int(data.X.shape[1])
    return model


def _fitted_copy(model: Any, method: str) -> Any:
    """A plain in-memory copy of the fitted model (hyperparameters and fitted arrays only), sent
    to the workers to predict their chunks."""
    from tinygrad_lr.linear_model.base import check_is_fitted

    check_is_fitted(model, f"{type(model).__name__}.{method}")
    copy = type(model)(**model.get_params(deep=False))
    for name in ("classes_", "coef_", "intercept_", "n_features_in_"):
        if hasattr(model, name):
            setattr(copy, name, getattr(model, name))
    return copy


def predict(model: Any, X: Any, method: str) -> Any:
    """`method` (predict, predict_proba, predict_log_proba, decision_function) of a fitted model on
    a Dask collection, as a lazy Dask array with X's row chunks; nothing is computed here."""
    import dask.array as da

    where = f"{type(model).__name__}.{method}"
    copy = _fitted_copy(model, method)
    X = _features(X, where)
    if X.shape[1] != copy.n_features_in_:
        raise ValueError(f"{where}: X has {X.shape[1]} features, but {type(model).__name__} was "
                         f"fitted with {copy.n_features_in_} features")
    classes = getattr(copy, "classes_", None)
    columns = None if classes is None else classes.size
    if method == "predict":
        dtype = classes.dtype if classes is not None else np.result_type(X.dtype, copy.coef_)
        return da.map_blocks(_predict_chunk, X, copy, method, drop_axis=1, dtype=dtype,
                             meta=np.empty((0,), dtype))
    dtype = np.result_type(_compute_dtype(X), copy.coef_.dtype)
    if method == "decision_function" and columns == 2:
        return da.map_blocks(_predict_chunk, X, copy, method, drop_axis=1, dtype=dtype,
                             meta=np.empty((0,), dtype))
    return da.map_blocks(_predict_chunk, X, copy, method, dtype=dtype,
                         chunks=(X.chunks[0], (columns,)), meta=np.empty((0, 0), dtype))


def score(model: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
    """The estimator's score on Dask collections in one pass: a classifier's (weighted) accuracy,
    a regressor's R^2."""
    where = f"{type(model).__name__}.score"
    copy = _fitted_copy(model, "score")
    data = _collect(X, y, sample_weight, where)
    if data.X.shape[1] != copy.n_features_in_:
        raise ValueError(f"{where}: X has {data.X.shape[1]} features, but "
                         f"{type(model).__name__} was fitted with {copy.n_features_in_} features")
    if hasattr(copy, "classes_"):
        correct, total = _over_chunks(data, _accuracy_chunk, _add, copy)
        return float(correct / total)
    if sample_weight is not None:
        raise ValueError(f"{where}: sample_weight is not supported by this score")
    count, means, products = _over_chunks(data, _r2_chunk, _merge_moments, copy)
    if count < 2:
        return math.nan
    total = products[0, 0]
    residual = products[1, 1] + count * means[1] ** 2  # the residuals' moment is centred
    if total == 0:
        return 1.0 if residual == 0 else 0.0
    return float(1.0 - residual / total)
