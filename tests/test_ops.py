"""Every differentiable op, checked the same five ways on hypothesis-drawn shapes and values:
forward against NumPy, gradient against float64 finite differences, forward/gradient/second
derivative against PyTorch in float64, forward/gradient against PyTorch in float32, and the
properties every gradient must have (shape, dtype, zero and linear in the upstream gradient, inputs
never mutated).

Each op is an :class:`OpSpec`: a strategy drawing a :class:`Case` (float64 input arrays plus our
function, PyTorch's and a NumPy reference). Inputs are drawn away from kinks and domain edges so
finite differences are meaningful: positive values for log/sqrt, grids of values that never tie and
never come near 0 or a clamp bound for abs/relu/clamp/max/min, well spread values for std.
Conventions at kinks and ties, and what the generic checks cannot express, are tested at the end.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

import tinygrad_lr as tl
from helpers import (F32_ELEMENTWISE_TOL, F32_REDUCTION_TOL, FD_TOL, TORCH64_TOL, assert_close,
                     compare_with_torch, finite_difference_grad, needs_torch, torch, torch_tensor)


# ---- cases and value domains ------------------------------------------------------------------
class Case(NamedTuple):
    """One drawn instance of an op: float64 inputs, three implementations of one function, and the
    op's drawn parameters (shown when hypothesis reports a failing case)."""
    arrays: tuple[np.ndarray, ...]
    ours: Callable[..., tl.Tensor]
    theirs: Callable[..., Any]
    reference: Callable[..., np.ndarray]
    params: str = ""

    def __repr__(self) -> str:
        return f"Case({self.params}, arrays={list(self.arrays)!r})"


class OpSpec(NamedTuple):
    """An op under test: its name, a strategy of cases, its float32 tolerance against PyTorch."""
    name: str
    cases: st.SearchStrategy[Case]
    f32_tol: dict = F32_ELEMENTWISE_TOL
    finite_differences: bool = True


Domain = Callable[[tuple[int, ...]], st.SearchStrategy[np.ndarray]]


def uniform(low: float, high: float) -> Domain:
    """Arrays of any float64 values in [low, high]."""
    return lambda shape: arrays(np.float64, shape, elements=st.floats(low, high))


def signed(low: float, high: float) -> Domain:
    """Arrays of float64 values with magnitude in [low, high] and either sign (never near 0)."""
    elements = st.one_of(st.floats(low, high), st.floats(-high, -low))
    return lambda shape: arrays(np.float64, shape, elements=elements)


def grid(offset: float, low: int = -200, high: int = 199) -> Domain:
    """Arrays of values (k + offset) / 100 for integers k in [low, high]. Grids with different
    offsets never meet, and none comes within 0.002 of 0 or of a multiple of 0.01 (the clamp bounds
    used here): far more than a finite-difference step, so no kink is ever crossed."""
    return lambda shape: arrays(np.int64, shape, elements=st.integers(low, high)).map(
        lambda k: np.asarray((k + offset) / 100))


def positions(shape: tuple[int, ...]) -> np.ndarray:
    """0, 1, 2, ... laid out in ``shape``."""
    return np.arange(math.prod(shape), dtype=np.float64).reshape(shape)


def no_ties(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Grid values made pairwise distinct by a shift of 5e-5 per position (at most 3.2e-3 for the
    64 elements drawn here): no ties for max/min, and still at least 0.0018 away from 0."""
    return grid(0.5)(shape).map(lambda v: np.asarray(v + positions(shape) * 5e-5))


def spread(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    """Values in [-2, 2] plus 4.5 per position, so any two differ by at least 0.5: std stays well
    conditioned (a tiny spread makes its derivatives ill-conditioned, in float32 and under finite
    differences)."""
    return REAL(shape).map(lambda v: np.asarray(v + positions(shape) * 4.5))


REAL = uniform(-2, 2)
POSITIVE = uniform(0.5, 3)
NONZERO = signed(0.5, 2)
# PyTorch takes d(x**y)/dx as a constant 0 where y == 0 exactly, which drops the mixed second
# derivative there (ours keeps the true value), so tensor exponents stay away from 0.
EXPONENT = signed(0.25, 2)
SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
NONEMPTY_SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
POSITIVE_DIM_SHAPES = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def broadcast_shapes(count: int) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``count`` shapes that broadcast together (0-d and size-1 dimensions included)."""
    return mutually_broadcastable_shapes(num_shapes=count, min_dims=0, max_dims=3,
                                         max_side=3).map(lambda s: s.input_shapes)


def unary(name: str, ours: Callable, theirs: Callable, reference: Callable,
          domain: Domain = REAL, shapes: st.SearchStrategy = SHAPES,
          f32_tol: dict = F32_ELEMENTWISE_TOL, finite_differences: bool = True) -> OpSpec:
    """An op of one tensor (elementwise unless ``shapes``/``f32_tol`` say otherwise)."""
    @st.composite
    def cases(draw: Any) -> Case:
        return Case((draw(domain(draw(shapes))),), ours, theirs, reference)
    return OpSpec(name, cases(), f32_tol, finite_differences)


def binary(name: str, ours: Callable, theirs: Callable, reference: Callable,
           domains: tuple[Domain, Domain] = (REAL, REAL)) -> OpSpec:
    """An elementwise op of two tensors whose shapes broadcast."""
    @st.composite
    def cases(draw: Any) -> Case:
        shapes = draw(broadcast_shapes(2))
        return Case(tuple(draw(d(s)) for d, s in zip(domains, shapes)), ours, theirs, reference)
    return OpSpec(name, cases())


def scalar_arithmetic(x: Any) -> Any:
    """Every operator with a Python number on either side (any library's tensors, or arrays)."""
    return 1.5 - x * 2.5 + 0.5 / (x * x + 1) - x / 4


def sigmoid_np(x: np.ndarray) -> np.ndarray:
    """Textbook logistic function (fine on the bounded test domain)."""
    return 1 / (1 + np.exp(-x))


# ---- arithmetic ----------------------------------------------------------------------------------
@st.composite
def scalar_exponent_cases(draw: Any) -> Case:
    """x ** c: fractional exponents on positive bases, integer exponents on either sign."""
    c = draw(st.sampled_from([2, 3, -1, -2, 0, 1, 0.5, -1.5, 2.5]))
    domain = NONZERO if isinstance(c, int) else POSITIVE
    return Case((draw(domain(draw(SHAPES))),), lambda x: x ** c, lambda x: x ** c,
                lambda x: np.power(x, c), f"x ** {c!r}")


@st.composite
def scalar_base_cases(draw: Any) -> Case:
    """c ** x for a Python number c > 0."""
    c = draw(st.sampled_from([2.0, 0.5, 3.7, 2]))
    return Case((draw(REAL(draw(SHAPES))),), lambda x: c ** x, lambda x: c ** x,
                lambda x: np.power(float(c), x), f"{c!r} ** x")


ARITHMETIC = [
    binary("add", lambda x, y: x + y, lambda x, y: x + y, np.add),
    binary("add_alpha", lambda x, y: tl.add(x, y, alpha=2.5),
           lambda x, y: torch.add(x, y, alpha=2.5), lambda x, y: x + 2.5 * y),
    binary("sub", lambda x, y: x - y, lambda x, y: x - y, np.subtract),
    binary("mul", lambda x, y: x * y, lambda x, y: x * y, np.multiply),
    binary("div", lambda x, y: x / y, lambda x, y: x / y, np.divide, (REAL, NONZERO)),
    unary("neg", lambda x: -x, lambda x: -x, np.negative),
    unary("scalar_operands", scalar_arithmetic, scalar_arithmetic, scalar_arithmetic),
    binary("pow_tensor_exponent", lambda x, y: x ** y, lambda x, y: x ** y, np.power,
           (POSITIVE, EXPONENT)),
    binary("pow_function", tl.pow, lambda x, y: torch.pow(x, y), np.power, (POSITIVE, EXPONENT)),
    OpSpec("pow_scalar_exponent", scalar_exponent_cases()),
    OpSpec("pow_scalar_base", scalar_base_cases()),
]


# ---- matrix products -----------------------------------------------------------------------------
@st.composite
def matmul_shapes(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Operand shapes for every matmul form: 1-D, 2-D and batched with broadcast batch dims."""
    side = st.integers(1, 3)
    m, k, n = draw(side), draw(side), draw(side)
    left_batch, right_batch = draw(mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=2, max_side=3)).input_shapes
    form = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched", "batched_v", "v_batched"]))
    return {"vv": ((k,), (k,)), "vm": ((k,), (k, n)), "mv": ((m, k), (k,)),
            "mm": ((m, k), (k, n)), "batched": (left_batch + (m, k), right_batch + (k, n)),
            "batched_v": (left_batch + (m, k), (k,)),
            "v_batched": ((k,), right_batch + (k, n))}[form]


@st.composite
def matmul_cases(draw: Any, ours: Callable) -> Case:
    """A matrix product of two drawn operands."""
    a_shape, b_shape = draw(matmul_shapes())
    return Case((draw(REAL(a_shape)), draw(REAL(b_shape))), ours, lambda a, b: a @ b, np.matmul)


@st.composite
def mm_cases(draw: Any) -> Case:
    """``mm`` of two matrices, as the function or the method."""
    side = st.integers(1, 4)
    m, k, n = draw(side), draw(side), draw(side)
    as_method = draw(st.booleans())
    return Case((draw(REAL((m, k))), draw(REAL((k, n)))),
                (lambda a, b: a.mm(b)) if as_method else tl.mm, lambda a, b: torch.mm(a, b),
                np.matmul, "a.mm(b)" if as_method else "tl.mm(a, b)")


@st.composite
def linear_cases(draw: Any) -> Case:
    """``F.linear(x, w[, b])``, one fused node: x of 1 to 3 dimensions, w (out, in), b (out,)."""
    side = st.integers(1, 3)
    inputs, outputs = draw(side), draw(side)
    lead = draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    arrays_ = [draw(REAL(lead + (inputs,))), draw(REAL((outputs, inputs)))]
    if draw(st.booleans()):
        arrays_.append(draw(REAL((outputs,))))
    return Case(tuple(arrays_), tl.nn.functional.linear,
                lambda *a: torch.nn.functional.linear(*a),
                lambda x, w, b=0.0: x @ w.T + b, f"bias={len(arrays_) == 3}")


MATMUL = [
    OpSpec("matmul_operator", matmul_cases(lambda a, b: a @ b), F32_REDUCTION_TOL),
    OpSpec("matmul_function", matmul_cases(tl.matmul), F32_REDUCTION_TOL),
    OpSpec("mm", mm_cases(), F32_REDUCTION_TOL),
    OpSpec("linear", linear_cases(), F32_REDUCTION_TOL),
]


# ---- elementwise functions -----------------------------------------------------------------------
@st.composite
def clamp_cases(draw: Any) -> Case:
    """clamp/clip with Python-number bounds (one of them may be missing)."""
    low, high = draw(st.sampled_from([(-0.5, 0.75), (-0.5, None), (None, 0.75), (0.25, 0.25),
                                      (0.75, -0.5)]))
    name = draw(st.sampled_from(["clamp", "clip"]))
    return Case((draw(grid(0.5)(draw(SHAPES))),), lambda x: getattr(x, name)(low, high),
                lambda x: torch.clamp(x, low, high), lambda x: np.clip(x, low, high),
                f"x.{name}({low}, {high})")


def torch_clamp_broadcast(x: Any, low: Any, high: Any) -> Any:
    """torch.clamp with tensor bounds; x is expanded first because PyTorch's clamp backward fails
    when the bounds broadcast x to a larger shape."""
    return torch.clamp(x.expand(torch.broadcast_shapes(x.shape, low.shape, high.shape)), low, high)


@st.composite
def clamp_tensor_cases(draw: Any) -> Case:
    """clamp with tensor bounds (low < 0 < high), all three broadcasting and differentiable."""
    x_shape, low_shape, high_shape = draw(broadcast_shapes(3))
    x = draw(grid(0.5)(x_shape))
    low = draw(grid(0.3, low=-200, high=-1)(low_shape))
    high = draw(grid(0.7, low=0, high=199)(high_shape))
    return Case((x, low, high), lambda x, lo, hi: tl.clamp(x, lo, hi),
                torch_clamp_broadcast, lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi))


@st.composite
def where_cases(draw: Any) -> Case:
    """where(condition, x, y) with all three shapes broadcasting; the condition is constant."""
    cond_shape, x_shape, y_shape = draw(broadcast_shapes(3))
    condition = draw(arrays(np.bool_, cond_shape))
    as_tensor = draw(st.booleans())
    ours_cond = tl.tensor(condition) if as_tensor else condition
    return Case((draw(REAL(x_shape)), draw(REAL(y_shape))),
                lambda x, y: tl.where(ours_cond, x, y),
                lambda x, y: torch.where(torch_tensor(condition), x, y),
                lambda x, y: np.where(condition, x, y),
                f"condition={condition!r} as {'tensor' if as_tensor else 'array'}")


ELEMENTWISE = [
    unary("exp", tl.exp, lambda x: torch.exp(x), np.exp),
    unary("log", tl.log, lambda x: torch.log(x), np.log, uniform(0.1, 3)),
    unary("log1p", tl.log1p, lambda x: torch.log1p(x), np.log1p, uniform(-0.9, 3)),
    unary("sqrt", tl.sqrt, lambda x: torch.sqrt(x), np.sqrt, uniform(0.1, 3)),
    unary("abs", tl.abs, lambda x: torch.abs(x), np.abs, no_ties),
    unary("abs_operator", abs, abs, np.abs, no_ties),
    unary("sigmoid", tl.sigmoid, lambda x: torch.sigmoid(x), sigmoid_np, uniform(-10, 10)),
    unary("tanh", tl.tanh, lambda x: torch.tanh(x), np.tanh, uniform(-4, 4)),
    unary("relu", tl.relu, lambda x: torch.relu(x), lambda x: np.maximum(x, 0), no_ties),
    unary("softplus", tl.softplus, lambda x: torch.nn.functional.softplus(x),
          lambda x: np.log1p(np.exp(x)), uniform(-10, 10)),
    unary("logsigmoid", tl.logsigmoid, lambda x: torch.nn.functional.logsigmoid(x),
          lambda x: -np.log1p(np.exp(-x)), uniform(-10, 10)),
    unary("methods", lambda x: x.exp().sigmoid().tanh().relu().log1p().sqrt().abs(),
          lambda x: x.exp().sigmoid().tanh().relu().log1p().sqrt().abs(),
          lambda x: np.sqrt(np.log1p(np.tanh(sigmoid_np(np.exp(x)))))),
    OpSpec("clamp", clamp_cases()),
    OpSpec("clamp_tensor_bounds", clamp_tensor_cases()),
    binary("maximum", tl.maximum, lambda x, y: torch.maximum(x, y), np.maximum,
           (grid(0.3), grid(0.7))),
    binary("minimum", tl.minimum, lambda x, y: torch.minimum(x, y), np.minimum,
           (grid(0.3), grid(0.7))),
    binary("max_other", lambda x, y: x.max(y), lambda x, y: torch.max(x, y), np.maximum,
           (grid(0.3), grid(0.7))),
    binary("min_other", lambda x, y: tl.min(x, y), lambda x, y: torch.min(x, y), np.minimum,
           (grid(0.3), grid(0.7))),
    OpSpec("where", where_cases()),
]


# ---- reductions ----------------------------------------------------------------------------------
@st.composite
def dims(draw: Any, shape: tuple[int, ...], allow_tuple: bool = True) -> Any:
    """A ``dim`` for ``shape``: None, an int (maybe negative) or a tuple of distinct ints."""
    ndim = len(shape)
    limit = max(ndim, 1)
    one = st.integers(-limit, limit - 1)
    choices = [st.none(), one]
    if allow_tuple:
        choices.append(st.lists(one, min_size=1, max_size=limit, unique_by=lambda d: d % limit)
                       .map(tuple))
    return draw(st.one_of(*choices))


def numpy_axes(dim: Any, ndim: int) -> Any:
    """The NumPy ``axis`` for a PyTorch ``dim`` (0-d tensors accept dim 0 or -1)."""
    if dim is None or ndim == 0:
        return None
    return tuple(d % ndim for d in dim) if isinstance(dim, tuple) else dim % ndim


def torch_all_dims(dim: Any, ndim: int) -> Any:
    """PyTorch's spelling of "every dimension" for ops that do not take None (amax, logsumexp)."""
    return tuple(range(ndim)) if dim is None else dim


def reduction(name: str, ours: Callable, theirs: Callable, reference: Callable,
              domain: Domain = REAL, allow_tuple: bool = True,
              shapes: st.SearchStrategy = NONEMPTY_SHAPES) -> OpSpec:
    """A reduction drawn with every ``dim`` form and both ``keepdim`` values.

    ``ours(x, dim, keepdim)``, ``theirs(x, dim, keepdim)``, ``reference(x, axis=, keepdims=)``.
    """
    @st.composite
    def cases(draw: Any) -> Case:
        shape = draw(shapes)
        dim = draw(dims(shape, allow_tuple))
        keepdim = draw(st.booleans())
        axis = numpy_axes(dim, len(shape))
        return Case((draw(domain(shape)),), lambda x: ours(x, dim, keepdim),
                    lambda x: theirs(x, dim, keepdim),
                    lambda x: np.asarray(reference(x, axis=axis, keepdims=keepdim)),
                    f"dim={dim!r}, keepdim={keepdim}")
    return OpSpec(name, cases(), F32_REDUCTION_TOL)


# var and std with Bessel's correction need two elements per output whatever the dims reduced.
SIDES_AT_LEAST_TWO = array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4)


def torch_prod(x: Any, dim: Any, keepdim: bool) -> Any:
    """torch.prod over one dim or everything (PyTorch has no keepdim for the full product)."""
    if dim is not None:
        return torch.prod(x, dim, keepdim)
    return torch.prod(x).reshape((1,) * x.ndim) if keepdim else torch.prod(x)


def torch_max_dim(x: Any, dim: Any, keepdim: bool, largest: bool) -> Any:
    """torch.max/min over one dim (or everything, which has no keepdim in PyTorch)."""
    if dim is None:
        return torch.amax(x, tuple(range(x.ndim)), keepdim) if largest else \
            torch.amin(x, tuple(range(x.ndim)), keepdim)
    return (torch.max if largest else torch.min)(x, dim, keepdim).values


def ours_max_dim(x: tl.Tensor, dim: Any, keepdim: bool, largest: bool) -> tl.Tensor:
    """Our max/min over one dim: the values of the (values, indices) pair."""
    if dim is None:
        return x.amax(None, keepdim) if largest else x.amin(None, keepdim)
    return (x.max if largest else x.min)(dim, keepdim).values


def stable_logsumexp(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    """Reference log-sum-exp, shifted by the max."""
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


REDUCTIONS = [
    reduction("sum", lambda x, d, k: x.sum(d, k), lambda x, d, k: torch.sum(x, d, k), np.sum),
    reduction("mean", lambda x, d, k: tl.mean(x, d, k), lambda x, d, k: torch.mean(x, d, k),
              np.mean),
    reduction("var", lambda x, d, k: x.var(d, keepdim=k),
              lambda x, d, k: torch.var(x, d, keepdim=k),
              lambda x, axis, keepdims: np.var(x, axis=axis, ddof=1, keepdims=keepdims),
              shapes=SIDES_AT_LEAST_TWO),
    reduction("var_biased", lambda x, d, k: tl.var(x, d, keepdim=k, correction=0),
              lambda x, d, k: torch.var(x, d, keepdim=k, correction=0),
              lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims)),
    reduction("std", lambda x, d, k: x.std(d, keepdim=k),
              lambda x, d, k: torch.std(x, d, keepdim=k),
              lambda x, axis, keepdims: np.std(x, axis=axis, ddof=1, keepdims=keepdims), spread,
              shapes=SIDES_AT_LEAST_TWO),
    reduction("std_unbiased_false", lambda x, d, k: tl.std(x, d, False, k),
              lambda x, d, k: torch.std(x, d, False, k),
              lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims), spread,
              shapes=SIDES_AT_LEAST_TWO),
    reduction("prod", lambda x, d, k: x.prod(d, k), torch_prod, np.prod, signed(0.5, 1.5),
              allow_tuple=False),
    reduction("amax", lambda x, d, k: x.amax(d, k),
              lambda x, d, k: torch.amax(x, torch_all_dims(d, x.ndim), k), np.max, no_ties),
    reduction("amin", lambda x, d, k: tl.amin(x, d, k),
              lambda x, d, k: torch.amin(x, torch_all_dims(d, x.ndim), k), np.min, no_ties),
    reduction("max_dim", lambda x, d, k: ours_max_dim(x, d, k, True),
              lambda x, d, k: torch_max_dim(x, d, k, True), np.max, no_ties, allow_tuple=False),
    reduction("min_dim", lambda x, d, k: ours_max_dim(x, d, k, False),
              lambda x, d, k: torch_max_dim(x, d, k, False), np.min, no_ties, allow_tuple=False),
    reduction("logsumexp", lambda x, d, k: x.logsumexp(d, k),
              lambda x, d, k: torch.logsumexp(x, torch_all_dims(d, x.ndim), k),
              stable_logsumexp, uniform(-5, 5)),
    unary("max_all", lambda x: x.max(), lambda x: x.max(), np.max, no_ties, NONEMPTY_SHAPES,
          F32_REDUCTION_TOL),
    unary("min_all", tl.min, lambda x: torch.min(x), np.min, no_ties, NONEMPTY_SHAPES,
          F32_REDUCTION_TOL),
]


# ---- shape ops -----------------------------------------------------------------------------------
def divisors(n: int) -> list[int]:
    """The divisors of n >= 1."""
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def reshape_target(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape with as many elements as ``shape``, possibly with one -1."""
    remaining, target = math.prod(shape), []
    while remaining > 1 and len(target) < 3 and draw(st.booleans()):
        d = draw(st.sampled_from(divisors(remaining)))
        target.append(d)
        remaining //= d
    target.append(remaining)
    target = draw(st.permutations(target))
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@st.composite
def reshape_cases(draw: Any, method: str) -> Case:
    """reshape / view to a drawn compatible shape."""
    shape = draw(NONEMPTY_SHAPES)
    target = draw(reshape_target(shape))
    return Case((draw(REAL(shape)),), lambda x: getattr(x, method)(*target),
                lambda x: getattr(x, method)(*target), lambda x: x.reshape(target),
                f"x.{method}{target}")


@st.composite
def flatten_cases(draw: Any) -> Case:
    """flatten with drawn start_dim <= end_dim (negative forms included)."""
    shape = draw(SHAPES)
    ndim = len(shape)
    if ndim == 0:
        return Case((draw(REAL(shape)),), tl.flatten, lambda x: torch.flatten(x),
                    lambda x: x.reshape(1), "flatten(x)")
    start = draw(st.integers(0, ndim - 1))
    end = draw(st.integers(start, ndim - 1))
    start_arg = draw(st.sampled_from([start, start - ndim]))
    end_arg = draw(st.sampled_from([end, end - ndim]))
    return Case((draw(REAL(shape)),), lambda x: x.flatten(start_arg, end_arg),
                lambda x: torch.flatten(x, start_arg, end_arg),
                lambda x: x.reshape(shape[:start] + (math.prod(shape[start:end + 1]),)
                                    + shape[end + 1:]), f"x.flatten({start_arg}, {end_arg})")


@st.composite
def squeeze_cases(draw: Any) -> Case:
    """squeeze everything, one dim or a tuple of dims (size-1 dims are common in the draw)."""
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=2))
    dim = draw(dims(shape)) if shape else None
    axes = numpy_axes(dim, len(shape))
    drop = tuple(a for a in (axes if isinstance(axes, tuple) else (axes,))
                 if a is not None and shape[a] == 1)
    if dim is None:
        return Case((draw(REAL(shape)),), lambda x: x.squeeze(), lambda x: x.squeeze(),
                    lambda x: np.squeeze(x), "x.squeeze()")
    return Case((draw(REAL(shape)),), lambda x: tl.squeeze(x, dim),
                lambda x: torch.squeeze(x, dim), lambda x: np.squeeze(x, drop),
                f"squeeze(x, {dim!r})")


@st.composite
def unsqueeze_cases(draw: Any) -> Case:
    """unsqueeze at every valid position, negative ones included."""
    shape = draw(SHAPES)
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    position = dim % (len(shape) + 1)
    return Case((draw(REAL(shape)),), lambda x: x.unsqueeze(dim), lambda x: x.unsqueeze(dim),
                lambda x: np.expand_dims(x, position), f"x.unsqueeze({dim})")


@st.composite
def transpose_cases(draw: Any) -> Case:
    """transpose of two (possibly equal, possibly negative) dims."""
    shape = draw(POSITIVE_DIM_SHAPES)
    ndim = len(shape)
    d0, d1 = draw(st.integers(-ndim, ndim - 1)), draw(st.integers(-ndim, ndim - 1))
    return Case((draw(REAL(shape)),), lambda x: tl.transpose(x, d0, d1),
                lambda x: torch.transpose(x, d0, d1), lambda x: np.swapaxes(x, d0, d1),
                f"transpose(x, {d0}, {d1})")


@st.composite
def permute_cases(draw: Any) -> Case:
    """permute by a drawn permutation, as varargs or one tuple, some dims negative."""
    shape = draw(SHAPES)
    ndim = len(shape)
    order = draw(st.permutations(range(ndim)))
    spelled = tuple(d - ndim if draw(st.booleans()) else d for d in order)
    as_tuple = draw(st.booleans())
    ours = (lambda x: x.permute(spelled)) if as_tuple else (lambda x: x.permute(*spelled))
    return Case((draw(REAL(shape)),), ours, lambda x: x.permute(spelled),
                lambda x: np.transpose(x, order),
                f"x.permute({spelled!r})" if as_tuple else f"x.permute(*{spelled!r})")


@st.composite
def expand_cases(draw: Any, function: str) -> Case:
    """expand (sizes with -1) or broadcast_to a shape with new leading dims and stretched 1s."""
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    body = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    target = lead + body
    if function == "expand":
        sizes = lead + tuple(-1 if n == m and draw(st.booleans()) else m
                             for n, m in zip(shape, body))
        as_tuple = not sizes or draw(st.booleans())
        ours = (lambda x: x.expand(sizes)) if as_tuple else (lambda x: x.expand(*sizes))
        return Case((draw(REAL(shape)),), ours, lambda x: x.expand(sizes),
                    lambda x: np.broadcast_to(x, target),
                    f"x.expand({sizes!r})" if as_tuple else f"x.expand(*{sizes!r})")
    return Case((draw(REAL(shape)),), lambda x: tl.broadcast_to(x, target),
                lambda x: torch.broadcast_to(x, target), lambda x: np.broadcast_to(x, target),
                f"broadcast_to(x, {target})")


@st.composite
def t_cases(draw: Any) -> Case:
    """.t() on tensors of at most two dims."""
    shape = draw(array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    as_method = draw(st.booleans())
    return Case((draw(REAL(shape)),), (lambda x: x.t()) if as_method else tl.t, lambda x: x.t(),
                lambda x: x.T, "x.t()" if as_method else "tl.t(x)")


def reverse_dims(x: Any) -> Any:
    """PyTorch's .T for any number of dims (its ``.T`` on ndim != 2 is deprecated)."""
    return x.permute(tuple(reversed(range(x.ndim))))


SHAPE_OPS = [
    OpSpec("reshape", reshape_cases("reshape")),
    OpSpec("view", reshape_cases("view")),
    unary("reshape_function", lambda x: tl.reshape(x, (-1,)), lambda x: torch.reshape(x, (-1,)),
          lambda x: x.reshape(-1)),
    OpSpec("flatten", flatten_cases()),
    OpSpec("squeeze", squeeze_cases()),
    OpSpec("unsqueeze", unsqueeze_cases()),
    OpSpec("transpose", transpose_cases()),
    OpSpec("permute", permute_cases()),
    OpSpec("t", t_cases()),
    unary("T", lambda x: x.T, reverse_dims, lambda x: x.T),
    OpSpec("expand", expand_cases("expand")),
    OpSpec("broadcast_to", expand_cases("broadcast_to")),
]


# ---- indexing ------------------------------------------------------------------------------------
@st.composite
def basic_index(draw: Any, shape: tuple[int, ...]) -> tuple:
    """A basic index: ints, slices with positive steps, None and at most one Ellipsis."""
    parts: list[Any] = []
    covered = draw(st.integers(0, len(shape)))
    ellipsis = draw(st.booleans())
    # With an Ellipsis in front, the explicit parts index the trailing dims.
    for n in shape[len(shape) - covered:] if ellipsis else shape[:covered]:
        bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
        parts.append(draw(st.one_of(
            st.integers(-n, n - 1),
            st.builds(slice, bound, bound, st.sampled_from([None, 1, 2, 3])))))
    if ellipsis:
        parts = [Ellipsis] + parts
    for _ in range(draw(st.integers(0, 2))):
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


@st.composite
def basic_index_cases(draw: Any) -> Case:
    """x[ints, slices, None, ...]."""
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    key = draw(basic_index(shape))
    return Case((draw(REAL(shape)),), lambda x: x[key], lambda x: x[key], lambda x: x[key],
                f"x[{key!r}]")


@st.composite
def mask_index_cases(draw: Any) -> Case:
    """x[mask] with a boolean mask over the leading dims, as an array or a bool tensor."""
    shape = draw(POSITIVE_DIM_SHAPES)
    mask = draw(arrays(np.bool_, shape[:draw(st.integers(1, len(shape)))]))
    ours_mask = tl.tensor(mask) if draw(st.booleans()) else mask
    return Case((draw(REAL(shape)),), lambda x: x[ours_mask],
                lambda x: x[torch_tensor(mask)], lambda x: x[mask], f"x[{ours_mask!r}]")


@st.composite
def integer_index_cases(draw: Any) -> Case:
    """x[..., idx] along one dim, or two broadcast index arrays; repeated indices are common."""
    shape = draw(POSITIVE_DIM_SHAPES)
    ndim = len(shape)
    dim = draw(st.integers(0, ndim - 1))
    n = shape[dim]
    idx = draw(arrays(np.int64, st.integers(1, 6), elements=st.integers(-n, n - 1)))
    if ndim >= 2 and draw(st.booleans()):
        # A second index array of shape (m, 1) on another dim: the two broadcast to (m, m).
        other_dim = 1 if dim == 0 else 0
        other = draw(arrays(np.int64, (idx.size, 1),
                            elements=st.integers(0, shape[other_dim] - 1)))
        key = (idx, other) if dim == 0 else (other,) + (slice(None),) * (dim - 1) + (idx,)
    else:
        key = (slice(None),) * dim + (idx,)
    form = draw(st.sampled_from(["array", "list", "tensor"]))
    convert = {"array": lambda a: a, "list": lambda a: a.tolist(), "tensor": tl.tensor}[form]
    ours_key = tuple(convert(k) if isinstance(k, np.ndarray) else k for k in key)
    return Case((draw(REAL(shape)),), lambda x: x[ours_key],
                lambda x: x[tuple(torch_tensor(k) if isinstance(k, np.ndarray) else k for k in key)],
                lambda x: x[key], f"x[{ours_key!r}]")


INDEXING = [
    OpSpec("index_basic", basic_index_cases()),
    OpSpec("index_bool_mask", mask_index_cases()),
    OpSpec("index_integer_arrays", integer_index_cases()),
]


# ---- joining and casts ---------------------------------------------------------------------------
@st.composite
def cat_cases(draw: Any) -> Case:
    """cat of 1 to 3 tensors that agree outside the joined dim (sizes there may be 0)."""
    shape = list(draw(POSITIVE_DIM_SHAPES))
    ndim = len(shape)
    dim = draw(st.integers(-ndim, ndim - 1))
    tensors = []
    for _ in range(draw(st.integers(1, 3))):
        shape[dim] = draw(st.integers(0, 3))
        tensors.append(draw(REAL(tuple(shape))))
    return Case(tuple(tensors), lambda *xs: tl.cat(list(xs), dim=dim),
                lambda *xs: torch.cat(list(xs), dim=dim),
                lambda *xs: np.concatenate(xs, axis=dim), f"cat(dim={dim})")


@st.composite
def stack_cases(draw: Any) -> Case:
    """stack of 1 to 3 tensors of one shape at any new position."""
    shape = draw(SHAPES)
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    tensors = tuple(draw(REAL(shape)) for _ in range(draw(st.integers(1, 3))))
    return Case(tensors, lambda *xs: tl.stack(xs, dim), lambda *xs: torch.stack(xs, dim),
                lambda *xs: np.stack(xs, axis=dim), f"stack(dim={dim})")


JOIN_AND_CAST = [
    OpSpec("cat", cat_cases()),
    OpSpec("stack", stack_cases()),
    unary("double", lambda x: x.double() * x, lambda x: x.double() * x,
          lambda x: x.astype(np.float64) * x),
    # Rounding to float32 makes float64 finite differences meaningless: checked exactly instead.
    unary("float", lambda x: x.float(), lambda x: x.float(), lambda x: x.astype(np.float32),
          finite_differences=False),
]

SPECS = ARITHMETIC + MATMUL + ELEMENTWISE + REDUCTIONS + SHAPE_OPS + INDEXING + JOIN_AND_CAST
FD_SPECS = [s for s in SPECS if s.finite_differences]


def spec_params(specs: list[OpSpec]) -> Any:
    """pytest parameters named after the ops."""
    return pytest.mark.parametrize("spec", specs, ids=[s.name for s in specs])


# ---- the five generic checks ---------------------------------------------------------------------
def upstream_for(out: tl.Tensor, seed: int) -> np.ndarray:
    """A random upstream gradient shaped like ``out``."""
    return np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)


def gradients(case: Case, arrays: tuple[np.ndarray, ...], upstream: Any) -> list[np.ndarray]:
    """d sum(ours * upstream) / d inputs, zeros for inputs the output does not use."""
    inputs = [tl.tensor(a, requires_grad=True) for a in arrays]
    out = case.ours(*inputs)
    grads = tl.autograd.grad(out, inputs, np.asarray(upstream), allow_unused=True)
    return [np.zeros_like(a) if g is None else g.detach().numpy() for a, g in zip(arrays, grads)]


@spec_params(SPECS)
@given(data=st.data())
def test_forward_matches_numpy(spec: OpSpec, data: st.DataObject) -> None:
    case = data.draw(spec.cases, label="case")
    out = case.ours(*[tl.tensor(a) for a in case.arrays])
    assert isinstance(out, tl.Tensor)
    assert_close(out, case.reference(*case.arrays), **TORCH64_TOL, what=f"{spec.name} forward")


@spec_params(FD_SPECS)
@given(data=st.data())
def test_gradient_matches_finite_differences(spec: OpSpec, data: st.DataObject) -> None:
    case = data.draw(spec.cases, label="case")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    upstream = upstream_for(case.ours(*[tl.tensor(a) for a in case.arrays]), seed)
    for k, (array, grad) in enumerate(zip(case.arrays, gradients(case, case.arrays, upstream))):
        def objective(value: np.ndarray, k: int = k) -> float:
            args = [tl.tensor(value if i == k else a) for i, a in enumerate(case.arrays)]
            return float(np.sum(case.ours(*args).detach().numpy() * upstream))
        expected = finite_difference_grad(objective, array)
        assert_close(grad, expected, **FD_TOL, what=f"{spec.name}: gradient of input {k}")


@needs_torch
@spec_params(SPECS)
@given(data=st.data())
def test_matches_torch_float64_with_second_derivative(spec: OpSpec, data: st.DataObject) -> None:
    case = data.draw(spec.cases, label="case")
    compare_with_torch(case.ours, case.theirs, case.arrays, TORCH64_TOL, TORCH64_TOL,
                       second_order=True, seed=data.draw(st.integers(0, 2**32 - 1), label="seed"))


@needs_torch
@spec_params(SPECS)
@given(data=st.data())
def test_matches_torch_float32(spec: OpSpec, data: st.DataObject) -> None:
    case = data.draw(spec.cases, label="case")
    arrays32 = tuple(a.astype(np.float32) for a in case.arrays)
    compare_with_torch(case.ours, case.theirs, arrays32, spec.f32_tol, spec.f32_tol,
                       seed=data.draw(st.integers(0, 2**32 - 1), label="seed"))


@spec_params(SPECS)
@given(data=st.data())
def test_gradient_properties(spec: OpSpec, data: st.DataObject) -> None:
    """Shape and dtype of every gradient, zero for a zero upstream gradient, linear in the upstream
    gradient, and neither the input arrays, the tensors' data nor the upstream array mutated."""
    case = data.draw(spec.cases, label="case")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a, b = rng.standard_normal(2)

    arrays32 = tuple(x.astype(np.float32) for x in case.arrays)
    originals = tuple(x.copy() for x in arrays32)
    inputs = [tl.from_numpy(x).requires_grad_() for x in arrays32]
    out = case.ours(*inputs)
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    upstream_copy = upstream.copy()
    out.backward(upstream)
    for k, (x, array, original) in enumerate(zip(inputs, arrays32, originals)):
        assert x.grad is not None and x.grad.shape == x.shape and x.grad.dtype == np.float32, \
            f"input {k}: gradient {x.grad!r} for a float32 input of shape {x.shape}"
        np.testing.assert_array_equal(array, original, err_msg=f"input array {k} was mutated")
        assert x.detach().numpy() is array, f"input {k}: the tensor's data was replaced"
    np.testing.assert_array_equal(upstream, upstream_copy, err_msg="upstream gradient mutated")

    out64 = case.ours(*[tl.tensor(x) for x in case.arrays])
    u1, u2 = rng.standard_normal((2,) + out64.shape)
    combined = gradients(case, case.arrays, a * u1 + b * u2)
    separate = [a * g1 + b * g2 for g1, g2 in zip(gradients(case, case.arrays, u1),
                                                  gradients(case, case.arrays, u2))]
    # The upstream gradient is rounded to the output's dtype (float32 after .float()).
    tol = TORCH64_TOL if out64.dtype == np.float64 else F32_ELEMENTWISE_TOL
    for k, (together, apart) in enumerate(zip(combined, separate)):
        assert_close(together, apart, **tol, what=f"linearity in the upstream, input {k}")
    for k, grad in enumerate(gradients(case, case.arrays, np.zeros(out64.shape))):
        assert not np.any(grad), f"input {k}: nonzero gradient {grad} for a zero upstream"


# ---- what the generic checks cannot express ------------------------------------------------------
@needs_torch
@given(data=st.data())
def test_max_min_with_dim_return_values_and_indices_like_torch(data: st.DataObject) -> None:
    shape = data.draw(NONEMPTY_SHAPES, label="shape")
    x = data.draw(no_ties(shape), label="x")
    limit = max(len(shape), 1)
    dim = data.draw(st.integers(-limit, limit - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    name = data.draw(st.sampled_from(["max", "min"]), label="op")
    ours = getattr(tl.tensor(x, requires_grad=True), name)(dim, keepdim)
    theirs = getattr(torch_tensor(x), name)(dim, keepdim)
    values, indices = ours
    assert values is ours.values and indices is ours.indices
    assert_close(values, theirs.values, **TORCH64_TOL, what="values")
    assert_close(indices, theirs.indices, rtol=0, atol=0, what="indices")
    assert values.requires_grad and not indices.requires_grad and indices.grad_fn is None


@needs_torch
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_with_dim_gives_tied_gradient_to_the_first_index_like_torch(name: str) -> None:
    x = np.array([[3.0, 1.0, 3.0], [2.0, 2.0, 0.5]])
    compare_with_torch(lambda t: getattr(t, name)(1).values, lambda t: getattr(t, name)(1).values,
                       [x if name == "max" else -x], TORCH64_TOL, TORCH64_TOL)
    assert getattr(tl.tensor(x), name)(1).indices.tolist() == \
        getattr(torch_tensor(x), name)(1).indices.tolist()


def test_repeated_integer_indices_accumulate() -> None:
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]

    m = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    rows, cols = np.array([1, 1, 0, 1]), np.array([0, 0, 2, 0])
    (m[rows, cols] * tl.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    assert m.grad.tolist() == [[0.0, 0.0, 100.0], [1011.0, 0.0, 0.0]]


def test_repeated_indices_accumulate_in_second_derivatives() -> None:
    x = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    y = (x[[0, 0, 1]] ** 3).sum()                       # 2 x0^3 + x1^3
    (g,) = tl.autograd.grad(y, x, create_graph=True)    # (6 x0^2, 3 x1^2)
    (h,) = tl.autograd.grad(g.sum(), x)                 # (12 x0, 6 x1)
    assert g.tolist() == [6.0, 12.0] and h.tolist() == [12.0, 12.0]


@needs_torch
@pytest.mark.parametrize("name, ours, theirs", [
    ("relu at 0", tl.relu, lambda t: torch.relu(t)),
    ("abs at 0", tl.abs, lambda t: torch.abs(t)),
    ("clamp at its bounds", lambda t: t.clamp(-1.0, 1.0), lambda t: t.clamp(-1.0, 1.0)),
    ("maximum of ties", lambda t: tl.maximum(t, t * 1.0), lambda t: torch.maximum(t, t * 1.0)),
    ("minimum of ties", lambda t: tl.minimum(t * 1.0, t), lambda t: torch.minimum(t * 1.0, t)),
    ("amax of ties", lambda t: t.amax(0), lambda t: t.amax(0)),
    ("max of ties", lambda t: t.max(), lambda t: t.max()),
    ("amin of ties", lambda t: tl.amin(t), lambda t: torch.amin(t)),
    ("prod with one zero", lambda t: t.prod(), lambda t: t.prod()),
])
def test_kinks_and_ties_follow_torch_conventions(name: str, ours: Callable,
                                                 theirs: Callable) -> None:
    x = np.array([-1.0, 0.0, 1.0, 1.0, 2.0, -1.0, 2.0])
    compare_with_torch(ours, theirs, [x], TORCH64_TOL, TORCH64_TOL)


@needs_torch
@pytest.mark.parametrize("zeros", [[1], [0, 2], [0, 1, 2, 3]])
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_prod_with_zeros_has_exact_gradients(zeros: list[int], dim: Any) -> None:
    x = np.random.default_rng(0).uniform(0.5, 1.5, (4, 3))
    x[zeros, 0] = 0.0
    x[1, 2] = 0.0
    compare_with_torch(lambda t: t.prod(dim), lambda t: t.prod() if dim is None else t.prod(dim),
                       [x], TORCH64_TOL, TORCH64_TOL, second_order=True)


REDUCTION_NAMES = ["sum", "mean", "var", "std", "prod", "amax", "amin", "logsumexp"]


@pytest.mark.parametrize("name", REDUCTION_NAMES)
@given(data=st.data())
def test_reduction_axis_and_keepdims_aliases(name: str, data: st.DataObject) -> None:
    shape = data.draw(SIDES_AT_LEAST_TWO, label="shape")
    dim = data.draw(dims(shape, allow_tuple=name != "prod").filter(lambda d: d is not None),
                    label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    x = data.draw(spread(shape), label="x")
    upstream = None
    results = []
    for call in (lambda t: getattr(t, name)(dim=dim, keepdim=keepdim),
                 lambda t: getattr(t, name)(axis=dim, keepdims=keepdim),
                 lambda t: getattr(tl, name)(t, axis=dim, keepdims=keepdim)):
        t = tl.tensor(x, requires_grad=True)
        out = call(t)
        upstream = np.ones(out.shape) if upstream is None else upstream
        out.backward(upstream)
        results.append((out.detach().numpy(), t.grad.detach().numpy()))
    for out, grad in results[1:]:
        assert_close(out, results[0][0], rtol=0, atol=0, what="forward with axis/keepdims")
        assert_close(grad, results[0][1], rtol=0, atol=0, what="gradient with axis/keepdims")
    with pytest.raises(TypeError, match="either dim or axis"):
        getattr(tl, name)(tl.tensor(x), dim, axis=dim)


def test_logsumexp_of_all_minus_infinity_is_minus_infinity() -> None:
    x = tl.tensor([[-np.inf, -np.inf], [0.0, -np.inf], [np.inf, 1.0]])
    assert tl.logsumexp(x, 1).tolist() == [-np.inf, 0.0, np.inf]


@given(x=arrays(np.float64, SHAPES, elements=st.floats(-2, 2)), seed=st.integers(0, 2**32 - 1))
def test_float_casts_pass_the_gradient_exactly(x: np.ndarray, seed: int) -> None:
    """Cast gradients are the upstream gradient in the input's dtype: exact, both directions."""
    rng = np.random.default_rng(seed)
    x64 = tl.tensor(x, requires_grad=True)
    down = x64.float()
    assert down.dtype == np.float32 and down.requires_grad
    upstream32 = rng.standard_normal(x.shape).astype(np.float32)
    down.backward(upstream32)
    assert_close(x64.grad, upstream32.astype(np.float64), rtol=0, atol=0, what=".float() grad")

    x32 = tl.tensor(x.astype(np.float32), requires_grad=True)
    up = x32.double()
    assert up.dtype == np.float64 and up.requires_grad
    upstream64 = rng.standard_normal(x.shape)
    up.backward(upstream64)
    assert_close(x32.grad, upstream64.astype(np.float32), rtol=0, atol=0, what=".double() grad")
    assert x64.double() is x64 and x32.float() is x32 and x32.to(tl.float32) is x32


# ---- 0-d inputs: the elementwise ops compute on NumPy scalars -----------------------------------
ZERO_D_OPS: dict[str, tuple[Callable, Callable]] = {
    # name: (ours, PyTorch's), applied to the 0-d tensors x = 0.7 and y = 1.3
    "add": (lambda x, y: x + y, lambda x, y: x + y),
    "sub": (lambda x, y: x - y, lambda x, y: x - y),
    "mul": (lambda x, y: x * y, lambda x, y: x * y),
    "div": (lambda x, y: x / y, lambda x, y: x / y),
    "pow": (lambda x, y: x ** y, lambda x, y: x ** y),
    "maximum": (tl.maximum, lambda x, y: torch.maximum(x, y)),
    "minimum": (tl.minimum, lambda x, y: torch.minimum(x, y)),
    "scalar_chain": (lambda x, y: tl.tanh(x * y + 0.1) * x, lambda x, y: torch.tanh(x * y + 0.1) * x),
    "unary_functions": (
        lambda x, y: (-x).exp().log1p().sqrt().sigmoid().tanh().relu().abs().log() + x.clamp(0, 1)
        + tl.softplus(y) + tl.logsigmoid(y) + x ** 2.5 + 2.0 ** y,
        lambda x, y: (-x).exp().log1p().sqrt().sigmoid().tanh().relu().abs().log() + x.clamp(0, 1)
        + torch.nn.functional.softplus(y) + torch.nn.functional.logsigmoid(y) + x ** 2.5 + 2.0 ** y),
}


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ZERO_D_OPS)
def test_zero_dimensional_inputs_match_torch(name: str, dtype: type) -> None:
    """0-d inputs reach these ops as NumPy scalars (faster than 0-d arrays): values, gradients
    and second derivatives still match PyTorch, and results are fresh writable 0-d arrays."""
    ours, theirs = ZERO_D_OPS[name]
    arrays_ = [np.array(0.7, dtype), np.array(1.3, dtype)]
    tol = TORCH64_TOL if dtype == np.float64 else F32_ELEMENTWISE_TOL
    compare_with_torch(ours, theirs, arrays_, tol, tol, second_order=dtype == np.float64)
    inputs = [tl.tensor(a, requires_grad=True) for a in arrays_]
    out = ours(*inputs)
    assert type(out.detach().numpy()) is np.ndarray and out.detach().numpy().dtype == dtype and out.detach().numpy().flags.writeable
    assert not any(np.shares_memory(out.detach().numpy(), t.detach().numpy()) for t in inputs)


def test_zero_dimensional_integers_wrap_silently_like_arrays() -> None:
    """Integer 0-d inputs stay arrays (NumPy's integer scalars warn on overflow; arrays and
    PyTorch wrap silently)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = tl.tensor(2**62)
        assert (big * 4).item() == 0
        assert abs(tl.tensor(-2**63)).item() == -2**63


# ---- one math for both paths --------------------------------------------------------------------
@spec_params(SPECS)
@given(data=st.data())
def test_first_order_gradients_equal_the_create_graph_ones(spec: OpSpec,
                                                           data: st.DataObject) -> None:
    """The rule that runs on arrays and the same rule run on Tensors (create_graph=True) give
    the same float64 gradients, bit for bit: one formula, no floor or shortcut on either path."""
    case = data.draw(spec.cases, label="case")
    upstream = upstream_for(case.ours(*[tl.tensor(a) for a in case.arrays]),
                            data.draw(st.integers(0, 2**32 - 1), label="seed"))
    results = []
    for create_graph in (False, True):
        inputs = [tl.tensor(a, requires_grad=True) for a in case.arrays]
        out = case.ours(*inputs)
        grads = tl.autograd.grad(out, inputs, upstream, create_graph=create_graph,
                                 allow_unused=True)
        results.append([None if g is None else g.detach().numpy() for g in grads])
    for k, (plain, graphed) in enumerate(zip(*results)):
        assert (plain is None) == (graphed is None), f"input {k}: one path has no gradient"
        if plain is None:
            continue
        if spec.name in REASSOCIATED:
            np.testing.assert_allclose(plain, graphed, rtol=1e-14, atol=1e-300,
                                       err_msg=f"{spec.name}: input {k}")
        else:
            np.testing.assert_array_equal(plain, graphed, err_msg=f"{spec.name}: input {k}")


# The same formula, its products taken in another order on the graph path (so equal to the last
# bits, not bit for bit): the product of the other elements, by prefix and suffix products on
# arrays, by an n x n grid on Tensors.
REASSOCIATED = {"prod"}


@pytest.mark.parametrize("name, ours, theirs", [
    ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    ("logsumexp", lambda x: x.logsumexp(0), lambda x: x.logsumexp(0)),
    ("softmax", lambda x: tl.softmax(x, 0), lambda x: x.softmax(0)),
    ("log_softmax", lambda x: tl.log_softmax(x, 0), lambda x: x.log_softmax(0)),
])
@needs_torch
def test_float32_tails_are_pytorchs_on_both_paths(name: str, ours: Callable,
                                                  theirs: Callable) -> None:
    """No exp(-80) floor: sigmoid(-100) is 0 in float32 as in PyTorch, and the gradient of
    logsumexp([0, -100]) is exp(-100) = 3.78e-44 (subnormal) on both paths."""
    values = np.array([0.0, -100.0, -88.0, 30.0], dtype=np.float32)
    t = torch_tensor(values, requires_grad=True)
    (expected,) = torch.autograd.grad(theirs(t).sum(), t)
    for create_graph in (False, True):
        x = tl.tensor(values, requires_grad=True)
        out = ours(x)
        np.testing.assert_array_equal(out.detach().numpy(), theirs(t).detach().numpy())
        (g,) = tl.autograd.grad(out.sum(), x, create_graph=create_graph)
        np.testing.assert_allclose(g.detach().numpy(), expected.numpy(), rtol=1.3e-6, atol=0,
                                   err_msg=f"{name}, create_graph={create_graph}")


# ---- the checker itself, and domains out to PyTorch's edges --------------------------------------
class _LosesItsGraph(tl.autograd.Function):
    """c ** x with a planted bug: under create_graph its gradient is a constant."""
    saves_output = True

    def forward(self, x):
        self.out = 2.0 ** x
        return self.out

    def backward(self, g, xp, x):
        grad = g * self.result(xp) * float(np.log(2.0))
        return tl.Tensor._make(np.asarray(grad.detach().numpy())) if xp.graph else grad


@needs_torch
def test_compare_with_torch_fails_when_a_rule_loses_its_graph() -> None:
    arrays = [np.array([0.3, -1.2])]
    compare_with_torch(lambda x: 2.0 ** x, lambda x: 2.0 ** x, arrays, TORCH64_TOL, TORCH64_TOL,
                       second_order=True)
    with pytest.raises(AssertionError, match="has a graph"):
        compare_with_torch(lambda x: _LosesItsGraph.apply(x), lambda x: 2.0 ** x, arrays,
                           TORCH64_TOL, TORCH64_TOL, second_order=True)


@needs_torch
@pytest.mark.parametrize("ours, theirs", [
    (lambda x, y: x ** y, lambda x, y: x ** y),
    (lambda x, y: (x * y) ** y, lambda x, y: (x * y) ** y),
])
def test_pow_at_zero_zero_follows_pytorch(ours: Callable, theirs: Callable) -> None:
    """d/dx x^y at x = 0, y = 0 is 0 (PyTorch's convention), not 0 * 0^-1 = nan. (PyTorch's
    second derivatives at x = 0 are nan; ours are not compared there.)"""
    arrays = [np.array([0.0, 0.0, 1.5]), np.array([0.0, 2.0, 0.0])]
    compare_with_torch(ours, theirs, arrays, TORCH64_TOL, TORCH64_TOL)


EMPTY_DIM_OPS = [
    ("prod", lambda x: x.prod(1), lambda x: x.prod(1)),
    ("logsumexp", lambda x: x.logsumexp(1), lambda x: x.logsumexp(1)),
    ("logsumexp_other_dim", lambda x: x.logsumexp(0), lambda x: x.logsumexp(0)),
    ("softmax", lambda x: tl.softmax(x, 1), lambda x: x.softmax(1)),
    ("log_softmax", lambda x: tl.log_softmax(x, 1), lambda x: x.log_softmax(1)),
    ("amax_other_dim", lambda x: x.amax(0), lambda x: x.amax(0)),
    ("sum", lambda x: x.sum(1), lambda x: x.sum(1)),
    ("mean_other_dim", lambda x: x.mean(0), lambda x: x.mean(0)),
]


@needs_torch
@pytest.mark.parametrize("name, ours, theirs", EMPTY_DIM_OPS, ids=[c[0] for c in EMPTY_DIM_OPS])
def test_reductions_over_an_empty_dimension_match_pytorch(name: str, ours: Callable,
                                                          theirs: Callable) -> None:
    compare_with_torch(ours, theirs, [np.ones((2, 0))], TORCH64_TOL, TORCH64_TOL,
                       second_order=True)


@needs_torch
def test_amax_over_an_empty_dimension_raises_as_pytorch() -> None:
    with pytest.raises(IndexError):
        torch.ones(2, 0).amax(1)
    with pytest.raises(IndexError, match="dim 1 to have non-zero size"):
        tl.ones(2, 0).amax(1)


def test_the_unchecked_loss_entries_equal_nn_functional() -> None:
    """ops.functional's binary_cross_entropy_with_logits and log_softmax (the public home of what
    the estimators call without nn.functional's checks) are the same ops."""
    from tinygrad_lr.ops.functional import binary_cross_entropy_with_logits, log_softmax
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), (rng.random((5, 3)) > 0.5).astype(np.float64)
    for reduction in ("mean", "sum", "none"):
        a, b = tl.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
        ours = binary_cross_entropy_with_logits(a, tl.tensor(y), reduction=reduction)
        theirs = tl.nn.functional.binary_cross_entropy_with_logits(b, tl.tensor(y),
                                                                   reduction=reduction)
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    np.testing.assert_array_equal(log_softmax(tl.tensor(x), 1).numpy(),
                                  tl.nn.functional.log_softmax(tl.tensor(x), 1).numpy())
