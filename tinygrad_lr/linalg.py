"""``tinygrad_lr.linalg``: PyTorch's ``torch.linalg`` names for the differentiable linear algebra
in :mod:`tinygrad_lr.ops.catalogue.linalg`."""
from tinygrad_lr.ops.catalogue.linalg import det, inv, lstsq, pinv, solve, vector_norm
from tinygrad_lr.ops.catalogue.linalg import linalg_norm as norm

__all__ = ["norm", "vector_norm", "inv", "solve", "det", "pinv", "lstsq"]
