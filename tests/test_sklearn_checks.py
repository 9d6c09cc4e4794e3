"""scikit-learn's own conformance suite (`check_estimator`'s checks) on every solver of both
estimators, with no expected failures: scikit-learn's tools may rely on anything it checks."""

import pytest

pytest.importorskip("sklearn", reason="scikit-learn's estimator checks are the test")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from tinygrad_lr.linear_model import LinearRegression, LogisticRegression  # noqa: E402

ESTIMATORS = ([LogisticRegression(solver=solver)
               for solver in ("lbfgs", "newton", "sgd", "adam", "rmsprop")]
              + [LinearRegression(solver=solver) for solver in ("lstsq", "normal", "gd")])


@pytest.fixture(scope="module", autouse=True)
def single_threaded_math():
    """One BLAS thread: the checks fit hundreds of tiny problems, which spinning worker threads
    on a shared 2-core machine slow down many times over."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1):
        yield


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def test_every_solver_is_checked():
    assert sorted(estimator.solver for estimator in ESTIMATORS) == sorted(
        ["lbfgs", "newton", "sgd", "adam", "rmsprop", "lstsq", "normal", "gd"])
