"""Tests for tinygrad_lr.metrics: hand-computed values, error messages, agreement with sklearn."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lr.exceptions import UndefinedMetricWarning
from tinygrad_lr.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

TOL = dict(rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def skm():
    return pytest.importorskip(
        "sklearn.metrics", reason="scikit-learn is needed to compare with its reference metrics"
    )


# ---------------------------------------------------------------- hand-computed values


def test_accuracy_by_hand():
    assert accuracy_score([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75
    assert accuracy_score(["a", "b"], np.array(["a", "a"]), normalize=False) == 1.0
    assert accuracy_score([1, 2, 3], [1, 0, 3], sample_weight=[1, 2, 1]) == 0.5
    assert accuracy_score([1, 2, 3], [1, 0, 3], normalize=False, sample_weight=[1, 2, 1.5]) == 2.5
    assert isinstance(accuracy_score([1], [1]), float)


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(["cat", "dog", "cat", "bird"], ["cat", "cat", "cat", "dog"])
    assert cm.tolist() == [[0, 0, 1], [0, 2, 0], [0, 1, 0]] and cm.dtype == np.int64
    assert confusion_matrix([0, 1, 2], [1, 0, 2], labels=[2, 0, 7]).tolist() == [
        [1, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
    ]


def test_precision_recall_f1_by_hand():
    y_true, y_pred = [1, 1, 0, 0, 1], [1, 0, 1, 0, 1]
    assert precision_score(y_true, y_pred) == pytest.approx(2 / 3, rel=1e-15)
    assert recall_score(y_true, y_pred) == pytest.approx(2 / 3, rel=1e-15)
    assert f1_score(y_true, y_pred) == pytest.approx(2 / 3, rel=1e-15)
    assert precision_score(y_true, y_pred, pos_label=0) == 0.5
    y_true, y_pred = [0, 1, 2, 2], [0, 1, 1, 0]
    np.testing.assert_allclose(
        precision_score(y_true, y_pred, average=None, zero_division=0), [0.5, 0.5, 0]
    )
    np.testing.assert_allclose(recall_score(y_true, y_pred, average=None), [1, 1, 0])
    assert recall_score(y_true, y_pred, average="macro") == pytest.approx(2 / 3, rel=1e-15)
    assert recall_score(y_true, y_pred, average="weighted") == 0.5
    assert f1_score(y_true, y_pred, average="micro") == 0.5
    assert precision_score(y_true, y_pred, average="macro", zero_division=np.nan) == 0.5


def test_zero_division_warns_and_uses_requested_value():
    with pytest.warns(
        UndefinedMetricWarning, match="Precision is ill-defined.*no predicted samples"
    ):
        assert precision_score([0, 0], [0, 0]) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision_score([0, 0], [0, 0], zero_division=1.0) == 1.0
        assert np.isnan(f1_score([0, 0], [0, 0], zero_division=np.nan))
        assert recall_score([1, 0], [0, 0], zero_division=0) == 0.0


def test_log_loss_by_hand():
    expected = -(np.log(0.8) + np.log(0.7)) / 2
    assert log_loss([1, 0], [0.8, 0.3]) == pytest.approx(expected, rel=1e-15)
    assert log_loss(["no", "yes"], [[0.3, 0.7], [0.6, 0.4]]) == pytest.approx(
        -(np.log(0.3) + np.log(0.4)) / 2, rel=1e-15
    )
    eps = np.finfo(np.float64).eps
    assert log_loss([0, 1], [1.0, 0.0]) == pytest.approx(-np.log(eps), rel=1e-15)
    assert log_loss([0, 1], [1.0, 0.0], eps=1e-3) == pytest.approx(-np.log(1e-3), rel=1e-15)
    assert log_loss([1, 1], [0.5, 0.25], labels=[0, 1], normalize=False) == pytest.approx(
        -np.log(0.5) - np.log(0.25), rel=1e-15
    )


def test_roc_auc_by_hand_with_ties():
    assert roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc_score([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc_score([0, 1, 1], [0.2, 0.3, 0.2]) == 0.75
    assert roc_auc_score(["neg", "pos", "neg"], [3, 1, 2]) == 0.0


def test_regression_metrics_by_hand():
    assert mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == pytest.approx(4 / 3, rel=1e-15)
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == 0.5
    assert r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0
    assert r2_score([2.0, 2.0], [2.0, 3.0]) == 0.0
    np.testing.assert_allclose(
        r2_score([[1, 2], [3, 4], [5, 7]], [[1, 2], [3, 5], [4, 7]], multioutput="raw_values"),
        [0.875, 1 - 1 / (38 / 3)],
        rtol=1e-15,
    )
    np.testing.assert_allclose(
        mean_squared_error([[0, 0], [0, 0]], [[1, 2], [3, 4]], multioutput="raw_values"), [5, 10]
    )
    with pytest.warns(UndefinedMetricWarning, match="fewer than two samples"):
        assert np.isnan(r2_score([1.0], [2.0]))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: accuracy_score([1, 2, 3], [1, 2]), r"different lengths: 3 and 2"),
        (lambda: confusion_matrix([1, 2], [1, 2, 2]), r"different lengths: 2 and 3"),
        (lambda: accuracy_score([], []), r"y_true is empty"),
        (lambda: accuracy_score([0.5, 1.0], [1, 1]), r"non-integer values such as 0.5"),
        (
            lambda: accuracy_score([0, 1], ["a", "b"]),
            r"y_true holds number labels but y_pred holds string labels",
        ),
        (lambda: accuracy_score([0.0, np.nan], [0, 1]), r"y_true contains NaN"),
        (
            lambda: accuracy_score([0, 1], [0, 1], sample_weight=[1.0]),
            r"sample_weight has length 1 but there are 2",
        ),
        (lambda: accuracy_score([[0, 1]], [[0, 1]]), r"y_true must be 1-D, got shape \(1, 2\)"),
        (
            lambda: confusion_matrix([0, 1], [1, 0], labels=[5]),
            r"none of the labels \[5\] occurs in y_true",
        ),
        (lambda: confusion_matrix([0, 1], [1, 0], labels=[0, 0]), r"labels must be distinct"),
        (lambda: confusion_matrix([0, 1], [1, 0], labels=[]), r"non-empty 1-D"),
        (
            lambda: precision_score([0, 1, 2], [0, 1, 1]),
            r"average='binary' needs at most 2 classes.*\[0, 1, 2\]",
        ),
        (
            lambda: recall_score(["a", "b"], ["a", "b"]),
            r"pos_label=1 is not a label; the labels are \['a', 'b'\]",
        ),
        (lambda: f1_score([0, 1], [0, 1], average="samples"), r"average must be one of"),
        (
            lambda: f1_score([0, 1], [0, 1], zero_division=0.5),
            r"zero_division must be 'warn', 0, 1 or np.nan, got 0.5",
        ),
        (
            lambda: log_loss([0, 1], [1.5, 0.2]),
            r"probabilities in \[0, 1\]; found values from 0.2 to 1.5",
        ),
        (lambda: log_loss([0, 1], [np.nan, 0.2]), r"y_pred contains NaN"),
        (lambda: log_loss([0, 0], [0.1, 0.2]), r"only one label \(0\)"),
        (
            lambda: log_loss([0, 1, 2], [0.1, 0.2, 0.3]),
            r"y_true has 3 classes \[0, 1, 2\] but y_pred has 2 columns",
        ),
        (
            lambda: log_loss([0, 3], [0.1, 0.2], labels=[0, 1]),
            r"values \[3\] not among the labels \[0, 1\]",
        ),
        (lambda: log_loss([0, 1], [0.1, 0.2, 0.3]), r"different lengths: 2 and 3"),
        (
            lambda: log_loss([0, 1], [0.1, 0.2], eps=0.7),
            r"eps must be 'auto' or a number in \[0, 0.5\)",
        ),
        (lambda: roc_auc_score([0, 1, 2], [0.1, 0.2, 0.3]), r"binary y_true only; found 3 classes"),
        (lambda: roc_auc_score([0, 1], [0.1, np.inf]), r"y_score contains NaN or infinity"),
        (lambda: roc_auc_score([0, 1], [0.1]), r"different lengths: 2 and 1"),
        (lambda: mean_squared_error([1.0, np.nan], [1.0, 2.0]), r"y_true contains NaN or infinity"),
        (lambda: mean_squared_error([1.0, 2.0], [1.0]), r"different lengths: 2 and 1"),
        (lambda: r2_score([[1, 2]], [[1, 2, 3]]), r"different numbers of outputs: 2 and 3"),
        (
            lambda: r2_score([1, 2], [1, 2], multioutput="variance_weighted"),
            r"multioutput must be one of",
        ),
    ],
)
def test_invalid_input_raises_value_error(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_roc_auc_single_class_warns_and_returns_nan():
    with pytest.warns(UndefinedMetricWarning, match=r"Only one class \(1\)"):
        assert np.isnan(roc_auc_score([1, 1], [0.2, 0.3]))


def test_log_loss_warns_when_rows_do_not_sum_to_one():
    with pytest.warns(UserWarning, match="do not sum to one"):
        log_loss([0, 1], [[0.5, 0.6], [0.2, 0.8]])


def test_metrics_do_not_modify_inputs():
    y_true, proba = np.array([0, 1, 1]), np.array([0.0, 1.0, 0.5])
    log_loss(y_true, proba)
    roc_auc_score(y_true, proba)
    assert proba.tolist() == [0.0, 1.0, 0.5] and y_true.tolist() == [0, 1, 1]


# ---------------------------------------------------------------- agreement with scikit-learn

_INT_LABELS = st.integers(0, 3)
_STR_LABELS = st.sampled_from(["ant", "bee", "cat", "dog"])


_EITHER_LABELS = st.sampled_from([_INT_LABELS, _STR_LABELS])


@st.composite
def label_pairs(draw, elements=_EITHER_LABELS):
    strategy = draw(elements)
    n = draw(st.integers(1, 25))
    y_true = draw(st.lists(strategy, min_size=n, max_size=n))
    y_pred = draw(st.lists(strategy, min_size=n, max_size=n))
    return y_true, y_pred


@given(pair=label_pairs(), weighted=st.booleans(), normalize=st.booleans(), data=st.data())
def test_accuracy_and_confusion_matrix_match_sklearn(skm, pair, weighted, normalize, data):
    y_true, y_pred = pair
    n = len(y_true)
    weights = data.draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n)) if weighted else None
    np.testing.assert_allclose(
        accuracy_score(y_true, y_pred, normalize=normalize, sample_weight=weights),
        skm.accuracy_score(y_true, y_pred, normalize=normalize, sample_weight=weights),
        **TOL,
    )
    labels = sorted(set(y_true))[:2] + sorted(set(y_pred) - set(y_true))[:1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="A single label was found")
        np.testing.assert_array_equal(
            confusion_matrix(y_true, y_pred), skm.confusion_matrix(y_true, y_pred)
        )
        np.testing.assert_array_equal(
            confusion_matrix(y_true, y_pred, labels=labels),
            skm.confusion_matrix(y_true, y_pred, labels=labels),
        )


def _assert_prf_match(skm, y_true, y_pred, **kwargs):
    """Precision, recall and F1 equal scikit-learn's for the same arguments."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours, theirs in ((precision_score, skm.precision_score),
                             (recall_score, skm.recall_score), (f1_score, skm.f1_score)):
            np.testing.assert_allclose(ours(y_true, y_pred, **kwargs),
                                       theirs(y_true, y_pred, **kwargs), **TOL)


@given(
    pair=label_pairs(elements=st.just(_INT_LABELS)),
    average=st.sampled_from([None, "micro", "macro", "weighted"]),
    zero_division=st.sampled_from(["warn", 0.0, 1.0, np.nan]),
)
def test_multiclass_prf_match_sklearn(skm, pair, average, zero_division):
    y_true, y_pred = pair
    _assert_prf_match(skm, y_true, y_pred, average=average, zero_division=zero_division)


@given(
    y=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=25),
    pos_label=st.sampled_from([0, 1]),
    zero_division=st.sampled_from(["warn", 0.0, 1.0, np.nan]),
)
def test_binary_prf_match_sklearn(skm, y, pos_label, zero_division):
    y_true, y_pred = [t for t, _ in y], [p for _, p in y]
    _assert_prf_match(skm, y_true, y_pred, pos_label=pos_label, zero_division=zero_division)


_PROBABILITY = st.floats(0, 1)


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 1), _PROBABILITY, st.floats(0.1, 5)), min_size=2, max_size=25
    ),
    normalize=st.booleans(),
)
def test_binary_log_loss_matches_sklearn(skm, rows, normalize):
    y_true, proba, weights = ([row[i] for row in rows] for i in range(3))
    assume(len(set(y_true)) == 2)
    np.testing.assert_allclose(log_loss(y_true, proba), skm.log_loss(y_true, proba), **TOL)
    np.testing.assert_allclose(
        log_loss(y_true, proba, normalize=normalize, sample_weight=weights),
        skm.log_loss(y_true, proba, normalize=normalize, sample_weight=weights),
        **TOL,
    )


@given(n_classes=st.integers(2, 4), data=st.data())
def test_multiclass_log_loss_matches_sklearn(skm, n_classes, data):
    n = data.draw(st.integers(1, 20))
    y_true = data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    raw = np.array(
        data.draw(
            st.lists(
                st.lists(st.floats(0.01, 1), min_size=n_classes, max_size=n_classes),
                min_size=n,
                max_size=n,
            )
        )
    )
    proba = raw / raw.sum(axis=1, keepdims=True)
    labels = list(range(n_classes))
    np.testing.assert_allclose(
        log_loss(y_true, proba, labels=labels), skm.log_loss(y_true, proba, labels=labels), **TOL
    )


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["no", "yes"]), st.integers(0, 6)), min_size=2, max_size=30
    ),
    scale=st.sampled_from([1.0, 0.25, 1e-3]),
)
def test_roc_auc_matches_sklearn_with_ties(skm, rows, scale):
    y_true, scores = [t for t, _ in rows], [s * scale for _, s in rows]
    assume(len(set(y_true)) == 2)
    np.testing.assert_allclose(
        roc_auc_score(y_true, scores), skm.roc_auc_score(y_true, scores), **TOL
    )


_TARGET = st.floats(-1e3, 1e3, allow_subnormal=False)


@given(
    n_outputs=st.integers(1, 3),
    multioutput=st.sampled_from(["uniform_average", "raw_values"]),
    data=st.data(),
)
def test_regression_metrics_match_sklearn(skm, n_outputs, multioutput, data):
    n = data.draw(st.integers(2, 20))
    shape = (n,) if n_outputs == 1 else (n, n_outputs)
    y_true = np.array(
        data.draw(st.lists(_TARGET, min_size=n * n_outputs, max_size=n * n_outputs))
    ).reshape(shape)
    y_pred = np.array(
        data.draw(st.lists(_TARGET, min_size=n * n_outputs, max_size=n * n_outputs))
    ).reshape(shape)
    np.testing.assert_allclose(
        mean_squared_error(y_true, y_pred, multioutput=multioutput),
        skm.mean_squared_error(y_true, y_pred, multioutput=multioutput),
        **TOL,
    )
    np.testing.assert_allclose(
        r2_score(y_true, y_pred, multioutput=multioutput),
        skm.r2_score(y_true, y_pred, multioutput=multioutput),
        **TOL,
    )
