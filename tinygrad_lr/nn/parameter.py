"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default; built from a Tensor it shares that Tensor's
    data, as ``torch.nn.Parameter`` does."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = []
        super().__init__(data._data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)
        if isinstance(data, Tensor):
            self._data = data._data

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
