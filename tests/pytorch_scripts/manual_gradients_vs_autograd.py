# Checking autograd against hand-derived gradients of logistic and softmax regression, the way
# course notebooks do, then a numerical gradient check by central differences.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(8)
m, n, k = 30, 4, 3
X = torch.tensor(rng.randn(m, n))
y = torch.tensor(rng.randint(0, 2, m)).double()
labels = torch.tensor(rng.randint(0, k, m))

w = torch.tensor(rng.randn(n) * 0.1, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
a = torch.sigmoid(X @ w + b)
J = -(y * torch.log(a) + (1 - y) * torch.log(1 - a)).mean()
J.backward()
dz = (a - y).detach()
dw = X.T @ dz / m
db = dz.mean()
print(J.item(), (w.grad - dw).abs().max().item(), (b.grad - db).abs().item())

W = torch.tensor(rng.randn(n, k) * 0.1, requires_grad=True)
logits = X @ W
loss = torch.nn.functional.cross_entropy(logits, labels)
loss.backward()
P = torch.softmax(logits.detach(), dim=1)
Y = torch.nn.functional.one_hot(labels, k).double()
dW = X.T @ (P - Y) / m
print(loss.item(), torch.allclose(W.grad, dW), (W.grad - dW).norm().item() < 1e-12)


def f(theta):
    return torch.log1p(torch.exp(-(X @ theta) * (2 * y - 1))).mean()


theta = torch.tensor(rng.randn(n), requires_grad=True)
f(theta).backward()
eps = 1e-6
numeric = torch.zeros(n)
with torch.no_grad():
    for i in range(n):
        e = torch.zeros(n)
        e[i] = eps
        numeric[i] = (f(theta + e) - f(theta - e)) / (2 * eps)
print(theta.grad)
print((theta.grad - numeric).abs().max().item() < 1e-8)
H = torch.autograd.functional.hessian(f, theta.detach())
print(H.shape, torch.allclose(H, H.T), torch.diag(H))
