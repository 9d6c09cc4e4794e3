"""Benchmarks of tinygrad_lr against PyTorch CPU, a hand-written NumPy floor and scikit-learn.

Run ``python -m benchmarks`` (``--quick`` for a smoke run); see :mod:`benchmarks.run`.
"""
