"""``tinygrad-lr train/predict`` with Dask (issue 16, point 4): CSV globs and Parquet read lazily,
fitted on a cluster (an existing one at --scheduler, or a LocalCluster with --dask), progress per
pass over the data, predictions written per partition; bad input is one error line."""

import warnings

import numpy as np
import pytest

dask = pytest.importorskip("dask",
                           reason="the Dask CLI needs dask (pip install 'tinygrad-lr[dask]')")
dd = pytest.importorskip("dask.dataframe", reason="the Dask CLI needs dask.dataframe")
distributed = pytest.importorskip("distributed", reason="the Dask CLI needs dask.distributed")
pd = pytest.importorskip("pandas", reason="Dask DataFrames need pandas")

from tinygrad_lr.cli import load_model, main  # noqa: E402
from tinygrad_lr.linear_model import LogisticRegression  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster of two worker processes, closed after the module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture(scope="module")
def csv_folder(tmp_path_factory):
    """Three CSV files of one data set: features x0..x3, a label column of strings."""
    folder = tmp_path_factory.mktemp("dask_csv")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1500, 4)) * [1.0, 3.0, 0.5, 2.0] + [0.0, 5.0, -1.0, 2.0]
    labels = np.where(X @ [1.0, -0.5, 2.0, 0.3] + rng.standard_normal(1500) > 0, "yes", "no")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)]).assign(y=labels)
    for part in range(3):
        frame.iloc[part * 500:(part + 1) * 500].to_csv(folder / f"part{part}.csv", index=False)
    return folder


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _train_rows(frame, seed=42, test_size=0.2):
    """The training rows the CLI uses: Dask's random split with the same seed."""
    train, _ = frame.random_split([1 - test_size, test_size], random_state=seed)
    return train.compute()


def test_train_on_a_csv_glob_equals_the_in_memory_fit(scheduler, csv_folder, tmp_path, capsys):
    model_path = tmp_path / "model.npz"
    code, out, err = _run(["train", "--csv", str(csv_folder / "*.csv"), "--target", "y",
                           "--scheduler", scheduler, "--save", str(model_path)], capsys)
    assert code == 0, err
    assert "2 Dask workers" in out and "test accuracy" in out
    passes = [line for line in err.splitlines() if line.startswith("pass ")]
    assert passes and passes[0].startswith("pass 1 over the data")
    model, scaler, trained = load_model(str(model_path))
    assert trained["feature_names"] == ["x0", "x1", "x2", "x3"]
    rows = _train_rows(dd.read_csv(str(csv_folder / "*.csv")))
    X = rows[trained["feature_names"]].to_numpy()
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, X.std(axis=0), rtol=1e-10)
    expected = LogisticRegression().fit((X - X.mean(axis=0)) / X.std(axis=0), rows["y"].to_numpy())
    np.testing.assert_array_equal(model.classes_, ["no", "yes"])
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-5, atol=1e-6)


def test_predict_writes_one_file_per_partition(scheduler, csv_folder, tmp_path, capsys):
    model_path = tmp_path / "model.npz"
    code, _, err = _run(["train", "--csv", str(csv_folder / "*.csv"), "--target", "y",
                         "--scheduler", scheduler, "--save", str(model_path), "--quiet"], capsys)
    assert code == 0, err
    out_dir = tmp_path / "predictions"
    code, _, err = _run(["predict", "--model", str(model_path), "--csv",
                         str(csv_folder / "*.csv"), "--scheduler", scheduler,
                         "--out", str(out_dir)], capsys)
    assert code == 0, err
    files = sorted(out_dir.glob("part-*.csv"))
    assert [f.name for f in files] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    written = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    model, scaler, _ = load_model(str(model_path))
    X = pd.concat([pd.read_csv(csv_folder / f"part{i}.csv") for i in range(3)])[
        ["x0", "x1", "x2", "x3"]].to_numpy()
    proba = model.predict_proba(scaler.transform(X))
    assert list(written.columns) == ["label", "proba_no", "proba_yes"]
    np.testing.assert_allclose(written[["proba_no", "proba_yes"]].to_numpy(), proba, rtol=1e-12)
    np.testing.assert_array_equal(written["label"], model.classes_[proba.argmax(axis=1)])


def test_train_on_parquet(scheduler, csv_folder, tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow")
    frame = dd.read_csv(str(csv_folder / "*.csv"))
    frame.to_parquet(tmp_path / "data.parquet")
    code, out, err = _run(["train", "--parquet", str(tmp_path / "data.parquet"), "--target", "y",
                           "--scheduler", scheduler, "--quiet", "--solver", "newton"], capsys)
    assert code == 0, err
    assert err == ""
    assert "newton" in out and "test accuracy" in out


def test_train_with_a_local_cluster(csv_folder, capsys):
    code, out, err = _run(["train", "--csv", str(csv_folder / "part0.csv"), "--target", "y",
                           "--dask", "--quiet"], capsys)
    assert code == 0, err
    assert "(local)" in out


@pytest.mark.parametrize("argv, message", [
    (["--target", "label"], "no column named 'label'"),
    (["--target", "y", "--solver", "adam"], "--solver adam is not available with --dask"),
    (["--target", "y", "--csv", "/nonexistent/*.csv"], "/nonexistent/*.csv"),
])
def test_bad_input_is_one_error_line(scheduler, csv_folder, capsys, argv, message):
    command = ["train", "--csv", str(csv_folder / "*.csv"), "--scheduler", scheduler, *argv]
    code, out, err = _run(command, capsys)
    assert code == 2
    assert err.startswith("tinygrad-lr: error: ") and err.count("\n") == 1
    assert message in err


def test_predict_needs_an_output_folder(scheduler, csv_folder, capsys, tmp_path):
    model = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    model.save(tmp_path / "plain.npz")
    code, _, err = _run(["predict", "--model", str(tmp_path / "plain.npz"), "--csv",
                         str(csv_folder / "*.csv"), "--scheduler", scheduler], capsys)
    assert code == 2 and "--out FOLDER" in err
