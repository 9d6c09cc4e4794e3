# Least squares three ways: the normal equation with inverse, with linalg.solve, and gradient
# descent; plus norms of the residual.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch

rng = np.random.default_rng(5)
X_np = np.c_[np.ones(50), rng.normal(size=(50, 2))]
theta_true = np.array([1.0, 2.0, -3.0])
y_np = X_np @ theta_true + 0.1 * rng.normal(size=50)

X = torch.tensor(X_np)
y = torch.tensor(y_np).reshape(-1, 1)

theta_inv = torch.inverse(X.T @ X) @ X.T @ y
theta_solve = torch.linalg.solve(X.T @ X, X.T @ y)
print(theta_inv.flatten())
print(torch.allclose(theta_inv, theta_solve))

theta = torch.zeros(3, 1, dtype=torch.float64, requires_grad=True)
for i in range(300):
    loss = torch.mean((X @ theta - y) ** 2)
    loss.backward()
    with torch.no_grad():
        theta -= 0.1 * theta.grad
        theta.grad.zero_()
print(theta.detach().flatten(), loss.item())

residual = X @ theta_solve - y
print(torch.norm(residual).item(), residual.norm(p=1).item(), torch.linalg.norm(residual).item())
print(torch.dot(residual.flatten(), residual.flatten()).item())
print(torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0, 5.0])))

A = torch.tensor([[4.0, 1.0], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
b = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
x = torch.linalg.solve(A, b)
x.sum().backward()
print(x.detach(), A.grad, b.grad)
Ainv = torch.linalg.inv(A)
print(Ainv @ A)
