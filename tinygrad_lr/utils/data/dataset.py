"""``torch.utils.data.dataset``'s names, for scripts that import from the submodule."""
from tinygrad_lr.utils.data import (ConcatDataset, Dataset, IterableDataset, Subset,
                                    TensorDataset, random_split)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]
