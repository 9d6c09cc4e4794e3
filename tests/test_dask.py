"""The linear models on Dask collections (issue 16): the fit on a cluster of two worker processes
equals the in-memory fit, whatever the chunking; predictions stay lazy; a worker killed in the
middle of a fit changes nothing; Dask is never imported by NumPy users."""

import os
import signal
import warnings

import numpy as np
import pytest
from helpers import fresh_interpreter

dask = pytest.importorskip("dask",
                           reason="the Dask path needs dask (pip install 'tinygrad-lr[dask]')")
da = pytest.importorskip("dask.array", reason="the Dask path needs dask.array")
distributed = pytest.importorskip("distributed", reason="the cluster tests need dask.distributed")

from tinygrad_lr.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from tinygrad_lr.linear_model import _dask  # noqa: E402

TIGHT = dict(tol=1e-8, max_iter=500)


@pytest.fixture(scope="module")
def clusters():
    """Two LocalClusters for the module, closed after it: two single-threaded worker processes
    (the real setting: chunks pickled between processes, workers that can be killed), and two
    workers in this process for the tests where speed matters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's notices about ports
        process_cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            memory_limit="1GiB")
        thread_cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    connections = {"processes": distributed.Client(process_cluster, set_as_default=False),
                   "threads": distributed.Client(thread_cluster, set_as_default=False)}
    yield connections
    for connection in connections.values():
        connection.close()
    process_cluster.close()
    thread_cluster.close()


@pytest.fixture
def processes(clusters):
    """The cluster of worker processes, current for the test."""
    with clusters["processes"].as_current():
        yield clusters["processes"]


@pytest.fixture
def client(clusters):
    """The in-process cluster, current for the test."""
    with clusters["threads"].as_current():
        yield clusters["threads"]


def _problem(n=3000, p=6, classes=2, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    w = rng.standard_normal(p)
    scores = X @ w + 0.5 * rng.standard_normal(n)
    if classes == 2:
        y = (scores > 0).astype(int)
    else:
        y = np.digitize(scores, np.quantile(scores, np.linspace(0, 1, classes + 1)[1:-1]))
    return X, y


def _dask_arrays(X, y, rows=700, weight=None):
    arrays = [da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)]
    if weight is not None:
        arrays.append(da.from_array(weight, chunks=rows))
    return arrays


def _close(actual, expected, rtol):
    """Coefficients equal to rtol relative to their largest magnitude."""
    scale = max(np.abs(expected).max(), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


# ---- agreement with the in-memory fit and scikit-learn -------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_fit_equals_the_in_memory_fit(processes, solver, n_classes):
    X, y = _problem(classes=n_classes)
    expected = LogisticRegression(solver=solver, **TIGHT).fit(X, y)
    model = LogisticRegression(solver=solver, **TIGHT).fit(*_dask_arrays(X, y))
    assert model.coef_.shape == expected.coef_.shape
    _close(model.coef_, expected.coef_, 1e-5)
    _close(model.intercept_, expected.intercept_, 1e-5)
    np.testing.assert_array_equal(model.classes_, expected.classes_)
    assert model.n_features_in_ == X.shape[1]


def test_logistic_lbfgs_takes_the_in_memory_iterations(client):
    X, y = _problem()
    expected = LogisticRegression(tol=1e-6).fit(X, y)
    model = LogisticRegression(tol=1e-6).fit(*_dask_arrays(X, y))
    assert model.n_iter_[0] == expected.n_iter_[0]
    np.testing.assert_allclose(model.loss_curve_, expected.loss_curve_, rtol=1e-9)
    # each iteration costs one pass (plus the validation pass), as in the in-memory line search
    assert model.n_passes_ <= 1 + 2 * (model.n_iter_[0] + 1)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_fit_equals_scikit_learn(client, n_classes):
    linear_model = pytest.importorskip("sklearn.linear_model",
                                       reason="scikit-learn is the oracle of this test")
    X, y = _problem(classes=n_classes)
    reference = linear_model.LogisticRegression(tol=1e-10, max_iter=1000).fit(X, y)
    model = LogisticRegression(**TIGHT).fit(*_dask_arrays(X, y))
    _close(model.coef_, reference.coef_, 1e-5)
    _close(model.intercept_, reference.intercept_, 1e-5)


@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 3.0, 2: 0.5}])
def test_sample_and_class_weights_carry_over(client, class_weight):
    X, y = _problem(classes=3)
    weight = np.random.default_rng(1).uniform(0, 2, size=y.size)
    weight[:50] = 0.0
    params = dict(class_weight=class_weight, C=0.3, **TIGHT)
    expected = LogisticRegression(**params).fit(X, y, sample_weight=weight)
    model = LogisticRegression(**params).fit(*_dask_arrays(X, y, weight=weight))
    _close(model.coef_, expected.coef_, 1e-5)
    _close(model.intercept_, expected.intercept_, 1e-5)


def test_the_data_is_never_gathered_into_this_process(client, monkeypatch):
    X, y = _problem(classes=3)
    X_dask, y_dask = _dask_arrays(X, y)

    def refuse(*args, **kwargs):
        raise AssertionError("a Dask collection was converted to a NumPy array in the client")

    monkeypatch.setattr(da.Array, "__array__", refuse)  # np.asarray(dask array) now fails
    model = LogisticRegression(**TIGHT).fit(X_dask, y_dask)
    model.predict_proba(X_dask)
    model.score(X_dask, y_dask)
    LinearRegression().fit(X_dask, y_dask.astype(float)).predict(X_dask)
    monkeypatch.undo()
    _close(model.coef_, LogisticRegression(**TIGHT).fit(X, y).coef_, 1e-5)


def test_numpy_y_and_weights_beside_a_dask_X(client):
    X, y = _problem()
    weight = np.random.default_rng(5).uniform(0.5, 1.5, size=y.size)
    expected = LogisticRegression(**TIGHT).fit(X, y, sample_weight=weight)
    model = LogisticRegression(**TIGHT).fit(da.from_array(X, chunks=(800, 6)), y,
                                            sample_weight=weight)
    _close(model.coef_, expected.coef_, 1e-5)


def test_no_penalty_and_no_intercept(client):
    X, y = _problem()
    params = dict(penalty=None, fit_intercept=False, **TIGHT)
    expected = LogisticRegression(**params).fit(X, y)
    model = LogisticRegression(**params).fit(*_dask_arrays(X, y))
    _close(model.coef_, expected.coef_, 1e-5)
    assert np.all(model.intercept_ == 0)


def test_float32_fits_in_float32(client):
    X, y = _problem(dtype=np.float32)
    optimum = LogisticRegression(**TIGHT).fit(X.astype(np.float64), y)
    in_memory = LogisticRegression(tol=1e-6, max_iter=500).fit(X, y)
    model = LogisticRegression(tol=1e-6, max_iter=500).fit(*_dask_arrays(X, y))
    assert model.coef_.dtype == np.float32 and model.intercept_.dtype == np.float32
    # the float64 chunk sums reach the optimum of the float32 data to float32 precision
    _close(model.coef_, optimum.coef_, 1e-4)
    _close(model.intercept_, optimum.intercept_, 1e-4)
    _close(model.coef_, in_memory.coef_, 1e-4)


def test_string_labels(client):
    X, y = _problem(classes=3)
    labels = np.array(["cat", "dog", "emu"], dtype=object)[y]
    expected = LogisticRegression(**TIGHT).fit(X, labels)
    model = LogisticRegression(**TIGHT).fit(*_dask_arrays(X, labels))
    np.testing.assert_array_equal(model.classes_, expected.classes_)
    _close(model.coef_, expected.coef_, 1e-5)


# ---- chunks --------------------------------------------------------------------------------------
def test_chunking_does_not_change_the_optimum(client):
    X, y = _problem()
    fits = [LogisticRegression(**TIGHT).fit(*_dask_arrays(X, y, rows=rows)).coef_
            for rows in (3000, 1000, 437)]
    for coef in fits[1:]:
        _close(coef, fits[0], 1e-7)


def test_empty_chunks(client):
    X, y = _problem(classes=3)
    chunks = (1000, 0, 2000)
    X_dask, y_dask = da.from_array(X, chunks=(chunks, 6)), da.from_array(y, chunks=(chunks,))
    expected = LogisticRegression(**TIGHT).fit(X, y)
    model = LogisticRegression(**TIGHT).fit(X_dask, y_dask)
    _close(model.coef_, expected.coef_, 1e-5)
    for method in ("predict", "predict_proba", "decision_function"):
        np.testing.assert_allclose(getattr(model, method)(X_dask).compute(),
                                   getattr(model, method)(X), rtol=1e-12)
    assert model.score(X_dask, y_dask) == pytest.approx(model.score(X, y), rel=1e-12)
    linear = LinearRegression().fit(X_dask, y_dask.astype(float))
    np.testing.assert_allclose(linear.coef_, LinearRegression().fit(X, y.astype(float)).coef_,
                               rtol=1e-9)


def test_column_chunks_and_y_chunked_differently(client):
    X, y = _problem()
    expected = LogisticRegression(**TIGHT).fit(X, y)
    X_dask = da.from_array(X, chunks=(500, 2))  # three column chunks: joined per row chunk
    y_dask = da.from_array(y, chunks=900)  # other row chunks: realigned to X's
    model = LogisticRegression(**TIGHT).fit(X_dask, y_dask)
    _close(model.coef_, expected.coef_, 1e-5)


def test_unknown_chunk_sizes_from_a_dataframe(client):
    dd = pytest.importorskip("dask.dataframe", reason="Dask DataFrames need dask[dataframe]")
    pd = pytest.importorskip("pandas", reason="Dask DataFrames need pandas")
    X, y = _problem(classes=3)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).assign(label=y)
    frame = dd.from_pandas(frame, npartitions=4).clear_divisions()
    features = frame.drop(columns="label")
    expected = LogisticRegression(**TIGHT).fit(X, y)
    model = LogisticRegression(**TIGHT).fit(features, frame["label"])
    _close(model.coef_, expected.coef_, 1e-5)
    unknown = features.to_dask_array()
    assert np.isnan(unknown.chunks[0][0])
    model = LogisticRegression(**TIGHT).fit(unknown, y)  # NumPy y: X's chunk sizes computed
    _close(model.coef_, expected.coef_, 1e-5)
    probabilities = model.predict_proba(features)
    np.testing.assert_allclose(probabilities.compute(), expected.predict_proba(X), rtol=1e-5,
                               atol=1e-7)


def _misaligned(block):
    """A copy of the block whose data starts one byte past an aligned address."""
    buffer = np.empty(block.nbytes + 1, dtype=np.uint8)
    copy = np.frombuffer(buffer[1:].data, dtype=block.dtype).reshape(block.shape)
    copy[...] = block
    assert not copy.flags.aligned
    return copy


def test_misaligned_chunks_are_realigned(processes):
    X, y = _problem()
    spec = _dask._Spec(np.array([0, 1]), np.ones(2), 1 / y.size, X.shape[1], True, X.dtype,
                       os.getpid(), "test")
    theta = np.linspace(-1, 1, X.shape[1] + 1)
    aligned = _dask._logistic_gradient(X, y, None, 0, theta, spec)
    misaligned = _dask._logistic_gradient(_misaligned(X), y, None, 0, theta, spec)
    assert aligned.dtype == np.float64
    np.testing.assert_array_equal(misaligned, aligned)
    X_dask = da.from_array(X, chunks=(700, X.shape[1])).map_blocks(_misaligned)
    expected = LogisticRegression(tol=1e-6).fit(*_dask_arrays(X, y))
    model = LogisticRegression(tol=1e-6).fit(X_dask, da.from_array(y, chunks=700))
    np.testing.assert_array_equal(model.coef_, expected.coef_)


def test_streamed_data_gives_the_persisted_fit(client, monkeypatch):
    X, y = _problem()
    persisted = LogisticRegression(**TIGHT).fit(*_dask_arrays(X, y))
    monkeypatch.setattr(_dask, "_PERSIST_SHARE", 0.0)  # nothing fits: every pass reads the source
    data, kept = _dask._persist_if_it_fits(_dask._collect(*_dask_arrays(X, y), None, "test"))
    assert not kept
    streamed = LogisticRegression(**TIGHT).fit(*_dask_arrays(X, y))
    np.testing.assert_array_equal(streamed.coef_, persisted.coef_)


# ---- predictions ---------------------------------------------------------------------------------
_CALLS = []


def _counted(block):
    _CALLS.append(block.shape[0])
    return block


def test_predictions_are_lazy_dask_arrays(client):
    X, y = _problem(classes=3)
    model = LogisticRegression().fit(X, y)
    _CALLS.clear()
    with dask.config.set(scheduler="sync"):  # in this process, so the calls can be counted
        X_dask = da.from_array(X, chunks=(1000, X.shape[1])).map_blocks(
            _counted, dtype=X.dtype, meta=np.empty((0, 0), X.dtype))
        results = {method: getattr(model, method)(X_dask) for method in
                   ("predict", "predict_proba", "predict_log_proba", "decision_function")}
        assert _CALLS == []
        for method, result in results.items():
            assert isinstance(result, da.Array)
            assert result.chunks[0] == X_dask.chunks[0]
            np.testing.assert_allclose(result.compute(), getattr(model, method)(X), rtol=1e-12)
    assert len(_CALLS) == 4 * 3


def test_binary_predictions_and_score(client):
    X, y = _problem()
    model = LogisticRegression().fit(X, y)
    X_dask, y_dask = _dask_arrays(X, y)
    assert model.decision_function(X_dask).shape == (X.shape[0],)
    np.testing.assert_array_equal(model.predict(X_dask).compute(), model.predict(X))
    weight = np.random.default_rng(2).uniform(size=y.size)
    assert model.score(X_dask, y_dask) == pytest.approx(model.score(X, y), rel=1e-12)
    assert model.score(X_dask, y_dask, sample_weight=da.from_array(weight, chunks=700)) == \
        pytest.approx(model.score(X, y, sample_weight=weight), rel=1e-12)


def test_prediction_checks(client):
    X, y = _problem()
    with pytest.raises(ValueError, match="not fitted"):
        LogisticRegression().predict(da.from_array(X))
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="3 features, but LogisticRegression was fitted with 6"):
        model.predict(da.from_array(X[:, :3]))
    bad = X.copy()
    bad[10, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(da.from_array(bad, chunks=(700, 6))).compute()


# ---- validation, chunk by chunk ------------------------------------------------------------------
def test_validation_names_the_problem(client):
    X, y = _problem()
    bad = X.copy()
    bad[1500, 4] = np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(inf at row 100 of chunk 2, "
                                         r"column 4\)"):
        LogisticRegression().fit(*_dask_arrays(bad, y))
    with pytest.raises(ValueError, match="single class"):
        LogisticRegression().fit(*_dask_arrays(X, np.zeros_like(y)))
    with pytest.raises(ValueError, match="continuous target"):
        LogisticRegression().fit(*_dask_arrays(X, y + 0.5))
    with pytest.raises(ValueError, match="'lbfgs', 'newton'"):
        LogisticRegression(solver="adam").fit(*_dask_arrays(X, y))
    with pytest.raises(ValueError, match="different numbers of samples"):
        LogisticRegression().fit(da.from_array(X), da.from_array(y[:-5]))
    with pytest.raises(ValueError, match="non-negative"):
        LogisticRegression().fit(*_dask_arrays(X, y, weight=-np.ones(y.size)))


# ---- LinearRegression ---------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lstsq", "normal"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_regression_in_one_pass(client, solver, fit_intercept):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2500, 5)) + 4.0
    y = X @ rng.standard_normal(5) + 7.0 + 0.1 * rng.standard_normal(2500)
    expected = LinearRegression(solver=solver, fit_intercept=fit_intercept).fit(X, y)
    model = LinearRegression(solver=solver, fit_intercept=fit_intercept).fit(
        *_dask_arrays(X, y, rows=600))
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, expected.intercept_, rtol=1e-9, atol=1e-12)
    X_dask, y_dask = _dask_arrays(X, y, rows=600)
    prediction = model.predict(X_dask)
    assert isinstance(prediction, da.Array)
    np.testing.assert_allclose(prediction.compute(), expected.predict(X), rtol=1e-9)
    assert model.score(X_dask, y_dask) == pytest.approx(expected.score(X, y), rel=1e-9)


def test_linear_regression_float32_and_errors(client):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((2000, 4)).astype(np.float32)
    y = (X @ np.arange(1.0, 5.0) + 2.0).astype(np.float32)
    model = LinearRegression().fit(*_dask_arrays(X, y))
    assert model.coef_.dtype == np.float32
    np.testing.assert_allclose(model.coef_, LinearRegression().fit(X, y).coef_, rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match="'lstsq', 'normal'"):
        LinearRegression(solver="gd").fit(*_dask_arrays(X, y))
    collinear = np.column_stack([X, X[:, :1]])
    with pytest.raises(ValueError, match="singular"):
        LinearRegression(solver="normal").fit(*_dask_arrays(collinear, y))


# ---- the cluster --------------------------------------------------------------------------------
def test_engine_threads_follow_the_worker(processes):
    X, y = _problem()
    LogisticRegression().fit(*_dask_arrays(X, y))

    def threads():
        import tinygrad_lr
        return tinygrad_lr.get_num_threads()

    # the nanny gives each single-threaded worker OMP_NUM_THREADS=1: the engine follows
    assert set(processes.run(threads).values()) == {1}


def test_a_worker_killed_in_the_middle_of_a_fit(processes):
    X, y = _problem(n=6000)
    expected = LogisticRegression(tol=1e-6).fit(*_dask_arrays(X, y, rows=500))
    processes.wait_for_workers(2)
    pids = list(processes.run(os.getpid).values())
    killed = []

    def kill_one(passes, kind, value, gradient):
        if passes == 3:
            os.kill(pids[0], signal.SIGKILL)  # its chunks are lost: Dask recomputes them
            killed.append(passes)

    model = LogisticRegression(tol=1e-6)
    _dask.fit_logistic(model, *_dask_arrays(X, y, rows=500), progress=kill_one)
    assert killed == [3]
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.intercept_, expected.intercept_)
    processes.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the tests after this
    assert pids[0] not in processes.run(os.getpid).values()


# ---- invisible when unused -----------------------------------------------------------------------
def test_numpy_users_never_import_dask():
    program = ("import sys, numpy as np, tinygrad_lr as tl\n"
               "X = np.random.default_rng(0).standard_normal((50, 3)); y = (X[:, 0] > 0) * 1\n"
               "model = tl.LogisticRegression().fit(X, y); model.predict(X); model.score(X, y)\n"
               "tl.LinearRegression().fit(X, X[:, 1]).predict(X)\n"
               "print(sorted(m for m in sys.modules if m.split('.')[0] in "
               "('dask', 'distributed', 'pandas')))\n")
    assert fresh_interpreter(program) == "[]"
