"""The estimator protocol (get_params/set_params/repr), scikit-learn interoperability (clone,
pipelines, cross-validation, grid search) and LogisticRegression's safe save/load."""

import doctest
import inspect
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

from tinygrad_lr import serialization
from tinygrad_lr.exceptions import ConvergenceWarning, NotFittedError
from tinygrad_lr.data import load_breast_cancer, make_classification, make_regression
from tinygrad_lr.linear_model import LinearRegression, LogisticRegression
from tinygrad_lr.linear_model.base import BaseEstimator, check_features

SKLEARN_REASON = "scikit-learn is needed to check that its tools accept our estimators"

LOGISTIC_DEFAULTS = dict(penalty="l2", C=1.0, fit_intercept=True, solver="lbfgs", lr=None,
                         max_iter=100, tol=1e-4, batch_size=None, class_weight=None,
                         random_state=None, verbose=0)


@pytest.fixture(scope="module")
def cancer():
    return load_breast_cancer(return_X_y=True)


# ---- parameters ---------------------------------------------------------------------------------
def test_get_params_lists_every_constructor_argument():
    assert LogisticRegression().get_params() == LOGISTIC_DEFAULTS
    assert LinearRegression().get_params() == dict(fit_intercept=True, solver="lstsq", lr=None,
                                                   max_iter=1000, tol=1e-6)


def test_constructor_stores_arguments_unmodified():
    class_weight = {0: 2.0}
    model = LogisticRegression(C="not a number", class_weight=class_weight, solver="nope")
    assert model.get_params()["class_weight"] is class_weight
    assert model.C == "not a number" and model.solver == "nope"  # validated only by fit


def test_set_params_round_trip():
    changed = dict(penalty=None, C=0.5, fit_intercept=False, solver="adam", lr=0.1, max_iter=7,
                   tol=1e-3, batch_size=16, class_weight="balanced", random_state=3, verbose=1)
    model = LogisticRegression()
    assert model.set_params(**changed) is model
    assert model.get_params() == changed
    model.set_params(**LogisticRegression().get_params())
    assert model.get_params() == LOGISTIC_DEFAULTS
    assert LogisticRegression(**changed).get_params() == changed


def test_set_params_rejects_unknown_names():
    with pytest.raises(ValueError, match="invalid parameter 'alpha' for estimator "
                                         "LogisticRegression; valid parameters are: \\['C', "):
        LogisticRegression().set_params(alpha=1.0)


def test_nested_parameters_reach_an_estimator_valued_parameter():
    class Wrapper(BaseEstimator):
        def __init__(self, inner=None, scale=1):
            self.inner = inner
            self.scale = scale

    wrapper = Wrapper(inner=LogisticRegression(C=2.0))
    params = wrapper.get_params(deep=True)
    assert params["inner__C"] == 2.0 and params["scale"] == 1
    assert "inner__C" not in wrapper.get_params(deep=False)
    wrapper.set_params(inner__C=0.25, scale=3)
    assert wrapper.inner.C == 0.25 and wrapper.scale == 3


def test_repr_shows_only_non_default_parameters():
    assert repr(LogisticRegression()) == "LogisticRegression()"
    assert repr(LogisticRegression(solver="newton", C=0.1)) == \
        "LogisticRegression(C=0.1, solver='newton')"
    assert repr(LogisticRegression(class_weight={"a": 2})) == \
        "LogisticRegression(class_weight={'a': 2})"
    assert repr(LinearRegression(solver="gd", tol=1e-8)) == \
        "LinearRegression(solver='gd', tol=1e-08)"


def test_check_features_copies_only_strided_views():
    float32 = np.ones((3, 2), np.float32)
    fortran = np.asfortranarray(np.ones((3, 2)))
    assert check_features(float32, "fit") is float32
    assert check_features(fortran, "fit") is fortran
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]
    contiguous = check_features(strided, "fit")
    assert contiguous.flags.c_contiguous and not np.shares_memory(contiguous, strided)
    np.testing.assert_array_equal(contiguous, strided)


# ---- scikit-learn's tools -----------------------------------------------------------------------
def test_sklearn_recognises_the_estimator_types():
    base = pytest.importorskip("sklearn.base", reason=SKLEARN_REASON)
    assert base.is_classifier(LogisticRegression()) and not base.is_regressor(LogisticRegression())
    assert base.is_regressor(LinearRegression()) and not base.is_classifier(LinearRegression())


def test_sklearn_clone_copies_parameters_not_fitted_state(cancer):
    base = pytest.importorskip("sklearn.base", reason=SKLEARN_REASON)
    X, y = cancer
    model = LogisticRegression(C=0.3, class_weight={0: 2.0}, max_iter=500).fit(X[:, :5], y)
    copy = base.clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert not hasattr(copy, "coef_")


def test_sklearn_pipeline_and_cross_validation(cancer):
    pytest.importorskip("sklearn", reason=SKLEARN_REASON)
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = cancer
    pipeline = make_pipeline(StandardScaler(), LogisticRegression())
    scores = cross_val_score(pipeline, X, y, cv=5)
    assert scores.shape == (5,) and scores.min() > 0.93
    search = GridSearchCV(pipeline, {"logisticregression__C": [0.01, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["logisticregression__C"] in (0.01, 1.0)
    assert search.best_estimator_.score(X, y) > 0.95
    X_reg, y_reg = make_regression(80, 3, n_informative=3, noise=0.1, random_state=0)
    assert cross_val_score(LinearRegression(), X_reg, y_reg, cv=4).min() > 0.99


# ---- save and load ------------------------------------------------------------------------------
@pytest.mark.parametrize("labels", [
    np.array(["benign", "malignant", "unknown"]),
    np.array(["no", "yes"], dtype=object),
    np.array([-3, 7]),
    np.array([1.0, 2.0, 4.0], dtype=np.float32),
    np.array([False, True]),
], ids=["str", "object", "int", "float32", "bool"])
def test_save_load_round_trip_is_exact(tmp_path, labels):
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=labels.size,
                               n_clusters_per_class=1, random_state=0)
    model = LogisticRegression(C=0.7, class_weight={labels[0]: 2.0}, random_state=5,
                               max_iter=300).fit(X.astype(np.float32), labels[y])
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = LogisticRegression.load(path)
    assert type(loaded) is LogisticRegression
    assert loaded.get_params() == model.get_params()
    for name in ("classes_", "coef_", "intercept_", "n_iter_"):
        expected, actual = getattr(model, name), getattr(loaded, name)
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, name
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    assert loaded.n_features_in_ == model.n_features_in_
    assert loaded.loss_curve_ == model.loss_curve_
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_load_refuses_files_that_are_not_a_saved_model(tmp_path):
    other = tmp_path / "weights.npz"
    serialization.save({"weight": np.ones(3)}, other)
    with pytest.raises(ValueError, match=f"{other} is not a saved LogisticRegression"):
        LogisticRegression.load(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=f"{text} is not a saved LogisticRegression"):
        LogisticRegression.load(text)
    damaged = tmp_path / "damaged.npz"
    serialization.save({"format": "tinygrad_lr.LogisticRegression", "version": 1}, damaged)
    with pytest.raises(ValueError, match=f"{damaged}: damaged LogisticRegression file"):
        LogisticRegression.load(damaged)
    with pytest.raises(FileNotFoundError):
        LogisticRegression.load(tmp_path / "missing.npz")


def test_save_needs_a_fitted_model(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        LogisticRegression().save(tmp_path / "model.npz")


# ---- scikit-learn's exception and warning classes -----------------------------------------------
SKLEARN_INTEROP = """
import sys, warnings
import numpy as np
{first}
X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
caught = []
try:
    LogisticRegression().predict(X)
except sklearn.exceptions.NotFittedError as error:
    caught.append(isinstance(error, tinygrad_lr.exceptions.NotFittedError))
try:
    LinearRegression().predict(X)
except tinygrad_lr.exceptions.NotFittedError as error:
    caught.append(isinstance(error, sklearn.exceptions.NotFittedError))
with warnings.catch_warnings():
    warnings.simplefilter("error", sklearn.exceptions.ConvergenceWarning)
    try:
        LogisticRegression(solver="sgd", max_iter=1).fit(X, y)
    except tinygrad_lr.exceptions.ConvergenceWarning:
        caught.append(True)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
    LinearRegression(solver="gd", max_iter=1).fit(X, y)  # filtered: no error
    caught.append(True)
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    LogisticRegression().fit(X, y[:, None])
caught.append([issubclass(w.category, sklearn.exceptions.DataConversionWarning)
               for w in record] == [True])
print(caught)
"""
SKLEARN_FIRST = ("import sklearn.exceptions\nimport tinygrad_lr\n"
                 "from tinygrad_lr.linear_model import LinearRegression, LogisticRegression")
# tinygrad_lr raises and warns before scikit-learn is imported, then scikit-learn arrives
SKLEARN_AFTER = ("import tinygrad_lr\nfrom tinygrad_lr.linear_model import LinearRegression, "
                 "LogisticRegression\n"
                 "try:\n    LogisticRegression().predict(np.ones((1, 1)))\n"
                 "except tinygrad_lr.exceptions.NotFittedError as error:\n"
                 "    assert 'sklearn' not in sys.modules and type(error).__bases__ == "
                 "(ValueError, AttributeError)\n"
                 "import sklearn.exceptions")


@pytest.mark.parametrize("first", [SKLEARN_FIRST, SKLEARN_AFTER],
                         ids=["sklearn-imported-first", "sklearn-imported-after"])
def test_sklearn_code_catches_our_errors_and_filters_our_warnings(first):
    pytest.importorskip("sklearn", reason=SKLEARN_REASON)
    result = subprocess.run([sys.executable, "-c", SKLEARN_INTEROP.format(first=first)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[True, True, True, True, True]"


def test_sklearn_is_never_imported_by_the_package():
    code = ("import sys, warnings, numpy as np, tinygrad_lr\n"
            "from tinygrad_lr.linear_model import LinearRegression, LogisticRegression\n"
            "X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])\n"
            "warnings.simplefilter('ignore')\n"
            "for solver in ('lbfgs', 'newton', 'sgd'):\n"
            "    LogisticRegression(solver=solver, max_iter=2).fit(X, y[:, None]).predict(X)\n"
            "LinearRegression(solver='gd', max_iter=2).fit(X, y).predict(X)\n"
            "try:\n    LinearRegression().predict(X)\nexcept ValueError:\n    pass\n"
            "print('sklearn' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_combined_exception_pickles_as_ours():
    pytest.importorskip("sklearn", reason=SKLEARN_REASON)
    with pytest.raises(NotFittedError) as info:
        LogisticRegression().predict(np.ones((1, 1)))
    restored = pickle.loads(pickle.dumps(info.value))
    assert type(restored) is NotFittedError and restored.args == info.value.args


# ---- parameters as scikit-learn users write them ------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton", "sgd"])
def test_c_infinity_means_no_penalty(cancer, solver):
    X, y = cancer
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        unpenalised = LogisticRegression(penalty=None, solver=solver, max_iter=30).fit(X, y)
        for C in (np.inf, float("inf"), np.float64("inf")):
            model = LogisticRegression(C=C, solver=solver, max_iter=30).fit(X, y)
            np.testing.assert_array_equal(model.coef_, unpenalised.coef_)
    penalised = LogisticRegression(C=1e6, solver=solver, max_iter=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert not np.array_equal(penalised.fit(X, y).coef_, unpenalised.coef_)


@pytest.mark.parametrize("C", [-np.inf, np.nan, 0.0, "inf"])
def test_c_must_be_positive(C):
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=C).fit(np.array([[0.0], [1.0]]), [0, 1])


def test_partial_fit_exists_only_for_first_order_solvers():
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    for solver in ("lbfgs", "newton"):
        model = LogisticRegression(solver=solver)
        assert not hasattr(model, "partial_fit")
        with pytest.raises(AttributeError, match=f"partial_fit needs a first-order solver .*"
                                                 f"solver='{solver}'"):
            model.partial_fit(X, y, classes=[0, 1])
    for solver in ("sgd", "adam", "rmsprop"):
        model = LogisticRegression(solver=solver)
        assert model.partial_fit(X, y, classes=[0, 1]) is model
    model = LogisticRegression(solver="lbfgs")
    assert hasattr(model.set_params(solver="adam"), "partial_fit")
    assert LogisticRegression.partial_fit.__doc__.startswith("One pass of the first-order")
    assert not hasattr(LinearRegression(), "partial_fit")


# ---- docstrings ---------------------------------------------------------------------------------
def numpydoc_sections(doc):
    """{section title: its text} of a numpydoc docstring (titles underlined with dashes)."""
    lines = inspect.cleandoc(doc).splitlines()
    sections, title = {}, None
    for index, line in enumerate(lines):
        below = lines[index + 1] if index + 1 < len(lines) else ""
        if line and below == "-" * len(line):
            title = line
            sections[title] = []
        elif title is not None and line != "-" * len(title):
            sections[title].append(line)
    return {name: "\n".join(body) for name, body in sections.items()}


def documented_names(section):
    """Names of the entries of a Parameters/Attributes section ("name : type" lines)."""
    return [line.split(" : ")[0] for line in section.splitlines()
            if line and not line.startswith(" ") and " : " in line]


@pytest.mark.parametrize("estimator, fit_data", [
    (LogisticRegression, (np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])),
    (LinearRegression, (np.array([[0.0], [1.0], [2.0], [3.0]]), [0.0, 1.0, 2.5, 3.0])),
])
def test_docstrings_document_every_parameter_and_attribute(estimator, fit_data):
    sections = numpydoc_sections(estimator.__doc__)
    assert {"Parameters", "Attributes", "Examples"} <= set(sections)
    parameters = list(inspect.signature(estimator.__init__).parameters)[1:]
    assert documented_names(sections["Parameters"]) == parameters  # all, in signature order
    fitted = estimator().fit(*fit_data)
    attributes = sorted(name for name in vars(fitted)
                        if name.endswith("_") and not name.startswith("_"))
    assert sorted(documented_names(sections["Attributes"])) == attributes


@pytest.mark.parametrize("estimator", [LogisticRegression, LinearRegression])
def test_docstring_examples_run(estimator):
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    (test,) = finder.find(estimator)
    assert test.examples
    runner.run(test)
    assert runner.failures == 0
