# Logistic regression on two moons-like blobs, then predictions over a meshgrid to draw the
# decision boundary (the plot replaced by counts), with torch.stack/flatten/reshape.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
import torch.nn as nn

rng = np.random.RandomState(5)
a = rng.randn(100, 2) * 0.6 + [1, 1]
b = rng.randn(100, 2) * 0.6 + [-1, -0.5]
X = torch.tensor(np.vstack([a, b]), dtype=torch.float32)
y = torch.cat([torch.ones(100), torch.zeros(100)])

model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
torch.nn.init.zeros_(model[0].weight)
torch.nn.init.zeros_(model[0].bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
loss_fn = nn.BCELoss()
for epoch in range(200):
    optimizer.zero_grad()
    loss = loss_fn(model(X).squeeze(), y)
    loss.backward()
    optimizer.step()
print(f"final loss {loss.item():.5f}")

xs = torch.linspace(-3, 3, 25)
ys = torch.linspace(-3, 3, 25)
xx, yy = torch.meshgrid(xs, ys, indexing="xy")
grid = torch.stack([xx.flatten(), yy.flatten()], dim=1)
with torch.no_grad():
    probs = model(grid).reshape(xx.shape)
print(grid.shape, probs.shape, (probs > 0.5).sum().item())
print(probs[0, :5], probs[-1, -5:])
w = model[0].weight.detach().squeeze()
bias = model[0].bias.item()
slope, intercept = -w[0] / w[1], -bias / w[1]
print(f"boundary: y = {slope.item():.4f} x + {intercept.item():.4f}")
