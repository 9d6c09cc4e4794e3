"""Stochastic gradient descent, optionally with (Nesterov) momentum, as ``torch.optim.SGD``."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.kernels.tuning import SGD_SCALE_IN_BUFFER_MIN_BYTES
from tinygrad_lr.optim.optimizer import (Optimizer, ParamsT, check_nonnegative, effective_grad,
                                         state_buffer)
from tinygrad_lr.tensor import Tensor


def sgd_update(param: np.ndarray, grad: np.ndarray, buf: np.ndarray | None, lr: float,
               momentum: float, dampening: float, weight_decay: float, nesterov: bool,
               maximize: bool, first: bool) -> None:
    """The textbook SGD step (PyTorch's ``_single_tensor_sgd``), in place on ``param`` and the
    momentum buffer ``buf``. ``_sgd_kernel`` below is the same arithmetic through preallocated
    buffers, on slices run by several threads; tests hold the two equal bit for bit, or within
    a rounding of the buffer where the kernel regroups it."""
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = weight_decay * param + d
    if buf is not None:
        buf[...] = d if first else momentum * buf + (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    param -= lr * d


def _sgd_kernel(param: np.ndarray, grad: np.ndarray, buf: np.ndarray | None, work: np.ndarray,
                scratch: np.ndarray, lr: float, momentum: float, dampening: float,
                weight_decay: float, nesterov: bool, maximize: bool, first: bool,
                in_buffer: bool) -> None:
    """One SGD step in place; ``buf`` is the momentum buffer (None without momentum), filled with
    the gradient on the ``first`` step (dampening does not apply to it).

    With momentum (not Nesterov), ``in_buffer`` (a parameter beyond the caches) and
    ``0 < lr <= 1``, ``lr * buf`` is formed in ``buf`` itself and scaled back by ``1 / lr`` after
    the parameter update: five in-place passes, faster there than four with one into the scratch
    array (benchmarks/SPEED_LOG.md); a small parameter takes the four, one NumPy call fewer. The
    buffer then differs from the textbook's by a rounding per step, which its decay by
    ``momentum`` keeps from adding up; ``lr <= 1`` keeps ``lr * buf`` from overflowing."""
    d = effective_grad(param, grad, weight_decay, maximize, work)
    if buf is not None:
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            damped = d if dampening == 0 else np.multiply(d, 1 - dampening, out=scratch)
            buf += damped
        if nesterov:
            d = np.add(d, np.multiply(buf, momentum, out=scratch), out=scratch)
        elif in_buffer and 0 < lr <= 1:
            param -= np.multiply(buf, lr, out=buf)
            buf *= 1 / lr
            return
        else:
            d = buf
    param -= np.multiply(d, lr, out=scratch)


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's update: ``b = momentum * b + (1 - dampening) * g``
    (``b = g`` on the first step), ``g = g + momentum * b`` (Nesterov) or ``g = b``, then
    ``p -= lr * g``; ``g`` includes ``weight_decay * p`` and is negated when ``maximize``."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("learning rate", group["lr"])
        check_nonnegative("momentum", group["momentum"])
        check_nonnegative("weight_decay", group["weight_decay"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    _kernel = staticmethod(_sgd_kernel)

    def _buffer_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("momentum_buffer",) if float(group["momentum"]) != 0 else (None,)

    def _advance(self, param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> tuple:
        """The kernel's scalars; with momentum, the buffer is made on the first step (``first``:
        the kernel fills it with the gradient). Whether the kernel scales the buffer in place
        goes by the whole parameter's size, so that the slices of a large one on threads all
        do."""
        momentum = float(group["momentum"])
        first = momentum != 0 and state.get("momentum_buffer") is None
        if first:
            state["momentum_buffer"] = state_buffer(param, None)
        return (float(group["lr"]), momentum, float(group["dampening"]),
                float(group["weight_decay"]), bool(group["nesterov"]), bool(group["maximize"]),
                first, param._data.nbytes >= SGD_SCALE_IN_BUFFER_MIN_BYTES)
