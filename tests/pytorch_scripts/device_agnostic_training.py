# Device-agnostic code: pick CUDA when present, move the model and every batch to the device.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print(f"Using device: {device}")
print(torch.cuda.is_available())

np.random.seed(7)
X = torch.tensor(np.random.randn(64, 3), dtype=torch.float32)
y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3

model = nn.Linear(3, 1).to(device)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.MSELoss()

X, y = X.to(device), y.to(device)
for step in range(50):
    pred = model(X)
    loss = loss_fn(pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0:
        print(step, round(loss.item(), 6))

print(next(model.parameters()).device)
print(X.device, X.is_cuda)
out = model(X[:2]).cpu().detach().numpy()
print(out.round(4))
print(model.weight.to("cpu"), model.bias.cpu())
w = model.weight.detach().to(device, torch.float64)
print(w.dtype, w)
