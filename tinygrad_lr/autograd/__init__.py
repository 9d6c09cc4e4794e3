"""Reverse-mode automatic differentiation: graph nodes, grad mode, backward, grad, checks."""
from tinygrad_lr.autograd import functional
from tinygrad_lr.autograd.engine import backward
from tinygrad_lr.autograd.function import Function
from tinygrad_lr.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                            set_grad_enabled)
from tinygrad_lr.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_lr.autograd.partial import grad
from tinygrad_lr.autograd.variable import Variable

__all__ = ["Function", "backward", "grad", "functional", "gradcheck", "gradgradcheck",
           "GradcheckError", "Variable", "no_grad", "inference_mode", "enable_grad",
           "set_grad_enabled", "is_grad_enabled"]
