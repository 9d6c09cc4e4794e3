"""Shared test machinery: the project's tolerances, the PyTorch oracle, and comparisons."""
from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import tinygrad_lr as tl

try:
    import torch
except ImportError:  # the comparisons skip; .ci/run installs torch so they always run in CI
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed: "
                                 "pip install torch==2.13.0 to compare against it")

# Tolerances from DEVELOPERS.md: (rtol, atol).
FD_TOL = dict(rtol=1e-5, atol=1e-6)          # float64 central finite differences
TORCH64_TOL = dict(rtol=1e-7, atol=1e-9)     # against PyTorch in float64
F32_ELEMENTWISE_TOL = dict(rtol=1.3e-6, atol=1e-5)
F32_REDUCTION_TOL = dict(rtol=1e-4, atol=1e-5)  # reductions, matmul, losses, optimizer runs


def torch_tensor(array: np.ndarray, requires_grad: bool = False) -> Any:
    """A torch tensor with the same values and dtype as ``array``."""
    t = torch.from_numpy(np.array(array, copy=True))
    return t.requires_grad_(requires_grad) if requires_grad else t


def to_numpy(value: Any) -> np.ndarray:
    """Values of a tinygrad_lr or torch tensor (or array) as a NumPy array."""
    if isinstance(value, tl.Tensor):
        return value.detach().numpy()
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().numpy(force=True)  # force: PyTorch's ZeroTensor (abs's 2nd der.)
    return np.asarray(value)


def assert_close(actual: Any, expected: Any, rtol: float, atol: float, what: str = "") -> None:
    """Values, shape and dtype must agree."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != expected {e.dtype}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)


def with_value(array: Any, index: Any, value: Any) -> np.ndarray:
    """A float64 copy of ``array`` with one element replaced (for bad-input cases)."""
    result = np.array(array, dtype=np.float64)
    result[index] = value
    return result


def finite_difference_grad(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central differences of a scalar function of a float64 array, h = 1e-6 * max(1, |x|)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        h = 1e-6 * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + h
        plus = f(x)
        flat[i] = old - h
        minus = f(x)
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def compare_with_torch(ours: Callable[..., Any], theirs: Callable[..., Any],
                       arrays: Sequence[np.ndarray], fwd_tol: dict, grad_tol: dict,
                       second_order: bool = False, seed: int = 0) -> None:
    """Forward, gradient (under a random upstream gradient) and optionally the second derivative
    (gradient of <grad, v>) of ``ours`` and ``theirs`` applied to the same float arrays."""
    rng = np.random.default_rng(seed)
    xs = [tl.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch_tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out, tout = ours(*xs), theirs(*ts)
    assert_close(out, tout, **fwd_tol, what="forward")
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    diff = [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    grads = tl.autograd.grad(out, [xs[i] for i in diff], upstream, create_graph=second_order,
                             allow_unused=True)
    tgrads = torch.autograd.grad(tout, [ts[i] for i in diff], torch_tensor(upstream),
                                 create_graph=second_order, allow_unused=True)
    for i, g, tg in zip(diff, grads, tgrads):
        if tg is None:
            assert g is None or not np.any(g.detach().numpy()), f"input {i}: torch has no gradient"
            continue
        assert_close(g, tg, **grad_tol, what=f"gradient of input {i}")
    if second_order:
        for i, g, tg in zip(diff, grads, tgrads):
            if tg is not None and tg.requires_grad:  # a rule that lost its graph fails here
                assert g is not None and g.requires_grad, \
                    f"input {i}: PyTorch's gradient has a graph, ours {g!r} has none"
        vs = [rng.standard_normal(arrays[i].shape) for i in diff]
        pairs = [(g, tg, v) for g, tg, v in zip(grads, tgrads, vs)
                 if g is not None and tg is not None and tg.requires_grad]
        if not pairs:
            return
        s = sum(((g * tl.tensor(v.astype(g.dtype))).sum() for g, _, v in pairs), tl.tensor(0.0, dtype=out.dtype))
        ts_ = sum((tg * torch_tensor(v.astype(g.dtype))).sum() for g, tg, v in pairs)
        second = tl.autograd.grad(s, [xs[i] for i in diff], allow_unused=True)
        tsecond = torch.autograd.grad(ts_, [ts[i] for i in diff], allow_unused=True)
        for i, g2, tg2 in zip(diff, second, tsecond):
            if tg2 is None:
                assert g2 is None or not np.any(g2.detach().numpy()), \
                    f"input {i}: PyTorch has no second derivative, ours is {g2!r}"
                continue
            assert g2 is not None, f"input {i}: PyTorch has a second derivative, ours none"
            assert_close(g2, tg2, **grad_tol, what=f"second derivative of input {i}")


def fresh_interpreter(code: str) -> str:
    """What ``code`` prints, run in a new Python process (for what a first import or a first
    call loads: nothing of this test session is loaded there)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
