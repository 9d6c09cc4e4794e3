# Robust regression with outliers: MSE against L1, SmoothL1 and Huber losses.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(2)
x = torch.tensor(rng.uniform(0, 10, size=(80, 1)))
y = 1.5 * x + 2 + torch.tensor(rng.normal(0, 0.5, size=(80, 1)))
y[::10] += 25.0

for name, criterion in [("mse", nn.MSELoss()), ("l1", nn.L1Loss()),
                        ("smooth_l1", nn.SmoothL1Loss(beta=2.0)), ("huber", nn.HuberLoss(delta=1.5))]:
    model = nn.Linear(1, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(300):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    print(f"{name:10s} slope {model.weight.item():.4f} intercept {model.bias.item():.4f} "
          f"loss {loss.item():.4f}")

print(nn.HuberLoss(reduction="none")(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0])))
print(nn.L1Loss(reduction="sum")(torch.tensor([1.0, -2.0]), torch.zeros(2)))
