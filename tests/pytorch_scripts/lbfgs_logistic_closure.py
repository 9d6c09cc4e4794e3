# Full-batch logistic regression with L-BFGS and a closure, L2 penalty added by hand.
# corpus: rtol=1e-6 atol=1e-8
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(3)
X = torch.tensor(rng.normal(size=(120, 3)))
y = (X @ torch.tensor([1.0, -1.0, 0.5]) + 0.4 * torch.tensor(rng.normal(size=120)) > 0).double()

w = torch.zeros(3, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
optimizer = torch.optim.LBFGS([w, b], lr=1, max_iter=50, history_size=10,
                              line_search_fn="strong_wolfe")
criterion = torch.nn.BCEWithLogitsLoss()


def closure():
    optimizer.zero_grad()
    loss = criterion(X @ w + b, y) + 0.01 * w.pow(2).sum()
    loss.backward()
    return loss


for i in range(3):
    loss = optimizer.step(closure)
    print(i, f"{loss.item():.8f}")
print(w.detach(), b.detach())
with torch.no_grad():
    acc = ((torch.sigmoid(X @ w + b) > 0.5).double() == y).double().mean()
print(f"accuracy {acc.item():.4f}")
