"""The kernel layer: every fast kernel equals its plain reference (bit for bit where the
arithmetic is the same), on small arrays, pooled large ones and slices run on several threads;
the tuning constants come from the environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lr.kernels import elementwise, products, threads
from tinygrad_lr.kernels.tuning import POOL_MIN_BYTES, ROW_BLOCK

SIZES = [5, POOL_MIN_BYTES // 8 + 3]  # small, and large enough to be pooled (as float64)


@pytest.fixture(params=[False, True], ids=["one-thread", "threaded"])
def split(request, monkeypatch):
    """Run threads.run's kernels on three slices of anything over 1,000 elements."""
    if request.param:
        monkeypatch.setattr(threads, "MIN_SLICE", 1000)
        monkeypatch.setattr(threads, "thread_count", lambda: 3)
    return request.param


def _values(n: int, dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 40
    x[:5] = [-1e4, -100.0, -88.0, 0.0, 750.0][:min(5, n)]
    return x.astype(dtype)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_its_reference_bit_for_bit(n: int, dtype: type) -> None:
    x = _values(n, dtype)
    np.testing.assert_array_equal(elementwise.sigmoid(x), elementwise.sigmoid_reference(x))
    for value in x[:5]:  # NumPy scalars, as scalar graphs pass them
        assert elementwise.sigmoid(value) == elementwise.sigmoid_reference(value)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name, ufunc", [("add", np.add), ("subtract", np.subtract),
                                         ("multiply", np.multiply)])
def test_pooled_arithmetic_is_the_ufunc(n: int, name: str, ufunc: np.ufunc) -> None:
    x, y = _values(n, np.float64, 1), _values(n, np.float64, 2)
    for other in (y, y[:1], np.float64(1.5)):
        np.testing.assert_array_equal(getattr(elementwise, name)(x, other), ufunc(x, other))


@pytest.mark.parametrize("n", SIZES)
def test_softplus_is_its_reference(n: int) -> None:
    x = _values(n, np.float64)
    np.testing.assert_array_equal(elementwise.softplus(x), elementwise.softplus_reference(x))


@pytest.mark.parametrize("n", SIZES + [50_000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_logistic_loss_and_gradient_equal_their_references(n: int, dtype: type,
                                                                 split: bool) -> None:
    x = _values(n, dtype)
    y = (np.random.default_rng(3).random(n) > 0.5).astype(dtype)
    total, e, nonnegative = elementwise.bce_with_logits_sum(x, y)
    expected = elementwise.bce_with_logits_sum_reference(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(total, expected, rtol=1e-12 if dtype == np.float64 else 1e-5)
    saved = e.copy(), nonnegative.copy()
    for g in (dtype(1.0 / n), np.random.default_rng(4).standard_normal(n).astype(dtype)):
        np.testing.assert_array_equal(elementwise.bce_with_logits_grad(e, nonnegative, x, y, g),
                                      elementwise.bce_with_logits_grad_reference(x, y, g))
    np.testing.assert_array_equal(e, saved[0], err_msg="e changed: a second backward would differ")
    np.testing.assert_array_equal(nonnegative, saved[1])


@pytest.mark.parametrize("rows", [7, POOL_MIN_BYTES // 8 + 5, 2 * ROW_BLOCK + 77])
def test_products_equal_their_references(rows: int) -> None:
    rng = np.random.default_rng(5)
    a, w, v = rng.standard_normal((rows, 6)), rng.standard_normal(6), rng.standard_normal(rows)
    np.testing.assert_allclose(products.matmul(a, w), products.matmul_reference(a, w),
                               rtol=1e-13)
    np.testing.assert_allclose(products.vector_matrix(v, a),
                               products.vector_matrix_reference(v, a), rtol=1e-11)


def test_tuning_constants_come_from_the_environment() -> None:
    code = ("from tinygrad_lr.kernels import tuning; "
            "print(tuning.ROW_BLOCK, tuning.MIN_SLICE, tuning.MAIN_SHARE)")
    env = dict(os.environ, TINYGRAD_LR_ROW_BLOCK="64", TINYGRAD_LR_MAIN_SHARE="1.5")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=root).stdout.split()
    assert out == ["64", str(1 << 17), "1.5"]
    env["TINYGRAD_LR_ROW_BLOCK"] = "many"
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=root)
    assert failed.returncode != 0
    assert "TINYGRAD_LR_ROW_BLOCK='many' is not an integer" in failed.stderr
