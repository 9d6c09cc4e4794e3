"""``Variable``: PyTorch's pre-0.4 wrapper, kept so old tutorials run. Since PyTorch 0.4 a
Variable is just a tensor: ``Variable(t)`` returns ``t`` and ``Variable(t, requires_grad=True)``
a leaf sharing its data that requires grad."""
from __future__ import annotations

from typing import Any

from tinygrad_lr.tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(tensor, requires_grad=False)`` -> the tensor itself (or, asking for gradients,
    a leaf sharing its data), as in PyTorch >= 0.4."""

    def __new__(cls, data: Any, requires_grad: bool = False,  # type: ignore[misc]
                volatile: bool = False) -> Tensor:
        t = data if isinstance(data, Tensor) else Tensor(data)
        if requires_grad and not t.requires_grad:
            t = t.detach().requires_grad_(True)
        return t
