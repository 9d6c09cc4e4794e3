"""The kernel layer: the NumPy backend beneath the reference ops, where the speed lives.

- :mod:`.tuning`: every tuning constant, overridable from the environment;
- :mod:`.pool`: pooled memory for large results (no page faults on every step);
- :mod:`.threads`: elementwise work split over threads (``set_num_threads``);
- :mod:`.elementwise`: pooled binary ops, PyTorch's sigmoid, the fused logistic-loss passes;
- :mod:`.products`: the long matrix-vector products.

Each fast kernel has a plain ``*_reference`` beside it; ``tests/test_kernels.py`` holds them equal.
The reference layer (``tensor``, ``autograd``, ``ops``) calls these by name and holds no pooling,
threading or tuning code itself.
"""
from tinygrad_lr.kernels.threads import get_num_threads, set_num_threads

__all__ = ["get_num_threads", "set_num_threads"]
