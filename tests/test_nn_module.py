"""tinygrad_lr.nn modules against torch.nn: registration and traversal order and names,
state_dict round trips and errors, modes, dtype conversion, repr, Linear's initialisation and
its forward/backward, Sequential, activation and loss modules."""
from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lr as tl
import tinygrad_lr.nn as nn
from helpers import F32_REDUCTION_TOL, TORCH64_TOL, assert_close, needs_torch, torch, torch_tensor


def _model(lib):
    """The same architecture in tinygrad_lr.nn or torch.nn: nesting, a shared module, a buffer,
    a layer without bias, and a directly registered parameter."""
    factories = tl if lib is nn else torch

    class Net(lib.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.Parameter(factories.ones(2))
            self.body = lib.Sequential(lib.Linear(3, 4), lib.Tanh(), lib.Linear(4, 2, bias=False))
            self.register_buffer("running", factories.zeros(2))
            self.head = lib.Sequential(OrderedDict(fc=lib.Linear(2, 2), act=lib.Sigmoid()))
            self.tied = self.head  # the same module under a second name

        def forward(self, x):
            return self.head(self.body(x) * self.scale)

    return Net()


def _copy_torch_state(ours: nn.Module, theirs) -> None:
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ---- Parameter --------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(tl.tensor([1.0, 2.0]))
    assert isinstance(p, tl.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(tl.tensor([1.0]), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_shares_the_data_of_a_tensor():
    t = tl.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    t.detach().numpy()[0] = 5.0
    assert p.detach().numpy()[0] == 5.0


@needs_torch
def test_parameter_repr_matches_torch():
    assert repr(nn.Parameter(tl.tensor([1.0, 2.0]))) == \
        repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))


def test_operations_on_parameters_give_plain_tensors():
    p = nn.Parameter(tl.tensor([1.0, 2.0]))
    assert type(p * 2) is tl.Tensor and type(p.detach()) is tl.Tensor


# ---- registration and traversal ---------------------------------------------------------------
@needs_torch
def test_named_parameters_match_torch_order_and_names():
    ours, theirs = _model(nn), _model(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


@needs_torch
def test_module_traversal_matches_torch():
    ours, theirs = _model(nn), _model(torch.nn)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [type(m).__name__ for m in ours.children()] == \
        [type(m).__name__ for m in theirs.children()]
    assert [type(m).__name__ for m in ours.modules()] == \
        [type(m).__name__ for m in theirs.modules()]
    visited, tvisited = [], []
    ours.apply(lambda m: visited.append(type(m).__name__))
    theirs.apply(lambda m: tvisited.append(type(m).__name__))
    assert visited == tvisited


@needs_torch
def test_state_dict_keys_match_torch():
    assert list(_model(nn).state_dict()) == list(_model(torch.nn).state_dict())
    seq = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_registration_through_attributes_and_methods():
    m = nn.Module()
    m.w = nn.Parameter(tl.zeros(2))
    m.register_parameter("absent", None)
    m.child = nn.Linear(1, 1)
    m.register_buffer("stat", tl.ones(1))
    m.register_buffer("scratch", tl.ones(1), persistent=False)
    m.plain = 3
    assert [n for n, _ in m.named_parameters()] == ["w", "child.weight", "child.bias"]
    assert list(m.state_dict()) == ["w", "stat", "child.weight", "child.bias"]
    assert m.w is m._parameters["w"] and m.absent is None and m.plain == 3
    assert {"w", "child", "stat"} <= set(dir(m))
    m.w = None
    assert m.w is None and [n for n, _ in m.named_parameters()] == ["child.weight", "child.bias"]
    del m.child
    assert not list(m.children())
    with pytest.raises(AttributeError, match="'nope'"):
        getattr(m, "nope")


def test_registration_errors():
    m = nn.Module()
    m.w = nn.Parameter(tl.zeros(2))
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = tl.zeros(2)
    m.register_buffer("b", tl.zeros(1))
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.b = 3
    with pytest.raises(KeyError, match=r"\."):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("x", tl.zeros(1))

    class Forgetful(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(tl.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgetful()


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tl.zeros(1))


# ---- modes, gradients, dtypes -----------------------------------------------------------------
def test_train_and_eval_set_the_flag_everywhere():
    m = _model(nn)
    assert all(mod.training for mod in m.modules())
    assert m.eval() is m
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())
    with pytest.raises(ValueError, match="bool"):
        m.train("yes")


def test_zero_grad_sets_to_none_or_zeros_in_place():
    m = nn.Linear(3, 2)
    m(tl.ones(4, 3)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.detach().numpy().any()
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_requires_grad_switch():
    m = _model(nn)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_double_and_float_convert_parameters_grads_and_buffers_in_place():
    m = _model(nn)
    params = list(m.parameters())
    m(tl.ones(2, 3)).sum().backward()
    assert m.double() is m
    assert all(a is b for a, b in zip(m.parameters(), params, strict=True))
    assert all(p.dtype == tl.float64 and p.grad.dtype == tl.float64 for p in m.parameters())
    assert m.running.dtype == tl.float64
    assert m(tl.ones(2, 3, dtype=tl.float64)).dtype == tl.float64
    m.float()
    assert all(p.dtype == tl.float32 for p in m.parameters()) and m.running.dtype == tl.float32


# ---- state_dict -------------------------------------------------------------------------------
def test_state_dict_is_detached_and_shares_data():
    m = nn.Linear(2, 1)
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad and sd["weight"].grad_fn is None
    assert np.shares_memory(sd["weight"].detach().numpy(), m.weight.detach().numpy())
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_load_state_dict_copies_in_place():
    src, dst = nn.Linear(3, 2), nn.Linear(3, 2)
    weight = dst.weight
    result = dst.load_state_dict(src.state_dict())
    assert dst.weight is weight
    np.testing.assert_array_equal(dst.weight.detach().numpy(), src.weight.detach().numpy())
    assert not np.shares_memory(dst.weight.detach().numpy(), src.weight.detach().numpy())
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_load_state_dict_strict_errors_list_every_problem():
    m = nn.Linear(2, 1)
    before = m.weight.detach().numpy().copy()
    bad = {"weight": np.zeros((1, 3)), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(bad)
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "bias"' in message
    assert 'Unexpected key(s) in state_dict: "extra"' in message
    assert "size mismatch for weight" in message and "(1, 3)" in message and "(1, 2)" in message
    np.testing.assert_array_equal(m.weight.detach().numpy(), before)


def test_load_state_dict_non_strict_returns_key_lists_but_still_checks_shapes():
    m = nn.Linear(2, 1)
    result = m.load_state_dict({"weight": np.full((1, 2), 7.0), "extra": np.zeros(1)},
                               strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.full((1, 2), 7.0, np.float32))
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        m.load_state_dict({"weight": np.zeros((2, 2))}, strict=False)


@needs_torch
def test_state_dict_round_trip_from_torch_gives_the_same_outputs():
    theirs = _model(torch.nn).double()
    ours = _model(nn).double()
    _copy_torch_state(ours, theirs)
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert_close(ours(tl.tensor(x)), theirs(torch_tensor(x)), **TORCH64_TOL)


def test_deepcopy_gives_an_independent_module():
    m = nn.Sequential(nn.Linear(2, 2))
    clone = copy.deepcopy(m)
    clone[0].weight.detach().numpy()[...] = 0
    assert m[0].weight.detach().numpy().any()
    assert [n for n, _ in clone.named_parameters()] == ["0.weight", "0.bias"]


# ---- repr -------------------------------------------------------------------------------------
@needs_torch
def test_repr_matches_torch():
    def build(lib):
        return lib.Sequential(
            lib.Linear(3, 2), lib.Sigmoid(), lib.Flatten(), lib.Softmax(dim=1),
            lib.LogSoftmax(1), lib.Identity(), lib.ReLU(), lib.Tanh(),
            lib.Sequential(lib.Linear(2, 1, bias=False)), lib.BCEWithLogitsLoss(),
            lib.CrossEntropyLoss(), lib.MSELoss())

    assert repr(build(nn)) == repr(build(torch.nn))
    assert repr(_model(nn)).replace("Net", "") == repr(_model(torch.nn)).replace("Net", "")


# ---- Linear -----------------------------------------------------------------------------------
def test_linear_initialisation_is_uniform_within_the_bound():
    tl.manual_seed(0)
    m = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert m.weight.shape == (300, 400) and m.bias.shape == (300,)
    assert m.weight.dtype == tl.float32 and m.weight.requires_grad
    w = m.weight.detach().numpy().astype(np.float64)
    assert np.abs(w).max() <= bound and np.abs(m.bias.detach().numpy()).max() <= bound
    # 120000 draws: the extremes reach the bound and the moments are those of U(-b, b)
    assert np.abs(w).max() > 0.999 * bound
    assert abs(w.mean()) < 0.01 * bound
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.02)


def test_linear_initialisation_is_reproducible_with_manual_seed():
    tl.manual_seed(123)
    a = nn.Linear(5, 3)
    tl.manual_seed(123)
    b = nn.Linear(5, 3)
    c = nn.Linear(5, 3)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
    assert not np.array_equal(b.weight.detach().numpy(), c.weight.detach().numpy())


def test_linear_options_and_validation():
    m = nn.Linear(4, 2, bias=False, dtype=tl.float64)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.dtype == tl.float64
    assert nn.Linear(0, 3).bias.detach().numpy().tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(2, 2.5)


@needs_torch
@pytest.mark.parametrize("dtype,tol", [(np.float64, TORCH64_TOL), (np.float32, F32_REDUCTION_TOL)])
@pytest.mark.parametrize("batch_shape", [(5,), (2, 3), ()])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_backward_match_torch(dtype, tol, batch_shape, bias):
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    theirs = torch.nn.Linear(4, 3, bias=bias, dtype=torch_dtype)
    ours = nn.Linear(4, 3, bias=bias, dtype=dtype)
    _copy_torch_state(ours, theirs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(batch_shape + (4,)).astype(dtype)
    upstream = rng.standard_normal(batch_shape + (3,)).astype(dtype)
    xt, xtt = tl.tensor(x, requires_grad=True), torch_tensor(x, requires_grad=True)
    out, tout = ours(xt), theirs(xtt)
    assert_close(out, tout, **tol, what="forward")
    out.backward(upstream)
    tout.backward(torch_tensor(upstream))
    assert_close(xt.grad, xtt.grad, **tol, what="input grad")
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, tp.grad, **tol, what=name)


# ---- Sequential and the activation modules ----------------------------------------------------
def test_sequential_container_behaviour():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [b, c]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]
    with pytest.raises(IndexError, match="index 3"):
        seq[3]
    seq[1] = nn.Tanh()
    assert isinstance(seq[1], nn.Tanh)
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    del seq[3]
    assert len(seq) == 3
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


@needs_torch
def test_sequential_forward_matches_torch():
    def build(lib):
        return lib.Sequential(lib.Flatten(), lib.Linear(6, 4), lib.ReLU(), lib.Linear(4, 3),
                              lib.Tanh(), lib.Identity(), lib.LogSoftmax(dim=1))

    theirs, ours = build(torch.nn).double(), build(nn).double()
    _copy_torch_state(ours, theirs)
    x = np.random.default_rng(2).standard_normal((5, 2, 3))
    xt, xtt = tl.tensor(x, requires_grad=True), torch_tensor(x, requires_grad=True)
    out, tout = ours(xt), theirs(xtt)
    assert_close(out, tout, **TORCH64_TOL)
    out.sum().backward()
    tout.sum().backward()
    assert_close(xt.grad, xtt.grad, **TORCH64_TOL)


@needs_torch
@pytest.mark.parametrize("name,args", [("Sigmoid", ()), ("ReLU", ()), ("Tanh", ()),
                                       ("Identity", ()), ("Flatten", ()), ("Flatten", (0, 1)),
                                       ("Softmax", (1,)), ("Softmax", (-1,)),
                                       ("LogSoftmax", (2,))])
def test_activation_modules_match_torch(name, args):
    x = np.random.default_rng(3).standard_normal((2, 3, 4)) * 5
    ours = getattr(nn, name)(*args)(tl.tensor(x))
    theirs = getattr(torch.nn, name)(*args)(torch_tensor(x))
    assert_close(ours, theirs, **TORCH64_TOL)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


# ---- loss modules -----------------------------------------------------------------------------
def _loss_cases():
    rng = np.random.default_rng(4)
    probs, soft = rng.uniform(0.05, 0.95, (6, 3)), rng.random((6, 3))
    logits = rng.standard_normal((6, 3)) * 3
    classes = np.array([0, 2, 1, 1, -100, 2])
    w3 = rng.random(3) + 0.5
    return [
        ("BCELoss", {}, probs, soft),
        ("BCELoss", {"weight": w3, "reduction": "sum"}, probs, soft),
        ("BCEWithLogitsLoss", {}, logits, soft),
        ("BCEWithLogitsLoss", {"weight": w3, "pos_weight": w3 * 2, "reduction": "none"},
         logits, soft),
        ("MSELoss", {"reduction": "sum"}, logits, soft),
        ("L1Loss", {}, logits, soft),
        ("CrossEntropyLoss", {"weight": w3, "label_smoothing": 0.2}, logits, classes),
        ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "none"}, logits,
         np.array([0, 1, 2, 2, 1, 0])),
        ("NLLLoss", {"weight": w3}, np.log(probs / probs.sum(1, keepdims=True)), classes),
    ]


@needs_torch
@pytest.mark.parametrize("case", range(len(_loss_cases())))
def test_loss_modules_match_torch(case):
    name, options, x, y = _loss_cases()[case]

    def convert(value, lib_tensor):
        return lib_tensor(value) if isinstance(value, np.ndarray) else value

    ours = getattr(nn, name)(**{k: convert(v, tl.tensor) for k, v in options.items()})
    theirs = getattr(torch.nn, name)(**{k: convert(v, torch_tensor) for k, v in options.items()})
    xt, xtt = tl.tensor(x, requires_grad=True), torch_tensor(x, requires_grad=True)
    out, tout = ours(xt, tl.tensor(y)), theirs(xtt, torch_tensor(y))
    assert_close(out, tout, **TORCH64_TOL)
    out.sum().backward()
    tout.sum().backward()
    assert_close(xt.grad, xtt.grad, **TORCH64_TOL)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


def test_loss_module_weight_buffers_follow_dtype_conversion():
    loss = nn.BCEWithLogitsLoss(tl.ones(3), pos_weight=tl.ones(3))
    loss.double()
    assert loss.weight.dtype == tl.float64 and loss.pos_weight.dtype == tl.float64


def test_loss_modules_validate_options_at_construction():
    with pytest.raises(ValueError, match="'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=2.0)


@needs_torch
def test_forward_hooks_run_change_values_and_remove_like_torch():
    def run(lib):
        model = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
        for p in model.parameters():
            lib.nn.init.constant_(p, 0.5)
        seen = []
        handle = model[1].register_forward_hook(lambda m, args, out: seen.append(out.sum().item()))
        pre = model[2].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        scale = model.register_forward_hook(lambda m, args, out: out * 10)
        x = lib.tensor([[1.0, -2.0], [0.5, 0.5]])
        first = model(x).detach().numpy().copy()
        handle.remove()
        pre.remove()
        scale.remove()
        second = model(x).detach().numpy().copy()
        return first, second, seen

    ours, theirs = run(tl), run(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
