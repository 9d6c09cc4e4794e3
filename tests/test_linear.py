"""LinearRegression: closed forms against numpy.linalg.lstsq, gradient descent through the engine,
and bad input."""

import warnings

import numpy as np
import pytest

from helpers import with_value
from tinygrad_lr.data import make_regression
from tinygrad_lr.exceptions import ConvergenceWarning, NotFittedError
from tinygrad_lr.linear_model import LinearRegression
from tinygrad_lr.metrics import r2_score


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(200, 6, n_informative=6, noise=0.5, bias=3.0, random_state=0)
    return X + np.linspace(-2, 2, 6), y  # features with nonzero means, so the intercept matters


def reference_solution(X, y, fit_intercept=True):
    """(coef, intercept) from numpy.linalg.lstsq on X with a column of ones appended."""
    if not fit_intercept:
        return np.linalg.lstsq(X, y, rcond=None)[0], 0.0
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(len(X))]), y, rcond=None)[0]
    return solution[:-1], solution[-1]


@pytest.mark.parametrize("solver", ["lstsq", "normal"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_closed_forms_equal_numpy_lstsq(regression, solver, fit_intercept):
    X, y = regression
    coef, intercept = reference_solution(X, y, fit_intercept)
    model = LinearRegression(solver=solver, fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-9, atol=1e-12)
    assert model.coef_.shape == (6,) and model.n_features_in_ == 6
    np.testing.assert_allclose(model.predict(X), X @ coef + intercept, rtol=1e-9)


def test_closed_form_matches_sklearn(regression):
    linear_model = pytest.importorskip(
        "sklearn.linear_model", reason="scikit-learn is the reference implementation")
    X, y = regression
    reference = linear_model.LinearRegression().fit(X, y)
    model = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-9)
    np.testing.assert_allclose(model.score(X, y), reference.score(X, y), rtol=1e-12)


def test_gradient_descent_converges_to_the_closed_form(regression):
    X, y = regression
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # well conditioned
    coef, intercept = reference_solution(X, y)
    model = LinearRegression(solver="gd", tol=1e-9).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, intercept, rtol=1e-6)
    assert 0 < model.n_iter_ < 1000


def test_gradient_descent_default_step_is_stable_on_unscaled_features(regression):
    """The default lr is 1 / (a bound on the curvature): large features slow it, never diverge."""
    X, y = regression
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=50"):
        model = LinearRegression(solver="gd", max_iter=50).fit(X * 100, y)
    assert np.isfinite(model.coef_).all()
    assert model.score(X * 100, y) > 0


def test_gradient_descent_without_intercept(regression):
    X, y = regression
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    coef, _ = reference_solution(X, y, fit_intercept=False)
    model = LinearRegression(solver="gd", fit_intercept=False, lr=0.2, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.coef_, coef, rtol=1e-6)
    assert model.intercept_ == 0.0


def test_lstsq_handles_collinear_features_and_normal_refuses_them(regression):
    X, y = regression
    collinear = np.column_stack([X, X[:, 0] * 2.0])
    model = LinearRegression().fit(collinear, y)
    np.testing.assert_allclose(model.predict(collinear), LinearRegression().fit(X, y).predict(X),
                               rtol=1e-8)
    with pytest.raises(ValueError, match="X\\^T X is singular .*rank < n_features=7, with "
                                         "n_samples=200.*solver='lstsq'"):
        LinearRegression(solver="normal").fit(np.column_stack([X, X[:, 0]]), y)


def test_score_is_r2(regression):
    X, y = regression
    model = LinearRegression().fit(X[:150], y[:150])
    assert model.score(X[150:], y[150:]) == r2_score(y[150:], model.predict(X[150:]))


@pytest.mark.parametrize("solver", ["lstsq", "normal", "gd"])
def test_float32_inputs_are_kept_and_not_modified(regression, solver):
    X, y = regression
    wide = np.repeat(X, 2, axis=1).astype(np.float32)
    X32 = wide[:, ::2]  # a non-contiguous float32 view
    y32 = y.astype(np.float32)
    originals = wide.copy(), y32.copy()
    wide.flags.writeable = y32.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LinearRegression(solver=solver).fit(X32, y32)
    assert model.coef_.dtype == np.float32 and model.predict(X32).dtype == np.float32
    np.testing.assert_array_equal(wide, originals[0])
    np.testing.assert_array_equal(y32, originals[1])


X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 3.0]])
Y_OK = np.array([0.5, 1.0, 2.0, 4.0])


@pytest.mark.parametrize("X, y, message", [
    (X_OK[:, 0], Y_OK, r"Expected 2D array, got 1D array .*shape \(4,\)\)\. Reshape your data"),
    (X_OK, Y_OK[:2], "inconsistent numbers of samples: X has 4 rows, y has 2 values"),
    (np.empty((0, 2)), np.empty(0), r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\) while a "
                                    "minimum of 1 is required by LinearRegression"),
    (np.empty((3, 0)), Y_OK[:3], r"Found array with 0 feature\(s\) \(shape=\(3, 0\)\)"),
    (with_value(X_OK, (3, 0), np.nan), Y_OK, r"Input X contains NaN \(nan at index \(3, 0"),
    (with_value(X_OK, (1, 1), -np.inf), Y_OK, r"Input X contains infinity \(-inf"),
    (X_OK, with_value(Y_OK, 2, np.inf), r"Input y contains infinity \(inf at index 2\)"),
    (X_OK, np.column_stack([Y_OK, Y_OK]), r"y should be a 1d array .*shape \(4, 2\)"),
    (X_OK, np.array(["a", "b", "c", "d"]), "y must hold numbers, got dtype <U1"),
    (X_OK, np.array(["a", 1.0, 2.0, 3.0], dtype=object), "y must hold numbers; could not convert"),
    (X_OK.astype(complex), Y_OK, "Complex data not supported"),
    (X_OK, None, "LinearRegression requires y to be passed, but the target y is None"),
])
def test_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        LinearRegression().fit(X, y)


@pytest.mark.parametrize("params, message", [
    (dict(solver="qr"), "solver must be one of 'lstsq', 'normal', 'gd'; got 'qr'"),
    (dict(solver="gd", lr=0), r"lr must be a finite number in \(0.0, inf\], got 0"),
    (dict(solver="gd", lr=np.inf), "lr must be a finite number"),
    (dict(max_iter=0), "max_iter must be >= 1, got 0"),
    (dict(tol=-1.0), r"tol must be a finite number in \[0.0, inf\], got -1.0"),
    (dict(fit_intercept=None), "fit_intercept must be one of True, False; got None"),
])
def test_bad_hyperparameters(params, message):
    with pytest.raises(ValueError, match=message):
        LinearRegression(**params).fit(X_OK, Y_OK)


def test_predict_before_fit_and_with_wrong_features():
    with pytest.raises(NotFittedError, match="LinearRegression instance is not fitted yet"):
        LinearRegression().predict(X_OK)
    model = LinearRegression().fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="Reshape your data"):
        model.predict(X_OK[0])
    with pytest.raises(ValueError, match="X has 1 features, but LinearRegression is expecting "
                                         "2 features as input"):
        model.predict(X_OK[:, :1])


@pytest.mark.parametrize("solver", ["lstsq", "normal", "gd"])
def test_column_vector_y_and_object_y_are_accepted(regression, solver):
    from tinygrad_lr.exceptions import DataConversionWarning

    X, y = regression
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = LinearRegression(solver=solver).fit(X, y)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        column = LinearRegression(solver=solver).fit(X, y[:, None])
    numbers_as_objects = LinearRegression(solver=solver).fit(X, y.astype(object))
    for model in (column, numbers_as_objects):
        np.testing.assert_array_equal(model.coef_, expected.coef_)
        np.testing.assert_array_equal(model.predict(X), expected.predict(X))


@pytest.mark.parametrize("solver", ["lstsq", "normal", "gd"])
def test_every_solver_reports_n_iter(regression, solver):
    """n_iter_ is 1 for the closed forms (one linear solve), the number of steps for gd."""
    X, y = regression
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    model = LinearRegression(solver=solver).fit(X, y)
    if solver == "gd":
        assert 1 < model.n_iter_ <= model.max_iter
    else:
        assert model.n_iter_ == 1


def test_normal_equations_with_one_sample_say_so():
    with pytest.raises(ValueError, match="singular .*n_samples=1"):
        LinearRegression(solver="normal").fit(np.ones((1, 3)), [2.0])
