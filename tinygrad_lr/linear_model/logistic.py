"""Logistic regression trained through the autodiff engine, with scikit-learn's objective and API.

The objective is scikit-learn's, C * sum_i s_i loss_i + ||W||^2 / 2 (s_i the sample weights times
the class weights, the intercept not penalised, no penalty with ``penalty=None``). Every solver
minimises it divided by C * sum_i s_i, i.e. the weighted mean loss plus ||W||^2 / (2 C sum_i s_i):
the same minimiser, the scaling scikit-learn's solvers use, and the scale of ``tol`` and of
``loss_curve_``. Two classes use the sigmoid (binary cross-entropy on logits), more use the
multinomial softmax over all K classes (penalty over all K rows of W).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import tinygrad_lr.nn.functional as F
from tinygrad_lr import serialization
from tinygrad_lr.autograd import enable_grad, no_grad
from tinygrad_lr.exceptions import ConvergenceWarning, sklearn_compatible
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.linear_model import _dask, _solvers
from tinygrad_lr.linear_model._objective import (LinearLines, LogisticLines, SoftmaxLines,
                                                 logistic_loss, softmax_loss)
from tinygrad_lr.linear_model.base import (
    BaseEstimator,
    ClassifierMixin,
    available_if,
    check_choice,
    check_features,
    check_fitted_features,
    check_sample_weight,
    check_targets,
    descend,
    weighted_squared_norms,
)
from tinygrad_lr.kernels.elementwise import sigmoid
from tinygrad_lr.kernels import linear_loss
from tinygrad_lr.kernels.tuning import (LOSS_FUSED_MIN_BYTES, SOFTMAX_FUSED_MIN_BYTES,
                                        SOFTMAX_TRANSPOSED_MAX_BYTES)
from tinygrad_lr.ops.functional import binary_cross_entropy_with_logits, log_softmax
from tinygrad_lr.ops.catalogue.sparse import is_sparse, sparse_matmul
from tinygrad_lr.optim import SGD, Adam, RMSprop
from tinygrad_lr.tensor import Tensor
from tinygrad_lr.utils.minibatches import iterate_minibatches
from tinygrad_lr.utils.validation import (check_float, check_int, check_random_state,
                                          validate_random_state)

_FIRST_ORDER = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
_SOLVERS = ("lbfgs", "newton", *_FIRST_ORDER)
# Default learning rates of the adaptive solvers; "sgd" defaults to 1 / (a bound on the
# objective's curvature), see `_default_sgd_lr`.
_DEFAULT_LR = {"adam": 0.01, "rmsprop": 0.01}
_N_ITER_NO_CHANGE = 5  # minibatch epochs without relative improvement > tol before stopping
_SAVE_FORMAT = "tinygrad_lr.LogisticRegression"
_SAVE_VERSION = 1

Params = tuple[Tensor, Tensor | None]


class _Objective:
    """Sum_i w_i loss_i + alpha / 2 ||W||^2 on one set of rows, as an engine graph of (W, b).

    W is (1, n_features) with the sigmoid for two classes, (K, n_features) with the softmax for
    more; the weights w_i already include any scaling (they sum to 1 for the whole data set).
    """

    def __init__(self, X: Any, encoded: np.ndarray, weights: np.ndarray, alpha: float,
                 n_classes: int) -> None:
        # A sparse X stays a constant of the graph, multiplied by the parameters with
        # SparseMatMul (X @ w forward, X.T @ g backward): never densified.
        self.sparse = is_sparse(X)
        self.X = X if self.sparse else from_numpy(X)
        self.alpha, self.n_classes = alpha, n_classes
        self._design: np.ndarray | None = None  # [X 1] for binary_hessian, made on first use
        self.half_alpha = from_numpy(np.array(alpha / 2, dtype=X.dtype))
        self.binary = n_classes == 2
        # Every constant enters the graph as a tensor, never as an array parameter of an op, so
        # that tl.compile can capture the objective (it replays tensors, not baked-in arrays).
        self.weights = weights.astype(X.dtype, copy=False)
        self.uniform = bool((self.weights == self.weights[0]).all())
        self.weight_vector = from_numpy(self.weights)
        # A large dense X takes the fused loss op (one pass over X per gradient and per
        # Hessian-vector product, see linear_model._objective); at sizes the caches hold, the
        # textbook graph below, which tl.compile replays as a few NumPy statements, is as fast.
        self.fused = n_classes == 2 and not self.sparse and X.nbytes >= LOSS_FUSED_MIN_BYTES
        # More classes: the fused softmax loss op (one kernel call for the loss and its gradient,
        # where the textbook graph records and replays a dozen ops).
        self.fused_softmax = n_classes > 2 and not self.sparse \
            and X.nbytes >= SOFTMAX_FUSED_MIN_BYTES
        # The fused op's weights: one shared weight when they are equal (its kernels then
        # scale the sums instead of every row).
        self.row_weights = from_numpy(self.weights[:1].reshape(()).copy()) if self.uniform \
            else self.weight_vector
        if self.binary:
            # Labels already checked by fit: the loss op is called directly, without F's checks.
            self.target = from_numpy((encoded == 1).astype(X.dtype))
            self.target_column = from_numpy(self.target._data[:, None])
        else:
            # Minus the weighted one-hot targets: the loss is sum(log_softmax(logits) * these).
            if self.fused_softmax:  # the op's targets: (K, n), the weights at each row's class
                targets = np.zeros((n_classes, encoded.size), X.dtype)
                targets[encoded, np.arange(encoded.size)] = self.weights
                self.class_weights = from_numpy(targets)
            else:
                one_hot = np.zeros((encoded.size, n_classes), X.dtype)
                one_hot[np.arange(encoded.size), encoded] = -self.weights
                self.weighted_targets = from_numpy(one_hot)

    def __call__(self, W: Tensor, b: Tensor | None) -> Tensor:
        """The objective at (W, b). With two classes, W may also be its one row as a vector; a W
        of several rows (and b of as many entries) holds separate coefficient vectors, and their
        objectives are summed: the Newton solver's stacked copies."""
        vector = self.binary and (W.ndim == 1 or W.shape[0] == 1)
        if vector:
            # W's one row as a vector: X @ w and w @ w take the matrix-vector rules (measured
            # faster here than the fused F.linear with its (m, 1) logits).
            rows = W if W.ndim == 1 else W.reshape(-1)
            if self.fused:
                loss = logistic_loss(self.X, self.target, self.row_weights, rows, b)
                return loss + (rows @ rows) * self.half_alpha if self.alpha else loss
            product = sparse_matmul(self.X, rows) if self.sparse else self.X @ rows
            logits = product if b is None else product + b
            if self.uniform:  # equal weights summing to 1: the mean, by the fused kernels
                loss = binary_cross_entropy_with_logits(logits, self.target, reduction="mean")
            else:
                loss = binary_cross_entropy_with_logits(logits, self.target,
                                                        reduction="none") @ self.weight_vector
        else:
            rows = W
            if self.fused_softmax:
                loss = softmax_loss(self.X, self.class_weights, self.row_weights, W, b)
                return loss + (W * W).sum() * self.half_alpha if self.alpha else loss
            if self.sparse:
                logits = sparse_matmul(self.X, W.T)
                logits = logits if b is None else logits + b
            else:
                logits = F.linear(self.X, W, b)
            if self.binary:  # one column of logits per row of W
                loss = binary_cross_entropy_with_logits(
                    logits, self.target_column, reduction="sum", weight=self.weights[:, None])
            else:
                loss = (log_softmax(logits, 1) * self.weighted_targets).sum()
        if self.alpha:
            squares = rows @ rows if vector else (rows * rows).sum()
            loss = loss + squares * self.half_alpha
        return loss

    def value(self, W: Tensor, b: Tensor | None) -> float:
        """The objective's value, without recording a graph."""
        with no_grad():
            return self(W, b).item()

    def binary_hessian(self, theta: np.ndarray) -> np.ndarray:
        """The two-class objective's Hessian at theta = [w, b] (b only with an intercept), in
        closed form and float64: A' diag(s_i p_i (1 - p_i)) A for the design A = [X 1] (X without
        an intercept), p = sigmoid(A theta), plus alpha on w's block. Newton's full-Hessian steps
        (few coefficients) use it: one product of n P^2 multiply-adds, where the engine's double
        backward over P stacked copies of theta (FlatProblem.stacked_hessian, which tests hold
        this to) builds a graph of P times the logits at every iteration. A dense X is copied
        once into A (n P elements, which the solver bounds) and the product is B'B for
        B = sqrt(curvature) A (half the work of A' (curvature A), measured 2.3x faster at 569 x
        31); a sparse X stays sparse."""
        n_features = self.X.shape[1]
        if self.sparse:
            X = self.X
            logits = np.asarray(X @ theta[:n_features].astype(X.dtype), dtype=np.float64)
            logits += theta[n_features:].sum()
        else:
            if self._design is None or self._design.shape[1] != theta.size:
                self._design = np.ones((self.X.shape[0], theta.size))
                self._design[:, :n_features] = self.X._data
            logits = self._design @ theta
        p = sigmoid(logits)
        curvature = self.weights * p * (1.0 - p)
        if self.sparse:
            H = np.empty((theta.size, theta.size))
            weighted = X.multiply(curvature[:, None]).tocsr()
            H[:n_features, :n_features] = (X.T @ weighted).toarray()
            if theta.size > n_features:
                H[:n_features, n_features] = H[n_features, :n_features] = \
                    np.asarray(weighted.sum(axis=0)).ravel()
                H[n_features, n_features] = curvature.sum()
        else:
            scaled = self._design * np.sqrt(curvature)[:, None]
            H = scaled.T @ scaled
        diagonal = np.arange(n_features)
        H[diagonal, diagonal] += self.alpha
        return H


def _check_class_weight(class_weight: Any) -> None:
    """Raise unless class_weight is None, 'balanced' or a dict."""
    if not (class_weight is None or isinstance(class_weight, dict)
            or (isinstance(class_weight, str) and class_weight == "balanced")):
        raise ValueError("class_weight must be None, 'balanced' or a dict mapping class labels to "
                         f"weights; got {class_weight!r}")


def _class_weights(class_weight: Any, classes: np.ndarray, encoded: np.ndarray,
                   sample_weight: np.ndarray) -> np.ndarray:
    """Weight of each class: 1, scikit-learn's 'balanced' total / (K * weighted class count), or
    the dict's value (1 for classes it does not name)."""
    if class_weight is None:
        return np.ones(classes.size)
    if isinstance(class_weight, str):
        counts = np.bincount(encoded, weights=sample_weight, minlength=classes.size)
        # A class whose samples all weigh 0 gets weight 0 rather than 0 * inf = nan.
        return np.divide(counts.sum(), classes.size * counts, out=np.zeros(classes.size),
                         where=counts > 0)
    labels = classes.tolist()
    unknown = [key for key in class_weight if key not in set(labels)]
    if unknown:
        raise ValueError(f"class_weight names labels {unknown} that are not classes of y; the "
                         f"classes are {labels}")
    return np.array([float(class_weight.get(label, 1.0)) for label in labels])


def _unique_labels(y: np.ndarray, where: str) -> np.ndarray:
    """Sorted distinct labels; NaN, fractional or mixed-type labels are refused.

    Sorted and compared with their neighbours rather than by np.unique, which imports numpy.ma
    on its first call: a cost the first fit of every process (each CLI run) would pay."""
    if y.dtype.kind == "f" and (y != np.round(y)).any():
        raise ValueError(f"{where}: y must hold class labels, but it looks like a continuous "
                         f"target (non-integer values such as {y[y != np.round(y)][0]})")
    try:
        ordered = np.sort(y, axis=None)
    except TypeError as error:
        raise ValueError(f"{where}: y mixes label types that cannot be sorted ({error})") from None
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    return ordered[first]


def _encode(y: np.ndarray, classes: np.ndarray, where: str) -> np.ndarray:
    """Index of each label of y in the sorted `classes`; a label that is not a class raises."""
    try:
        encoded = np.searchsorted(classes, y)
    except TypeError as error:
        raise ValueError(f"{where}: the labels of y cannot be compared with the classes "
                         f"{classes.tolist()} ({error})") from None
    found = encoded < classes.size
    found[found] = classes[encoded[found]] == y[found]
    if not found.all():
        raise ValueError(f"{where}: y contains the label {y[~found].tolist()[0]!r}, which is not "
                         f"one of the classes {classes.tolist()}")
    return encoded


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalised (or unpenalised) logistic regression: sigmoid for two classes, multinomial
    softmax for more, fitted through the autodiff engine with a choice of solvers.

    The objective is scikit-learn's, ``C * sum_i s_i loss_i + ||W||^2 / 2`` (``s_i`` the sample
    weights times the class weights, the intercept not penalised), so the optimum is the same.
    X may be a dense array or a SciPy sparse matrix or array (CSR, CSC; other formats are
    converted to CSR), which is never densified.

    Parameters
    ----------
    penalty : {"l2", None}, default="l2"
        The squared L2 norm of the coefficients, or no penalty.
    C : float, default=1.0
        Inverse of the penalty's strength, in (0, inf]; ``C=np.inf`` means no penalty (what
        scikit-learn recommends over ``penalty=None``).
    fit_intercept : bool, default=True
        Whether to fit an intercept (never penalised).
    solver : {"lbfgs", "newton", "sgd", "adam", "rmsprop"}, default="lbfgs"
        ``lbfgs``: L-BFGS with a strong-Wolfe line search. ``newton``: Newton steps with a
        backtracking line search, the curvature from the engine's second derivatives: conjugate
        gradients on Hessian-vector products (double backward; memory of a few vectors) for
        more than two classes or more than 64 coefficients, the whole Hessian otherwise. Both
        evaluate the objective and its gradient through a ``tinygrad_lr.compile`` capture of
        the forward pass and ``backward()`` (eagerly for sparse X).
        ``sgd``, ``adam``, ``rmsprop``: first-order steps on the full batch, or on shuffled
        minibatches of ``batch_size``; only these offer `partial_fit`.
    lr : float or None, default=None
        Learning rate of the first-order solvers (ignored by lbfgs and newton). None: 0.01 for
        adam and rmsprop; for sgd ``1 / L`` with ``L = c * mean_i(||x_i||^2 + 1) + 1 / (C sum s)``
        (weighted mean), ``c`` = 1/4 for the sigmoid and 1/2 for the softmax: a bound on the
        objective's curvature, so full-batch steps never overshoot.
    max_iter : int, default=100
        Most iterations (epochs for minibatches); reaching it first warns ConvergenceWarning.
    tol : float, default=1e-4
        Stopping tolerance on the scaled objective (the objective divided by ``C * sum s``):
        full-batch first-order runs stop when the largest absolute gradient entry is at most
        ``tol`` (scikit-learn's lbfgs ``pgtol``); lbfgs and newton when, in addition, their
        estimate of the remaining step to the optimum (the quasi-Newton or Newton step) is at
        most ``tol`` times the largest coefficient (or ``tol`` below 1), so that a small tol
        reaches the optimum along flat directions too, or when an iteration cannot lower the
        objective at all (its minimum reached to working precision); minibatch runs when the
        objective has not improved by more than ``tol`` times its size for 5 epochs in a row,
        as scikit-learn's SGDClassifier.
    batch_size : int or None, default=None
        Minibatch size of the first-order solvers; None uses the full batch.
    class_weight : dict, "balanced" or None, default=None
        Weight of each class's samples: a dict ``{label: weight}`` (1 for labels it does not
        name), "balanced" (``n_samples / (n_classes * count)``, from weighted counts), or 1.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator of the minibatch shuffling.
    verbose : int, default=0
        Print the objective (and the largest gradient entry) at each iteration when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients: one row for two classes (positive means ``classes_[1]``), one per class
        for more.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (zeros when ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen in `fit`.
    n_iter_ : ndarray of shape (1,)
        Iterations (epochs for minibatches) the solver ran.
    loss_curve_ : list of float
        The scaled objective before the first iteration and after each.

    See Also
    --------
    LinearRegression : Least squares, closed form or gradient descent.

    Notes
    -----
    Every solver minimises the objective divided by ``C * sum s``, i.e. the weighted mean loss
    plus ``||W||^2 / (2 C sum s)``: the same minimiser, the scaling scikit-learn's solvers use,
    and the scale of ``tol`` and ``loss_curve_``.

    Examples
    --------
    >>> import numpy as np
    >>> from tinygrad_lr.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> model.predict([[0.5], [2.5]])
    array([0, 1])
    >>> model.predict_proba([[1.5]]).round(3)
    array([[0.5, 0.5]])
    """

    def __init__(self, penalty: str | None = "l2", C: float = 1.0, fit_intercept: bool = True,
                 solver: str = "lbfgs", lr: float | None = None, max_iter: int = 100,
                 tol: float = 1e-4, batch_size: int | None = None, class_weight: Any = None,
                 random_state: Any = None, verbose: int = 0) -> None:
        self.penalty = penalty
        self.C = C
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    # ---- hyperparameters -----------------------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        """Raise ValueError naming any hyperparameter with a bad value."""
        check_choice(self.penalty, "penalty", ("l2", None))
        check_choice(self.solver, "solver", _SOLVERS)
        if not (isinstance(self.C, (int, float, np.number)) and not isinstance(self.C, bool)
                and self.C == np.inf):  # C = inf: no penalty, as scikit-learn recommends
            check_float(self.C, "C", low=0.0, low_open=True)
        check_choice(self.fit_intercept, "fit_intercept", (True, False))
        if self.lr is not None:
            check_float(self.lr, "lr", low=0.0, low_open=True)
        check_int(self.max_iter, "max_iter", 1)
        check_float(self.tol, "tol", low=0.0)
        if self.batch_size is not None:
            check_int(self.batch_size, "batch_size", 1)
            if self.solver not in _FIRST_ORDER:
                raise ValueError(f"batch_size={self.batch_size} applies only to the first-order "
                                 f"solvers {list(_FIRST_ORDER)}; solver={self.solver!r} always "
                                 "uses the full batch (set batch_size=None)")
        _check_class_weight(self.class_weight)
        validate_random_state(self.random_state)
        check_int(self.verbose, "verbose", 0)

    def _alpha(self, total_weight: float) -> float:
        """Penalty strength of the scaled objective: 1 / (C * sum of the sample weights); 0 with
        no penalty (penalty=None or C=inf)."""
        return 0.0 if self.penalty is None else 1.0 / (float(self.C) * total_weight)

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit the coefficients to X (n_samples, n_features) and labels y with the chosen solver;
        warns ConvergenceWarning when max_iter ends the run before the stopping rule holds."""
        if _dask.any_dask(X, y, sample_weight):
            return _dask.fit_logistic(self, X, y, sample_weight)
        self._check_hyperparameters()
        where = "LogisticRegression.fit"
        X = check_features(X, where)
        y = check_targets(y, X.shape[0], where)
        classes = _unique_labels(y, where)
        if classes.size < 2:
            raise ValueError(f"{where}: This solver needs samples of at least 2 classes in the "
                             "data, but the data contains only one class: "
                             f"{classes.tolist()[0]!r}")
        encoded = _encode(y, classes, where)
        weights = self._sample_weights(X, encoded, classes, sample_weight, where)
        total = float(weights.sum())
        shares = weights / total
        objective = _Objective(X, encoded, shares, self._alpha(total), classes.size)
        params = self._new_params(X, classes.size)
        self._optimizer = None  # partial_fit continues a fit only with a first-order solver
        if self.solver in ("lbfgs", "newton"):
            curve, converged = self._run_second_order(objective, params)
        else:
            self._optimizer = self._first_order_optimizer(params, X, shares, classes.size,
                                                          objective.alpha)
            self._rng, self._weight_seen = check_random_state(self.random_state), total
            if self.batch_size is None:
                curve, converged = self._run_full_batch(objective, params)
            else:
                curve, converged = self._run_minibatches(objective, params, X, encoded, shares)
        if not converged:
            warnings.warn(f"LogisticRegression (solver={self.solver!r}) did not converge in "
                          f"max_iter={self.max_iter} iterations (tol={self.tol}); increase "
                          "max_iter, scale the data or, for first-order solvers, adjust lr",
                          sklearn_compatible(ConvergenceWarning), stacklevel=2)
        self._set_fitted(classes, X.shape[1], params, len(curve) - 1, curve)
        return self

    def _sample_weights(self, X: np.ndarray, encoded: np.ndarray, classes: np.ndarray,
                        sample_weight: Any, where: str) -> np.ndarray:
        """Sample weights times class weights, in X's dtype."""
        weights = check_sample_weight(sample_weight, X.shape[0], X.dtype, where)
        per_class = _class_weights(self.class_weight, classes, encoded, weights)
        return weights * per_class.astype(X.dtype)[encoded]

    def _new_params(self, X: np.ndarray, n_classes: int) -> list[Tensor]:
        """Zero coefficients (and intercepts) in X's dtype, as leaves that require grad."""
        rows = 1 if n_classes == 2 else n_classes
        params = [from_numpy(np.zeros((rows, X.shape[1]), X.dtype)).requires_grad_()]
        if self.fit_intercept:
            params.append(from_numpy(np.zeros(rows, X.dtype)).requires_grad_())
        return params

    @staticmethod
    def _split(params: list[Tensor]) -> Params:
        return params[0], (params[1] if len(params) > 1 else None)

    def _report(self, iteration: int, value: float, gradient: float | None = None) -> None:
        if self.verbose:
            tail = "" if gradient is None else f", max |gradient| {gradient:.3e}"
            print(f"[{self.solver}] iteration {iteration}: objective {value:.10g}{tail}")

    def _flat_problem(self, objective: _Objective, params: list[Tensor]) -> _solvers.FlatProblem:
        """The objective over one flat vector; two classes move W's one row as a vector (the
        objective then needs no reshape node)."""
        shapes = [tuple(p.shape) for p in params]
        if objective.binary:
            shapes[0] = (shapes[0][1],)
        # Fits of one kind share a capture (`_solvers.FlatProblem`): the objective's tensors are
        # the capture's inputs, and `structure` names every choice its __call__ makes besides
        # their shapes (a new branch there must be added here).
        structure = ("logistic", objective.n_classes, objective.fused, objective.fused_softmax,
                     objective.uniform, objective.alpha != 0)
        inputs = tuple(value for value in vars(objective).values() if isinstance(value, Tensor))
        return _solvers.FlatProblem(
            objective, shapes, params[0].dtype, compiled=not objective.sparse,
            hessian=objective.binary_hessian if objective.binary else None,
            inputs=inputs, structure=structure)

    def _newton_lines(self, objective: _Objective) -> LinearLines | None:
        """Newton-cg's model of a fused loss, which runs it in logit space on the losses' own
        kernels (`_objective.LinearLines`, held to the engine's double backward by the tests);
        None where Newton takes its products from the engine (a sparse X, the textbook graph)."""
        if objective.fused:
            return LogisticLines(objective.X._data, objective.target._data,
                                 objective.row_weights._data, objective.alpha,
                                 intercept=self.fit_intercept)
        if objective.fused_softmax:
            return SoftmaxLines(objective.X._data, objective.class_weights._data,
                                objective.row_weights._data, objective.alpha,
                                self.fit_intercept, SOFTMAX_TRANSPOSED_MAX_BYTES)
        return None

    def _run_second_order(self, objective: _Objective, params: list[Tensor]
                          ) -> tuple[list[float], bool]:
        """L-BFGS or Newton on the flat parameter vector (see `_solvers`), the result written
        back into `params`."""
        problem = self._flat_problem(objective, params)
        start = np.concatenate([p._data.reshape(-1) for p in params])
        if self.solver == "lbfgs":
            theta, curve, converged = _solvers.lbfgs(problem, start, self.max_iter, self.tol,
                                                     self._report)
        else:
            full = (objective.binary and problem.size <= _solvers.FULL_HESSIAN_MAX_COEFFICIENTS
                    and problem.size * objective.X.shape[0]
                    <= _solvers.FULL_HESSIAN_MAX_ELEMENTS)
            # Strictly convex (a unique Newton step) unless there is no penalty or the softmax's
            # intercepts can all shift together.
            definite = objective.alpha > 0 and (objective.binary or not self.fit_intercept)
            lines = None if full else self._newton_lines(objective)
            theta, curve, converged = _solvers.newton(
                problem, start, self.max_iter, self.tol, self._report, full_hessian=full,
                definite=definite,
                project=None if objective.binary else _class_mean_free(problem.sizes[0],
                                                                        objective.n_classes),
                lines=lines)
        problem.release()  # its capture may serve the next fit of this kind
        offset = 0
        for p in params:
            p._data[...] = theta[offset:offset + p.numel()].reshape(p.shape)
            offset += p.numel()
        return curve, converged

    def _first_order_optimizer(self, params: list[Tensor], X: np.ndarray, weights: np.ndarray,
                               n_classes: int, alpha: float) -> Any:
        """The solver's optimizer over `params`, with `lr` or the solver's default."""
        lr = self.lr
        if lr is None:
            lr = _DEFAULT_LR.get(self.solver) or _default_sgd_lr(X, weights, n_classes, alpha,
                                                                 self.fit_intercept)
        return _FIRST_ORDER[self.solver](params, lr=lr)

    def _run_full_batch(self, objective: _Objective, params: list[Tensor]
                        ) -> tuple[list[float], bool]:
        """One optimizer step per iteration on the whole objective, until max |gradient| <= tol."""
        return descend(lambda: objective(*self._split(params)), self._optimizer, params,
                       self.max_iter, self.tol, self._report, compiled=not objective.sparse)

    def _run_minibatches(self, objective: _Objective, params: list[Tensor], X: np.ndarray,
                         encoded: np.ndarray, weights: np.ndarray) -> tuple[list[float], bool]:
        """Epochs of shuffled minibatch steps until the objective stops improving by more than tol
        (relative) for 5 epochs in a row."""
        curve = [objective.value(*self._split(params))]
        self._report(0, curve[0])
        best, stale = curve[0], 0
        for epoch in range(1, self.max_iter + 1):
            self._epoch(params, X, encoded, weights, objective.alpha, objective.n_classes)
            value = objective.value(*self._split(params))
            self._report(epoch, value)
            curve.append(value)
            stale = stale + 1 if value > best - self.tol * abs(best) else 0
            best = min(best, value)
            if stale >= _N_ITER_NO_CHANGE:
                return curve, True
        return curve, False

    def _epoch(self, params: list[Tensor], X: Any, encoded: np.ndarray,
               weights: np.ndarray, alpha: float, n_classes: int) -> None:
        """One pass over the rows in minibatches of `batch_size` (one step if None); each batch's
        weights are scaled by n / batch rows, so its expected objective is the full one."""
        if self.batch_size is None:
            batches: Any = [(X, encoded, weights)]
        else:
            # Shuffled row numbers, then those rows of X: the same for a dense X and a sparse
            # one (whose rows the loader, built for arrays, cannot take).
            batches = ((X[rows], y_batch, w_batch) for rows, y_batch, w_batch in
                       iterate_minibatches(np.arange(X.shape[0]), encoded, weights,
                                           batch_size=self.batch_size, random_state=self._rng))
        for X_batch, y_batch, w_batch in batches:
            scale = X.shape[0] / X_batch.shape[0]
            batch = _Objective(X_batch, y_batch, w_batch * scale, alpha, n_classes)
            self._optimizer.zero_grad()
            with enable_grad():
                batch(*self._split(params)).backward()
            self._optimizer.step()

    @available_if(lambda model: model.solver in _FIRST_ORDER,
                  lambda model: f"partial_fit needs a first-order solver "
                                f"({', '.join(map(repr, _FIRST_ORDER))}); solver={model.solver!r} "
                                "fits the whole data set in fit")
    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> LogisticRegression:
        """One pass of the first-order solver over the minibatch (X, y) (one step, or minibatches
        of ``batch_size``), keeping the optimizer's state across calls: for data streamed in
        pieces.

        ``classes`` (every label the stream can hold) is required on the first call unless the
        model is already fitted (by `fit` or `load`), whose coefficients the stream then starts
        from. The penalty is scaled by the total sample weight seen so far, so the objective is
        the one `fit` would minimise on all batches passed until now: after one pass over a data
        set, fit's objective on it.
        """
        where = "LogisticRegression.partial_fit"
        self._check_hyperparameters()
        if self.class_weight == "balanced":
            raise ValueError(f"{where}: class_weight='balanced' needs the class frequencies of the "
                             "whole data set; pass a dict of class weights instead")
        fitted = hasattr(self, "coef_")
        X = check_fitted_features(self, X, where) if fitted else check_features(X, where)
        y = check_targets(y, X.shape[0], where)
        if classes is None and not fitted:
            raise ValueError(f"{where}: classes (every label the data can hold) must be given on "
                             "the first call to partial_fit")
        all_classes = self.classes_ if fitted else _unique_labels(np.asarray(classes), where)
        if fitted and classes is not None and \
                not np.array_equal(_unique_labels(np.asarray(classes), where), all_classes):
            raise ValueError(f"{where}: classes={np.asarray(classes).tolist()} differs from the "
                             f"classes the model holds, {all_classes.tolist()}")
        if all_classes.size < 2:
            raise ValueError(f"{where}: classes must hold at least 2 labels, got "
                             f"{all_classes.tolist()}")
        encoded = _encode(y, all_classes, where)
        weights = self._sample_weights(X, encoded, all_classes, sample_weight, where)
        total = float(weights.sum())
        shares = weights / total
        streaming = getattr(self, "_optimizer", None) is not None
        if not streaming:
            self._rng, self._weight_seen = check_random_state(self.random_state), 0.0
            self.n_iter_, self.loss_curve_ = np.zeros(1, np.int32), []
        self._weight_seen += total
        alpha = self._alpha(self._weight_seen)
        if not streaming:
            params = self._new_params(X, all_classes.size)
            if fitted:
                for param, value in zip(params, (self.coef_, self.intercept_)):
                    param._data[...] = value
            self._optimizer = self._first_order_optimizer(params, X, shares, all_classes.size,
                                                          alpha)
        params = self._optimizer.param_groups[0]["params"]
        self._epoch(params, X, encoded, shares, alpha, all_classes.size)
        curve = [*self.loss_curve_, _Objective(X, encoded, shares, alpha, all_classes.size)
                 .value(*self._split(params))]
        self._set_fitted(all_classes, X.shape[1], params, int(self.n_iter_[0]) + 1, curve)
        return self

    def _set_fitted(self, classes: np.ndarray, n_features: int, params: list[Tensor],
                    n_iter: int, curve: list[float]) -> None:
        """Record the fitted attributes (copies of the parameters, so later training or edits of
        one do not change the other)."""
        W, b = self._split(params)
        self.classes_ = classes
        self.n_features_in_ = n_features
        self.coef_ = W._data.copy()
        self.intercept_ = np.zeros(W.shape[0], W.dtype) if b is None else b._data.copy()
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.loss_curve_ = curve

    # ---- prediction (plain NumPy) ---------------------------------------------------------------
    def _scores(self, X: Any, method: str) -> np.ndarray:
        """X @ coef_.T + intercept_, shape (n_samples, 1 or n_classes), after checking X."""
        X = check_fitted_features(self, X, f"LogisticRegression.{method}")
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores X @ coef_.T + intercept_: shape (n_samples,) for two classes (positive means
        classes_[1]), (n_samples, n_classes) for more."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, "decision_function")
        scores = self._scores(X, "decision_function")
        return scores[:, 0] if self.classes_.size == 2 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in the order of classes_."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, "predict_proba")
        scores = self._scores(X, "predict_proba")
        if self.classes_.size == 2:
            return sigmoid(np.concatenate([-scores, scores], axis=1))
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities, computed from the scores without rounding through exp."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, "predict_log_proba")
        scores = self._scores(X, "predict_log_proba")
        if self.classes_.size == 2:
            scores = np.concatenate([np.zeros_like(scores), scores], axis=1)
        shifted = scores - scores.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label of each row of X."""
        if _dask.is_dask_collection(X):
            return _dask.predict(self, X, "predict")
        scores = self._scores(X, "predict")
        if self.classes_.size == 2:
            return self.classes_[(scores[:, 0] > 0).astype(np.intp)]
        return self.classes_[scores.argmax(axis=1)]

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: Any) -> None:
        """Write the hyperparameters and fitted attributes to `path` in tinygrad_lr's safe format
        (no pickle). The optimizer state of partial_fit is not saved."""
        if not hasattr(self, "coef_"):
            raise ValueError("LogisticRegression.save: the model is not fitted; fit it first")
        serialization.save({
            "format": _SAVE_FORMAT,
            "version": _SAVE_VERSION,
            "params": _python_strings(self.get_params(deep=False)),
            "classes": _python_strings(self.classes_.tolist()),
            "classes_dtype": self.classes_.dtype.str,
            "coef": self.coef_,
            "intercept": self.intercept_,
            "n_iter": self.n_iter_,
            "n_features_in": self.n_features_in_,
            "loss_curve": list(self.loss_curve_),
        }, path)

    @classmethod
    def load(cls, path: Any) -> LogisticRegression:
        """Read a model written by `save`; any other file raises ValueError naming `path`."""
        try:
            state = serialization.load(path)
        except ValueError as error:
            raise ValueError(f"{path!s} is not a saved LogisticRegression: {error}") from None
        if not isinstance(state, dict) or state.get("format") != _SAVE_FORMAT:
            raise ValueError(f"{path!s} is not a saved LogisticRegression (it holds other data "
                             "written by tinygrad_lr.save)")
        if state.get("version") != _SAVE_VERSION:
            raise ValueError(f"{path!s}: unsupported LogisticRegression file version "
                             f"{state.get('version')!r} (this version reads {_SAVE_VERSION})")
        try:
            model = cls(**state["params"])
            model.classes_ = np.array(state["classes"], dtype=np.dtype(state["classes_dtype"]))
            model.coef_ = state["coef"]
            model.intercept_ = state["intercept"]
            model.n_iter_ = state["n_iter"]
            model.n_features_in_ = state["n_features_in"]
            model.loss_curve_ = state["loss_curve"]
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path!s}: damaged LogisticRegression file (entry {error} is "
                             "missing or invalid)") from None
        return model


def _python_strings(value: Any) -> Any:
    """`value` with NumPy strings (e.g. labels taken from classes_) turned into Python str, which
    compare and hash alike: the safe format stores NumPy scalars as arrays, only numeric ones."""
    if isinstance(value, np.str_):
        return str(value)
    if isinstance(value, dict):
        return {_python_strings(key): _python_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_python_strings(item) for item in value]
    return value


def _class_mean_free(n_weights: int, n_classes: int) -> Callable[[np.ndarray], np.ndarray]:
    """For the softmax's flat parameters [W.ravel(), b]: a step minus its mean over the classes.
    The objective does not change when every class's logits shift alike, so that mean moves
    nothing but the coefficients (and the optimum has it at zero, by the penalty's symmetry)."""
    def project(step: np.ndarray) -> np.ndarray:
        W = step[:n_weights].reshape(n_classes, -1)
        b = step[n_weights:]
        return np.concatenate([(W - W.mean(axis=0)).ravel(), b - b.mean() if b.size else b])
    return project


def _default_sgd_lr(X: Any, weights: np.ndarray, n_classes: int, alpha: float,
                    fit_intercept: bool) -> float:
    """1 / L for L = c * sum_i w_i (||x_i||^2 + [intercept]) + alpha, an upper bound on the
    curvature of the scaled objective (c = 1/4 for the sigmoid's loss, 1/2 for the softmax's)."""
    total = weighted_squared_norms(X, weights) + float(fit_intercept) * float(weights.sum())
    curvature = (0.25 if n_classes == 2 else 0.5) * total
    return 1.0 / (curvature + alpha)
