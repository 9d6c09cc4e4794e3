# Boolean masks and integer arithmetic as data-wrangling code uses them, plus in-place ops on
# intermediate tensors and masked assignment inside a differentiable computation.
# corpus: rtol=1e-4 atol=1e-5
import torch

x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0, float("nan")])
finite = torch.isfinite(x)
print(finite, torch.isnan(x), torch.isinf(x / 0))
print(torch.nan_to_num(x, nan=0.0), x[~torch.isnan(x)].sum())
mask = (x > -1) & (x < 1)
print(mask, mask | torch.isnan(x), mask ^ finite, ~mask)
print(mask.any(), mask.all(), finite.all(), mask.sum(), mask.float().mean())

n = torch.arange(10)
print(n // 3, n % 3, -n // 4, (-n) % 4, n[n % 2 == 0])
print(torch.where(n > 5, n, torch.zeros_like(n)), n.clamp(2, 7), (n * 2).max().item())
print(torch.tensor([7, -7]) // torch.tensor([2, 2]), torch.tensor([5.5, -5.5]) % 2)
print(torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, 1.2345])),
      torch.round(torch.tensor([1.2345, 9.8765]), decimals=2))
print(torch.floor(torch.tensor([1.7, -1.7])), torch.ceil(torch.tensor([1.2, -1.2])),
      torch.sign(torch.tensor([-3.0, 0.0, 2.0])), torch.tensor([-3, 0, 2]).sign())

w = torch.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
h = w * 2
h[h < 0] = 0.0
h.clamp_(max=5.0)
out = (h ** 2).sum()
out.backward()
print(h, out, w.grad)

a = torch.zeros(3, 4)
a[1, :] = 1.0
a[:, 2] += 2.0
a[a > 2] = -1.0
print(a)
t = torch.tensor([3.0, -1.0, 2.0], requires_grad=True)
y = t.exp()
z = y.clone()
z.mul_(2)
z.relu_()
z.sum().backward()
print(z, t.grad)
print(torch.isclose(torch.tensor([1.0, 2.0]), torch.tensor([1.0 + 1e-9, 2.1])),
      torch.allclose(torch.ones(3), torch.ones(3) + 1e-7), torch.equal(n, torch.arange(10)))
