"""RMSprop, optionally centered and with momentum, as ``torch.optim.RMSprop``."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.optim.optimizer import (Optimizer, ParamsT, check_nonnegative, effective_grad,
                                         state_buffer)
from tinygrad_lr.tensor import Tensor


def rmsprop_update(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                   grad_avg: np.ndarray | None, buf: np.ndarray | None, lr: float, alpha: float,
                   eps: float, weight_decay: float, momentum: float, maximize: bool) -> None:
    """The textbook RMSprop step (PyTorch's ``_single_tensor_rmsprop``, with its roundings:
    addcmul's ``(value * d) * d``, lerp's two branches, addcdiv's ``(value * d) / avg``), in
    place. The kernel below is the same arithmetic through preallocated buffers, regrouped."""
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = weight_decay * param + d
    square_avg[...] = alpha * square_avg + ((1 - alpha) * d) * d
    if grad_avg is not None:
        weight = 1 - alpha
        if weight < 0.5:
            grad_avg[...] = grad_avg + (d - grad_avg) * weight
        else:
            grad_avg[...] = d - (d - grad_avg) * (1 - weight)
        avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
    else:
        avg = np.sqrt(square_avg) + eps
    if buf is not None:
        buf[...] = momentum * buf + d / avg
        param -= lr * buf
    else:
        param += (-lr * d) / avg


def _rmsprop_kernel(param: np.ndarray, grad: np.ndarray, square_avg: np.ndarray,
                    grad_avg: np.ndarray | None, buf: np.ndarray | None, work: np.ndarray,
                    scratch: np.ndarray, lr: float, alpha: float, eps: float,
                    weight_decay: float, momentum: float, maximize: bool) -> None:
    """One RMSprop step in place; ``grad_avg`` is None unless centered, ``buf`` unless momentum.

    The textbook update regrouped as ``(1 - alpha) * (d * d)`` and ``(d / avg) * lr``, so that
    without momentum only the square and the square root write into an array they do not read:
    such a pass costs about 1.5x an in-place one (benchmarks/SPEED_LOG.md). Each value moves by
    a rounding or two from the textbook's; tests hold the two within the optimizer tolerance."""
    d = effective_grad(param, grad, weight_decay, maximize, work)
    squared = np.multiply(np.square(d, out=scratch), 1 - alpha, out=scratch)
    square_avg *= alpha
    square_avg += squared
    if grad_avg is not None:  # grad_avg.lerp_(d, 1 - alpha), rounded as PyTorch's lerp
        weight = 1 - alpha
        difference = np.subtract(d, grad_avg, out=scratch)
        if weight < 0.5:
            grad_avg += np.multiply(difference, weight, out=scratch)
        else:
            np.subtract(d, np.multiply(difference, 1 - weight, out=scratch), out=grad_avg)
        square_mean = np.multiply(grad_avg, grad_avg, out=scratch)
        variance = np.subtract(square_avg, square_mean, out=scratch)
        avg = np.sqrt(variance, out=scratch)
    else:
        avg = np.sqrt(square_avg, out=scratch)
    avg += eps
    ratio = np.divide(d, avg, out=avg)
    if buf is not None:  # buf.mul_(momentum).addcdiv_(d, avg); param.add_(buf, alpha=-lr)
        buf *= momentum
        buf += ratio
        param -= np.multiply(buf, lr, out=scratch)
    else:  # param.addcdiv_(d, avg, value=-lr)
        param -= np.multiply(ratio, lr, out=ratio)


class RMSprop(Optimizer):
    """RMSprop with PyTorch's update: ``v = alpha * v + (1 - alpha) * g**2``; the step divides ``g``
    by ``sqrt(v) + eps`` (``sqrt(v - g_avg**2) + eps`` when centered), through a momentum buffer
    when ``momentum > 0``."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("learning rate", group["lr"])
        check_nonnegative("epsilon", group["eps"])
        check_nonnegative("momentum", group["momentum"])
        check_nonnegative("weight_decay", group["weight_decay"])
        check_nonnegative("alpha", group["alpha"])

    _kernel = staticmethod(_rmsprop_kernel)

    def _buffer_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("square_avg", "grad_avg" if group["centered"] else None,
                "momentum_buffer" if float(group["momentum"]) > 0 else None)

    def _advance(self, param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> tuple:
        """Count the step (making the buffers the group's hyperparameters ask for); the
        kernel's scalars."""
        if not state:
            state["step"] = 0
            state["square_avg"] = state_buffer(param)
        momentum = float(group["momentum"])
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = state_buffer(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = state_buffer(param)
        state["step"] += 1
        return (float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                float(group["weight_decay"]), momentum, bool(group["maximize"]))
