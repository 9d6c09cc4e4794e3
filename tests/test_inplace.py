"""Version counters, in-place ops and setitem, held to PyTorch: the same programs run in both
libraries must raise at the same step or give the same gradients (to second order)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_lr as tl
from helpers import (TORCH64_TOL, assert_close, compare_with_torch, needs_torch, torch,
                     torch_tensor)


def leaf(values: Any) -> tl.Tensor:
    return tl.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def run_both(program: Callable[[Any, Any], Any], values: np.ndarray) -> tuple[Any, Any]:
    """Run ``program(lib, x)`` with our library and with PyTorch; return each side's
    (gradient of x, first RuntimeError message or None)."""
    outcomes = []
    for lib, x in ((tl, tl.tensor(values, requires_grad=True)),
                   (torch, torch_tensor(values, requires_grad=True))):
        try:
            program(lib, x).backward()
            outcomes.append((x.grad, None))
        except RuntimeError as error:
            outcomes.append((None, str(error)))
    return outcomes[0], outcomes[1]


def assert_same_outcome(program: Callable[[Any, Any], Any], values: Any) -> None:
    (ours, our_error), (theirs, their_error) = run_both(program, np.asarray(values, np.float64))
    assert (our_error is None) == (their_error is None), \
        f"ours raised {our_error!r}, PyTorch raised {their_error!r}"
    if their_error is not None:
        if "modified by an inplace operation" in their_error:
            assert "modified by an inplace operation" in our_error
        return
    if theirs is None:
        assert ours is None
    else:
        assert_close(ours, theirs, **TORCH64_TOL, what="x.grad")


# ---- the silently wrong gradients of the issue: PyTorch raises, and so do we -----------------
def _changed_saved_input(lib: Any, x: Any) -> Any:
    b = x.detach() * 0 + lib.tensor([4.0, 5.0, 6.0], dtype=x.dtype)
    y = x * b
    b.add_(4)
    return y.sum()


def _no_grad_write_to_leaf(lib: Any, x: Any) -> Any:
    y = (x * x).sum()
    with lib.no_grad():
        x.add_(1)
    return y


def _write_through_view(lib: Any, x: Any) -> Any:
    y = x * 1
    z = y.exp()
    y[1:].mul_(2)
    return z.sum() + y.sum()


def _write_through_detach(lib: Any, x: Any) -> Any:
    y = (x * x).sum()
    x.detach().mul_(2)
    return y


def _changed_output_of_exp(lib: Any, x: Any) -> Any:
    z = x.exp()
    z.add_(1)
    return z.sum()


def _unread_input_changed(lib: Any, x: Any) -> Any:
    y = x * 1
    z = y + 2  # add does not read its inputs: changing y stays allowed
    y.mul_(3)
    return z.sum() + y.sum()


def _chain_over_saved_outputs(lib: Any, x: Any) -> Any:
    y = x * 0.5
    y.exp_().log_().sigmoid_().tanh_().sqrt_()  # each rewrites the output the one before saved
    return (y * x).sum()


def _self_product(lib: Any, x: Any) -> Any:
    y = x * 1
    y.mul_(y)  # the node read y, which the write changes
    return (y * y).sum()


def _write_through_data(lib: Any, x: Any) -> Any:
    y = (x * x).sum()
    x.data.mul_(2)  # the escape hatch: invisible to autograd
    return y


@needs_torch
@pytest.mark.parametrize("program", [_changed_saved_input, _no_grad_write_to_leaf,
                                     _write_through_view, _write_through_detach,
                                     _changed_output_of_exp, _unread_input_changed,
                                     _chain_over_saved_outputs, _self_product,
                                     _write_through_data])
def test_in_place_changes_raise_exactly_where_pytorch_raises(program: Callable) -> None:
    assert_same_outcome(program, [1.0, 2.0, 3.0])


@needs_torch
@pytest.mark.parametrize("changed", ["base", "exponent", "output"])
def test_a_node_reading_three_values_sees_a_change_to_each(changed: str) -> None:
    # x ** y reads both inputs and its output (the engine tests two saved versions inline and
    # leaves the rest to check_versions: the third must be checked too).
    def program(lib: Any, x: Any) -> Any:
        base, exponent = x * 1, x + 1
        y = base ** exponent
        {"base": base, "exponent": exponent, "output": y}[changed].add_(1)
        return y.sum()
    assert_same_outcome(program, [1.0, 2.0, 3.0])


def test_the_error_names_the_op_the_shape_and_both_versions() -> None:
    a = leaf([1.0, 2.0, 3.0])
    b = tl.tensor([4.0, 5.0, 6.0], dtype=tl.float64)
    y = a * b
    b.add_(4)
    with pytest.raises(RuntimeError, match=r"MulBackward0.*version 1; expected version 0|"
                                           r"shape \(3,\).*MulBackward0.*version 1.*version 0"):
        y.sum().backward()


def test_optimizer_step_between_two_backwards_raises() -> None:
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    tl.optim.SGD([w], lr=0.1).step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_zero_grad_in_place_bumps_the_gradient_version() -> None:
    w = leaf([1.0, 2.0])
    (w * 3).sum().backward()
    before = w.grad._version
    tl.optim.SGD([w], lr=0.1).zero_grad(set_to_none=False)
    assert w.grad._version == before + 1
    w.grad.zero_()
    assert w.grad._version == before + 2
    assert not np.any(w.grad.numpy())


def test_views_and_detach_share_the_counter_and_data_does_not() -> None:
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]])
    row, flat, transposed, detached, data = x[0], x.reshape(4), x.T, x.detach(), x.data
    row.add_(1)
    assert x._version == flat._version == transposed._version == detached._version == 1
    assert data._version == 0
    assert x[[0, 1]]._version == 0  # advanced indexing copies: a storage of its own
    np.testing.assert_array_equal(x.numpy(), [[2.0, 3.0], [3.0, 4.0]])


def test_data_is_assignable_and_keeps_the_graph_place() -> None:
    w = leaf([1.0, 2.0])
    w.data = tl.tensor([5.0, 7.0], dtype=tl.float64)
    assert w.is_leaf and w.requires_grad
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [10.0, 14.0])


# ---- in-place ops on non-leaf tensors rebase their history ------------------------------------
def _programs() -> dict[str, Callable[[Any, Any], Any]]:
    def iadd(lib, x):
        y = x * x
        y += 1
        return (y * x).sum()

    def mul_(lib, x):
        y = x * 1
        y.mul_(x)
        return (y * y).sum()

    def idiv(lib, x):
        logits = x * 2
        logits /= 3.0
        return (logits - logits.logsumexp(0)).exp().pow(2).sum()

    def unary_each(lib, x):
        total = 0
        for name in ("exp_", "log_", "log1p_", "sigmoid_", "tanh_", "sqrt_", "abs_", "neg_",
                     "relu_"):
            y = x * 0.7
            getattr(y, name)()
            total = total + (y * x).sum()
        y, z = x * 1.5, x * 1.0
        y.clamp_(-1.0, 2.0)
        z.pow_(3)
        return total + (y * x).sum() + (z * x).sum()

    def unary_chain_without_saved_outputs(lib, x):
        y = x * 0.5
        y.log_().neg_().abs_().add_(1).clamp_(0.0, 5.0)
        return (y * x).sum()

    def sub_alpha(lib, x):
        y = x * x
        y.sub_(x, alpha=2).add_(x * x, alpha=0.5)
        return (y * x).sum()

    def into_constant(lib, x):
        buf = lib.zeros(3, dtype=x.dtype)
        buf += x * x
        buf.mul_(x)
        return buf.sum()

    def setitem_int_slice(lib, x):
        y = x * 1
        y[0] = x[1] * x[2]
        y[1:] = x[:2] ** 2
        return (y * y).sum()

    def setitem_mask_number(lib, x):
        y = x * x
        y[x > 1.5] = 0.25
        return (y * x).sum()

    def setitem_int_array(lib, x):
        y = x * x
        y[lib.tensor([2, 0])] = x[:2] * 3
        return (y * x).sum()

    def setitem_mask_tensor(lib, x):
        y = x * 1
        mask = lib.tensor([True, False, True])
        y[mask] = (x[1] * x[1]).expand(2)
        return (y * x).sum()

    def slice_augmented(lib, x):
        y = x * 1
        y[1:] += x[:2] * x[:2]
        y[0] *= x[2]
        return (y * x).sum()

    def fill_zero_copy(lib, x):
        y, z, w = x * 1, x * 2, x * 3
        y.fill_(2.5)
        z.zero_()
        w.copy_(x.exp())
        return (y * x).sum() + (z * x).sum() + (w * x).sum()

    def view_write_back(lib, x):
        y = x.reshape(3, 1) * 1
        v = y[1:]
        v.mul_(3).add_(x[1:].reshape(2, 1))
        return (y * y).sum()

    def transpose_and_flat_views(lib, x):
        y = x.reshape(3, 1) * x.reshape(1, 3)
        y.T.mul_(x.reshape(3, 1))      # through a permute view
        y.reshape(9)[2:5].add_(x * x)  # through an index of a reshape view
        return (y * y).sum()

    return {name: f for name, f in locals().items()}


PROGRAMS = _programs()


@needs_torch
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_non_leaf_in_place_and_setitem_match_pytorch_to_second_order(name: str) -> None:
    program = PROGRAMS[name]
    values = np.array([0.7, 1.3, 2.1])
    x, tx = leaf(values), torch_tensor(values, requires_grad=True)
    (g,) = tl.autograd.grad(program(tl, x), x, create_graph=True)
    (tg,) = torch.autograd.grad(program(torch, tx), tx, create_graph=True)
    assert_close(g, tg, **TORCH64_TOL, what="gradient")
    assert g.requires_grad == tg.requires_grad, "the first gradient lost (or gained) its graph"
    if tg.requires_grad:
        v = np.array([0.3, -1.1, 0.8])
        (h,) = tl.autograd.grad((g * tl.tensor(v)).sum(), x, allow_unused=True)
        (th,) = torch.autograd.grad((tg * torch_tensor(v)).sum(), tx, allow_unused=True)
        if th is None:
            assert h is None or not np.any(h.numpy())
        else:
            assert_close(h, th, **TORCH64_TOL, what="second derivative")


def test_in_place_on_a_leaf_that_requires_grad_raises_and_is_allowed_under_no_grad() -> None:
    w = leaf([1.0, 2.0])
    for write in (lambda: w.add_(1), lambda: w.exp_(), lambda: w.__setitem__(0, 3.0),
                  lambda: w.zero_(), lambda: w[0].mul_(2)):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            write()
    with tl.no_grad():
        w.add_(1)
        w[0] = 5.0
    np.testing.assert_array_equal(w.detach().numpy(), [5.0, 3.0])
    assert w._version == 2


def test_a_write_into_an_expanded_view_is_refused() -> None:
    x = tl.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="read-only|single memory location"):
        x.expand(3, 2).add_(1)


@pytest.mark.parametrize("write, message", [
    (lambda t: t.add_(tl.ones(2, 3)), r"output with shape \(3,\) doesn't match the broadcast "
                                       r"shape \(2, 3\)"),
    (lambda t: t.long().add_(0.5), "result type float32 can't be cast to the desired output "
                                   "type int64"),
    (lambda t: t.__setitem__(slice(0, 2), tl.ones(3)), r"shape \(3,\) cannot be broadcast"),
    (lambda t: t.copy_(tl.ones(2)), r"source of shape \(2,\) cannot be broadcast to shape"),
])
def test_bad_in_place_writes_name_the_problem(write: Callable, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        write(tl.ones(3))


# ---- PyTorch's error classes where it raises ----------------------------------------------------
@needs_torch
@pytest.mark.parametrize("case", [
    lambda lib: lib.ones(2, 2) @ lib.ones(2, 2, dtype=lib.float64),
    lambda lib: lib.tensor([1, 2]).mean(),
    lambda lib: 1 - lib.tensor([True, False]),
    lambda lib: lib.tensor([True]) - lib.tensor([True]),
    lambda lib: -lib.tensor([True]),
])
def test_errors_pytorch_raises_are_runtime_errors_here_too(case: Callable) -> None:
    with pytest.raises(RuntimeError):
        case(torch)
    with pytest.raises(RuntimeError):
        case(tl)


# ---- random programs with random in-place mutations ---------------------------------------------
_OUT_OF_PLACE = {
    "mul": lambda lib, a, b: a * b, "add": lambda lib, a, b: a + b,
    "div": lambda lib, a, b: a / (b * b + 1), "exp": lambda lib, a, b: (a * 0.3).exp(),
    "sigmoid": lambda lib, a, b: a.sigmoid(), "tanh": lambda lib, a, b: a.tanh(),
    "relu": lambda lib, a, b: a.relu(), "pow": lambda lib, a, b: a.pow(2),
    "sum": lambda lib, a, b: a.sum() * b, "logsumexp": lambda lib, a, b: a.logsumexp(0) * b,
}


def _mutate(lib: Any, kind: str, t: Any, other: Any, x: Any) -> None:
    if kind == "add_":
        t.add_(0.5)
    elif kind == "mul_":
        t.mul_(other)
    elif kind == "sigmoid_":
        t.sigmoid_()
    elif kind == "setitem_number":
        t[1:] = 0.25
    elif kind == "setitem_tensor":
        t[:2] = other[1:] * 2
    elif kind == "view":
        t[1:].mul_(1.5)
    elif kind == "detach":
        t.detach().mul_(2)
    elif kind == "data":
        t.data.mul_(2)
    elif kind == "no_grad_leaf":
        with lib.no_grad():
            x.add_(0.125)


_MUTATIONS = ["add_", "mul_", "sigmoid_", "setitem_number", "setitem_tensor", "view", "detach",
              "data", "no_grad_leaf"]
_steps = st.lists(st.one_of(
    st.tuples(st.just("op"), st.sampled_from(sorted(_OUT_OF_PLACE)), st.integers(0, 99),
              st.integers(0, 99)),
    st.tuples(st.just("mutate"), st.sampled_from(_MUTATIONS), st.integers(0, 99),
              st.integers(0, 99))), min_size=1, max_size=8)


def _interpret(steps: list, lib: Any, x: Any) -> Any:
    tensors = [x]
    for kind, name, i, j in steps:
        a, b = tensors[i % len(tensors)], tensors[j % len(tensors)]
        if kind == "op":
            tensors.append(_OUT_OF_PLACE[name](lib, a, b))
        else:
            _mutate(lib, name, a, b, x)
    weights = [0.5 + 0.25 * k for k in range(len(tensors))]
    return sum((t * w).sum() for t, w in zip(tensors, weights))


def _outcome(steps: list, lib: Any, x: Any) -> tuple[str | None, Any]:
    try:
        loss = _interpret(steps, lib, x)
    except RuntimeError as error:
        return "program", str(error)
    try:
        loss.backward()
    except RuntimeError as error:
        return "backward", str(error)
    return None, x.grad


@needs_torch
@given(steps=_steps, values=st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_random_programs_with_in_place_mutations_match_pytorch(steps: list,
                                                                values: list) -> None:
    values = np.asarray(values, dtype=np.float64)
    ours = _outcome(steps, tl, tl.tensor(values, requires_grad=True))
    theirs = _outcome(steps, torch, torch_tensor(values, requires_grad=True))
    assert ours[0] == theirs[0], f"ours: {ours}, PyTorch: {theirs}"
    if theirs[0] is None:
        if theirs[1] is None:
            assert ours[1] is None
        else:
            assert_close(ours[1], theirs[1], **TORCH64_TOL, what="x.grad")


@needs_torch
@pytest.mark.parametrize("f", [
    lambda x: x * x.data.exp() + x ** 3,                    # .data is a constant of the graph
    lambda x: x.data.max(0)[1].to(x.dtype) * x + x.sigmoid(),  # the accuracy idiom's indices
    lambda x: (x * 2).data * x * x,
])
def test_data_matches_pytorch_to_second_order(f: Callable) -> None:
    compare_with_torch(f, f, [np.array([[0.3, -1.2], [2.0, 0.5]])], TORCH64_TOL, TORCH64_TOL,
                       second_order=True)
