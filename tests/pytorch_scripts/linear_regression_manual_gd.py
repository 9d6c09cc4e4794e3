# Linear regression from scratch: y = 2x + 1 with manual gradient descent.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch

np.random.seed(0)
x_np = np.random.rand(100, 1).astype(np.float32)
y_np = (2 * x_np + 1 + 0.1 * np.random.randn(100, 1)).astype(np.float32)

x = torch.from_numpy(x_np)
y = torch.from_numpy(y_np)

w = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
learning_rate = 0.1

for epoch in range(200):
    y_pred = x * w + b
    loss = ((y_pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad
    w.grad.zero_()
    b.grad.zero_()
    if (epoch + 1) % 20 == 0:
        print(f"Epoch [{epoch + 1}/200], Loss: {loss.item():.4f}")

print("w =", w.item(), "b =", b.item())
print(w, b)
