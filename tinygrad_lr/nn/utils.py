"""Gradient clipping, in place on the parameters' gradient arrays (no graph), as
``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tinygrad_lr.factories import from_numpy
from tinygrad_lr.tensor import Tensor, get_default_dtype

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]

# Added to the total norm before dividing, as PyTorch documents, so a zero norm is harmless.
_NORM_EPS = 1e-6


def _with_grad(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """The parameters (a generator is consumed once) that have a gradient."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def _vector_norm(values: np.ndarray, p: float) -> Any:
    """The p-norm of all elements of ``values`` (p > 0 or inf), in their dtype."""
    magnitudes = np.abs(values.reshape(-1))
    if magnitudes.size == 0:
        return values.dtype.type(0)
    if p == math.inf:
        return magnitudes.max()
    if p == 1:
        return magnitudes.sum()
    if p == 2:
        return np.sqrt(np.dot(magnitudes, magnitudes))
    return (magnitudes ** p).sum() ** (1 / p)


def _write_grad(param: Tensor, values: np.ndarray) -> None:
    """Store ``values`` as the gradient: into the existing array when it is an owned array."""
    grad = param.grad
    if grad.requires_grad or not grad._data.flags.writeable:
        param.grad = from_numpy(values.astype(grad.dtype, copy=False))
    else:
        np.copyto(grad._data, values, casting="unsafe")


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so their joint ``norm_type``-norm is at most ``max_norm``.

    Every gradient is multiplied by min(max_norm / (total_norm + 1e-6), 1). Returns the total norm
    (before clipping) as a 0-d Tensor. ``foreach`` is accepted for PyTorch compatibility and has
    no effect.
    """
    p = float(norm_type)
    if not (p > 0 or p == math.inf) or math.isnan(p):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type!r}")
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be non-negative, got {max_norm!r}")
    params = _with_grad(parameters)
    if not params:
        return from_numpy(np.array(0.0, dtype=get_default_dtype()))
    dtype = np.result_type(*[param.grad.dtype for param in params])
    norms = np.array([_vector_norm(param.grad._data, p) for param in params], dtype=dtype)
    total = _vector_norm(norms, p)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           f"non-finite ({total}), so it cannot be clipped. To disable this error "
                           "and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coef = np.minimum(dtype.type(max_norm) / (total + dtype.type(_NORM_EPS)), dtype.type(1))
    for param in params:
        _write_grad(param, param.grad._data * coef)
    return from_numpy(np.asarray(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value!r}")
    for param in _with_grad(parameters):
        _write_grad(param, np.clip(param.grad._data, -clip_value, clip_value))


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened into one vector (differentiable, as PyTorch's)."""
    from tinygrad_lr.ops.catalogue.shape import cat
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place."""
    from tinygrad_lr.autograd.grad_mode import no_grad
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"expected a 1-D Tensor, but got {type(vec).__name__}")
    start = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[start:start + n].reshape(p.shape))
            start += n
