# Evaluation helpers: @torch.no_grad() and bare @torch.no_grad, torch.inference_mode, model.eval().
# corpus: rtol=1e-4 atol=1e-5
import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 2))
for p in model.parameters():
    nn.init.constant_(p, 0.25)
x = torch.ones(5, 4)


@torch.no_grad()
def evaluate(model, x):
    model.eval()
    return model(x)


@torch.no_grad
def predict(model, x):
    return model(x).argmax(dim=1)


out = evaluate(model, x)
print(out, out.requires_grad)
print(predict(model, x))
with torch.inference_mode():
    y = model(x)
print(y.requires_grad, torch.equal(y, out))
print(model.training, model[2].training)
model.train()
print(model.training, model[2].training)
z = model(x)
print(z.requires_grad, z.grad_fn is not None)
with torch.no_grad():
    print(torch.is_grad_enabled())
print(torch.is_grad_enabled())
