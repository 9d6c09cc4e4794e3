"""``torch.utils.data.dataloader``'s names, for scripts that import from the submodule."""
from tinygrad_lr.utils.data import DataLoader, default_collate

__all__ = ["DataLoader", "default_collate"]
