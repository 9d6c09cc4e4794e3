# Learning-rate schedules: StepLR and the learning rate read back from the optimizer.
# corpus: rtol=1e-7 atol=1e-9
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import StepLR

torch.set_default_dtype(torch.float64)
x = torch.linspace(-1, 1, 21).view(-1, 1)
y = 3 * x ** 2 - 1

model = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.3)
        nn.init.constant_(m.bias, -0.1)
model[0].weight.data = torch.linspace(-1, 1, 8).view(8, 1)

optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
scheduler = StepLR(optimizer, step_size=10, gamma=0.5)
criterion = nn.MSELoss()

for epoch in range(40):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d} lr {scheduler.get_last_lr()[0]:.4f} "
              f"{optimizer.param_groups[0]['lr']} loss {loss.item():.6f}")
print(scheduler.state_dict()["last_epoch"])
