"""Op catalogue: the activations and losses beyond the lesson core's fused BCE with logits:
log-softmax and the negative log-likelihood that cross-entropy and nll_loss are built from,
``softmax``, PyTorch's ``softplus`` with beta and threshold, BCE on probabilities, MSE and L1, for
:mod:`tinygrad_lr.nn.functional`. Each forward beside its derivative rule, stable at extreme
inputs, in the rule vocabulary (so they differentiate again).
"""
from __future__ import annotations

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.kernels import elementwise as kernels
from tinygrad_lr.ops.rules import ReducedLoss


# ---- multiclass: log-softmax and the negative log-likelihood -----------------------------------
class AlongAxis(Function):
    """An op normalising along one axis (None for a 0-d input)."""
    __slots__ = ("axis",)

    def __init__(self, axis: int | None) -> None:
        self.axis = axis

    def shifted(self, x: np.ndarray) -> np.ndarray:
        """x minus its maximum along the axis (infinite maxima left unshifted)."""
        m = np.max(x, axis=self.axis, keepdims=True, initial=-np.inf)  # -inf when empty
        return x - np.where(np.isfinite(m), m, 0)


class LogSoftmax(AlongAxis):
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


class Softmax(AlongAxis):
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


class BinaryCrossEntropy(ReducedLoss):
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


class DifferenceLoss(ReducedLoss):
    """A loss of d = x - y: its rule is the slope f'(d) for x and -f'(d) for y."""
    __slots__ = ()

    def backward(self, g, xp, x, y):
        d = self.upstream(g) * self.slope(x - y, xp)
        return (d if self.needs[0] else None), (-d if self.needs[1] else None)


class MSELoss(DifferenceLoss):
    """(x - y)^2; slope 2 (x - y)."""
    __slots__ = ()

    def forward(self, x, y):
        d = x - y
        return self.reduce(d * d)

    def slope(self, d, xp):
        return 2 * d


class L1Loss(DifferenceLoss):
    """|x - y|; slope sign(x - y) (0 where x == y, as PyTorch)."""
    __slots__ = ()

    def forward(self, x, y):
        return self.reduce(np.abs(x - y))

    def slope(self, d, xp):
        return xp.sign(d)
