"""Tensor creation, dtypes, attributes, conversions and factories."""
import numpy as np
import pytest

import tinygrad_lr as tl
from helpers import needs_torch, torch


def test_python_floats_become_default_dtype_and_arrays_keep_theirs():
    assert tl.tensor(1.5).dtype == tl.float32
    assert tl.tensor([1.0, 2.0]).dtype == tl.float32
    assert tl.tensor([1, 2]).dtype == tl.int64
    assert tl.tensor([True, False]).dtype == tl.bool
    assert tl.tensor(np.zeros(2, np.float64)).dtype == tl.float64
    assert tl.tensor(np.zeros(2, np.int32)).dtype == tl.int32
    assert tl.tensor([1.0], dtype=tl.float64).dtype == tl.float64
    assert tl.Tensor([1.0, 2.0]).dtype == tl.float32


def test_set_default_dtype_changes_python_float_conversion():
    try:
        tl.set_default_dtype(tl.float64)
        assert tl.tensor(1.0).dtype == tl.float64 and tl.randn(2).dtype == tl.float64
        with pytest.raises(TypeError, match="float32 or float64"):
            tl.set_default_dtype(tl.int64)
    finally:
        tl.set_default_dtype(tl.float32)
    assert tl.get_default_dtype() == tl.float32


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point.*int64"):
        tl.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tl.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        tl.zeros(2, dtype=tl.bool, requires_grad=True)


def test_tensor_copies_user_data_and_from_numpy_shares_it():
    a = np.array([1.0, 2.0])
    t = tl.tensor(a)
    t += 1
    assert a.tolist() == [1.0, 2.0]
    s = tl.from_numpy(a)
    s += 1
    assert a.tolist() == [2.0, 3.0]


def test_attributes_and_conversions():
    t = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dim() == 2 and t.size() == (2, 3)
    assert t.size(1) == 3 and t.numel() == 6 and len(t) == 2
    assert t.T.shape == (3, 2) and t.t().shape == (3, 2)
    assert t.sum().item() == 21.0 and isinstance(t.sum().item(), float)
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert np.asarray(t).shape == (2, 3)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    d = t.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), t.detach().numpy())
    c = t.clone()
    assert c.requires_grad and not np.shares_memory(c.detach().numpy(), t.detach().numpy())
    assert t.double().dtype == tl.float64 and t.double().float().dtype == tl.float32
    assert t.long().dtype == tl.int64 and t.bool().dtype == tl.bool
    assert t.double().requires_grad and not t.long().requires_grad
    with pytest.raises(RuntimeError, match="6 elements"):
        t.item()


def test_cast_is_differentiable_between_float_dtypes():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == tl.float32 and x.grad.tolist() == [2.0, 2.0]


def test_grad_assignment_checks_shape():
    t = tl.tensor([1.0, 2.0], requires_grad=True)
    t.grad = tl.tensor([0.5, 0.5])
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2,\)"):
        t.grad = tl.tensor([1.0, 2.0, 3.0])
    t.grad = None
    assert t.grad is None


def test_repr_looks_like_pytorch():
    assert repr(tl.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tl.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "dtype=tinygrad_lr.float64" in repr(tl.tensor([1.0], dtype=tl.float64))
    assert "grad_fn=<MulBackward0>" in repr(tl.tensor([1.0], requires_grad=True) * 2)


def test_factories_take_dtype_and_requires_grad():
    assert tl.zeros(2, 3).shape == (2, 3) and tl.zeros((2, 3)).dtype == tl.float32
    assert tl.ones(2, dtype=tl.float64).dtype == tl.float64
    assert tl.full((2,), 7).dtype == tl.int64 and tl.full((2,), 7.0).tolist() == [7.0, 7.0]
    z = tl.zeros_like(tl.ones(2, dtype=tl.float64), requires_grad=True)
    assert z.dtype == tl.float64 and z.requires_grad
    assert tl.ones_like(tl.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert tl.arange(4).dtype == tl.int64 and tl.arange(0, 1, 0.25).dtype == tl.float32
    assert tl.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert tl.eye(3).detach().numpy().trace() == 3
    assert tl.randint(0, 10, (5,)).dtype == tl.int64
    r = tl.rand(100, requires_grad=True)
    assert r.requires_grad and 0 <= r.detach().numpy().min() and r.detach().numpy().max() < 1


def test_manual_seed_makes_random_factories_reproducible():
    tl.manual_seed(3)
    a = (tl.randn(4), tl.rand(2), tl.randint(0, 5, (3,)))
    tl.manual_seed(3)
    b = (tl.randn(4), tl.rand(2), tl.randint(0, 5, (3,)))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())


def test_comparisons_give_bool_tensors_without_graph():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == tl.bool and m.grad_fn is None and not m.requires_grad
    assert m.tolist() == [False, True, True]
    assert (x == x).detach().numpy().all() and not (x != x).detach().numpy().any()


@needs_torch
def test_dtype_promotion_matches_torch():
    cases = [
        (np.ones(2, np.float32), 2.5), (np.ones(2, np.int64), 2.5), (np.ones(2, np.int64), 2),
        (np.ones(2, np.float32), np.ones(2, np.float64)), (np.ones(2, np.int64), np.ones(2, np.float32)),
        (np.ones(2, np.float32), np.array(1.0, np.float64)), (np.ones(2, bool), 3),
    ]
    for a, b in cases:
        ours_b = tl.tensor(b) if isinstance(b, np.ndarray) else b
        theirs_b = torch.from_numpy(b) if isinstance(b, np.ndarray) else b
        for op in (lambda u, v: u * v, lambda u, v: u + v, lambda u, v: u / v):
            ours = op(tl.tensor(a), ours_b)
            theirs = op(torch.from_numpy(a), theirs_b)
            assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (a.dtype, b)


def test_python_number_conversions():
    assert float(tl.tensor(1.5)) == 1.5 and int(tl.tensor(3)) == 3
    assert bool(tl.tensor(1.0)) and not bool(tl.tensor(0.0))
    assert (tl.float, tl.double, tl.long, tl.half) == (tl.float32, tl.float64, tl.int64, tl.float16)
