# Adam with weight decay (and AdamW) under an ExponentialLR schedule; float64 for exactness.
# corpus: rtol=1e-7 atol=1e-9
import torch
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
X = torch.stack([torch.linspace(0, 1, 40), torch.linspace(1, -1, 40) ** 2], dim=1)
y = (X[:, :1] * 3 - X[:, 1:] + 0.5)

for opt_name in ["Adam", "AdamW"]:
    model = nn.Linear(2, 1)
    nn.init.constant_(model.weight, 0.0)
    nn.init.constant_(model.bias, 0.0)
    optimizer = getattr(optim, opt_name)(model.parameters(), lr=0.1, weight_decay=0.01)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    for epoch in range(60):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
    print(opt_name, f"{loss.item():.8f}", model.weight.data.tolist(), model.bias.item())
    print(scheduler.get_last_lr())
