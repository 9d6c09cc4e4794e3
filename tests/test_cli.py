"""The tinygrad-lr command line: train / predict / evaluate, the model file, progress display, and
one-line errors with exit status 2 for every kind of bad input (in-process and as a subprocess)."""
from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lr
from tinygrad_lr import cli, serialization
from tinygrad_lr.cli import load_model, main
from tinygrad_lr.data import StandardScaler, load_breast_cancer, train_test_split
from tinygrad_lr.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two well separated Gaussian blobs with string labels, 3 features, and a target column in
    the middle of the header."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-1.0, 1.0, (60, 3)), rng.normal(1.5, 1.0, (60, 3))]) * [1, 10, 100]
    labels = ["no"] * 60 + ["yes"] * 60
    rows = [[x[0], label, x[1], x[2]] for x, label in zip(X.tolist(), labels)]
    return _write_csv(tmp_path_factory.mktemp("data") / "blobs.csv", ["a", "answer", "b", "c"],
                      rows)


@pytest.fixture(scope="module")
def model_file(labelled: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "blobs.model"
    assert main(["train", "--csv", str(labelled), "--target", "answer", "--save", str(path),
                 "--quiet"]) == 0
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("tinygrad-lr: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def _report(out: str) -> dict[str, str]:
    """The report's "name  value" lines (the name in a 16-character column) before the matrix."""
    lines = out.split("confusion matrix")[0].splitlines()
    return {line[:16].strip(): line[16:] for line in lines}


# ---- train --------------------------------------------------------------------------------------
def test_train_without_arguments_reports_on_breast_cancer(capsys: pytest.CaptureFixture) -> None:
    code, out, err = _run(["train"], capsys)
    assert code == 0 and err == ""
    fields = _report(out)
    assert fields["data"].startswith("breast_cancer: 569 samples, 30 features, 2 classes")
    assert fields["solver"].startswith("lbfgs, full batch, penalty l2, C=1.0")
    assert fields["iterations"].endswith("(converged)")
    assert re.fullmatch(r"fit \d+\.\d{3} s \(reading and splitting the data \d+\.\d{3} s\)",
                        fields["time"])
    assert float(fields["test accuracy"]) > 0.95 and float(fields["test ROC AUC"]) > 0.98
    assert 0 < float(fields["test log loss"]) < 0.2 and 0 < float(fields["train log loss"]) < 0.2
    assert fields["objective"].endswith("(train log loss + L2 penalty: what the solver minimises)")
    assert "split           455 train / 114 test" in out
    matrix = out.split("confusion matrix (rows: true class, columns: predicted class)\n")[1]
    counts = [[int(v) for v in line.split()[1:]] for line in matrix.splitlines()[1:3]]
    X, y = load_breast_cancer(return_X_y=True)
    y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=42)[3]
    assert np.sum(counts, axis=1).tolist() == np.bincount(y_test).tolist()  # rows: true class


def _proba(model_path: Path, X: np.ndarray) -> np.ndarray:
    """Class probabilities from the saved file's raw numbers, by NumPy alone: standardise with the
    saved mean and scale, then the sigmoid (two classes) or softmax of X w + b."""
    state = serialization.load(model_path)
    scaler, fitted = state["scaler"], state["model"]
    Z = (X - scaler["mean_"]) / scaler["scale_"] @ np.asarray(fitted["coef"]).T \
        + np.asarray(fitted["intercept"])
    if Z.shape[1] == 1:
        p = 1 / (1 + np.exp(-Z[:, 0]))
        return np.column_stack([1 - p, p])
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney: the chance that a random positive scores above a random negative (ties 1/2)."""
    pos, neg = score[positive], score[~positive]
    return float(np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])))


def _independent_metrics(model_path: Path, X: np.ndarray, y: np.ndarray) -> dict[str, str]:
    """Accuracy, log loss and (two classes) ROC AUC of the saved model on (X, y), computed here
    from the file's numbers, formatted as the report prints them."""
    classes = np.array(serialization.load(model_path)["model"]["classes"])
    proba = _proba(model_path, X)
    truth = np.searchsorted(classes, y)
    assert (classes[truth] == y).all()
    metrics = {"accuracy": f"{np.mean(classes[proba.argmax(axis=1)] == y):.4f}",
               "log loss": f"{-np.mean(np.log(proba[np.arange(y.size), truth])):.4f}"}
    if classes.size == 2:
        metrics["ROC AUC"] = f"{_roc_auc(truth == 1, proba[:, 1]):.4f}"
        # The premise of the check: scored on hard labels, the AUC would print differently.
        hard = _roc_auc(truth == 1, (proba[:, 1] > 0.5).astype(float))
        assert f"{hard:.4f}" != metrics["ROC AUC"]
    return metrics


def test_train_report_matches_the_saved_model(capsys: pytest.CaptureFixture,
                                              tmp_path: Path) -> None:
    """Every printed number recomputed from the saved model file with NumPy: the test metrics on
    the held-out rows, the train log loss, and the objective = train log loss + ||w||^2 / (2 C n)."""
    path = tmp_path / "m.model"
    code, out, _ = _run(["train", "--C", "0.05", "--save", str(path), "--quiet"], capsys)
    assert code == 0
    fields = _report(out)
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                        random_state=42)
    for name, value in _independent_metrics(path, X_test, y_test).items():
        assert fields["test " + name] == value, name
    train = _independent_metrics(path, X_train, y_train)
    assert fields["train log loss"] == train["log loss"]
    coef = np.asarray(serialization.load(path)["model"]["coef"])
    objective = float(train["log loss"]) + np.sum(coef**2) / (2 * 0.05 * y_train.size)
    assert abs(float(fields["objective"].split()[0]) - objective) <= 1e-4 + 1e-12
    assert float(fields["objective"].split()[0]) > float(fields["train log loss"])  # the penalty


def test_train_matches_the_library_pipeline(capsys: pytest.CaptureFixture,
                                            tmp_path: Path) -> None:
    """The saved model and scaler are those of split -> StandardScaler on train -> fit."""
    path = tmp_path / "m.model"
    code, out, _ = _run(["train", "--solver", "newton", "--C", "0.5", "--test-size", "0.3",
                         "--seed", "7", "--save", str(path)], capsys)
    assert code == 0 and f"model saved to {path}" in out
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y,
                                                        random_state=7)
    scaler = StandardScaler().fit(X_train)
    expected = LogisticRegression(C=0.5, solver="newton").fit(scaler.transform(X_train), y_train)
    model, loaded_scaler, trained = load_model(str(path))
    np.testing.assert_array_equal(loaded_scaler.mean_, scaler.mean_)
    np.testing.assert_array_equal(loaded_scaler.scale_, scaler.scale_)
    np.testing.assert_allclose(model.coef_, expected.coef_, rtol=1e-10, atol=1e-12)
    assert trained["feature_names"] == list(load_breast_cancer().feature_names)
    accuracy = expected.score(scaler.transform(X_test), y_test)
    assert f"test accuracy   {accuracy:.4f}" in out


@pytest.mark.parametrize("solver_args", [["--solver", "sgd", "--batch-size", "32", "--lr", "0.05"],
                                         ["--solver", "adam", "--penalty", "none"],
                                         ["--solver", "rmsprop", "--max-iter", "3"]])
def test_train_first_order_solvers_and_options(solver_args: list[str],
                                               capsys: pytest.CaptureFixture) -> None:
    code, out, err = _run(["train", "--max-iter", "30", *solver_args], capsys)
    assert code == 0
    assert f"solver          {solver_args[1]}, " in out
    if "--batch-size" in solver_args:
        assert "minibatches of 32" in out
    if "none" in solver_args:
        assert "penalty none" in out
    stopped = "stopped by --max-iter" in out
    assert stopped == ("did not converge" in err)  # the warning is one line on stderr
    assert all(line.startswith("tinygrad-lr: warning: ") for line in err.splitlines())


def test_train_digits_is_multiclass_without_roc_auc(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(["train", "--dataset", "digits", "--max-iter", "20", "--quiet"], capsys)
    assert code == 0 and "10 classes" in out and "ROC AUC" not in out
    matrix = out.split("predicted class)\n")[1].splitlines()
    assert matrix[0].split() == [str(d) for d in range(10)] and len(matrix) == 11


def test_progress_on_a_terminal_only_and_not_with_quiet(capsys: pytest.CaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = _run(["train", "--max-iter", "5"], capsys)
    assert code == 0 and "[lbfgs] iteration" not in err  # stderr is not a terminal here
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = _run(["train", "--max-iter", "5"], capsys)
    assert code == 0
    assert "\r\x1b[K[lbfgs] iteration 0: objective" in err
    after_progress = err.rsplit("\r\x1b[K", 1)[1]  # the progress line is wiped at the end
    assert "[lbfgs]" not in after_progress
    assert after_progress.startswith("tinygrad-lr: warning: LogisticRegression (solver='lbfgs') "
                                     "did not converge")
    assert "iteration 0" not in out
    code, _, err = _run(["train", "--max-iter", "5", "--quiet"], capsys)
    assert code == 0 and err == ""  # neither progress nor the convergence warning


def test_plot_writes_a_png(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "curve.png"
    code, out, _ = _run(["train", "--plot", str(path), "--quiet"], capsys)
    assert code == 0 and f"loss curve saved to {path}" in out
    assert path.read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_fails_before_training(capsys: pytest.CaptureFixture,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    code, out, err = _run(["train", "--plot", str(tmp_path / "c.png")], capsys)
    _assert_one_line_error(code, err, "--plot needs matplotlib", "pip install matplotlib")
    assert out == "" and not (tmp_path / "c.png").exists()


# ---- predict and evaluate -----------------------------------------------------------------------
def _predictions(text: str) -> tuple[list[str], list[str], np.ndarray]:
    rows = list(csv.reader(text.splitlines()))
    return rows[0], [r[0] for r in rows[1:]], np.array([r[1:] for r in rows[1:]], dtype=float)


def test_predict_applies_the_saved_scaler(labelled: Path, model_file: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    code, out, err = _run(["predict", "--model", str(model_file), "--csv", str(labelled),
                           "--target", "answer"], capsys)
    assert code == 0 and err == ""
    header, labels, proba = _predictions(out)
    assert header == ["label", "proba_no", "proba_yes"]
    model, scaler, _ = load_model(str(model_file))
    data = np.genfromtxt(labelled, delimiter=",", skip_header=1, usecols=(0, 2, 3))
    np.testing.assert_allclose(proba, model.predict_proba(scaler.transform(data)), rtol=1e-15)
    assert labels == model.predict(scaler.transform(data)).tolist()
    assert np.mean(np.array(labels) == np.array(["no"] * 60 + ["yes"] * 60)) > 0.9


def test_predict_csv_without_target_to_a_file(labelled: Path, model_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    with_target, _ = _run(["predict", "--model", str(model_file), "--csv", str(labelled),
                           "--target", "answer"], capsys)[1:]
    rows = list(csv.reader(labelled.read_text().splitlines()))
    features_only = _write_csv(tmp_path / "x.csv", ["a", "b", "c"],
                               [[r[0], r[2], r[3]] for r in rows[1:]])
    out_path = tmp_path / "pred.csv"
    code, out, err = _run(["predict", "--model", str(model_file), "--csv", str(features_only),
                           "--out", str(out_path)], capsys)
    assert code == 0 and out == "" and err == f"120 predictions written to {out_path}\n"
    assert out_path.read_text() == with_target
    # The label column the model was trained with is recognised and ignored without --target.
    code, out, _ = _run(["predict", "--model", str(model_file), "--csv", str(labelled)], capsys)
    assert code == 0 and out == with_target


def test_evaluate_prints_the_metrics_of_the_saved_model(labelled: Path, model_file: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    """Accuracy, log loss and ROC AUC as computed independently from the model file (ROC AUC from
    the probabilities: from hard labels it would print another value)."""
    code, out, err = _run(["evaluate", "--model", str(model_file), "--csv", str(labelled),
                           "--target", "answer"], capsys)
    assert code == 0 and err == ""
    data = np.genfromtxt(labelled, delimiter=",", skip_header=1, usecols=(0, 2, 3))
    truth = np.array(["no"] * 60 + ["yes"] * 60)
    fields = _report(out)
    assert fields["data"] == f"{labelled}: 120 samples"
    expected = _independent_metrics(model_file, data, truth)
    assert {name: fields[name] for name in expected} == expected
    assert set(expected) == {"accuracy", "log loss", "ROC AUC"}
    assert out.split("predicted class)\n")[1].splitlines()[0].split() == ["no", "yes"]
    skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn cross-checks the metrics")
    proba = _proba(model_file, data)
    assert fields["ROC AUC"] == f"{skm.roc_auc_score(truth == 'yes', proba[:, 1]):.4f}"
    assert fields["log loss"] == f"{skm.log_loss(truth, proba, labels=['no', 'yes']):.4f}"


def test_the_model_file_is_one_safe_archive(model_file: Path) -> None:
    state = serialization.load(model_file)
    assert state["format"] == "tinygrad-lr.cli-model" and state["target"] == "answer"
    assert state["feature_names"] == ["a", "b", "c"]
    assert set(state["scaler"]) == {"n_features_in_", "n_samples_seen_", "mean_", "var_", "scale_"}


# ---- bad input: one line on stderr, exit status 2 -------------------------------------------------
@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    good = [[0.5, 1.0, "x"], [1.5, -1.0, "y"], [0.1, 0.2, "x"], [2.0, 0.3, "y"]]
    return {
        "empty": _write_text(tmp_path / "empty.csv", ""),
        "text": _write_csv(tmp_path / "text.csv", ["f1", "f2", "label"],
                           good[:2] + [[0.3, "abc", "x"]] + good[2:]),
        "nan": _write_csv(tmp_path / "nan.csv", ["f1", "f2", "label"], good + [["nan", 1, "y"]]),
        "one_class": _write_csv(tmp_path / "one.csv", ["f1", "f2", "label"],
                                [[r[0], r[1], "x"] for r in good]),
        "good": _write_csv(tmp_path / "good.csv", ["f1", "f2", "label"], good * 5),
        "not_model": _write_text(tmp_path / "model.npz", "just text\n"),
    }


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _train_good(bad_files: dict[str, Path], *extra: str) -> list[str]:
    return ["train", "--csv", str(bad_files["good"]), "--target", "label", *extra]


@pytest.mark.parametrize("case, argv, fragments", [
    ("missing file", lambda f: ["train", "--csv", str(f["good"].with_name("nope.csv")),
                                "--target", "label"], ["nope.csv: no such file"]),
    ("empty file", lambda f: ["train", "--csv", str(f["empty"]), "--target", "label"],
     ["empty.csv: file is empty"]),
    ("missing target column", lambda f: ["train", "--csv", str(f["good"]), "--target", "y"],
     ["good.csv: no column named 'y'", "f1, f2, label"]),
    ("non-numeric feature", lambda f: ["train", "--csv", str(f["text"]), "--target", "label"],
     ["text.csv: column 'f2', line 4: value 'abc' is not a number"]),
    ("NaN feature", lambda f: ["train", "--csv", str(f["nan"]), "--target", "label"],
     ["nan.csv: column 'f1', line 6: missing value ('nan')"]),
    ("single class", lambda f: ["train", "--csv", str(f["one_class"]), "--target", "label"],
     ["one.csv: column 'label' has a single class ('x')"]),
    ("negative learning rate", lambda f: _train_good(f, "--solver", "sgd", "--lr", "-0.1"),
     ["--lr must be a positive number, got -0.1"]),
    ("unknown solver", lambda f: _train_good(f, "--solver", "magic"),
     ["invalid choice: 'magic'", "lbfgs", "tinygrad-lr train --help"]),
    ("bad test size", lambda f: _train_good(f, "--test-size", "1.5"),
     ["--test-size must be a fraction between 0 and 1 (exclusive), got 1.5"]),
    ("csv without target", lambda f: ["train", "--csv", str(f["good"])],
     ["--csv needs --target COLUMN"]),
    ("target without csv", lambda f: ["train", "--target", "label"],
     ["--target applies to --csv data only"]),
    ("model file not ours", lambda f: ["predict", "--model", str(f["not_model"]), "--csv",
                                       str(f["good"])], ["model.npz: not a model file"]),
    ("missing model file", lambda f: ["evaluate", "--model", str(f["good"].with_name("no.npz")),
                                      "--csv", str(f["good"]), "--target", "label"],
     ["no.npz: No such file or directory"]),
    ("no command", lambda f: [], ["required: COMMAND"]),
    ("unknown option", lambda f: ["train", "--epochs", "3"], ["unrecognized arguments: --epochs"]),
    ("non-number option", lambda f: ["train", "--C", "big"], ["argument --C: invalid float value"]),
])
def test_bad_input_prints_one_line_and_exits_2(case: str, argv, fragments: list[str],
                                               bad_files: dict[str, Path],
                                               capsys: pytest.CaptureFixture) -> None:
    code, out, err = _run(argv(bad_files), capsys)
    _assert_one_line_error(code, err, *fragments)
    assert out == ""


@pytest.mark.parametrize("argv, fragment", [
    (["--max-iter", "0"], "--max-iter must be at least 1, got 0"),
    (["--solver", "sgd", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--batch-size", "10"], "--batch-size applies to the solvers sgd, adam, rmsprop; --solver "
                             "lbfgs always uses the full batch"),
    (["--C", "0"], "--C must be a positive number (inf for no penalty), got 0.0"),
    (["--C", "nan"], "--C must be a positive number"),
    (["--seed", "-1"], "--seed must be a non-negative integer, got -1"),
    (["--test-size", "0"], "--test-size must be a fraction"),
    (["--solver", "adam", "--lr", "inf"], "--lr must be a positive number, got inf"),
    (["--lr", "0.1"], "--lr applies to the solvers sgd, adam, rmsprop; --solver lbfgs has no "
                      "learning rate (drop --lr)"),
    (["--solver", "newton", "--lr", "0.1"], "--solver newton has no learning rate"),
])
def test_option_errors_name_the_flags(argv: list[str], fragment: str,
                                      capsys: pytest.CaptureFixture) -> None:
    """Messages speak of the command's flags, never of the Python parameters behind them."""
    code, out, err = _run(["train", *argv], capsys)
    _assert_one_line_error(code, err, fragment)
    assert out == ""
    python_names = ("max_iter", "batch_size", "test_size", "random_state", "lr=", "C=", "solver=")
    assert not any(name in err for name in python_names), err


def test_version(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(["--version"], capsys)
    assert code == 0 and out == f"tinygrad-lr {tinygrad_lr.__version__}\n"


def test_C_inf_means_no_penalty(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(["train", "--C", "inf", "--quiet", "--max-iter", "300"], capsys)
    fields = _report(out)
    assert code == 0 and fields["solver"].startswith("lbfgs, full batch, penalty none, C=inf")
    assert fields["objective"].startswith(fields["train log loss"] + " (train log loss, no "
                                          "penalty")


# ---- columns by name ----------------------------------------------------------------------------
SPECIES = ("setosa", "versicolor", "virginica")
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def iris_like(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small 3-class CSV in iris's layout, the same rows with the columns reordered and two
    extra columns (one of text), and a copy that lacks one feature."""
    rng = np.random.default_rng(3)
    centres = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
    labels = np.repeat(np.arange(3), 40)
    X = np.round(centres[labels] + rng.normal(0, [0.35, 0.3, 0.45, 0.25], (120, 4)), 2)
    species = [SPECIES[k] for k in labels]
    folder = tmp_path_factory.mktemp("iris")
    original = _write_csv(folder / "iris.csv", IRIS_FEATURES + ["species"],
                          [list(x) + [s] for x, s in zip(X.tolist(), species)])
    reordered = _write_csv(folder / "reordered.csv",
                           ["species", "petal_width", "id", "sepal_length", "petal_length",
                            "note", "sepal_width"],
                           [[s, x[3], f"r{i}", x[0], x[2], "seen in the field", x[1]]
                            for i, (x, s) in enumerate(zip(X.tolist(), species))])
    missing = _write_csv(folder / "missing.csv", ["sepal_length", "sepal_width", "petal_length",
                                                  "species"],
                         [x[:3] + [s] for x, s in zip(X.tolist(), species)])
    return {"original": original, "reordered": reordered, "missing": missing}


@pytest.fixture(scope="module")
def iris_model(iris_like: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("iris_model") / "iris.model"
    assert main(["train", "--csv", str(iris_like["original"]), "--target", "species",
                 "--save", str(path), "--quiet"]) == 0
    return path


def test_evaluate_and_predict_match_columns_by_name(iris_like: dict[str, Path], iris_model: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """The reordered file with extra columns evaluates and predicts exactly as the original."""
    outputs = {}
    for name in ("original", "reordered"):
        code, evaluated, err = _run(["evaluate", "--model", str(iris_model), "--csv",
                                     str(iris_like[name]), "--target", "species"], capsys)
        assert code == 0 and err == ""
        code, predicted, err = _run(["predict", "--model", str(iris_model), "--csv",
                                     str(iris_like[name])], capsys)
        assert code == 0 and err == ""
        outputs[name] = (evaluated.split("\n", 1)[1], predicted)
    assert outputs["reordered"] == outputs["original"]
    report = _report(outputs["original"][0])
    assert float(report["accuracy"]) > 0.9  # a real model, not three equal guesses
    X = np.genfromtxt(iris_like["original"], delimiter=",", skip_header=1, usecols=range(4))
    truth = np.repeat(np.array(SPECIES), 40)
    assert {k: report[k] for k in ("accuracy", "log loss")} == \
        _independent_metrics(iris_model, X, truth)
    _, labels, proba = _predictions(outputs["reordered"][1])
    np.testing.assert_allclose(proba, _proba(iris_model, X), rtol=1e-12)
    assert labels == [SPECIES[k] for k in _proba(iris_model, X).argmax(axis=1)]


def test_missing_feature_column_is_named(iris_like: dict[str, Path], iris_model: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    for argv in (["predict"], ["evaluate", "--target", "species"]):
        code, out, err = _run([*argv, "--model", str(iris_model), "--csv",
                               str(iris_like["missing"])], capsys)
        _assert_one_line_error(code, err, "missing.csv: missing feature column 'petal_width';",
                               "available columns: sepal_length, sepal_width, petal_length, "
                               "species")
        assert out == ""


def test_target_that_is_a_feature_is_refused(iris_like: dict[str, Path], iris_model: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    code, _, err = _run(["evaluate", "--model", str(iris_model), "--csv",
                         str(iris_like["original"]), "--target", "petal_width"], capsys)
    _assert_one_line_error(code, err, "--target 'petal_width' is one of the model's feature "
                                      "columns")


def test_model_without_names_matches_by_position_only_on_an_exact_count(
        tmp_path: Path, labelled: Path, capsys: pytest.CaptureFixture) -> None:
    """A plain LogisticRegression file has no column names: the file's feature columns are used in
    order, with a warning, when there are exactly as many as the model has; else a clear error."""
    X = np.genfromtxt(labelled, delimiter=",", skip_header=1, usecols=(0, 2, 3))
    model = LogisticRegression().fit(X, np.array(["no"] * 60 + ["yes"] * 60))
    model.save(tmp_path / "plain.npz")
    code, out, err = _run(["predict", "--model", str(tmp_path / "plain.npz"), "--csv",
                           str(labelled), "--target", "answer"], capsys)
    assert code == 0
    assert err == (f"tinygrad-lr: warning: {tmp_path / 'plain.npz'}: the model file holds no "
                   "feature names; the columns a, b, c are used by position\n")
    np.testing.assert_allclose(_predictions(out)[2], model.predict_proba(X), rtol=1e-15)
    code, quiet_out, err = _run(["predict", "--model", str(tmp_path / "plain.npz"), "--csv",
                                 str(labelled), "--target", "answer", "--quiet"], capsys)
    assert code == 0 and err == "" and quiet_out == out
    code, _, err = _run(["predict", "--model", str(tmp_path / "plain.npz"), "--csv",
                         str(labelled)], capsys)
    _assert_one_line_error(code, err, "blobs.csv: column 'answer', line 2: value 'no' is not a "
                           "number", "if that column holds the labels, pass --target COLUMN")
    rows = [[*x, i] for i, x in enumerate(X[:5].tolist())]
    four = _write_csv(tmp_path / "four.csv", ["a", "b", "c", "d"], rows)
    code, _, err = _run(["predict", "--model", str(tmp_path / "plain.npz"), "--csv", str(four)],
                        capsys)
    _assert_one_line_error(code, err, "four.csv: the model file holds no feature names, so "
                           "columns can only be matched by position, and the file has 4 feature "
                           "columns (a, b, c, d) where the model has 3", "pass --target COLUMN")


def test_unknown_labels_at_evaluate(bad_files: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    model = str(tmp_path / "m.npz")
    assert _run(_train_good(bad_files, "--save", model, "--test-size", "0.5"), capsys)[0] == 0
    other = _write_csv(tmp_path / "other.csv", ["f1", "f2", "label"], [[1, 2, "x"], [3, 4, "z"]])
    code, _, err = _run(["evaluate", "--model", model, "--csv", str(other), "--target", "label"],
                        capsys)
    _assert_one_line_error(code, err, "other.csv: column 'label' holds labels ['z']",
                           "['x', 'y']")


@pytest.mark.parametrize("content, fragment", [
    ({"weights": np.ones(3)}, "is not a saved LogisticRegression"),
    ({"format": "tinygrad-lr.cli-model", "version": 1}, "damaged model file (KeyError: 'model')"),
    ({"format": "tinygrad-lr.cli-model", "version": 9}, "unsupported model file version 9"),
])
def test_other_tinygrad_archives_are_refused_as_models(content: dict, fragment: str,
                                                       bad_files: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "other.npz"
    serialization.save(content, path)
    code, _, err = _run(["predict", "--model", str(path), "--csv", str(bad_files["good"])], capsys)
    _assert_one_line_error(code, err, "other.npz", fragment)


def test_help_exits_0(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = _run(["train", "--help"], capsys)
    assert code == 0 and "--csv PATH" in out and "--batch-size" in out


# ---- output paths, checked before any work -------------------------------------------------------
@pytest.mark.parametrize("flag", ["--save", "--plot", "--out"])
@pytest.mark.parametrize("where, fragment", [
    (lambda d: d / "nope" / "x.out", "the directory {d}/nope does not exist"),
    (lambda d: d, "{d}: is a directory; give a file name"),
    (lambda d: d / "file.txt" / "x.out", "{d}/file.txt is not a directory"),
    (lambda d: Path("/proc/self/x.out"), "the directory /proc/self is not writable"),
])
def test_output_paths_are_checked_before_any_work(flag: str, where, fragment: str,
                                                  tmp_path: Path, model_file: Path,
                                                  labelled: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture) -> None:
    """One line and exit 2 before reading data or fitting (fit and the readers are booby-trapped
    here); /proc/self refuses new files even to root."""
    (tmp_path / "file.txt").write_text("x")
    target = where(tmp_path)
    if str(target).startswith("/proc/") and not os.path.isdir("/proc/self"):
        pytest.skip("no /proc file system here (it provides a folder no one may write to)")
    trap = pytest.fail  # reaching the data or the solver means the check came too late
    monkeypatch.setattr(cli, "read_csv", lambda *a, **k: trap("read_csv before the check"))
    monkeypatch.setattr(cli, "load_model", lambda *a, **k: trap("load_model before the check"))
    monkeypatch.setattr(LogisticRegression, "fit", lambda *a, **k: trap("fit before the check"))
    if flag == "--out":
        argv = ["predict", "--model", str(model_file), "--csv", str(labelled), "--out",
                str(target)]
    else:
        argv = ["train", "--csv", str(labelled), "--target", "answer", flag, str(target)]
    code, out, err = _run(argv, capsys)
    _assert_one_line_error(code, err, f"{flag} {target}: ", fragment.format(d=tmp_path))
    assert out == ""


def test_outputs_never_overwrite_the_inputs(tmp_path: Path, labelled: Path, model_file: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    before = (labelled.read_bytes(), model_file.read_bytes())
    for argv in (["train", "--csv", str(labelled), "--target", "answer", "--save", str(labelled)],
                 ["predict", "--model", str(model_file), "--csv", str(labelled), "--out",
                  str(labelled)],
                 ["predict", "--model", str(model_file), "--csv", str(labelled), "--out",
                  str(model_file)]):
        code, _, err = _run(argv, capsys)
        _assert_one_line_error(code, err, "is an input of this command; writing there would "
                                          "overwrite it")
    assert (labelled.read_bytes(), model_file.read_bytes()) == before


# ---- delimiters, targets, unreadable files, progress ---------------------------------------------
def test_semicolon_and_tab_files_train_and_evaluate_alike(iris_like: dict[str, Path],
                                                          tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    rows = list(csv.reader(iris_like["original"].read_text().splitlines()))
    semicolon, tab, pipe = tmp_path / "s.csv", tmp_path / "t.tsv", tmp_path / "p.txt"
    semicolon.write_text("".join(";".join(r) + "\n" for r in rows))
    tab.write_text("".join("\t".join(r) + "\n" for r in rows))
    pipe.write_text("".join("|".join(r) + "\n" for r in rows))
    model = tmp_path / "m.model"
    code, trained, _ = _run(["train", "--csv", str(semicolon), "--target", "species", "--save",
                             str(model), "--quiet"], capsys)
    assert code == 0 and "120 samples, 4 features, 3 classes" in trained
    reports = []
    for path, extra in ((iris_like["original"], []), (semicolon, []), (tab, []),
                        (tab, ["--delimiter", "tab"]), (pipe, ["--delimiter", "|"])):
        code, out, err = _run(["evaluate", "--model", str(model), "--csv", str(path),
                               "--target", "species", *extra], capsys)
        assert code == 0, err
        reports.append(out.split("\n", 1)[1])
    assert all(report == reports[0] for report in reports)
    code, _, err = _run(["evaluate", "--model", str(model), "--csv", str(semicolon), "--target",
                         "species", "--delimiter", ","], capsys)
    _assert_one_line_error(code, err, "no column named 'species'")


def test_continuous_target_gets_the_classifier_hint(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    price = _write_csv(tmp_path / "price.csv", ["a", "b", "price"],
                       [[*x, round(10 + 3 * x[0] + x[1] + rng.normal(), 2)] for x in X.tolist()])
    code, out, err = _run(["train", "--csv", str(price), "--target", "price"], capsys)
    _assert_one_line_error(code, err, "price.csv: column 'price' holds 78 distinct numbers",
                           "it looks like a continuous target, but tinygrad-lr trains a "
                           "classifier", "LinearRegression")
    assert out == ""
    counts = _write_csv(tmp_path / "counts.csv", ["a", "b", "visits"],
                        [[*x, i] for i, x in enumerate(X.tolist())])
    code, _, err = _run(["train", "--csv", str(counts), "--target", "visits"], capsys)
    _assert_one_line_error(code, err, "counts.csv: cannot split 80 rows into train and test "
                           "parts stratified by class", "column 'visits' holds 80 distinct "
                           "numbers", "looks like a continuous target")
    assert "stratify:" not in err
    many = _write_csv(tmp_path / "many.csv", ["a", "b", "grade"],
                      [[*x, i % 25] for i, x in enumerate(X.tolist() * 2)])
    code, _, err = _run(["train", "--csv", str(many), "--target", "grade", "--max-iter", "500",
                         "--test-size", "0.4"], capsys)
    assert code == 0  # 25 classes of 6 or 7 rows each: trains, with the hint as a warning
    assert "tinygrad-lr: warning: " in err and "column 'grade' holds 25 distinct numbers" in err


@contextlib.contextmanager
def _unprivileged(path: Path):
    """``path`` made unreadable for real: mode 000, and when running as root (whom modes do not
    stop) the effective user switched to nobody meanwhile."""
    mode = path.stat().st_mode
    path.chmod(0)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root:
        os.seteuid(65534)
    try:
        with pytest.raises(PermissionError):
            open(path).close()  # the premise
        yield
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(mode)


@pytest.fixture
def open_folder():
    """A fresh folder that every user may enter (pytest's own are root-only when run as root, so
    there a file's own mode would not be what denies access)."""
    folder = Path(tempfile.mkdtemp(prefix="tinygrad-lr-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_unreadable_files_are_one_line(labelled: Path, model_file: Path, open_folder: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    tmp_path = open_folder
    data = tmp_path / "data.csv"
    data.write_bytes(labelled.read_bytes())
    model = tmp_path / "copy.model"
    model.write_bytes(model_file.read_bytes())
    runs = {data: [["train", "--csv", str(data), "--target", "answer"],
                   ["predict", "--model", str(model), "--csv", str(data)],
                   ["evaluate", "--model", str(model), "--csv", str(data), "--target", "answer"]],
            model: [["predict", "--model", str(model), "--csv", str(data)]]}
    for path, commands in runs.items():
        for argv in commands:
            with _unprivileged(path):
                code, out, err = _run(argv, capsys)
            expected = ("cannot be read: permission denied" if path == data
                        else "Permission denied")
            _assert_one_line_error(code, err, f"{path}: {expected}")
            assert out == ""


def test_read_progress_on_a_terminal_only(labelled: Path, capsys: pytest.CaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["train", "--csv", str(labelled), "--target", "answer", "--max-iter", "500"]
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)  # every file counts as large
    code, _, err = _run(argv, capsys)
    assert code == 0 and err == ""  # stderr is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = _run(argv, capsys)
    size = labelled.stat().st_size
    assert code == 0 and f"\r\x1b[Kreading {labelled}: 100% (0 of 0 MB)" in err
    assert err.count(f"reading {labelled}") == 1 and f"reading {labelled}" not in out
    assert err.rsplit("reading", 1)[1].startswith(f" {labelled}: 100%")
    assert "\r\x1b[K" in err.rsplit("100%", 1)[1]  # wiped before anything else is written
    assert size < 1e6
    code, _, err = _run([*argv, "--quiet"], capsys)
    assert code == 0 and err == ""
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", size + 1)
    code, _, err = _run(argv, capsys)
    assert code == 0 and "reading" not in err  # a small file: quiet


# ---- through a real process: what the user sees -------------------------------------------------
def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "tinygrad_lr", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120, check=False)


@pytest.mark.parametrize("args, fragment", [
    (["train", "--csv", "/nonexistent/data.csv", "--target", "y"],
     "/nonexistent/data.csv: no such file"),
    (["train", "--solver", "sgd", "--lr", "-1"], "lr"),
    (["train", "--solver", "quantum"], "invalid choice: 'quantum'"),
])
def test_subprocess_error_is_one_line_without_traceback(args: list[str], fragment: str) -> None:
    result = _subprocess(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("tinygrad-lr: error: ") and result.stderr.count("\n") == 1
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_subprocess_model_file_not_ours(bad_files: dict[str, Path]) -> None:
    result = _subprocess("predict", "--model", str(bad_files["not_model"]), "--csv",
                         str(bad_files["good"]))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("tinygrad-lr: error: ") and "not a model file" in result.stderr


def test_subprocess_train_succeeds() -> None:
    result = _subprocess("train", "--max-iter", "50")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and result.stderr == ""
