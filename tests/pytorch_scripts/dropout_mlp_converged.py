# An MLP with Dropout and Kaiming initialisation: training is random (dropout masks, init),
# so only converged quantities are compared. Evaluation mode must be deterministic.
# Measured over 10 seeds: train accuracy 0.99-1.00 under either library, eval twice identical.
# corpus: rtol=0 atol=0.02
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(42)
rng = np.random.RandomState(1)
X = torch.tensor(rng.randn(300, 6), dtype=torch.float32)
y = (X[:, :3].sum(dim=1) > 0).long()


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(6, 64)
        self.fc2 = nn.Linear(64, 2)
        self.dropout = nn.Dropout(p=0.2)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.fc2.weight)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


net = Net()
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
for epoch in range(60):
    net.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(net(X), y)
    loss.backward()
    optimizer.step()

net.eval()
with torch.no_grad():
    out1 = net(X)
    out2 = net(X)
    acc = (out1.argmax(dim=1) == y).float().mean().item()
print("deterministic in eval:", torch.equal(out1, out2))
print(f"train accuracy {acc:.2f}")
print(net)
