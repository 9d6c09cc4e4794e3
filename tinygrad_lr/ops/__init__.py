"""The operations. :mod:`.rules` holds the lesson core's textbook rules (each forward beside its
derivative), which Tensor's operators and methods apply, on arrays through :mod:`.arrays` (the
NumPy side of the rule vocabulary ``xp``); :mod:`.inplace` gives them PyTorch's
in-place forms (version counters, rebased history); :mod:`.catalogue` holds the rest of PyTorch's
operations, in the same pattern; :mod:`.functional` is their functional forms (``tl.add``)."""
from tinygrad_lr.ops import catalogue, inplace, rules

__all__ = ["catalogue", "inplace", "rules"]
