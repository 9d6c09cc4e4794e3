"""Logistic regression from scratch: the vectorized gradient by hand beside the engine's.

Model and loss (m examples, X with a leading column of ones so theta[0] is the bias):

    h = sigmoid(X theta)                                   (predicted probabilities)
    J(theta) = -1/m * sum(y log h + (1 - y) log(1 - h))    (binary cross-entropy)
    grad J   = X^T (h - y) / m                             (the vectorized gradient)

Run: python examples/02_logistic_from_scratch.py [--steps N]
"""
import argparse

import numpy as np

import tinygrad_lr as tl

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=1000, help="gradient-descent steps (default 1000)")
parser.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
args = parser.parse_args()

# Data: m = 100 points, two features, labels from a noisy linear rule with theta_true = (1, 2, 3).
rng = np.random.default_rng(0)
m = 100
theta_true = np.array([1.0, 2.0, 3.0])
features = rng.standard_normal((m, 2))
X = np.hstack([np.ones((m, 1)), features])                 # bias column x0 = 1
y = (X @ theta_true + 0.2 * rng.standard_normal(m) > 0).astype(np.float64)

# 80/20 split: the first 80 shuffled rows train, the other 20 test.
order = rng.permutation(m)
train, test = order[:80], order[80:]
X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]


def sigmoid(t: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-t))


def loss_tensor(theta: tl.Tensor, X: np.ndarray, y: np.ndarray) -> tl.Tensor:
    """J(theta) written with engine ops, so backward() gives its gradient."""
    h = tl.sigmoid(tl.tensor(X) @ theta)                     # h = sigmoid(X theta)
    return -(y * tl.log(h) + (1 - y) * tl.log(1 - h)).mean()  # J = -mean(y log h + (1-y) log(1-h))


# 1. The gradient at a random theta: by hand (vectorized) and by the engine.
theta0 = rng.standard_normal(3)
grad_by_hand = X_train.T @ (sigmoid(X_train @ theta0) - y_train) / len(y_train)  # X^T (h - y) / m
theta = tl.tensor(theta0, requires_grad=True)               # float64, as the array is
loss_tensor(theta, X_train, y_train).backward()
print("gradient by hand :", np.array2string(grad_by_hand, precision=12))
print("gradient (engine):", np.array2string(theta.grad.numpy(), precision=12))
assert np.allclose(theta.grad.numpy(), grad_by_hand, rtol=0, atol=1e-12)
print("max difference   :", f"{np.abs(theta.grad.numpy() - grad_by_hand).max():.1e}")

# 2. Gradient descent: theta <- theta - lr * grad J, with the engine computing grad J.
theta = tl.zeros(3, dtype=tl.float64, requires_grad=True)
for step in range(args.steps + 1):
    loss = loss_tensor(theta, X_train, y_train)
    if step % max(1, args.steps // 5) == 0:
        print(f"step {step:5d}   training loss {loss.item():.4f}")
    if step == args.steps:
        break
    loss.backward()
    with tl.no_grad():             # the update itself must not be recorded in the graph
        theta -= args.lr * theta.grad
    theta.grad.zero_()             # gradients accumulate: clear them before the next backward

theta_hat = theta.detach().numpy()
with tl.no_grad():
    test_loss = loss_tensor(theta, X_test, y_test).item()
accuracy = ((X_test @ theta_hat > 0) == (y_test == 1)).mean()   # predict 1 where h > 1/2
# Near-separable data lets |theta| keep growing; its direction is what fits theta_true's.
print(f"learned theta {np.array2string(theta_hat, precision=3)}, scaled to theta[0] = 1: "
      f"{np.array2string(theta_hat / theta_hat[0], precision=2)}   (theta_true {theta_true})")
print(f"test loss {test_loss:.4f}   test accuracy {accuracy:.2f}")
