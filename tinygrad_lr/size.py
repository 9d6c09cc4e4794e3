"""``Size``: a tensor's shape, a tuple that prints as PyTorch's ``torch.Size``."""
from __future__ import annotations

import math
import sys


class Size(tuple):
    """The shape of a tensor: a tuple of ints (compares equal to plain tuples), with
    ``numel()``; printed and formatted as PyTorch's ``Size([2, 3])`` (but as the plain tuple
    inside the library's own messages)."""

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
        # A user's f"{x.shape}" prints as PyTorch's does; the library's own error messages,
        # formatted inside the package, show the plain tuple "(3, 2)".
        caller = sys._getframe(1).f_globals.get("__name__", "")
        text = tuple.__repr__(self) if caller.startswith("tinygrad_lr") else repr(self)
        return text.__format__(format_spec)
