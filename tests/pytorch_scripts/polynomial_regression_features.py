# Polynomial regression: build x, x^2, x^3 features with torch.cat and fit with a linear layer.
# corpus: rtol=1e-7 atol=1e-9
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
POLY_DEGREE = 3
W_target = torch.tensor([0.5, -1.2, 0.3]).unsqueeze(1)
b_target = torch.tensor([0.9])


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    return x.mm(W_target) + b_target.item()


x_all = torch.linspace(-1.5, 1.5, 32)
batch_x = make_features(x_all)
batch_y = f(batch_x)

fc = torch.nn.Linear(W_target.size(0), 1)
fc.weight.data.fill_(0.0)
fc.bias.data.fill_(0.0)

for batch_idx in range(1, 500):
    fc.zero_grad()
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)
    if loss < 1e-3:
        break


def poly_desc(W, b):
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))
print('==> Learned function:\t' + poly_desc(fc.weight.view(-1).tolist(), fc.bias.tolist()))
print('==> Actual function:\t' + poly_desc(W_target.view(-1).tolist(), b_target.tolist()))
