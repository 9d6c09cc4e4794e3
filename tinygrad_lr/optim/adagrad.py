"""Adagrad, as ``torch.optim.Adagrad``."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.optim.optimizer import (Optimizer, ParamsT, check_nonnegative, effective_grad,
                                         state_buffer)
from tinygrad_lr.tensor import Tensor


def adagrad_update(param: np.ndarray, grad: np.ndarray, total: np.ndarray, lr: float,
                   eps: float, weight_decay: float, maximize: bool) -> None:
    """The textbook Adagrad step with the decayed learning rate ``lr``, in place. The kernel
    below is the same arithmetic through preallocated buffers; tests hold them equal."""
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = weight_decay * param + d
    total += d * d
    param -= d / (np.sqrt(total) + eps) * lr


def _adagrad_kernel(param: np.ndarray, grad: np.ndarray, total: np.ndarray, work: np.ndarray,
                    scratch: np.ndarray, lr: float, eps: float, weight_decay: float,
                    maximize: bool) -> None:
    """One Adagrad step in place with the decayed learning rate ``lr``; ``total`` sums ``g**2``."""
    d = effective_grad(param, grad, weight_decay, maximize, work)
    total += np.multiply(d, d, out=scratch)
    std = np.add(np.sqrt(total, out=scratch), eps, out=scratch)
    param -= np.multiply(np.divide(d, std, out=scratch), lr, out=scratch)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.) with PyTorch's update: ``sum += g**2``,
    ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``, ``sum`` starting at
    ``initial_accumulator_value``."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check_group(self, group: dict[str, Any]) -> None:
        check_nonnegative("learning rate", group["lr"])
        check_nonnegative("lr_decay", group["lr_decay"])
        check_nonnegative("weight_decay", group["weight_decay"])
        check_nonnegative("initial_accumulator_value", group["initial_accumulator_value"])
        check_nonnegative("epsilon", group["eps"])

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its parameters' state starts at once, as in PyTorch's Adagrad."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self._init_state(p, self.state[p], group)

    @staticmethod
    def _init_state(param: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = state_buffer(param, group["initial_accumulator_value"])

    _kernel = staticmethod(_adagrad_kernel)

    def _buffer_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        return ("sum",)

    def _advance(self, param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> tuple:
        """Count the step; the kernel's scalars, with the learning rate decayed for it."""
        self._init_state(param, state, group)
        state["step"] += 1
        lr = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        return (lr, float(group["eps"]), float(group["weight_decay"]), bool(group["maximize"]))
