"""LogisticRegression: scikit-learn as the oracle for every solver, the multinomial case,
partial_fit, weights, the prediction API, dtypes, and every kind of bad input."""

import warnings

import numpy as np
import pytest
from helpers import F32_REDUCTION_TOL, assert_close, fresh_interpreter, with_value

from tinygrad_lr.data import (
    StandardScaler,
    iterate_minibatches,
    load_breast_cancer,
    load_digits,
    make_classification,
    train_test_split,
)
from tinygrad_lr.exceptions import ConvergenceWarning, NotFittedError
from tinygrad_lr.linear_model import LogisticRegression
from tinygrad_lr.metrics import accuracy_score

SKLEARN_REASON = "scikit-learn is the reference implementation these results are compared with"


@pytest.fixture(scope="module", autouse=True)
def single_threaded_math():
    """One BLAS/OpenMP thread: on a loaded 2-core machine spinning worker threads make these
    small problems 10-100x slower (scikit-learn's digits fit: 12 s instead of 0.1 s)."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


def standardized_split(X, y):
    """Our stratified 80/20 split (seed 42), standardised with statistics of the train part."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y,
                                                        random_state=42)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def cancer():
    return standardized_split(*load_breast_cancer(return_X_y=True))


@pytest.fixture(scope="module")
def digits():
    return standardized_split(*load_digits(return_X_y=True))


@pytest.fixture(scope="module")
def sklearn_cancer(cancer):
    """scikit-learn's exact solutions on the breast-cancer train part, by C: its Newton-Cholesky
    solver run to a gradient of ~1e-12. (Its lbfgs, even at tol=1e-10, stops early at C=100, with
    a gradient 1e9 times larger and a coefficient 2.8e-4 off: see the test below.)"""
    linear_model = pytest.importorskip("sklearn.linear_model", reason=SKLEARN_REASON)
    X_train, _, y_train, _ = cancer
    return {C: linear_model.LogisticRegression(C=C, solver="newton-cholesky", tol=1e-12,
                                               max_iter=1000).fit(X_train, y_train)
            for C in (0.1, 1, 100)}


def objective(coef, intercept, X, y, C=1.0, sample_weight=None):
    """scikit-learn's objective C * sum_i s_i loss_i + ||W||^2 / 2, computed with NumPy."""
    scores = X @ np.atleast_2d(coef).T + intercept
    if scores.shape[1] == 1:
        z = scores[:, 0]
        losses = np.logaddexp(0, z) - (y == 1) * z
    else:
        losses = np.logaddexp.reduce(scores, axis=1) - scores[np.arange(len(y)), y]
    weights = np.ones(len(y)) if sample_weight is None else sample_weight
    return C * weights @ losses + 0.5 * np.sum(np.square(coef))


def binary_gradient(coef, intercept, X, y, C):
    """Gradient of the two-class objective above in (coef, intercept), computed with NumPy."""
    z = X @ np.ravel(coef) + intercept[0]
    residual = C * (1 / (1 + np.exp(-z)) - (y == 1))
    return np.concatenate([X.T @ residual + np.ravel(coef), [residual.sum()]])


def test_the_oracle_is_at_the_optimum_where_sklearn_lbfgs_is_not(cancer, sklearn_cancer):
    """Why the oracle is scikit-learn's Newton-Cholesky: at C=100 its lbfgs (tol=1e-10) stops
    with a gradient entry of ~1e-3 and an objective above the exact optimum, while the
    Newton-Cholesky solution, ours from both solvers, has a lower objective and a gradient at
    working precision; the lbfgs coefficients are 2.8e-4 (relative) away from it."""
    linear_model = pytest.importorskip("sklearn.linear_model", reason=SKLEARN_REASON)
    X_train, _, y_train, _ = cancer
    exact = sklearn_cancer[100]
    lbfgs = linear_model.LogisticRegression(C=100, tol=1e-10, max_iter=10000).fit(X_train,
                                                                                 y_train)
    ours = LogisticRegression(C=100, solver="newton", tol=1e-10).fit(X_train, y_train)
    f = {name: objective(m.coef_, m.intercept_, X_train, y_train, C=100)
         for name, m in [("exact", exact), ("lbfgs", lbfgs), ("ours", ours)]}
    g = {name: np.abs(binary_gradient(m.coef_, m.intercept_, X_train, y_train, 100)).max()
         for name, m in [("exact", exact), ("lbfgs", lbfgs), ("ours", ours)]}
    assert g["exact"] < 1e-9 and g["ours"] < 1e-5 < 1e-4 < g["lbfgs"]
    assert f["exact"] < f["lbfgs"] and f["ours"] < f["lbfgs"]
    np.testing.assert_allclose(ours.coef_, exact.coef_, rtol=1e-7)


# ---- scikit-learn as the oracle -----------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("C", [0.1, 1, 100])
def test_second_order_solvers_match_sklearn(cancer, sklearn_cancer, solver, C):
    X_train, X_test, y_train, y_test = cancer
    reference = sklearn_cancer[C]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = LogisticRegression(C=C, solver=solver, tol=1e-10, max_iter=10000).fit(X_train,
                                                                                       y_train)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-4)
    assert model.score(X_test, y_test) == reference.score(X_test, y_test)
    np.testing.assert_array_equal(model.predict(X_test), reference.predict(X_test))


@pytest.mark.parametrize("solver, max_iter", [("sgd", 3000), ("adam", 1000), ("rmsprop", 1000)])
@pytest.mark.parametrize("C", [0.1, 1])
@pytest.mark.filterwarnings("ignore::tinygrad_lr.exceptions.ConvergenceWarning")
def test_first_order_solvers_reach_the_optimum(cancer, sklearn_cancer, solver, max_iter, C):
    X_train, _, y_train, _ = cancer
    reference = sklearn_cancer[C]
    best = objective(reference.coef_, reference.intercept_, X_train, y_train, C)
    model = LogisticRegression(C=C, solver=solver, max_iter=max_iter).fit(X_train, y_train)
    reached = objective(model.coef_, model.intercept_, X_train, y_train, C)
    assert best <= reached <= 1.01 * best


@pytest.mark.parametrize("solver, lr", [("adam", 0.1), ("rmsprop", None)])
@pytest.mark.filterwarnings("ignore::tinygrad_lr.exceptions.ConvergenceWarning")
def test_adaptive_solvers_reach_the_optimum_when_ill_conditioned(cancer, sklearn_cancer, solver,
                                                                 lr):
    """At C=100 the scaled objective's curvature spans ~1e5 (penalty 1 / (C n) against the data
    term), out of reach of plain gradient descent in any affordable number of steps; the
    per-coordinate step sizes of Adam and RMSprop still get within 1% in 3,000 (tol=0: the
    gradient criterion would stop them at 1.4% here, in the flat directions)."""
    X_train, _, y_train, _ = cancer
    reference = sklearn_cancer[100]
    best = objective(reference.coef_, reference.intercept_, X_train, y_train, 100)
    model = LogisticRegression(C=100, solver=solver, lr=lr, max_iter=3000, tol=0).fit(X_train,
                                                                                      y_train)
    reached = objective(model.coef_, model.intercept_, X_train, y_train, 100)
    assert best <= reached <= 1.01 * best


@pytest.mark.parametrize("solver, lr", [("sgd", None), ("adam", None), ("rmsprop", 0.003)])
def test_minibatch_solvers_reach_the_optimum(cancer, sklearn_cancer, solver, lr):
    X_train, _, y_train, _ = cancer
    reference = sklearn_cancer[0.1]
    best = objective(reference.coef_, reference.intercept_, X_train, y_train, 0.1)
    model = LogisticRegression(C=0.1, solver=solver, lr=lr, batch_size=32, max_iter=200,
                               random_state=0).fit(X_train, y_train)
    reached = objective(model.coef_, model.intercept_, X_train, y_train, 0.1)
    assert best <= reached <= 1.01 * best
    assert model.n_iter_[0] < 200  # stopped by the tol rule, not by max_iter


@pytest.mark.filterwarnings("ignore::tinygrad_lr.exceptions.ConvergenceWarning")
def test_minibatch_runs_are_reproducible_with_random_state(cancer):
    X_train, _, y_train, _ = cancer
    fit = [LogisticRegression(solver="adam", batch_size=50, max_iter=3, random_state=seed,
                              tol=0).fit(X_train, y_train) for seed in (7, 7, 8)]
    np.testing.assert_array_equal(fit[0].coef_, fit[1].coef_)
    assert not np.array_equal(fit[0].coef_, fit[2].coef_)


def test_multinomial_digits_matches_sklearn(digits):
    linear_model = pytest.importorskip("sklearn.linear_model", reason=SKLEARN_REASON)
    X_train, X_test, y_train, y_test = digits
    reference = linear_model.LogisticRegression(C=1, tol=1e-10, max_iter=10000).fit(X_train,
                                                                                    y_train)
    model = LogisticRegression(C=1, tol=1e-7, max_iter=1000).fit(X_train, y_train)
    assert model.coef_.shape == (10, 64) and model.intercept_.shape == (10,)
    assert model.score(X_test, y_test) >= 0.95
    probabilities = model.predict_proba(X_test)
    assert probabilities.shape == (len(y_test), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    best = objective(reference.coef_, reference.intercept_, X_train, y_train)
    reached = objective(model.coef_, model.intercept_, X_train, y_train)
    assert abs(reached - best) <= 1e-6 * best
    coef_error = np.abs(model.coef_ - reference.coef_).max()
    assert coef_error <= 1e-3 * np.abs(reference.coef_).max()


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_two_class_hessian_of_stacked_copies_is_the_exact_hessian(fit_intercept):
    """Newton's two-class Hessian comes from one double backward over stacked copies of theta;
    it must equal X' diag(w s (1 - s)) X + alpha I (intercept unpenalised) in float64."""
    from tinygrad_lr.linear_model._solvers import FlatProblem
    from tinygrad_lr.linear_model.logistic import _Objective
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 3))
    encoded = (rng.random(40) < 0.5).astype(np.int64)
    weights = rng.random(40)
    alpha = 0.3
    theta = rng.standard_normal(4 if fit_intercept else 3)
    shapes = [(3,), (1,)] if fit_intercept else [(3,)]
    problem = FlatProblem(_Objective(X, encoded, weights, alpha, 2), shapes, np.float64)
    H = problem.stacked_hessian(theta)
    design = np.column_stack([X, np.ones(40)]) if fit_intercept else X
    s = 1 / (1 + np.exp(-(design @ theta)))
    exact = design.T @ (design * (weights * s * (1 - s))[:, None])
    exact[:3, :3] += alpha * np.eye(3)
    np.testing.assert_allclose(H, exact, rtol=1e-12, atol=1e-14)


def test_newton_multinomial_matches_lbfgs():
    """The softmax Hessian is singular along a common shift of the intercepts (the pseudo-inverse
    step ignores it): Newton must still land on the L-BFGS optimum."""
    X, y = make_classification(150, 4, n_informative=3, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=1)
    newton = LogisticRegression(solver="newton", tol=1e-10).fit(X, y)
    lbfgs = LogisticRegression(solver="lbfgs", tol=1e-10, max_iter=1000).fit(X, y)
    # L-BFGS stops at max |gradient| <= 1e-10, so its coefficients are exact to about
    # 1e-10 / (smallest Hessian eigenvalue >= 1 / (C * n_samples)) = 1.5e-8.
    np.testing.assert_allclose(newton.coef_, lbfgs.coef_, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(newton.intercept_, lbfgs.intercept_, rtol=1e-6, atol=1e-7)
    assert newton.n_iter_[0] < 20


def test_weights_and_options_match_sklearn():
    """Sample weights, class weights (dict and 'balanced'), no intercept and no penalty."""
    linear_model = pytest.importorskip("sklearn.linear_model", reason=SKLEARN_REASON)
    X, y = make_classification(120, 5, n_informative=3, flip_y=0.2, weights=[0.7],
                               random_state=3)
    sample_weight = np.random.default_rng(0).uniform(0.2, 3.0, size=len(y))
    cases = [
        (dict(C=0.5), dict(C=0.5), dict(sample_weight=sample_weight)),
        (dict(class_weight={0: 3.0}), dict(class_weight={0: 3.0}), {}),
        (dict(class_weight="balanced"), dict(class_weight="balanced"),
         dict(sample_weight=sample_weight)),
        (dict(fit_intercept=False, C=2.0), dict(fit_intercept=False, C=2.0), {}),
        (dict(penalty=None), dict(C=np.inf), {}),
    ]
    for ours, theirs, fit_args in cases:
        model = LogisticRegression(solver="newton", tol=1e-10, **ours).fit(X, y, **fit_args)
        reference = linear_model.LogisticRegression(tol=1e-10, max_iter=10000, **theirs).fit(
            X, y, **fit_args)
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-5, err_msg=str(ours))
        np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-5, atol=1e-12,
                                   err_msg=str(ours))


def test_balanced_class_weight_is_sample_weight_by_class_frequency():
    X, y = make_classification(90, 3, n_informative=2, n_redundant=0, weights=[0.8],
                               random_state=5)
    counts = np.bincount(y)
    balanced = LogisticRegression(class_weight="balanced", solver="newton").fit(X, y)
    weighted = LogisticRegression(solver="newton").fit(X, y, sample_weight=len(y) / (2 * counts[y]))
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-12)


# ---- fitted attributes and the prediction API ---------------------------------------------------
def test_binary_attributes_and_predictions(cancer):
    X_train, X_test, y_train, y_test = cancer
    model = LogisticRegression().fit(X_train, y_train)
    assert model.coef_.shape == (1, 30) and model.intercept_.shape == (1,)
    np.testing.assert_array_equal(model.classes_, [0, 1])
    assert model.n_features_in_ == 30
    assert model.n_iter_.shape == (1,) and len(model.loss_curve_) == model.n_iter_[0] + 1
    scores = model.decision_function(X_test)
    assert scores.shape == (len(y_test),)
    np.testing.assert_allclose(scores, X_test @ model.coef_[0] + model.intercept_[0], rtol=1e-12)
    probabilities = model.predict_proba(X_test)
    np.testing.assert_allclose(probabilities[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X_test)), probabilities, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X_test), (scores > 0).astype(int))
    assert model.score(X_test, y_test) == accuracy_score(y_test, model.predict(X_test))


def test_loss_curve_is_the_scaled_objective(cancer):
    """loss_curve_ holds the objective divided by C * sum(s): from log 2 down to the optimum."""
    X_train, _, y_train, _ = cancer
    C = 3.0
    model = LogisticRegression(C=C).fit(X_train, y_train)
    curve = np.array(model.loss_curve_)
    np.testing.assert_allclose(curve[0], np.log(2), rtol=1e-12)
    final = objective(model.coef_, model.intercept_, X_train, y_train, C) / (C * len(y_train))
    np.testing.assert_allclose(curve[-1], final, rtol=1e-10)
    assert np.all(np.diff(curve) <= 0)


def test_string_labels_and_label_order():
    X, y = make_classification(80, 3, n_informative=2, n_redundant=0, random_state=2)
    names = np.array(["spam", "ham"])[y]  # sorted classes: ham, spam (spam is the positive class)
    model = LogisticRegression().fit(X, names)
    np.testing.assert_array_equal(model.classes_, ["ham", "spam"])
    assert set(model.predict(X)) <= {"ham", "spam"}
    numeric = LogisticRegression().fit(X, (y == 0).astype(int))
    np.testing.assert_allclose(model.coef_, numeric.coef_, rtol=1e-12)
    multi = LogisticRegression().fit(X, np.array(["a", "b", "c", "d"])[np.arange(80) % 4])
    assert multi.predict(X).dtype == multi.classes_.dtype
    assert multi.decision_function(X).shape == (80, 4)


def test_float_labels_with_integer_values_are_accepted():
    X, y = make_classification(60, 3, n_informative=2, n_redundant=0, random_state=4)
    model = LogisticRegression().fit(X, y * 2.0 - 1.0)
    np.testing.assert_array_equal(model.classes_, [-1.0, 1.0])


# ---- convergence reporting ----------------------------------------------------------------------
@pytest.mark.parametrize("solver, max_iter", [("lbfgs", 2), ("newton", 1), ("sgd", 3),
                                              ("adam", 3), ("rmsprop", 3)])
def test_convergence_warning_when_max_iter_ends_the_run(cancer, solver, max_iter):
    X_train, _, y_train, _ = cancer
    with pytest.warns(ConvergenceWarning, match=f"did not converge in max_iter={max_iter}"):
        model = LogisticRegression(solver=solver, max_iter=max_iter).fit(X_train, y_train)
    assert model.n_iter_[0] == max_iter and len(model.loss_curve_) == max_iter + 1


def test_minibatch_warning_when_max_iter_ends_the_run(cancer):
    X_train, _, y_train, _ = cancer
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        LogisticRegression(solver="sgd", batch_size=64, max_iter=2).fit(X_train, y_train)


def test_verbose_reports_each_iteration(cancer, capsys):
    X_train, _, y_train, _ = cancer
    model = LogisticRegression(solver="newton", verbose=1).fit(X_train, y_train)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == model.n_iter_[0] + 1
    assert lines[0].startswith("[newton] iteration 0: objective 0.69314")


# ---- partial_fit --------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["sgd", "rmsprop"])
def test_partial_fit_one_pass_over_a_stream_nears_the_full_batch_optimum(solver):
    """Chunks of 2,000 rows (each one pass of minibatches of 50) streamed once through a data set
    of 20,000: the objective ends within 1% of fit's optimum on the whole data."""
    X, y = make_classification(20000, 10, n_informative=4, random_state=0)
    X = StandardScaler().fit_transform(X)
    full = LogisticRegression(solver="newton").fit(X, y)
    best = objective(full.coef_, full.intercept_, X, y)
    model = LogisticRegression(solver=solver, batch_size=50, random_state=0)
    for X_chunk, y_chunk in iterate_minibatches(X, y, batch_size=2000, random_state=0):
        model.partial_fit(X_chunk, y_chunk, classes=[0, 1])
    assert model.n_iter_[0] == 10 and len(model.loss_curve_) == 10
    reached = objective(model.coef_, model.intercept_, X, y)
    assert best <= reached <= 1.01 * best


def test_partial_fit_keeps_the_optimizer_state(cancer):
    """Without a penalty the objective does not depend on how much data was seen, so k calls of
    partial_fit on the whole data are exactly k full-batch Adam steps of fit."""
    X_train, _, y_train, _ = cancer
    fitted = LogisticRegression(penalty=None, solver="adam", max_iter=5, tol=0)
    with pytest.warns(ConvergenceWarning):
        fitted.fit(X_train, y_train)
    streamed = LogisticRegression(penalty=None, solver="adam")
    for _ in range(5):
        streamed.partial_fit(X_train, y_train, classes=[0, 1])
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-12)
    np.testing.assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-12)


def test_partial_fit_accepts_batches_missing_a_class():
    X, y = make_classification(60, 3, n_informative=2, n_redundant=0, n_classes=3,
                               n_clusters_per_class=1, random_state=6)
    model = LogisticRegression(solver="sgd")
    model.partial_fit(X[y == 0], y[y == 0], classes=[0, 1, 2])
    model.partial_fit(X[y != 0], y[y != 0])
    assert model.coef_.shape == (3, 3)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])


def test_partial_fit_continues_a_first_order_fit(cancer):
    X_train, _, y_train, _ = cancer
    model = LogisticRegression(solver="adam", max_iter=2000).fit(X_train, y_train)
    fitted, n_iter = model.coef_.copy(), model.n_iter_[0]
    model.partial_fit(X_train, y_train)
    assert model.n_iter_[0] == n_iter + 1
    assert 0 < np.abs(model.coef_ - fitted).max() <= 0.05 * np.abs(fitted).max()


@pytest.mark.parametrize("setup, call, message", [
    (dict(solver="sgd"), {}, "classes .* must be given on the first call"),
    (dict(solver="sgd"), dict(classes=[1]), r"at least 2 labels, got \[1\]"),
    (dict(solver="sgd"), dict(classes=[0, 2]), "label 1, which is not one of the classes"),
    (dict(solver="sgd", class_weight="balanced"), dict(classes=[0, 1]), "'balanced'"),
])
def test_partial_fit_bad_input(setup, call, message):
    X, y = make_classification(30, 3, n_informative=2, n_redundant=0, random_state=0)
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**setup).partial_fit(X, y, **call)


def test_partial_fit_later_batches_must_match_the_first():
    X, y = make_classification(30, 3, n_informative=2, n_redundant=0, random_state=0)
    model = LogisticRegression(solver="sgd").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting "
                                         "3 features as input"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs from .* \[0, 1\]"):
        model.partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_starts_from_a_fitted_or_loaded_model(cancer, tmp_path):
    X_train, _, y_train, _ = cancer
    fitted = LogisticRegression(solver="lbfgs").fit(X_train, y_train)
    fitted.save(tmp_path / "model.npz")
    for model in (fitted, LogisticRegression.load(tmp_path / "model.npz")):
        start = model.coef_.copy()
        model.set_params(solver="sgd").partial_fit(X_train, y_train)
        assert model.n_iter_[0] == 1 and len(model.loss_curve_) == 1
        assert 0 < np.abs(model.coef_ - start).max() < 0.01 * np.abs(start).max()


# ---- dtypes and the caller's arrays -------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton", "sgd", "adam", "rmsprop"])
def test_float32_data_stays_float32_and_tracks_float64(cancer, solver):
    X_train, X_test, y_train, _ = cancer
    # L-BFGS stops when its remaining step is within tol of the coefficients; the default 1e-4
    # is finer than float32 resolves this objective (its float32 run then ends where no lower
    # float32 value is left, away from float64's path), 1e-3 is not.
    tol = 1e-3 if solver == "lbfgs" else 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model32 = LogisticRegression(solver=solver, max_iter=200, tol=tol).fit(
            X_train.astype(np.float32), y_train)
        model64 = LogisticRegression(solver=solver, max_iter=200, tol=tol).fit(X_train, y_train)
    assert model32.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    assert model32.n_iter_[0] == model64.n_iter_[0]
    assert_close(model32.coef_, model64.coef_.astype(np.float32), **F32_REDUCTION_TOL, what="coef")
    assert_close(model32.intercept_, model64.intercept_.astype(np.float32), **F32_REDUCTION_TOL,
                 what="intercept")


@pytest.mark.parametrize("solver, batch_size", [("lbfgs", None), ("newton", None),
                                                ("sgd", 16), ("rmsprop", None)])
def test_callers_arrays_are_not_modified(solver, batch_size):
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(40, 6)).astype(np.float32)
    X = wide[:, ::2]  # a non-contiguous float32 view
    y = (X[:, 0] > 0).astype(int)
    y[:3] = 1 - y[:3]
    sample_weight = rng.uniform(1, 2, size=40)
    originals = [a.copy() for a in (wide, y, sample_weight)]
    for array in (wide, y, sample_weight):
        array.flags.writeable = False
    model = LogisticRegression(solver=solver, batch_size=batch_size, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, sample_weight=sample_weight)
    model.predict_proba(X)
    for array, original in zip((wide, y, sample_weight), originals):
        np.testing.assert_array_equal(array, original)
    assert model.coef_.dtype == np.float32


def test_coef_is_a_copy_of_the_training_parameters(cancer):
    X_train, _, y_train, _ = cancer
    model = LogisticRegression(solver="sgd", max_iter=5)
    with pytest.warns(ConvergenceWarning):
        model.fit(X_train, y_train)
    coef = model.coef_.copy()
    model.coef_[...] = 0
    model.partial_fit(X_train, y_train)
    assert np.abs(model.coef_ - coef).max() < 0.1


# ---- bad input ----------------------------------------------------------------------------------
X_OK = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 3.0]])
Y_OK = np.array([0, 1, 0, 1])


@pytest.mark.parametrize("X, y, message", [
    (X_OK[:, 0], Y_OK, r"Expected 2D array, got 1D array .*shape \(4,\)\)\. Reshape your data"),
    (X_OK[None], Y_OK, r"Found array with dim 3\. LogisticRegression expected <= 2"),
    (np.float64(1.0), Y_OK, "Expected 2D array, got scalar array"),
    (None, Y_OK, "Expected 2D array, got None"),
    (X_OK, Y_OK[:3], "inconsistent numbers of samples: X has 4 rows, y has 3 values"),
    (np.empty((0, 2)), np.empty(0), r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\) while a "
                                    "minimum of 1 is required by LogisticRegression"),
    (np.empty((4, 0)), Y_OK, r"Found array with 0 feature\(s\) \(shape=\(4, 0\)\) while a "
                             "minimum of 1 is required by LogisticRegression"),
    (with_value(X_OK, (2, 1), np.nan), Y_OK, r"Input X contains NaN \(nan at index \(2, 1"),
    (with_value(X_OK, (0, 0), np.inf), Y_OK, r"Input X contains infinity \(inf at index \(0, 0"),
    (X_OK, with_value(Y_OK, 1, np.nan), r"Input y contains NaN \(nan at index 1\)"),
    (X_OK, np.array([3, 3, 3, 3]), "data contains only one class: 3"),
    (X_OK, np.array([0.0, 0.5, 1.0, 1.0]), "continuous target .*values such as 0.5"),
    (np.array([[1, "a"]] * 4, dtype=object), Y_OK, "X must hold numbers; could not convert"),
    (X_OK.astype(complex), Y_OK, "Complex data not supported"),
    (X_OK, Y_OK + 0j, "Complex data not supported"),
    (X_OK, None, "LogisticRegression requires y to be passed, but the target y is None"),
    (X_OK, np.stack([Y_OK, Y_OK], axis=1), r"y should be a 1d array .*shape \(4, 2\)"),
    (np.array([["a", "b"]] * 4), Y_OK, "X must hold numbers, got dtype <U1"),
    (X_OK, np.array([0, "a", 1, "b"], dtype=object), "mixes label types"),
])
def test_bad_data(X, y, message):
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(X, y)


def test_objects_that_are_not_numbers_raise_type_error():
    """As NumPy's float() conversion (and scikit-learn) do: a TypeError naming the object."""
    X = X_OK.astype(object)
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="X must hold numbers; float.. argument must be a string "
                                        "or a real number, not 'dict'"):
        LogisticRegression().fit(X, Y_OK)


def test_column_vector_y_is_accepted_with_a_data_conversion_warning():
    from tinygrad_lr.exceptions import DataConversionWarning

    expected = LogisticRegression().fit(X_OK, Y_OK)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed when a 1d array "
                                                   "was expected"):
        model = LogisticRegression().fit(X_OK, Y_OK[:, None])
    np.testing.assert_array_equal(model.coef_, expected.coef_)
    np.testing.assert_array_equal(model.predict(X_OK), expected.predict(X_OK))


def test_lists_and_object_arrays_of_numbers_are_accepted():
    expected = LogisticRegression().fit(X_OK, Y_OK).coef_
    for X, y in [(X_OK.tolist(), Y_OK.tolist()), (X_OK.astype(object), Y_OK),
                 (X_OK.astype(int), Y_OK)]:
        np.testing.assert_array_equal(LogisticRegression().fit(X, y).coef_, expected)


@pytest.mark.parametrize("params, message", [
    (dict(solver="saga"), "solver must be one of 'lbfgs', 'newton', 'sgd', 'adam', 'rmsprop'; "
                          "got 'saga'"),
    (dict(penalty="l1"), "penalty must be one of 'l2', None; got 'l1'"),
    (dict(C=0), r"C must be a finite number in \(0.0, inf\], got 0"),
    (dict(C=-1.0), r"C must be a finite number .* got -1.0"),
    (dict(C=np.nan), "C must be a finite number"),
    (dict(C="1"), "C must be a real number, got '1'"),
    (dict(max_iter=0), "max_iter must be >= 1, got 0"),
    (dict(max_iter=2.5), "max_iter must be an int, got 2.5"),
    (dict(tol=-1e-3), r"tol must be a finite number in \[0.0, inf\], got -0.001"),
    (dict(solver="sgd", lr=0.0), r"lr must be a finite number in \(0.0, inf\], got 0.0"),
    (dict(solver="adam", lr=-0.1), "lr must be a finite number .* got -0.1"),
    (dict(solver="sgd", batch_size=0), "batch_size must be >= 1, got 0"),
    (dict(solver="sgd", batch_size=8.0), "batch_size must be an int, got 8.0"),
    (dict(batch_size=8), "batch_size=8 applies only to the first-order solvers.*'lbfgs'"),
    (dict(class_weight="auto"), "class_weight must be None, 'balanced' or a dict.*'auto'"),
    (dict(class_weight={2: 1.0}), r"class_weight names labels \[2\] that are not classes"),
    (dict(fit_intercept="yes"), "fit_intercept must be one of True, False; got 'yes'"),
    (dict(random_state=-1), "random_state must be a non-negative int, got -1"),
    (dict(verbose=-1), "verbose must be >= 0, got -1"),
])
def test_bad_hyperparameters(params, message):
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**params).fit(X_OK, Y_OK)


@pytest.mark.parametrize("sample_weight, message", [
    (np.ones(3), r"sample_weight must have shape \(4,\) .*got shape \(3,\)"),
    (np.array([1.0, -1.0, 1.0, 1.0]), "sample_weight must be non-negative, got -1.0 at index 1"),
    (np.zeros(4), "sample_weight must have a positive total"),
    (np.array([1.0, np.inf, 1.0, 1.0]), "Input sample_weight contains infinity"),
])
def test_bad_sample_weight(sample_weight, message):
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(X_OK, Y_OK, sample_weight=sample_weight)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba",
                                    "decision_function", "score"])
def test_prediction_before_fit_raises_not_fitted(method):
    model = LogisticRegression()
    arguments = (X_OK, Y_OK) if method == "score" else (X_OK,)
    expected = "predict" if method == "score" else method
    with pytest.raises(NotFittedError, match="This LogisticRegression instance is not fitted yet. "
                                             f"Call 'fit' .* before using '{expected}'"):
        getattr(model, method)(*arguments)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_prediction_with_wrong_number_of_features(method):
    model = LogisticRegression().fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is expecting "
                                         "2 features as input"):
        getattr(model, method)(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array .*Reshape your data"):
        getattr(model, method)(X_OK[0])
    with pytest.raises(ValueError, match="X contains NaN"):
        getattr(model, method)(with_value(X_OK, (1, 1), np.nan))


def test_first_fit_of_a_process_imports_no_masked_arrays():
    """The labels are found without np.unique, whose first call imports numpy.ma: a cost every
    process's first fit (each CLI run) would pay. Run in a fresh interpreter, where nothing
    else has imported it."""
    code = ("import sys, numpy as np\n"
            "from tinygrad_lr.linear_model import LogisticRegression\n"
            "X = np.array([[0.0], [1.0], [2.0], [3.0]])\n"
            "LogisticRegression().fit(X, np.array(['b', 'a', 'b', 'a']))\n"
            "print('numpy.ma' in sys.modules)\n")
    assert fresh_interpreter(code) == "False"


@pytest.mark.parametrize("y", [[3, 1, 3, 2], ["b", "a", "b"], [1.0, 0.0, 1.0], [True, False],
                               np.array([2, 1, 2], dtype=object)])
def test_classes_are_the_sorted_distinct_labels(y):
    X = np.arange(len(y), dtype=np.float64).reshape(-1, 1)
    classes = LogisticRegression().fit(X, np.asarray(y)).classes_
    np.testing.assert_array_equal(classes, np.unique(np.asarray(y)))
