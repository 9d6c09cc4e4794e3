# RMSprop with gradient-norm clipping and value clipping, printing the norms as training goes.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(9)
X = torch.from_numpy(rng.normal(size=(64, 3)) * 5)
y = torch.from_numpy((rng.normal(size=(64, 1)) > 0).astype(np.float64))

model = nn.Sequential(nn.Linear(3, 5), nn.Sigmoid(), nn.Linear(5, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.normal(size=tuple(p.shape))))
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=0.5)
criterion = nn.BCEWithLogitsLoss()

for step in range(30):
    optimizer.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    if step < 10:
        torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.2)
    optimizer.step()
    if step % 5 == 0:
        print(step, round(loss.item(), 8), round(float(total_norm), 8))
print([p.grad.abs().max().item() <= 1.0 for p in model.parameters()])
