"""Second-order and quasi-Newton solvers for the linear models, on one flat parameter vector.

The objective and its gradient come from the engine: a forward pass and ``backward()``, captured
once by ``tinygrad_lr.compile`` and replayed at every later point (the same kernels on the same
buffers, without rebuilding the graph), and by later fits of the same kind on their own data
(`FlatProblem`'s ``inputs`` and ``structure``). Newton's Hessian comes from the engine's second
derivatives: Hessian-vector products by a double backward (the gradient's graph is recorded once
per Newton iteration with ``create_graph=True``, then differentiated along each vector conjugate
gradients asks for), or, for small two-class problems, the whole Hessian: the objective's closed
form when it offers one (the estimator's [X 1]' D [X 1]), else one double backward over stacked
copies of the parameters. Newton-cg on the estimator's fused losses instead runs in logit space
on the losses' kernels (``lines``, `_objective.LinearLines`): there a point's objective depends
on theta only through its logits, which the model keeps and moves along each step's image.

Stopping rule, shared by both solvers: the largest absolute gradient entry at most ``tol`` (the
gradient of the objective scaled as scikit-learn scales it, as its lbfgs ``pgtol``), and the
solver's estimate of the remaining distance to the optimum (the quasi-Newton or Newton step from
the current point) at most ``tol`` times the largest coefficient (or ``tol`` when that is below 1).
The second condition is what makes ``tol`` reach the optimum: with a weak penalty the objective
is flat along some directions, and a gradient of 1e-6 there can still leave coefficients 1e-3
away from the optimum (measured on the digits: scikit-learn's lbfgs and newton-cg stop there at
tol=1e-6, its newton-cholesky does not). Newton measures that step, at a point meeting the gradient
rule, by conjugate gradients to a relative residual of a tenth, or less far once the step with
its inexactness added is already within the second condition; it also stops right after a step
whose own inexactness (a tenth of it, the solve's relative residual) is within the second
condition: the step is taken, checked by value alone, and what it leaves is that tenth.
"""
from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from tinygrad_lr.autograd import enable_grad, grad, is_grad_enabled, no_grad
from tinygrad_lr.compiler import Capture, GraphBreak
from tinygrad_lr.compiler import compile as compile_function
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.kernels.tuning import FIT_CACHE_ENTRIES, FIT_CACHE_MAX_BYTES
from tinygrad_lr.linear_model._objective import LinearLines
from tinygrad_lr.optim.lbfgs import (StrongWolfe, TrialPoint, curvature_condition,
                                     sufficient_decrease)
from tinygrad_lr.tensor import Tensor

Report = Callable[[int, float, float], None]
# Curvature pairs kept by L-BFGS: up to 100, not SciPy's 10 (scikit-learn's), since the
# remaining-step rule asks for more accuracy along flat directions, which a longer memory resolves
# sooner (measured at tol=1e-6, evaluations with 10 / 30 / 100 pairs: breast cancer 52 / 36 / 35,
# digits 140 / 120 / 89; the synthetic sets 11 with any), and the compact form's cost per pair is
# a row of a matrix product, not Python calls. The pairs (2 vectors of the coefficients' size
# each) take at most LBFGS_MEMORY bytes unless LBFGS_MIN_HISTORY of them take more; L-BFGS keeps
# no more than max_iter; newton-cg's preconditioner (`_conjugate_gradients`) keeps as many as
# fit in LBFGS_MEMORY, none if none does. Evaluations allowed per line search: 50, as
# scikit-learn gives.
LBFGS_HISTORY = 100
LBFGS_MIN_HISTORY = 30
LBFGS_MEMORY = 16 * 2**20
MAX_LINE_SEARCH = 50
MAX_CG_STEPS = 200  # conjugate-gradient steps per Newton step (as scikit-learn's newton-cg)
# Relative residual of the solve that measures the Newton step at a point already meeting the
# gradient rule (only its length matters there, and what it leaves undone).
MEASURE_FORCING = 0.1
# That solve also stops as soon as its step, enlarged by its own inexactness (|d| / (1 - e) at a
# relative residual e), is within the remaining-step rule, but only at e at most this (the same
# error model as MEASURE_FORCING's, trusted no further; measured: the first conjugate-gradient
# step often lands just above MEASURE_FORCING, e = 0.11-0.12 on the synthetic sets, with a step
# tenfold within the rule).
MEASURE_BOUND_RESIDUAL = 0.25
_FLOAT64 = np.dtype(np.float64)
# max |g| as the ufuncs themselves: ndarray.max goes through a Python wrapper (the same reduction)
_absolute, _largest = np.absolute, np.maximum.reduce
_ARMIJO = 1e-4  # sufficient-decrease constant of the Newton line search
# Newton in logit space (a `newton` given ``lines``), where a trial point along the line costs no
# pass over X, searches its line (where the model's ``searches_line`` says it pays: two classes)
# from t = 1 until the slope is at most this fraction of the start's: near the line's minimum,
# not only Armijo's decrease (measured at 50,000x500, before the products made ahead: 0.5 takes
# the same 6 gradients and 10 products as t = 1 alone, 0.1 and 0.01 take 5 and 9: the first
# step's minimum is at t = 1.48). A trial that does not pass moves by 1-D Newton, within the
# middle of the bracket found so far (else to its middle), or at most LINE_GROWTH-fold beyond t
# while no trial has passed the minimum.
LINE_SLOPE_REDUCTION = 0.1
LINE_GROWTH = 4.0
# ... and solves each step less tightly: forcing min(0.5, 3 sqrt(|g|)) instead of sqrt(|g|).
# There an iteration (a gradient pass, with the next solve's start for two classes; one product
# R X for the softmax) costs about a product, so fewer products for more iterations pay.
# Measured (passes with a gradient / products alone, two classes; iterations / products, digits):
# scale 1: 50,000x500 5 / 6, 100,000x100 4 / 5, digits 10 / 110; scale 2: 6 / 3, 5 / 3, 12 /
# 107; scale 3: 6 / 3, 6 / 2, 12 / 94; scale 4: as 3 on two classes, digits 13 / 106 (fit times,
# 1 against 3 alternated, in benchmarks/SPEED_LOG.md). Through the engine's products (``lines``
# None), 3 cost more (benchmarks/SPEED_LOG.md, issue 15 solvers: 10,000x500 31 against 24).
LINES_FORCING_SCALE = 3.0
_WOLFE_C1, _WOLFE_C2 = 1e-4, 0.9  # L-BFGS's strong-Wolfe constants (SciPy's, scikit-learn's)
# Newton takes the whole Hessian for two classes with at most this many coefficients (and
# n_samples * P elements: the closed form's weighted copy of X, or the stacked copies' logits),
# and conjugate gradients otherwise. The closed form costs one n_samples * P^2 product, CG
# 4 * n_samples * P per step plus an engine backward each; exact steps also keep float32 runs
# within 1e-4 of float64's path at the default tol, where CG's inexact ones drift ~2e-4.
FULL_HESSIAN_MAX_COEFFICIENTS = 64
FULL_HESSIAN_MAX_ELEMENTS = 2**21  # n_samples * P: 16 MiB of float64


def captured(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` through ``tinygrad_lr.compile``: captured on its first call, replayed after;
    from a graph break on (something a capture cannot replay) it simply runs eagerly, without the
    warning a user's compiled function gives, since the fit's result is the same either way."""
    compiled = compile_function(function, fullgraph=True)
    eager = False

    def run(*args: Any) -> Any:
        nonlocal eager
        if not eager:
            try:
                return compiled(*args)
            except GraphBreak:
                eager = True
        return function(*args)
    run.compiled = compiled  # type: ignore[attr-defined]
    return run


class _Evaluation:
    """The compiled objective and gradient of one kind of problem, with the leaf tensors it
    differentiates (views into one flat buffer): what a FlatProblem evaluates through, and what
    the cache (`_EVALUATIONS`) keeps between fits of the same kind.

    The compiled function takes the parameters and then the objective's data tensors as its
    arguments, so a replay reads the data it is given: a later fit with other data (and another
    penalty, itself a 0-d tensor of the data) of the same shapes replays the same capture, as
    torch.compile's cache serves later calls. Its eager runs (the capture, a graph break) call
    the objective of the fit that holds the evaluation (``objective``), whose tensors are those
    arguments.
    """

    def __init__(self, shapes: list[tuple[int, ...]], dtype: np.dtype, compiled: bool) -> None:
        self.sizes = [math.prod(shape) for shape in shapes]
        self.buffer = np.zeros(sum(self.sizes), dtype)
        self.params: list[Tensor] = []
        offset = 0
        for shape, size in zip(shapes, self.sizes):
            view = self.buffer[offset:offset + size].reshape(shape)
            self.params.append(from_numpy(view).requires_grad_())
            offset += size
        self.objective: Callable[[Tensor, Tensor | None], Tensor] | None = None
        # Captured once, replayed at every later point; eager where a capture cannot replay the
        # objective (a sparse X enters its product as an op parameter, not a tensor).
        self.run = captured(self.forward_backward) if compiled else self.forward_backward

    def forward_backward(self, *tensors: Tensor) -> Tensor:
        """The captured step: clear the parameters' gradients, the objective, backward(). The
        arguments: the parameters, then the objective's data (read by the objective itself)."""
        params = tensors[:len(self.params)]
        for p in params:
            p.grad = None
        loss = self.objective(params[0], params[1] if len(params) > 1 else None)
        loss.backward()
        return loss

    def shareable(self) -> bool:
        """True when every capture reads no tensor but its arguments: nothing of the fit that
        made it (its data, its penalty) is baked into a replay, so any fit of its kind may use
        it."""
        compiled = getattr(self.run, "compiled", None)
        return compiled is not None and all(
            not isinstance(capture, Capture) or not capture.loads
            for capture in compiled.cache.values())


# Evaluations kept between fits, by kind (see FlatProblem), least recently returned first. A fit
# takes its kind's evaluation out (no two fits share one, in any thread) and FlatProblem.release
# puts it back.
_EVALUATIONS: dict[Hashable, _Evaluation] = {}
_EVALUATIONS_LOCK = threading.Lock()


def clear_evaluations() -> None:
    """Forget every kept evaluation: the next fit of each kind captures its objective again
    (what the first fit in a new process does; the benchmarks time it so)."""
    with _EVALUATIONS_LOCK:
        _EVALUATIONS.clear()


class FlatProblem:
    """An objective of (W, b) seen as a function of one flat vector theta = [W.ravel(), b].

    ``W`` and ``b`` are leaf tensors whose arrays are views into one buffer; every evaluation
    copies the requested point into it and replays the compiled forward and backward
    (``compiled=False``: runs them eagerly).

    ``inputs`` and ``structure`` let fits share a capture (`_Evaluation`): ``inputs``, the
    tensors the objective reads its data from (X, the targets, the weights, the penalty), are
    passed to the compiled function as arguments; ``structure``, hashable, must tell apart every
    choice the objective's Python makes other than by those tensors' shapes and dtypes (the loss
    it builds, whether it adds a penalty...). A later problem of the same structure, parameter
    shapes, dtype and input shapes and dtypes, with inputs of at most
    ``FIT_CACHE_MAX_BYTES`` in all, then replays the earlier one's capture on its own inputs
    (once that one is released). A capture that reads any other tensor (the objective read
    data not among ``inputs``) is never shared.
    """

    def __init__(self, objective: Callable[[Tensor, Tensor | None], Tensor],
                 shapes: list[tuple[int, ...]], dtype: np.dtype, compiled: bool = True,
                 hessian: Callable[[np.ndarray], np.ndarray] | None = None,
                 inputs: tuple[Tensor, ...] = (),
                 structure: Hashable | None = None) -> None:
        self.objective = objective
        self.hessian = hessian
        self.shapes = shapes
        self.dtype = np.dtype(dtype)
        unique: dict[int, Tensor] = {}
        for t in inputs:
            unique.setdefault(id(t), t)
        inputs = tuple(unique.values())
        self.kind: Hashable | None = None
        evaluation = None
        if compiled and structure is not None \
                and sum(t._data.nbytes for t in inputs) <= FIT_CACHE_MAX_BYTES:
            self.kind = (structure, tuple(map(tuple, shapes)), self.dtype,
                         tuple((t._data.shape, t._data.dtype) for t in inputs))
            with _EVALUATIONS_LOCK:
                evaluation = _EVALUATIONS.pop(self.kind, None)
        if evaluation is None:
            evaluation = _Evaluation(shapes, self.dtype, compiled)
        evaluation.objective = objective
        self._evaluation: _Evaluation | None = evaluation
        self.sizes = evaluation.sizes
        self.size = evaluation.buffer.size
        self.buffer = evaluation.buffer
        self.params = evaluation.params
        self._arguments = (*self.params, *inputs)
        self._loss_and_gradient = evaluation.run
        # The capture's replay on this fit's arguments, once the compiled function has checked
        # them (its first call): later evaluations call it directly (the same arguments: only
        # the values in the parameters' buffer change).
        self._replay: Callable[[], Tensor | None] | None = None
        self._bound = False
        self.evaluations = 0

    def release(self) -> None:
        """The fit is over: its evaluation goes back to the cache for the next fit of its kind
        (when it may be shared), without this fit's objective. The problem must not be
        evaluated after."""
        evaluation, self._evaluation = self._evaluation, None
        if evaluation is None:
            return
        evaluation.objective = None
        if self.kind is None or not evaluation.shareable():
            return
        with _EVALUATIONS_LOCK:
            _EVALUATIONS.pop(self.kind, None)
            _EVALUATIONS[self.kind] = evaluation
            while len(_EVALUATIONS) > FIT_CACHE_ENTRIES:
                del _EVALUATIONS[next(iter(_EVALUATIONS))]

    def split(self) -> tuple[Tensor, Tensor | None]:
        """The parameters (W, b), b None without an intercept."""
        return self.params[0], (self.params[1] if len(self.params) > 1 else None)

    def evaluate_eagerly(self) -> None:
        """Run the objective and its gradient eagerly from now on, never capturing them: for a
        solver that evaluates them a few times only (Newton with the whole Hessian: about ten),
        where the capture costs more than its replays save (benchmarks/SPEED_LOG.md, issue 15
        solvers)."""
        if self._evaluation is not None:
            self._loss_and_gradient = self._evaluation.forward_backward
            self._replay, self._bound = None, True

    def _load(self, theta: np.ndarray) -> None:
        self.buffer[...] = theta

    def flat_grad(self) -> np.ndarray:
        """The parameters' gradients as one new flat vector."""
        return np.concatenate([p._grad._data for p in self.params], axis=None)

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """The objective and its gradient at theta, by the compiled forward and backward."""
        if self._evaluation is None:
            raise RuntimeError("FlatProblem: evaluated after release() (its parameters and "
                               "capture may serve another fit now)")
        self._load(theta)
        self.evaluations += 1
        replay = self._replay
        loss = replay() if replay is not None and is_grad_enabled() else None
        if loss is None:
            with enable_grad():
                loss = self._loss_and_gradient(*self._arguments)
                if not self._bound:
                    self._bound = True
                    compiled = getattr(self._loss_and_gradient, "compiled", None)
                    if compiled is not None:
                        self._replay = compiled.replay_for(*self._arguments)
        return float(loss._data), self.flat_grad()

    def value(self, theta: np.ndarray) -> float:
        """The objective at theta, by an eager forward (no graph). The solvers ask for it rarely
        (Newton's shortened and final steps), where a capture would cost more than its replays
        save (measured: benchmarks/SPEED_LOG.md, issue 15 solvers)."""
        self._load(theta)
        self.evaluations += 1
        with no_grad():
            return float(self.objective(*self.split())._data)

    def newton_system(self, theta: np.ndarray
                      ) -> tuple[float, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
        """Value, gradient and Hessian-vector products at theta, all three from one recorded
        gradient graph: the gradient g(theta) is computed with ``create_graph=True``;
        s = sum(g * v) for a constant tensor v, and ``s.backward()`` leaves H v in the
        parameters' ``.grad`` (the Hessian is symmetric). v's array is overwritten for each
        product and the graph kept (``retain_graph``), so each product costs one backward and
        no new forward.
        """
        self._load(theta)
        self.evaluations += 1
        directions = [from_numpy(np.zeros(shape, self.dtype)) for shape in self.shapes]
        for p in self.params:
            p.grad = None
        with enable_grad():
            loss = self.objective(*self.split())
            gradients = grad(loss, self.params, create_graph=True)
            along = sum((g * v).sum() for g, v in zip(gradients, directions))
        flat_gradient = np.concatenate([g._data.reshape(-1) for g in gradients])

        def hessian_times(vector: np.ndarray) -> np.ndarray:
            offset = 0
            for v, size, shape in zip(directions, self.sizes, self.shapes):
                v._data[...] = vector[offset:offset + size].reshape(shape)
                offset += size
            for p in self.params:
                p.grad = None
            along.backward(retain_graph=True)
            return self.flat_grad()
        return float(loss._data), flat_gradient, hessian_times

    def full_hessian(self, theta: np.ndarray) -> np.ndarray:
        """The whole Hessian at theta (float64): the objective's own closed form when it has one
        (``hessian``), else the engine's stacked double backward."""
        if self.hessian is not None:
            return self.hessian(theta)
        return self.stacked_hessian(theta)

    def stacked_hessian(self, theta: np.ndarray) -> np.ndarray:
        """The whole Hessian of a two-class objective in one double backward: the objective summed
        over P stacked copies of theta (the rows of Theta) has the gradient of copy i in row i,
        and the derivative of that gradient's diagonal with respect to Theta is the Hessian."""
        stacked = from_numpy(np.tile(theta.astype(self.dtype), (self.size, 1))).requires_grad_()
        n_weights = self.sizes[0]
        with enable_grad():
            total = self.objective(stacked[:, :n_weights],
                                   stacked[:, n_weights] if self.size > n_weights else None)
            (per_copy,) = grad(total, [stacked], create_graph=True)
            (H,) = grad((per_copy * np.eye(self.size, dtype=self.dtype)).sum(), [stacked])
        return H._data.astype(np.float64)


def _remaining_small(step: np.ndarray, theta: np.ndarray, tol: float) -> bool:
    """True when the estimated remaining step is at most tol times the coefficients' size."""
    scale = max(1.0, float(np.abs(theta).max()))
    return float(np.abs(step).max()) <= tol * scale


def _pair_capacity(size: int, at_least: int = LBFGS_MIN_HISTORY) -> int:
    """Curvature pairs to keep for coefficients of ``size``: LBFGS_HISTORY, fewer when they would
    take more than LBFGS_MEMORY bytes, never fewer than ``at_least``."""
    affordable = LBFGS_MEMORY // (2 * np.dtype(np.float64).itemsize * size)
    return max(at_least, min(LBFGS_HISTORY, affordable))


def _two_loop(gradient: np.ndarray, s_list: list[np.ndarray], y_list: list[np.ndarray],
              rho: list[float]) -> np.ndarray:
    """-H_k g by L-BFGS's two-loop recursion (Nocedal & Wright, Algorithm 7.4), H_0 scaled by
    s'y / y'y of the newest pair: the textbook form, which `_Memory.direction` is tested against."""
    q = -gradient
    alphas = []
    for s, y, r in zip(reversed(s_list), reversed(y_list), reversed(rho)):
        a = r * float(s.dot(q))
        alphas.append(a)
        q -= a * y
    if s_list:
        q *= float(s_list[-1].dot(y_list[-1])) / float(y_list[-1].dot(y_list[-1]))
    for s, y, r, a in zip(s_list, y_list, rho, reversed(alphas)):
        b = r * float(y.dot(q))
        q += (a - b) * s
    return q


class _Memory:
    """L-BFGS's curvature pairs as the rows of two matrices, with their inner products kept up to
    date, so that a direction costs a few matrix-vector products instead of the two-loop
    recursion's 4 m vector operations (each a Python-level NumPy call: at 30 pairs and the small
    problems' sizes those calls, not the arithmetic, were the solver's cost).

    The direction is the compact form of Byrd, Nocedal and Schnabel (1994, eq. 3.1) of the same
    inverse-Hessian approximation as the two-loop recursion:
    H = gI + [S' gY'] [[R^-T (D + g Y Y') R^-1, -R^-T], [-R^-1, 0]] [S; gY], with S and Y the pairs
    as rows, R the upper triangle of S Y', D its diagonal and g = s'y / y'y of the newest pair.
    """

    def __init__(self, size: int, capacity: int) -> None:
        # Each pair keeps its row (and its row and column of the small matrices) for its whole
        # life: once full, a new pair takes the oldest one's rows. The compact form holds in any
        # order of the pairs as long as R keeps its meaning, R[i, j] = s_i . y_j when pair i is
        # not newer than pair j, else 0; moving every row down at each new pair instead cost
        # more than the direction (measured at 100 pairs of 650 coefficients).
        # s_i and y_i side by side: rows 2i and 2i + 1 of ``_rows``, so that one product gives
        # S v and Y v together (at small sizes each product is a NumPy call's overhead).
        self._pairs = np.empty((capacity, 2, size))
        self._rows = self._pairs.reshape(2 * capacity, size)
        self.S, self.Y = self._pairs[:, 0], self._pairs[:, 1]
        self.SY = np.zeros((capacity, capacity))  # R, by rows as above
        self.YY = np.zeros((capacity, capacity))
        # R's inverse, kept by adding the new pair's column (block inversion; its row is zero, as
        # the newest pair is older than none) and by dropping the oldest pair's row and column
        # (the inverse of R without its oldest pair is R^-1 without it, R being triangular in
        # the pairs' age): no solves.
        self.R_inverse = np.zeros((capacity, capacity))
        # R's diagonal (s_i . y_i) as a vector, and g of the newest pair: kept by ``add``, where
        # the direction would otherwise take them from SY at every call (a preconditioner
        # asks for several directions per pair).
        self.D = np.zeros(capacity)
        self.gamma = 1.0
        self.clear()

    def clear(self) -> None:
        """Forget every pair (a restart from the steepest descent); the arrays are reused."""
        self.count = 0
        self.oldest = self.newest = 0

    def add(self, s: np.ndarray, y: np.ndarray) -> None:
        """Append a pair, dropping the oldest when full."""
        if self.count < self.S.shape[0]:
            row = self.count
            self.count += 1
        else:
            row = self.oldest
            self.oldest = (row + 1) % self.S.shape[0]
        k = self.count
        self.S[row], self.Y[row] = s, y
        self.SY[row, :k] = 0.0
        both = self._rows[:2 * k] @ y
        self.SY[:k, row] = both[0::2]
        self.YY[:k, row] = self.YY[row, :k] = both[1::2]
        self.R_inverse[row, :k] = self.R_inverse[:k, row] = 0.0
        inverse_diagonal = 1.0 / self.SY[row, row]
        self.R_inverse[:k, row] = self.R_inverse[:k, :k] @ self.SY[:k, row] * -inverse_diagonal
        self.R_inverse[row, row] = inverse_diagonal
        self.D[row] = self.SY[row, row]
        self.gamma = self.SY[row, row] / self.YY[row, row]
        self.newest = row

    def direction(self, gradient: np.ndarray) -> np.ndarray:
        """-H g (the steepest descent while no pair is held)."""
        k = self.count
        if k == 0:
            return -gradient
        S, Y, R_inverse, gamma = self.S[:k], self.Y[:k], self.R_inverse[:k, :k], self.gamma
        both = self._rows[:2 * k] @ gradient
        r = R_inverse @ both[0::2]
        top = (self.D[:k] * r + gamma * (self.YY[:k, :k] @ r - both[1::2])) @ R_inverse
        return gamma * (Y.T @ r - gradient) - S.T @ top


def lbfgs(problem: FlatProblem, theta: np.ndarray, max_iter: int, tol: float,
          report: Report) -> tuple[np.ndarray, list[float], bool]:
    """Minimise by L-BFGS with a strong-Wolfe line search from theta.

    Returns the final point, the objective at the start and after each iteration, and whether
    the stopping rule held (or no lower point was left to find, the minimum reached to working
    precision) before ``max_iter`` iterations.
    """
    theta = theta.astype(np.float64)
    value, gradient = problem.value_and_grad(theta)
    gradient = gradient.astype(np.float64, copy=False)
    curve = [value]
    report(0, value, float(np.abs(gradient).max()))
    if float(np.abs(gradient).max()) <= tol:
        return theta, curve, True
    memory = _Memory(theta.size, min(_pair_capacity(theta.size), max_iter))  # <= 1 pair a step
    direction = -gradient
    # First trial: a step of length 1 (SciPy's L-BFGS-B; 1 / |g|_1, PyTorch's, was shorter and
    # cost an extra evaluation on the breast-cancer and digits fits).
    step = min(1.0, 1.0 / float(np.linalg.norm(gradient)))
    for iteration in range(1, max_iter + 1):
        slope = float(gradient.dot(direction))
        if not slope < 0:  # lost descent (rounding): restart from the steepest descent
            memory.clear()
            direction = -gradient
            slope = float(gradient.dot(direction))
        # The first trial is evaluated here and kept when it meets the strong Wolfe conditions,
        # as it nearly always does (measured at tol=1e-6: at every iteration of the breast-cancer
        # and synthetic fits, at 84 of the digits' 86); only otherwise is the search object
        # built, handed the trial already made. The accepted step is the search's own, bit for
        # bit: this only saves the search's Python at each iteration (benchmarks/SPEED_LOG.md).
        s = step * direction
        trial = theta + s
        trial_value, trial_gradient = problem.value_and_grad(trial)
        if trial_gradient.dtype != _FLOAT64:
            trial_gradient = trial_gradient.astype(np.float64)
        found = TrialPoint(step, trial_value, trial_gradient, float(trial_gradient.dot(direction)))
        start = TrialPoint(0.0, value, gradient, slope)
        if not (trial_value < value and sufficient_decrease(start, found, _WOLFE_C1)
                and curvature_condition(start, found, _WOLFE_C2)):
            found = _strong_wolfe(problem, theta, direction, start, found)
            if not (math.isfinite(found.loss) and found.loss < value):
                return theta, curve, True  # no lower point along a descent direction
            s = found.step * direction
            trial = theta + s
        y = found.grad - gradient
        theta, value, gradient = trial, found.loss, found.grad
        curve.append(value)
        largest = float(_largest(_absolute(gradient)))
        report(iteration, value, largest)
        if float(s.dot(y)) > 1e-10 * float(y.dot(y)):
            memory.add(s, y)
        direction = memory.direction(gradient)
        if largest <= tol and _remaining_small(direction, theta, tol):
            return theta, curve, True
        step = 1.0
    return theta, curve, False


def _strong_wolfe(problem: FlatProblem, theta: np.ndarray, direction: np.ndarray,
                  start: TrialPoint, first: TrialPoint) -> TrialPoint:
    """The strong-Wolfe search along ``direction`` from ``start``, whose first trial (``first``)
    was already evaluated by the caller."""
    def along(t: float) -> tuple[float, np.ndarray]:
        f, g = problem.value_and_grad(theta + t * direction)
        return f, g.astype(np.float64, copy=False)
    search = StrongWolfe(along, direction, start, c1=_WOLFE_C1, c2=_WOLFE_C2,
                         tolerance_change=0.0, max_evals=MAX_LINE_SEARCH)
    return search.search(first.step, first)


def _conjugate_gradients(hessian_times: Callable[[np.ndarray], np.ndarray],
                         gradient: np.ndarray, forcing: float, max_steps: int,
                         memory: _Memory | None = None,
                         enough: Callable[[np.ndarray, float], bool] | None = None,
                         on_step: Callable[[float], None] | None = None,
                         initial: list[tuple[np.ndarray, np.ndarray]] | None = None,
                         on_start: Callable[[np.ndarray], None] | None = None,
                         final_residual: np.ndarray | None = None) -> np.ndarray:
    """An approximate Newton step: solve H d = -g by conjugate gradients until the residual is at
    most ``forcing`` times |g| (both in the 2-norm), stopping early at a direction of
    non-positive curvature (then the steepest descent if no step was taken yet), or as soon as
    ``enough(d, relative residual)`` holds (a caller that needs the step's size only up to a
    bound, not the step). ``on_step(a)`` is called after each step d += a p, p the vector last
    multiplied by H: d is the sum of those steps, which a caller can follow through what the
    products leave (Newton in logit space follows d's image).

    ``initial``: pairs (v, H v) of vectors whose products are already known. The solve starts
    from the combination d0 = sum_i c_i v_i that minimises the quadratic model on their span (the
    small system (V H V') c = -V g; reported as ``on_start(c)``; no start when that system is
    not positive definite), then goes on as usual from d0's residual (conjugate gradients from
    an initial guess), and may stop with no product at all. ``final_residual``, when given,
    receives the last residual -g - H d.

    With ``memory``, the solve is preconditioned by its L-BFGS inverse-Hessian approximation
    (held fixed during the solve, as preconditioned CG requires), and the solve's own pairs
    (p, H p) are added to it afterwards for the next solve: Morales and Nocedal's automatic
    preconditioning (SIAM J. Optim. 10, 2000). The Hessian changes little from one Newton step
    to the next, so the curvature CG has already explored need not be explored again (measured
    at tol=1e-6: digits 217 -> 122 Hessian-vector products, the synthetic sets 11 -> 9 and
    12 -> 11)."""
    d = np.zeros_like(gradient)
    residual = -gradient
    norm = float(np.linalg.norm(residual))
    target = forcing * norm
    pairs: deque[tuple[np.ndarray, np.ndarray]] = deque(
        maxlen=0 if memory is None else memory.S.shape[0])
    steps = max_steps
    if initial:
        V = np.array([v for v, _ in initial])
        HV = np.array([Hv for _, Hv in initial])
        projected = V @ HV.T
        try:
            factor = np.linalg.cholesky(0.5 * (projected + projected.T))
        except np.linalg.LinAlgError:
            factor = None
        if factor is not None:
            coefficients = np.linalg.solve(factor.T, np.linalg.solve(factor, V @ residual))
            pairs.extend(initial)
            d += coefficients @ V
            if on_start is not None:
                on_start(coefficients)
            residual -= coefficients @ HV
            residual_norm = float(np.linalg.norm(residual))
            if residual_norm <= target or (enough is not None
                                           and enough(d, residual_norm / norm)):
                steps = 0
    p = _precondition(memory, residual) if steps else residual
    rz = float(residual.dot(p))
    for _ in range(steps):
        Hp = hessian_times(p)
        curvature = float(p.dot(Hp))
        if curvature <= 1e-16 * float(p.dot(p)):
            if not d.any():
                d = -gradient
            break
        pairs.append((p, Hp))
        alpha = rz / curvature
        d += alpha * p
        if on_step is not None:
            on_step(alpha)
        residual -= alpha * Hp
        residual_norm = float(np.linalg.norm(residual))
        if residual_norm <= target or (enough is not None and enough(d, residual_norm / norm)):
            break
        z = _precondition(memory, residual)
        new_rz = float(residual.dot(z))
        p = z + (new_rz / rz) * p
        rz = new_rz
    for s, y in pairs:
        if float(s.dot(y)) > 1e-10 * float(y.dot(y)):
            memory.add(s, y)
    if final_residual is not None:
        final_residual[...] = residual
    return d


def _precondition(memory: _Memory | None, residual: np.ndarray) -> np.ndarray:
    """The preconditioned residual of `_conjugate_gradients`: the memory's inverse-Hessian
    approximation times it (a copy of it without a memory)."""
    return residual.copy() if memory is None else -memory.direction(residual)


def _direct_step(H: np.ndarray, gradient: np.ndarray, definite: bool) -> np.ndarray:
    """-H^{-1} g by a linear solve when H is positive definite, else (or when the solve fails) the
    minimum-norm least-squares step, which leaves alone the directions the objective is flat
    along (no penalty and collinear features): the optimum closest to the start, as gradient
    methods from zero reach."""
    if definite:
        try:
            step = np.linalg.solve(H, -gradient)
            if np.isfinite(step).all() and gradient.dot(step) < 0:
                return step
        except np.linalg.LinAlgError:
            pass
    return np.linalg.lstsq(H, -gradient, rcond=None)[0]


def _forcing(gradient: np.ndarray, largest: float, tol: float, scale: float = 1.0) -> float:
    """Relative residual to which conjugate gradients solve a Newton step: Eisenstat and Walker's
    min(0.5, scale sqrt(|g|)) (loose far from the optimum, tight near it, where Newton's fast
    convergence pays), MEASURE_FORCING at a point that meets the gradient rule."""
    if largest <= tol:
        return MEASURE_FORCING
    return min(0.5, scale * math.sqrt(float(np.linalg.norm(gradient))))


def _line_minimum(phi: Callable[[float], tuple[float, float, float]], value: float,
                  slope: float, slope_reduction: float = LINE_SLOPE_REDUCTION
                  ) -> tuple[float, float]:
    """A step t along a descent line whose objective phi(t) (with phi' and phi'') is cheap: the
    first trial from t = 1 that meets Armijo's decrease and |phi'(t)| <= ``slope_reduction``
    |phi'(0)| (``value`` = phi(0), ``slope`` = phi'(0) < 0; math.inf: Armijo's decrease alone),
    by safeguarded 1-D Newton steps; after MAX_LINE_SEARCH trials, the lowest trial that met
    Armijo's condition. (t, phi(t)); t is 0 when no trial did (no lower point, to rounding)."""
    best = (0.0, value)
    low, high, t = 0.0, math.inf, 1.0
    for _ in range(MAX_LINE_SEARCH):
        at, derivative, curvature = phi(t)
        decreased = at <= value + _ARMIJO * t * slope
        if decreased and at < best[1]:
            best = (t, at)
            if abs(derivative) <= slope_reduction * abs(slope):
                break
        if decreased and derivative < 0:
            low = t
        else:
            high = t
        newton_t = t - derivative / curvature if curvature > 0 else math.inf
        if high == math.inf:
            t = min(newton_t, LINE_GROWTH * t) if newton_t > low else LINE_GROWTH * t
        else:  # inside the bracket's middle eight tenths, so that it shrinks
            margin = 0.1 * (high - low)
            t = newton_t if low + margin <= newton_t <= high - margin else 0.5 * (low + high)
    return best


def newton(problem: FlatProblem, theta: np.ndarray, max_iter: int, tol: float, report: Report,
           full_hessian: bool, definite: bool = True,
           project: Callable[[np.ndarray], np.ndarray] | None = None,
           lines: LinearLines | None = None) -> tuple[np.ndarray, list[float], bool]:
    """Minimise by Newton's method with a backtracking (Armijo) line search from theta.

    ``full_hessian``: each step solves with the whole Hessian (``problem.full_hessian``;
    ``definite`` False: the minimum-norm step of a singular Hessian); otherwise conjugate
    gradients on Hessian-vector products (newton-cg), each solved to a relative residual of
    min(0.5, sqrt(|g|)) (Eisenstat and Walker's forcing: loose far from the optimum, tight near
    it, where Newton's fast convergence pays) and preconditioned by the curvature pairs the
    earlier solves found (see `_conjugate_gradients`). ``project`` removes from each step the
    directions the objective is exactly flat along (the softmax's common shift), where rounding
    would drift.

    ``lines`` (newton-cg on a dense linear model, instead of ``problem``'s evaluations): Newton
    in logit space (`LinearLines`). The model follows each step's image X d through the
    solve's products, so the objective along the step costs no pass over X: the line is searched
    to near its minimum where the model asks for it (`_line_minimum`), and the point reached has
    known logits, so its gradient costs one product with X instead of an evaluation's two. An
    iteration being that cheap, the forcing is LINES_FORCING_SCALE times the one above.
    """
    def system(point: np.ndarray) -> tuple[float, np.ndarray, Any]:
        if full_hessian:
            return (*problem.value_and_grad(point), None)
        return problem.newton_system(point)

    if full_hessian:
        problem.evaluate_eagerly()
    theta = theta.astype(np.float64)
    # The preconditioner's pairs are optional: within LBFGS_MEMORY only (none for a huge P).
    capacity = 0 if full_hessian else _pair_capacity(theta.size, at_least=0)
    memory = _Memory(theta.size, capacity) if capacity else None
    curve: list[float] = []
    initial = None  # pairs (v, H v) at theta made ahead, by the pass that reached it (lines)
    residual = np.empty_like(theta)  # the last solve's: -g - H d
    if lines is None:
        value, gradient, hessian_times = system(theta)
    else:
        value, gradient = lines.start(theta)
        hessian_times = lines.hessian_times
    for iteration in range(max_iter + 1):
        gradient = gradient.astype(np.float64, copy=False)
        largest = float(np.abs(gradient).max())
        report(iteration, value, largest)
        curve.append(value)
        if iteration and not value < curve[-2]:
            return theta, curve, True  # no lower point was found: the minimum, to precision
        bounded = False
        if full_hessian:
            direction = _direct_step(problem.full_hessian(theta), gradient, definite)
        else:
            def small_enough(step: np.ndarray, relative_residual: float) -> bool:
                # The step solved to a relative residual e is taken as within e of the exact
                # one's size (the same model as MEASURE_FORCING's), so the exact step is at most
                # |step| / (1 - e): once that is within the rule, the measure need go no further.
                nonlocal bounded
                if relative_residual <= MEASURE_BOUND_RESIDUAL:
                    shown = step if project is None else project(step)
                    bounded = _remaining_small(shown / (1 - relative_residual), theta, tol)
                return bounded
            forcing = _forcing(gradient, largest, tol,
                               1.0 if lines is None else LINES_FORCING_SCALE)
            if lines is not None:
                lines.begin_direction()
            direction = _conjugate_gradients(
                lambda v: hessian_times(v).astype(np.float64, copy=False), gradient, forcing,
                max_steps=MAX_CG_STEPS, memory=memory,
                enough=small_enough if largest <= tol else None,
                on_step=None if lines is None else lines.add_step, initial=initial,
                on_start=None if lines is None else lines.start_from, final_residual=residual)
        if project is not None:
            direction = project(direction)
        if largest <= tol:
            if bounded or _remaining_small(direction, theta, tol):
                return theta, curve, True
            # The step solved to a relative residual of MEASURE_FORCING leaves about that
            # fraction of itself to go (its inexactness; Newton's quadratic term is far smaller
            # at these lengths): when that is within the rule, the step is taken, checked by
            # value alone, and the fit ends there, without the next point's system and its
            # measuring solve (measured on the digits: 1 system and 12 products fewer).
            if (not full_hessian and iteration < max_iter
                    and _remaining_small(MEASURE_FORCING * direction, theta, tol)):
                trial = theta + direction
                trial_value = (problem.value(trial) if lines is None
                               else lines.along(direction)(1.0)[0])
                if trial_value <= value + _ARMIJO * float(gradient.dot(direction)):
                    report(iteration + 1, trial_value, math.nan)  # its gradient: not evaluated
                    curve.append(trial_value)
                    return trial, curve, True
        if iteration == max_iter:
            break
        slope = float(gradient.dot(direction))
        if lines is not None:
            step, _ = _line_minimum(lines.along(direction), value, slope,
                                    LINE_SLOPE_REDUCTION if lines.searches_line else math.inf)
            if not step:
                return theta, curve, True  # no lower point was found: the minimum, to precision
            # The next solve's first vector, guessed from the quadratic model's gradient at the
            # new point (g + step H d = (1 - step) g - step residual), and the step's direction
            # are multiplied by the new point's Hessian in its gradient's pass, and start that
            # solve on their span (see LogisticLines, `_conjugate_gradients`).
            ahead = (_precondition(memory, step * residual - (1 - step) * gradient)
                     if lines.multiplies_ahead else None)
            theta = theta + step * direction
            value, gradient, initial = lines.move(direction, step, ahead)
            continue
        # The full step is tried with the next iteration's whole system (value, gradient and
        # graph), kept when it is accepted, as it nearly always is near the optimum: one pass
        # over X fewer than a separate value. Shorter steps are tried by value alone.
        trial = theta + direction
        accepted = system(trial)
        if accepted[0] <= value + _ARMIJO * slope:
            theta = trial
            value, gradient, hessian_times = accepted
            continue
        step = 0.5
        for _ in range(MAX_LINE_SEARCH - 1):
            trial = theta + step * direction
            if problem.value(trial) <= value + _ARMIJO * step * slope:
                theta = trial
                break
            step /= 2
        value, gradient, hessian_times = system(theta)
    return theta, curve, False
