"""``tinygrad_lr.utils``: PyTorch's ``torch.utils`` names; ``utils.data`` holds the dataset and
loader classes of ``torch.utils.data``."""
from . import data

__all__ = ["data"]
