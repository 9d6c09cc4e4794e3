# Minibatch gradient descent written by hand: slicing the data in order, a hand-written
# softmax cross-entropy and parameters updated in place under torch.no_grad().
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(11)
n, d, k = 120, 4, 3
X = torch.tensor(rng.randn(n, d))
true_W = torch.tensor(rng.randn(d, k))
y = torch.argmax(X @ true_W, dim=1)

W = torch.zeros(d, k, requires_grad=True)
b = torch.zeros(k, requires_grad=True)
batch_size, lr = 20, 0.5


def log_softmax(z):
    return z - z.exp().sum(-1).log().unsqueeze(-1)


def nll(pred, target):
    return -pred[range(target.shape[0]), target].mean()


for epoch in range(4):
    for i in range((n - 1) // batch_size + 1):
        start_i = i * batch_size
        end_i = start_i + batch_size
        xb = X[start_i:end_i]
        yb = y[start_i:end_i]
        pred = log_softmax(xb @ W + b)
        loss = nll(pred, yb)
        loss.backward()
        with torch.no_grad():
            W -= W.grad * lr
            b -= b.grad * lr
            W.grad.zero_()
            b.grad.zero_()
    preds = torch.argmax(X @ W + b, dim=1)
    print(epoch, loss.item(), (preds == y).float().mean().item())
print(W)
