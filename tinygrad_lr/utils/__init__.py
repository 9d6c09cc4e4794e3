"""``tinygrad_lr.utils``: PyTorch's ``torch.utils`` names (``utils.data`` holds the dataset and
loader classes of ``torch.utils.data``), and the helpers the estimators and the data modules share:
``utils.validation`` (argument checks, as ``sklearn.utils.validation``) and ``utils.minibatches``
(minibatches of aligned NumPy arrays)."""
from tinygrad_lr.utils import data, minibatches, validation

__all__ = ["data", "minibatches", "validation"]
