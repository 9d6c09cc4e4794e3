"""The PyTorch training loop, written once and run on tinygrad_lr (and on PyTorch when installed).

    z = x w^T + b                  (mm: (n, 10) @ (10, 1) -> (n, 1))
    p = sigmoid(z)                 (probability of class 1)
    L = BCE(p, y) = -mean(y log p + (1 - y) log(1 - p))
    w <- w - lr dL/dw,  b <- b - lr dL/db    (under no_grad, then grad.zero_())

`train` takes the library (`tinygrad_lr` or `torch`) and its `nn.functional` as arguments: the
loop body is the same text for both, which is the point of PyTorch's names and semantics.

Run: python examples/03_pytorch_style.py [--epochs N]
"""
import argparse
import time
from types import ModuleType
from typing import Any

import numpy as np

import tinygrad_lr as tl
import tinygrad_lr.nn.functional as tl_F
from tinygrad_lr.data import make_classification

try:
    import torch
    import torch.nn.functional as torch_F
except ImportError:
    torch = None


def train(lib: ModuleType, F: ModuleType, x: Any, y: Any, w: Any, b: Any, epochs: int,
          lr: float) -> list[float]:
    """Plain gradient descent on the binary cross-entropy; returns the loss of every epoch."""
    losses = []
    for _ in range(epochs):
        p = lib.sigmoid(lib.mm(x, w.t()) + b)    # p = sigmoid(x w^T + b)
        loss = F.binary_cross_entropy(p, y)      # mean BCE
        loss.backward()                          # dL/dw, dL/db into w.grad, b.grad
        with lib.no_grad():                      # the update is not part of the model
            w -= lr * w.grad                     # w <- w - lr dL/dw
            b -= lr * b.grad
        w.grad.zero_()                           # backward() accumulates: reset
        b.grad.zero_()
        losses.append(loss.item())
    return losses


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=200, help="training epochs (default 200)")
args = parser.parse_args()
LR = 0.5

X, y = make_classification(n_samples=500, n_features=10, n_informative=4, random_state=0)
X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)

tl.manual_seed(0)
w = tl.randn(1, 10, requires_grad=True)          # one weight per feature, float32 like PyTorch
b = tl.zeros(1, requires_grad=True)
w_init, b_init = w.detach().numpy().copy(), b.detach().numpy().copy()

start = time.perf_counter()
ours = train(tl, tl_F, tl.tensor(X), tl.tensor(y), w, b, args.epochs, LR)
print(f"tinygrad_lr: loss {ours[0]:.4f} -> {ours[-1]:.6f}  ({time.perf_counter() - start:.2f} s)")
accuracy = (((X @ w.detach().numpy().T + b.detach().numpy()) > 0) == (y == 1)).mean()
print(f"tinygrad_lr: training accuracy {accuracy:.3f}")

if torch is None:
    # Pinned: without a version, pip can pull gigabytes of CUDA packages along with PyTorch.
    print("PyTorch is not installed: skipping the side-by-side run "
          "(pip install torch==2.13.0)")
else:
    # The same initial weights, copied into PyTorch leaves.
    w_torch = torch.tensor(w_init, requires_grad=True)
    b_torch = torch.tensor(b_init, requires_grad=True)
    start = time.perf_counter()
    theirs = train(torch, torch_F, torch.from_numpy(X), torch.from_numpy(y), w_torch, b_torch,
                   args.epochs, LR)
    print(f"PyTorch:     loss {theirs[0]:.4f} -> {theirs[-1]:.6f}  "
          f"({time.perf_counter() - start:.2f} s)")
    gap = np.abs(w.detach().numpy() - w_torch.detach().numpy()).max()
    print(f"largest difference between the final weights: {gap:.2e} (float32 rounding)")
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
