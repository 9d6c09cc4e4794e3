# Autograd basics: gradients of scalar functions, grad_fn names, the chain rule, higher order.
# corpus: rtol=1e-4 atol=1e-5
import torch

x = torch.tensor(2.0, requires_grad=True)
y = x ** 3 + 2 * x ** 2 - 5 * x + 1
y.backward()
print(y, x.grad)

a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = a * 2
c = b.mean()
print(b)
print(c)
print(b.grad_fn.name(), c.grad_fn.name())
c.backward()
print(a.grad)
print(a.is_leaf, b.is_leaf, a.requires_grad)

w = torch.ones(3, requires_grad=True)
out = (w * a.detach()).sum()
out.backward()
print(w.grad)

x = torch.tensor([0.5, -1.0], requires_grad=True)
f = (x.sin() * x.exp()).sum()
(g,) = torch.autograd.grad(f, x, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), x)
print(g, h)

v = torch.randn(3).abs() + 1
v.requires_grad_()
loss = v.pow(2).sum().sqrt()
loss.backward()
print(torch.allclose(v.grad, v.detach() / loss.detach()))

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * x
y.backward(torch.tensor([1.0, 0.5]))
print(x.grad)
x.grad = None
z = (x ** 2).sum()
z.backward()
print(x.grad)
