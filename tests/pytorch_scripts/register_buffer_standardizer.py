# A model that standardises its inputs with statistics kept in registered buffers, so they
# travel with state_dict() and .to(); the buffers are not parameters.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
import torch.nn as nn


class StandardizedLinear(nn.Module):
    def __init__(self, mean, std, out_features):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("steps", torch.tensor(0), persistent=False)
        self.linear = nn.Linear(mean.numel(), out_features)

    def forward(self, x):
        self.steps += 1
        return self.linear((x - self.mean) / self.std)


rng = np.random.RandomState(4)
X = torch.tensor(rng.normal(10.0, 3.0, size=(100, 2)), dtype=torch.float32)
y = (X[:, 0] > X[:, 1]).long()
model = StandardizedLinear(X.mean(dim=0), X.std(dim=0), 2)
nn.init.xavier_uniform_(model.linear.weight, gain=0.0)
nn.init.zeros_(model.linear.bias)
opt = torch.optim.SGD(model.parameters(), lr=0.5)
for i in range(25):
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()(model(X), y)
    loss.backward()
    opt.step()
print(round(loss.item(), 5))
print(list(model.state_dict().keys()))
print([name for name, _ in model.named_buffers()])
print(len(list(model.parameters())), model.steps.item())
print(model.mean, model.std)
model.double()
print(model.mean.dtype, model.linear.weight.dtype)
