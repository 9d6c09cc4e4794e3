"""Op catalogue: linear algebra: nn.Linear's fused ``x @ w.T + b``, ``dot``, ``outer``, norms,
``inv`` and ``solve``, differentiable as PyTorch's.

The 2-norm is its own op so its gradient at the zero vector is 0 (PyTorch's subgradient) instead
of 0/0; ``inv`` and ``solve`` carry the matrix-calculus rules d(A^-1) = -A^-1 dA A^-1 and, for
X = A^-1 B, dB = A^-T G and dA = -dB X^T. Their rules call this module's Tensor functions under
``create_graph=True`` (``xp.graph``), so they differentiate again.
"""
from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function, crossed
from tinygrad_lr.ops.rules import kept_shape
from tinygrad_lr.tensor import Tensor, as_float, as_tensor_operand, coerce, normalize_axes


def _swap_last(xp: Any, a: Any) -> Any:
    axes = tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)
    return xp.permute(a, axes)


class Linear(Function):
    """x @ w.T + b (b optional) in one node, as PyTorch's addmm: what nn.Linear computes.
    Derivatives: g @ w, g.T @ x (over all leading dimensions of x) and g (summed to b's shape)."""
    __slots__ = ()
    reads = crossed()

    def forward(self, x, w, b=None):
        out = np.matmul(x, w.T)
        if b is None:
            return out
        # A bias of at most one dimension cannot enlarge the product: add it in place.
        return np.add(out, b, out=out) if b.ndim <= 1 else out + b

    def backward(self, g, xp, x, w, b=None):
        gx = g @ w if self.needs[0] else None
        gw = None
        if self.needs[1]:
            rows_g = g.reshape((-1, g.shape[-1])) if g.ndim != 2 else g
            rows_x = x.reshape((-1, x.shape[-1])) if x.ndim != 2 else x
            gw = rows_g.T @ rows_x
        return (gx, gw) if b is None else (gx, gw, g if self.needs[2] else None)


class Norm2(Function):
    """sqrt(sum(x^2)) over ``axes``; gradient x / norm, 0 where the norm is 0."""
    __slots__ = ("axes", "keepdim")

    def __init__(self, axes: tuple[int, ...] | None, keepdim: bool) -> None:
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        kept = np.sqrt(np.sum(x * x, axis=self.axes, keepdims=True))
        if self.keepdim:
            self.out = kept
        else:
            axes = self.axes
            self.out = kept.reshape(tuple(n for i, n in enumerate(kept.shape)
                                          if axes is not None and i not in axes))
        return self.out

    def backward(self, g, xp, x):
        shape = kept_shape(x.shape, self.axes)
        n = self.result(xp).reshape(shape)
        return g.reshape(shape) * x / (n + (n == 0))


class Inverse(Function):
    __slots__ = ()

    def forward(self, a):
        try:
            self.out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.inv: the matrix of shape {a.shape} is singular, so it "
                               "has no inverse") from None
        return self.out

    def backward(self, g, xp, a):
        inv_t = _swap_last(xp, self.result(xp))
        return -(inv_t @ g @ inv_t)


def _inverse(xp: Any, a: Any) -> Any:
    return inv(a) if xp.graph else np.linalg.inv(a)


class Determinant(Function):
    """det(A); gradient det(A) A^-T (A invertible)."""
    __slots__ = ()

    def forward(self, a):
        self.out = np.asarray(np.linalg.det(a))
        return self.out

    def backward(self, g, xp, a):
        scale = (g * self.result(xp)).reshape(tuple(g.shape) + (1, 1))
        return scale * _swap_last(xp, _inverse(xp, a))


def _solve(xp: Any, a: Any, b: Any) -> Any:
    return solve(a, b) if xp.graph else np.linalg.solve(a, b)


class Solve(Function):
    """X = A^-1 B for a matrix (or batch of matrices) B."""
    __slots__ = ()

    def forward(self, a, b):
        try:
            self.out = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise RuntimeError(f"linalg.solve: the matrix A of shape {a.shape} is singular") \
                from None
        return self.out

    def backward(self, g, xp, a, b):
        gb = _solve(xp, _swap_last(xp, a), g)
        ga = -(gb @ _swap_last(xp, self.result(xp))) if self.needs[0] else None
        return ga, gb if self.needs[1] else None


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if as_tensor_operand(input).ndim != 1 or as_tensor_operand(other).ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {as_tensor_operand(input).ndim}D and "
                           f"{as_tensor_operand(other).ndim}D tensors")
    if input.shape != other.shape:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements")
    return Tensor.matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """The outer product a_i b_j of two 1-D tensors."""
    return Tensor.mul(Tensor.unsqueeze(as_tensor_operand(input), 1), Tensor.unsqueeze(as_tensor_operand(vec2), 0))


def vector_norm(x: Any, ord: float = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements by default); inf and -inf give the
    largest and smallest |x|, 0 the count of non-zeros."""
    x = as_float(x)
    axes = normalize_axes("norm", x.shape, dim, None)
    if ord == 2:
        return Norm2.apply(x, axes=axes, keepdim=keepdim)
    if ord == math.inf:
        return Tensor.amax(Tensor.abs(x), axes, keepdim)
    if ord == -math.inf:
        return Tensor.amin(Tensor.abs(x), axes, keepdim)
    if ord == 0:
        return Tensor.sum(Tensor.ne(x, 0).to(x.dtype), axes, keepdim)
    if ord == 1:
        return Tensor.sum(Tensor.abs(x), axes, keepdim)
    return Tensor.pow(Tensor.sum(Tensor.pow(Tensor.abs(x), ord), axes, keepdim), 1.0 / ord)


def linalg_norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """``linalg.norm``: the 2-norm of all elements by default; a vector ``ord`` over ``dim``;
    ``'fro'`` for matrices (their 2-norm of elements)."""
    if ord is None or ord == "fro":
        return vector_norm(A, 2, dim, keepdim)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord {ord!r} is not supported (use None, 'fro' or a "
                           "number)")
    return vector_norm(A, ord, dim, keepdim)


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False,
         dtype: Any = None) -> Tensor:
    """``torch.norm``: the Frobenius (2-)norm by default, else the ``p``-norm over ``dim``."""
    x = as_float(input) if dtype is None else as_tensor_operand(input).to(np.dtype(dtype))
    if p is None or p == "fro":
        p = 2
    return vector_norm(x, p, dim, keepdim)


def _check_square(a: Tensor, name: str) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{' by '.join(map(str, a.shape[-2:]))} matrices")


def inv(A: Any) -> Tensor:
    """The inverse of a square matrix (or of each in a batch)."""
    a = as_float(A)
    _check_square(a, "inv")
    return Inverse.apply(a)


def solve(A: Any, B: Any) -> Tensor:
    """X with A X = B; B a vector (n,) or matrix (n, k), or batches of them."""
    a, b = coerce(as_float(A), as_float(B))
    _check_square(a, "solve")
    if b.ndim == a.ndim - 1:
        return Tensor.squeeze(Solve.apply(a, Tensor.unsqueeze(b, -1)), -1)
    return Solve.apply(a, b)


def det(A: Any) -> Tensor:
    """The determinant of a square matrix (or of each in a batch)."""
    a = as_float(A)
    _check_square(a, "det")
    return Determinant.apply(a)


LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _transpose(a: Tensor) -> Tensor:
    return Tensor.transpose(a, -2, -1)


def pinv(A: Any) -> Tensor:
    """The Moore-Penrose pseudo-inverse of a matrix of full rank: (A^T A)^-1 A^T when tall,
    A^T (A A^T)^-1 when wide, differentiable through those formulas."""
    a = as_float(A)
    if a.ndim < 2:
        raise RuntimeError(f"linalg.pinv: expected a matrix, got shape {a.shape}")
    at = _transpose(a)
    if a.shape[-2] >= a.shape[-1]:
        return Tensor.matmul(inv(Tensor.matmul(at, a)), at)
    return Tensor.matmul(at, inv(Tensor.matmul(a, at)))


def lstsq(A: Any, B: Any, rcond: float | None = None, *, driver: str | None = None
          ) -> LstsqResult:
    """The least-squares solution X of A X = B for A of full column rank, from the normal
    equations (A^T A) X = A^T B; ``solution`` is differentiable, the other fields are empty as
    with PyTorch's default CPU driver."""
    a, b = coerce(as_float(A), as_float(B))
    at = _transpose(a)
    solution = solve(Tensor.matmul(at, a), Tensor.matmul(at, b))
    empty = Tensor._make(np.zeros(0, a.dtype))
    return LstsqResult(solution, empty, Tensor._make(np.zeros(0, np.int64)), empty)


for _name, _function in {"dot": dot, "outer": outer, "norm": norm, "inverse": inv, "det": det,
                         "pinverse": pinv}.items():
    setattr(Tensor, _name, _function)
