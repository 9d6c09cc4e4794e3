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

:class:`LinearLines` (:class:`LogisticLines`, :class:`SoftmaxLines`) are the same objectives on
arrays for Newton's method in logit space: they keep the logits of the current point, so that
the objective along a step and the gradient where it lands cost fewer passes over X.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_lr.autograd import Function, is_grad_enabled
from tinygrad_lr.kernels import linear_loss
from tinygrad_lr.ops.functional import log_softmax
from tinygrad_lr.tensor import Tensor


class FusedLoss(Function):
    """A loss of a linear model whose forward computes the loss and its gradient in the
    coefficients (w or W) and the intercept b in one kernel call, keeping the gradient (and what
    its Hessian-vector product needs) for the rule. Inputs: the constants X, the targets, the
    weights s, then w and optionally b. Under ``create_graph`` the rule returns the gradient as
    the output of :attr:`gradient_op`, whose own rule is the Hessian-vector product."""
    __slots__ = ("grads", "kept")
    gradient_op: type["FusedGradient"]

    def __init__(self) -> None:
        self.grads: tuple[np.ndarray, np.ndarray | None] | None = None
        self.kept: tuple[np.ndarray, ...] | None = None  # what the product needs

    @staticmethod
    def loss_and_gradient(X, targets, s, w, b):
        """(loss, gradient in w, gradient in b or None, what the product needs), one call."""
        raise NotImplementedError

    def forward(self, X, targets, s, w, b=None):
        loss, grad_w, grad_b, *self.kept = self.loss_and_gradient(X, targets, s, w, b)
        self.grads = (grad_w, grad_b)
        return loss

    def backward(self, g, xp, X, targets, s, w, b=None):
        refuse_constant_gradients(self)
        if xp.graph:  # the gradient as a node of the graph, for second derivatives
            inputs = (X, targets, s, w) if b is None else (X, targets, s, w, b)
            grad_w, grad_b = split(self.gradient_op.apply(*inputs, source=self), w, b)
        else:
            if self.grads is None:
                raise RuntimeError(f"{type(self).__name__}: backward through a loss computed "
                                   "without its gradient (gradient=False)")
            grad_w, grad_b = self.grads
        return coefficient_gradients(self.needs, grad_w * g, None if b is None else grad_b * g)

    def release(self) -> None:
        """Also drop the kept gradient and what the product needs."""
        super().release()
        self.grads = self.kept = None


class FusedGradient(Function):
    """The gradient of a :class:`FusedLoss` at (w, b) as one flat vector [w's part, b's part]
    (the second only with b); inputs as the loss's. Derivative: the Hessian times the output
    gradient, by the loss's closed-form product (the textbook formula, recorded, for third
    derivatives). ``source``: the loss node whose forward already computed this gradient at the
    same arrays (its rule makes this op), so its kernel call is not repeated."""
    __slots__ = ("source", "kept", "curvature")
    loss_op: type[FusedLoss]

    def __init__(self, source: FusedLoss | None = None) -> None:
        self.source = source
        self.kept: tuple[np.ndarray, ...] | None = None
        self.curvature: Any = None  # the product's weights, made from ``kept`` on first use

    def forward(self, X, targets, s, w, b=None):
        source, self.source = self.source, None
        if source is not None and source.grads is not None and source.arity \
                and source.a0[3] is w and (b is None or source.a0[4] is b):
            (grad_w, grad_b), self.kept = source.grads, source.kept
        else:
            _, grad_w, grad_b, *self.kept = self.loss_op.loss_and_gradient(X, targets, s, w, b)
        flat = grad_w.reshape(-1)
        return flat.copy() if b is None else np.concatenate([flat, grad_b.reshape(-1)])

    def textbook_product(self, xp, X, s, w, b, u_w, u_b):
        """The Hessian-vector product written with the engine's ops (third derivatives)."""
        raise NotImplementedError

    def product(self, X, s, u_w, u_b):
        """The Hessian-vector product by the fused kernel, on arrays."""
        raise NotImplementedError

    def backward(self, u, xp, X, targets, s, w, b=None):
        refuse_constant_gradients(self)
        u_w, u_b = split(u, w, b)
        if xp.graph:
            product_w, product_b = self.textbook_product(xp, X, s, w, b, u_w, u_b)
        else:
            product_w, product_b = self.product(X, s, u_w, u_b)
        return coefficient_gradients(self.needs, product_w, product_b)

    def release(self) -> None:
        """Also drop what the product needs."""
        super().release()
        self.kept = self.curvature = None


def refuse_constant_gradients(node: Function) -> None:
    """X, the targets and the weights are constants of these ops: refuse to differentiate them."""
    if any(node.needs[:3]):
        raise RuntimeError(f"{type(node).__name__} differentiates only the coefficients and the "
                           "intercept: X, the targets and the weights must not require grad")


def split(flat: Any, w: Any, b: Any) -> tuple[Any, Any]:
    """A flat vector [w's part, b's part] as parts shaped as w and b (None without b)."""
    size = math.prod(w.shape)
    return flat[:size].reshape(w.shape), None if b is None else flat[size:].reshape(b.shape)


def coefficient_gradients(needs: tuple[bool, ...], grad_w: Any, grad_b: Any) -> tuple:
    """The rule's result: nothing for the three constants, then w's and (with b) b's part."""
    if len(needs) == 4:
        return None, None, None, grad_w if needs[3] else None
    return None, None, None, grad_w if needs[3] else None, grad_b if needs[4] else None


class LogisticLoss(FusedLoss):
    """sum_i s_i [softplus(z_i) - y_i z_i] for z = X w (+ b): inputs X (n, p), y (n,), s (n,)
    or () (one weight for all rows), w (p,) and optionally b (1,). Derivative: (X' r, sum r) for
    r = s (sigmoid(z) - y), computed with the loss in one pass over X when ``gradient`` is True
    (else the loss alone, one product), and kept for the rule with the logits."""
    __slots__ = ("gradient",)

    def __init__(self, gradient: bool = True) -> None:
        super().__init__()
        self.gradient = gradient

    @staticmethod
    def loss_and_gradient(X, y, s, w, b):
        return linear_loss.logistic_loss_grad(X, y, s, w, b)

    def forward(self, X, y, s, w, b=None):
        if not self.gradient:
            return linear_loss.logistic_loss(X, y, s, w, b)
        return super().forward(X, y, s, w, b)


class LogisticGradient(FusedGradient):
    """[X' r, sum r] (see :class:`LogisticLoss`). Derivative: the Hessian times the output
    gradient (u, c), (X' t, sum t) for t = d (X u + c) and d = s sigmoid(z) (1 - sigmoid(z)), in
    one pass over X."""
    __slots__ = ()
    loss_op = LogisticLoss

    def textbook_product(self, xp, X, s, w, b, u_w, u_b):
        z = X @ w if b is None else X @ w + b
        probability = xp.sigmoid(z)
        shifted = X @ u_w if b is None else X @ u_w + u_b
        t = s * probability * (1 - probability) * shifted
        return t @ X, (None if b is None else t.sum().reshape(b.shape))

    def product(self, X, s, u_w, u_b):
        if self.curvature is None:
            (logits,) = self.kept
            self.curvature = linear_loss.logistic_curvature(logits, s)
        return linear_loss.logistic_hessian_vector(X, self.curvature, u_w, u_b)


LogisticLoss.gradient_op = LogisticGradient


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


class SoftmaxLoss(FusedLoss):
    """-sum_i s_i log softmax(Z[:, i])[y_i] for logits Z = W X' + b: inputs X (n, p), the
    weighted one-hot targets T (K, n) (T[k, i] = s_i where row i is of class k, else 0), s (n,)
    or () (one weight for all rows), W (K, p) and optionally b (K,). Derivative: (R X, sum_i
    R[:, i]) for R = s P - T, computed with the loss in one kernel call and kept for the rule
    with the shifted logits and their exponentials' sums."""
    __slots__ = ()

    @staticmethod
    def loss_and_gradient(X, T, s, W, b):
        return linear_loss.softmax_loss_grad(X, T, s, W, b)


class SoftmaxGradient(FusedGradient):
    """[(R X).ravel(), sum_i R[:, i]] (see :class:`SoftmaxLoss`). Derivative: the Hessian times
    the output gradient (V, c) (``linear_loss.softmax_hessian_vector``)."""
    __slots__ = ()
    loss_op = SoftmaxLoss

    def textbook_product(self, xp, X, s, W, b, u_W, u_b):
        logits = X @ W.T if b is None else X @ W.T + b
        P = log_softmax(logits, 1).exp()
        shifted = X @ u_W.T if b is None else X @ u_W.T + u_b
        weights = s if not s.ndim else s.reshape(-1, 1)
        Q = weights * P * (shifted - (P * shifted).sum(1, keepdim=True))
        return Q.T @ X, (None if b is None else Q.sum(0))

    def product(self, X, s, u_W, u_b):
        if self.curvature is None:
            self.curvature = linear_loss.softmax_probabilities(*self.kept, s)
        return linear_loss.softmax_hessian_vector(X, *self.curvature, u_W, u_b)


SoftmaxLoss.gradient_op = SoftmaxGradient


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


class LinearLines:
    """The objective of a dense linear model, loss(Z) + alpha/2 |W|^2 with logits Z = W X' + b,
    for Newton's method in logit space, on arrays (theta = [W.ravel(), b], b only with an
    intercept; float64 in and out, X's dtype inside). The two-class (:class:`LogisticLines`)
    and the multinomial (:class:`SoftmaxLines`) losses fill in the kernels.

    The objective depends on theta only through the logits and W, and a Newton step is a
    combination of the vectors conjugate gradients multiplied by the Hessian, each product
    forming that vector's image in logit space (X u + c) anyway. So the model keeps the logits
    of its current point and, through the products (``hessian_times``, ``add_step``), the image
    of the direction as it is built: the objective along the line (``along``) is then a
    function of Z + t U and W + t V, evaluated with no product with X (a line search can go
    near the line's minimum at the cost of elementwise work on the logits), and the point it
    moves to (``move``) has known logits, so its gradient costs one product with X, where an
    evaluation from theta costs two. See benchmarks/SPEED_LOG.md (issue 15, Newton in logit
    space).
    """
    # Whether ``move`` can multiply the new point's Hessian by vectors in its gradient's pass at
    # a lower cost than ``hessian_times`` (the caller then guesses one: see LogisticLines).
    multiplies_ahead = False
    # Whether Newton should search each line to near its minimum (`_solvers._line_minimum`)
    # rather than take the first step with Armijo's decrease from t = 1 (measured, searched
    # against not, gradient passes + products: 50,000x500 6 + 3 against 6 + 5, 100,000x100 6 + 2
    # against 7 + 4; the digits' softmax, products: 99 against 94, so not there).
    searches_line = False

    def __init__(self, X: np.ndarray, s: np.ndarray, alpha: float, intercept: bool,
                 n_weights: int, logits_shape: tuple[int, ...]) -> None:
        self.X, self.s = X, s  # s: one weight per row, or 0-d shared by all
        self.s64 = s.astype(np.float64)
        self.alpha, self.intercept, self.n_weights = float(alpha), intercept, n_weights
        self.theta: np.ndarray | None = None
        self.logits: np.ndarray | None = None  # of theta, in X's dtype
        self.image = np.empty(logits_shape, X.dtype)  # of the last vector multiplied
        self.direction_image = np.zeros(logits_shape)  # of the direction being built (float64)
        self.steps = 0  # steps taken into that direction
        self.known: list[np.ndarray] = []  # images of the vectors ``move`` multiplied

    def _system(self, loss: Any, grad_w: np.ndarray, grad_b: np.ndarray | None
                ) -> tuple[float, np.ndarray]:
        """The objective's value and float64 gradient at the current point from the loss's."""
        w = self.theta[:self.n_weights]
        gradient = np.empty(self.theta.size)
        gradient[:self.n_weights] = grad_w.reshape(-1)
        gradient[:self.n_weights] += self.alpha * w
        if self.intercept:
            gradient[self.n_weights:] = grad_b
        return float(loss) + 0.5 * self.alpha * float(w.dot(w)), gradient

    def _product(self, vector: np.ndarray, product_w: np.ndarray, product_b: Any) -> np.ndarray:
        """H v in float64 from the loss's product parts: the penalty's alpha v added."""
        product = np.empty(vector.size)
        product[:self.n_weights] = product_w.reshape(-1)
        product[:self.n_weights] += self.alpha * vector[:self.n_weights]
        if self.intercept:
            product[self.n_weights:] = product_b
        return product

    def begin_direction(self) -> None:
        """A new direction is built from here on (``start_from``, ``add_step``)."""
        self.direction_image[...] = 0.0
        self.steps = 0

    def start_from(self, coefficients: np.ndarray) -> None:
        """The direction starts as this combination of the vectors ``move`` multiplied."""
        for coefficient, image in zip(coefficients, self.known):
            self.direction_image += coefficient * image
        self.steps += 1

    def add_step(self, coefficient: float) -> None:
        """The direction gained ``coefficient`` times the last vector multiplied (its image)."""
        self.direction_image += coefficient * self.image
        self.steps += 1

    def image_of(self, vector: np.ndarray) -> np.ndarray:
        """The image of a vector in logit space, by a product with X."""
        raise NotImplementedError

    def loss_along(self, image: np.ndarray, t: float) -> tuple[float, float, float]:
        """The loss at the logits plus t image, and its first two derivatives in t."""
        raise NotImplementedError

    def along(self, direction: np.ndarray) -> Callable[[float], tuple[float, float, float]]:
        """phi(t) = the objective at theta + t direction, with phi'(t) and phi''(t), by no
        product with X: the direction's image was built with it (a direction made without a
        product, the steepest descent, takes one)."""
        if self.steps == 0:
            self.direction_image[...] = self.image_of(direction)
        image = self.direction_image
        w, u = self.theta[:self.n_weights], direction[:self.n_weights]
        ww, wu, uu = float(w.dot(w)), float(w.dot(u)), float(u.dot(u))
        alpha = self.alpha

        def phi(t: float) -> tuple[float, float, float]:
            loss, slope, curvature = self.loss_along(image, t)
            return (loss + 0.5 * alpha * (ww + t * (2 * wu + t * uu)),
                    slope + alpha * (wu + t * uu), curvature + alpha * uu)
        return phi

    def step_to(self, direction: np.ndarray, t: float) -> np.ndarray:
        """theta and the logits moved by t along the last line; the direction's image."""
        self.theta = self.theta + t * direction
        moved = self.direction_image
        self.logits += (t * moved).astype(self.X.dtype, copy=False)
        return moved


class LogisticLines(LinearLines):
    """:class:`LinearLines` for the two-class loss sum_i s_i [softplus(z_i) - y_i z_i]
    (z = X w + b). For an X far larger than the caches, the new point's gradient pass also
    multiplies its Hessian by a vector the caller guesses the next solve will want, and by the
    direction just taken (whose image is known): a block of X, once read for the gradient, serves
    both products from cache (``move``'s ``ahead``)."""
    multiplies_ahead = True
    searches_line = True

    def __init__(self, X: np.ndarray, y: np.ndarray, s: np.ndarray, alpha: float,
                 intercept: bool) -> None:
        super().__init__(X, s, alpha, intercept, X.shape[1], (X.shape[0],))
        self.y, self.y64 = y, y.astype(np.float64)
        self.curvature: np.ndarray | None = None  # of theta, made on the first product

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        dtype = self.X.dtype
        w = theta[:self.n_weights].astype(dtype)
        return w, theta[self.n_weights:].astype(dtype) if self.intercept else None

    def start(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient at theta: logits by the fused pass (none from zero)."""
        self.theta = theta.astype(np.float64)
        self.curvature = None
        w, b = self._split(theta)
        if theta.any():
            loss, grad_w, grad_b, self.logits = linear_loss.logistic_loss_grad(
                self.X, self.y, self.s, w, b)
        else:
            self.logits = np.zeros(self.X.shape[0], self.X.dtype)
            loss, grad_w, grad_b = linear_loss.logistic_loss_grad_from_logits(
                self.X, self.y, self.s, self.logits, self.intercept)
        return self._system(loss, grad_w, grad_b)

    def hessian_times(self, vector: np.ndarray) -> np.ndarray:
        """H v at the current point (one fused pass over X), keeping v's image X u + c."""
        if self.curvature is None:
            self.curvature = linear_loss.logistic_curvature(self.logits, self.s)
        u, c = self._split(vector)
        product_w, product_b = linear_loss.logistic_hessian_vector(
            self.X, self.curvature, u, c, image=self.image)
        return self._product(vector, product_w, product_b)

    def image_of(self, vector: np.ndarray) -> np.ndarray:
        u, c = self._split(vector)
        return self.X @ u + (0.0 if c is None else c)

    def loss_along(self, image: np.ndarray, t: float) -> tuple[float, float, float]:
        return linear_loss.logistic_loss_along(self.logits, image, self.y64, self.s64, t)

    def move(self, direction: np.ndarray, t: float, ahead: np.ndarray | None = None
             ) -> tuple[float, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Go to theta + t direction along the last line (``along``): its logits are z + t q, so
        its value and gradient cost one product X' r. With ``ahead``, the same pass also gives
        the new point's Hessian times ``ahead`` and times ``direction`` (whose image q is known:
        no product X u for it), returned as [(ahead, H ahead), (direction, H direction)] (empty
        without ``ahead``) for ``start_from``."""
        moved = self.step_to(direction, t)
        self.curvature = None
        if ahead is None:
            loss, grad_w, grad_b = linear_loss.logistic_loss_grad_from_logits(
                self.X, self.y, self.s, self.logits, self.intercept)
            self.known = []
            return (*self._system(loss, grad_w, grad_b), [])
        loss, residuals = linear_loss.logistic_residuals(self.logits, self.y, self.s)
        curvature = linear_loss.logistic_curvature(self.logits, self.s)
        u, c = self._split(ahead)
        sums_w, sums_b = linear_loss.logistic_gradient_and_products(
            self.X, residuals, curvature, u, c, known=moved, image=self.image)
        value, gradient = self._system(loss, sums_w[0], None if sums_b is None else sums_b[0])
        self.curvature = curvature
        self.known = [self.image.astype(np.float64), moved]
        self.direction_image = np.zeros_like(moved)
        products = [(ahead, self._product(ahead, sums_w[1], None if sums_b is None
                                          else sums_b[1])),
                    (direction, self._product(direction, sums_w[2], None if sums_b is None
                                              else sums_b[2]))]
        return value, gradient, products


class SoftmaxLines(LinearLines):
    """:class:`LinearLines` for the multinomial loss (see :class:`SoftmaxLoss`; logits (K, n),
    T the weighted one-hot targets). X' is kept as a contiguous copy when X has at most
    ``transposed_max_bytes`` (the products' V X' is faster on it than on X's transposed view);
    the probabilities are made once per point, for its gradient and all its products."""

    def __init__(self, X: np.ndarray, T: np.ndarray, s: np.ndarray, alpha: float,
                 intercept: bool, transposed_max_bytes: float) -> None:
        K = T.shape[0]
        super().__init__(X, s, alpha, intercept, K * X.shape[1], T.shape)
        self.T, self.T64 = T, T.astype(np.float64)
        self.XT = np.ascontiguousarray(X.T) if X.nbytes <= transposed_max_bytes else X.T
        self.probabilities: tuple[np.ndarray, np.ndarray] | None = None  # P and s P at theta
        self.kept: tuple[np.ndarray, np.ndarray] | None = None  # shifted logits and sums

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        dtype = self.X.dtype
        W = theta[:self.n_weights].reshape(self.T.shape[0], -1).astype(dtype)
        return W, theta[self.n_weights:].astype(dtype) if self.intercept else None

    def _at_logits(self) -> tuple[float, np.ndarray]:
        loss, grad_W, grad_b, *self.kept = linear_loss.softmax_loss_grad_from_logits(
            self.X, self.T, self.s, self.logits, self.intercept)
        self.probabilities = None
        return self._system(loss, grad_W, grad_b)

    def start(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient at theta (the logits by one product)."""
        self.theta = theta.astype(np.float64)
        self.logits = self.image_of(self.theta).astype(self.X.dtype)
        return self._at_logits()

    def hessian_times(self, vector: np.ndarray) -> np.ndarray:
        """H v at the current point (two products with X), keeping v's image V X' + c."""
        if self.probabilities is None:
            self.probabilities = linear_loss.softmax_probabilities(*self.kept, self.s)
        V, c = self._split(vector)
        product_W, product_b = linear_loss.softmax_hessian_vector(
            self.X, *self.probabilities, V, c, XT=self.XT, image=self.image)
        return self._product(vector, product_W, product_b)

    def image_of(self, vector: np.ndarray) -> np.ndarray:
        V, c = self._split(vector)
        image = V @ self.XT
        if c is not None:
            image += c[:, None]
        return image

    def loss_along(self, image: np.ndarray, t: float) -> tuple[float, float, float]:
        return linear_loss.softmax_loss_along(self.logits, image, self.T64, self.s64, t)

    def move(self, direction: np.ndarray, t: float, ahead: np.ndarray | None = None
             ) -> tuple[float, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Go to theta + t direction along the last line (``along``): its logits are
        Z + t U, so its value and gradient cost one product R X. (No products ahead: there is
        no pass over a large X to share.)"""
        self.step_to(direction, t)
        return (*self._at_logits(), [])
