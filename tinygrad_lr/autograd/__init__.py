"""Reverse-mode automatic differentiation: graph nodes, grad mode, backward, grad, checks."""
from . import functional
from .engine import backward, grad
from .function import Function
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = ["Function", "backward", "grad", "functional", "gradcheck", "gradgradcheck",
           "GradcheckError", "Variable", "no_grad", "inference_mode", "enable_grad",
           "set_grad_enabled", "is_grad_enabled"]
