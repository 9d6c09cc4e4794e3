"""The PyTorch API surface tutorial scripts use (issue 14), each item against PyTorch: devices,
legacy constructors and type names, the new maths (first and second derivatives), bool and
integer ops, sorting, linear algebra, random functions and Generators, nn.init, grad modes,
save/load keywords and printing."""
from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
import tinygrad_lr.nn as nn
import tinygrad_lr.nn.functional as F
from helpers import TORCH64_TOL, assert_close, compare_with_torch, needs_torch, torch, torch_tensor
from tinygrad_lr.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                    default_collate, random_split)

RNG = np.random.default_rng(14)


def _arr(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


# ---- devices ----------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:1", "mps"])
def test_device_objects_print_and_compare_like_torch(spec):
    ours, theirs = tl.device(spec), torch.device(spec)
    assert (repr(ours), str(ours), ours.type, ours.index) == \
        (repr(theirs), str(theirs), theirs.type, theirs.index)
    assert (ours == spec) == (theirs == spec)
    assert tl.device("cuda", 0) == tl.device("cuda:0") and tl.device("cpu") != tl.device("cuda")


def test_cuda_is_reported_unavailable_and_moving_there_is_a_clear_error():
    assert tl.cuda.is_available() is False and tl.cuda.device_count() == 0
    assert tl.backends.mps.is_available() is False
    x = tl.ones(2)
    for move in (lambda: x.cuda(), lambda: x.to("cuda"), lambda: x.to(tl.device("cuda:0")),
                 lambda: tl.zeros(2, device="cuda"), lambda: tl.tensor([1.0], device="mps"),
                 lambda: nn.Linear(2, 1).cuda(), lambda: nn.Linear(2, 1).to("cuda")):
        with pytest.raises(RuntimeError, match="cuda|mps"):
            move()
    with pytest.raises(RuntimeError, match="device type"):
        tl.device("gpu")


def test_to_accepts_devices_dtypes_tensors_and_keywords():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    assert x.to("cpu") is x and x.to(tl.device("cpu")) is x and x.cpu() is x
    assert x.device == tl.device("cpu") and x.device.type == "cpu" and not x.is_cuda
    y = x.to("cpu", tl.float64)
    assert y.dtype == tl.float64 and y.grad_fn is not None
    assert x.to(tl.zeros(1, dtype=tl.float64)).dtype == tl.float64
    assert x.to(dtype=tl.float64, device="cpu", non_blocking=True).dtype == tl.float64
    copy = x.to("cpu", copy=True)
    assert copy is not x and np.array_equal(copy.detach().numpy(), [1.0, 2.0])
    y.sum().backward()
    assert x.grad.dtype == tl.float32 and np.array_equal(x.grad.numpy(), [1.0, 1.0])


def test_factories_and_module_to_take_a_device():
    for make in (tl.zeros, tl.ones, tl.empty, tl.rand, tl.randn):
        assert make(2, 3, device="cpu").shape == (2, 3)
    assert tl.tensor([1, 2], device=tl.device("cpu")).dtype == tl.int64
    assert tl.full((2,), 1.5, device="cpu").dtype == tl.float32
    assert tl.arange(3, device="cpu").tolist() == [0, 1, 2]
    model = nn.Linear(3, 1, device="cpu")
    weight = model.weight
    assert model.to("cpu") is model and model.cpu() is model
    model.to(tl.device("cpu"), tl.float64)
    assert model.weight is weight and weight.dtype == tl.float64


# ---- legacy constructors and type names -------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "ByteTensor"])
def test_legacy_constructors_and_type_names_match_torch(name):
    data = [0, 1, 1]
    ours, theirs = getattr(tl, name)(data), getattr(torch, name)(data)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.type() == theirs.type()
    assert isinstance(ours, getattr(tl, name)) and not isinstance(ours.to(tl.float16),
                                                                 getattr(tl, name))
    assert ours.tolist() == theirs.tolist()


@needs_torch
def test_tensor_of_a_list_is_float32_and_type_converts_like_torch():
    assert tl.Tensor([0, 1, 1]).dtype == tl.float32 and tl.tensor([0, 1, 1]).dtype == tl.int64
    assert tl.Tensor(2, 3).shape == (2, 3) and tl.Tensor().shape == (0,)
    x = tl.tensor([1.7, -2.2])
    for target in ("LongTensor", "DoubleTensor"):
        assert x.type(getattr(tl, target)).tolist() == \
            torch.tensor([1.7, -2.2]).type(getattr(torch, target)).tolist()
    assert x.type("torch.DoubleTensor").dtype == tl.float64
    assert x.type(tl.float64).dtype == tl.float64


# ---- pointwise maths, first and second order ----------------------------------------------------
UNARY = {
    "sin": (_arr(3, 4), True), "cos": (_arr(3, 4), True), "square": (_arr(3, 4), True),
    "reciprocal": (_arr(3, 4, low=0.5, high=3.0), True), "rsqrt": (_arr(5, low=0.3, high=4.0), True),
    "log2": (_arr(5, low=0.2, high=5.0), True), "log10": (_arr(5, low=0.2, high=5.0), True),
    "round": (_arr(6) + 0.01, False), "floor": (_arr(6) + 0.01, False),
    "ceil": (_arr(6) + 0.01, False), "sign": (_arr(6), False),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("as_method", [False, True])
def test_unary_math_matches_torch_to_second_order(name, as_method):
    array, smooth = UNARY[name]
    if as_method:
        ours, theirs = (lambda x: getattr(x, name)()), (lambda x: getattr(x, name)())
    else:
        ours, theirs = getattr(tl, name), getattr(torch, name)
    compare_with_torch(ours, theirs, [array], TORCH64_TOL, TORCH64_TOL, second_order=smooth)


@needs_torch
@pytest.mark.parametrize("name", ["round", "floor", "ceil", "sign", "square"])
def test_rounding_keeps_integer_dtypes_like_torch(name):
    data = [-3, 0, 2]
    ours, theirs = getattr(tl, name)(tl.tensor(data)), getattr(torch, name)(torch.tensor(data))
    assert ours.tolist() == theirs.tolist() and ours.dtype == tl.int64


@needs_torch
def test_round_to_decimals_and_half_to_even_match_torch():
    values = [0.5, 1.5, 2.5, -0.5, -1.5, 1.2345, 9.8765]
    for decimals in (0, 1, 2):
        assert_close(tl.round(tl.tensor(values, dtype=tl.float64), decimals=decimals),
                     torch.round(torch.tensor(values, dtype=torch.float64), decimals=decimals),
                     **TORCH64_TOL)


@needs_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_functions_and_methods_match_torch(name, dim):
    array = _arr(3, 4)
    compare_with_torch(lambda x: getattr(tl, name)(x, dim), lambda x: getattr(torch, name)(x, dim),
                       [array], TORCH64_TOL, TORCH64_TOL, second_order=True)
    compare_with_torch(lambda x: getattr(x, name)(dim), lambda x: getattr(x, name)(dim),
                       [array], TORCH64_TOL, TORCH64_TOL)


# ---- sorting ----------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("dim", [0, 1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_match_torch_with_gradients(dim, descending):
    array = _arr(4, 5)
    compare_with_torch(lambda x: tl.sort(x, dim, descending).values,
                       lambda x: torch.sort(x, dim, descending).values,
                       [array], TORCH64_TOL, TORCH64_TOL, second_order=True)
    ours, theirs = tl.tensor(array).sort(dim=dim, descending=descending), \
        torch.tensor(array).sort(dim=dim, descending=descending)
    assert ours.indices.tolist() == theirs.indices.tolist()
    assert tl.argsort(tl.tensor(array), dim, descending).tolist() == \
        torch.argsort(torch.tensor(array), dim, descending).tolist()


@needs_torch
def test_sort_keeps_ties_in_order_like_torch_stable():
    data = [3, 1, 2, 1, 3, 2]
    for descending in (False, True):
        assert tl.tensor(data).sort(descending=descending).indices.tolist() == \
            torch.tensor(data).sort(descending=descending, stable=True).indices.tolist()


@needs_torch
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch_with_gradients(largest):
    array = _arr(3, 6)
    compare_with_torch(lambda x: tl.topk(x, 3, dim=1, largest=largest).values,
                       lambda x: torch.topk(x, 3, dim=1, largest=largest).values,
                       [array], TORCH64_TOL, TORCH64_TOL, second_order=True)
    ours, theirs = tl.tensor(array).topk(2, 0, largest), torch.tensor(array).topk(2, 0, largest)
    assert ours.indices.tolist() == theirs.indices.tolist()
    with pytest.raises(RuntimeError, match="out of range"):
        tl.topk(tl.tensor(array), 7)


@needs_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum_matches_torch_to_second_order(dim):
    compare_with_torch(lambda x: tl.cumsum(x, dim) ** 2, lambda x: torch.cumsum(x, dim) ** 2,
                       [_arr(3, 4)], TORCH64_TOL, TORCH64_TOL, second_order=True)
    for data in ([True, False, True], [1, 2, 3]):
        ours, theirs = tl.tensor(data).cumsum(0), torch.tensor(data).cumsum(0)
        assert ours.tolist() == theirs.tolist() and ours.dtype == tl.int64


@needs_torch
def test_gather_matches_torch_with_gradients():
    index = np.array([[0, 2], [1, 1], [3, 0]])
    compare_with_torch(lambda x: tl.gather(x, 1, tl.tensor(index)),
                       lambda x: torch.gather(x, 1, torch.tensor(index)),
                       [_arr(3, 4)], TORCH64_TOL, TORCH64_TOL, second_order=True)


# ---- linear algebra ---------------------------------------------------------------------------
@needs_torch
def test_dot_and_outer_match_torch_to_second_order():
    a, b = _arr(4), _arr(4)
    compare_with_torch(tl.dot, torch.dot, [a, b], TORCH64_TOL, TORCH64_TOL, second_order=True)
    compare_with_torch(lambda x, y: x.dot(y) * x.dot(x), lambda x, y: x.dot(y) * x.dot(x),
                       [a, b], TORCH64_TOL, TORCH64_TOL, second_order=True)
    compare_with_torch(tl.outer, torch.outer, [a, _arr(3)], TORCH64_TOL, TORCH64_TOL,
                       second_order=True)
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        tl.dot(tl.ones(2, 2), tl.ones(2))


NORMS = [
    (lambda lib, x: lib.norm(x), "default"),
    (lambda lib, x: x.norm(p=1), "p=1"),
    (lambda lib, x: x.norm(p=3, dim=1), "p=3 dim"),
    (lambda lib, x: lib.norm(x, dim=0, keepdim=True), "dim keepdim"),
    (lambda lib, x: x.norm(p=float("inf"), dim=1), "inf"),
    (lambda lib, x: lib.linalg.norm(x), "linalg"),
    (lambda lib, x: lib.linalg.norm(x, dim=1), "linalg dim"),
    (lambda lib, x: lib.linalg.norm(x, ord=1, dim=0), "linalg ord 1"),
    (lambda lib, x: lib.linalg.norm(x, "fro"), "fro"),
    (lambda lib, x: lib.linalg.vector_norm(x, ord=2), "vector_norm"),
]


@needs_torch
@pytest.mark.parametrize("norm,label", NORMS, ids=[label for _, label in NORMS])
def test_norms_match_torch_to_second_order(norm, label):
    compare_with_torch(lambda x: norm(tl, x), lambda x: norm(torch, x), [_arr(3, 4)],
                       TORCH64_TOL, TORCH64_TOL, second_order=label not in ("p=1", "inf",
                                                                             "linalg ord 1"))


@needs_torch
def test_norm_gradient_at_zero_is_zero_like_torch():
    compare_with_torch(tl.norm, torch.norm, [np.zeros(3)], TORCH64_TOL, TORCH64_TOL)


def _well_conditioned(n):
    return _arr(n, n) + 4 * np.eye(n)


@needs_torch
def test_inverse_matches_torch_to_second_order():
    compare_with_torch(tl.linalg.inv, torch.linalg.inv, [_well_conditioned(3)], TORCH64_TOL,
                       TORCH64_TOL, second_order=True)
    compare_with_torch(tl.inverse, torch.inverse, [np.stack([_well_conditioned(2)] * 2)],
                       TORCH64_TOL, TORCH64_TOL, second_order=True)
    compare_with_torch(lambda x: x.inverse(), lambda x: x.inverse(), [_well_conditioned(2)],
                       TORCH64_TOL, TORCH64_TOL)
    with pytest.raises(RuntimeError, match="singular"):
        tl.linalg.inv(tl.zeros(2, 2, dtype=tl.float64))


@needs_torch
@pytest.mark.parametrize("b_shape", [(3,), (3, 2)])
def test_solve_matches_torch_to_second_order(b_shape):
    compare_with_torch(tl.linalg.solve, torch.linalg.solve, [_well_conditioned(3), _arr(*b_shape)],
                       TORCH64_TOL, TORCH64_TOL, second_order=True)


# ---- comparisons, bool and integer ops -------------------------------------------------------
@needs_torch
def test_isclose_allclose_equal_match_torch():
    a = np.array([1.0, 2.0, np.nan, 1e-9])
    b = np.array([1.0 + 1e-6, 2.1, np.nan, 0.0])
    for kwargs in ({}, {"rtol": 0.1}, {"atol": 1e-3, "equal_nan": True}):
        assert tl.isclose(tl.tensor(a), tl.tensor(b), **kwargs).tolist() == \
            torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs).tolist()
        assert tl.allclose(tl.tensor(a), tl.tensor(b), **kwargs) == \
            torch.allclose(torch.tensor(a), torch.tensor(b), **kwargs)
    assert tl.equal(tl.tensor([1, 2]), tl.tensor([1, 2])) is True
    assert tl.equal(tl.tensor([1, 2]), tl.tensor([[1, 2]])) is False
    assert tl.ones(2).allclose(tl.ones(2) + 1e-9) and tl.ones(2).equal(tl.ones(2))


@needs_torch
@pytest.mark.parametrize("op", ["__and__", "__or__", "__xor__"])
@pytest.mark.parametrize("data", [([True, False, True, False], [True, True, False, False]),
                                  ([5, -3, 12, 0], [3, 6, -1, 7])])
def test_bitwise_operators_match_torch(op, data):
    a, b = data
    ours = getattr(tl.tensor(a), op)(tl.tensor(b))
    theirs = getattr(torch.tensor(a), op)(torch.tensor(b))
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) in str(theirs.dtype)
    assert (~tl.tensor(a)).tolist() == (~torch.tensor(a)).tolist()
    assert getattr(tl.tensor(a), op)(True if isinstance(a[0], bool) else 6).tolist() == \
        getattr(torch.tensor(a), op)(True if isinstance(a[0], bool) else 6).tolist()


def test_bitwise_operators_refuse_floats():
    with pytest.raises(RuntimeError, match="floating"):
        tl.ones(2) & tl.ones(2)


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_all_and_any_match_torch(dim):
    data = [[True, False, True], [True, True, True]]
    for name in ("all", "any"):
        args = () if dim is None else (dim,)
        assert getattr(tl.tensor(data), name)(*args).tolist() == \
            getattr(torch.tensor(data), name)(*args).tolist()
        assert getattr(tl, name)(tl.tensor([0.0, 2.0])).item() == \
            getattr(torch, name)(torch.tensor([0.0, 2.0])).item()


@needs_torch
@pytest.mark.parametrize("a,b", [([7, -7, 5, 0], [2, 2, -3, 4]), ([5.5, -5.5, 2.25], [2.0, 2.0, -1.5])])
def test_floor_division_and_remainder_match_torch(a, b):
    ta, tb = torch.tensor(a), torch.tensor(b)
    xa, xb = tl.tensor(a), tl.tensor(b)
    for ours, theirs in ((xa // xb, ta // tb), (xa % xb, ta % tb), (xa // 2, ta // 2),
                         (xa % 3, ta % 3), (10 // xb, 10 // tb), (10 % xb, 10 % tb)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")


@needs_torch
def test_remainder_gradient_matches_torch():
    compare_with_torch(lambda x, y: x % y, lambda x, y: x % y,
                       [np.array([5.5, -5.3, 2.25]), np.array([2.0, 2.1, -1.5])],
                       TORCH64_TOL, TORCH64_TOL)
    x, tx = tl.tensor([5.5, -5.3], requires_grad=True), torch.tensor([5.5, -5.3], requires_grad=True)
    assert_close(x // 2.0, (tx // 2.0).detach(), **TORCH64_TOL)
    for value in (tx, x):
        with pytest.raises(RuntimeError, match="floor_divide"):
            (value // 2.0).sum().backward()


@needs_torch
def test_isnan_isinf_isfinite_nan_to_num_match_torch():
    data = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    for name in ("isnan", "isinf", "isfinite"):
        assert getattr(tl, name)(tl.tensor(data)).tolist() == \
            getattr(torch, name)(torch.tensor(data)).tolist()
        assert getattr(tl.tensor(data), name)().tolist() == \
            getattr(torch.tensor(data), name)().tolist()
    for kwargs in ({}, {"nan": 1.0, "posinf": 9.0, "neginf": -9.0}):
        compare_with_torch(lambda x: tl.nan_to_num(x, **kwargs),
                           lambda x: torch.nan_to_num(x, **kwargs), [data], TORCH64_TOL,
                           TORCH64_TOL)


# ---- random -----------------------------------------------------------------------------------
def test_manual_seed_makes_every_random_function_reproducible():
    def draw():
        return [tl.rand(3).tolist(), tl.randn(2).tolist(), tl.randint(0, 9, (4,)).tolist(),
                tl.randperm(6).tolist(), tl.bernoulli(tl.full((5,), 0.5)).tolist(),
                tl.multinomial(tl.tensor([0.2, 0.5, 0.3]), 4, replacement=True).tolist(),
                tl.empty(3).uniform_(-1, 1).tolist(), tl.empty(3).normal_().tolist(),
                F.dropout(tl.ones(6)).tolist(), nn.Linear(2, 2).weight.tolist()]
    tl.manual_seed(5)
    first = draw()
    tl.manual_seed(5)
    assert draw() == first
    assert draw() != first


def test_generators_are_independent_streams():
    g = tl.Generator().manual_seed(3)
    assert isinstance(tl.manual_seed(0), tl.Generator) and g.initial_seed() == 3
    a = tl.rand(4, generator=g)
    tl.rand(10)
    g.manual_seed(3)
    assert tl.equal(a, tl.rand(4, generator=g))
    state = g.get_state()
    b = tl.randn(3, generator=g)
    g.set_state(state)
    assert tl.equal(b, tl.randn(3, generator=g))
    assert sorted(tl.randperm(8, generator=g).tolist()) == list(range(8))


@needs_torch
def test_random_functions_return_torch_dtypes_and_distributions():
    tl.manual_seed(1)
    perm = tl.randperm(5)
    assert perm.dtype == tl.int64 and sorted(perm.tolist()) == list(range(5))
    draws = tl.bernoulli(tl.full((20000,), 0.25, dtype=tl.float64))
    assert draws.dtype == tl.float64 and abs(draws.mean().item() - 0.25) < 0.02
    assert tl.bernoulli(tl.full((3,), 0.5), p=1.0).tolist() == [1.0, 1.0, 1.0]
    counts = np.bincount(tl.multinomial(tl.tensor([1.0, 3.0]), 20000, True).numpy(),
                         minlength=2)
    assert abs(counts[1] / 20000 - 0.75) < 0.02
    rows = tl.multinomial(tl.ones(3, 4), 4)
    assert rows.shape == (3, 4) and all(sorted(r) == [0, 1, 2, 3] for r in rows.tolist())
    with pytest.raises(RuntimeError, match="without replacement"):
        tl.multinomial(tl.tensor([1.0, 0.0]), 2)
    assert tl.multinomial(torch_free := tl.tensor([0.0, 1.0]), 1).tolist() == [1]
    assert torch_free.dtype == tl.float32
    assert tl.normal(2.0, 0.5, size=(3,)).shape == (3,)
    assert tl.normal(tl.zeros(2, 2), 1.0).shape == (2, 2)


# ---- nn.init ----------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("fan_shape", [(30, 20), (50, 10)])
def test_init_bounds_and_spreads_follow_torch_formulas(fan_shape):
    fan_out, fan_in = fan_shape
    w = tl.empty(fan_out, fan_in, requires_grad=True)
    tw = torch.empty(fan_out, fan_in)
    checks = [
        ("xavier_uniform_", {"gain": 2.0}, lambda: 2.0 * math.sqrt(6 / (fan_in + fan_out)), "max"),
        ("kaiming_uniform_", {"a": 0.1}, lambda: math.sqrt(2 / 1.01) * math.sqrt(3 / fan_in), "max"),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"},
         lambda: math.sqrt(2) * math.sqrt(3 / fan_out), "max"),
        ("xavier_normal_", {}, lambda: math.sqrt(2 / (fan_in + fan_out)), "std"),
        ("kaiming_normal_", {"nonlinearity": "relu"}, lambda: math.sqrt(2 / fan_in), "std"),
    ]
    for name, kwargs, expected, kind in checks:
        getattr(nn.init, name)(w, **kwargs)
        getattr(torch.nn.init, name)(tw, **kwargs)
        ours = w.detach().numpy()
        theirs = tw.numpy()
        if kind == "max":
            bound = expected()
            assert np.abs(ours).max() <= bound and np.abs(ours).max() > 0.8 * bound
            assert np.abs(theirs).max() <= bound + 1e-6
        else:
            assert abs(ours.std() / expected() - 1) < 0.15
            assert abs(theirs.std() / expected() - 1) < 0.15
        assert w.requires_grad and w.grad_fn is None
    assert nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    assert nn.init.calculate_gain("tanh") == torch.nn.init.calculate_gain("tanh")


def test_constant_inits_fill_exactly_and_return_the_tensor():
    w = nn.Parameter(tl.empty(2, 3))
    assert nn.init.zeros_(w) is w and w.tolist() == [[0.0] * 3] * 2
    assert nn.init.ones_(w).tolist() == [[1.0] * 3] * 2
    assert nn.init.constant_(w, 0.5).tolist() == [[0.5] * 3] * 2
    nn.init.uniform_(w, 2.0, 3.0)
    assert ((w.detach().numpy() >= 2) & (w.detach().numpy() < 3)).all()
    nn.init.normal_(w, mean=10.0, std=0.01)
    assert abs(w.detach().numpy().mean() - 10) < 0.1
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(tl.empty(3))


def test_in_place_random_fills_on_a_leaf_need_no_grad_like_torch():
    w = tl.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.uniform_(-1, 1)
    with tl.no_grad():
        w.normal_(0, 1)
    assert w.requires_grad and np.any(w.detach().numpy() != 0)


# ---- grad modes -------------------------------------------------------------------------------
def test_no_grad_works_as_a_bare_decorator_and_inference_mode_as_both():
    x = tl.ones(2, requires_grad=True)

    @tl.no_grad
    def bare(t):
        return t * 2

    @tl.inference_mode()
    def called(t):
        return t * 2

    @tl.inference_mode
    def bare_inference(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad
    assert not bare_inference(x).requires_grad and bare.__name__ == "bare"
    with tl.inference_mode():
        assert not (x * 2).requires_grad and not tl.is_grad_enabled()
    with tl.inference_mode(False):
        assert (x * 2).requires_grad
    assert (x * 2).requires_grad and tl.is_grad_enabled()


# ---- save and load ----------------------------------------------------------------------------
def test_save_and_load_take_torch_keywords():
    model = nn.Linear(3, 2)
    buffer = io.BytesIO()
    tl.save(obj={"model": model.state_dict(), "epoch": 4}, f=buffer)
    buffer.seek(0)
    checkpoint = tl.load(f=buffer, map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 4
    fresh = nn.Linear(3, 2)
    fresh.load_state_dict(checkpoint["model"])
    assert tl.equal(fresh.weight, model.weight)
    buffer.seek(0)
    assert tl.load(buffer, map_location=tl.device("cpu"))["epoch"] == 4
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="cuda"):
        tl.load(buffer, map_location="cuda:0")


def test_saving_a_whole_module_is_an_error_pointing_to_state_dict():
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        tl.save(nn.Sequential(nn.Linear(2, 1)), io.BytesIO())


# ---- utils.data -------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("batch_size,drop_last", [(4, False), (4, True), (10, False), (1, False)])
def test_dataloader_batches_like_torch_without_shuffling(batch_size, drop_last):
    import torch.utils.data as tud
    x, y = _arr(10, 3), np.arange(10)
    ours = DataLoader(TensorDataset(tl.tensor(x), tl.tensor(y)), batch_size=batch_size,
                      drop_last=drop_last)
    theirs = tud.DataLoader(tud.TensorDataset(torch.tensor(x), torch.tensor(y)),
                            batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    pairs = list(zip(ours, theirs, strict=True))
    for (bx, by), (tx, ty) in pairs:
        assert_close(bx, tx, **TORCH64_TOL)
        assert_close(by, ty, **TORCH64_TOL)


@needs_torch
def test_default_collate_matches_torch_for_numbers_arrays_tuples_and_dicts():
    from torch.utils.data import default_collate as torch_collate
    samples = [({"a": 1.5, "b": 2, "c": np.array([1, 2])}, tl.tensor([1.0, 2.0]), True),
               ({"a": 2.5, "b": 3, "c": np.array([3, 4])}, tl.tensor([3.0, 4.0]), False)]
    tsamples = [({"a": 1.5, "b": 2, "c": np.array([1, 2])}, torch.tensor([1.0, 2.0]), True),
                ({"a": 2.5, "b": 3, "c": np.array([3, 4])}, torch.tensor([3.0, 4.0]), False)]
    ours, theirs = default_collate(samples), torch_collate(tsamples)
    assert isinstance(ours, list) and isinstance(theirs, list)
    for key in ("a", "b", "c"):
        assert_close(ours[0][key], theirs[0][key], **TORCH64_TOL)
    assert_close(ours[1], theirs[1], **TORCH64_TOL)
    assert ours[2].tolist() == theirs[2].tolist() and ours[2].dtype == tl.bool
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_shuffled_loader_reshuffles_every_epoch_and_is_reproducible():
    data = TensorDataset(tl.arange(20))

    def epochs(generator):
        loader = DataLoader(data, batch_size=5, shuffle=True, generator=generator)
        return [tl.cat([b for (b,) in loader]).tolist() for _ in range(2)]

    first = epochs(tl.Generator().manual_seed(0))
    assert first == epochs(tl.Generator().manual_seed(0))
    assert first[0] != first[1] and sorted(first[0]) == list(range(20))
    tl.manual_seed(4)
    global_first = epochs(None)
    tl.manual_seed(4)
    assert epochs(None) == global_first


@needs_torch
@pytest.mark.parametrize("lengths", [[7, 3], [0.7, 0.3], [0.5, 0.25, 0.25], [0.34, 0.33, 0.33]])
def test_random_split_sizes_match_torch_and_partition_the_data(lengths):
    import torch.utils.data as tud
    n = 10 if sum(lengths) > 1.5 else 11
    ours = random_split(list(range(n)) if sum(lengths) < 1.5 else list(range(10)), lengths,
                        generator=tl.Generator().manual_seed(1))
    theirs = tud.random_split(list(range(n)) if sum(lengths) < 1.5 else list(range(10)),
                              lengths, generator=torch.Generator().manual_seed(1))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    items = sorted(item for subset in ours for item in subset)
    assert items == sorted(item for subset in theirs for item in subset)
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(list(range(5)), [2, 2])


def test_subset_concat_and_custom_datasets():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return float(i * i), i

    both = Squares() + Subset(Squares(), [4, 0])
    assert isinstance(both, ConcatDataset) and len(both) == 7 and both[5] == (16.0, 4)
    values, labels = next(iter(DataLoader(both, batch_size=7)))
    assert values.dtype == tl.float64 and labels.dtype == tl.int64
    assert values.tolist() == [0.0, 1.0, 4.0, 9.0, 16.0, 16.0, 0.0]
    with pytest.raises(AssertionError, match="Size mismatch"):
        TensorDataset(tl.ones(3), tl.ones(4))


# ---- nn modules -------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("build", [
    lambda nn: nn.ReLU(inplace=True), lambda nn: nn.LeakyReLU(0.2), lambda nn: nn.Dropout(0.3),
    lambda nn: nn.Softmax(dim=1), lambda nn: nn.LogSoftmax(dim=-1), lambda nn: nn.ELU(),
    lambda nn: nn.ModuleList([nn.Linear(2, 3), nn.ReLU()]),
    lambda nn: nn.ModuleDict({"fc": nn.Linear(2, 1), "act": nn.Tanh()}),
    lambda nn: nn.SmoothL1Loss(), lambda nn: nn.HuberLoss(), lambda nn: nn.NLLLoss(),
    lambda nn: nn.L1Loss(), lambda nn: nn.SiLU(), lambda nn: nn.Softplus(),
    lambda nn: nn.Mish(inplace=True), lambda nn: nn.SiLU(inplace=True),
    lambda nn: nn.SELU(inplace=True), lambda nn: nn.Mish(),
])
def test_new_modules_print_like_torch(build):
    assert repr(build(nn)) == repr(build(torch.nn))


@needs_torch
@pytest.mark.parametrize("name,kwargs", [("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}),
                                         ("ELU", {"alpha": 0.7}), ("SiLU", {}), ("Softmax", {"dim": 1}),
                                         ("LogSoftmax", {"dim": 0})])
def test_activation_modules_match_torch_to_second_order(name, kwargs):
    array = _arr(3, 4)
    array[0, 0] = 0.0
    compare_with_torch(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), [array],
                       TORCH64_TOL, TORCH64_TOL, second_order=name not in ("LeakyReLU", "ELU"))
    if name == "ELU":  # its second derivative alpha e^x on the negative side
        x = tl.tensor(array, requires_grad=True)
        (g,) = tl.autograd.grad(nn.ELU(**kwargs)(x).sum(), x, create_graph=True)
        (h,) = tl.autograd.grad(g.sum(), x)
        assert_close(h, torch.tensor(np.where(array > 0, 0.0, 0.7 * np.exp(array))), **TORCH64_TOL)


@needs_torch
@pytest.mark.parametrize("name,kwargs", [
    ("SmoothL1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}),
    ("HuberLoss", {}), ("HuberLoss", {"delta": 0.3, "reduction": "sum"}),
    ("L1Loss", {"reduction": "none"}), ("SmoothL1Loss", {"reduction": "none"})])
def test_robust_losses_match_torch(name, kwargs):
    x, y = _arr(4, 3) * 2, _arr(4, 3) * 2
    compare_with_torch(getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs), [x, y],
                       TORCH64_TOL, TORCH64_TOL)


@needs_torch
def test_nll_loss_module_with_log_softmax_matches_torch():
    target = np.array([2, 0, 1, 2])
    weight = np.array([1.0, 2.0, 0.5])
    ours = nn.Sequential(nn.LogSoftmax(dim=1))
    compare_with_torch(lambda x: nn.NLLLoss(weight=tl.tensor(weight))(ours(x), tl.tensor(target)),
                       lambda x: torch.nn.NLLLoss(weight=torch.tensor(weight))(
                           torch.log_softmax(x, 1), torch.tensor(target)),
                       [_arr(4, 3)], TORCH64_TOL, TORCH64_TOL, second_order=True)


@needs_torch
def test_one_hot_matches_torch():
    for data, classes in (([0, 2, 1], -1), ([[1], [3]], 5), ([], 3)):
        ours = F.one_hot(tl.tensor(data, dtype=tl.int64), classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(data, dtype=torch.int64), classes)
        assert ours.tolist() == theirs.tolist() and ours.shape == tuple(theirs.shape)
        assert ours.dtype == tl.int64
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(tl.tensor([1.0]))
    with pytest.raises(RuntimeError, match="class values"):
        F.one_hot(tl.tensor([3]), 2)


def test_dropout_trains_randomly_evaluates_deterministically_and_reproduces():
    layer = nn.Dropout(p=0.25)
    x = tl.ones(4000, dtype=tl.float64)
    tl.manual_seed(0)
    out = layer(x).numpy()
    assert set(np.unique(out)) == {0.0, 1 / 0.75} and abs((out == 0).mean() - 0.25) < 0.03
    tl.manual_seed(0)
    assert np.array_equal(layer(x).numpy(), out)
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, p=1.0).sum().item() == 0.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


@needs_torch
def test_dropout_gradient_uses_the_same_mask():
    x = tl.ones(50, requires_grad=True)
    out = F.dropout(x, p=0.5)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())


class _Net:
    """One model definition for both libraries: containers, a buffer and an init function."""

    @staticmethod
    def build(nn):
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([nn.Linear(3, 4), nn.Linear(4, 4)])
                self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 2)})
                self.drop = nn.Dropout(0.1)
                self.register_buffer("scale", nn.Parameter(torch_free_ones(nn, 3)).detach())

            def forward(self, x):
                for block in self.blocks:
                    x = block(x).relu()
                return self.heads["a"](x)
        return Net()


def torch_free_ones(nn, n):
    return (tl if nn is globals()["nn"] else torch).ones(n)


@needs_torch
def test_containers_register_parameters_buffers_and_names_like_torch():
    ours, theirs = _Net.build(nn), _Net.build(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("Net", "") == repr(theirs).replace("Net", "")
    visited = []
    ours.apply(lambda m: visited.append(type(m).__name__))
    tvisited = []
    theirs.apply(lambda m: tvisited.append(type(m).__name__))
    assert visited == tvisited
    assert len(ours.blocks) == 2 and isinstance(ours.blocks[-1], nn.Linear)
    assert list(ours.heads.keys()) == ["a", "b"] and "b" in ours.heads
    ours.blocks.append(nn.Linear(4, 4))
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) + 2


# ---- printing ---------------------------------------------------------------------------------
def _torch_repr(array):
    return repr(torch.from_numpy(array)).replace("torch.", "tinygrad_lr.")


@needs_torch
@given(hnp.arrays(st.sampled_from([np.float32, np.float64]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=7),
                  elements=st.one_of(st.floats(-1e4, 1e4, width=32), st.integers(-50, 50),
                                     st.sampled_from([0.0, -0.0, 1e-6, 1e9, np.nan, np.inf]))))
def test_float_tensors_print_exactly_as_torch(array):
    assert repr(tl.tensor(array)) == _torch_repr(array)


@needs_torch
@given(hnp.arrays(st.sampled_from([np.int64, np.int32, np.bool_]),
                  hnp.array_shapes(min_dims=0, max_dims=3, max_side=6)))
def test_integer_and_bool_tensors_print_exactly_as_torch(array):
    assert repr(tl.tensor(array)) == _torch_repr(array)


@needs_torch
@pytest.mark.parametrize("shape", [(1001,), (40, 30), (3, 400), (2, 3, 200)])
def test_large_tensors_summarize_as_torch(shape):
    array = np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7
    assert repr(tl.tensor(array)) == _torch_repr(array)


@needs_torch
def test_tensors_in_the_graph_print_their_grad_fn_like_torch():
    x = np.array([[1.0, 2.0], [3.0, 4.5]])
    cases = [lambda t, lib: t * 2, lambda t, lib: t + 1, lambda t, lib: t - t, lambda t, lib: t / 3,
             lambda t, lib: t.sum(), lambda t, lib: t.sum(1), lambda t, lib: t.mean(),
             lambda t, lib: t.mean(0), lambda t, lib: t ** 2, lambda t, lib: t.exp(),
             lambda t, lib: t.sigmoid(), lambda t, lib: t @ t, lambda t, lib: t.relu(),
             lambda t, lib: t.view(4), lambda t, lib: t.tanh(), lambda t, lib: -t,
             lambda t, lib: t.log(), lambda t, lib: lib.nn.functional.linear(t, t, t[0]),
             lambda t, lib: t.sin(), lambda t, lib: t.cumsum(0), lambda t, lib: t.abs(),
             lambda t, lib: 1 - t, lambda t, lib: t.min(), lambda t, lib: t.max(),
             lambda t, lib: t.norm(), lambda t, lib: lib.linalg.det(t),
             lambda t, lib: lib.linalg.inv(t)]
    for case in cases:
        ours = case(tl.tensor(x, dtype=tl.float32, requires_grad=True), tl)
        theirs = case(torch.tensor(x, dtype=torch.float32, requires_grad=True), torch)
        assert repr(ours) == repr(theirs)
        assert ours.grad_fn.name() == theirs.grad_fn.name()


@needs_torch
@pytest.mark.parametrize("x_shape, y_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                              ((2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                                              ((5, 2, 3), (3,)), ((3,), (5, 3, 4)),
                                              ((5, 2, 3), (3, 4)), ((2, 3), (6, 5, 3, 4))])
def test_matrix_products_print_torch_grad_fn(x_shape, y_shape):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=x_shape), rng.normal(size=y_shape)
    ours = tl.tensor(x, requires_grad=True) @ tl.tensor(y, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True) @ torch.tensor(y, requires_grad=True)
    assert ours.grad_fn.name() == theirs.grad_fn.name()


@needs_torch
def test_parameters_and_leaves_print_like_torch():
    assert repr(tl.tensor([1.0, 2.5], requires_grad=True)) == \
        repr(torch.tensor([1.0, 2.5], requires_grad=True))
    assert repr(tl.tensor([[1.0, 2.0]], dtype=tl.float64, requires_grad=True)) == \
        repr(torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)).replace(
            "torch.", "tinygrad_lr.")
    wide = np.linspace(0, 1, 12).reshape(2, 6)
    assert repr(tl.tensor(wide, requires_grad=True) * 2) == \
        repr(torch.tensor(wide, requires_grad=True) * 2).replace("torch.", "tinygrad_lr.")


@needs_torch
def test_format_specs_sizes_and_sort_results_print_like_torch():
    loss, tloss = tl.tensor(0.123456), torch.tensor(0.123456)
    for spec in (".4f", ".2e", "", "10.3f"):
        assert format(loss, spec) == format(tloss, spec)
    assert f"{tl.tensor(3)}" == f"{torch.tensor(3)}"
    with pytest.raises(TypeError):
        format(tl.ones(2), ".2f")
    size, tsize = tl.ones(2, 3).shape, torch.ones(2, 3).shape
    assert str(size) == str(tsize).replace("torch", "tinygrad_lr")
    assert f"{size}" == f"{tsize}".replace("torch", "tinygrad_lr")
    assert size == (2, 3) and size[1:] == tl.Size([3]) and size.numel() == 6
    assert tl.ones(2, 3).size() == tsize and isinstance(size, tuple)
    result = tl.tensor([3.0, 1.0]).sort()
    assert repr(result).replace("tinygrad_lr", "torch") == repr(torch.tensor([3.0, 1.0]).sort())


def test_library_error_messages_keep_plain_tuple_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        tl.ones(2, 3).view(5)


# ---- small additions ----------------------------------------------------------------------------
@needs_torch
def test_like_factories_and_helpers_match_torch_shapes_and_dtypes():
    base = tl.ones(2, 3, dtype=tl.float64)
    tbase = torch.ones(2, 3, dtype=torch.float64)
    for name in ("rand_like", "randn_like", "empty_like", "zeros_like", "ones_like"):
        ours, theirs = getattr(tl, name)(base), getattr(torch, name)(tbase)
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) in str(theirs.dtype)
    assert tl.randint_like(base, 3).dtype == tl.float64
    assert tl.is_tensor(base) and not tl.is_tensor(np.ones(2)) and tl.numel(base) == 6
    assert tl.randint(5, (2, 2)).shape == (2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tl.Tensor([1, 2]).dtype == tl.float32
    from tinygrad_lr.autograd import Variable
    v = Variable(tl.ones(2), requires_grad=True)
    assert v.requires_grad and isinstance(v, Variable) and Variable(base) is base


# ---- helpers beyond the list, common in tutorial code --------------------------------
EXTRAS = [
    ("view_as", lambda lib, x: x.view(12).view_as(x) * x),
    ("expand_as", lambda lib, x: x[:1].expand_as(x) * x),
    ("type_as", lambda lib, x: x.type_as(x) + 1),
    ("masked_fill", lambda lib, x: x.masked_fill(x > 0.5, 2.0) * x),
    ("repeat", lambda lib, x: x.repeat(2, 3) ** 2),
    ("repeat lead", lambda lib, x: x[0].repeat(2, 2) ** 2),
    ("flip", lambda lib, x: lib.flip(x, [0, 1]) * x),
    ("roll", lambda lib, x: lib.roll(x, 1, 1) * x),
    ("roll flat", lambda lib, x: lib.roll(x, -2) * x),
    ("chunk", lambda lib, x: x.chunk(2, dim=1)[1] ** 2),
    ("split", lambda lib, x: lib.split(x, [1, 2], dim=0)[1] ** 2),
    ("split size", lambda lib, x: x.split(3, dim=1)[-1] ** 2),
    ("diag", lambda lib, x: lib.diag(x) ** 2),
    ("diag vector", lambda lib, x: lib.diag(x[0], 1) ** 2),
    ("trace", lambda lib, x: lib.trace(x * x)),
    ("diff", lambda lib, x: lib.diff(x, dim=1) ** 2),
    ("lerp", lambda lib, x: lib.lerp(x, x * x, 0.3)),
    ("median", lambda lib, x: x.median() * x),
    ("median dim", lambda lib, x: x.median(dim=1).values ** 2),
    ("std_mean", lambda lib, x: lib.std_mean(x, 0)[0] * lib.std_mean(x, 0)[1]),
    ("var_mean", lambda lib, x: lib.var_mean(x, 1)[0] + lib.var_mean(x, 1)[1]),
    ("tan", lambda lib, x: lib.tan(x * 0.5)),
    ("atan", lambda lib, x: lib.atan(x)),
    ("expm1", lambda lib, x: lib.expm1(x)),
    ("erf", lambda lib, x: lib.erf(x)),
    ("clamp_min", lambda lib, x: x.clamp_min(0.1) * x),
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x)),
    ("gelu tanh", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh")),
    ("bmm", lambda lib, x: lib.bmm(x.view(1, 3, 4), x.view(1, 4, 3))),
    ("mv", lambda lib, x: lib.mv(x, x[0])),
    ("addmm", lambda lib, x: lib.addmm(x[:, :3], x, x.t(), beta=0.5, alpha=2.0)),
    ("meshgrid", lambda lib, x: lib.meshgrid(x[0], x[1], indexing="xy")[0] * 2),
    ("normalize", lambda lib, x: lib.nn.functional.normalize(x, dim=1)),
    ("cov", lambda lib, x: lib.cov(x)),
    ("cov vector", lambda lib, x: lib.cov(x[0], correction=0)),
    ("corrcoef", lambda lib, x: x.corrcoef()),
]


@needs_torch
@pytest.mark.parametrize("name,f", EXTRAS, ids=[name for name, _ in EXTRAS])
def test_tutorial_helpers_match_torch_to_second_order(name, f):
    array = _arr(3, 4)
    compare_with_torch(lambda x: f(tl, x), lambda x: f(torch, x), [array], TORCH64_TOL,
                       TORCH64_TOL, second_order=name not in ("masked_fill", "clamp_min"))


@needs_torch
def test_non_differentiable_helpers_match_torch():
    data = [3, 1, 3, 0, 2, 0]
    ours, theirs = tl.unique(tl.tensor(data), return_inverse=True, return_counts=True), \
        torch.unique(torch.tensor(data), return_inverse=True, return_counts=True)
    assert [t.tolist() for t in ours] == [t.tolist() for t in theirs]
    assert tl.nonzero(tl.tensor(data)).tolist() == torch.nonzero(torch.tensor(data)).tolist()
    assert [t.tolist() for t in tl.nonzero(tl.tensor([[1, 0], [0, 2]]), as_tuple=True)] == \
        [t.tolist() for t in torch.nonzero(torch.tensor([[1, 0], [0, 2]]), as_tuple=True)]
    assert tl.count_nonzero(tl.tensor(data)).item() == torch.count_nonzero(torch.tensor(data)).item()
    assert tl.ones(2, dtype=tl.float64).new_zeros(3).dtype == tl.float64
    assert tl.ones(2).new_full((2,), 3.0).tolist() == [3.0, 3.0]
    assert tl.ones(2, dtype=tl.int64).new_tensor([1.5]).dtype == tl.int64
    assert tl.ones(2, 3).t().contiguous().is_contiguous()
    x = tl.tensor([1.0, 2.0, 3.0])
    x.masked_fill_(x > 1.5, 0.0)
    assert x.tolist() == [1.0, 0.0, 0.0]


@needs_torch
@pytest.mark.parametrize("shape", [(6, 3), (5, 3, 4)])
def test_batchnorm1d_trains_and_evaluates_like_torch(shape):
    x = _arr(*shape) * 3 + 1
    ours, theirs = nn.BatchNorm1d(3, momentum=0.2).double(), torch.nn.BatchNorm1d(3, momentum=0.2).double()
    assert repr(ours) == repr(theirs)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
        theirs.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    with tl.no_grad():
        ours.weight.copy_(tl.tensor([0.5, 1.0, 2.0]))
        ours.bias.copy_(tl.tensor([0.1, -0.2, 0.3]))
    for _ in range(2):
        compare_with_torch(ours, theirs, [x], TORCH64_TOL, TORCH64_TOL)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, **TORCH64_TOL, what=key)
    ours.eval()
    theirs.eval()
    compare_with_torch(ours, theirs, [x], TORCH64_TOL, TORCH64_TOL)


@needs_torch
def test_set_printoptions_changes_printing_like_torch():
    array = np.array([1.23456789, 1e-3, 250.0])
    try:
        for options in ({"precision": 2}, {"sci_mode": False}, {"precision": 6, "sci_mode": True},
                        {"threshold": 5, "edgeitems": 1}, {"profile": "short"},
                        {"linewidth": 40}):
            tl.set_printoptions(**options)
            torch.set_printoptions(**options)
            for values in (array, np.arange(12.0) / 7):
                assert repr(tl.tensor(values, dtype=tl.float32)) == repr(torch.tensor(values, dtype=torch.float32))
    finally:
        tl.set_printoptions(profile="default", sci_mode=None)
        torch.set_printoptions(profile="default", sci_mode=None)


def test_module_conveniences():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1)))
    assert model.get_submodule("1.0") is model[1][0]
    assert model.get_parameter("1.0.bias") is model[1][0].bias
    vector = nn.utils.parameters_to_vector(model.parameters())
    assert vector.shape == (13,)
    nn.utils.vector_to_parameters(tl.arange(13.0), model.parameters())
    assert model[0].weight.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert model.half()[0].weight.dtype == tl.float16 and model.type(tl.float64)[0].bias.dtype == tl.float64


@needs_torch
def test_det_pinv_and_lstsq_match_torch_to_second_order():
    compare_with_torch(tl.linalg.det, torch.linalg.det, [_well_conditioned(3)], TORCH64_TOL,
                       TORCH64_TOL, second_order=True)
    compare_with_torch(tl.det, torch.det, [np.stack([_well_conditioned(2)] * 3)], TORCH64_TOL,
                       TORCH64_TOL, second_order=True)
    for shape in ((5, 3), (2, 4)):
        compare_with_torch(tl.linalg.pinv, torch.linalg.pinv, [_arr(*shape)], TORCH64_TOL,
                           TORCH64_TOL, second_order=True)
    compare_with_torch(lambda a, b: tl.linalg.lstsq(a, b).solution,
                       lambda a, b: torch.linalg.lstsq(a, b).solution, [_arr(6, 3), _arr(6, 2)],
                       TORCH64_TOL, TORCH64_TOL, second_order=True)
    square = _well_conditioned(2)
    assert_close(tl.pinverse(tl.tensor(square)), torch.pinverse(torch.tensor(square)),
                 **TORCH64_TOL)


def test_samplers_and_the_torch_submodule_paths():
    from tinygrad_lr.utils.data.dataloader import DataLoader as SubmoduleLoader
    from tinygrad_lr.utils.data.dataset import Dataset as SubmoduleDataset
    from tinygrad_lr.utils.data.sampler import SubsetRandomSampler, WeightedRandomSampler
    assert SubmoduleLoader is DataLoader and SubmoduleDataset is Dataset
    data = TensorDataset(tl.arange(10))
    tl.manual_seed(0)
    loader = DataLoader(data, batch_size=4, sampler=SubsetRandomSampler([1, 3, 5, 7, 9]))
    batches = [b.tolist() for (b,) in loader]
    assert len(loader) == 2 and sorted(sum(batches, [])) == [1, 3, 5, 7, 9]
    draws = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000))
    assert set(draws) == {1, 2} and abs(draws.count(2) / 4000 - 0.75) < 0.03
    assert len(list(WeightedRandomSampler(tl.ones(5), 5, replacement=False))) == 5
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, shuffle=True, sampler=SubsetRandomSampler([0]))


def _custom_functions(lib):
    class MyReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class ScaledCube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, y):
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return scale * x ** 3 * y

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            return (grad_output * 3 * ctx.scale * x ** 2 * y, None,
                    grad_output * ctx.scale * x ** 3)

    return MyReLU, ScaledCube


@needs_torch
def test_ctx_style_custom_functions_match_torch_to_second_order():
    relu, cube = _custom_functions(tl)
    trelu, tcube = _custom_functions(torch)
    array = _arr(3, 4)
    compare_with_torch(relu.apply, trelu.apply, [array], TORCH64_TOL, TORCH64_TOL)
    compare_with_torch(lambda x, y: cube.apply(x, 0.5, y), lambda x, y: tcube.apply(x, 0.5, y),
                       [array, _arr(3, 4)], TORCH64_TOL, TORCH64_TOL, second_order=True)
    out = relu.apply(tl.tensor([1.0], requires_grad=True))
    assert repr(out).replace("tinygrad_lr", "torch") == \
        repr(trelu.apply(torch.tensor([1.0], requires_grad=True)))
    assert relu.apply(tl.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


@needs_torch
def test_tensor_introspection_matches_torch():
    for data, dtype in (([1.0, 2.0], "float64"), ([1, 2], "int32"), ([True], "bool")):
        ours = tl.tensor(data, dtype=getattr(tl, dtype))
        theirs = torch.tensor(data, dtype=getattr(torch, dtype))
        assert (ours.is_floating_point(), tl.is_floating_point(ours), ours.nelement(),
                ours.ndimension(), ours.element_size(), ours.is_complex()) == \
            (theirs.is_floating_point(), torch.is_floating_point(theirs), theirs.nelement(),
             theirs.ndimension(), theirs.element_size(), theirs.is_complex())
    assert issubclass(lr_scheduler_module().StepLR, lr_scheduler_module()._LRScheduler)


def lr_scheduler_module():
    return tl.optim.lr_scheduler


MORE_MODULES = [
    ("Hardtanh", {}, 1), ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}, 1), ("ReLU6", {}, 1),
    ("SELU", {}, 1), ("Softsign", {}, 1), ("Mish", {}, 1), ("LogSigmoid", {}, 1),
    ("PReLU", {}, 1), ("PReLU", {"num_parameters": 4, "init": 0.1}, 1),
    ("CosineSimilarity", {}, 2), ("CosineSimilarity", {"dim": 0}, 2),
    ("PairwiseDistance", {}, 2), ("PairwiseDistance", {"p": 1.0, "keepdim": True}, 2),
    ("SoftMarginLoss", {}, 2), ("SoftMarginLoss", {"reduction": "sum"}, 2),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs,arity", MORE_MODULES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MORE_MODULES)])
def test_more_modules_match_torch(name, kwargs, arity):
    arrays = [_arr(3, 4) * 3 for _ in range(arity)]
    ours, theirs = getattr(nn, name)(**kwargs).double(), getattr(torch.nn, name)(**kwargs).double()
    assert repr(ours) == repr(theirs)
    smooth = name not in ("Hardtanh", "ReLU6", "PReLU")
    if name == "SoftMarginLoss":  # labels -1/1, not differentiable
        labels = np.sign(arrays.pop())
        ours_f, theirs_f = ours, theirs
        ours = lambda x: ours_f(x, tl.tensor(labels))  # noqa: E731
        theirs = lambda x: theirs_f(x, torch.tensor(labels))  # noqa: E731
    compare_with_torch(ours, theirs, arrays, TORCH64_TOL, TORCH64_TOL, second_order=smooth)


@needs_torch
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "mean", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    logp = np.log(np.array([[0.2, 0.3, 0.5], [0.1, 0.6, 0.3]]))
    target = np.array([[0.0, 0.4, 0.6], [0.25, 0.25, 0.5]])
    if log_target:
        target = np.log(target + 0.1)
    compare_with_torch(
        lambda x: nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, tl.tensor(target)),
        lambda x: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(
            x, torch.tensor(target)),
        [logp], TORCH64_TOL, TORCH64_TOL, second_order=True)


@pytest.mark.parametrize("name", ["inv", "det", "solve"])
def test_linalg_refuses_non_square_matrices_naming_the_function_and_shape(name: str) -> None:
    args = (tl.ones(2, 3),) if name != "solve" else (tl.ones(2, 3), tl.ones(2))
    with pytest.raises(RuntimeError, match=f"linalg.{name}: A must be batches of square "
                                           "matrices, but they are 2 by 3 matrices"):
        getattr(tl.linalg, name)(*args)
