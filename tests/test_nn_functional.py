"""tinygrad_lr.nn.functional against torch.nn.functional: values, gradients and second derivatives
in float64 (and float32 values and gradients), extreme logits, finite differences of the fused
ops, and argument validation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
import tinygrad_lr.nn.functional as F
from helpers import (F32_ELEMENTWISE_TOL, F32_REDUCTION_TOL, FD_TOL, TORCH64_TOL, assert_close,
                     compare_with_torch, finite_difference_grad, needs_torch, torch, torch_tensor)

if torch is not None:
    import torch.nn.functional as TF

REDUCTIONS = ["mean", "sum", "none"]
EXTREMES = np.array([1e3, -1e3, 1e4, -1e4])
# (dtype, tolerance for forward values and gradients of elementwise ops, of reductions/losses)
PRECISIONS = [(np.float64, TORCH64_TOL, TORCH64_TOL),
              (np.float32, F32_ELEMENTWISE_TOL, F32_REDUCTION_TOL)]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _logits(rng: np.random.Generator, shape: tuple[int, ...], extreme: bool = True) -> np.ndarray:
    """Normal logits (scale 3), with the extreme values ±1e3, ±1e4 written into the first slots."""
    x = rng.standard_normal(shape) * 3
    if extreme:
        flat = x.reshape(-1)
        flat[:min(4, flat.size)] = EXTREMES[:flat.size]
    return x


def _t(array: np.ndarray) -> "tl.Tensor":
    return tl.tensor(array)


# ---- activations ------------------------------------------------------------------------------
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, lambda x: TF.sigmoid(x)),
    "tanh": (F.tanh, lambda x: TF.tanh(x)),
    "logsigmoid": (F.logsigmoid, lambda x: TF.logsigmoid(x)),
    "softplus": (F.softplus, lambda x: TF.softplus(x)),
    "softplus_beta": (lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                      lambda x: TF.softplus(x, beta=2.0, threshold=5.0)),
    "softplus_small_beta": (lambda x: F.softplus(x, beta=0.5), lambda x: TF.softplus(x, beta=0.5)),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype,elementwise_tol,_", PRECISIONS)
def test_activation_matches_torch_with_extremes(name, dtype, elementwise_tol, _):
    ours, theirs = ACTIVATIONS[name]
    x = _logits(_rng(), (3, 5)).astype(dtype)
    compare_with_torch(ours, theirs, [x], elementwise_tol, elementwise_tol,
                       second_order=dtype == np.float64)


@needs_torch
@pytest.mark.parametrize("dtype,elementwise_tol,_", PRECISIONS)
def test_relu_matches_torch(dtype, elementwise_tol, _):
    x = _logits(_rng(1), (4, 3), extreme=False).astype(dtype)
    compare_with_torch(F.relu, TF.relu, [x], elementwise_tol, elementwise_tol)


@needs_torch
def test_softplus_is_exactly_linear_above_threshold():
    x = tl.tensor(np.array([20.5, 25.0, 1e4]), requires_grad=True)
    y = F.softplus(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    np.testing.assert_array_equal(x.grad.detach().numpy(), np.ones(3))


@needs_torch
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 5), 1), ((4, 5), 0), ((4, 5), -1), ((2, 3, 4), 1),
                                       ((6,), 0), ((), 0)])
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_softmax_family_matches_torch(fn, shape, dim, dtype, _, reduction_tol):
    x = _logits(_rng(2), shape).astype(dtype)
    compare_with_torch(lambda a: getattr(F, fn)(a, dim), lambda a: getattr(TF, fn)(a, dim), [x],
                       reduction_tol, reduction_tol, second_order=dtype == np.float64)


@needs_torch
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_implicit_dim_follows_torch_and_warns(fn, ndim):
    x = _rng(3).standard_normal((2,) * ndim)
    with pytest.warns(UserWarning, match="implicit dimension"):
        ours = getattr(F, fn)(_t(x))
    with pytest.warns(UserWarning):
        theirs = getattr(TF, fn)(torch_tensor(x))
    assert_close(ours, theirs, **TORCH64_TOL)


def test_softmax_rejects_out_of_range_dim():
    with pytest.raises(IndexError, match="dimension 2"):
        F.softmax(tl.zeros(3, 4), 2)


def test_log_softmax_backward_rule_is_g_minus_softmax_times_sum():
    rng = _rng(4)
    x = tl.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    g = rng.standard_normal((3, 4))
    out = F.log_softmax(x, 1)
    (grad,) = tl.autograd.grad(out, x, g)
    expected = g - np.exp(out.detach().numpy()) * g.sum(1, keepdims=True)
    assert_close(grad, expected, **TORCH64_TOL)


# ---- binary cross-entropy on probabilities ----------------------------------------------------
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_binary_cross_entropy_matches_torch(reduction, weighted, dtype, _, reduction_tol):
    rng = _rng(5)
    x = rng.uniform(0.01, 0.99, (6, 3)).astype(dtype)
    y = np.concatenate([rng.random((3, 3)), rng.integers(0, 2, (3, 3))]).astype(dtype)
    w = (rng.random(3) + 0.5).astype(dtype) if weighted else None
    compare_with_torch(
        lambda a, b: F.binary_cross_entropy(a, b, None if w is None else _t(w),
                                            reduction=reduction),
        lambda a, b: TF.binary_cross_entropy(a, b, None if w is None else torch_tensor(w),
                                             reduction=reduction),
        [x, y], reduction_tol, reduction_tol)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_binary_cross_entropy_at_zero_and_one_matches_torch_clamps(reduction, dtype, _,
                                                                   reduction_tol):
    # Logs clamp at -100; the derivative's denominator x(1-x) clamps at 1e-12 (about +-1e12 here)
    # and the target derivative log(1-x) - log(x) is infinite, exactly as PyTorch.
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-13, 1 - 1e-7], dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.3, 0.6, 1.0, 0.0], dtype)
    compare_with_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                       lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
                       [x, y], reduction_tol, reduction_tol)


def test_binary_cross_entropy_clamped_gradient_values():
    x = tl.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    loss = F.binary_cross_entropy(x, tl.tensor(np.array([1.0, 0.0, 0.0, 1.0])), reduction="sum")
    loss.backward()
    assert loss.item() == 200.0
    eps = float(np.float32(1e-12))
    np.testing.assert_array_equal(x.grad.detach().numpy(), [-1 / eps, 1 / eps, 0.0, 0.0])


# ---- binary cross-entropy with logits ---------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_bce_with_logits_matches_torch_with_extremes(reduction, weights, dtype, _, reduction_tol):
    rng = _rng(6)
    x = _logits(rng, (5, 4)).astype(dtype)
    y = np.concatenate([rng.random((2, 4)), rng.integers(0, 2, (3, 4))]).astype(dtype)
    w = (rng.random(4) + 0.5).astype(dtype) if weights in ("weight", "both") else None
    p = (rng.random(4) * 3).astype(dtype) if weights in ("pos_weight", "both") else None

    def ours(a, b):
        return F.binary_cross_entropy_with_logits(
            a, b, None if w is None else _t(w), pos_weight=None if p is None else _t(p),
            reduction=reduction)

    def theirs(a, b):
        return TF.binary_cross_entropy_with_logits(
            a, b, None if w is None else torch_tensor(w),
            pos_weight=None if p is None else torch_tensor(p), reduction=reduction)

    compare_with_torch(ours, theirs, [x, y], reduction_tol, reduction_tol,
                       second_order=dtype == np.float64)


def test_bce_with_logits_gradient_is_sigmoid_minus_target_scaled_by_weights():
    rng = _rng(7)
    x, y = rng.standard_normal((4, 3)), rng.random((4, 3))
    w, p = rng.random(3) + 0.5, rng.random(3) * 2
    xt = tl.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(xt, _t(y), _t(w), reduction="sum").backward()
    s = 1 / (1 + np.exp(-x))
    assert_close(xt.grad, w * (s - y), **TORCH64_TOL)
    xt.grad = None
    F.binary_cross_entropy_with_logits(xt, _t(y), _t(w), pos_weight=_t(p),
                                       reduction="sum").backward()
    assert_close(xt.grad, w * ((p * y + 1 - y) * s - p * y), **TORCH64_TOL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pos_weight", [None, 2.0])
def test_bce_with_logits_is_finite_without_floating_point_errors(dtype, pos_weight):
    x = tl.tensor(np.array([1e3, -1e3, 1e4, -1e4, 0.0, 30.0, -30.0], dtype), requires_grad=True)
    y = tl.tensor(np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0], dtype))
    p = None if pos_weight is None else tl.full((7,), pos_weight, dtype=dtype)
    with np.errstate(all="raise", under="ignore"):  # underflow: PyTorch's tails, not floored
        loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=p, reduction="none")
        loss.sum().backward()
    assert loss.dtype == dtype and np.isfinite(loss.detach().numpy()).all()
    scale = 1.0 if pos_weight is None else pos_weight
    np.testing.assert_allclose(loss.detach().numpy()[:4], [1e3, 1e3 * scale, 0.0, 0.0], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(x.grad.detach().numpy()[:4], [1.0, -scale, 0.0, 0.0], rtol=1e-7, atol=1e-9)


# ---- regression losses ------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_regression_losses_match_torch(name, reduction, dtype, _, reduction_tol):
    rng = _rng(8)
    x, y = (rng.standard_normal((2, 3, 4)).astype(dtype) for _ in range(2))
    compare_with_torch(lambda a, b: getattr(F, name)(a, b, reduction=reduction),
                       lambda a, b: getattr(TF, name)(a, b, reduction=reduction),
                       [x, y], reduction_tol, reduction_tol,
                       second_order=dtype == np.float64 and name == "mse_loss")


@needs_torch
def test_mse_promotes_mixed_dtypes_like_torch():
    rng = _rng(9)
    x, y = rng.standard_normal(5).astype(np.float32), rng.standard_normal(5)
    assert_close(F.mse_loss(_t(x), _t(y)), TF.mse_loss(torch_tensor(x), torch_tensor(y)),
                 **TORCH64_TOL)


# ---- classification losses --------------------------------------------------------------------
def _class_targets(rng: np.random.Generator, shape: tuple[int, ...], n_classes: int,
                   ignore_index: int | None) -> np.ndarray:
    t = rng.integers(0, n_classes, shape)
    if ignore_index is not None and t.size > 1:
        t.reshape(-1)[1] = ignore_index
    return t


CE_SHAPES = [((6, 4), (6,)), ((5,), ()), ((3, 4, 2, 2), (3, 2, 2))]


@needs_torch
@pytest.mark.parametrize("shapes", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("ignore_index", [None, -100, 2])
def test_cross_entropy_matches_torch(shapes, reduction, weighted, label_smoothing, ignore_index):
    in_shape, t_shape = shapes
    rng = _rng(10)
    n_classes = in_shape[1] if len(in_shape) > 1 else in_shape[0]
    x = _logits(rng, in_shape)
    t = _class_targets(rng, t_shape, n_classes, ignore_index)
    w = rng.random(n_classes) + 0.2 if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing,
                  ignore_index=-100 if ignore_index is None else ignore_index)
    compare_with_torch(
        lambda a: F.cross_entropy(a, _t(t), None if w is None else _t(w), **kwargs),
        lambda a: TF.cross_entropy(a, torch.from_numpy(t), None if w is None else torch_tensor(w),
                                   **kwargs),
        [x], TORCH64_TOL, TORCH64_TOL, second_order=True)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_float32_matches_torch(reduction, label_smoothing):
    rng = _rng(11)
    x = _logits(rng, (8, 5)).astype(np.float32)
    t = _class_targets(rng, (8,), 5, -100)
    w = (rng.random(5) + 0.2).astype(np.float32)
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    compare_with_torch(lambda a: F.cross_entropy(a, _t(t), _t(w), **kwargs),
                       lambda a: TF.cross_entropy(a, torch.from_numpy(t), torch_tensor(w),
                                                  **kwargs),
                       [x], F32_REDUCTION_TOL, F32_REDUCTION_TOL)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_with_probability_targets_matches_torch(reduction, label_smoothing):
    rng = _rng(12)
    x = _logits(rng, (4, 3, 2))
    probs = rng.random((4, 3, 2))
    probs /= probs.sum(1, keepdims=True)
    w = rng.random(3) + 0.2
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    compare_with_torch(lambda a: F.cross_entropy(a, _t(probs), _t(w), **kwargs),
                       lambda a: TF.cross_entropy(a, torch_tensor(probs), torch_tensor(w),
                                                  **kwargs),
                       [x], TORCH64_TOL, TORCH64_TOL, second_order=True)


@needs_torch
def test_cross_entropy_mean_with_every_target_ignored_is_nan_like_torch():
    t = np.array([-100, -100])
    ours = F.cross_entropy(tl.zeros(2, 3, dtype=tl.float64), _t(t))
    theirs = TF.cross_entropy(torch.zeros(2, 3, dtype=torch.float64), torch.from_numpy(t))
    assert np.isnan(ours.item()) and np.isnan(theirs.item())


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype,_,reduction_tol", PRECISIONS)
def test_nll_loss_matches_torch(reduction, weighted, dtype, _, reduction_tol):
    rng = _rng(13)
    logp = np.log(rng.dirichlet(np.ones(4), 7)).astype(dtype)
    t = _class_targets(rng, (7,), 4, -100)
    w = (rng.random(4) + 0.2).astype(dtype) if weighted else None
    compare_with_torch(
        lambda a: F.nll_loss(a, _t(t), None if w is None else _t(w), reduction=reduction),
        lambda a: TF.nll_loss(a, torch.from_numpy(t), None if w is None else torch_tensor(w),
                              reduction=reduction),
        [logp], reduction_tol, reduction_tol)


@needs_torch
def test_nll_loss_is_finite_with_minus_infinity_outside_the_target():
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]]))
    t = np.array([0, 2])
    x = tl.tensor(logp, requires_grad=True)
    ours = F.nll_loss(x, _t(t))
    ours.backward()
    theirs = TF.nll_loss(torch_tensor(logp), torch.from_numpy(t))
    assert_close(ours, theirs, **TORCH64_TOL)
    assert_close(x.grad, np.array([[-0.5, 0, 0], [0, 0, -0.5]]), **TORCH64_TOL)


@needs_torch
@given(x=hnp.arrays(np.float64, st.integers(1, 6),
                    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)),
       data=st.data())
def test_bce_with_logits_matches_torch_for_any_logits(x, data):
    y = data.draw(hnp.arrays(np.float64, x.shape, elements=st.sampled_from([0.0, 0.25, 1.0])))
    compare_with_torch(F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits,
                       [x, y], TORCH64_TOL, TORCH64_TOL)


@needs_torch
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5),
                    elements=st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False)),
       data=st.data())
def test_cross_entropy_matches_torch_for_any_logits(x, data):
    t = data.draw(hnp.arrays(np.int64, x.shape[:1], elements=st.integers(0, x.shape[1] - 1)))
    compare_with_torch(lambda a: F.cross_entropy(a, _t(t)),
                       lambda a: TF.cross_entropy(a, torch.from_numpy(t)),
                       [x], TORCH64_TOL, TORCH64_TOL)


# ---- finite differences of the fused ops (float64) --------------------------------------------
FUSED = {
    "softplus": (lambda x: F.softplus(x, beta=1.5, threshold=4.0), False),
    "softmax": (lambda x: F.softmax(x, 1), False),
    "log_softmax": (lambda x: F.log_softmax(x, 0), False),
    "bce": (lambda x, y: F.binary_cross_entropy(F.sigmoid(x), y, reduction="sum"), True),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, tl.tensor(np.array([0.5, 2.0])), pos_weight=tl.tensor(np.array([3.0, 0.5]))), True),
    "mse": (lambda x, y: F.mse_loss(x, y, reduction="none"), True),
    "l1": (lambda x, y: F.l1_loss(x, y, reduction="sum"), True),
    "cross_entropy": (lambda x: F.cross_entropy(x, tl.tensor(np.array([1, 0, 1])),
                                                tl.tensor(np.array([0.3, 2.0])),
                                                label_smoothing=0.2), False),
    "nll": (lambda x: F.nll_loss(x, tl.tensor(np.array([1, -100, 0]))), False),
}


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_ops_pass_gradcheck_and_gradgradcheck(name):
    fn, has_target = FUSED[name]
    rng = _rng(14)
    # x away from the softplus threshold (beta x = 4) and from the l1 kink at y
    x = tl.tensor(rng.uniform(-2, 2, (3, 2)), requires_grad=True)
    inputs = [x]
    if has_target:
        inputs.append(tl.tensor(rng.uniform(0.1, 0.9, (3, 2)), requires_grad=True))
    assert tl.autograd.gradcheck(fn, inputs, atol=FD_TOL["atol"], rtol=FD_TOL["rtol"])
    if name != "l1":
        assert tl.autograd.gradgradcheck(fn, inputs, atol=FD_TOL["atol"], rtol=FD_TOL["rtol"])


def test_binary_cross_entropy_target_gradient_matches_finite_differences():
    x = np.array([0.2, 0.7, 0.05])
    y = np.array([0.1, 0.9, 0.5])

    def loss_of_target(t: np.ndarray) -> float:
        return F.binary_cross_entropy(_t(x), _t(t)).item()

    yt = tl.tensor(y, requires_grad=True)
    F.binary_cross_entropy(_t(x), yt).backward()
    assert_close(yt.grad, finite_difference_grad(loss_of_target, y), **FD_TOL)


# ---- Hessians, as a Newton solver takes them --------------------------------------------------
@needs_torch
@pytest.mark.parametrize("kind", ["bce_with_logits", "cross_entropy"])
def test_hessian_of_linear_model_loss_matches_torch(kind):
    rng = _rng(15)
    features = rng.standard_normal((20, 3))
    features[0] *= 400  # drives some logits to the extremes
    if kind == "bce_with_logits":
        labels = rng.integers(0, 2, 20).astype(np.float64)
        shape = (3,)

        def ours(w):
            return F.binary_cross_entropy_with_logits(_t(features) @ w, _t(labels))

        def theirs(w):
            return TF.binary_cross_entropy_with_logits(torch_tensor(features) @ w,
                                                       torch_tensor(labels))
    else:
        labels = rng.integers(0, 4, 20)
        shape = (3, 4)

        def ours(w):
            return F.cross_entropy(_t(features) @ w, _t(labels), label_smoothing=0.1)

        def theirs(w):
            return TF.cross_entropy(torch_tensor(features) @ w, torch.from_numpy(labels),
                                    label_smoothing=0.1)
    w0 = rng.standard_normal(shape) * 0.1
    hessian = tl.autograd.functional.hessian(ours, _t(w0))
    expected = torch.autograd.functional.hessian(theirs, torch_tensor(w0))
    assert_close(hessian, expected, **TORCH64_TOL)


# ---- validation -------------------------------------------------------------------------------
SHAPE_CHECKED = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss",
                 "l1_loss"]
BROADCASTING = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


@pytest.mark.parametrize("name", SHAPE_CHECKED[:2])
def test_input_target_shape_mismatch_names_both_shapes(name):
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        getattr(F, name)(tl.full((3,), 0.5), tl.full((4,), 0.5))


@pytest.mark.parametrize("name", BROADCASTING)
def test_regression_losses_warn_then_refuse_shapes_that_do_not_broadcast(name):
    with pytest.warns(UserWarning, match=r"\(4,\).*\(3,\)"), \
            pytest.raises(RuntimeError, match=r"\(3,\).*\(4,\)"):
        getattr(F, name)(tl.full((3,), 0.5), tl.full((4,), 0.5))


@needs_torch
@pytest.mark.parametrize("name", BROADCASTING)
def test_regression_losses_warn_and_broadcast_n1_against_n_like_torch(name):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 1)) * 2, rng.standard_normal(5) * 2
    ours = tl.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    with pytest.warns(UserWarning, match="different to the input size"):
        loss = getattr(F, name)(ours, tl.tensor(y))
    with pytest.warns(UserWarning):
        tloss = getattr(torch.nn.functional, name)(theirs, torch.tensor(y))
    loss.backward()
    tloss.backward()
    assert_close(loss, tloss, **TORCH64_TOL)
    assert_close(ours.grad, theirs.grad, **TORCH64_TOL)


@pytest.mark.parametrize("name", SHAPE_CHECKED + ["cross_entropy", "nll_loss"])
def test_unknown_reduction_is_named(name):
    x, y = tl.full((2, 3), 0.5), tl.full((2, 3), 0.5)
    if name in ("cross_entropy", "nll_loss"):
        y = tl.tensor([0, 1])
    with pytest.raises(ValueError, match="'average'"):
        getattr(F, name)(x, y, reduction="average")


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("bad", [1.5, -0.25, float("nan")])
def test_bce_target_outside_unit_interval_raises(name, bad):
    y = tl.tensor([0.0, bad, 1.0])
    with pytest.raises(ValueError, match=r"target should be between 0 and 1.*index \(1,\)"):
        getattr(F, name)(tl.full((3,), 0.5), y)


def test_binary_cross_entropy_input_outside_unit_interval_raises():
    with pytest.raises(ValueError, match="input should be between 0 and 1, got 1.25"):
        F.binary_cross_entropy(tl.tensor([0.5, 1.25]), tl.tensor([0.0, 1.0]))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [5, -3])
def test_class_target_out_of_range_is_named(name, bad):
    with pytest.raises(IndexError, match=f"target {bad} is out of bounds"):
        getattr(F, name)(tl.zeros(3, 4), tl.tensor([0, bad, 1]))


def test_class_target_batch_size_mismatch_raises():
    with pytest.raises(ValueError, match=r"batch_size \(3\).*batch_size \(2\)"):
        F.cross_entropy(tl.zeros(3, 4), tl.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\(3, 2\)"):
        F.cross_entropy(tl.zeros(3, 4, 5), tl.zeros(3, 2, dtype=tl.int64))


def test_class_weight_must_have_one_entry_per_class():
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(tl.zeros(3, 4), tl.tensor([0, 1, 2]), tl.ones(3))


@pytest.mark.parametrize("smoothing", [-0.1, 1.5])
def test_label_smoothing_out_of_range_raises(smoothing):
    with pytest.raises(ValueError, match=str(smoothing)):
        F.cross_entropy(tl.zeros(2, 3), tl.tensor([0, 1]), label_smoothing=smoothing)


def test_class_losses_reject_targets_that_are_not_int64_like_torch():
    with pytest.raises(RuntimeError, match="float32"):
        F.nll_loss(tl.zeros(2, 3), tl.zeros(2))
    with pytest.raises(RuntimeError, match="int32"):
        F.nll_loss(tl.zeros(2, 3), tl.zeros(2, dtype=tl.int32))
    with pytest.raises(RuntimeError, match="Long"):
        F.cross_entropy(tl.zeros(2, 3), tl.tensor([1.0, 0.0]))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_bce_with_an_integer_target_raises_runtime_error_like_torch(name):
    with pytest.raises(RuntimeError, match="Long"):
        getattr(F, name)(tl.full((3,), 0.5), tl.tensor([1, 0, 1]))


def test_bce_target_of_another_float_dtype_raises_like_torch():
    with pytest.raises(RuntimeError, match="Double but expected Float"):
        F.binary_cross_entropy(tl.full((3,), 0.5), tl.zeros(3, dtype=tl.float64))
    loss = F.binary_cross_entropy_with_logits(tl.zeros(3), tl.zeros(3, dtype=tl.float64))
    assert loss.dtype == tl.float64


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_linear_on_another_dtype_raises_like_torch(dtype):
    layer = tl.nn.Linear(2, 1)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype"):
        layer(tl.ones(3, 2, dtype=getattr(tl, dtype)))


def test_loss_weights_that_require_grad_are_rejected_like_torch():
    w = tl.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="'weight'"):
        F.binary_cross_entropy_with_logits(tl.zeros(3), tl.zeros(3), w)
    with pytest.raises(RuntimeError, match="'pos_weight'"):
        F.binary_cross_entropy_with_logits(tl.zeros(3), tl.zeros(3), pos_weight=w)
    with pytest.raises(RuntimeError, match="'weight'"):
        F.cross_entropy(tl.zeros(2, 3), tl.tensor([0, 1]), w)


def test_weight_that_does_not_broadcast_names_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(2, 3\)"):
        F.binary_cross_entropy_with_logits(tl.zeros(2, 3), tl.zeros(2, 3), tl.ones(4))


@needs_torch
@pytest.mark.parametrize("shape", [(), (1,), (5,)])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_fused_path_on_small_and_0d_inputs(shape, weighted):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 3
    y = (rng.random(shape) < 0.5).astype(np.float64)
    w = rng.random(shape) + 0.5 if weighted else None
    for reduction in ("mean", "sum"):
        ours = tl.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(
            ours, tl.tensor(y), weight=None if w is None else tl.tensor(w), reduction=reduction)
        tloss = torch.nn.functional.binary_cross_entropy_with_logits(
            theirs, torch.tensor(y), weight=None if w is None else torch.tensor(w), reduction=reduction)
        loss.backward()
        tloss.backward()
        assert_close(loss, tloss, **TORCH64_TOL)
        assert_close(ours.grad, theirs.grad, **TORCH64_TOL)
