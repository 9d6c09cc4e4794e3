"""Fused activations and losses for :mod:`tinygrad_lr.nn.functional`: each forward beside its
derivative rule, stable at extreme inputs.

The rules use only the engine's vocabulary (operators, ``.sum``/``.reshape``, ``xp.*``), so under
``create_graph=True`` they run on Tensors and second derivatives (e.g. the Hessian a Newton solver
needs) come from the same code.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.kernels import elementwise as kernels

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> None:
    """Reject a reduction other than 'none', 'mean' or 'sum', naming it."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction "
                         f"(expected one of {', '.join(map(repr, REDUCTIONS))})")


def _softplus_rule(xp: Any, z: Any) -> Any:
    """log(1 + e^z) in the rule vocabulary, finite for any z: max(z, 0) - log(sigmoid(|z|))."""
    return z * (z > 0) - xp.log(xp.sigmoid(xp.sign(z) * z))


class ScaledSoftplus(Function):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's softplus)."""
    __slots__ = ("beta", "threshold")

    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        scaled = x * self.beta
        return np.where(scaled > self.threshold, x, kernels.softplus(scaled) / self.beta)

    def backward(self, g, xp, x):
        scaled = x * self.beta
        linear = scaled > self.threshold
        return g * xp.sigmoid(scaled) * ~linear + g * linear


class _AlongAxis(Function):
    """Shared set-up for the ops normalising along one axis (None for a 0-d input)."""
    __slots__ = ("axis",)

    def __init__(self, axis: int | None) -> None:
        self.axis = axis

    def shifted(self, x: np.ndarray) -> np.ndarray:
        """x minus its maximum along the axis (infinite maxima left unshifted)."""
        m = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)  # -inf when empty
        return x - np.where(np.isfinite(m), m, 0)


class Softmax(_AlongAxis):
    """exp(x) / sum(exp(x)) along an axis, computed from x - max so it cannot overflow."""
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        e = np.exp(self.shifted(x))
        self.out = e / e.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, g, xp, x):
        s = self.result(xp)
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(_AlongAxis):
    """x - logsumexp(x) along an axis, stable for any finite logits."""
    __slots__ = ()
    reads = ()
    saves_output = True

    def forward(self, x):
        z = self.shifted(x)
        with np.errstate(divide="ignore"):  # log(0) over an empty axis: an empty result anyway
            self.out = z - np.log(np.exp(z).sum(axis=self.axis, keepdims=True))
        return self.out

    def backward(self, g, xp, x):
        return g - xp.exp(self.result(xp)) * g.sum(axis=self.axis, keepdims=True)


class _ReducedLoss(Function):
    """A loss computed elementwise, then returned as is (``none``), summed or averaged.

    ``weight`` (and ``pos_weight`` where used) are constant arrays already broadcastable to the
    input's shape and of its dtype.
    """
    __slots__ = ("reduction", "count", "weight")

    def __init__(self, reduction: str, weight: np.ndarray | None = None) -> None:
        self.reduction, self.weight, self.count = reduction, weight, 1

    def reduce(self, loss: np.ndarray) -> np.ndarray:
        """Apply the reduction (and the weight) to the elementwise loss."""
        if self.weight is not None:  # every caller passes a fresh array: scale it in place
            loss = np.multiply(loss, self.weight, out=loss if type(loss) is np.ndarray else None)
        self.count = loss.size
        if self.reduction == "none":
            return loss
        total = np.add.reduce(loss, axis=None)
        return total / loss.size if self.reduction == "mean" else total

    def upstream(self, g: Any) -> Any:
        """The output gradient as the factor of each element's derivative (weight included)."""
        if self.reduction == "mean":
            g = g / self.count
        return g if self.weight is None else g * self.weight


class BinaryCrossEntropy(_ReducedLoss):
    """-w [y log x + (1 - y) log(1 - x)] on probabilities x, each log clamped at -100 as PyTorch
    does; the derivative (x - y) / max(x (1 - x), eps) stays finite at x = 0 and x = 1."""
    __slots__ = ()
    LOG_FLOOR = -100.0
    # PyTorch clamps x (1 - x) at 1e-12 taken as a float32 constant (its gradient at x = 0, y = 1
    # is -1/float32(1e-12) = -1.0000000039958e12 in float64).
    EPS = float(np.float32(1e-12))

    def forward(self, x, y):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), self.LOG_FLOOR)
            log_not_x = np.maximum(np.log1p(-x), self.LOG_FLOOR)
        return self.reduce((y - 1) * log_not_x - y * log_x)

    def backward(self, g, xp, x, y):
        g = self.upstream(g)
        gx = gy = None
        if self.needs[0]:
            variance = x * (1 - x)
            clamped = variance + (self.EPS - variance) * (variance < self.EPS)
            gx = g * (x - y) / clamped
        if self.needs[1]:
            with np.errstate(divide="ignore"):
                gy = g * (xp.log(1 - x) - xp.log(x))
        return gx, gy


class BinaryCrossEntropyWithLogits(_ReducedLoss):
    """-w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] on logits x (p = pos_weight), as
    (1 - y) x + (1 + (p - 1) y) softplus(-x): finite for any x; derivative w (sigmoid(x) - y).

    The common case (no weights, x and y of one shape, a summed or averaged loss) runs the fused
    kernels: the loss in three passes over x, the derivative in one (see kernels.elementwise)."""
    __slots__ = ("pos_weight", "fused", "e", "nonnegative")

    def __init__(self, reduction: str, weight: np.ndarray | None = None,
                 pos_weight: np.ndarray | None = None) -> None:
        super().__init__(reduction, weight)
        self.pos_weight = pos_weight

    def forward(self, x, y):
        self.fused = (self.pos_weight is None and self.weight is None
                      and self.reduction != "none" and x.shape == y.shape)
        if self.fused:  # e^-|x| and the mask x >= 0 are kept for the derivative's sigmoid
            self.count = x.size
            total, self.e, self.nonnegative = kernels.bce_with_logits_sum(x, y)
            return total / x.size if self.reduction == "mean" else total
        softplus_neg = kernels.softplus(-x)
        if self.pos_weight is not None:
            softplus_neg = (1 + (self.pos_weight - 1) * y) * softplus_neg
        return self.reduce((1 - y) * x + softplus_neg)

    def backward(self, g, xp, x, y):
        g = self.upstream(g)
        p = self.pos_weight
        gx = gy = None
        if self.needs[0]:
            if self.fused and not xp.graph:
                # the same arithmetic, fused, from the forward's e^-|x| and mask
                gx = kernels.bce_with_logits_grad(self.e, self.nonnegative, x, y, g)
            else:
                s = xp.sigmoid(x)
                gx = (s - y) * g if p is None else g * ((1 + (p - 1) * y) * s - p * y)
        if self.needs[1]:
            gy = -g * x if p is None else g * ((p - 1) * _softplus_rule(xp, -x) - x)
        return gx, gy

    def release(self) -> None:
        """Also drop the kept e^-|x| and mask."""
        super().release()
        self.e = self.nonnegative = None


class MSELoss(_ReducedLoss):
    """(x - y)^2; derivative 2 (x - y)."""
    __slots__ = ()

    def forward(self, x, y):
        d = x - y
        return self.reduce(d * d)

    def backward(self, g, xp, x, y):
        d = self.upstream(g) * 2 * (x - y)
        return (d if self.needs[0] else None), (-d if self.needs[1] else None)


class L1Loss(_ReducedLoss):
    """|x - y|; derivative sign(x - y) (0 where x == y, as PyTorch)."""
    __slots__ = ()

    def forward(self, x, y):
        return self.reduce(np.abs(x - y))

    def backward(self, g, xp, x, y):
        d = self.upstream(g) * xp.sign(x - y)
        return (d if self.needs[0] else None), (-d if self.needs[1] else None)


class NegativeLogLikelihood(Function):
    """-sum_c A[..., c, ...] logp[..., c, ...] for a constant coefficient array A, per sample or
    in total. Class-index or probability targets, class weights, ignore_index, label smoothing
    and the weighted mean all fold into A, so this one linear op serves nll_loss and
    cross_entropy (which feeds it log_softmax)."""
    __slots__ = ("coef", "axis", "total")

    def __init__(self, coef: np.ndarray, axis: int, total: bool) -> None:
        self.coef, self.axis, self.total = coef, axis, total

    def forward(self, logp):
        # Only terms with a nonzero coefficient count, so a log-probability of -inf in a class
        # that is not the target gives a finite loss (0 * -inf would be nan).
        terms = np.multiply(self.coef, logp, out=np.zeros_like(logp), where=self.coef != 0)
        return -terms.sum() if self.total else -terms.sum(axis=self.axis)

    def backward(self, g, xp, logp):
        if not self.total:
            g = g.reshape(g.shape[:self.axis] + (1,) + g.shape[self.axis:])
        return g * -self.coef
