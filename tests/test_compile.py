"""tl.compile (issue 15): a captured step replays bit for bit what the eager step computes, step
after step, for every optimizer and with schedulers; it captures again on a new signature, falls
back to eager (with one warning) where a replay could be wrong, and keeps returned tensors valid."""
from __future__ import annotations

import ast
import collections
import inspect
import re
import sys
import warnings
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lr as tl
import tinygrad_lr.compiler as compile_module
import tinygrad_lr.nn.functional as F
from tinygrad_lr import nn, optim
from tinygrad_lr.optim import lr_scheduler

OPTIMIZERS: dict[str, Callable[[list], Any]] = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd-nesterov-wd": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True,
                                           weight_decay=0.01),
    "sgd-dampening-maximize": lambda p: optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3,
                                                  maximize=True),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam-amsgrad-wd": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01),
    "rmsprop-centered-momentum": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9,
                                                         centered=True, weight_decay=0.01),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "adamw-amsgrad-maximize": lambda p: optim.AdamW(p, lr=0.01, amsgrad=True, maximize=True),
    "rmsprop-momentum-maximize": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5,
                                                         maximize=True),
    "adagrad-decay-wd-maximize": lambda p: optim.Adagrad(p, lr=0.1, lr_decay=0.05,
                                                         weight_decay=0.1,
                                                         initial_accumulator_value=0.2,
                                                         maximize=True),
}


def data(m: int = 40, n: int = 3, dtype: Any = np.float64, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)).astype(dtype)
    y = (rng.random(m) < 0.5).astype(dtype)
    return X, y


class Setup:
    """Parameters, an optimizer and a logistic-regression step over them."""

    def __init__(self, make_opt: Callable[[list], Any], n: int = 3, dtype: Any = np.float64,
                 zero_inside: bool = True) -> None:
        rng = np.random.default_rng(1)
        self.w = tl.tensor(0.1 * rng.standard_normal(n).astype(dtype), requires_grad=True)
        self.b = tl.tensor(np.zeros(1, dtype), requires_grad=True)
        self.opt = make_opt([self.w, self.b])
        self.zero_inside = zero_inside

    def step(self, X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        if self.zero_inside:
            self.opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(X @ self.w + self.b, y)
        loss.backward()
        self.opt.step()
        return loss

    def snapshot(self) -> list[np.ndarray]:
        """Every value a step changes: parameters, gradients, optimizer state, versions."""
        values = []
        for p in (self.w, self.b):
            values.append(p.detach().numpy().copy())
            values.append(None if p.grad is None else p.grad.numpy().copy())
            values.append(p._version)
            for key, value in sorted(self.opt.state[p].items()):
                values.append((key, value.numpy().copy() if isinstance(value, tl.Tensor)
                               else value))
        values.append([group["lr"] for group in self.opt.param_groups])
        return values


def assert_same(a: Any, b: Any) -> None:
    """Bitwise equality of nested snapshots (arrays compared with array_equal, NaN-aware)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True), (a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def run_pair(make_opt: Callable[[list], Any], steps: int = 12, dtype: Any = np.float64,
             make_scheduler: Callable[[Any], Any] | None = None, batches: int = 3,
             zero_inside: bool = True) -> tl.compile:
    """The same training run eagerly and compiled (new minibatches each step), compared bit for
    bit after every step; returns the compiled step."""
    eager, compiled = Setup(make_opt, dtype=dtype, zero_inside=zero_inside), \
        Setup(make_opt, dtype=dtype, zero_inside=zero_inside)
    scheds = [make_scheduler(s.opt) if make_scheduler else None for s in (eager, compiled)]
    fast = tl.compile(compiled.step)
    minibatches = [data(dtype=dtype, seed=s) for s in range(batches)]
    for k in range(steps):
        X, y = minibatches[k % batches]
        if not zero_inside and k % 4 == 0:
            eager.opt.zero_grad()
            compiled.opt.zero_grad()
        loss_e = eager.step(tl.from_numpy(X), tl.from_numpy(y))
        loss_c = fast(tl.from_numpy(X), tl.from_numpy(y))
        assert_same(loss_e.detach().numpy(), loss_c.detach().numpy())
        assert_same(eager.snapshot(), compiled.snapshot())
        for sched in scheds:
            if sched is not None:
                sched.step()
    return fast


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bit_identical_to_eager_for_every_optimizer(name: str, dtype: Any) -> None:
    fast = run_pair(OPTIMIZERS[name], dtype=dtype)
    assert len(fast.cache) == 1 and fast.latest is not None  # captured once, then replayed


SCHEDULERS = {
    "step": lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
    "exponential": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    "cosine": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5),
    "lambda": lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1.0 / (1 + epoch)),
    "onecycle": lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20),  # + momentum
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
@pytest.mark.parametrize("opt", ["sgd-momentum", "adam"])
def test_learning_rates_set_by_schedulers_are_read_live(name: str, opt: str) -> None:
    run_pair(OPTIMIZERS[opt], make_scheduler=SCHEDULERS[name])


def bake_learning_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted bug: SGD's fused update replays with the scalars of its first replay."""
    original = optim.SGD.fused_update

    def baked(self: optim.SGD) -> Any:
        update = original(self)
        frozen: dict[int, tuple] = {}

        def advance(param: tl.Tensor, group: dict, state: dict) -> tuple:
            return frozen.setdefault(id(param), update.advance(param, group, state))
        return update._replace(advance=advance)
    monkeypatch.setattr(optim.SGD, "fused_update", baked)


def test_a_baked_learning_rate_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    bake_learning_rates(monkeypatch)
    with pytest.raises(AssertionError):
        run_pair(OPTIMIZERS["sgd-momentum"], make_scheduler=SCHEDULERS["step"])


def test_gradients_accumulate_as_eager_when_zero_grad_is_outside() -> None:
    run_pair(OPTIMIZERS["sgd-momentum"], zero_inside=False)
    run_pair(OPTIMIZERS["adam"], zero_inside=False, dtype=np.float32)


def test_scheduler_step_inside_the_function_is_replayed() -> None:
    results = []
    for compiled in (False, True):
        s = Setup(OPTIMIZERS["sgd-momentum"])
        sched = lr_scheduler.StepLR(s.opt, step_size=1, gamma=0.5)

        def step(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            loss = s.step(X, y)
            sched.step()
            return loss
        run = tl.compile(step) if compiled else step
        X, y = data()
        for _ in range(5):
            run(tl.from_numpy(X), tl.from_numpy(y))
        results.append(s.snapshot())
    assert_same(results[0], results[1])


def test_new_shapes_and_dtypes_capture_again() -> None:
    s = Setup(OPTIMIZERS["sgd"])
    e = Setup(OPTIMIZERS["sgd"])
    fast = tl.compile(s.step)
    for m in (40, 17, 40, 17, 5):
        X, y = data(m=m, seed=m)
        assert_same(e.step(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy(),
                    fast(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy())
        assert_same(e.snapshot(), s.snapshot())
    assert len(fast.cache) == 3
    shown = "\n".join(str(c) for c in fast.captures.values())
    assert "(17, 3) float64" in shown and "(5, 3) float64" in shown


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compile_module, "cache_size_limit", 2)
    fast = tl.compile(lambda x: (x * 2).sum())
    with pytest.warns(RuntimeWarning, match="cache_size_limit"):
        for m in (1, 2, 3, 4):
            assert fast(tl.ones(m)).item() == 2 * m
    assert len(fast.cache) == 2


def test_python_numbers_passed_in_are_part_of_the_signature() -> None:
    fast = tl.compile(lambda x, scale: (x * scale).sum())
    x = tl.tensor([1.0, 2.0, 3.0])
    assert [fast(x, s).item() for s in (1.0, 2.0, 1.0, 0.5)] == [6.0, 12.0, 6.0, 3.0]
    assert len(fast.cache) == 3


def test_returned_tensors_stay_valid_after_later_calls() -> None:
    s = Setup(OPTIMIZERS["adam"])
    fast = tl.compile(s.step)
    X, y = data()
    losses = [fast(tl.from_numpy(X), tl.from_numpy(y)) for _ in range(4)]
    values = [loss.item() for loss in losses]
    for _ in range(3):
        fast(tl.from_numpy(X), tl.from_numpy(y))
    assert [loss.item() for loss in losses] == values
    assert len(set(values)) == 4  # each call's own loss


def test_item_inside_falls_back_to_eager_with_one_warning() -> None:
    s, e = Setup(OPTIMIZERS["sgd"]), Setup(OPTIMIZERS["sgd"])

    def step(setup: Setup) -> Callable:
        def run(X: tl.Tensor, y: tl.Tensor) -> float:
            loss = setup.step(X, y)
            return loss.item() if loss.item() > 0 else 0.0
        return run
    fast, slow = tl.compile(step(s)), step(e)
    X, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            assert fast(tl.from_numpy(X), tl.from_numpy(y)) == slow(tl.from_numpy(X),
                                                                     tl.from_numpy(y))
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "item" in messages[0] and "eagerly" in messages[0]
    assert_same(s.snapshot(), e.snapshot())


@pytest.mark.parametrize("read", [bool, float, lambda t: t.tolist(), lambda t: t.numpy(),
                                  lambda t: np.asarray(t), repr])
def test_every_host_read_is_a_graph_break(read: Callable) -> None:
    fast = tl.compile(lambda x: read((x * 2).sum()))
    with pytest.warns(RuntimeWarning, match="host"):
        fast(tl.ones(3))


def test_fullgraph_raises_at_a_graph_break() -> None:
    fast = tl.compile(lambda x: (x * 2).sum().item(), fullgraph=True)
    with pytest.raises(RuntimeError, match="fullgraph"):
        fast(tl.ones(3))


def test_random_numbers_and_closures_run_eagerly() -> None:
    model = nn.Dropout(0.5)
    fast = tl.compile(lambda x: model(x))
    with pytest.warns(RuntimeWarning, match="random"):
        fast(tl.ones(1000))
    first, second = fast(tl.ones(1000)), fast(tl.ones(1000))
    assert not np.array_equal(first.numpy(), second.numpy())  # fresh masks, as eager
    w = tl.zeros(3, dtype=tl.float64, requires_grad=True)
    lbfgs = optim.LBFGS([w], max_iter=3)
    X, y = data()

    def closure() -> tl.Tensor:
        lbfgs.zero_grad()
        loss = F.binary_cross_entropy_with_logits(tl.from_numpy(X) @ w, tl.from_numpy(y))
        loss.backward()
        return loss
    fast_lbfgs = tl.compile(lambda: lbfgs.step(closure))
    with pytest.warns(RuntimeWarning, match="closure"):
        fast_lbfgs()


def test_indexing_with_a_tensor_argument_is_not_baked_in() -> None:
    X = tl.arange(10.0)
    fast = tl.compile(lambda idx: X[idx].sum())
    with pytest.warns(RuntimeWarning, match="parameter"):
        assert fast(tl.tensor([1, 2])).item() == 3.0  # the index became an array parameter
    assert fast(tl.tensor([3, 4])).item() == 7.0


def test_manual_sgd_with_in_place_updates_and_grad_zeroing() -> None:
    results = []
    for compiled in (False, True):
        w = tl.tensor([0.5, -0.2, 0.1], dtype=tl.float64, requires_grad=True)

        def step(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            nonlocal w
            loss = ((X @ w - y) ** 2).mean()
            loss.backward()
            with tl.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
            return loss
        run = tl.compile(step) if compiled else step
        out = []
        for seed in range(6):
            X, y = data(seed=seed % 2)
            out.append(run(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy().copy())
        results.append([out, w.detach().numpy().copy(), w.grad.numpy().copy(), w._version])
    assert_same(results[0], results[1])


def test_mutating_an_input_and_its_version_counter() -> None:
    results = []
    for compiled in (False, True):
        def step(x: tl.Tensor) -> tl.Tensor:
            x.add_(1.0)
            x[0] = 0.0
            return (x * x).sum()
        run = tl.compile(step) if compiled else step
        seen = []
        for k in range(4):
            x = tl.tensor([1.0, 2.0, 3.0]) * k
            total = run(x)
            seen.append((x.numpy().copy(), x._version, total.item()))
        results.append(seen)
    assert_same(results[0], results[1])


def test_module_forward_compiles_for_inference() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    fast = tl.compile(model)
    X, _ = data(dtype=np.float32)
    with tl.no_grad():
        expected = [model(tl.from_numpy(X * k)).numpy().copy() for k in range(3)]
        got = [fast(tl.from_numpy(X * k)).numpy().copy() for k in range(3)]
    assert_same(expected, got)
    assert "Linear" in fast.plan() or "MatMul" in fast.plan()
    assert fast.weight if hasattr(model, "weight") else fast.training  # attributes pass through


def module_training(compiled: bool, twice: bool = False) -> list:
    """``model = tl.compile(model)`` in an ordinary training loop (the backward outside)."""
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    run = tl.compile(model) if compiled else model
    opt = optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(2)
    seen = []
    for _ in range(6):
        x = tl.tensor(rng.standard_normal((12, 5)).astype(np.float32))
        y = tl.tensor(rng.standard_normal((12, 1)).astype(np.float32))
        opt.zero_grad()
        loss = F.mse_loss(run(x), y)
        if twice:  # a second forward before the first one's backward
            loss = loss + F.mse_loss(run(x * 2.0), y)
        loss.backward()
        opt.step()
        seen.append(loss.detach().numpy().copy())
    return seen + [p.detach().numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("twice", [False, True])
def test_a_compiled_module_trains_as_eager(twice: bool) -> None:
    assert_same(module_training(False, twice), module_training(True, twice))


def test_a_compiled_forward_is_one_node_whose_backward_replays_the_rules() -> None:
    model = nn.Linear(3, 1)
    fast = tl.compile(model)
    X, _ = data(dtype=np.float32)
    fast(tl.from_numpy(X)).sum().backward()
    out = fast(tl.from_numpy(X))
    assert out.grad_fn.name() == "CompiledRegionBackward0" and "region" in fast.plan()
    model.weight.grad = None
    out.sum().backward()
    assert np.allclose(model.weight.grad.numpy(), X.sum(axis=0, keepdims=True))
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


def test_pytorch_spellings() -> None:
    @tl.compile(mode="reduce-overhead", fullgraph=False, dynamic=False)
    def double(x: tl.Tensor) -> tl.Tensor:
        return x * 2

    @tl.compile
    def triple(x: tl.Tensor) -> tl.Tensor:
        return x * 3
    assert double(tl.ones(2)).tolist() == [2.0, 2.0]
    assert triple(tl.ones(2)).tolist() == [3.0, 3.0]
    assert tl.compile(triple.fn, disable=True) is triple.fn
    with pytest.raises(RuntimeError, match="mode"):
        tl.compile(lambda x: x, mode="fastest")


def test_the_plan_lists_the_kernels() -> None:
    s = Setup(OPTIMIZERS["sgd-momentum"])
    fast = tl.compile(s.step)
    assert fast.plan().startswith("no capture")
    X, y = data()
    fast(tl.from_numpy(X), tl.from_numpy(y))
    plan = fast.plan()
    for word in ("zero_grad", "forward", "MatMul", "backward", "accumulate", "SGD.step"):
        assert word in plan
    assert plan.splitlines()[0].startswith("capture of step((40, 3) float64, (40,) float64)")


def test_eager_code_is_untouched_after_a_capture() -> None:
    def methods() -> tuple:
        return (tl.Tensor.item, tl.autograd.function.Function.apply, optim.Optimizer.step,
                vars(optim.LBFGS)["step"], "step" in vars(optim.SGD))
    before = methods()
    fast = tl.compile(lambda x: (x * 2).sum())
    fast(tl.ones(2))
    assert methods() == before


def test_captures_share_their_hooks_until_a_later_layer_is_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The hooks are built once for every capture; a scheduler module loaded after they were
    built is hooked at the next capture, so its step inside the function replays."""
    monkeypatch.delitem(sys.modules, "tinygrad_lr.optim.lr_scheduler")
    tl.compile(lambda x: (x * 2).sum())(tl.ones(2))
    hooks = compile_module._hook_cache[1]
    tl.compile(lambda x: (x * 3).sum())(tl.ones(2))
    assert compile_module._hook_cache[1] is hooks
    monkeypatch.setitem(sys.modules, "tinygrad_lr.optim.lr_scheduler", lr_scheduler)
    test_scheduler_step_inside_the_function_is_replayed()
    assert compile_module._hook_cache[1] is not hooks


def test_an_optimizer_class_defined_after_a_capture_is_hooked() -> None:
    """An optimizer class defined after the hooks were built has its own step hooked at the next
    capture: given a closure, it is a graph break there as L-BFGS's is."""
    tl.compile(lambda x: (x * 2).sum())(tl.ones(2))

    class ClosureSGD(optim.SGD):
        def step(self, closure: Callable[[], Any] | None = None) -> Any:
            loss = closure() if closure is not None else None
            super().step()
            return loss
    w = tl.zeros(3, dtype=tl.float64, requires_grad=True)
    opt = ClosureSGD([w], lr=0.1)

    def closure() -> tl.Tensor:
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    with pytest.warns(RuntimeWarning, match="closure"):
        tl.compile(lambda: opt.step(closure))()


def test_a_method_patched_after_a_capture_is_the_one_hooked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept hooks wrap the methods as they were; one patched since is hooked anew, so the
    capture calls the patched method (and still breaks the graph at it)."""
    tl.compile(lambda x: (x * 2).sum())(tl.ones(2))
    calls = []
    original_item = tl.Tensor.item

    def counted_item(self: tl.Tensor) -> Any:
        calls.append(self)
        return original_item(self)
    monkeypatch.setattr(tl.Tensor, "item", counted_item)
    with pytest.warns(RuntimeWarning, match="item"):
        tl.compile(lambda x: x.sum().item())(tl.ones(2))
    assert len(calls) == 1
    assert tl.Tensor.item is counted_item


def test_comparisons_argmax_and_integer_casts_replay() -> None:
    """Tensor methods without graph nodes are recorded as calls: an accuracy computed in the
    step follows the data."""
    results = []
    for compiled in (False, True):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.01)

        def step(x: tl.Tensor, onehot: tl.Tensor, t: tl.Tensor) -> tuple:
            opt.zero_grad()
            out = model(x)
            loss = ((out.softmax(1) - onehot) ** 2).mean()
            loss.backward()
            opt.step()
            return loss, (out.argmax(1) == t).float().mean(), (out > 0.1).long().sum()
        run = tl.compile(step) if compiled else step
        rng = np.random.default_rng(3)
        seen = []
        for _ in range(8):
            labels = rng.integers(0, 3, 16)
            x = tl.tensor(rng.standard_normal((16, 5)).astype(np.float32))
            onehot = tl.tensor(np.eye(3, dtype=np.float32)[labels])
            seen.append([r.detach().numpy().copy() for r in run(x, onehot, tl.tensor(labels))])
        seen.append([p.detach().numpy().copy() for p in model.parameters()])
        results.append(seen)
    assert_same(results[0], results[1])
    assert len({float(step[1]) for step in results[1][:-1]}) > 1  # the accuracy changes


def test_class_targets_run_eagerly_rather_than_baked() -> None:
    """cross_entropy turns the targets into an array parameter of its node: never baked."""
    logits = tl.zeros(4, 3, requires_grad=True)
    fast = tl.compile(lambda t: F.cross_entropy(logits * 1.0, t))
    with pytest.warns(RuntimeWarning, match="array as a parameter"):
        first = fast(tl.tensor([0, 1, 2, 0])).item()
    logits.data = tl.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    expected = F.cross_entropy(logits, tl.tensor([2, 2, 2, 2])).item()
    assert fast(tl.tensor([2, 2, 2, 2])).item() == expected != first


def test_a_tensor_computed_outside_the_kernels_is_not_baked() -> None:
    fast = tl.compile(lambda x: (x * tl.argmax(x)).sum())
    with pytest.warns(RuntimeWarning, match="outside the recorded kernels"):
        assert fast(tl.tensor([1.0, 3.0, 2.0])).item() == 6.0
    assert fast(tl.tensor([5.0, 3.0, 2.0])).item() == 0.0


def test_freezing_a_parameter_captures_again() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([0.5], requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        loss = (x @ w + b).sum()
        loss.backward()
        return loss
    fast = tl.compile(step)
    fast(tl.ones(3, 2))
    fast(tl.ones(3, 2))
    w.requires_grad_(False)
    w.grad = None
    fast(tl.ones(3, 2))
    assert w.grad is None and b.grad.tolist() == [9.0]


# ---- random programs: whatever the step computes, the replay computes the same bits --------------
UNARY = {
    "exp": lambda t: (t * 0.1).exp(), "tanh": lambda t: t.tanh(), "sigmoid": lambda t: t.sigmoid(),
    "relu": lambda t: t.relu(), "abs": lambda t: t.abs(), "log1p": lambda t: t.abs().log1p(),
    "sqrt": lambda t: (t * t + 1.0).sqrt(), "square": lambda t: t ** 2, "neg": lambda t: -t,
    "softmax": lambda t: t.softmax(-1), "clamp": lambda t: t.clamp(-0.5, 0.5),
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b.abs() + 1.0), "max": lambda a, b: tl.maximum(a, b),
}
REDUCE = {
    "sum": lambda t: t.sum(), "mean": lambda t: t.mean(), "rows": lambda t: t.sum(0).mean(),
    "logsumexp": lambda t: t.logsumexp(-1).mean(),
}


def random_step(program: list, opt_name: str, dtype: Any) -> tuple[Callable, list, Any]:
    """A step whose forward is ``program`` over an input and two parameters (a (4,) weight and a
    (1,) bias, broadcast over the rows), then backward and an optimizer step."""
    w = tl.tensor(np.linspace(-0.5, 0.5, 4).astype(dtype), requires_grad=True)
    b = tl.tensor(np.array([0.1], dtype), requires_grad=True)
    opt = OPTIMIZERS[opt_name]([w, b])

    def step(x: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        values = [x * w + b, x]
        for kind, name, i, j in program[:-1]:
            a, c = values[i % len(values)], values[j % len(values)]
            values.append(UNARY[name](a) if kind == "u" else BINARY[name](a, c))
        loss = REDUCE[program[-1][1] if program[-1][0] == "r" else "mean"](values[-1])
        loss = loss + (w * w).sum() * 0.01
        loss.backward()
        opt.step()
        return loss
    return step, [w, b], opt


@st.composite
def programs(draw: Any) -> list:
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            ops.append(("u", draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, 9)), 0))
        else:
            ops.append(("b", draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, 9)),
                        draw(st.integers(0, 9))))
    ops.append(("r", draw(st.sampled_from(sorted(REDUCE))), 0, 0))
    return ops


@given(program=programs(), opt_name=st.sampled_from(["sgd-momentum", "adam", "rmsprop"]),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2 ** 16))
def test_random_programs_replay_bit_for_bit(program: list, opt_name: str, dtype: Any,
                                           seed: int) -> None:
    eager, eager_params, _ = random_step(program, opt_name, dtype)
    step, params, _ = random_step(program, opt_name, dtype)
    fast = tl.compile(step)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        x = rng.standard_normal((3, 4)).astype(dtype)
        assert_same(eager(tl.tensor(x)).detach().numpy(), fast(tl.tensor(x)).detach().numpy())
        assert_same([(p.detach().numpy(), None if p.grad is None else p.grad.numpy())
                     for p in eager_params],
                    [(p.detach().numpy(), None if p.grad is None else p.grad.numpy())
                     for p in params])
    assert fast.latest is not None  # it was replayed, not run eagerly


def test_a_grad_read_at_capture_guards_the_replay() -> None:
    """A step that branches on whether .grad exists saw one branch: a replay in the other state
    raises rather than take the wrong one."""
    w = tl.ones(2, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        if w.grad is not None:
            w.grad.zero_()
        loss = (x * w).sum()
        loss.backward()
        return loss
    fast = tl.compile(step)
    fast(tl.ones(2))
    with pytest.raises(RuntimeError, match="was None when the function was captured"):
        fast(tl.ones(2))
    w.grad = None
    fast(tl.ones(2))
    assert w.grad.tolist() == [1.0, 1.0]


def test_reduce_lr_on_plateau_inside_the_function_runs_eagerly() -> None:
    s = Setup(OPTIMIZERS["sgd"])
    sched = lr_scheduler.ReduceLROnPlateau(s.opt, patience=0)

    def step(X: tl.Tensor, y: tl.Tensor, metric: float) -> tl.Tensor:
        loss = s.step(X, y)
        sched.step(metric)
        return loss
    fast = tl.compile(step)
    X, y = data()
    with pytest.warns(RuntimeWarning, match="ReduceLROnPlateau"):
        fast(tl.from_numpy(X), tl.from_numpy(y), 1.0)
    fast(tl.from_numpy(X), tl.from_numpy(y), 1.0)
    assert s.opt.param_groups[0]["lr"] < 0.1  # reduced, as eager


def test_forward_hooks_run_eagerly() -> None:
    model = nn.Linear(2, 1)
    seen = []
    model.register_forward_hook(lambda module, args, output: seen.append(output.shape))
    fast = tl.compile(lambda x: model(x).sum())
    with pytest.warns(RuntimeWarning, match="forward hooks"):
        fast(tl.ones(3, 2))
    fast(tl.ones(3, 2))
    assert len(seen) == 2


def test_a_learning_rate_passed_as_a_tensor_is_an_input_of_the_replay() -> None:
    results = []
    for compiled in (False, True):
        w = tl.tensor([0.5, -0.2, 0.1], dtype=tl.float64, requires_grad=True)

        def step(X: tl.Tensor, y: tl.Tensor, lr: tl.Tensor) -> tl.Tensor:
            w.grad = None
            loss = ((X @ w - y) ** 2).mean()
            loss.backward()
            with tl.no_grad():
                w.sub_(lr * w.grad)
            return loss
        run = tl.compile(step) if compiled else step
        X, y = data()
        out = [run(tl.from_numpy(X), tl.from_numpy(y), tl.tensor(0.1 / (k + 1), dtype=tl.float64))
               .detach().numpy().copy() for k in range(5)]
        results.append(out + [w.detach().numpy().copy()])
        if compiled:
            assert len(run.cache) == 1
    assert_same(results[0], results[1])


def test_reset_and_is_compiling() -> None:
    seen = []
    fast = tl.compile(lambda x: (seen.append(compile_module.is_compiling()), x * 2)[1])
    fast(tl.ones(2))
    fast(tl.ones(2))
    compile_module.reset()
    fast(tl.ones(2))
    assert seen == [True, True] and not compile_module.is_compiling()


def test_unary_ops_on_zero_dimensional_values_replay_as_eager() -> None:
    """0-d floats reach rules as NumPy scalars; a unary node keeps one saved input, not two."""
    def step(w: tl.Tensor, x: tl.Tensor) -> tl.Tensor:
        w.grad = None
        loss = -(w * x).exp()
        loss.backward()
        return loss

    w_eager = tl.tensor(0.5, dtype=tl.float64, requires_grad=True)
    w_compiled = tl.tensor(0.5, dtype=tl.float64, requires_grad=True)
    compiled = tl.compile(step, fullgraph=True)
    for value in (1.0, 2.0, -3.0):
        x = tl.tensor(value, dtype=tl.float64)
        expected, got = step(w_eager, x), compiled(w_compiled, x)
        assert got.item() == expected.item() and w_compiled.grad.item() == w_eager.grad.item()


# ---- the generated replay: inlined kernels, live optimizer state, guards -------------------------
@pytest.mark.parametrize("name, scheduler", [
    (name, scheduler) for name in ("adam", "adamw", "adam-amsgrad-wd", "rmsprop",
                                   "rmsprop-centered-momentum", "sgd-nesterov-wd",
                                   "sgd-dampening-maximize", "adagrad")
    for scheduler in ("cosine", "onecycle") if (name, scheduler) != ("adagrad", "onecycle")])
def test_long_runs_with_schedulers_stay_bit_identical(name: str, scheduler: str) -> None:
    fast = run_pair(OPTIMIZERS[name], steps=19, dtype=np.float32,
                    make_scheduler=SCHEDULERS[scheduler])
    assert "(kernels;" in fast.plan()  # the update ran as its kernel, not as a call of step()


def test_the_plan_shows_the_replayed_statements() -> None:
    s = Setup(OPTIMIZERS["adam"])
    fast = tl.compile(s.step)
    X, y = data()
    fast(tl.from_numpy(X), tl.from_numpy(y))
    plan, source = fast.plan(), fast.latest.source
    assert source.startswith("def replay(flat):")
    for statement in ("exp(", "log1p(", "minimum_reduce(", ".dot(", "adam_kernel(",
                      " = advance(PARAM0, group0, "):
        assert statement in plan and statement in source
    assert "_forward(" not in source  # every op of this step is inlined


def test_ops_without_an_inlined_form_are_called() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
        opt.zero_grad()
        loss = F.mse_loss(model(x).softmax(0), y)
        loss.backward()
        opt.step()
        return loss
    fast = tl.compile(step)
    X, _ = data(m=6, dtype=np.float32)
    y = tl.from_numpy(np.linspace(0, 1, 6, dtype=np.float32).reshape(6, 1))
    fast(tl.from_numpy(X), y)
    source = fast.latest.source
    assert "Softmax_forward(" in source and "MSELoss_rule(" in source  # called as they are
    assert "tanh(" in source and "Tanh_derivative(" in source  # inlined: function, derivative


def replay_and_eager(step_of: Callable[[Setup], Callable], change: Callable[[Setup, int], None],
                     make_opt: Callable[[list], Any], steps: int = 8,
                     zero_inside: bool = True) -> tl.compile:
    """``step_of(setup)`` run eagerly and compiled, with ``change(setup, k)`` applied to both
    before step k; bit for bit after every step."""
    eager, compiled = Setup(make_opt, zero_inside=zero_inside), \
        Setup(make_opt, zero_inside=zero_inside)
    fast = tl.compile(step_of(compiled))
    slow = step_of(eager)
    X, y = data()
    for k in range(steps):
        change(eager, k)
        change(compiled, k)
        assert_same(slow(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy(),
                    fast(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy())
        assert_same(eager.snapshot(), compiled.snapshot())
    return fast


def test_optimizer_state_loaded_between_replays_is_used() -> None:
    """load_state_dict replaces the state the capture saw: the replay runs the optimizer's own
    step on the new state (the guard), never the stale arrays."""
    saved: dict[int, Any] = {}

    def change(s: Setup, k: int) -> None:
        if k == 2:
            saved[id(s)] = s.opt.state_dict()
        if k == 5:
            s.opt.load_state_dict(saved[id(s)])
    replay_and_eager(lambda s: s.step, change, OPTIMIZERS["adam"])
    replay_and_eager(lambda s: s.step, change, OPTIMIZERS["sgd-momentum"])


@pytest.mark.parametrize("key, values", [("momentum", (0.0, 0.9)), ("amsgrad", (False, True)),
                                         ("centered", (False, True)),
                                         ("nesterov", (False, True))])
def test_hyperparameters_that_change_the_update_switch_to_the_optimizer_step(
        key: str, values: tuple) -> None:
    """A hyperparameter set between calls that changes which buffers the update uses (SGD's
    momentum from 0, amsgrad, RMSprop's centered average) or its arithmetic (Nesterov)."""
    make = {"momentum": lambda p: optim.SGD(p, lr=0.1, momentum=values[0]),
            "nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
            "amsgrad": lambda p: optim.Adam(p, lr=0.01),
            "centered": lambda p: optim.RMSprop(p, lr=0.01)}[key]

    def change(s: Setup, k: int) -> None:
        for group in s.opt.param_groups:
            group[key] = values[k >= 3]
    replay_and_eager(lambda s: s.step, change, make)


def test_a_parameter_group_added_after_the_capture_is_updated() -> None:
    extra: dict[int, tl.Tensor] = {}

    def change(s: Setup, k: int) -> None:
        if k == 3:
            extra[id(s)] = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
            extra[id(s)].grad = tl.tensor([0.5, 0.5], dtype=tl.float64)
            s.opt.add_param_group({"params": [extra[id(s)]], "lr": 0.5})

    replay_and_eager(lambda s: s.step, change, OPTIMIZERS["sgd-momentum"], zero_inside=False)
    values = [t.detach().numpy().tolist() for t in extra.values()]
    assert values[0] == values[1] != [1.0, 2.0]


def test_gradients_of_earlier_calls_stay_as_they_were() -> None:
    """Each call's .grad is a new tensor (zero_grad sets it to None): one kept from an earlier
    call does not change when later calls replay."""
    s = Setup(OPTIMIZERS["sgd"])
    fast = tl.compile(s.step)
    kept = []
    for seed in range(4):
        X, y = data(seed=seed)
        fast(tl.from_numpy(X), tl.from_numpy(y))
        kept.append((s.w.grad, s.w.grad.numpy().copy(), s.b.grad, s.b.grad.numpy().copy()))
    for w_grad, w_value, b_grad, b_value in kept:
        assert_same(w_grad.numpy(), w_value)
        assert_same(b_grad.numpy(), b_value)
    assert len({id(k[0]._data) for k in kept}) == 4


def test_a_parameter_of_a_new_shape_captures_again() -> None:
    s, e = Setup(OPTIMIZERS["sgd"]), Setup(OPTIMIZERS["sgd"])
    fast = tl.compile(s.step)
    for k in range(4):
        if k == 2:
            for setup in (s, e):
                setup.w.data = tl.zeros(4, dtype=tl.float64)
        X, y = data(n=3 if k < 2 else 4, seed=k)
        assert_same(e.step(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy(),
                    fast(tl.from_numpy(X), tl.from_numpy(y)).detach().numpy())
        assert_same(e.snapshot(), s.snapshot())


def test_large_parameters_update_on_threads_as_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    """A parameter large enough for threads.run is updated through it (slices on threads), with
    eager's bits."""
    monkeypatch.setattr(compile_module, "MIN_SLICE", 8)
    monkeypatch.setattr(tl.kernels.threads, "MIN_SLICE", 8)
    fast = run_pair(OPTIMIZERS["adam"], steps=6)
    assert "threads_run(adam_kernel" not in fast.latest.source  # the (3,) weight is too small
    n = 40
    results = []
    for compiled in (False, True):
        w = tl.tensor(np.linspace(-1, 1, n), requires_grad=True)
        opt = optim.Adam([w], lr=0.01)

        def step(x: tl.Tensor) -> tl.Tensor:
            opt.zero_grad()
            loss = ((x * w).tanh() ** 2).sum()
            loss.backward()
            opt.step()
            return loss
        run = tl.compile(step) if compiled else step
        out = [run(tl.tensor(np.cos(np.arange(n) + k))).detach().numpy() for k in range(5)]
        results.append(out + [w.detach().numpy().copy()])
        if compiled:
            assert "threads_run(adam_kernel" in run.latest.source
    assert_same(results[0], results[1])


def test_gradients_shared_by_a_rule_are_copied_into_each_grad() -> None:
    """The rule of w + v hands both inputs the same gradient array: as eager, each .grad gets
    its own copy (an in-place change of one leaves the other alone)."""
    w = tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64, requires_grad=True)
    v = tl.tensor([0.5, 0.5, 0.5], dtype=tl.float64, requires_grad=True)

    def step(x: tl.Tensor) -> tl.Tensor:
        w.grad = v.grad = None
        loss = ((w + v) * x).sum()
        loss.backward()
        return loss
    fast = tl.compile(step)
    for k in range(3):
        fast(tl.tensor([1.0, 2.0, 3.0], dtype=tl.float64) * k)
        assert not np.shares_memory(w.grad.numpy(), v.grad.numpy())
        w.grad.add_(1.0)
        assert v.grad.tolist() == [k * 1.0, k * 2.0, k * 3.0]


def test_tensor_arguments_signature_sees_aliases_and_parameters() -> None:
    """The quick signature of tensor-only calls tells an argument passed twice from two
    arguments, and one parameter from another, as the general signature does."""
    fast = tl.compile(lambda a, b: (a * 2 + b).sum())
    x, y = tl.tensor([1.0, 2.0]), tl.tensor([3.0, 4.0])
    assert fast(x, x).item() == 9.0 and fast(x, y).item() == 13.0 and fast(y, y).item() == 21.0
    assert len(fast.cache) == 2
    key_parts: list = []
    compile_module._flatten((x, x), [], key_parts)
    assert compile_module._tensors_key((x, x), []) == tuple(key_parts)
    w, v = tl.ones(2, requires_grad=True), tl.ones(2, requires_grad=True)
    grad_of = tl.compile(lambda p, a: (p * a).sum())
    grad_of(w, x).backward()
    grad_of(v, y).backward()
    assert w.grad.tolist() == [1.0, 2.0] and v.grad.tolist() == [3.0, 4.0]
    assert len(grad_of.cache) == 2


def test_the_signature_guard_of_the_latest_capture_checks_what_the_signature_records() -> None:
    """The latest capture of tensor arguments is tried first, through a guard function: each
    thing the signature records, changed alone, sends the call to another capture."""
    fast = tl.compile(lambda a, b: a * 2 + b)
    x, y = tl.tensor([1.0, 2.0]), tl.tensor([3.0, 4.0])
    changed = [lambda: (x, y), lambda: (x, x), lambda: (tl.tensor([1.0, 2.0, 3.0]), y[:1]),
               lambda: (x.double(), y.double()), lambda: (x.requires_grad_(), y)]
    for i, make in enumerate(changed):
        a, b = make()
        out = fast(a, b)
        assert out.tolist() == (a * 2 + b).tolist() and len(fast.cache) == i + 1
        assert fast.guarded.accepts((a, b))
    with tl.no_grad():
        assert fast(x, y).requires_grad is False
    assert len(fast.cache) == 6
    x.requires_grad_(False)
    fast(x, y)
    assert len(fast.cache) == 6  # the first signature again
    default = tl.get_default_dtype()
    tl.set_default_dtype(tl.float64)
    try:
        fast(x, y)
    finally:
        tl.set_default_dtype(default)
    assert len(fast.cache) == 7


def test_dot_products_and_their_rules_replay_as_eager() -> None:
    """A penalty w . w (the estimators' L2 term) beside X @ w: both products and their rules are
    inlined, with eager's bits."""
    results = []
    for compiled in (False, True):
        w = tl.tensor([0.3, -0.1, 0.2], dtype=tl.float64, requires_grad=True)
        opt = optim.Adam([w], lr=0.05)

        def step(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(X @ w, y) + 0.5 * 0.01 * (w @ w)
            loss.backward()
            opt.step()
            return loss
        run = tl.compile(step) if compiled else step
        seen = [run(*(tl.from_numpy(a) for a in data(seed=k % 3))).detach().numpy()
                for k in range(8)]
        results.append(seen + [w.detach().numpy().copy()])
        if compiled:
            source = run.latest.source
            assert "MatMul_forward(" not in source and "MatMul_rule(" not in source
    assert_same(results[0], results[1])


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "adagrad"])
def test_parameter_groups_with_their_own_hyperparameters(name: str) -> None:
    make = {"sgd": lambda g: optim.SGD(g, lr=0.1, momentum=0.9),
            "adam": lambda g: optim.AdamW(g, lr=0.01),
            "rmsprop": lambda g: optim.RMSprop(g, lr=0.01, centered=True),
            "adagrad": lambda g: optim.Adagrad(g, lr=0.1)}[name]
    second = {"sgd": {"lr": 0.01, "momentum": 0.5, "nesterov": True},
              "adam": {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1},
              "rmsprop": {"lr": 0.02, "momentum": 0.3}, "adagrad": {"lr": 0.3, "lr_decay": 0.1}}
    fast = run_pair(lambda p: make([{"params": [p[0]]}, {"params": [p[1]], **second[name]}]),
                    steps=10, make_scheduler=lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9))
    assert "(kernels;" in fast.plan() and "advance(PARAM1, group1, " in fast.latest.source


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_inlined_logistic_loss_matches_eager_where_exp_overflows(reduction: str,
                                                                    dtype: Any) -> None:
    """Logits far below -88.7 (float32) or -709.8 (float64), where PyTorch's e^-x overflows and
    the sigmoid is exactly 0: the inlined loss and rule take that branch as the kernels do."""
    results = []
    for compiled in (False, True):
        w = tl.tensor(np.array([1.0, -2.0], dtype), requires_grad=True)
        opt = optim.SGD([w], lr=0.001)

        def step(X: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(X @ w, y, reduction=reduction)
            loss.backward()
            opt.step()
            return loss
        run = tl.compile(step) if compiled else step
        seen = []
        # One logit just past the overflow (e^-|x| is a subnormal there, the sigmoid exactly 0
        # in the kernels); the other rows' sigmoids are exactly their labels, so the gradient
        # is that row's alone: 0 as in eager, or a subnormal if the branch were skipped.
        edge = -95.0 if dtype == np.float32 else -720.0
        X = np.array([[edge, 0.0], [800.0, 0.0], [-800.0, 0.0], [800.0, 0.0]], dtype)
        y = np.array([0, 1, 0, 1], dtype)
        for scale in (1.0, 1.0, 0.001, 1.0):
            seen.append(run(tl.from_numpy(X * dtype(scale)), tl.from_numpy(y)).detach().numpy())
            seen.append(w.grad.numpy().copy())
        results.append(seen + [w.detach().numpy().copy()])
        if compiled:
            assert "minimum_reduce(" in run.latest.source
    assert_same(results[0], results[1])


def test_fullgraph_raises_the_public_graph_break_error() -> None:
    fast = tl.compile(lambda x: (x * 2).sum().item(), fullgraph=True)
    with pytest.raises(compile_module.GraphBreak, match="item"):
        fast(tl.ones(3))
    assert "GraphBreak" in compile_module.__all__


def test_linear_layers_are_inlined_and_train_as_eager() -> None:
    results = []
    for compiled in (False, True):
        tl.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1, bias=False))
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

        def step(x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss
        run = tl.compile(step) if compiled else step
        rng = np.random.default_rng(4)
        seen = [run(tl.tensor(rng.standard_normal((16, 5)).astype(np.float32)),
                    tl.tensor(rng.standard_normal((16, 1)).astype(np.float32))).detach().numpy()
                for _ in range(8)]
        results.append(seen + [p.detach().numpy().copy() for p in model.parameters()])
        if compiled:
            source = run.latest.source
            assert "Linear_forward(" not in source and "Linear_rule(" not in source
            assert source.count("matmul(") == 2
    assert_same(results[0], results[1])


class WarmupSGD(optim.SGD):
    """An optimizer of a user's: SGD whose learning rate ramps up over its first steps, said in
    its own ``_advance`` (which the fused update hands to the replay)."""

    def _advance(self, param: tl.Tensor, group: dict, state: dict) -> tuple:
        state["count"] = state.get("count", 0) + 1
        lr, *rest = super()._advance(param, group, state)
        return (lr * min(1.0, state["count"] / 4), *rest)


class ClippedSGD(optim.SGD):
    """An optimizer of a user's that says its update in ``_update`` (no fused kernel)."""

    def _update(self, param: tl.Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        param._data -= group["lr"] * np.clip(grad, -0.01, 0.01)


def test_a_subclass_replays_its_own_scalars() -> None:
    """The replay calls the optimizer's own ``advance``: a subclass's learning-rate ramp is
    followed step by step (a replay computing SGD's scalars itself would miss it)."""
    fast = run_pair(lambda p: WarmupSGD(p, lr=0.1, momentum=0.9), steps=8)
    assert "(kernels;" in fast.plan()


def test_an_update_without_a_fused_kernel_calls_step() -> None:
    """An optimizer whose update is not one fused kernel call per parameter has no fused update
    (a subclass's ``_update``, L-BFGS's ``step``): the replay calls its step, as eager."""
    assert ClippedSGD([tl.zeros(2, requires_grad=True)]).fused_update() is None
    assert optim.LBFGS([tl.zeros(2, requires_grad=True)]).fused_update() is None
    fast = run_pair(lambda p: ClippedSGD(p, lr=0.1), steps=6)
    assert "a call of step()" in fast.plan()


def test_the_compiler_names_no_optimizer() -> None:
    """compiler.py (in the engine, below optim/) reaches the optimizers only through the public
    face of Optimizer: no optimizer class, optimizer module or private member of optim/ is named
    in its code (its docstrings may mention them)."""
    tree = ast.parse(inspect.getsource(compile_module))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    words = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            words.update(re.findall(r"[A-Za-z_][A-Za-z_0-9.]*", node.value))
    optimizers = {name for name in optim.__all__ if name != "lr_scheduler"} - {"Optimizer"}
    private = {name for module in (optim.sgd, optim.adam, optim.rmsprop, optim.adagrad,
                                   optim.optimizer)
               for name, value in [*vars(module).items(),
                                   *(item for cls in vars(module).values()
                                     if isinstance(cls, type)
                                     and cls.__module__ == module.__name__
                                     for item in vars(cls).items())]
               if name.startswith("_") and not name.startswith("__")} \
        - set(vars(collections.namedtuple("Plain", "")))  # a NamedTuple's own: _make, _replace
    modules = {f"tinygrad_lr.optim.{name}" for name in ("sgd", "adam", "rmsprop", "adagrad",
                                                         "lbfgs")}
    assert "_advance" in private and "_scratch_arrays" in private  # the check sees them
    assert not words & (optimizers | private | modules), words & (optimizers | private | modules)


def test_replay_for_binds_the_checked_arguments_once() -> None:
    """``replay_for`` hands a replay of the latest capture on the given tensors, checked once: it
    equals calling the compiled function (and eager) as the arrays' values change; it is None
    before a capture, for arguments the capture does not take, after a graph break and for a
    forward returning a live graph; and it answers None once a tensor the capture reads besides
    its arguments no longer matches."""
    w = tl.from_numpy(np.array([0.5, -1.0, 2.0])).requires_grad_()
    x = tl.from_numpy(np.arange(6.0).reshape(2, 3))
    scale = tl.from_numpy(np.array([1.5, 2.5]))  # read from outside: a tensor the capture loads

    def step(w: tl.Tensor, x: tl.Tensor) -> tl.Tensor:
        w.grad = None
        loss = ((x @ w) * scale).sum()
        loss.backward()
        return loss
    compiled = tl.compile(step)
    assert compiled.replay_for(w, x) is None  # nothing captured yet
    compiled(w, x)
    assert compiled.replay_for(w, tl.from_numpy(np.ones((3, 3)))) is None  # another signature
    replay = compiled.replay_for(w, x)
    rng = np.random.default_rng(0)
    for _ in range(3):
        w._data[...] = rng.standard_normal(3)
        x._data[...] = rng.standard_normal((2, 3))
        loss = replay()
        gradient = w.grad.numpy().copy()
        expected = step(w, x)
        assert loss.item() == expected.item()
        np.testing.assert_array_equal(gradient, w.grad.numpy())
    scale._data = np.ones(3)  # a loaded tensor of another shape: the replay refuses
    assert replay() is None
    with pytest.warns(RuntimeWarning, match="graph break|eagerly"):
        broken = tl.compile(lambda w: (w * w).sum().item())
        broken(w)
    assert broken.replay_for(w) is None
    forward = tl.compile(lambda w, x: (x @ w).sum())
    forward(w, x).backward()
    assert forward.replay_for(w, x) is None  # a live graph, its backward to come


@pytest.mark.parametrize("rows, columns, inline", [(600, 30, True), (20000, 2, False)])
def test_matrix_vector_products_inline_as_the_kernel_computes_them(rows: int, columns: int,
                                                                   inline: bool) -> None:
    """A matrix-vector product replays as ``ndarray.dot`` wherever ``products.matmul`` takes it
    (a matrix of many bytes but few rows included), and as the kernel's call where the kernel
    writes a long matrix's product into pooled memory; either way bit for bit eager's."""
    rng = np.random.default_rng(rows)
    x = tl.from_numpy(rng.standard_normal((rows, columns)))
    w = tl.from_numpy(rng.standard_normal(columns)).requires_grad_()

    def step(w: tl.Tensor) -> tl.Tensor:
        w.grad = None
        loss = (x @ w).sum()
        loss.backward()
        return loss
    compiled = tl.compile(step)
    compiled(w)
    source = compiled.latest.source
    assert (".dot(w" in source or ".dot(arg" in source) is inline
    for _ in range(2):
        w._data[...] = rng.standard_normal(columns)
        loss = compiled(w).item()
        gradient = w.grad.numpy().copy()
        assert loss == step(w).item()
        np.testing.assert_array_equal(gradient, w.grad.numpy())
