# Save a training checkpoint (model, optimizer, epoch, loss), load it into fresh objects and
# resume: the resumed run must continue exactly where the first left off.
# corpus: rtol=1e-7 atol=1e-9
import os
import tempfile

import torch
import torch.nn as nn
import torch.optim as optim

torch.set_default_dtype(torch.float64)
X = torch.arange(20).double().view(10, 2) / 10
y = (X.sum(dim=1, keepdim=True) > 1).double()


def make_model():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
    for i, p in enumerate(model.parameters()):
        with torch.no_grad():
            p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape) * (i + 1))
    return model


model = make_model()
optimizer = optim.Adam(model.parameters(), lr=0.01)
criterion = nn.BCEWithLogitsLoss()


def train(model, optimizer, epochs):
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
    return loss


loss = train(model, optimizer, 20)
path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")
torch.save({
    "epoch": 20,
    "model_state_dict": model.state_dict(),
    "optimizer_state_dict": optimizer.state_dict(),
    "loss": loss.item(),
}, path)

model2 = make_model()
optimizer2 = optim.Adam(model2.parameters(), lr=0.01)
checkpoint = torch.load(path, map_location="cpu")
model2.load_state_dict(checkpoint["model_state_dict"])
optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
print("resuming from epoch", checkpoint["epoch"], "loss", checkpoint["loss"])

a = train(model, optimizer, 10)
b = train(model2, optimizer2, 10)
print(a.item(), b.item(), torch.equal(model(X), model2(X)))
print(list(model2.state_dict().keys()))

torch.save(model.state_dict(), path)
model3 = make_model()
model3.load_state_dict(torch.load(path, weights_only=True))
model3.eval()
print(torch.allclose(model3(X), model(X)))
