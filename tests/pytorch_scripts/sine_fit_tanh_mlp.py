# Fitting sin(x) with a tanh MLP and L-BFGS-free plain Adam, in float64, printing the loss and
# predictions at a few points.
# corpus: rtol=1e-7 atol=1e-9
import math

import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
x = torch.linspace(-math.pi, math.pi, 64).unsqueeze(-1)
y = torch.sin(x)

rng = np.random.default_rng(1)
model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
state = {k: torch.tensor(rng.normal(0, 0.5, size=tuple(v.shape))) for k, v in model.state_dict().items()}
model.load_state_dict(state)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = torch.nn.MSELoss(reduction="sum")

for t in range(300):
    y_pred = model(x)
    loss = loss_fn(y_pred, y)
    if t % 50 == 49:
        print(t, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

test = torch.tensor([[-1.0], [0.0], [0.5], [2.0]])
with torch.no_grad():
    print(model(test).squeeze(), torch.sin(test).squeeze())
    print(torch.cos(test).squeeze(), test.square().squeeze(), test.abs().sqrt().squeeze())
print(f"Result: y = {model[0].bias[0].item():.6f} ...")
