# ReduceLROnPlateau driven by a validation loss, and a MultiStepLR/LambdaLR comparison.
# corpus: rtol=1e-7 atol=1e-9
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import LambdaLR, MultiStepLR, ReduceLROnPlateau

torch.set_default_dtype(torch.float64)
x = torch.linspace(0, 2, 25).unsqueeze(1)
y = torch.exp(-x) + 0.05 * torch.cos(10 * x)

model = nn.Linear(1, 1)
nn.init.zeros_(model.weight)
nn.init.zeros_(model.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
for epoch in range(40):
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    val_loss = loss.item()
    scheduler.step(val_loss)
    if epoch % 4 == 0:
        print(epoch, f"{val_loss:.6f}", optimizer.param_groups[0]["lr"])

for make in [lambda o: MultiStepLR(o, milestones=[3, 6], gamma=0.1),
             lambda o: LambdaLR(o, lr_lambda=lambda epoch: 0.9 ** epoch)]:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = make(opt)
    lrs = []
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(round(sched.get_last_lr()[0], 10))
    print(lrs)
