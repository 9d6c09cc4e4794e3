"""Numerical robustness and the checkers themselves: the stable ops at extreme inputs, gradcheck and
gradgradcheck on composite functions, planted wrong derivatives that the checkers must catch, and
random composite programs compared with PyTorch."""
from __future__ import annotations

import re
import threading
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import tinygrad_lr as tl
from helpers import (F32_ELEMENTWISE_TOL, F32_REDUCTION_TOL, FD_TOL, TORCH64_TOL, assert_close,
                     compare_with_torch, finite_difference_grad, needs_torch, torch)
from tinygrad_lr.autograd import Function, GradcheckError, gradcheck, gradgradcheck
from tinygrad_lr.kernels import threads as _parallel
from tinygrad_lr.kernels.pool import new_array
from tinygrad_lr.kernels.tuning import POOL_MIN_BYTES


# ---- the stable ops at extreme inputs ------------------------------------------------------------
def torch_nn() -> Any:
    """torch.nn.functional (looked up lazily: torch may be missing)."""
    return torch.nn.functional


STABLE_OPS: dict[str, tuple[Callable, Callable, float, dict]] = {
    # name: (ours, PyTorch's, lowest valid input, float32 tolerance)
    "sigmoid": (tl.sigmoid, lambda x: torch.sigmoid(x), -1e4, F32_ELEMENTWISE_TOL),
    "tanh": (tl.tanh, lambda x: torch.tanh(x), -1e4, F32_ELEMENTWISE_TOL),
    "log1p": (tl.log1p, lambda x: torch.log1p(x), float(np.float32(-0.999)), F32_ELEMENTWISE_TOL),
    "softplus": (tl.softplus, lambda x: torch_nn().softplus(x), -1e4, F32_ELEMENTWISE_TOL),
    "logsigmoid": (tl.logsigmoid, lambda x: torch_nn().logsigmoid(x), -1e4, F32_ELEMENTWISE_TOL),
    "logsumexp": (lambda x: tl.logsumexp(x, -1), lambda x: torch.logsumexp(x, -1), -1e4,
                  F32_REDUCTION_TOL),
}
EXTREMES = np.array([-1e4, -1e3, -104.0, -88.7, -30.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 30.0,
                     88.7, 104.0, 1e3, 1e4])


def extreme_inputs(name: str, dtype: type, repeats: int = 1) -> np.ndarray:
    """The extreme values inside the op's domain, as rows of 5 (logsumexp reduces each row),
    ``repeats`` times over (many repeats take the large-array paths)."""
    low = STABLE_OPS[name][2]
    values = np.clip(EXTREMES, low, None)
    return np.tile(values.reshape(3, 5), (repeats, 1)).astype(dtype)


def value_and_gradient(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and gradient (upstream of ones) with every floating-point warning an error but
    underflow: the tails are PyTorch's (exp(-100) is subnormal in float32, and sigmoid(-100)
    is 0), not floored."""
    t = tl.tensor(x, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = STABLE_OPS[name][0](t)
        out.backward(np.ones(out.shape, dtype=out.dtype))
    return out.detach().numpy(), t.grad.detach().numpy()


@pytest.mark.parametrize("repeats", [1, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", STABLE_OPS)
def test_stable_ops_are_finite_at_extremes(name: str, dtype: type, repeats: int) -> None:
    value, grad = value_and_gradient(name, extreme_inputs(name, dtype, repeats))
    assert value.dtype == grad.dtype == dtype
    assert np.all(np.isfinite(value)), f"{name}: value {value}"
    assert np.all(np.isfinite(grad)), f"{name}: gradient {grad}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", STABLE_OPS)
@given(data=st.data())
def test_stable_ops_are_finite_for_any_input_up_to_1e4(name: str, dtype: type,
                                                       data: st.DataObject) -> None:
    low = STABLE_OPS[name][2]
    # No subnormal inputs: NumPy's own float32 exp flags underflow for them (exp(-1e-44) == 1).
    elements = st.floats(low, 1e4, width=np.dtype(dtype).itemsize * 8, allow_subnormal=False)
    x = data.draw(arrays(dtype, array_shapes(min_dims=1, max_dims=2, max_side=4),
                         elements=elements))
    value, grad = value_and_gradient(name, x)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), f"{name}({x})"


@needs_torch
@pytest.mark.parametrize("repeats", [1, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", STABLE_OPS)
def test_stable_ops_match_torch_at_extremes(name: str, dtype: type, repeats: int) -> None:
    ours, theirs, _, f32_tol = STABLE_OPS[name]
    tol = TORCH64_TOL if dtype == np.float64 else f32_tol
    compare_with_torch(ours, theirs, [extreme_inputs(name, dtype, repeats)], tol, tol)


# ---- long products and mixed-sign logits ---------------------------------------------------------
@pytest.mark.parametrize("rows", [2 * 8192, 3 * 8192 + 77, 100_003])
def test_matrix_vector_gradient_over_many_rows_is_exact_to_float64(rows: int) -> None:
    """The weight gradient of X @ w is summed over blocks of rows (a remainder block included);
    it must match the float64 product."""
    rng = np.random.default_rng(rows)
    X = rng.standard_normal((rows, 7), dtype=np.float32)
    g = rng.standard_normal(rows, dtype=np.float32)
    w = tl.tensor(np.zeros(7, dtype=np.float32), requires_grad=True)
    (tl.from_numpy(X) @ w).backward(g)
    exact = g.astype(np.float64) @ X.astype(np.float64)
    assert w.grad.dtype == np.float32
    assert_close(w.grad.detach().numpy().astype(np.float64), exact, **F32_REDUCTION_TOL, what="blocked g @ X")


def test_matrix_vector_gradient_of_a_transposed_matrix_never_copies_it() -> None:
    """A matrix that is not C-contiguous takes the single product, giving the same gradient,
    and backward allocates nothing the size of X (NumPy reports its allocations to
    tracemalloc: a copy of X, even one freed before backward returns, shows in the peak)."""
    import tracemalloc
    rng = np.random.default_rng(5)
    XT = rng.standard_normal((5, 3 * 8192))
    g = rng.standard_normal(3 * 8192)
    w = tl.tensor(np.zeros(5), requires_grad=True)
    out = tl.from_numpy(XT).T @ w
    tracemalloc.start()
    try:
        out.backward(g)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < XT.nbytes // 4, f"backward allocated {peak} bytes at its peak; X has {XT.nbytes}"
    assert_close(w.grad.detach().numpy(), XT @ g, **FD_TOL, what="g @ X for a transposed X")


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_pooled_memory_is_handed_out_again_only_when_no_view_is_left() -> None:
    """Large op results live in pooled blocks: a block comes back only after its last view is
    gone, and small arrays never come from the pool."""
    size = POOL_MIN_BYTES // 4
    first = new_array((size,), np.float32)
    address = _address(first)
    view = first[:10].reshape(2, 5)
    del first
    second = new_array((size,), np.float32)
    assert _address(second) != address and not np.shares_memory(second, view)
    del view
    third = new_array((size // 2, 2), np.float32)
    assert _address(third) == address and third.shape == (size // 2, 2)
    small = new_array((10,), np.float64)
    assert small.base is None


def test_large_results_of_one_step_survive_the_next() -> None:
    """Two training steps on 300,000 rows (pooled results): what the first returned is intact
    after the second, and each step's gradients match float64."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300_000, 3), dtype=np.float32)
    y = (rng.random(300_000) < 0.5).astype(np.float32)
    w = tl.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    b = tl.tensor(np.zeros(1, dtype=np.float32), requires_grad=True)
    Xt, yt = tl.from_numpy(X), tl.from_numpy(y)
    kept = []
    for start in (0.5, -0.25):
        w.detach().numpy()[...] = start
        w.grad = b.grad = None
        logits = Xt @ w + b
        scaled = logits * 2.0 - logits
        tl.nn.functional.binary_cross_entropy_with_logits(scaled, yt).backward()
        kept.append((start, logits, logits.detach().numpy().copy(), scaled, w.grad.detach().numpy().copy()))
    for start, logits, copy, scaled, grad in kept:
        np.testing.assert_array_equal(logits.detach().numpy(), copy)
        np.testing.assert_array_equal(scaled.detach().numpy(), copy)
        z = X.astype(np.float64) @ np.full(3, start)
        exact = X.T.astype(np.float64) @ (np.exp(np.minimum(z, 0)) / (1 + np.exp(-np.abs(z)))
                                          - y) / y.size
        assert_close(grad.astype(np.float64), exact, **F32_REDUCTION_TOL, what="dL/dw")


@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_on_threads_is_bit_identical_to_one_thread(monkeypatch,
                                                                    weighted: bool) -> None:
    """From 2^18 elements the fused loss runs its passes on slices in several threads; loss and
    gradient must equal, bit for bit, those of one thread."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(300_001) * 30).astype(np.float32)
    y = rng.random(300_001).astype(np.float32)
    weight = rng.random(300_001).astype(np.float32) if weighted else None

    def loss_and_gradient() -> tuple[np.ndarray, np.ndarray]:
        logits = tl.tensor(x, requires_grad=True)
        loss = tl.nn.functional.binary_cross_entropy_with_logits(logits, tl.tensor(y),
                                                                 weight=weight)
        loss.backward()
        return loss.detach().numpy(), logits.grad.detach().numpy()

    monkeypatch.setattr(_parallel, "thread_count", lambda: 3)
    threaded = loss_and_gradient()
    monkeypatch.setattr(_parallel, "thread_count", lambda: 1)
    single = loss_and_gradient()
    for got, want in zip(threaded, single):
        np.testing.assert_array_equal(got, want)
    z = x.astype(np.float64)
    exact = (np.exp(np.minimum(z, 0)) / (1 + np.exp(-np.abs(z))) - y) / y.size
    if weighted:
        exact = exact * weight
    assert_close(threaded[1].astype(np.float64), exact, **F32_ELEMENTWISE_TOL, what="gradient")


def test_pools_of_two_threads_do_not_mix() -> None:
    """Each thread has its own pool (taking a block after checking its refcount is not atomic
    across threads): a block left free by this thread is not handed to another. Threads
    computing large products at once each get their own, correct, results."""
    size = POOL_MIN_BYTES // 4
    freed = new_array((size,), np.float32)
    address = _address(freed)
    del freed
    elsewhere: list[int] = []
    worker = threading.Thread(target=lambda: elsewhere.append(
        _address(new_array((size,), np.float32))))
    worker.start()
    worker.join()
    assert elsewhere[0] != address
    assert _address(new_array((size,), np.float32)) == address

    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(POOL_MIN_BYTES // 8 * 3) for _ in range(4)]
    expected = [a * a + a for a in arrays]
    results: list[Any] = [None] * 4

    def work(i: int) -> None:
        t = tl.from_numpy(arrays[i])
        for _ in range(20):
            results[i] = (t * t + t).detach().numpy()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("repeats", [1, 500])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_on_mixed_signs(dtype: type, repeats: int) -> None:
    """The derivative sigmoid(x) - y is accurate for every sign (exactly 0 where PyTorch's e^-x
    overflows), and the summed loss is exact; 500 repeats take the large-array path
    (pooled buffers, x (mask - y) summed as a dot product). Underflow is allowed: the tails are
    PyTorch's, not floored."""
    x = np.tile(np.array([-1e4, -30.0, -2.5, -1e-3, -0.0, 0.0, 1e-3, 2.5, 30.0, 1e4], dtype=dtype),
                repeats)
    y = np.tile(np.linspace(0, 1, 10), repeats).astype(dtype)
    logits = tl.tensor(x, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        loss = tl.nn.functional.binary_cross_entropy_with_logits(logits, tl.tensor(y),
                                                                 reduction="sum")
        loss.backward()
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    exact_grad = np.exp(np.minimum(x64, 0)) / (1 + np.exp(-np.abs(x64))) - y64
    exact_loss = np.sum(np.log1p(np.exp(-np.abs(x64))) + np.maximum(x64, 0) - x64 * y64)
    grad_tol = FD_TOL if dtype == np.float64 else F32_ELEMENTWISE_TOL
    loss_tol = TORCH64_TOL if dtype == np.float64 else F32_REDUCTION_TOL
    assert_close(logits.grad.detach().numpy().astype(np.float64), exact_grad, **grad_tol, what="sigmoid(x) - y")
    assert_close(np.float64(loss.item()), exact_loss, **loss_tol, what="summed loss")


# ---- gradcheck and gradgradcheck on composite functions ------------------------------------------
RNG = np.random.default_rng(1234)
COMPOSITES: dict[str, tuple[Callable, tuple[np.ndarray, ...]]] = {
    "elementwise_broadcast": (
        lambda x, y: (x.sigmoid() * y.tanh() + (x - y) ** 2 / (1 + y * y)).sum(0),
        (RNG.standard_normal((3, 2)), RNG.standard_normal((1, 2)))),
    "matmul_softplus_logsumexp_std": (
        lambda x, w: tl.softplus(x @ w).logsumexp(-1) - x.std(0).sum() + x.var(1),
        (RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2)))),
    "indexing_prod_cat_amax": (
        lambda x: x[[0, 0, 2]].prod(0) * x.amax() + tl.cat([x, x.exp()]).mean(0)
        + tl.stack([x, x * x]).logsumexp((0, 1)),
        (np.array([[0.3, -1.2], [0.9, 1.7], [-0.4, 0.6]]),)),
    "where_div_log_pow": (
        lambda x, y: tl.where(np.array([True, False, True]), x / y, (x * x).log1p()) + y ** x
        + (x.abs() + 1).log() * tl.maximum(x, y).sqrt(),
        (np.array([0.7, 1.3, 0.2]), np.array([1.1, 0.4, 2.0]))),
}


@pytest.mark.parametrize("name", COMPOSITES)
def test_gradcheck_and_gradgradcheck_pass_on_composites(name: str) -> None:
    fn, values = COMPOSITES[name]
    inputs = tuple(tl.tensor(v, requires_grad=True) for v in values)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ---- planted wrong derivatives ------------------------------------------------------------------
class Sin(Function):
    """sin with its true derivative cos (array rules only: enough for first derivatives)."""
    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sin(x)

    def backward(self, g: Any, xp: Any, x: Any) -> Any:
        return g * np.cos(x)


class SinWithWrongDerivative(Sin):
    """The planted bug: d sin(x) = +sin(x) instead of cos(x)."""
    __slots__ = ()

    def backward(self, g: Any, xp: Any, x: Any) -> Any:
        return g * np.sin(x)


class MulWithWrongSecondInputRule(Function):
    """x * y whose rule for y uses y instead of x: only input 1 is wrong."""
    __slots__ = ()

    def forward(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return x * y

    def backward(self, g: Any, xp: Any, x: Any, y: Any) -> Any:
        return g * y, g * y


class Square(Function):
    """x * x with a rule that is itself differentiable."""
    __slots__ = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * x

    def backward(self, g: Any, xp: Any, x: Any) -> Any:
        return g * 2 * x


class SquareWithDetachedRule(Square):
    """Right first derivative, but the rule detaches x when building a graph: second derivatives
    through it are silently zero."""
    __slots__ = ()

    def backward(self, g: Any, xp: Any, x: Any) -> Any:
        return g * 2 * (x.detach() if xp.graph else x)


X = np.array([[0.3, 1.2, -2.5], [2.0, -0.7, 0.9]])
NUMBER = r"-?\d+\.\d+(?:e[-+]?\d+)?"


def test_gradcheck_accepts_the_true_derivative() -> None:
    assert gradcheck(Sin.apply, (tl.tensor(X, requires_grad=True),))
    assert gradgradcheck(Square.apply, (tl.tensor(X, requires_grad=True),))


def test_gradcheck_reports_a_planted_wrong_derivative_precisely() -> None:
    atol, rtol = 1e-5, 1e-3
    with pytest.raises(GradcheckError) as info:
        gradcheck(SinWithWrongDerivative.apply, (tl.tensor(X, requires_grad=True),), atol=atol,
                  rtol=rtol)
    message = str(info.value)
    wrong = np.abs(np.sin(X) - np.cos(X)) > atol + rtol * np.abs(np.cos(X))
    element = tuple(int(i) for i in np.argwhere(wrong)[0])   # the first element gradcheck meets
    assert "input 0" in message
    assert f"element {element}" in message, message
    values_part = message.split("element")[-1]
    analytical, numerical = (float(v) for v in re.findall(NUMBER, values_part)[-2:])
    assert analytical == pytest.approx(np.sin(X[element]), abs=1e-12), message
    assert numerical == pytest.approx(np.cos(X[element]), abs=1e-6), message


def test_gradcheck_names_the_input_whose_rule_is_wrong() -> None:
    x, y = tl.tensor(X, requires_grad=True), tl.tensor(X[::-1].copy(), requires_grad=True)
    assert gradcheck(MulWithWrongSecondInputRule.apply, (x, tl.tensor(X[::-1].copy())))
    with pytest.raises(GradcheckError, match=r"input 1\b.*element \(0, 0\)"):
        gradcheck(MulWithWrongSecondInputRule.apply, (x, y))


def test_gradgradcheck_catches_a_rule_that_is_not_differentiable() -> None:
    x = tl.tensor(X, requires_grad=True)
    assert gradcheck(SquareWithDetachedRule.apply, (x,))
    with pytest.raises(GradcheckError, match=r"input 0"):
        gradgradcheck(SquareWithDetachedRule.apply, (x,))


def test_finite_difference_helper_catches_the_planted_wrong_derivative() -> None:
    upstream = np.random.default_rng(0).standard_normal(X.shape)

    def objective(values: np.ndarray) -> float:
        return float(np.sum(Sin.apply(tl.tensor(values)).detach().numpy() * upstream))

    expected = finite_difference_grad(objective, X)
    for op, correct in ((Sin, True), (SinWithWrongDerivative, False)):
        x = tl.tensor(X, requires_grad=True)
        (grad,) = tl.autograd.grad(op.apply(x), x, upstream)
        if correct:
            assert_close(grad, expected, **FD_TOL, what="true derivative")
        else:
            with pytest.raises(AssertionError):
                assert_close(grad, expected, **FD_TOL, what="planted wrong derivative")


# ---- random composite programs against PyTorch ---------------------------------------------------
def both(fn: Callable) -> tuple[Callable, Callable]:
    """A step spelled the same way for both libraries (operators and shared method names)."""
    return fn, fn


# Every step keeps values within a few units (|x| <= 8 after any program): at large arguments the
# derivatives of tanh and sigmoid, computed from their outputs as (1 - t)(1 + t) and s (1 - s),
# lose relative precision, differently in each library, and a final product amplifies that.
UNARY_STEPS: dict[str, tuple[Callable, Callable]] = {
    "tanh": both(lambda a: a.tanh()),
    "sigmoid": both(lambda a: a.sigmoid()),
    "softplus": (tl.softplus, lambda a: torch_nn().softplus(a)),
    "logsigmoid": (tl.logsigmoid, lambda a: torch_nn().logsigmoid(a)),
    "neg": both(lambda a: -a),
    "damped_square": both(lambda a: a * a.tanh()),
    "damped_cube": both(lambda a: a ** 3 / (1 + a * a)),
    "affine": both(lambda a: 0.5 * a - 0.25),
    "gaussian": both(lambda a: (-(a * a)).exp()),
    "sqrt_1p_square": both(lambda a: (a * a + 1).sqrt()),
    "log1p_square": both(lambda a: (a * a).log1p()),
    "reciprocal_1p_square": both(lambda a: 1 / (1 + a * a)),
    "abs": both(lambda a: a.abs()),
    "relu": both(lambda a: a.relu()),
    "clamp": both(lambda a: a.clamp(-1.0, 1.0)),
    "two_to_the": both(lambda a: 2.0 ** a.tanh()),
    "reshape_roundtrip": both(lambda a: a.reshape(-1).reshape(a.shape)),
    "transpose_roundtrip": both(lambda a: a.transpose(0, -1).transpose(0, -1)),
}
BINARY_STEPS: dict[str, tuple[Callable, Callable]] = {
    "add": both(lambda a, b: (a + b) / 2),
    "sub": both(lambda a, b: (a - b) / 2),
    "mul": both(lambda a, b: a * b.tanh()),
    "div": both(lambda a, b: a / (1 + b * b)),
    # The exponent never reaches 0, where PyTorch drops the mixed second derivative of x ** y.
    "pow": both(lambda a, b: (1 + a.tanh() ** 2) ** (b.tanh() + 1.5)),
    "maximum": (tl.maximum, lambda a, b: torch.maximum(a, b)),
    "minimum": (tl.minimum, lambda a, b: torch.minimum(a, b)),
    "where": (lambda a, b: tl.where(a > b, a, 2 * b), lambda a, b: torch.where(a > b, a, 2 * b)),
}
def tie_breaker(shape: tuple[int, ...]) -> np.ndarray:
    """0.01 per position: equal values (common: hypothesis likes constant inputs) would tie in amax,
    and PyTorch's vectorized and scalar loops can round equal values differently, splitting ties
    differently."""
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 0.01


FINAL_REDUCTIONS: dict[str, tuple[Callable, Callable]] = {
    "sum": both(lambda a: a.sum()),
    "mean": both(lambda a: a.mean()),
    "var": both(lambda a: a.var()),
    "logsumexp": (lambda a: a.logsumexp(-1).sum(), lambda a: a.logsumexp(-1).sum()),
    "amax": (lambda a: (a + tie_breaker(a.shape)).amax(),
             lambda a: (a + torch.from_numpy(tie_breaker(a.shape))).amax()),
    "prod": both(lambda a: (a.tanh() + 2).prod()),
}


@st.composite
def programs(draw: Any) -> tuple[list[tuple[str, int]], str]:
    """3-8 steps (a unary step, or a binary step with input 0 or 1) and a final reduction."""
    step = st.one_of(st.tuples(st.sampled_from(sorted(UNARY_STEPS)), st.just(-1)),
                     st.tuples(st.sampled_from(sorted(BINARY_STEPS)), st.integers(0, 1)))
    final = st.sampled_from(sorted(FINAL_REDUCTIONS))
    return draw(st.lists(step, min_size=3, max_size=8)), draw(final)


def run(program: tuple[list[tuple[str, int]], str], side: int) -> Callable:
    """The program as a function of (x, y) in one library (side 0: ours, 1: PyTorch)."""
    steps, final = program

    def function(x: Any, y: Any) -> Any:
        h = x
        for name, operand in steps:
            if operand < 0:
                h = UNARY_STEPS[name][side](h)
            else:
                h = BINARY_STEPS[name][side](h, (x, y)[operand])
        return FINAL_REDUCTIONS[final][side](h)
    return function


@st.composite
def program_inputs(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    """x of at least two elements and y broadcasting to x's shape (dims dropped or set to 1)."""
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=3))
    y_shape = tuple(1 if draw(st.booleans()) else n for n in shape)
    y_shape = y_shape[draw(st.integers(0, len(shape))):]
    # No magnitudes below 1e-100 (0 itself stays): their squares are subnormal, and PyTorch's
    # log1p flushes subnormals to 0 (NumPy's does not), which can land a value on abs's kink.
    values = st.floats(-2, 2).filter(lambda v: v == 0 or abs(v) >= 1e-100)
    return (draw(arrays(np.float64, shape, elements=values)),
            draw(arrays(np.float64, y_shape, elements=values)))


@needs_torch
@given(program=programs(), inputs=program_inputs(), seed=st.integers(0, 2**32 - 1))
def test_random_programs_match_torch(program: tuple, inputs: tuple, seed: int) -> None:
    compare_with_torch(run(program, 0), run(program, 1), list(inputs), TORCH64_TOL, TORCH64_TOL,
                       second_order=True, seed=seed)
