"""Devices, as PyTorch names them: everything here lives on the CPU (NumPy), so ``device("cpu")``
is the only device tensors can be on; CUDA and MPS are reported unavailable and moving a tensor
to them is a clear error rather than a silent no-op."""
from __future__ import annotations

from typing import Any

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "mtia")


class device:
    """A device description: ``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type!r}")
        name, _, number = type.partition(":")
        if name not in _KNOWN_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN_TYPES)} device type at start "
                               f"of device string: {type}")
        if number:
            if index is not None:
                raise RuntimeError(f"device(): type {type!r} already holds an index; got index "
                                   f"{index} too")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(number)
        object.__setattr__(self, "type", name)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"device objects are immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        # As PyTorch: a device equals devices only (device("cpu") == "cpu" is False).
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"


CPU = device("cpu")


def is_device_name(value: str) -> bool:
    """True for strings that name a device ("cpu", "cuda:1", ...) rather than a dtype."""
    return value.partition(":")[0] in _KNOWN_TYPES


def check_device(value: Any) -> device:
    """``value`` as a device, refusing any device but the CPU with the reason."""
    if value is None:
        return CPU
    if isinstance(value, int) and not isinstance(value, bool):
        value = device("cuda", value)
    dev = value if isinstance(value, device) else device(value)
    if dev.type != "cpu":
        raise RuntimeError(f"device {str(dev)!r} is not available: tinygrad_lr runs on the CPU "
                           "only (NumPy); use device='cpu', or pick the device with "
                           "torch.cuda.is_available(), which is False here")
    return dev
