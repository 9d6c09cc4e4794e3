"""The fused logistic losses of a dense linear model (issue 15): the blocked kernels against their
two-pass references, the op's derivatives to third order against finite differences and PyTorch
(a planted wrong kernel must fail both checks), and its use by the estimator's solvers (captured
by tl.compile, Newton's products through it); then the same for the multinomial (softmax) loss."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import F32_REDUCTION_TOL, FD_TOL, TORCH64_TOL, needs_torch, torch, torch_tensor
from tinygrad_lr.autograd import grad, gradcheck, gradgradcheck, no_grad
from tinygrad_lr.compiler import Capture
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.kernels import linear_loss
from tinygrad_lr.linear_model import LogisticRegression
from tinygrad_lr.linear_model._objective import (LogisticGradient, SoftmaxGradient,
                                                 logistic_loss, softmax_loss)
from tinygrad_lr.linear_model import logistic
from tinygrad_lr.linear_model._solvers import FlatProblem
from tinygrad_lr.linear_model.logistic import _Objective

REFERENCE64_TOL = dict(rtol=1e-12, atol=1e-15)  # the same sums in another order


def data(n: int, p: int, dtype: type = np.float64, seed: int = 0, shared: bool = False
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """X, 0/1 targets, positive weights summing to 1 (``shared``: one 0-d weight 1/n for all
    rows), coefficients and an intercept, with logits spread over about +-6 (and a few rows far
    out, where sigmoid saturates)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if n > 2:
        X[:2] *= 40.0
    y = (rng.random(n) < 0.5).astype(np.float64)
    s = rng.uniform(0.5, 2.0, n)
    s = np.array(1.0 / n) if shared else s / s.sum()
    w = rng.standard_normal(p) * (2.0 / np.sqrt(p))
    b = np.array([rng.standard_normal()])
    return tuple(a.astype(dtype) for a in (X, y, s, w, b))


# ---- the kernels against their references -------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("rows", [None, 1, 7, 64, 10_000])
def test_fused_loss_and_gradient_equal_the_two_pass_reference(dtype, intercept, shared, rows):
    """Loss and gradient of the blocked pass (every block size: one row, blocks that do not divide
    n, one block; weights per row or shared) equal the textbook X w, sigmoid, X' r; float32 stays
    float32."""
    X, y, s, w, b = data(300, 9, dtype, shared=shared)
    b = b if intercept else None
    loss, grad_w, grad_b, z = linear_loss.logistic_loss_grad(X, y, s, w, b, rows=rows)
    ref_loss, ref_w, ref_b = linear_loss.logistic_loss_grad_reference(X, y, s, w, b)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    for got, expected in ((loss, ref_loss), (grad_w, ref_w), (grad_b, ref_b),
                          (linear_loss.logistic_loss(X, y, s, w, b), ref_loss)):
        if expected is None:
            assert got is None
            continue
        assert np.asarray(got).dtype == dtype and np.shape(got) == np.shape(expected)
        np.testing.assert_allclose(got, expected, **tol)
    np.testing.assert_allclose(z, X @ w + (0 if b is None else b), **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("rows", [None, 1, 7, 10_000])
def test_fused_hessian_vector_product_equals_the_two_pass_reference(dtype, intercept, shared,
                                                                    rows):
    X, y, s, w, b = data(300, 9, dtype, seed=1, shared=shared)
    b = b if intercept else None
    rng = np.random.default_rng(2)
    u = rng.standard_normal(9).astype(dtype)
    c = np.array([rng.standard_normal()], dtype) if intercept else None
    *_, z = linear_loss.logistic_loss_grad(X, y, s, w, b)
    d = linear_loss.logistic_curvature(z, s)
    product_w, product_b = linear_loss.logistic_hessian_vector(X, d, u, c, rows=rows)
    ref_w, ref_b = linear_loss.logistic_hessian_vector_reference(X, s, w, b, u, c)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    assert product_w.dtype == dtype
    np.testing.assert_allclose(product_w, ref_w, **tol)
    if intercept:
        assert product_b.dtype == dtype and product_b.shape == (1,)
        np.testing.assert_allclose(product_b, ref_b, **tol)
    else:
        assert product_b is None


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), p=st.integers(1, 12), rows=st.integers(1, 70),
       scale=st.floats(0.01, 800.0), seed=st.integers(0, 2**16), shared=st.booleans())
def test_fused_kernels_match_the_references_for_any_shape_and_scale(n, p, rows, scale, seed,
                                                                     shared):
    """Any shape and block size, and logits from tiny to far beyond exp's overflow: finite, and
    equal to the references (where those are finite: exp(-z) overflows first in theirs)."""
    X, y, s, w, b = data(n, p, seed=seed, shared=shared)
    w = w * scale
    loss, grad_w, grad_b, z = linear_loss.logistic_loss_grad(X, y, s, w, b, rows=rows)
    assert np.isfinite(loss) and np.isfinite(grad_w).all() and np.isfinite(grad_b).all()
    with np.errstate(over="ignore"):
        ref_loss, ref_w, ref_b = linear_loss.logistic_loss_grad_reference(X, y, s, w, b)
        u = np.ones(p)
        ref_hw, ref_hb = linear_loss.logistic_hessian_vector_reference(X, s, w, b, u, b)
    scale_of = max(1.0, float(np.abs(ref_w).max()))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-13 * max(1.0, abs(ref_loss)))
    np.testing.assert_allclose(grad_w, ref_w, rtol=1e-12, atol=1e-14 * scale_of)
    np.testing.assert_allclose(grad_b, ref_b, rtol=1e-12, atol=1e-14)
    hw, hb = linear_loss.logistic_hessian_vector(X, linear_loss.logistic_curvature(z, s), u, b,
                                                 rows=rows)
    np.testing.assert_allclose(hw, ref_hw, rtol=1e-11, atol=1e-14 * max(1.0, np.abs(X).max()))
    np.testing.assert_allclose(hb, ref_hb, rtol=1e-11, atol=1e-14)


def test_block_size_comes_from_the_tuning_constants(monkeypatch):
    """Rows per block: all of them under LOSS_BLOCKED_MIN_BYTES of X, else LOSS_BLOCK_BYTES of X
    (at least one row); the result does not depend on them."""
    X, y, s, w, b = data(50, 4)
    assert linear_loss.block_rows(X) == 50
    monkeypatch.setattr(linear_loss, "LOSS_BLOCKED_MIN_BYTES", X.nbytes)
    monkeypatch.setattr(linear_loss, "LOSS_BLOCK_BYTES", 3 * 4 * 8)
    assert linear_loss.block_rows(X) == 3
    small = linear_loss.logistic_loss_grad(X, y, s, w, b)
    monkeypatch.setattr(linear_loss, "LOSS_BLOCK_BYTES", 1)
    assert linear_loss.block_rows(X) == 1
    np.testing.assert_allclose(small[1], linear_loss.logistic_loss_grad(X, y, s, w, b)[1],
                               **REFERENCE64_TOL)


# ---- the op's derivatives -----------------------------------------------------------------------
def as_op_inputs(arrays: tuple, intercept: bool) -> tuple:
    """(X, targets, s, w, b) arrays as the ops' constant tensors and parameters (b if
    ``intercept``)."""
    constants = tuple(from_numpy(a) for a in arrays[:3])
    params = (from_numpy(arrays[3]).requires_grad_(),)
    if intercept:
        params += (from_numpy(arrays[4]).requires_grad_(),)
    return constants, params


def op_inputs(n: int = 23, p: int = 4, intercept: bool = True, seed: int = 0) -> tuple:
    return as_op_inputs(data(n, p, seed=seed), intercept)


def plant_error(monkeypatch, kind: str, gradient_kernel: str, product_kernel: str) -> None:
    """Scale the gradient in w (the kernel's second result) or the product in w (its first) by
    1.001, for the checks that must catch it."""
    name, index = (gradient_kernel, 1) if kind == "wrong gradient" else (product_kernel, 0)
    real = getattr(linear_loss, name)

    def wrong(*args, **kwargs):
        results = list(real(*args, **kwargs))
        results[index] = results[index] * 1.001
        return tuple(results)
    monkeypatch.setattr(linear_loss, name, wrong)


def hessian_times(loss, constants: tuple, v: list) -> callable:
    """(w, b) -> H(w, b) v by a double backward of ``loss``, recorded (for third derivatives)."""
    def product(w, b):
        g = grad(loss(*constants, w, b), [w, b], create_graph=True)
        along = sum((gi * vi).sum() for gi, vi in zip(g, v))
        return grad(along, [w, b], create_graph=True)
    return product


def loss_of(constants: tuple) -> callable:
    return lambda w, b=None: logistic_loss(*constants, w, b)


@pytest.fixture(params=["correct", "wrong gradient", "wrong product"])
def kernels(request, monkeypatch):
    """The kernels as they are, or with a planted error in the gradient or in the Hessian-vector
    product: the checks below must fail for the planted ones."""
    if request.param != "correct":
        plant_error(monkeypatch, request.param, "logistic_loss_grad", "logistic_hessian_vector")
    return request.param


@pytest.mark.parametrize("intercept", [True, False])
def test_first_and_second_derivatives_match_finite_differences(kernels, intercept):
    constants, params = op_inputs(intercept=intercept)
    first = gradcheck(loss_of(constants), params, **FD_TOL, raise_exception=False)
    second = gradgradcheck(loss_of(constants), params, **FD_TOL, raise_exception=False)
    assert first == (kernels != "wrong gradient")
    # a wrong gradient also breaks the second check (its numerical side differentiates it)
    assert second == (kernels == "correct")


def test_third_derivatives_match_finite_differences():
    """The product's own derivative (the textbook formula on Tensors) against differences of
    the fused product: d/dw of H(w) v."""
    constants, params = op_inputs(n=17, p=3)
    rng = np.random.default_rng(5)
    v = [from_numpy(rng.standard_normal(p.shape)) for p in params]
    assert gradcheck(hessian_times(logistic_loss, constants, v), params, **FD_TOL)


def agreement_with_torch(loss, params, t_loss, t_params, vs) -> tuple[bool, bool, bool]:
    """Whether our loss, gradients and Hessian-vector products along ``vs`` (a double backward)
    agree with torch's in float64."""
    grads = grad(loss, list(params), create_graph=True)
    along = sum((g * from_numpy(v)).sum() for g, v in zip(grads, vs))
    products = grad(along, list(params))
    t_grads = torch.autograd.grad(t_loss, t_params, create_graph=True)
    t_along = sum((g * torch_tensor(v)).sum() for g, v in zip(t_grads, vs))
    t_products = torch.autograd.grad(t_along, t_params)

    def agree(ours, theirs):
        return np.allclose(ours.detach().numpy(), theirs.detach().numpy(), **TORCH64_TOL)
    return (agree(loss, t_loss), all(agree(g, t) for g, t in zip(grads, t_grads)),
            all(agree(h, t) for h, t in zip(products, t_products)))


@needs_torch
@pytest.mark.parametrize("intercept", [True, False])
def test_loss_gradient_and_hessian_vector_product_match_torch(kernels, intercept):
    """Value, gradient and H v (torch's double backward) in float64; planted errors fail."""
    constants, params = op_inputs(n=40, p=6, intercept=intercept, seed=3)
    rng = np.random.default_rng(4)
    vs = [rng.standard_normal(p.shape) for p in params]
    loss = logistic_loss(*constants, *params)
    X, y, s = (torch_tensor(c.detach().numpy()) for c in constants)
    t_params = [torch_tensor(p.detach().numpy(), requires_grad=True) for p in params]
    logits = X @ t_params[0] + (t_params[1] if intercept else 0)
    t_loss = (s * torch.nn.functional.binary_cross_entropy_with_logits(
        logits, y, reduction="none")).sum()
    losses_agree, gradients_agree, products_agree = agreement_with_torch(
        loss, params, t_loss, t_params, vs)
    assert losses_agree
    assert gradients_agree == (kernels != "wrong gradient")
    assert products_agree == (kernels != "wrong product")


@pytest.mark.parametrize("which", ["two-class", "softmax"])
def test_the_gradient_node_reuses_the_loss_call(which):
    """Under create_graph the gradient comes from the loss's own kernel call (for the two-class
    loss: no second pass over X), and each Hessian-vector product is one call of the product
    kernel."""
    if which == "two-class":
        (constants, params), loss_op = op_inputs(), logistic_loss
        names, gradient_op = ("logistic_loss_grad", "logistic_hessian_vector"), LogisticGradient
    else:
        (constants, params), loss_op = softmax_op_inputs(), softmax_loss
        names, gradient_op = ("softmax_loss_grad", "softmax_hessian_vector"), SoftmaxGradient
    calls = dict.fromkeys(names, 0)

    def counted(name):
        real = getattr(linear_loss, name)

        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return call
    with pytest.MonkeyPatch.context() as patch:
        for name in names:
            patch.setattr(linear_loss, name, counted(name))
        loss = loss_op(*constants, *params)
        grads = grad(loss, list(params), create_graph=True)
        assert any(isinstance(n, gradient_op) for n in _ancestors(grads[0].grad_fn))
        along = sum((g * g.detach()).sum() for g in grads)
        for _ in range(3):
            along.backward(retain_graph=True)
    assert calls == {names[0]: 1, names[1]: 3}


def _ancestors(node) -> list:
    seen, stack = [], [node]
    while stack:
        current = stack.pop()
        if current is None or current in seen:
            continue
        seen.append(current)
        stack.extend(parent for parent, _ in current.next_functions)
    return seen


def test_constants_must_not_require_grad_and_shapes_must_fit():
    (X, y, s), (w, b) = op_inputs()
    with pytest.raises(ValueError, match="constants"):
        logistic_loss(X.detach().requires_grad_(), y, s, w, b)
    with pytest.raises(ValueError, match="do not fit"):
        logistic_loss(X, y, s, w[:2], b)


def test_without_grad_mode_the_loss_alone_is_computed():
    """No gradient pass when no gradient can be asked for (the line searches' values)."""
    (X, y, s), (w, b) = op_inputs()
    with no_grad():
        value = logistic_loss(X, y, s, w, b)
    assert value.grad_fn is None
    np.testing.assert_allclose(value.item(), logistic_loss(X, y, s, w, b).item(), rtol=1e-14)


# ---- the estimator's solvers ---------------------------------------------------------------------
@pytest.fixture
def fused_from_any_size(monkeypatch):
    """The estimator takes the fused op for every dense two-class X (not only large ones)."""
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", 0)


@pytest.mark.parametrize("threshold", [0, 80 * 5 * 8 + 1])
def test_the_estimator_takes_the_fused_op_from_its_size_threshold(monkeypatch, threshold):
    """Dense two-class X of at least LOSS_FUSED_MIN_BYTES: the fused op; smaller ones, sparse
    ones and the softmax: the textbook graph (the softmax has its own threshold, tested below)."""
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", threshold)
    X = np.random.default_rng(0).standard_normal((80, 5))
    W = from_numpy(np.zeros(5)).requires_grad_()
    b = from_numpy(np.zeros(1)).requires_grad_()
    names = {type(n).__name__ for n in _ancestors(
        _Objective(X, np.arange(80) % 2, np.full(80, 1 / 80), 0.1, 2)(W, b).grad_fn)}
    assert ("LogisticLoss" in names) == (threshold == 0)
    assert not _Objective(X, np.arange(80) % 3, np.full(80, 1 / 80), 0.1, 3).fused


def test_the_estimators_two_class_objective_is_the_fused_op_and_is_captured(fused_from_any_size):
    """FlatProblem's compiled value_and_grad records the fused op (no graph break), replays it at
    new points with eager's values, and Newton's products come from the fused kernel."""
    rng = np.random.default_rng(9)
    X = rng.standard_normal((80, 5))
    y = np.arange(80) % 2
    objective = _Objective(X, y, np.full(80, 1 / 80), 0.1, 2)
    problem = FlatProblem(objective, [(5,), (1,)], X.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            theta = rng.standard_normal(6)
            value, gradient = problem.value_and_grad(theta)
            assert value == problem.value(theta)
    (capture,) = problem._loss_and_gradient.compiled.captures.values()
    assert isinstance(capture, Capture)
    assert "LogisticLoss" in str(capture) and "backward" in str(capture)
    _, _, hessian_times = problem.newton_system(theta)
    v = rng.standard_normal(6)
    W, b = theta[:5], theta[5:]
    z = X @ W + b
    p = 1 / (1 + np.exp(-z))
    d = p * (1 - p) / 80
    A = np.column_stack([X, np.ones(80)])
    expected = A.T @ (d * (A @ v)) + 0.1 * np.concatenate([v[:5], [0.0]])
    np.testing.assert_allclose(hessian_times(v), expected, **REFERENCE64_TOL)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_estimator_lbfgs_fit_replays_one_capture_of_the_fused_op(monkeypatch, n_classes):
    """A whole lbfgs fit evaluates the objective through one capture of the fused op, the
    two-class or the softmax one (no graph break, which would leave an eager marker instead of a
    Capture, and no warning). (Newton-CG's systems are double-backward graphs, recorded eagerly
    by design.)"""
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", 0)
    monkeypatch.setattr(logistic, "SOFTMAX_FUSED_MIN_BYTES", 0)
    problems = []
    real = LogisticRegression._flat_problem

    def recorded(self, objective, params):
        problems.append(real(self, objective, params))
        return problems[-1]
    monkeypatch.setattr(LogisticRegression, "_flat_problem", recorded)
    rng = np.random.default_rng(12)
    X = rng.standard_normal((300, 70 if n_classes == 2 else 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(tol=1e-6).fit(X, rng.integers(0, n_classes, 300))
    (problem,) = problems
    (capture,) = problem._loss_and_gradient.compiled.captures.values()
    op = "LogisticLoss" if n_classes == 2 else "SoftmaxLoss"
    assert isinstance(capture, Capture) and op in str(capture)


def assert_same_fit(fused, textbook, dtype) -> None:
    """The fused op's fit has the textbook graph's coefficients and intercepts (relative to the
    largest coefficient: 1e-6 in float64, 1e-3 in float32) and X's dtype."""
    assert fused.coef_.dtype == dtype
    scale = np.abs(textbook.coef_).max()
    tol = 1e-6 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(fused.coef_, textbook.coef_, rtol=0, atol=tol * scale)
    np.testing.assert_allclose(fused.intercept_, textbook.intercept_, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("blocked", [False, True])
def test_fits_with_the_fused_op_reach_the_textbook_graphs_optimum(monkeypatch, solver, dtype,
                                                                 weighted, blocked):
    """Fits through the fused op (X whole, or in blocks of 13 rows: the tanh form) reach the
    coefficients of fits through the engine's textbook graph (the op's threshold raised); equal
    weights (one shared weight) or not; newton-cg's products (more than 64 coefficients)."""
    rng = np.random.default_rng(10)
    X = rng.standard_normal((400, 70)).astype(dtype)
    y = (rng.random(400) < 1 / (1 + np.exp(-X[:, 0] * 2))).astype(int)
    weights = rng.uniform(0.5, 2, 400) if weighted else None
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", 2**62)
    textbook = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X, y, weights)
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", 0)
    if blocked:
        monkeypatch.setattr(linear_loss, "LOSS_BLOCKED_MIN_BYTES", 0)
        monkeypatch.setattr(linear_loss, "LOSS_BLOCK_BYTES", 13 * 70 * X.itemsize)
    fused = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X, y, weights)
    assert_same_fit(fused, textbook, dtype)


def test_block_size_is_read_from_the_environment():
    code = ("from tinygrad_lr.kernels import tuning; print(tuning.LOSS_BLOCK_BYTES, "
            "tuning.LOSS_BLOCKED_MIN_BYTES, tuning.LOSS_FUSED_MIN_BYTES)")
    env = dict(os.environ, TINYGRAD_LR_LOSS_BLOCK_BYTES="4096",
               TINYGRAD_LR_LOSS_BLOCKED_MIN_BYTES="0", TINYGRAD_LR_LOSS_FUSED_MIN_BYTES="7")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["4096", "0", "7"]


# ---- Newton in logit space: kernels from known logits, and the model that keeps them -------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_loss_and_gradient_from_logits_equal_the_reference(dtype, intercept, shared):
    """At the logits X w + b: the loss and gradient of the fused pass (one product X' r), in X's
    dtype; and the loss with the residuals that the one-pass products take."""
    X, y, s, w, b = data(300, 9, dtype, seed=3, shared=shared)
    z = X @ w + b if intercept else X @ w
    loss, grad_w, grad_b = linear_loss.logistic_loss_grad_from_logits(X, y, s, z, intercept)
    ref_loss, ref_w, ref_b = linear_loss.logistic_loss_grad_from_logits_reference(X, y, s, z,
                                                                                  intercept)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    assert grad_w.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(grad_w, ref_w, **tol)
    if intercept:
        assert grad_b.shape == (1,)
        np.testing.assert_allclose(grad_b, ref_b, **tol)
    else:
        assert grad_b is None
    loss, residuals = linear_loss.logistic_residuals(z, y, s)
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(residuals @ X, ref_w, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("rows", [None, 1, 7, 10_000])
def test_the_product_gives_the_vectors_image(dtype, intercept, rows):
    """``image`` receives X u + c, and the product is the one without it."""
    X, y, s, w, b = data(300, 9, dtype, seed=4)
    rng = np.random.default_rng(5)
    u = rng.standard_normal(9).astype(dtype)
    c = np.array([rng.standard_normal()], dtype) if intercept else None
    d = linear_loss.logistic_curvature(X @ w + b, s)
    image = np.full(300, np.nan, dtype)
    product_w, product_b = linear_loss.logistic_hessian_vector(X, d, u, c, rows=rows,
                                                               image=image)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    np.testing.assert_allclose(image, X @ u + (0 if c is None else c), **tol)
    plain_w, plain_b = linear_loss.logistic_hessian_vector(X, d, u, c, rows=rows)
    np.testing.assert_allclose(product_w, plain_w, **tol)
    if intercept:
        np.testing.assert_allclose(product_b, plain_b, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("known", [False, True])
@pytest.mark.parametrize("rows", [None, 1, 7, 10_000])
def test_gradient_and_products_in_one_pass_equal_the_references(dtype, intercept, known, rows):
    """Row 0 the gradient X' r, row 1 the Hessian times (u, c), row 2 the Hessian times the
    vector whose image is given, with their sums for the intercept; u's image on request."""
    X, y, s, w, b = data(300, 9, dtype, seed=6)
    rng = np.random.default_rng(7)
    z = X @ w + b
    _, r = linear_loss.logistic_residuals(z, y, s)
    d = linear_loss.logistic_curvature(z, s)
    u = rng.standard_normal(9).astype(dtype)
    c = np.array([rng.standard_normal()], dtype) if intercept else None
    v = rng.standard_normal(9)
    shown = (X @ v + (0.3 if intercept else 0)) if known else None
    image = np.empty(300, dtype)
    sums_w, sums_b = linear_loss.logistic_gradient_and_products(X, r, d, u, c, known=shown,
                                                                rows=rows, image=image)
    ref_w, ref_b = linear_loss.logistic_gradient_and_products_reference(X, r, d, u, c, shown)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    assert sums_w.shape == (3 if known else 2, 9) and sums_w.dtype == dtype
    np.testing.assert_allclose(sums_w, ref_w, **tol)
    hessian_u = linear_loss.logistic_hessian_vector_reference(X, s, w, b, u, c)
    np.testing.assert_allclose(sums_w[1], hessian_u[0], **tol)
    np.testing.assert_allclose(image, X @ u + (0 if c is None else c), **tol)
    if intercept:
        np.testing.assert_allclose(sums_b, ref_b, **tol)
        np.testing.assert_allclose(sums_b[1], hessian_u[1][0], **tol)
    else:
        assert sums_b is None


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("t", [0.0, 0.4, 1.0, 2.5])
def test_the_loss_along_a_line_and_its_derivatives(shared, t):
    """The loss at z + t q and its first two derivatives in t: the reference's, and the
    derivatives also by central differences."""
    X, y, s, w, b = data(300, 9, seed=8, shared=shared)
    z = X @ w + b
    q = X @ np.random.default_rng(9).standard_normal(9) * 0.3 + 0.1
    value, slope, curvature = linear_loss.logistic_loss_along(z, q, y, s, t)
    np.testing.assert_allclose((value, slope, curvature),
                               linear_loss.logistic_loss_along_reference(z, q, y, s, t),
                               **REFERENCE64_TOL)
    h = 1e-5
    ahead, behind = (linear_loss.logistic_loss_along(z, q, y, s, t + e) for e in (h, -h))
    np.testing.assert_allclose(slope, (ahead[0] - behind[0]) / (2 * h), **FD_TOL)
    np.testing.assert_allclose(curvature, (ahead[1] - behind[1]) / (2 * h), **FD_TOL)


def _objective_at(X, y, s, alpha, intercept, theta):
    """The two-class objective, its gradient and its Hessian at theta, by the references."""
    p = X.shape[1]
    w, b = theta[:p], (theta[p:] if intercept else None)
    loss, grad_w, grad_b = linear_loss.logistic_loss_grad_reference(X, y, s, w, b)
    gradient = np.concatenate([grad_w + alpha * w] + ([grad_b] if intercept else []))
    design = np.hstack([X, np.ones((X.shape[0], 1))]) if intercept else X
    probability = 1 / (1 + np.exp(-(design @ theta)))
    hessian = design.T @ (design * (s * probability * (1 - probability))[:, None])
    hessian[np.arange(p), np.arange(p)] += alpha
    return loss + alpha / 2 * w @ w, gradient, hessian


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("blocked", [False, True])
def test_logistic_lines_keep_the_logits_of_the_point_they_move_to(monkeypatch, intercept, shared,
                                                                  blocked):
    """LogisticLines against the objective computed afresh at each point: the start (from zero
    and from elsewhere), products, a direction built from products and from ``move``'s vectors,
    the objective along it (and its derivatives), and the point it moves to (value, gradient and
    the products of its pass), over two moves: the logits and images it follows are the
    points'."""
    from tinygrad_lr.linear_model._objective import LogisticLines
    if blocked:
        monkeypatch.setattr(linear_loss, "LOSS_BLOCKED_MIN_BYTES", 0)
        monkeypatch.setattr(linear_loss, "LOSS_BLOCK_BYTES", 13 * 9 * 8)
    X, y, s, w, b = data(200, 9, seed=11, shared=shared)
    alpha = 0.05
    size = 10 if intercept else 9
    rng = np.random.default_rng(12)
    tol = dict(rtol=1e-10, atol=1e-13)
    for start in (np.zeros(size), rng.standard_normal(size) * 0.3):
        lines = LogisticLines(X, y, s, alpha, intercept)
        value, gradient = lines.start(start)
        theta = start
        reference = _objective_at(X, y, s, alpha, intercept, theta)
        np.testing.assert_allclose(value, reference[0], **tol)
        np.testing.assert_allclose(gradient, reference[1], **tol)
        initial = []
        for _ in range(2):
            lines.begin_direction()
            direction = np.zeros(size)
            if initial:  # start from move's two vectors, as conjugate gradients would
                coefficients = rng.standard_normal(2)
                lines.start_from(coefficients)
                direction += coefficients @ np.array([v for v, _ in initial])
            for _ in range(2):
                v = rng.standard_normal(size)
                np.testing.assert_allclose(lines.hessian_times(v), reference[2] @ v, **tol)
                coefficient = rng.uniform(-0.2, 0.2)
                lines.add_step(coefficient)
                direction += coefficient * v
            phi = lines.along(direction)
            for t in (0.0, 0.7, 1.3):
                at = _objective_at(X, y, s, alpha, intercept, theta + t * direction)
                got = phi(t)
                np.testing.assert_allclose(got[0], at[0], **tol)
                np.testing.assert_allclose(got[1], at[1] @ direction, **tol)
                np.testing.assert_allclose(got[2], direction @ at[2] @ direction, **tol)
            ahead = rng.standard_normal(size)
            value, gradient, initial = lines.move(direction, 0.7, ahead)
            theta = theta + 0.7 * direction
            reference = _objective_at(X, y, s, alpha, intercept, theta)
            np.testing.assert_allclose(value, reference[0], **tol)
            np.testing.assert_allclose(gradient, reference[1], **tol)
            assert [v for v, _ in initial] == [ahead, direction]
            for v, product in initial:
                np.testing.assert_allclose(product, reference[2] @ v, **tol)


def test_newton_in_logit_space_takes_fewer_passes_over_x_to_the_same_optimum(monkeypatch):
    """Newton-cg on the fused two-class loss (LogisticLines): the optimum of Newton through the
    engine's products (``lines`` None) within tol, in fewer passes over X (each kernel call
    that reads X counted; its looser forcing may take an iteration more)."""
    from tinygrad_lr.linear_model import _solvers
    monkeypatch.setattr(logistic, "LOSS_FUSED_MIN_BYTES", 0)
    rng = np.random.default_rng(13)
    X = rng.standard_normal((3000, 80))
    y = (rng.random(3000) < 1 / (1 + np.exp(-X @ rng.standard_normal(80) * 0.3))).astype(int)
    passes = []
    for name in ("logistic_loss_grad", "logistic_loss_grad_from_logits", "logistic_loss",
                 "logistic_hessian_vector", "logistic_gradient_and_products"):
        kernel = getattr(linear_loss, name)
        monkeypatch.setattr(linear_loss, name,
                            lambda *a, _kernel=kernel, **k: (passes.append(1), _kernel(*a, **k))[1])
    newton = _solvers.newton
    fits = {}
    for with_lines in (True, False):
        passes.clear()
        if not with_lines:
            monkeypatch.setattr(_solvers, "newton",
                                lambda *a, **k: newton(*a, **{**k, "lines": None}))
        model = LogisticRegression(solver="newton", tol=1e-8, max_iter=100).fit(X, y)
        fits[with_lines] = (model, len(passes))
    (lines_fit, lines_passes), (engine_fit, engine_passes) = fits[True], fits[False]
    scale = np.abs(engine_fit.coef_).max()
    np.testing.assert_allclose(lines_fit.coef_, engine_fit.coef_, rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(lines_fit.intercept_, engine_fit.intercept_, rtol=0,
                               atol=1e-6 * scale)
    assert lines_passes < engine_passes


# ---- the multinomial (softmax) loss --------------------------------------------------------------
def softmax_data(n: int, p: int, K: int, dtype: type = np.float64, seed: int = 0,
                 shared: bool = False) -> tuple:
    """X, the weighted one-hot targets T (K, n), the weights s (summing to 1; ``shared``: one
    0-d weight), W (K, p) and b (K,), logits spread over about +-6 with a few rows far out."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if n > 2:
        X[:2] *= 40.0
    labels = rng.integers(0, K, n)
    s = rng.uniform(0.5, 2.0, n)
    s = np.array(1.0 / n) if shared else s / s.sum()
    T = np.zeros((K, n))
    T[labels, np.arange(n)] = s
    W = rng.standard_normal((K, p)) * (2.0 / np.sqrt(p))
    b = rng.standard_normal(K)
    return tuple(a.astype(dtype) for a in (X, T, s, W, b))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_softmax_loss_gradient_and_product_equal_the_references(dtype, intercept, shared):
    """The fused softmax loss, gradient and Hessian-vector product equal the textbook (n, K)
    formulas; float32 stays float32."""
    X, T, s, W, b = softmax_data(300, 9, 4, dtype, shared=shared)
    b = b if intercept else None
    loss, grad_W, grad_b, shifted, sums = linear_loss.softmax_loss_grad(X, T, s, W, b)
    ref_loss, ref_W, ref_b = linear_loss.softmax_loss_grad_reference(X, T, s, W, b)
    rng = np.random.default_rng(1)
    V, c = rng.standard_normal(W.shape).astype(dtype), rng.standard_normal(4).astype(dtype)
    c = c if intercept else None
    product_W, product_b = linear_loss.softmax_hessian_vector(
        X, *linear_loss.softmax_probabilities(shifted, sums, s), V, c)
    ref_product_W, ref_product_b = linear_loss.softmax_hessian_vector_reference(X, s, W, b, V, c)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    assert grad_W.dtype == product_W.dtype == dtype
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(grad_W, ref_W, **tol)
    np.testing.assert_allclose(product_W, ref_product_W, **tol)
    assert (grad_b is None) == (product_b is None) == (not intercept)
    if intercept:
        np.testing.assert_allclose(grad_b, ref_b, **tol)
        np.testing.assert_allclose(product_b, ref_product_b, **tol)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), p=st.integers(1, 12), K=st.integers(2, 6),
       scale=st.sampled_from([0.1, 1.0, 30.0]), seed=st.integers(0, 10**6),
       shared=st.booleans())
def test_softmax_kernels_match_the_references_for_any_shape_and_scale(n, p, K, scale, seed,
                                                                       shared):
    """Any shape, and logits from tiny to far beyond exp's overflow (finite only when shifted by
    their maximum), float64."""
    X, T, s, W, b = softmax_data(n, p, K, seed=seed, shared=shared)
    W *= scale
    loss, grad_W, grad_b, shifted, sums = linear_loss.softmax_loss_grad(X, T, s, W, b)
    ref_loss, ref_W, ref_b = linear_loss.softmax_loss_grad_reference(X, T, s, W, b)
    V, c = np.ones_like(W), np.ones_like(b)
    product_W, product_b = linear_loss.softmax_hessian_vector(
        X, *linear_loss.softmax_probabilities(shifted, sums, s), V, c)
    ref_product_W, ref_product_b = linear_loss.softmax_hessian_vector_reference(X, s, W, b, V, c)
    assert np.isfinite(loss) and np.isfinite(grad_W).all() and np.isfinite(product_W).all()
    x_scale = max(1.0, float(np.abs(X).max()))
    u_scale = p * x_scale + 1  # the largest |V x_i + c| for V and c of ones
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-13 * max(1.0, abs(ref_loss)))
    np.testing.assert_allclose(grad_W, ref_W, rtol=1e-12, atol=1e-14 * x_scale)
    np.testing.assert_allclose(grad_b, ref_b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(product_W, ref_product_W, rtol=1e-11,
                               atol=1e-14 * x_scale * u_scale)
    np.testing.assert_allclose(product_b, ref_product_b, rtol=1e-11, atol=1e-14 * u_scale)


def softmax_op_inputs(n: int = 23, p: int = 4, K: int = 3, intercept: bool = True,
                      seed: int = 0, shared: bool = False) -> tuple:
    return as_op_inputs(softmax_data(n, p, K, seed=seed, shared=shared), intercept)


def softmax_loss_of(constants: tuple) -> callable:
    return lambda W, b=None: softmax_loss(*constants, W, b)


@pytest.fixture(params=["correct", "wrong gradient", "wrong product"])
def softmax_kernels(request, monkeypatch):
    """The softmax kernels as they are, or with a planted error in the gradient or in the
    Hessian-vector product: the checks below must fail for the planted ones."""
    if request.param != "correct":
        plant_error(monkeypatch, request.param, "softmax_loss_grad", "softmax_hessian_vector")
    return request.param


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_softmax_first_and_second_derivatives_match_finite_differences(softmax_kernels,
                                                                       intercept, shared):
    constants, params = softmax_op_inputs(intercept=intercept, shared=shared)
    first = gradcheck(softmax_loss_of(constants), params, **FD_TOL, raise_exception=False)
    second = gradgradcheck(softmax_loss_of(constants), params, **FD_TOL, raise_exception=False)
    assert first == (softmax_kernels != "wrong gradient")
    assert second == (softmax_kernels == "correct")


def test_softmax_third_derivatives_match_finite_differences():
    """The product's own derivative (the textbook formula on Tensors) against differences of
    the fused product."""
    constants, params = softmax_op_inputs(n=17, p=3)
    rng = np.random.default_rng(5)
    v = [from_numpy(rng.standard_normal(p.shape)) for p in params]
    assert gradcheck(hessian_times(softmax_loss, constants, v), params, **FD_TOL)


@needs_torch
@pytest.mark.parametrize("intercept", [True, False])
def test_softmax_loss_gradient_and_hessian_vector_product_match_torch(softmax_kernels,
                                                                      intercept):
    """Value, gradient and H v (torch's double backward of its weighted cross-entropy) in
    float64; planted errors fail."""
    constants, params = softmax_op_inputs(n=40, p=6, K=4, intercept=intercept, seed=3)
    rng = np.random.default_rng(4)
    vs = [rng.standard_normal(p.shape) for p in params]
    loss = softmax_loss(*constants, *params)
    X, T, s = (c.detach().numpy() for c in constants)
    labels = torch.from_numpy(T.argmax(axis=0))
    t_params = [torch_tensor(p.detach().numpy(), requires_grad=True) for p in params]
    logits = torch_tensor(X) @ t_params[0].T + (t_params[1] if intercept else 0)
    t_loss = (torch_tensor(s) * torch.nn.functional.cross_entropy(logits, labels,
                                                                  reduction="none")).sum()
    losses_agree, gradients_agree, products_agree = agreement_with_torch(
        loss, params, t_loss, t_params, vs)
    assert losses_agree
    assert gradients_agree == (softmax_kernels != "wrong gradient")
    assert products_agree == (softmax_kernels != "wrong product")


def test_softmax_constants_must_not_require_grad_and_shapes_must_fit():
    constants, params = softmax_op_inputs()
    X, T, s = constants
    with pytest.raises(ValueError, match="constants"):
        softmax_loss(X.detach().requires_grad_(), T, s, *params)
    with pytest.raises(ValueError, match="do not fit"):
        softmax_loss(X, T[:2], s, *params)


@pytest.mark.parametrize("threshold", [0, 80 * 5 * 8 + 1])
def test_the_estimator_takes_the_softmax_op_from_its_size_threshold(monkeypatch, threshold):
    """Dense multiclass X of at least SOFTMAX_FUSED_MIN_BYTES: the fused softmax op; smaller
    ones: the textbook graph; sparse ones always the textbook graph."""
    monkeypatch.setattr(logistic, "SOFTMAX_FUSED_MIN_BYTES", threshold)
    X = np.random.default_rng(0).standard_normal((80, 5))
    W = from_numpy(np.zeros((3, 5))).requires_grad_()
    b = from_numpy(np.zeros(3)).requires_grad_()
    names = {type(n).__name__ for n in _ancestors(
        _Objective(X, np.arange(80) % 3, np.full(80, 1 / 80), 0.1, 3)(W, b).grad_fn)}
    assert ("SoftmaxLoss" in names) == (threshold == 0)
    assert ("LogSoftmax" in names) == (threshold != 0)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    sparse = _Objective(scipy_sparse.csr_matrix(X), np.arange(80) % 3, np.full(80, 1 / 80), 0.1, 3)
    assert not sparse.fused_softmax


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_softmax_objective_equals_the_textbook_graphs(monkeypatch, intercept, weighted):
    """Value and gradient of _Objective through the fused op (alpha term included) equal the
    textbook graph's."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((60, 5))
    y = np.arange(60) % 4
    weights = rng.uniform(0.5, 2, 60) if weighted else np.ones(60)
    weights /= weights.sum()
    shapes = [(4, 5), (4,)] if intercept else [(4, 5)]
    theta = rng.standard_normal(24 if intercept else 20)
    results = []
    for threshold in (2**62, 0):
        monkeypatch.setattr(logistic, "SOFTMAX_FUSED_MIN_BYTES", threshold)
        objective = _Objective(X, y, weights, 0.3, 4)
        assert objective.fused_softmax == (threshold == 0)
        results.append(FlatProblem(objective, shapes, X.dtype).value_and_grad(theta))
    (textbook_value, textbook_grad), (fused_value, fused_grad) = results
    np.testing.assert_allclose(fused_value, textbook_value, **REFERENCE64_TOL)
    np.testing.assert_allclose(fused_grad, textbook_grad, **REFERENCE64_TOL)


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_softmax_fits_with_the_fused_op_reach_the_textbook_graphs_optimum(monkeypatch, solver,
                                                                          dtype, weighted):
    """Multiclass fits through the fused softmax op reach the coefficients of fits through the
    engine's textbook graph (the op's threshold raised); equal weights or not."""
    rng = np.random.default_rng(10)
    X = rng.standard_normal((400, 12)).astype(dtype)
    y = (X[:, :4] * 2 + rng.standard_normal((400, 4))).argmax(axis=1)
    weights = rng.uniform(0.5, 2, 400) if weighted else None
    monkeypatch.setattr(logistic, "SOFTMAX_FUSED_MIN_BYTES", 2**62)
    textbook = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X, y, weights)
    monkeypatch.setattr(logistic, "SOFTMAX_FUSED_MIN_BYTES", 0)
    fused = LogisticRegression(solver=solver, tol=1e-8, max_iter=500).fit(X, y, weights)
    assert_same_fit(fused, textbook, dtype)


# ---- the softmax in logit space (Newton) ---------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
def test_softmax_from_logits_and_the_products_image_equal_the_references(dtype, intercept,
                                                                         shared):
    """At the logits W X' + b: the loss and gradient (the logits left unchanged); the product
    on a contiguous X' equals the one on X's view, and its image is V X' + c."""
    X, T, s, W, b = softmax_data(300, 9, 4, dtype, seed=2, shared=shared)
    b = b if intercept else None
    Z = W @ X.T + (b[:, None] if intercept else 0)
    kept = Z.copy()
    loss, grad_W, grad_b, shifted, sums = linear_loss.softmax_loss_grad_from_logits(
        X, T, s, Z, intercept)
    ref_loss, ref_W, ref_b = linear_loss.softmax_loss_grad_reference(X, T, s, W, b)
    tol = REFERENCE64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    np.testing.assert_array_equal(Z, kept)
    np.testing.assert_allclose(loss, ref_loss, **tol)
    np.testing.assert_allclose(grad_W, ref_W, **tol)
    if intercept:
        np.testing.assert_allclose(grad_b, ref_b, **tol)
    else:
        assert grad_b is None
    rng = np.random.default_rng(3)
    V = rng.standard_normal(W.shape).astype(dtype)
    c = rng.standard_normal(4).astype(dtype) if intercept else None
    probabilities = linear_loss.softmax_probabilities(shifted, sums, s)
    image = np.empty(Z.shape, dtype)
    product = linear_loss.softmax_hessian_vector(X, *probabilities, V, c,
                                                 XT=np.ascontiguousarray(X.T), image=image)
    reference = linear_loss.softmax_hessian_vector_reference(X, s, W, b, V, c)
    np.testing.assert_allclose(product[0], reference[0], **tol)
    np.testing.assert_allclose(image, V @ X.T + (c[:, None] if intercept else 0), **tol)
    if intercept:
        np.testing.assert_allclose(product[1], reference[1], **tol)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("t", [0.0, 0.4, 1.0, 2.5])
def test_the_softmax_loss_along_a_line_and_its_derivatives(shared, t):
    """The loss at Z + t U and its first two derivatives in t: the reference's, the loss at the
    coefficients W + t V whose logits those are, and the derivatives by central differences."""
    X, T, s, W, b = softmax_data(300, 9, 4, seed=4, shared=shared)
    Z = W @ X.T + b[:, None]
    V = np.random.default_rng(5).standard_normal(W.shape) * 0.3
    U = V @ X.T
    value, slope, curvature = linear_loss.softmax_loss_along(Z, U, T, s, t)
    np.testing.assert_allclose((value, slope, curvature),
                               linear_loss.softmax_loss_along_reference(Z, U, T, s, t),
                               **REFERENCE64_TOL)
    np.testing.assert_allclose(
        value, linear_loss.softmax_loss_grad_reference(X, T, s, W + t * V, b)[0],
        **REFERENCE64_TOL)
    h = 1e-5
    ahead, behind = (linear_loss.softmax_loss_along(Z, U, T, s, t + e) for e in (h, -h))
    np.testing.assert_allclose(slope, (ahead[0] - behind[0]) / (2 * h), **FD_TOL)
    np.testing.assert_allclose(curvature, (ahead[1] - behind[1]) / (2 * h), **FD_TOL)


def _softmax_objective_at(X, T, s, alpha, intercept, theta, K):
    """The softmax objective, its gradient and a Hessian-vector product function at theta, by
    the references."""
    n_weights = K * X.shape[1]
    W = theta[:n_weights].reshape(K, -1)
    b = theta[n_weights:] if intercept else None
    loss, grad_W, grad_b = linear_loss.softmax_loss_grad_reference(X, T, s, W, b)
    gradient = np.concatenate([(grad_W + alpha * W).ravel()] + ([grad_b] if intercept else []))

    def times(v):
        V = v[:n_weights].reshape(K, -1)
        c = v[n_weights:] if intercept else None
        product_W, product_b = linear_loss.softmax_hessian_vector_reference(X, s, W, b, V, c)
        return np.concatenate([(product_W + alpha * V).ravel()]
                              + ([product_b] if intercept else []))
    return loss + alpha / 2 * float(W.ravel() @ W.ravel()), gradient, times


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("transposed", [0, 2**30])
def test_softmax_lines_keep_the_logits_of_the_point_they_move_to(intercept, shared, transposed):
    """SoftmaxLines against the objective computed afresh: the start, products, a direction
    built from products and then projected as Newton does (its mean over the classes removed:
    its image keeps that mean, which shifts every class's logits alike and changes no loss),
    the objective along it with its derivatives, and the point it moves to, over two moves;
    with X' copied or not."""
    from tinygrad_lr.linear_model._objective import SoftmaxLines
    from tinygrad_lr.linear_model.logistic import _class_mean_free
    X, T, s, W, b = softmax_data(150, 6, 3, seed=6, shared=shared)
    K, alpha = 3, 0.05
    size = 18 + (3 if intercept else 0)
    project = _class_mean_free(18, K)
    rng = np.random.default_rng(7)
    tol = dict(rtol=1e-10, atol=1e-13)
    lines = SoftmaxLines(X, T, s, alpha, intercept, transposed)
    theta = rng.standard_normal(size) * 0.3
    value, gradient = lines.start(theta)
    reference = _softmax_objective_at(X, T, s, alpha, intercept, theta, K)
    np.testing.assert_allclose(value, reference[0], **tol)
    np.testing.assert_allclose(gradient, reference[1], **tol)
    for _ in range(2):
        lines.begin_direction()
        direction = np.zeros(size)
        for _ in range(2):
            v = rng.standard_normal(size)
            np.testing.assert_allclose(lines.hessian_times(v), reference[2](v), **tol)
            coefficient = rng.uniform(-0.3, 0.3)
            lines.add_step(coefficient)
            direction += coefficient * v
        direction = project(direction)
        phi = lines.along(direction)
        for t in (0.0, 0.7, 1.3):
            at = _softmax_objective_at(X, T, s, alpha, intercept, theta + t * direction, K)
            got = phi(t)
            np.testing.assert_allclose(got[0], at[0], **tol)
            np.testing.assert_allclose(got[1], at[1] @ direction, **tol)
            np.testing.assert_allclose(got[2], direction @ at[2](direction), **tol)
        value, gradient, initial = lines.move(direction, 0.7)
        assert initial == []
        theta = theta + 0.7 * direction
        reference = _softmax_objective_at(X, T, s, alpha, intercept, theta, K)
        np.testing.assert_allclose(value, reference[0], **tol)
        np.testing.assert_allclose(gradient, reference[1], **tol)
