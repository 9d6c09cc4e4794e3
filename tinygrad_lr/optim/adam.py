"""Adam and AdamW (decoupled weight decay), as ``torch.optim.Adam`` and ``torch.optim.AdamW``."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_lr.optim.optimizer import (Optimizer, ParamsT, check_nonnegative, check_real,
                                         effective_grad, state_buffer)
from tinygrad_lr.tensor import Tensor


def adam_update(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray,
                exp_avg_sq: np.ndarray, max_exp_avg_sq: np.ndarray | None, beta1: float,
                beta2: float, weight_decay: float, shrink: float, maximize: bool,
                step_size: float, eps: float) -> None:
    """The Adam step, in place: moments m (PyTorch's lerp) and v of the gradient d, then
    ``p -= step_size * m / (sqrt(v) + eps)``, where the caller folds the bias corrections into
    ``step_size = lr * c / (1 - beta1**t)`` and ``eps = eps * c`` with ``c = sqrt(1 - beta2**t)``
    (the same as ``lr * m_hat / (sqrt(v_hat) + eps)``); ``shrink = 1 - lr * weight_decay`` for
    AdamW. The kernel below is the same arithmetic through preallocated buffers."""
    if shrink != 1:
        param *= shrink
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = weight_decay * param + d
    exp_avg += (d - exp_avg) * (1 - beta1)
    exp_avg_sq[...] = beta2 * exp_avg_sq + (d * d) * (1 - beta2)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    param -= exp_avg / (np.sqrt(second) + eps) * step_size


def _adam_kernel(param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, exp_avg_sq: np.ndarray,
                 max_exp_avg_sq: np.ndarray | None, work: np.ndarray, scratch: np.ndarray,
                 beta1: float, beta2: float, weight_decay: float, shrink: float, maximize: bool,
                 step_size: float, eps: float) -> None:
    """One Adam step in place. With ``c = sqrt(1 - beta2**t)`` the caller passes
    ``step_size = lr * c / (1 - beta1**t)`` and ``eps = eps * c``, so that
    ``step_size * m / (sqrt(v) + eps)`` equals ``lr * m_hat / (sqrt(v_hat) + eps)`` with one pass
    fewer; ``shrink = 1 - lr * weight_decay`` for AdamW, 1 otherwise."""
    if shrink != 1:
        param *= shrink
    d = effective_grad(param, grad, weight_decay, maximize, work)
    # m += (1 - beta1) (d - m): PyTorch's lerp, a scalar operand fewer than beta1 m + (1 - beta1) d
    exp_avg += np.multiply(np.subtract(d, exp_avg, out=scratch), 1 - beta1, out=scratch)
    exp_avg_sq *= beta2
    exp_avg_sq += np.multiply(np.multiply(d, d, out=scratch), 1 - beta2, out=scratch)
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        second = np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    denom = np.add(np.sqrt(second, out=scratch), eps, out=scratch)
    param -= np.multiply(np.divide(exp_avg, denom, out=scratch), step_size, out=scratch)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's update and defaults: moments ``m``, ``v`` of the gradient
    (which includes ``weight_decay * p`` unless ``decoupled_weight_decay``), bias-corrected,
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)``; ``amsgrad`` uses the running maximum of ``v``."""

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("learning rate", group["lr"])
        check_nonnegative("epsilon", group["eps"])
        check_nonnegative("weight_decay", group["weight_decay"])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= check_real(f"betas[{i}]", beta) < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} "
                                 "(it must be in [0, 1))")

    _kernel = staticmethod(_adam_kernel)

    def _buffer_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq" if group["amsgrad"] else None)

    def _advance(self, param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> tuple:
        """Count the step; the kernel's scalars with the bias corrections folded in (see
        ``_adam_kernel``) and AdamW's decay as a shrink factor of the parameter."""
        if not state:
            state["step"] = 0
            state["exp_avg"] = state_buffer(param)
            state["exp_avg_sq"] = state_buffer(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = state_buffer(param)
        state["step"] += 1
        step = state["step"]
        lr, eps = float(group["lr"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        beta1, beta2 = group["betas"]
        beta1, beta2 = float(beta1), float(beta2)
        root_correction2 = math.sqrt(1 - beta2 ** step)
        shrink = 1.0
        if group["decoupled_weight_decay"]:
            shrink, weight_decay = 1 - lr * weight_decay, 0.0
        return (beta1, beta2, weight_decay, shrink, bool(group["maximize"]),
                lr * root_correction2 / (1 - beta1 ** step), eps * root_correction2)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay`` before
    the Adam step, which then ignores the decay; PyTorch's defaults (``weight_decay=1e-2``)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
