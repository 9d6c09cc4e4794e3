# Logistic regression with the old-style .data updates and .grad.data.zero_().
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch

rng = np.random.RandomState(42)
X = np.vstack([rng.randn(50, 2) + [2, 2], rng.randn(50, 2) + [-2, -2]])
Y = np.hstack([np.ones(50), np.zeros(50)])

x = torch.tensor(X, dtype=torch.float64)
y = torch.tensor(Y, dtype=torch.float64).view(-1, 1)

W = torch.tensor(rng.randn(2, 1) * 0.01, dtype=torch.float64, requires_grad=True)
b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
lr = 0.5

for i in range(100):
    z = x.mm(W) + b
    h = torch.sigmoid(z)
    loss = -(y * torch.log(h) + (1 - y) * torch.log(1 - h)).mean()
    loss.backward()
    W.data -= lr * W.grad.data
    b.data -= lr * b.grad.data
    W.grad.data.zero_()
    b.grad.data.zero_()
    if i % 10 == 0:
        print(i, loss.item())

pred = (torch.sigmoid(x.mm(W) + b) > 0.5).float()
accuracy = (pred == y).float().mean()
print("accuracy:", accuracy.item())
print(W.data.view(-1).tolist(), b.item())
