"""Shapes and dtypes at the edges of the ops: the errors bad shapes and dims raise (naming the op
and the shapes), which tensors may require grad, and PyTorch's type promotion."""
from __future__ import annotations

import itertools
import operator
import re
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import tinygrad_lr as tl
from helpers import needs_torch, torch, torch_tensor


# ---- shape errors --------------------------------------------------------------------------------
BROADCASTING_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "maximum": tl.maximum, "minimum": tl.minimum,
}


def shapes_message(name: str, *shapes: tuple[int, ...]) -> str:
    """A regex matching an error that names ``name`` and then every shape, in order."""
    return re.escape(f"{name}:") + "".join(".*" + re.escape(str(s)) for s in shapes)


@st.composite
def incompatible_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that do not broadcast: some aligned dimension differs and neither side is 1."""
    a = list(draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)))
    b = list(draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)))
    k = draw(st.integers(1, min(len(a), len(b))))
    a[-k] = draw(st.integers(2, 4))
    b[-k] = draw(st.integers(2, 4).filter(lambda n: n != a[-k]))
    return tuple(a), tuple(b)


@pytest.mark.parametrize("name", BROADCASTING_OPS)
@given(shapes=incompatible_shapes())
def test_broadcasting_error_names_the_op_and_both_shapes(name: str, shapes: tuple) -> None:
    a, b = shapes
    with pytest.raises(RuntimeError, match=shapes_message(name, a, b)):
        BROADCASTING_OPS[name](tl.ones(a, requires_grad=True), tl.ones(b))


def test_where_error_names_every_shape() -> None:
    with pytest.raises(RuntimeError, match=shapes_message("where", (2,), (3,), ())):
        tl.where(tl.zeros(2) > 0, tl.zeros(3), 1.0)


@pytest.mark.parametrize("a, b, problem", [
    ((2, 3), (4, 5), "inner dimensions 3 and 4"),
    ((3,), (4,), "inner dimensions 3 and 4"),
    ((2, 3), (4,), "inner dimensions 3 and 4"),
    ((4,), (2, 3), "inner dimensions 4 and 2"),
    ((5, 2, 3), (4, 3, 2), "batch dimensions (5,) and (4,)"),
])
def test_matmul_error_names_both_shapes_and_the_problem(a: tuple, b: tuple, problem: str) -> None:
    with pytest.raises(RuntimeError, match=shapes_message("matmul", a, b) + ".*" +
                       re.escape(problem)):
        tl.ones(a, requires_grad=True) @ tl.ones(b)


def test_matmul_of_a_0d_tensor_and_mm_of_non_matrices_are_errors() -> None:
    with pytest.raises(RuntimeError, match=shapes_message("matmul", (), (3,))):
        tl.matmul(tl.tensor(2.0), tl.ones(3))
    with pytest.raises(RuntimeError, match=shapes_message("mm", (3,), (3, 2))):
        tl.mm(tl.ones(3), tl.ones(3, 2))


SHAPE = (2, 3, 4)
# case: (a call on a tensor of SHAPE, the error it raises, a regex its message must match)
BAD_SHAPE_CALLS: dict[str, tuple[Callable, type, str]] = {
    "reshape": (lambda x: x.reshape(4, 2), RuntimeError,
                shapes_message("reshape", (4, 2), SHAPE)),
    "view": (lambda x: x.view(-1, 5), RuntimeError, shapes_message("reshape", (-1, 5), SHAPE)),
    "expand_mismatch": (lambda x: x.expand(3, 3, 4), RuntimeError,
                        shapes_message("expand", SHAPE, (3, 3, 4))),
    "expand_leading_minus_one": (lambda x: x.expand(-1, 2, 3, 4), RuntimeError,
                                 r"expand: .*-1.*leading"),
    "expand_fewer_sizes": (lambda x: x.expand(3, 4), RuntimeError,
                           shapes_message("expand", (3, 4), SHAPE)),
    "broadcast_to": (lambda x: tl.broadcast_to(x, (2, 1, 4)), RuntimeError,
                     shapes_message("expand", SHAPE, (2, 1, 4))),
    "flatten_reversed": (lambda x: x.flatten(2, 1), RuntimeError,
                         r"flatten: start_dim 2 .* end_dim 1"),
    "flatten_out_of_range": (lambda x: x.flatten(0, 3), IndexError,
                             r"flatten: dimension 3 is out of range"),
    "permute_out_of_range": (lambda x: x.permute(0, 1, 3), IndexError,
                             r"permute: dimension 3 is out of range"),
    "permute_repeated": (lambda x: x.permute(0, 1, 1), RuntimeError,
                         r"permute: \(0, 1, 1\) is not a permutation"),
    "permute_too_few": (lambda x: x.permute(0, 1), RuntimeError,
                        r"permute: \(0, 1\) is not a permutation"),
    "transpose_out_of_range": (lambda x: x.transpose(0, 3), IndexError,
                               r"transpose: dimension 3 is out of range"),
    "squeeze_out_of_range": (lambda x: x.squeeze(-4), IndexError,
                             r"squeeze: dimension -4 is out of range"),
    "unsqueeze_out_of_range": (lambda x: x.unsqueeze(4), IndexError,
                               r"unsqueeze: dimension 4 is out of range"),
    "t_of_3d": (lambda x: x.t(), RuntimeError, shapes_message("t", SHAPE)),
    "sum_out_of_range": (lambda x: x.sum(3), IndexError,
                         r"sum: dimension 3 is out of range .*\(2, 3, 4\)"),
    "mean_repeated_dim": (lambda x: x.mean((0, -3)), RuntimeError,
                          r"mean: .*repeats a dimension"),
    "logsumexp_out_of_range": (lambda x: x.logsumexp(-4), IndexError,
                               r"logsumexp: dimension -4 is out of range"),
    "max_out_of_range": (lambda x: x.max(5), IndexError, r"max: dimension 5 is out of range"),
    "prod_tuple": (lambda x: x.prod((0, 1)), TypeError, r"prod: dim must be a single int"),
    "index_out_of_range": (lambda x: x[2], IndexError, shapes_message("index", SHAPE)),
    "index_too_many": (lambda x: x[0, 0, 0, 0], IndexError, shapes_message("index", SHAPE)),
    "cat_mismatch": (lambda x: tl.cat([x, tl.ones(2, 4, 4)]), RuntimeError,
                     shapes_message("cat", (2, 4, 4), SHAPE)),
    "cat_empty": (lambda x: tl.cat([]), RuntimeError, r"cat: expected a non-empty"),
    "stack_mismatch": (lambda x: tl.stack([x, tl.ones(2, 3)]), RuntimeError,
                       shapes_message("stack", (2, 3), SHAPE)),
}


@pytest.mark.parametrize("case", BAD_SHAPE_CALLS)
def test_bad_shapes_and_dims_raise_clear_errors(case: str) -> None:
    call, error, message = BAD_SHAPE_CALLS[case]
    with pytest.raises(error, match=message):
        call(tl.ones(SHAPE, requires_grad=True))


# ---- which tensors may require grad --------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: tl.tensor([1, 2, 3], requires_grad=True),
    lambda: tl.tensor(np.arange(3, dtype=np.int32), requires_grad=True),
    lambda: tl.tensor([True, False], requires_grad=True),
    lambda: tl.tensor([1, 2]).requires_grad_(),
    lambda: setattr(tl.tensor([1, 2]), "requires_grad", True),
    lambda: tl.zeros(3, dtype=tl.int64, requires_grad=True),
    lambda: tl.arange(3).requires_grad_(True),
])
def test_integer_and_bool_tensors_cannot_require_grad(make: Callable) -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        make()


def test_integer_operands_never_receive_gradients() -> None:
    x = tl.tensor([1.5, 2.5], requires_grad=True)
    k = tl.tensor([2, 3])
    (x * k + k / 2).sum().backward()
    assert x.grad.tolist() == [2.0, 3.0]
    assert k.grad is None and not k.requires_grad


# ---- PyTorch's type promotion ------------------------------------------------------------------
def operands() -> list[tuple[str, Any, Any]]:
    """(label, ours, theirs): every dtype as a dimensioned and as a 0-d tensor, Python numbers."""
    out = []
    for dtype in (np.bool_, np.int32, np.int64, np.float32, np.float64):
        for shape in ((2,), ()):
            array = np.full(shape, 2, dtype=dtype)
            out.append((f"{np.dtype(dtype).name}{list(shape)}", tl.tensor(array),
                        torch_tensor(array) if torch is not None else None))
    out += [(repr(v), v, v) for v in (True, 3, 2.5)]
    return out


PROMOTING_OPS: dict[str, tuple[Callable, Callable]] = {
    "add": (operator.add, operator.add), "sub": (operator.sub, operator.sub),
    "mul": (operator.mul, operator.mul), "div": (operator.truediv, operator.truediv),
    "pow": (operator.pow, operator.pow), "maximum": (tl.maximum, lambda a, b: torch.maximum(a, b)),
    "where": (lambda a, b: tl.where(np.array([True, False]), a, b),
              lambda a, b: torch.where(torch.tensor([True, False]), a, b)),
}


@needs_torch
@pytest.mark.parametrize("name", PROMOTING_OPS)
def test_result_dtype_matches_torch_for_every_operand_pair(name: str) -> None:
    ours_op, torch_op = PROMOTING_OPS[name]
    mismatches = []
    for (la, a, ta), (lb, b, tb) in itertools.product(operands(), repeat=2):
        if not isinstance(a, tl.Tensor) and not isinstance(b, tl.Tensor):
            continue
        try:
            expected = str(torch_op(ta, tb).dtype).removeprefix("torch.")
        except (RuntimeError, TypeError):
            continue  # PyTorch refuses the pair (bool subtraction, maximum with a Python number)
        got = ours_op(a, b).dtype.name
        if got != expected:
            mismatches.append(f"{la} {name} {lb}: {got}, PyTorch {expected}")
    assert not mismatches, "\n".join(mismatches)


def test_float32_with_python_numbers_stays_float32_with_float32_gradients() -> None:
    x = tl.tensor([0.5, 1.5], requires_grad=True)
    out = (x * 2.5 + 1.0 - 0.25 / x) ** 2.0 + 3.0 ** x
    assert x.dtype == out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_float32_with_float64_gives_float64_and_each_gradient_keeps_its_dtype() -> None:
    x = tl.tensor([0.5, 1.5], requires_grad=True)
    y = tl.tensor(np.array([2.0, 3.0]), requires_grad=True)
    out = x * y
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64
    assert x.grad.tolist() == [2.0, 3.0] and y.grad.tolist() == [0.5, 1.5]


def test_integer_tensors_promote_to_the_default_float() -> None:
    k = tl.tensor([1, 2, 3])
    assert k.dtype == np.int64
    assert (k * 2.5).dtype == np.float32
    assert (k / tl.tensor([2, 2, 2])).dtype == np.float32
    assert (k / tl.tensor([2, 2, 2])).tolist() == [0.5, 1.0, 1.5]
    assert (k + 1).dtype == np.int64 and (k * k).dtype == np.int64
    assert tl.exp(k).dtype == np.float32 and tl.tensor([True]).sum().dtype == np.int64


@pytest.mark.parametrize("compare", [operator.eq, operator.ne, operator.lt, operator.le,
                                     operator.gt, operator.ge, tl.eq, tl.gt])
def test_comparisons_give_bool_tensors_outside_the_graph(compare: Callable) -> None:
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (tl.tensor([3.0, 2.0, 1.0], requires_grad=True), 2.0, 2):
        out = compare(x, other)
        assert isinstance(out, tl.Tensor) and out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        other_values = other.detach().numpy() if isinstance(other, tl.Tensor) else other
        assert out.tolist() == compare(np.array([1.0, 2.0, 3.0]), other_values).tolist()
