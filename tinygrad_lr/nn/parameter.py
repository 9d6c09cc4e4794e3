"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.tensor import Tensor, as_array, get_default_dtype


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default; built from a Tensor it shares that Tensor's
    data, as ``torch.nn.Parameter`` does."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, get_default_dtype())
        array = data._data if isinstance(data, Tensor) else as_array(data)
        # Tensor's own set-up on an empty placeholder, then this data (shared, not copied: the
        # legacy constructor Tensor(data) would convert it to the default dtype).
        super().__init__(0, dtype=array.dtype)
        self._data = array
        self.requires_grad = requires_grad

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
