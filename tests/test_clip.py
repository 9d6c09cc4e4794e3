"""tinygrad_lr.nn.utils gradient clipping against torch.nn.utils: the returned total norm and the
clipped gradients for several norm types, dtypes and edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from helpers import F32_REDUCTION_TOL, TORCH64_TOL, assert_close, needs_torch, torch, torch_tensor
from tinygrad_lr.nn.utils import clip_grad_norm_, clip_grad_value_

SHAPES = [(3, 4), (4,), (), (2, 1, 3)]
PRECISIONS = [(np.float64, TORCH64_TOL), (np.float32, F32_REDUCTION_TOL)]


def _with_grads(grads: list[np.ndarray], lib_tensor) -> list:
    """Parameters (zeros) whose .grad holds the given arrays, for either library."""
    params = []
    for g in grads:
        p = lib_tensor(np.zeros_like(g))
        p.requires_grad_(True)
        p.grad = lib_tensor(g.copy())
        params.append(p)
    return params


def _grads(seed: int, dtype: np.dtype, scale: float = 1.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]


@needs_torch
@pytest.mark.parametrize("norm_type", [1, 2.0, 3, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e3])
@pytest.mark.parametrize("dtype,tol", PRECISIONS)
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype, tol):
    grads = _grads(0, dtype)
    ours, theirs = _with_grads(grads, tl.tensor), _with_grads(grads, torch_tensor)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert_close(total, expected, **tol, what="total norm")
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert_close(p.grad, tp.grad, **tol, what=f"gradient {i}")


def test_clip_grad_norm_scales_by_max_norm_over_total_plus_eps():
    grads = [np.array([3.0, 4.0])]
    (p,) = _with_grads(grads, tl.tensor)
    total = clip_grad_norm_([p], 1.0)
    assert total.item() == 5.0
    np.testing.assert_allclose(p.grad.detach().numpy(), grads[0] / (5.0 + 1e-6), rtol=1e-15)


def test_clip_grad_norm_leaves_small_gradients_and_their_arrays_alone():
    (p,) = _with_grads([np.array([0.3, -0.4])], tl.tensor)
    array = p.grad.detach().numpy()
    total = clip_grad_norm_(p, 10.0)
    assert p.grad.detach().numpy() is array
    np.testing.assert_allclose(total.item(), 0.5)
    np.testing.assert_array_equal(array, [0.3, -0.4])


def test_clip_grad_norm_works_in_place_on_the_grad_arrays():
    params = _with_grads(_grads(1, np.float64, scale=10), tl.tensor)
    arrays = [p.grad.detach().numpy() for p in params]
    clip_grad_norm_((p for p in params), 1.0)
    assert all(p.grad.detach().numpy() is a for p, a in zip(params, arrays))
    np.testing.assert_allclose(np.sqrt(sum((a ** 2).sum() for a in arrays)), 1.0, rtol=1e-5)


def test_parameters_without_gradient_are_skipped():
    params = _with_grads([np.array([6.0, 8.0])], tl.tensor)
    params.append(tl.zeros(3, requires_grad=True))
    assert clip_grad_norm_(params, 1.0).item() == 10.0
    assert params[1].grad is None
    empty = clip_grad_norm_([tl.zeros(2, requires_grad=True)], 1.0)
    assert empty.item() == 0.0 and empty.dtype == tl.float32


@needs_torch
def test_nonfinite_norm_raises_when_asked_and_spreads_nan_otherwise():
    grads = [np.array([1.0, np.nan]), np.array([2.0])]
    with pytest.raises(RuntimeError, match="order 2.0.*non-finite"):
        clip_grad_norm_(_with_grads(grads, tl.tensor), 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="order inf.*non-finite"):
        clip_grad_norm_(_with_grads([np.array([np.inf])], tl.tensor), 1.0, norm_type="inf",
                        error_if_nonfinite=True)
    ours, theirs = _with_grads(grads, tl.tensor), _with_grads(grads, torch_tensor)
    total = clip_grad_norm_(ours, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert np.isnan(total.item()) and np.isnan(expected.item())
    for p, tp in zip(ours, theirs):
        assert_close(p.grad, tp.grad, **TORCH64_TOL)


@pytest.mark.parametrize("norm_type", [0, -1, float("-inf"), float("nan")])
def test_invalid_norm_type_raises(norm_type):
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(_with_grads([np.ones(2)], tl.tensor), 1.0, norm_type=norm_type)


def test_negative_max_norm_raises():
    with pytest.raises(ValueError, match="-1"):
        clip_grad_norm_(_with_grads([np.ones(2)], tl.tensor), -1)


@needs_torch
@given(grad=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                       elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
       max_norm=st.floats(1e-3, 1e3),
       norm_type=st.sampled_from([1.0, 2.0, 1.5, 4.0, math.inf]))
def test_clip_grad_norm_matches_torch_for_any_gradient(grad, max_norm, norm_type):
    ours, theirs = _with_grads([grad, grad[..., ::-1]], tl.tensor), \
        _with_grads([grad, grad[..., ::-1]], torch_tensor)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert_close(total, expected, **TORCH64_TOL)
    for p, tp in zip(ours, theirs):
        assert_close(p.grad, tp.grad, **TORCH64_TOL)


@needs_torch
@pytest.mark.parametrize("clip_value", [0.0, 0.5, 10.0])
@pytest.mark.parametrize("dtype,tol", PRECISIONS)
def test_clip_grad_value_matches_torch(clip_value, dtype, tol):
    grads = _grads(2, dtype, scale=2)
    ours, theirs = _with_grads(grads, tl.tensor), _with_grads(grads, torch_tensor)
    arrays = [p.grad.detach().numpy() for p in ours]
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for p, tp, a in zip(ours, theirs, arrays):
        assert p.grad.detach().numpy() is a
        assert_close(p.grad, tp.grad, **tol)


def test_clip_grad_value_rejects_negative_values():
    with pytest.raises(ValueError, match="-0.5"):
        clip_grad_value_(_with_grads([np.ones(2)], tl.tensor), -0.5)


def test_clipping_replaces_gradients_that_are_part_of_a_graph():
    x = tl.tensor(np.array([3.0, 4.0]), requires_grad=True)
    (g,) = tl.autograd.grad((x * x).sum(), x, create_graph=True)
    x.grad = g
    clip_grad_norm_([x], 1.0)
    assert x.grad is not g and not x.grad.requires_grad
    np.testing.assert_allclose(x.grad.detach().numpy(), [0.6, 0.8], rtol=1e-6)
