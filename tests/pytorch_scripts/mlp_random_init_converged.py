# A small MLP with PyTorch's default random initialisation, shuffled minibatches and Adam:
# the two libraries draw different random numbers, so only converged quantities are printed.
# Measured over 10 seeds: PyTorch's test accuracy 0.98-0.99 and test loss 0.04-0.07,
# tinygrad_lr's 0.97-0.99 and 0.03-0.07.
# corpus: rtol=0 atol=0.05
import numpy as np
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
rng = np.random.RandomState(0)
X = rng.uniform(-1, 1, size=(400, 2)).astype(np.float32)
y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5).astype(np.float32)

X_train, X_test = torch.tensor(X[:300]), torch.tensor(X[300:])
y_train, y_test = torch.tensor(y[:300]).unsqueeze(1), torch.tensor(y[300:]).unsqueeze(1)

model = nn.Sequential(
    nn.Linear(2, 32),
    nn.Tanh(),
    nn.Linear(32, 32),
    nn.Tanh(),
    nn.Linear(32, 1),
)
loss_fn = nn.BCEWithLogitsLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=30, shuffle=True)

for epoch in range(100):
    model.train()
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

model.eval()
with torch.no_grad():
    logits = model(X_test)
    test_loss = loss_fn(logits, y_test).item()
    preds = (torch.sigmoid(logits) > 0.5).float()
    acc = (preds == y_test).float().mean().item()
print(f"test accuracy: {acc:.2f}")
print(f"test loss: {test_loss:.2f}")
