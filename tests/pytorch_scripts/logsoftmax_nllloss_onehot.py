# Multiclass classification with LogSoftmax + NLLLoss, class weights, one-hot targets.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rs = np.random.RandomState(0)
X = torch.tensor(rs.randn(90, 4), dtype=torch.float32)
y = torch.tensor(rs.randint(0, 3, 90))

model = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor(rs.randn(3, 4) * 0.1, dtype=torch.float32))
    model[0].bias.zero_()
weights = torch.tensor([1.0, 2.0, 0.5])
criterion = nn.NLLLoss(weight=weights)
optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)

for epoch in range(20):
    optimizer.zero_grad()
    log_probs = model(X)
    loss = criterion(log_probs, y)
    loss.backward()
    optimizer.step()
    if epoch % 4 == 0:
        print(f"{epoch}: {loss.item():.5f}")

one_hot = F.one_hot(y[:5], num_classes=3)
print(one_hot)
print(F.one_hot(torch.tensor([0, 2, 1])))
probs = model(X[:5]).exp()
print(probs.sum(dim=1))
print(torch.log_softmax(torch.tensor([1.0, 2.0, 3.0]), dim=0))
print(torch.softmax(torch.tensor([[1.0, 2.0], [3.0, 5.0]]), dim=1))
print(F.cross_entropy(model[0](X), y, reduction="sum").item() > 0)
