"""The weighted logistic loss of a linear model, its gradient and its Hessian-vector products, each
in one blocked pass over the rows of X.

For logits z = X w + b, targets y and weights s, the loss is
L = sum_i s_i [softplus(z_i) - y_i z_i], its gradient (X' r, sum r) for the residuals
r = s (sigmoid(z) - y), and its Hessian times a vector (u, c) is (X' t, sum t) for
t = d (X u + c) and the curvature d = s sigmoid(z) (1 - sigmoid(z)). Written as two
matrix-vector products, each reads all of X from memory, and where X is much larger than the
caches those reads are the cost. So the fast kernels walk such an X (``LOSS_BLOCKED_MIN_BYTES``
on) in blocks of rows small enough to stay in cache (``LOSS_BLOCK_BYTES``): each block is
multiplied by the coefficients, its residuals are formed, and it is multiplied by them while
still in cache, so X is read from memory once per gradient and once per Hessian-vector product.
A smaller X is multiplied whole, twice (its second product reads it from cache).

Newton in logit space (``linear_model._objective.LinearLines``) knows the logits of the points it
reaches, so it takes kernels that start from them: the loss and gradient with one product
(``*_from_logits``), the gradient together with Hessian-vector products in one blocked pass
(`logistic_gradient_and_products`), and the loss along a line z + t q with its derivatives in t
and no product at all (``*_loss_along``).

Each fast kernel has a plain ``*_reference`` beside it, the textbook two-pass formula that
``tests/test_linear_loss.py`` holds it to. Products stay in X's dtype (float32 data, float32
products); the blocks' partial sums are added in float64. The weights s are one per row, or one
0-d weight shared by all rows (then applied to the sums rather than to every row).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.kernels.elementwise import exp_neg_abs
from tinygrad_lr.kernels.pool import new_array
from tinygrad_lr.kernels.tuning import LOSS_BLOCK_BYTES, LOSS_BLOCKED_MIN_BYTES, POOL_MIN_BYTES


def block_rows(X: np.ndarray) -> int:
    """Rows per block: as many as fit in ``LOSS_BLOCK_BYTES`` of X (at least one); all of them
    for an X under ``LOSS_BLOCKED_MIN_BYTES``, which the caches hold whole (its second product
    reads it from cache anyway, and blocks would only add calls)."""
    if X.nbytes < LOSS_BLOCKED_MIN_BYTES:
        return max(1, X.shape[0])
    return max(1, int(LOSS_BLOCK_BYTES) // max(1, X.shape[1] * X.itemsize))


def _vector(n: int, dtype: np.dtype) -> np.ndarray:
    """An uninitialised vector: pooled when large (``new_array``), else plain ``np.empty``
    (which small problems, evaluated thousands of times, take with less overhead)."""
    return new_array((n,), dtype) if n * dtype.itemsize >= POOL_MIN_BYTES else np.empty(n, dtype)


def _logits(X: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """z = X w + b in a fresh (large: pooled) array."""
    z = np.matmul(X, w, out=_vector(X.shape[0], X.dtype))
    if b is not None:
        np.add(z, b, out=z)
    return z


def _loss_from_logits(z: np.ndarray, y: np.ndarray, s: np.ndarray) -> Any:
    """sum_i s_i [softplus(z_i) - y_i z_i] = s . [log1p(e) + (1[z >= 0] - y) z] with e = e^-|z|:
    finite for any z (e never overflows). With a shared weight: s (sum log1p(e) + z . (1[z >= 0]
    - y))."""
    e = exp_neg_abs(z)
    nonnegative = z >= 0
    np.log1p(e, out=e)
    linear = np.subtract(nonnegative, y, out=_vector(z.shape[0], z.dtype))
    if not s.ndim:
        return (np.add.reduce(e, axis=None) + np.vdot(z, linear)) * s[()]
    np.multiply(linear, z, out=linear)
    np.add(linear, e, out=linear)
    return s.dot(linear)


def logistic_loss(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                  b: np.ndarray | None) -> Any:
    """The loss alone (no gradient): one product X w, then the loss of the logits."""
    return _loss_from_logits(_logits(X, w, b), y, s)


def logistic_loss_reference(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                            b: np.ndarray | None) -> Any:
    z = X @ w + (0 if b is None else b)
    return np.sum(s * (np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))


def logistic_loss_grad(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                       b: np.ndarray | None, rows: int | None = None
                       ) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray]:
    """The loss, its gradient in w and in b (None without b) and the logits z, in one blocked
    pass over X (blocks of ``rows`` rows, by default ``block_rows(X)``; an X of one block takes
    the two products directly, with no blocking machinery). s: one weight per row, or a 0-d
    array for one weight shared by all."""
    rows = rows or block_rows(X)
    if X.shape[0] <= rows:
        return _loss_grad_one_block(X, y, s, w, b)
    return _loss_grad_blocked(X, y, s, w, b, rows)


def _loss_grad_one_block(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                         b: np.ndarray | None
                         ) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray]:
    """X in cache: z = X w + b, then the loss and gradient at those logits
    (`logistic_loss_grad_from_logits`)."""
    n, dtype = X.shape[0], X.dtype
    z = np.matmul(X, w, out=new_array((n,), dtype) if n * dtype.itemsize >= POOL_MIN_BYTES
                  else None)
    if b is not None:
        np.add(z, b, out=z)
    loss, grad_w, grad_b = logistic_loss_grad_from_logits(X, y, s, z, b is not None)
    return loss, grad_w, None if grad_b is None else grad_b.reshape(b.shape), z


def logistic_loss_grad_from_logits(X: np.ndarray, y: np.ndarray, s: np.ndarray, z: np.ndarray,
                                   intercept: bool
                                   ) -> tuple[Any, np.ndarray, np.ndarray | None]:
    """The loss, its gradient in w and (``intercept``) in b, shape (1,), at known logits
    z = X w + b: one product X' r, so X is read once. sigmoid(z) comes from e = e^-|z| and the
    mask z >= 0 (which the loss reuses), r = s (sigmoid(z) - y) (a shared weight applied to the
    sums instead). Newton in logit space (``linear_model._objective.LogisticLines``) reaches its
    points along lines whose logits it already holds; `logistic_loss_grad` calls this after its
    product X w for an X the caches hold. Written out call by call: small problems are evaluated
    thousands of times, and there the Python between the NumPy calls is a good part of the
    cost."""
    n, dtype = X.shape[0], X.dtype
    pooled = n * dtype.itemsize >= POOL_MIN_BYTES  # large vectors in pooled memory
    e = np.abs(z, out=new_array((n,), dtype) if pooled else None)
    np.negative(e, out=e)
    np.exp(e, out=e)
    nonnegative = z >= 0
    r = np.maximum(e, nonnegative, out=new_array((n,), dtype) if pooled else None)
    scratch = np.add(e, 1, out=new_array((n,), dtype) if pooled else None)
    np.divide(r, scratch, out=r)  # sigmoid(z): 1 / (1 + e) for z >= 0, e / (1 + e) below
    np.subtract(r, y, out=r)
    shared = not s.ndim
    if not shared:
        np.multiply(r, s, out=r)
    grad_w = r.dot(X)
    grad_b = np.add.reduce(r, axis=None).reshape(1) if intercept else None
    np.log1p(e, out=e)  # the loss: log1p(e) + (1[z >= 0] - y) z, weighted
    np.subtract(nonnegative, y, out=scratch)
    if shared:
        weight = s[()]
        loss = (np.add.reduce(e, axis=None) + np.vdot(z, scratch)) * weight
        grad_w *= weight
        if grad_b is not None:
            grad_b *= weight
    else:
        np.multiply(scratch, z, out=scratch)
        np.add(scratch, e, out=scratch)
        loss = s.dot(scratch)
    return loss, grad_w, grad_b


def logistic_loss_grad_from_logits_reference(X: np.ndarray, y: np.ndarray, s: np.ndarray,
                                             z: np.ndarray, intercept: bool
                                             ) -> tuple[Any, np.ndarray, np.ndarray | None]:
    with np.errstate(over="ignore"):  # exp(-z) = inf where sigmoid(z) is 0: the right limit
        r = s * (1 / (1 + np.exp(-z)) - y)
    loss = np.sum(s * (np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))))
    return loss, X.T @ r, np.sum(r).reshape(1) if intercept else None


def _loss_grad_blocked(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                       b: np.ndarray | None, rows: int
                       ) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray]:
    """The pass over blocks of ``rows`` rows. With h = (X w + b) / 2 (X times w / 2: halving is
    exact), the residual is s sigmoid(z) - s y = (s / 2) tanh(h) + s (1/2 - y), since
    sigmoid(z) = (1 + tanh(z / 2)) / 2: tanh never overflows, and the vectors s / 2 and
    s (1/2 - y) are made once for all the blocks, so a block costs its two products and three
    elementwise calls (two with a shared weight, which then scales the sums: tanh(h) + 1 - 2y).
    The loss and the intercept's sum are computed after the pass (they need no row of X)."""
    n, p = X.shape
    dtype = X.dtype
    half_w = np.multiply(w, 0.5)
    half_b = None if b is None else np.multiply(b, 0.5)
    h = new_array((n,), dtype)
    r = new_array((n,), dtype)
    if s.ndim:
        half_s = np.multiply(s, 0.5, out=new_array((n,), dtype))
        offset = np.subtract(0.5, y, out=new_array((n,), dtype))
        np.multiply(offset, s, out=offset)
    else:
        half_s = None
        offset = np.multiply(y, -2, out=new_array((n,), dtype))
        np.add(offset, 1, out=offset)
    count = -(-n // rows)
    partial = np.empty((count, p), dtype)
    for k in range(count):
        start, stop = k * rows, min(n, (k + 1) * rows)
        block = X[start:stop]
        h_block = np.matmul(block, half_w, out=h[start:stop])
        r_block = r[start:stop]
        if half_b is not None:
            np.add(h_block, half_b, out=r_block)
            np.tanh(r_block, out=r_block)
        else:
            np.tanh(h_block, out=r_block)
        if half_s is not None:
            np.multiply(r_block, half_s[start:stop], out=r_block)
        np.add(r_block, offset[start:stop], out=r_block)
        np.matmul(r_block, block, out=partial[k])
    z = np.multiply(h, 2, out=h)
    if b is not None:
        np.add(z, b, out=z)
    grad_w = np.add.reduce(partial, axis=0, dtype=np.float64)
    grad_b = None if b is None else \
        np.asarray(np.add.reduce(r, axis=None, dtype=np.float64)).reshape(np.shape(b))
    if half_s is None:  # the shared weight, and the 1/2 of tanh's form
        grad_w *= 0.5 * float(s)
        grad_b = None if b is None else grad_b * (0.5 * float(s))
    grad_w = grad_w.astype(dtype)
    grad_b = None if b is None else grad_b.astype(dtype)
    return _loss_from_logits(z, y, s), grad_w, grad_b, z


def logistic_loss_grad_reference(X: np.ndarray, y: np.ndarray, s: np.ndarray, w: np.ndarray,
                                 b: np.ndarray | None
                                 ) -> tuple[Any, np.ndarray, np.ndarray | None]:
    z = X @ w + (0 if b is None else b)
    with np.errstate(over="ignore"):  # exp(-z) = inf where sigmoid(z) is 0: the right limit
        r = s * (1 / (1 + np.exp(-z)) - y)
    return (logistic_loss_reference(X, y, s, w, b), X.T @ r,
            None if b is None else np.sum(r).reshape(np.shape(b)))


def logistic_curvature(z: np.ndarray, s: np.ndarray) -> np.ndarray:
    """d = s sigmoid(z) (1 - sigmoid(z)) = s e / (1 + e)^2 with e = e^-|z| (symmetric in z, so it
    keeps its relative accuracy where sigmoid(z) rounds to 0 or 1)."""
    e = exp_neg_abs(z)
    denominator = np.add(e, 1, out=new_array(z.shape, z.dtype))
    np.multiply(denominator, denominator, out=denominator)
    np.divide(e, denominator, out=e)
    return np.multiply(e, s, out=e)


def logistic_hessian_vector(X: np.ndarray, d: np.ndarray, u: np.ndarray, c: np.ndarray | None,
                            rows: int | None = None, image: np.ndarray | None = None
                            ) -> tuple[np.ndarray, np.ndarray | None]:
    """The Hessian of the loss times (u, c) from the curvature d (`logistic_curvature`): X' t and
    sum t for t = d (X u + c) (c None: no intercept, and no second part), in one blocked pass
    over X (an X of one block: the two products directly). ``image`` (an n-vector of X's dtype):
    also receives X u + c, the vector's image in logit space, which the pass forms anyway
    (Newton in logit space follows its step's logits through them)."""
    n, p = X.shape
    rows = rows or block_rows(X)
    if n <= rows:
        t = X.dot(u) if image is None else np.matmul(X, u, out=image)
        if c is not None:
            np.add(t, c, out=t)
        t = np.multiply(t, d, out=None if image is not None else t)
        return t.dot(X), None if c is None else np.add.reduce(t, axis=None).reshape(np.shape(c))
    t = new_array((1, n), X.dtype)  # whole, so that the intercept's part is one sum at the end
    product_w = _curvature_pass(X, d, u, c, t, t[0], rows, image)[0]
    product_b = None if c is None else \
        np.asarray(np.add.reduce(t, axis=None, dtype=np.float64), X.dtype).reshape(np.shape(c))
    return product_w, product_b


def _curvature_pass(X: np.ndarray, d: np.ndarray, u: np.ndarray, c: np.ndarray | None,
                    together: np.ndarray, t: np.ndarray, rows: int, image: np.ndarray | None
                    ) -> np.ndarray:
    """The blocked pass of the Hessian-vector kernels: each block of X times u (plus c) is the
    vector's image there (also written to ``image``), scaled by the curvature d into ``t`` (a
    row of ``together``); then every row of ``together`` times the same block, from cache.
    Returns those products summed over the blocks, one row per row of ``together``."""
    n, p = X.shape
    count = -(-n // rows)
    partial = np.empty((count, together.shape[0], p), X.dtype)
    shift = None if c is None else np.asarray(c, X.dtype).reshape(())
    for k in range(count):
        start, stop = k * rows, min(n, (k + 1) * rows)
        block = X[start:stop]
        shown = np.matmul(block, u, out=t[start:stop] if image is None else image[start:stop])
        if shift is not None:
            np.add(shown, shift, out=shown)
        np.multiply(shown, d[start:stop], out=t[start:stop])
        np.matmul(together[:, start:stop], block, out=partial[k])
    return np.add.reduce(partial, axis=0, dtype=np.float64).astype(X.dtype)


def logistic_hessian_vector_reference(X: np.ndarray, s: np.ndarray, w: np.ndarray,
                                      b: np.ndarray | None, u: np.ndarray,
                                      c: np.ndarray | None
                                      ) -> tuple[np.ndarray, np.ndarray | None]:
    z = X @ w + (0 if b is None else b)
    with np.errstate(over="ignore"):  # exp(-z) = inf where sigmoid(z) is 0: the right limit
        p = 1 / (1 + np.exp(-z))
    t = s * p * (1 - p) * (X @ u + (0 if c is None else c))
    return X.T @ t, None if c is None else np.sum(t).reshape(np.shape(c))


def logistic_residuals(z: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[Any, np.ndarray]:
    """The loss at the logits z and the weighted residuals r = s (sigmoid(z) - y) (a new vector),
    with no product: what `logistic_gradient_and_products` takes."""
    n, dtype = z.shape[0], z.dtype
    e = exp_neg_abs(z)
    nonnegative = z >= 0
    r = np.maximum(e, nonnegative, out=_vector(n, dtype))
    scratch = np.add(e, 1, out=_vector(n, dtype))
    np.divide(r, scratch, out=r)  # sigmoid(z): 1 / (1 + e) for z >= 0, e / (1 + e) below
    np.subtract(r, y, out=r)
    np.multiply(r, s, out=r)
    np.log1p(e, out=e)
    np.subtract(nonnegative, y, out=scratch)
    np.multiply(scratch, z, out=scratch)
    np.add(scratch, e, out=scratch)
    loss = np.add.reduce(scratch, axis=None) * s[()] if not s.ndim else s.dot(scratch)
    return loss, r


def logistic_gradient_and_products(X: np.ndarray, r: np.ndarray, d: np.ndarray, u: np.ndarray,
                                   c: np.ndarray | None, known: np.ndarray | None = None,
                                   rows: int | None = None, image: np.ndarray | None = None
                                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """The gradient X' r (and sum r, with c) for residuals r of known logits, and Hessian-vector
    products from the curvature d there, in one blocked pass: the Hessian times (u, c) (X' t and
    sum t for t = d (X u + c)) and, with ``known``, times the vector whose image X v + c_v it is
    (X' (d known) and its sum: no product X v). Each block is multiplied by u from memory, then
    by r, t (and d known) together, as the rows of one (k, n) array, from cache: X is read once
    for all, where a gradient and then each product read it again. Returns (k, p) and (k,) (None
    without c) arrays: row 0 the gradient, row 1 the product with (u, c), row 2 the one with the
    known image; ``image`` as in `logistic_hessian_vector`."""
    dtype = X.dtype
    together = new_array((2 if known is None else 3, X.shape[0]), dtype)  # rows r, t (, d known)
    together[0] = r
    if known is not None:
        np.multiply(d, known, out=together[2])
    sums_w = _curvature_pass(X, d, u, c, together, together[1], rows or block_rows(X), image)
    if c is None:
        return sums_w, None
    return sums_w, np.add.reduce(together, axis=1, dtype=np.float64).astype(dtype)


def logistic_gradient_and_products_reference(X: np.ndarray, r: np.ndarray, d: np.ndarray,
                                             u: np.ndarray, c: np.ndarray | None,
                                             known: np.ndarray | None = None
                                             ) -> tuple[np.ndarray, np.ndarray | None]:
    columns = [r, d * (X @ u + (0 if c is None else c))]
    if known is not None:
        columns.append(d * known)
    weights = np.array(columns)
    return weights @ X, None if c is None else weights.sum(axis=1)


def logistic_loss_along(z: np.ndarray, q: np.ndarray, y: np.ndarray, s: np.ndarray, t: float
                        ) -> tuple[float, float, float]:
    """The loss at the logits z + t q and its first and second derivatives in t: (L, q . r,
    q . (d q)) for the residuals r and the curvature d there (see the module's docstring). No
    product with X: a line search along a direction whose image q = X u + c is known costs a
    few passes over n-vectors per trial. Computed in float64 (a line search compares values that
    differ little)."""
    n = z.shape[0]
    at = np.multiply(q, t, out=_vector(n, np.dtype(np.float64)))
    np.add(at, z, out=at)
    e = exp_neg_abs(at)
    nonnegative = at >= 0
    residual = np.maximum(e, nonnegative, out=_vector(n, at.dtype))
    curvature = np.add(e, 1, out=_vector(n, at.dtype))
    np.divide(residual, curvature, out=residual)  # sigmoid
    np.subtract(residual, y, out=residual)  # the residual before its weight
    np.multiply(curvature, curvature, out=curvature)
    np.divide(e, curvature, out=curvature)  # the curvature before its weight
    np.log1p(e, out=e)
    linear = np.subtract(nonnegative, y, out=_vector(n, at.dtype))
    np.multiply(linear, at, out=linear)
    np.add(linear, e, out=linear)  # each row's loss before its weight
    np.multiply(residual, q, out=residual)
    np.multiply(curvature, q, out=curvature)
    np.multiply(curvature, q, out=curvature)
    if s.ndim:
        return float(np.dot(s, linear)), float(np.dot(s, residual)), float(np.dot(s, curvature))
    weight = float(s)
    return (weight * float(np.add.reduce(linear, axis=None)),
            weight * float(np.add.reduce(residual, axis=None)),
            weight * float(np.add.reduce(curvature, axis=None)))


def logistic_loss_along_reference(z: np.ndarray, q: np.ndarray, y: np.ndarray, s: np.ndarray,
                                  t: float) -> tuple[float, float, float]:
    at = z + t * q
    with np.errstate(over="ignore"):
        sigmoid = 1 / (1 + np.exp(-at))
    loss = np.sum(s * (np.maximum(at, 0) - y * at + np.log1p(np.exp(-np.abs(at)))))
    return (float(loss), float(np.sum(s * (sigmoid - y) * q)),
            float(np.sum(s * sigmoid * (1 - sigmoid) * q * q)))


# ---- the multinomial (softmax) loss --------------------------------------------------------------
# For K classes, coefficients W (K, p), intercepts b (K,), logits Z = W X' + b (K, n), the
# probabilities P = softmax(Z) over the K classes of each row (column of Z), and the weighted
# one-hot targets T (K, n) (T[k, i] = s_i where row i is of class k, else 0), the loss is
# -sum_i s_i log P[y_i, i] = s . log(sum_k e^Z[:, i]) - <Z, T>, its gradient (R X, sum_i R[:, i])
# for R = s P - T, and its Hessian times (V, c) is (Q X, sum_i Q[:, i]) for U = V X' + c and
# Q = s P (U - sum_k P U) (each column's softmax Jacobian s_i (diag(p_i) - p_i p_i')). The logits
# are kept as (K, n) arrays: their reductions over the K classes are then elementwise operations
# between contiguous rows, and their products with X measured faster than (n, K) ones. X is
# multiplied whole, twice per gradient and per product.
def softmax_loss_grad(X: np.ndarray, T: np.ndarray, s: np.ndarray, W: np.ndarray,
                      b: np.ndarray | None
                      ) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """The loss, its gradient in W (K, p) and in b (K,; None without b), and what the
    Hessian-vector products need (`softmax_probabilities`): the logits shifted by each column's
    maximum and the columns' sums of their exponentials. T (K, n): the weighted one-hot
    targets; s: the weights, one per row (n,) or one 0-d weight shared by all rows (T holds the
    weights in either case). Written out call by call: small problems are evaluated hundreds of
    times, and there the Python between the NumPy calls is a good part of the cost."""
    n = X.shape[0]
    K = W.shape[0]
    dtype = X.dtype
    pooled = K * n * dtype.itemsize >= POOL_MIN_BYTES
    Z = np.matmul(W, X.T, out=new_array((K, n), dtype) if pooled else None)
    if b is not None:
        np.add(Z, b[:, None], out=Z)
    return softmax_loss_grad_from_logits(X, T, s, Z, b is not None, Z)


def softmax_loss_grad_from_logits(X: np.ndarray, T: np.ndarray, s: np.ndarray, Z: np.ndarray,
                                  intercept: bool, shifted: np.ndarray | None = None
                                  ) -> tuple[Any, np.ndarray, np.ndarray | None, np.ndarray,
                                             np.ndarray]:
    """`softmax_loss_grad` at known logits Z (K, n): one product R X. The shifted logits go to
    ``shifted`` (Z itself may be given) or to a new array."""
    K, n = Z.shape
    dtype = X.dtype
    pooled = K * n * dtype.itemsize >= POOL_MIN_BYTES
    if shifted is None and pooled:
        shifted = new_array((K, n), dtype)
    Z = np.subtract(Z, np.maximum.reduce(Z, axis=0), out=shifted)  # the stable form: max 0
    E = np.exp(Z, out=new_array((K, n), dtype) if pooled else None)
    sums = np.add.reduce(E, axis=0)
    scale = np.divide(s, sums)  # s_i / sum_k e^Z[k, i]: E times it is s P
    np.multiply(E, scale, out=E)
    np.subtract(E, T, out=E)  # R = s P - T
    grad_W = np.matmul(E, X)
    grad_b = np.add.reduce(E, axis=1) if intercept else None
    log_sums = np.log(sums, out=scale)
    total = np.add.reduce(log_sums, axis=None) * s[()] if not s.ndim else s.dot(log_sums)
    loss = total - np.vdot(Z, T)
    return loss, grad_W, grad_b, Z, sums


def softmax_loss_grad_reference(X: np.ndarray, T: np.ndarray, s: np.ndarray, W: np.ndarray,
                                b: np.ndarray | None
                                ) -> tuple[Any, np.ndarray, np.ndarray | None]:
    Z = X @ W.T + (0 if b is None else b)  # (n, K)
    log_p = Z - Z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    R = np.exp(log_p) * np.reshape(s, (-1, 1)) - T.T
    return (-np.sum(log_p * T.T), R.T @ X, None if b is None else R.sum(axis=0))


def softmax_probabilities(shifted: np.ndarray, sums: np.ndarray, s: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray]:
    """P (K, n) and s P from `softmax_loss_grad`'s shifted logits and sums of exponentials."""
    P = np.exp(shifted)
    np.divide(P, sums, out=P)
    return P, np.multiply(P, s)


def softmax_hessian_vector(X: np.ndarray, P: np.ndarray, weighted: np.ndarray, V: np.ndarray,
                           c: np.ndarray | None, XT: np.ndarray | None = None,
                           image: np.ndarray | None = None
                           ) -> tuple[np.ndarray, np.ndarray | None]:
    """The Hessian of the loss times (V, c) from P and s P (`softmax_probabilities`): Q X and
    sum_i Q[:, i] for U = V X' + c and Q = s P (U - sum_k P U) (c None: no intercept, and no
    second part). ``XT``: X' as a contiguous array, if the caller keeps one (V X' is faster on
    it than on X's transposed view); ``image``: a (K, n) array that receives U, the vector's
    image in logit space."""
    U = np.matmul(V, X.T if XT is None else XT, out=image)
    if c is not None:
        np.add(U, c[:, None], out=U)
    Q = np.multiply(P, U)
    np.subtract(U, np.add.reduce(Q, axis=0), out=Q)
    np.multiply(Q, weighted, out=Q)
    return Q @ X, None if c is None else np.add.reduce(Q, axis=1)


def softmax_hessian_vector_reference(X: np.ndarray, s: np.ndarray, W: np.ndarray,
                                     b: np.ndarray | None, V: np.ndarray, c: np.ndarray | None
                                     ) -> tuple[np.ndarray, np.ndarray | None]:
    Z = X @ W.T + (0 if b is None else b)  # (n, K)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    U = X @ V.T + (0 if c is None else c)
    Q = np.reshape(s, (-1, 1)) * P * (U - (P * U).sum(axis=1, keepdims=True))
    return Q.T @ X, None if c is None else Q.sum(axis=0)


def softmax_loss_along(Z: np.ndarray, U: np.ndarray, T: np.ndarray, s: np.ndarray, t: float
                       ) -> tuple[float, float, float]:
    """The loss at the logits Z + t U (both (K, n)) and its first and second derivatives in t:
    with P the probabilities there, (L, sum_i s_i sum_k P U - <T, U>,
    sum_i s_i [sum_k P U^2 - (sum_k P U)^2]). No product with X (see `logistic_loss_along`);
    float64."""
    A = np.multiply(U, t, out=np.empty(U.shape))
    np.add(A, Z, out=A)
    np.subtract(A, np.maximum.reduce(A, axis=0), out=A)
    E = np.exp(A)
    sums = np.add.reduce(E, axis=0)
    np.divide(E, sums, out=E)  # P
    np.multiply(E, U, out=E)  # P U
    mean = np.add.reduce(E, axis=0)  # sum_k P U
    np.multiply(E, U, out=E)  # P U^2
    spread = np.add.reduce(E, axis=0)
    spread -= mean * mean
    np.log(sums, out=sums)
    if s.ndim:
        loss, slope, curvature = s.dot(sums), s.dot(mean), s.dot(spread)
    else:
        weight = float(s)
        loss, slope, curvature = (weight * np.add.reduce(sums), weight * np.add.reduce(mean),
                                  weight * np.add.reduce(spread))
    return (float(loss - np.vdot(A, T)), float(slope - np.vdot(U, T)), float(curvature))


def softmax_loss_along_reference(Z: np.ndarray, U: np.ndarray, T: np.ndarray, s: np.ndarray,
                                 t: float) -> tuple[float, float, float]:
    A = Z + t * U
    log_p = A - A.max(axis=0)
    log_p -= np.log(np.exp(log_p).sum(axis=0))
    P = np.exp(log_p)
    weights = np.broadcast_to(s, (Z.shape[1],))
    mean = (P * U).sum(axis=0)
    return (float(-np.sum(log_p * T)), float(np.sum(weights * mean) - np.sum(T * U)),
            float(np.sum(weights * ((P * U * U).sum(axis=0) - mean ** 2))))
