"""``tinygrad_lr.cuda``: PyTorch's CUDA queries, answering that there is no GPU, so scripts that
choose their device with ``torch.cuda.is_available()`` run on the CPU."""
from __future__ import annotations

from typing import Any


def is_available() -> bool:
    """False: tinygrad_lr runs on NumPy, on the CPU."""
    return False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Seeds nothing (there is no CUDA generator); accepted so seeding code runs unchanged."""


def manual_seed_all(seed: int) -> None:
    """Seeds nothing (there is no CUDA generator); accepted so seeding code runs unchanged."""


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: every operation has finished when it returns."""


def empty_cache() -> None:
    """Nothing to free: there is no GPU memory."""
