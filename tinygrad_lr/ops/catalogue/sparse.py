"""Op catalogue: the product of a sparse constant matrix with a dense tensor, and back.

Sparse data (text counts, one-hot features) is where linear models are used most, and such a
matrix can be far too large to hold densely (100,000 x 100,000 is 80 GB as float64, 120 MB at 0.1%
density as CSR). The matrix is a constant of the graph, not a Tensor: only the dense operand
(the model's parameters) is differentiated. Forward ``A @ x``; the vector-Jacobian product is
``A.T @ g``, itself a sparse-constant product, so second derivatives (``create_graph=True``)
come from the same op. The matrix is used only through ``@``, ``.T``, ``.shape`` and ``.dtype``
(SciPy's sparse matrices and arrays, recognised by their attributes: SciPy is not imported), and
is never densified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.tensor import Tensor


def is_sparse(value: Any) -> bool:
    """True for a SciPy sparse matrix or array (duck-typed: it has a storage format, a count of
    stored values and a conversion to CSR), without importing SciPy."""
    return (not isinstance(value, np.ndarray) and hasattr(value, "format")
            and hasattr(value, "nnz") and hasattr(value, "tocsr"))


class SparseMatMul(Function):
    """``matrix @ x`` for a sparse constant ``matrix`` of shape (n, p) and a dense ``x`` of shape
    (p,) or (p, k); derivative ``matrix.T @ g`` (``.T`` of CSR is a CSC view: no copy)."""

    __slots__ = ("matrix",)

    def __init__(self, matrix: Any) -> None:
        self.matrix = matrix

    def forward(self, x):
        return np.asarray(self.matrix @ x)

    def backward(self, g, xp, x):
        transposed = self.matrix.T
        if xp.graph:  # g is a Tensor of the graph: the product is recorded, for higher orders
            return SparseMatMul.apply(g, matrix=transposed)
        return np.asarray(transposed @ g)


def sparse_matmul(matrix: Any, x: Tensor) -> Tensor:
    """``matrix @ x`` with ``matrix`` a sparse constant (n, p) and ``x`` a dense Tensor of shape
    (p,) or (p, k), differentiable in ``x``; the result is a dense Tensor of shape (n,) or
    (n, k)."""
    if not is_sparse(matrix):
        raise TypeError(f"sparse_matmul: matrix must be a SciPy sparse matrix or array, got "
                        f"{type(matrix).__name__}")
    if not isinstance(x, Tensor):
        raise TypeError(f"sparse_matmul: x must be a Tensor, got {type(x).__name__}")
    if len(matrix.shape) != 2 or x.ndim not in (1, 2) or x.shape[0] != matrix.shape[1]:
        raise ValueError(f"sparse_matmul: shapes {tuple(matrix.shape)} and {tuple(x.shape)} "
                         "cannot be multiplied (the matrix must be 2-D, x 1-D or 2-D with as "
                         "many rows as the matrix has columns)")
    return SparseMatMul.apply(x, matrix=matrix)
