"""The graph and backward(): accumulation, freeing, grad mode, autograd.grad, higher order."""
import gc
import threading
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lr as tl
from helpers import TORCH64_TOL, assert_close, needs_torch, torch, torch_tensor


def leaf(values, dtype=tl.float64):
    return tl.tensor(values, dtype=dtype, requires_grad=True)


# ---- backward basics --------------------------------------------------------------------------
def test_implicit_gradient_only_for_one_element_outputs():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"implicitly created only for outputs with one element.*\(2,\)"):
        (x * 2).backward()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_explicit_gradient_shape_must_match_and_is_named():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 3
    with pytest.raises(RuntimeError, match=r"backward: gradient has shape \(2,\).*\(3,\)"):
        y.backward(tl.tensor([1.0, 1.0], dtype=tl.float64))
    y.backward(tl.tensor([1.0, 0.0, 2.0], dtype=tl.float64))
    assert x.grad.tolist() == [3.0, 0.0, 6.0]


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.tensor([1.0]).sum().backward()


def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf([1.0, -2.0])
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), 3 * 2 * np.array([1.0, -2.0]))


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * y
    y.retain_grad()
    h = x + 1
    (z.sum() + h.sum()).backward()
    assert h.grad is None and not h.is_leaf
    np.testing.assert_array_equal(y.grad.detach().numpy(), 2 * y.detach().numpy())
    assert y.retains_grad


def test_graph_is_freed_and_second_backward_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([0.5, 1.5])
    y = (x.sigmoid() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.detach().numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.detach().numpy(), 2 * first)


def test_freed_graph_releases_intermediate_nodes():
    x = leaf(np.ones(4))
    hidden = x * 3
    node = weakref.ref(hidden.grad_fn)
    loss = (hidden.tanh() * 2).sum()
    del hidden
    gc.collect()
    assert node() is not None, "the graph keeps the nodes behind the loss alive until backward"
    loss.backward()
    gc.collect()
    assert node() is None, "backward must free the graph behind the loss"


def test_retain_graph_keeps_nodes_alive():
    x = leaf(np.ones(2))
    hidden = x.exp()
    node = weakref.ref(hidden.grad_fn)
    loss = hidden.sum()
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert node() is not None


def test_fan_out_and_diamond_sum_both_paths():
    x = leaf(3.0)
    a = x * 2           # used twice below
    b = a * a + a.exp()  # diamond: a feeds both terms
    b.backward()
    expected = 2 * (2 * 6.0) + 2 * np.exp(6.0)
    np.testing.assert_allclose(x.grad.detach().numpy(), expected, rtol=1e-12)
    y = leaf(2.0)
    (y * y * y).backward()  # y used three times
    np.testing.assert_allclose(y.grad.detach().numpy(), 12.0)


def test_hundred_thousand_op_chain_backpropagates_without_recursion_error():
    x = leaf(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0)


def test_backward_with_inputs_accumulates_only_into_those():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    assert a.grad.tolist() == [2.0] and b.grad is None


def test_leaf_backward_sets_its_own_grad():
    x = leaf(2.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_grad_fn_has_readable_name_and_links():
    x = leaf([1.0])
    y = x * 2
    assert y.grad_fn.name() == "MulBackward0"
    assert "MulBackward" in repr(y)
    assert x.is_leaf and not y.is_leaf
    assert (y + 1).grad_fn.next_functions[0][0] is y.grad_fn


def test_gradients_keep_float32():
    x = tl.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    w = tl.tensor(np.ones(2, np.float32), requires_grad=True)
    ((x @ w).sigmoid() * 2.5).mean().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_zero_upstream_gives_zero_grads_and_user_gradient_is_not_modified():
    x = leaf([1.0, 2.0, 3.0])
    upstream = np.zeros(3)
    (x.exp() * x).backward(upstream)
    assert not x.grad.detach().numpy().any()
    assert not upstream.any()


def test_grad_of_one_leaf_is_a_private_copy():
    a, b = leaf([1.0, 1.0]), leaf([1.0, 1.0])
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [1.0, 1.0], "zeroing one grad must not zero another"


# ---- grad mode --------------------------------------------------------------------------------
def test_no_grad_records_no_graph_and_enable_grad_nests():
    x = leaf([1.0])
    with tl.no_grad():
        y = x * 2
        with tl.enable_grad():
            z = x * 2
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None
    assert tl.is_grad_enabled()


def test_grad_mode_decorators_and_set_grad_enabled():
    @tl.no_grad()
    def double(t):
        return t * 2

    x = leaf([1.0])
    assert double(x).grad_fn is None and tl.is_grad_enabled()
    tl.set_grad_enabled(False)
    assert not tl.is_grad_enabled()
    tl.set_grad_enabled(True)
    with tl.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
    assert tl.is_grad_enabled()


def test_grad_mode_restored_when_exception_passes_through():
    with pytest.raises(ValueError):
        with tl.no_grad():
            raise ValueError("boom")
    assert tl.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["enabled"] = tl.is_grad_enabled()

    with tl.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen["enabled"] is True


def test_inplace_update_on_leaf_requiring_grad_raises_under_grad_mode():
    w = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*in-place"):
        w -= 1.0
    (w * w).sum().backward()
    with tl.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.detach().numpy(), [0.8, 1.6])
    assert w.is_leaf and w.requires_grad
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]


def test_inplace_methods_on_plain_tensors():
    t = tl.zeros(3)
    t += 1
    t *= 3
    t /= 2
    t -= 0.5
    assert t.tolist() == [1.0, 1.0, 1.0]
    t.fill_(2.0)
    t.copy_(tl.tensor([1.0, 2.0, 3.0]))
    assert t.tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        t.copy_(tl.tensor([1.0, 2.0]))


# ---- autograd.grad ----------------------------------------------------------------------------
def test_autograd_grad_does_not_touch_dot_grad():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gy = tl.autograd.grad((x * y).sum(), [x, y])
    assert x.grad is None and y.grad is None
    assert gx.tolist() == [3.0, 4.0] and gy.tolist() == [1.0, 2.0]


def test_autograd_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([1.0])
    with pytest.raises(RuntimeError, match="not used"):
        tl.autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = tl.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_autograd_grad_with_respect_to_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = tl.autograd.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.detach().numpy(), 2 * h.detach().numpy())


def test_second_derivative_of_cubic_and_mixed_partials():
    x = leaf(2.0)
    (g,) = tl.autograd.grad(x ** 3, x, create_graph=True)
    (h,) = tl.autograd.grad(g, x)
    assert g.item() == pytest.approx(12.0) and h.item() == pytest.approx(12.0)
    a, b = leaf(1.5), leaf(-0.5)
    (ga,) = tl.autograd.grad((a * a * b).exp(), a, create_graph=True)
    (gab,) = tl.autograd.grad(ga, b)
    f = np.exp(1.5 ** 2 * -0.5)
    assert gab.item() == pytest.approx(2 * 1.5 * f + 2 * 1.5 * 1.5 ** 2 * -0.5 * f)


def test_create_graph_backward_builds_differentiable_grad():
    x = leaf([0.3, -0.7])
    (x.sigmoid() ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = tl.autograd.grad(x.grad.sum(), x)
    s = 1 / (1 + np.exp(-x.detach().numpy()))
    d1 = s * (1 - s)
    expected = 2 * d1 * d1 + 2 * s * d1 * (1 - 2 * s)
    np.testing.assert_allclose(gg.detach().numpy(), expected, rtol=1e-12)


def test_jacobian_and_hessian_of_logistic_loss():
    rng = np.random.default_rng(0)
    X = tl.tensor(rng.standard_normal((6, 3)))
    theta = tl.tensor(rng.standard_normal(3))
    jac = tl.autograd.functional.jacobian(lambda t: (X @ t).sigmoid(), theta)
    s = 1 / (1 + np.exp(-(X.detach().numpy() @ theta.detach().numpy())))
    np.testing.assert_allclose(jac.detach().numpy(), (s * (1 - s))[:, None] * X.detach().numpy(), rtol=1e-12)
    hess = tl.autograd.functional.hessian(lambda t: tl.softplus(X @ t).sum(), theta)
    np.testing.assert_allclose(hess.detach().numpy(), X.detach().numpy().T @ ((s * (1 - s))[:, None] * X.detach().numpy()), rtol=1e-10)
    _, hv = tl.autograd.functional.hvp(lambda t: tl.softplus(X @ t).sum(), theta, tl.ones(3, dtype=tl.float64))
    np.testing.assert_allclose(hv.detach().numpy(), hess.detach().numpy() @ np.ones(3), rtol=1e-10)


@needs_torch
def test_hessian_matches_torch():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 4))
    w0 = rng.standard_normal(4)
    ours = tl.autograd.functional.hessian(lambda w: ((tl.tensor(X) @ w).tanh() ** 2).sum(), tl.tensor(w0))
    theirs = torch.autograd.functional.hessian(lambda w: ((torch_tensor(X) @ w).tanh() ** 2).sum(),
                                               torch_tensor(w0))
    assert_close(ours, theirs, **TORCH64_TOL)


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6), st.floats(-2, 2), st.floats(-2, 2))
def test_backward_is_linear_in_the_upstream_gradient(values, a, b):
    x = leaf(values)
    rng = np.random.default_rng(len(values))
    u1, u2 = rng.standard_normal(len(values)), rng.standard_normal(len(values))

    def grad_for(u):
        (g,) = tl.autograd.grad((x.tanh() * x), x, u)
        return g.detach().numpy()

    np.testing.assert_allclose(grad_for(a * u1 + b * u2), a * grad_for(u1) + b * grad_for(u2),
                               rtol=1e-10, atol=1e-12)


def test_grad_outputs_may_be_a_numpy_scalar_or_python_number():
    x = leaf(2.0)
    (g,) = tl.autograd.grad(x * 3, x, np.float64(2.0))
    assert g.item() == 6.0
    (g,) = tl.autograd.grad(x * 3, x, 0.5)
    assert g.item() == 1.5
