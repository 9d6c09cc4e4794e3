"""``Size``: a tensor's shape, a tuple that prints as PyTorch's ``torch.Size``."""
from __future__ import annotations

import math


class Size(tuple):
    """The shape of a tensor: a tuple of ints (compares equal to plain tuples), with
    ``numel()``; ``print`` and ``repr`` show PyTorch's ``Size([2, 3])``, f-strings the tuple."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __getitem__(self, index):  # type: ignore[override]
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other: tuple) -> "Size":  # type: ignore[override]
        return Size(tuple.__add__(self, tuple(other)))

    def __repr__(self) -> str:
        return f"tinygrad_lr.Size({list(self)})"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        # Inside f-strings (the library's error messages among them) a shape reads as a tuple.
        return tuple.__repr__(self).__format__(format_spec)
