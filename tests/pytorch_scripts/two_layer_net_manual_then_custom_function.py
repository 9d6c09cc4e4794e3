# "Learning PyTorch with examples": a two-layer net with hand-written backprop on tensors,
# then the same net with autograd, then with a custom autograd Function for ReLU.
# The data come from NumPy (seeded) so both libraries see the same numbers.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch

dtype = torch.float64
device = torch.device("cpu")
rng = np.random.default_rng(0)
N, D_in, H, D_out = 16, 10, 8, 3
x = torch.tensor(rng.normal(size=(N, D_in)), device=device, dtype=dtype)
y = torch.tensor(rng.normal(size=(N, D_out)), device=device, dtype=dtype)
w1_init = rng.normal(size=(D_in, H)) * 0.3
w2_init = rng.normal(size=(H, D_out)) * 0.3

# 1. Tensors and hand-written gradients.
w1 = torch.tensor(w1_init, device=device, dtype=dtype)
w2 = torch.tensor(w2_init, device=device, dtype=dtype)
learning_rate = 1e-3
for t in range(200):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    loss = (y_pred - y).pow(2).sum().item()
    if t % 50 == 49:
        print(t, loss)
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
manual = (w1.clone(), w2.clone())

# 2. Autograd.
w1 = torch.tensor(w1_init, device=device, dtype=dtype, requires_grad=True)
w2 = torch.tensor(w2_init, device=device, dtype=dtype, requires_grad=True)
for t in range(200):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
print(torch.allclose(w1, manual[0]), torch.allclose(w2, manual[1]))


# 3. A custom autograd Function.
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


w1 = torch.tensor(w1_init, device=device, dtype=dtype, requires_grad=True)
w2 = torch.tensor(w2_init, device=device, dtype=dtype, requires_grad=True)
for t in range(200):
    relu = MyReLU.apply
    y_pred = relu(x.mm(w1)).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
print(torch.allclose(w1, manual[0]), loss)
print(relu(torch.tensor([-1.0, 2.0], requires_grad=True)))
