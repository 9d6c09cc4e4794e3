"""Jacobians and Hessians from the reverse-mode engine."""
from __future__ import annotations

from typing import Callable

import numpy as np

from tinygrad_lr.tensor import Tensor
from tinygrad_lr.autograd.partial import grad


def _as_input(x: Tensor) -> Tensor:
    return Tensor._make(x._data.copy()).requires_grad_()


def jacobian(func: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    """d func(x) / dx, of shape ``func(x).shape + x.shape``, one backward pass per output element."""
    x = _as_input(inputs)
    y = func(x)
    rows = np.zeros((y._data.size,) + x.shape, dtype=x._data.dtype)
    for i in range(y._data.size):
        seed = np.zeros(y._data.size, dtype=y._data.dtype)
        seed[i] = 1
        (g,) = grad(y, x, seed.reshape(y.shape), retain_graph=True, allow_unused=True)
        if g is not None:
            rows[i] = g._data
    return Tensor._make(rows.reshape(y.shape + x.shape))


def hessian(func: Callable[[Tensor], Tensor], inputs: Tensor) -> Tensor:
    """Second derivatives of a scalar function: the Jacobian of its gradient."""
    x = _as_input(inputs)

    def gradient(z: Tensor) -> Tensor:
        out = func(z)
        if out._data.size != 1:
            raise RuntimeError(f"hessian: the function must return one element, got shape {out.shape}")
        return grad(out, z, create_graph=True)[0]

    return jacobian(gradient, x)


def hvp(func: Callable[[Tensor], Tensor], inputs: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """(func(x), H(x) @ v) for a scalar function, by differentiating the gradient twice."""
    x = _as_input(inputs)
    out = func(x)
    (g,) = grad(out, x, create_graph=True)
    (hv,) = grad(g, x, v._data if isinstance(v, Tensor) else v)
    return out.detach(), hv
