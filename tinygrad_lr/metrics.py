"""Classification and regression metrics matching scikit-learn.metrics' results and conventions."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from tinygrad_lr.exceptions import UndefinedMetricWarning

_AVERAGES = ("binary", "micro", "macro", "weighted", None)
_MULTIOUTPUT = ("uniform_average", "raw_values")


def _label_kind(labels: np.ndarray, name: str) -> str:
    """'number' or 'string' for a 1-D label array; NaN, non-integer floats and mixtures raise."""
    if labels.dtype.kind in "US":
        return "string"
    if labels.dtype.kind == "O":
        values = labels.tolist()
        if all(isinstance(v, str) for v in values):
            return "string"
        if not all(isinstance(v, numbers.Real) for v in values):
            raise ValueError(
                f"{name} mixes label types: {sorted({type(v).__name__ for v in values})}"
            )
        labels = np.asarray(values, dtype=np.float64)
    if labels.dtype.kind not in "biuf":
        raise ValueError(f"{name} has unsupported label dtype {labels.dtype}")
    if labels.dtype.kind == "f":
        if np.isnan(labels).any():
            raise ValueError(f"{name} contains NaN")
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise ValueError(
                f"{name} contains non-integer values such as {fractional[0]}; classification "
                "metrics need class labels, not scores or probabilities"
            )
    return "number"


def _as_1d(values: Any, name: str) -> np.ndarray:
    """`values` as a non-empty 1-D numpy array (a column vector (n, 1) is flattened)."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    return array


def _check_same_length(first: np.ndarray, second: np.ndarray, names: str) -> None:
    """Raise naming both lengths if the two arrays have different numbers of samples."""
    if first.shape[0] != second.shape[0]:
        raise ValueError(f"{names} have different lengths: {first.shape[0]} and {second.shape[0]}")


def _check_targets(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of label vectors: 1-D, same length, discrete, and of the same kind."""
    true, pred = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    _check_same_length(true, pred, "y_true and y_pred")
    true_kind, pred_kind = _label_kind(true, "y_true"), _label_kind(pred, "y_pred")
    if true_kind != pred_kind:
        raise ValueError(
            f"y_true holds {true_kind} labels but y_pred holds {pred_kind} labels "
            f"(e.g. {true.tolist()[0]!r} and {pred.tolist()[0]!r})"
        )
    return true, pred


def _check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """None, or a finite non-negative float64 vector with one weight per sample."""
    if sample_weight is None:
        return None
    weights = _as_1d(sample_weight, "sample_weight").astype(np.float64)
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has length {weights.shape[0]} but there are {n_samples} samples"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    return weights


def _weighted_total(values: np.ndarray, weights: np.ndarray | None, normalize: bool) -> float:
    """Mean (if `normalize`) or sum of per-sample `values`, weighted when weights are given."""
    if not normalize:
        return float(values.sum() if weights is None else np.dot(values, weights))
    if weights is not None and weights.sum() == 0:
        raise ValueError("sample_weight sums to zero, so the weighted mean is undefined")
    return float(np.average(values, weights=weights))


def accuracy_score(
    y_true: Any, y_pred: Any, *, normalize: bool = True, sample_weight: Any = None
) -> float:
    """Fraction (or, with normalize=False, the weighted count) of samples predicted exactly."""
    true, pred = _check_targets(y_true, y_pred)
    weights = _check_sample_weight(sample_weight, true.shape[0])
    return _weighted_total((true == pred).astype(np.float64), weights, normalize)


def _encode(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each value in `labels`, or -1 where the value is not a label."""
    combined = np.concatenate([labels, values])
    _, inverse = np.unique(combined, return_inverse=True)
    position = np.full(inverse.max() + 1, -1)
    position[inverse[: labels.size]] = np.arange(labels.size)
    return position[inverse[labels.size :]]


def confusion_matrix(y_true: Any, y_pred: Any, *, labels: Any = None) -> np.ndarray:
    """Counts C[i, j] of samples with true label labels[i] predicted as labels[j] (int64).

    `labels` defaults to the sorted union of both inputs; samples with other labels are ignored.
    """
    true, pred = _check_targets(y_true, y_pred)
    if labels is None:
        label_array = np.unique(np.concatenate([true, pred]))
    else:
        label_array = np.asarray(labels)
        if label_array.ndim != 1 or label_array.size == 0:
            raise ValueError(f"labels must be a non-empty 1-D list, got {labels!r}")
        if _label_kind(label_array, "labels") != _label_kind(true, "y_true"):
            raise ValueError(f"labels {label_array.tolist()} are not of the same kind as y_true")
        if np.unique(label_array).size != label_array.size:
            raise ValueError(f"labels must be distinct, got {label_array.tolist()}")
    true_index, pred_index = _encode(true, label_array), _encode(pred, label_array)
    if labels is not None and np.all(true_index < 0):
        raise ValueError(f"none of the labels {label_array.tolist()} occurs in y_true")
    keep = (true_index >= 0) & (pred_index >= 0)
    k = label_array.size
    counts = np.bincount(true_index[keep] * k + pred_index[keep], minlength=k * k)
    return counts.reshape(k, k).astype(np.int64)


def _check_zero_division(zero_division: Any) -> None:
    """Accept only scikit-learn's zero_division values: 'warn', 0, 1 or nan."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return
    elif isinstance(zero_division, numbers.Real) and (
        zero_division in (0, 1) or np.isnan(zero_division)
    ):
        return
    raise ValueError(f"zero_division must be 'warn', 0, 1 or np.nan, got {zero_division!r}")


def _nan_average(scores: np.ndarray, weights: np.ndarray | None) -> float:
    """Average of the non-NaN scores, weighted unless weights are None or all zero; NaN if none."""
    known = ~np.isnan(scores)
    if not known.any():
        return float("nan")
    if weights is None or weights[known].sum() == 0:
        return float(scores[known].mean())
    return float(np.average(scores[known], weights=weights[known]))


def _precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    metric: str,
    average: str | None,
    pos_label: Any,
    zero_division: Any,
) -> float | np.ndarray:
    """Shared body of precision_score, recall_score and f1_score (`metric` picks the ratio)."""
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {list(_AVERAGES)}, got {average!r}")
    _check_zero_division(zero_division)
    true, pred = _check_targets(y_true, y_pred)
    present = np.unique(np.concatenate([true, pred]))
    matrix = confusion_matrix(true, pred, labels=present)
    tp, true_sum, pred_sum = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    labels = present
    if average == "binary":
        if present.size > 2:
            raise ValueError(
                f"average='binary' needs at most 2 classes, but y_true and y_pred contain "
                f"{present.size}: {present.tolist()}; "
                "use average=None, 'micro', 'macro' or 'weighted'"
            )
        present_list = present.tolist()
        if pos_label not in present_list and present.size == 2:
            raise ValueError(
                f"pos_label={pos_label!r} is not a label; the labels are {present_list}"
            )
        if pos_label in present_list:
            i = present_list.index(pos_label)
            tp, true_sum, pred_sum = tp[i : i + 1], true_sum[i : i + 1], pred_sum[i : i + 1]
        else:
            tp = true_sum = pred_sum = np.zeros(1, dtype=np.int64)
        labels = np.asarray([pos_label])
    elif average == "micro":
        tp, true_sum, pred_sum = (np.array([a.sum()]) for a in (tp, true_sum, pred_sum))
    numerator, denominator, missing = {
        "precision": (tp, pred_sum, "predicted"),
        "recall": (tp, true_sum, "true"),
        "f-score": (2 * tp, true_sum + pred_sum, "true nor predicted"),
    }[metric]
    undefined = denominator == 0
    fill = 0.0 if zero_division == "warn" else float(zero_division)
    scores = np.where(undefined, fill, numerator / np.where(undefined, 1, denominator))
    if zero_division == "warn" and undefined.any():
        which = "" if average == "micro" else f" for labels {labels[undefined].tolist()}"
        warnings.warn(
            f"{metric.capitalize()} is ill-defined and set to 0.0{which}: no {missing} samples. "
            "Use the zero_division parameter to choose the value.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    if average is None:
        return scores
    if average == "macro":
        return _nan_average(scores, None)
    if average == "weighted":
        return _nan_average(scores, true_sum.astype(np.float64))
    return float(scores[0])


def precision_score(
    y_true: Any,
    y_pred: Any,
    *,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: Any = "warn",
) -> float | np.ndarray:
    """Precision tp / (tp + fp): of the samples predicted as a class, the fraction that are.

    average: 'binary' (pos_label only), 'micro', 'macro', 'weighted', or None for per-label scores.
    """
    return _precision_recall_f1(y_true, y_pred, "precision", average, pos_label, zero_division)


def recall_score(
    y_true: Any,
    y_pred: Any,
    *,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: Any = "warn",
) -> float | np.ndarray:
    """Recall tp / (tp + fn): of the samples of a class, the fraction predicted as it.

    average: 'binary' (pos_label only), 'micro', 'macro', 'weighted', or None for per-label scores.
    """
    return _precision_recall_f1(y_true, y_pred, "recall", average, pos_label, zero_division)


def f1_score(
    y_true: Any,
    y_pred: Any,
    *,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: Any = "warn",
) -> float | np.ndarray:
    """F1 = 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall.

    average: 'binary' (pos_label only), 'micro', 'macro', 'weighted', or None for per-label scores.
    """
    return _precision_recall_f1(y_true, y_pred, "f-score", average, pos_label, zero_division)


def _check_probabilities(y_pred: Any, n_samples: int) -> np.ndarray:
    """Probabilities as a float 2-D array (1-D becomes one column), finite and within [0, 1]."""
    proba = np.asarray(y_pred)
    if proba.dtype.kind not in "biuf":
        raise ValueError(f"y_pred must hold numbers, got dtype {proba.dtype}")
    if proba.dtype.kind != "f":
        proba = proba.astype(np.float64)
    if proba.ndim == 1:
        proba = proba[:, None]
    if proba.ndim != 2:
        raise ValueError(f"y_pred must be 1-D or 2-D, got shape {proba.shape}")
    if proba.shape[0] != n_samples:
        raise ValueError(
            f"y_true and y_pred have different lengths: {n_samples} and {proba.shape[0]}"
        )
    if not np.all(np.isfinite(proba)):
        raise ValueError("y_pred contains NaN or infinity")
    if proba.max() > 1 or proba.min() < 0:
        raise ValueError(
            "y_pred must hold probabilities in [0, 1]; "
            f"found values from {proba.min()} to {proba.max()}"
        )
    return proba


def log_loss(
    y_true: Any,
    y_pred: Any,
    *,
    eps: float | str = "auto",
    labels: Any = None,
    normalize: bool = True,
    sample_weight: Any = None,
) -> float:
    """Cross-entropy -mean(log p[true class]) of predicted probabilities.

    y_pred is (n,) with P(greater label) for binary problems or (n, n_classes) with columns in
    sorted label order. Probabilities are clipped to [eps, 1 - eps]; 'auto' uses the dtype's eps.
    """
    true = _as_1d(y_true, "y_true")
    kind = _label_kind(true, "y_true")
    proba = _check_probabilities(y_pred, true.shape[0])
    weights = _check_sample_weight(sample_weight, true.shape[0])
    if labels is None:
        classes = np.unique(true)
        if classes.size == 1:
            raise ValueError(
                f"y_true contains only one label ({classes.tolist()[0]!r}); "
                "pass all expected class labels through the labels argument"
            )
    else:
        classes = np.unique(_as_1d(labels, "labels"))
        if _label_kind(classes, "labels") != kind:
            raise ValueError(f"labels {classes.tolist()} are not of the same kind as y_true")
        if classes.size < 2:
            raise ValueError(f"labels must contain at least two labels, got {classes.tolist()}")
    index = _encode(true, classes)
    if np.any(index < 0):
        unknown = sorted(set(true[index < 0].tolist()))
        raise ValueError(
            f"y_true contains values {unknown} not among the labels {classes.tolist()}"
        )
    if proba.shape[1] == 1:
        proba = np.hstack([1 - proba, proba])
    if proba.shape[1] != classes.size:
        raise ValueError(
            f"y_true has {classes.size} classes {classes.tolist()} but y_pred has "
            f"{proba.shape[1]} columns; pass the labels argument if some classes are absent"
        )
    row_sums = proba.sum(axis=1)
    if not np.allclose(row_sums, 1, rtol=np.sqrt(np.finfo(proba.dtype).eps)):
        warnings.warn(
            "The y_pred rows do not sum to one; pass probabilities.", UserWarning, stacklevel=2
        )
    if eps == "auto":
        clip = float(np.finfo(proba.dtype).eps)
    else:
        if not isinstance(eps, numbers.Real) or not 0 <= eps < 0.5:
            raise ValueError(f"eps must be 'auto' or a number in [0, 0.5), got {eps!r}")
        clip = float(eps)
    clipped = np.clip(proba, clip, 1 - clip)
    with np.errstate(divide="ignore"):
        losses = -np.log(clipped[np.arange(true.shape[0]), index])
    return _weighted_total(losses, weights, normalize)


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve for binary labels (the greater label is positive).

    Equals the probability that a random positive outscores a random negative, ties counting 1/2;
    computed from average ranks. NaN with a warning if y_true has a single class.
    """
    true = _as_1d(y_true, "y_true")
    _label_kind(true, "y_true")
    score = _as_1d(y_score, "y_score").astype(np.float64)
    _check_same_length(true, score, "y_true and y_score")
    if not np.all(np.isfinite(score)):
        raise ValueError("y_score contains NaN or infinity")
    classes, positive_index = np.unique(true, return_inverse=True)
    if classes.size > 2:
        raise ValueError(
            "roc_auc_score handles binary y_true only; "
            f"found {classes.size} classes {classes.tolist()}"
        )
    if classes.size == 1:
        warnings.warn(
            f"Only one class ({classes.tolist()[0]!r}) is present in y_true; ROC AUC is undefined.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    positive = positive_index == 1
    _, group, group_sizes = np.unique(score, return_inverse=True, return_counts=True)
    group_ends = np.cumsum(group_sizes)
    average_rank = group_ends - (group_sizes - 1) / 2.0
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    rank_sum = average_rank[group[positive]].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _check_regression(y_true: Any, y_pred: Any, multioutput: str) -> tuple[np.ndarray, np.ndarray]:
    """Both targets as float64 (n, n_outputs) arrays with equal shapes and only finite values."""
    if multioutput not in _MULTIOUTPUT:
        raise ValueError(f"multioutput must be one of {list(_MULTIOUTPUT)}, got {multioutput!r}")
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        array = np.asarray(values, dtype=np.float64)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] == 0:
            raise ValueError(
                f"{name} must be a non-empty 1-D or 2-D array, got shape {array.shape}"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity")
        arrays.append(array)
    true, pred = arrays
    _check_same_length(true, pred, "y_true and y_pred")
    if true.shape[1] != pred.shape[1]:
        raise ValueError(
            "y_true and y_pred have different numbers of outputs: "
            f"{true.shape[1]} and {pred.shape[1]}"
        )
    return true, pred


def _reduce_outputs(per_output: np.ndarray, multioutput: str) -> float | np.ndarray:
    """Per-output values as an array ('raw_values') or their plain mean ('uniform_average')."""
    return per_output if multioutput == "raw_values" else float(per_output.mean())


def mean_squared_error(
    y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average"
) -> float | np.ndarray:
    """Mean of (y_true - y_pred)**2 per output, averaged over outputs unless 'raw_values'."""
    true, pred = _check_regression(y_true, y_pred, multioutput)
    return _reduce_outputs(((true - pred) ** 2).mean(axis=0), multioutput)


def r2_score(
    y_true: Any, y_pred: Any, *, multioutput: str = "uniform_average"
) -> float | np.ndarray:
    """Coefficient of determination 1 - SS_res / SS_tot per output (1 = perfect fit).

    A constant y_true scores 1.0 if predicted exactly, else 0.0; fewer than 2 samples give NaN.
    """
    true, pred = _check_regression(y_true, y_pred, multioutput)
    if true.shape[0] < 2:
        warnings.warn(
            "R^2 is not well-defined with fewer than two samples.",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        return float("nan")
    residual = ((true - pred) ** 2).sum(axis=0)
    total = ((true - true.mean(axis=0)) ** 2).sum(axis=0)
    defined = total != 0
    scores = np.where(residual == 0, 1.0, 0.0)
    scores[defined] = 1 - residual[defined] / total[defined]
    return _reduce_outputs(scores, multioutput)
