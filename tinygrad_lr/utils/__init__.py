"""``tinygrad_lr.utils``: PyTorch's ``torch.utils`` names; ``utils.data`` holds the dataset and
loader classes of ``torch.utils.data``."""
from tinygrad_lr.utils import data

__all__ = ["data"]
