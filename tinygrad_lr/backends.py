"""``tinygrad_lr.backends``: PyTorch's backend queries (``backends.mps.is_available()``), each
answering that the accelerator is absent, so device-choosing code falls back to the CPU."""
from __future__ import annotations

from types import SimpleNamespace


def _false() -> bool:
    return False


mps = SimpleNamespace(is_available=_false, is_built=_false)
cudnn = SimpleNamespace(is_available=_false, deterministic=False, benchmark=False, enabled=False)
