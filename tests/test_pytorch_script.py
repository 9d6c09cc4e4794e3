"""A PyTorch training script runs unchanged on tinygrad_lr: each script below is written once and
takes the library modules as parameters, so only the imports differ between the two runs."""
from __future__ import annotations

from types import ModuleType

import numpy as np

import tinygrad_lr
import tinygrad_lr.nn
import tinygrad_lr.nn.functional
from helpers import needs_torch, torch

# Both runs do the same float64 operations in the same order; 1e-10 allows for the different
# summation orders of the two libraries' reductions, accumulated over 100 steps.
SCRIPT_TOL = dict(rtol=1e-10, atol=1e-10)
STEPS = 100


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A linearly separable-ish problem in float64 and the initial weights w (1, 10), b (1,)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 10))
    true_w = rng.standard_normal(10)
    y = (x @ true_w + 0.5 * rng.standard_normal(64) > 0).astype(np.float64).reshape(-1, 1)
    return x, y, rng.standard_normal((1, 10)), np.zeros(1)


def logistic_regression_script(lib: ModuleType, F: ModuleType, x_data: np.ndarray,
                               y_data: np.ndarray, w_init: np.ndarray, b_init: np.ndarray,
                               lr: float = 0.1) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The seed-style script: w = randn(1, 10, requires_grad=True) (here the given values),
    sigmoid(mm(x, w.T) + b), binary cross-entropy, backward, update under no_grad, zero_."""
    x = lib.tensor(x_data)
    y = lib.tensor(y_data)
    w = lib.tensor(w_init, requires_grad=True)
    b = lib.tensor(b_init, requires_grad=True)
    losses = []
    for _ in range(STEPS):
        y_hat = lib.sigmoid(lib.mm(x, w.T) + b)
        loss = F.binary_cross_entropy(y_hat, y)
        loss.backward()
        with lib.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    return losses, w.detach().numpy(), b.detach().numpy()


def module_script(lib: ModuleType, nn: ModuleType, x_data: np.ndarray, y_data: np.ndarray,
                  w_init: np.ndarray, b_init: np.ndarray, lr: float = 0.5,
                  ) -> tuple[list[float], np.ndarray, np.ndarray]:
    """The same model as an nn.Linear trained on BCEWithLogitsLoss, weights loaded through
    load_state_dict, gradients clipped, and the update done by hand over parameters()."""
    model = nn.Sequential(nn.Linear(10, 1, dtype=lib.float64))
    model.load_state_dict({"0.weight": lib.tensor(w_init), "0.bias": lib.tensor(b_init)})
    criterion = nn.BCEWithLogitsLoss()
    x, y = lib.tensor(x_data), lib.tensor(y_data)
    losses = []
    for _ in range(STEPS):
        model.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        with lib.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        losses.append(loss.item())
    state = model.state_dict()
    return losses, state["0.weight"].numpy(), state["0.bias"].numpy()


def _compare(ours: tuple, theirs: tuple) -> None:
    losses, w, b = ours
    t_losses, t_w, t_b = theirs
    np.testing.assert_allclose(losses, t_losses, **SCRIPT_TOL)
    np.testing.assert_allclose(w, t_w, **SCRIPT_TOL)
    np.testing.assert_allclose(b, t_b, **SCRIPT_TOL)
    assert w.dtype == np.float64 and b.dtype == np.float64
    assert losses[-1] < 0.6 * losses[0], "the script should have trained the model"


@needs_torch
def test_logistic_regression_script_runs_the_same_under_both_libraries():
    import torch.nn.functional as torch_F
    data = _data()
    ours = logistic_regression_script(tinygrad_lr, tinygrad_lr.nn.functional, *data)
    theirs = logistic_regression_script(torch, torch_F, *data)
    _compare(ours, theirs)


@needs_torch
def test_module_script_runs_the_same_under_both_libraries():
    import torch.nn
    data = _data(1)
    ours = module_script(tinygrad_lr, tinygrad_lr.nn, *data)
    theirs = module_script(torch, torch.nn, *data)
    _compare(ours, theirs)


def test_logistic_regression_script_does_not_change_the_given_arrays():
    data = _data(2)
    copies = [a.copy() for a in data]
    logistic_regression_script(tinygrad_lr, tinygrad_lr.nn.functional, *data)
    for a, c in zip(data, copies):
        np.testing.assert_array_equal(a, c)


def test_zero_learning_rate_keeps_the_initial_weights():
    data = _data(3)
    losses, w, b = logistic_regression_script(tinygrad_lr, tinygrad_lr.nn.functional, *data,
                                              lr=0.0)
    np.testing.assert_array_equal(w, data[2])
    np.testing.assert_array_equal(b, data[3])
    assert len(set(losses)) == 1
