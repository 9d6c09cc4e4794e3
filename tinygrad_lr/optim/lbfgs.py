"""L-BFGS with an optional strong-Wolfe line search, driven by a closure, as ``torch.optim.LBFGS``.

The line search is Algorithms 3.5 (bracketing) and 3.6 (zoom) of Nocedal & Wright, *Numerical
Optimization* (2nd ed.), with the safeguarded cubic interpolation of their equation (3.59).
It is public (``StrongWolfe``, on ``TrialPoint``s) because the estimators' own L-BFGS on flat
NumPy vectors (``linear_model._solvers``) searches its lines with it too.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator, NamedTuple

import numpy as np

from tinygrad_lr.factories import from_numpy
from tinygrad_lr.optim.optimizer import Optimizer, ParamsT, check_nonnegative
from tinygrad_lr.tensor import Tensor

Evaluate = Callable[[float], "tuple[float, np.ndarray]"]


class TrialPoint(NamedTuple):
    """A trial step along the search direction: loss, flat gradient and directional derivative."""
    step: float
    loss: float
    grad: np.ndarray
    slope: float


def _cubic_minimizer(a: TrialPoint, b: TrialPoint, lower: float, upper: float) -> float:
    """Minimizer of the cubic matching loss and slope at ``a`` and ``b`` (N&W eq. 3.59), clipped to
    [lower, upper]; the midpoint of the bounds when the cubic has no finite minimizer."""
    if a.step != b.step:
        d1 = a.slope + b.slope - 3 * (a.loss - b.loss) / (a.step - b.step)
        disc = d1 * d1 - a.slope * b.slope
        if disc >= 0:
            d2 = math.copysign(math.sqrt(disc), b.step - a.step)
            denom = b.slope - a.slope + 2 * d2
            if denom != 0:
                x = b.step - (b.step - a.step) * (b.slope + d2 - d1) / denom
                if math.isfinite(x):
                    return min(max(x, lower), upper)
    return (lower + upper) / 2


def sufficient_decrease(start: TrialPoint, p: TrialPoint, c1: float) -> bool:
    """Armijo's condition at ``p``: a finite loss ``f(t) <= f(0) + c1 t f'(0)``."""
    return math.isfinite(p.loss) and p.loss <= start.loss + c1 * p.step * start.slope


def curvature_condition(start: TrialPoint, p: TrialPoint, c2: float) -> bool:
    """The strong curvature condition at ``p``: ``|f'(t)| <= c2 |f'(0)|``."""
    return abs(p.slope) <= -c2 * start.slope


class StrongWolfe:
    """Find a step ``t`` along ``d`` with sufficient decrease ``f(t) <= f(0) + c1 t f'(0)`` and
    curvature ``|f'(t)| <= c2 |f'(0)|``, within ``max_evals`` evaluations."""

    def __init__(self, evaluate: Evaluate, direction: np.ndarray, start: TrialPoint, c1: float,
                 c2: float, tolerance_change: float, max_evals: int) -> None:
        self.evaluate, self.direction, self.start = evaluate, direction, start
        self.c1, self.c2 = c1, c2
        self.tolerance_change, self.max_evals = tolerance_change, max_evals
        self.d_norm = float(np.abs(direction).max())
        self.evals = 0

    def _point(self, step: float) -> TrialPoint:
        loss, grad = self.evaluate(step)
        self.evals += 1
        return TrialPoint(step, loss, grad, float(grad.dot(self.direction)))

    def _too_high(self, p: TrialPoint, reference: float) -> bool:
        """No sufficient decrease at ``p``, or a loss not below ``reference``, or not finite."""
        return not sufficient_decrease(self.start, p, self.c1) or p.loss >= reference

    def _curvature_ok(self, p: TrialPoint) -> bool:
        return curvature_condition(self.start, p, self.c2)

    def search(self, step: float, first: TrialPoint | None = None) -> TrialPoint:
        """Algorithm 3.5: grow the step until an interval with an acceptable step is bracketed.
        ``first``: the trial at ``step``, when the caller has already evaluated it."""
        if first is None:
            cur = self._point(step)
        else:
            cur = first
            self.evals += 1
        prev = self.start
        while True:
            if self._too_high(cur, prev.loss if self.evals > 1 else math.inf):
                return self._zoom(prev, cur)
            if self._curvature_ok(cur):
                return cur
            if cur.slope >= 0:
                return self._zoom(cur, prev)
            if self.evals >= self.max_evals:
                return cur
            grown = _cubic_minimizer(prev, cur, cur.step + 0.01 * (cur.step - prev.step),
                                     10 * cur.step)
            prev, cur = cur, self._point(grown)

    def _zoom(self, lo: TrialPoint, hi: TrialPoint) -> TrialPoint:
        """Algorithm 3.6: shrink [lo, hi] (lo the lowest acceptable-decrease point so far) until a
        step satisfies both conditions; each trial stays 10% of the width away from the ends, so
        the interval shrinks by at least that much per evaluation."""
        while self.evals < self.max_evals and \
                abs(hi.step - lo.step) * self.d_norm >= self.tolerance_change:
            left, right = min(lo.step, hi.step), max(lo.step, hi.step)
            margin = 0.1 * (right - left)
            trial = self._point(_cubic_minimizer(lo, hi, left + margin, right - margin))
            if self._too_high(trial, lo.loss):
                hi = trial
                continue
            if self._curvature_ok(trial):
                return trial
            if trial.slope * (hi.step - lo.step) >= 0:
                hi = lo
            lo = trial
        return lo


class LBFGS(Optimizer):
    """Limited-memory BFGS with PyTorch's semantics: each :meth:`step` runs up to ``max_iter``
    iterations (``max_eval`` closure calls) of the two-loop recursion over the last
    ``history_size`` curvature pairs, with a fixed step ``lr`` (the first ever scaled by
    ``min(1, 1/|g|_1)``) or a strong-Wolfe line search; the history carries over between steps."""

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                                      tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change,
                                      history_size=history_size, line_search_fn=line_search_fn))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Only one group: L-BFGS works on all parameters as one flat vector."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("learning rate", group["lr"])
        check_nonnegative("tolerance_grad", group["tolerance_grad"])
        check_nonnegative("tolerance_change", group["tolerance_change"])
        for name in ("max_iter", "max_eval", "history_size"):
            value = group[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Invalid {name} value: {value!r} (it must be an int >= 1)")
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(f"Invalid line_search_fn: {group['line_search_fn']!r} (only None "
                             "and 'strong_wolfe' are supported)")

    @property
    def _params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        """All gradients as one new flat array (zeros for parameters without a gradient)."""
        dtype = np.result_type(*[p.dtype for p in self._params])
        parts = [np.zeros(p._data.size, dtype) if p.grad is None else p.grad._data.reshape(-1)
                 for p in self._params]
        return np.concatenate(parts).astype(dtype, copy=False)

    def _move(self, step: float, direction: np.ndarray) -> None:
        """Parameters += step * direction, in place."""
        offset = 0
        for p in self._params:
            n = p._data.size
            np.add(p._data, step * direction[offset:offset + n].reshape(p.shape), out=p._data,
                   casting="same_kind")
            p._version_counter[0] += 1
            offset += n

    def _evaluate_loss(self, closure: Callable[[], Any]) -> tuple[Any, float, np.ndarray]:
        """The closure's result, its value as a float, and the flat gradient it left."""
        loss = self._evaluate(closure)
        return loss, float(loss), self._flat_grad()

    def _directional(self, closure: Callable[[], Any], direction: np.ndarray) -> Evaluate:
        """Loss and gradient at ``x + step * direction``, the parameters put back to ``x`` after."""
        start = [p._data.copy() for p in self._params]

        def evaluate(step: float) -> tuple[float, np.ndarray]:
            self._move(step, direction)
            _, loss, grad = self._evaluate_loss(closure)
            for p, x in zip(self._params, start, strict=True):
                np.copyto(p._data, x)
            return loss, grad
        return evaluate

    @staticmethod
    def _two_loop(grad: np.ndarray, dirs: list[np.ndarray], steps: list[np.ndarray],
                  ro: list[float], h_diag: float) -> np.ndarray:
        """The L-BFGS direction ``-H g`` by the two-loop recursion (N&W Algorithm 7.4). Its dot
        products (here and in the line search) use ``ndarray.dot``, which costs less than ``@``
        on vectors of a few dozen elements."""
        q = -grad
        alphas = [0.0] * len(dirs)
        for i in reversed(range(len(dirs))):
            alphas[i] = float(steps[i].dot(q)) * ro[i]
            q -= alphas[i] * dirs[i]
        r = q * h_diag
        for i in range(len(dirs)):
            beta = float(dirs[i].dot(r)) * ro[i]
            r += (alphas[i] - beta) * steps[i]
        return r

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` recomputes the loss and gradients
        (zero_grad, forward, backward) and returns the loss. Returns the loss at the start."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that clears the gradients, computes the "
                            "loss, calls backward() and returns the loss")
        iterates = self.iterates(closure)
        orig_loss = next(iterates)[0]
        for _ in iterates:
            pass
        return orig_loss

    def iterates(self, closure: Callable[[], Any], line_search_evals: int | None = None
                  ) -> Iterator[tuple[Any, np.ndarray]]:
        """The iterations of one :meth:`step`, as a generator: it yields the loss (the closure's
        result) and the flat gradient at the start point, then the loss (a float) and the flat
        gradient at each accepted iterate.

        A caller with its own stopping rule may stop reading at any iterate; closing the generator
        saves the state exactly as a step ending there would (the estimator uses this to watch
        every iterate without a step per iteration). ``line_search_evals`` caps the evaluations of
        each strong-Wolfe search; by default only ``max_eval`` bounds them, as in PyTorch."""
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss, grad = self._evaluate_loss(closure)
        evals = 1
        state["func_evals"] += 1
        yield orig_loss, grad
        if np.abs(grad).max(initial=0.0) <= tolerance_grad:
            return

        direction = _array(state.get("d"))
        t = state.get("t")
        dirs = [_array(v) for v in state.get("old_dirs", [])]
        steps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag", 1.0)
        prev_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        try:
            while n_iter < max_iter:
                n_iter += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    dirs, steps, ro, h_diag = [], [], [], 1.0
                    direction = -grad
                else:
                    y = grad - prev_grad
                    s = direction * t
                    ys = float(y.dot(s))
                    if ys > 1e-10:
                        if len(dirs) == group["history_size"]:
                            del dirs[0], steps[0], ro[0]
                        dirs.append(y)
                        steps.append(s)
                        ro.append(1.0 / ys)
                        h_diag = ys / float(y.dot(y))
                    direction = self._two_loop(grad, dirs, steps, ro, h_diag)
                prev_grad, prev_loss = grad, loss
                t = min(1.0, 1.0 / float(np.abs(grad).sum())) * lr if state["n_iter"] == 1 else lr
                slope = float(grad.dot(direction))
                if slope > -tolerance_change:
                    break

                converged = False
                if group["line_search_fn"] == "strong_wolfe":
                    search = StrongWolfe(self._directional(closure, direction), direction,
                                         TrialPoint(0.0, loss, grad, slope), c1=1e-4, c2=0.9,
                                         tolerance_change=tolerance_change,
                                         max_evals=min(max_eval - evals,
                                                       line_search_evals or max_eval))
                    found = search.search(t)
                    t, loss, grad = found.step, found.loss, found.grad
                    self._move(t, direction)
                    converged = np.abs(grad).max() <= tolerance_grad
                    evals += search.evals
                    state["func_evals"] += search.evals
                    yield loss, grad
                else:
                    self._move(t, direction)
                    if n_iter != max_iter:
                        _, loss, grad = self._evaluate_loss(closure)
                        converged = np.abs(grad).max() <= tolerance_grad
                        evals += 1
                        state["func_evals"] += 1
                        yield loss, grad

                if n_iter == max_iter or evals >= max_eval or converged:
                    break
                if np.abs(direction * t).max() <= tolerance_change:
                    break
                if abs(loss - prev_loss) < tolerance_change:
                    break
        finally:
            state.update(d=_tensor(direction), t=t, old_dirs=[_tensor(v) for v in dirs],
                         old_stps=[_tensor(v) for v in steps], ro=ro, H_diag=h_diag,
                         prev_flat_grad=_tensor(prev_grad), prev_loss=prev_loss)


def _array(value: Tensor | None) -> np.ndarray | None:
    return None if value is None else value._data


def _tensor(value: np.ndarray | None) -> Tensor | None:
    return None if value is None else from_numpy(value)
