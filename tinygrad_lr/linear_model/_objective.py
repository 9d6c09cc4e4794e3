"""The logistic losses of a dense linear model as engine ops, fused over the rows of X: the
two-class loss (:class:`LogisticLoss`) and the multinomial one (:class:`SoftmaxLoss`).

Written with the engine's textbook ops, the loss X w + b -> binary cross-entropy reads X twice per
gradient (X w forward, X' r backward) and twice per Hessian-vector product; at the sizes where
this matters those reads are the whole cost. :class:`LogisticLoss` computes the loss and its
gradient in one blocked pass (``kernels.linear_loss``) and keeps the gradient for its rule. Its
rule under ``create_graph`` returns that gradient as the output of a second op,
:class:`LogisticGradient`, whose own rule is the Hessian-vector product, again one blocked pass;
so Newton's double backward (``FlatProblem.newton_system``) reads X once per product. Third and
higher derivatives fall back to the textbook formula written on ``xp``.

:class:`SoftmaxLoss` does the same for K classes: its forward computes the loss and its gradient
in W and b in one call (``kernels.linear_loss.softmax_loss_grad``, where the textbook graph
F.linear -> log_softmax -> weighted targets -> sum records and replays a dozen ops), its rule
returns the kept gradient, and under ``create_graph`` returns it through
:class:`SoftmaxGradient`, whose rule is the closed-form Hessian-vector product.

X, the targets y and the weights s are constants of the graph (tensors that do not require grad,
so that ``tl.compile`` replays them live); only the coefficients w and the intercept b are
differentiated.
"""
from __future__ import annotations

import numpy as np

from tinygrad_lr.autograd import Function, is_grad_enabled
from tinygrad_lr.kernels import linear_loss
from tinygrad_lr.ops.functional import log_softmax
from tinygrad_lr.tensor import Tensor


class LogisticLoss(Function):
    """sum_i s_i [softplus(z_i) - y_i z_i] for z = X w (+ b): inputs X (n, p), y (n,), s (n,)
    or () (one weight for all rows), w (p,) and optionally b (1,). Derivative: (X' r, sum r) for
    r = s (sigmoid(z) - y), computed with the loss in one pass over X when ``gradient`` is True
    (else the loss alone, one product), and kept for the rule."""
    __slots__ = ("gradient", "grads", "logits")

    def __init__(self, gradient: bool = True) -> None:
        self.gradient = gradient
        self.grads: tuple[np.ndarray, np.ndarray | None] | None = None
        self.logits: np.ndarray | None = None

    def forward(self, X, y, s, w, b=None):
        if not self.gradient:
            return linear_loss.logistic_loss(X, y, s, w, b)
        loss, grad_w, grad_b, self.logits = linear_loss.logistic_loss_grad(X, y, s, w, b)
        self.grads = (grad_w, grad_b)
        return loss

    def backward(self, g, xp, X, y, s, w, b=None):
        if any(self.needs[:3]):
            raise RuntimeError("LogisticLoss differentiates only the coefficients and the "
                               "intercept: X, the targets and the weights must not require grad")
        if xp.graph:  # the gradient as a node of the graph, for second derivatives
            inputs = (X, y, s, w) if b is None else (X, y, s, w, b)
            both = LogisticGradient.apply(*inputs, source=self)
            p = w.shape[0]
            grad_w = both[:p] * g
            grad_b = None if b is None else both[p:].reshape(b.shape) * g
        else:
            if self.grads is None:
                raise RuntimeError("LogisticLoss: backward through a loss computed without its "
                                   "gradient (gradient=False)")
            grad_w, grad_b = self.grads
            grad_w = grad_w * g
            grad_b = None if b is None else grad_b * g
        if b is None:
            return None, None, None, grad_w if self.needs[3] else None
        return (None, None, None, grad_w if self.needs[3] else None,
                grad_b if self.needs[4] else None)

    def release(self) -> None:
        """Also drop the kept gradient and logits."""
        super().release()
        self.grads = self.logits = None


class LogisticGradient(Function):
    """The gradient of :class:`LogisticLoss` at (w, b) as one vector [X' r, sum r] (the second
    part only with b); inputs as LogisticLoss's. Derivative: the Hessian times the output
    gradient (u, c), (X' t, sum t) for t = d (X u + c) and d = s sigmoid(z) (1 - sigmoid(z)), in
    one pass over X. ``source``: the LogisticLoss node whose forward already computed this
    gradient at the same arrays (its rule makes this op), so no pass over X is repeated."""
    __slots__ = ("source", "logits", "curvature")

    def __init__(self, source: LogisticLoss | None = None) -> None:
        self.source = source
        self.logits: np.ndarray | None = None
        self.curvature: np.ndarray | None = None

    def forward(self, X, y, s, w, b=None):
        source, self.source = self.source, None
        if source is not None and source.grads is not None and source.arity \
                and source.a0[3] is w and (b is None or source.a0[4] is b):
            (grad_w, grad_b), self.logits = source.grads, source.logits
        else:
            _, grad_w, grad_b, self.logits = linear_loss.logistic_loss_grad(X, y, s, w, b)
        return grad_w.copy() if b is None else np.concatenate([grad_w, grad_b.reshape(1)])

    def backward(self, u, xp, X, y, s, w, b=None):
        if any(self.needs[:3]):
            raise RuntimeError("LogisticGradient differentiates only the coefficients and the "
                               "intercept: X, the targets and the weights must not require grad")
        p = w.shape[0]
        u_w = u[:p]
        u_b = None if b is None else u[p:].reshape(b.shape)
        if xp.graph:  # third derivatives: the textbook formula, recorded
            z = X @ w if b is None else X @ w + b
            probability = xp.sigmoid(z)
            shifted = X @ u_w if b is None else X @ u_w + u_b
            t = s * probability * (1 - probability) * shifted
            product_w, product_b = t @ X, (None if b is None else t.sum().reshape(b.shape))
        else:
            if self.curvature is None:
                self.curvature = linear_loss.logistic_curvature(self.logits, s)
            product_w, product_b = linear_loss.logistic_hessian_vector(X, self.curvature, u_w,
                                                                       u_b)
        if b is None:
            return None, None, None, product_w if self.needs[3] else None
        return (None, None, None, product_w if self.needs[3] else None,
                product_b if self.needs[4] else None)

    def release(self) -> None:
        """Also drop the kept logits and curvature."""
        super().release()
        self.logits = self.curvature = None


def logistic_loss(X: Tensor, y: Tensor, s: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """sum_i s_i [softplus(z_i) - y_i z_i] for z = X w + b, differentiable in w and b to any
    order (the first two by fused passes over X). X (n, p), y (n,) and s (n,) of X's dtype are
    constants (s may be 0-d: one weight for every row); w (p,); b (1,) or None."""
    constants = (X, y, s)
    if any(t.requires_grad for t in constants):
        raise ValueError("logistic_loss: X, y and s are constants and must not require grad")
    if X.ndim != 2 or w.shape != (X.shape[1],) or y.shape != (X.shape[0],) \
            or s.shape not in (y.shape, ()) or (b is not None and b.shape != (1,)):
        raise ValueError(f"logistic_loss: shapes X {tuple(X.shape)}, y {tuple(y.shape)}, "
                         f"s {tuple(s.shape)}, w {tuple(w.shape)}"
                         + ("" if b is None else f", b {tuple(b.shape)}")
                         + " do not fit X (n, p), y (n,), s (n,) or (), w (p,), b (1,)")
    gradient = is_grad_enabled() and (w.requires_grad or (b is not None and b.requires_grad))
    inputs = (X, y, s, w) if b is None else (X, y, s, w, b)
    return LogisticLoss.apply(*inputs, gradient=gradient)


class SoftmaxLoss(Function):
    """-sum_i s_i log softmax(Z[:, i])[y_i] for logits Z = W X' + b: inputs X (n, p), the
    weighted one-hot targets T (K, n) (T[k, i] = s_i where row i is of class k, else 0), s (n,)
    or () (one weight for all rows), W (K, p) and optionally b (K,). Derivative: (R X, sum_i
    R[:, i]) for R = s P - T, computed with the loss in one kernel call and kept for the rule."""
    __slots__ = ("grads", "shifted", "sums")

    def __init__(self) -> None:
        self.grads: tuple[np.ndarray, np.ndarray | None] | None = None
        self.shifted: np.ndarray | None = None
        self.sums: np.ndarray | None = None

    def forward(self, X, T, s, W, b=None):
        loss, grad_W, grad_b, self.shifted, self.sums = linear_loss.softmax_loss_grad(X, T, s, W, b)
        self.grads = (grad_W, grad_b)
        return loss

    def backward(self, g, xp, X, T, s, W, b=None):
        if any(self.needs[:3]):
            raise RuntimeError("SoftmaxLoss differentiates only the coefficients and the "
                               "intercepts: X, the targets and the weights must not require grad")
        if xp.graph:  # the gradient as a node of the graph, for second derivatives
            inputs = (X, T, s, W) if b is None else (X, T, s, W, b)
            both = SoftmaxGradient.apply(*inputs, source=self)
            size = W.shape[0] * W.shape[1]
            grad_W = both[:size].reshape(W.shape) * g
            grad_b = None if b is None else both[size:] * g
        else:
            grad_W, grad_b = self.grads
            grad_W = grad_W * g
            grad_b = None if b is None else grad_b * g
        if b is None:
            return None, None, None, grad_W if self.needs[3] else None
        return (None, None, None, grad_W if self.needs[3] else None,
                grad_b if self.needs[4] else None)

    def release(self) -> None:
        """Also drop the kept gradient, shifted logits and sums."""
        super().release()
        self.grads = self.shifted = self.sums = None


class SoftmaxGradient(Function):
    """The gradient of :class:`SoftmaxLoss` at (W, b) as one flat vector [(R X).ravel(), sum_i
    R[:, i]] (the second part only with b); inputs as SoftmaxLoss's. Derivative: the Hessian
    times the output gradient (V, c) (``linear_loss.softmax_hessian_vector``). ``source``: the
    SoftmaxLoss node whose forward already computed this gradient at the same arrays."""
    __slots__ = ("source", "shifted", "sums", "probabilities")

    def __init__(self, source: SoftmaxLoss | None = None) -> None:
        self.source = source
        self.shifted: np.ndarray | None = None
        self.sums: np.ndarray | None = None
        self.probabilities: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, X, T, s, W, b=None):
        source, self.source = self.source, None
        if source is not None and source.grads is not None and source.arity \
                and source.a0[3] is W and (b is None or source.a0[4] is b):
            (grad_W, grad_b), self.shifted, self.sums = source.grads, source.shifted, source.sums
        else:
            _, grad_W, grad_b, self.shifted, self.sums = linear_loss.softmax_loss_grad(X, T, s, W,
                                                                                        b)
        flat = grad_W.reshape(-1)
        return flat.copy() if b is None else np.concatenate([flat, grad_b])

    def backward(self, u, xp, X, T, s, W, b=None):
        if any(self.needs[:3]):
            raise RuntimeError("SoftmaxGradient differentiates only the coefficients and the "
                               "intercepts: X, the targets and the weights must not require grad")
        size = W.shape[0] * W.shape[1]
        u_W = u[:size].reshape(W.shape)
        u_b = None if b is None else u[size:]
        if xp.graph:  # third derivatives: the textbook formula, recorded
            logits = X @ W.T if b is None else X @ W.T + b
            P = log_softmax(logits, 1).exp()
            shifted = X @ u_W.T if b is None else X @ u_W.T + u_b
            weights = s if not s.ndim else s.reshape(-1, 1)
            Q = weights * P * (shifted - (P * shifted).sum(1, keepdim=True))
            product_W, product_b = Q.T @ X, (None if b is None else Q.sum(0))
        else:
            if self.probabilities is None:
                self.probabilities = linear_loss.softmax_probabilities(self.shifted, self.sums, s)
            product_W, product_b = linear_loss.softmax_hessian_vector(X, *self.probabilities,
                                                                      u_W, u_b)
        if b is None:
            return None, None, None, product_W if self.needs[3] else None
        return (None, None, None, product_W if self.needs[3] else None,
                product_b if self.needs[4] else None)

    def release(self) -> None:
        """Also drop the kept logits, sums and probabilities."""
        super().release()
        self.shifted = self.sums = self.probabilities = None


def softmax_loss(X: Tensor, T: Tensor, s: Tensor, W: Tensor, b: Tensor | None = None) -> Tensor:
    """-sum_i s_i log softmax(W x_i + b)[y_i], differentiable in W and b to any order (the first
    two by the fused kernels). X (n, p), the weighted one-hot targets T (K, n) and s (n,) of X's
    dtype are constants (s may be 0-d: one weight for every row, which T then holds in every
    row's class); W (K, p); b (K,) or None."""
    if any(t.requires_grad for t in (X, T, s)):
        raise ValueError("softmax_loss: X, T and s are constants and must not require grad")
    K = T.shape[0]
    if X.ndim != 2 or T.ndim != 2 or T.shape[1] != X.shape[0] or W.shape != (K, X.shape[1]) \
            or s.shape not in ((X.shape[0],), ()) or (b is not None and b.shape != (K,)):
        raise ValueError(f"softmax_loss: shapes X {tuple(X.shape)}, T {tuple(T.shape)}, "
                         f"s {tuple(s.shape)}, W {tuple(W.shape)}"
                         + ("" if b is None else f", b {tuple(b.shape)}")
                         + " do not fit X (n, p), T (K, n), s (n,) or (), W (K, p), b (K,)")
    inputs = (X, T, s, W) if b is None else (X, T, s, W, b)
    return SoftmaxLoss.apply(*inputs)
