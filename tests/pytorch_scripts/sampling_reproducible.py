# Random sampling: randperm, bernoulli, multinomial and Generator objects are reproducible under
# a seed (the streams differ between the libraries, so what is compared are shapes, dtypes,
# permutation checks, reproducibility and sample statistics).
# Measured over 10 seeds (PyTorch): bernoulli mean 0.29-0.31, multinomial share 0.70-0.71
# (tinygrad_lr: 0.29-0.31 and 0.69-0.70);
# printed to one decimal, the normal sample's mean and std are always 0.0 and 2.0.
# corpus: rtol=0 atol=0.03
import torch

torch.manual_seed(0)
perm = torch.randperm(10)
print(perm.shape, perm.dtype, torch.equal(perm.sort().values, torch.arange(10)))
torch.manual_seed(0)
print(torch.equal(perm, torch.randperm(10)))

g = torch.Generator().manual_seed(123)
a = torch.rand(5, generator=g)
g.manual_seed(123)
b = torch.rand(5, generator=g)
print(torch.equal(a, b), a.shape, bool(((a >= 0) & (a < 1)).all()))

probs = torch.full((20000,), 0.3)
draws = torch.bernoulli(probs)
print(draws.dtype, f"{draws.mean().item():.2f}", bool(((draws == 0) | (draws == 1)).all()))

weights = torch.tensor([0.1, 0.7, 0.2])
samples = torch.multinomial(weights, 20000, replacement=True)
print(samples.shape, samples.dtype, f"{(samples == 1).float().mean().item():.2f}")
no_repeat = torch.multinomial(torch.ones(2, 5), 5)
print(no_repeat.shape, [sorted(row) for row in no_repeat.tolist()])

normal = torch.randn(50000) * 2
print(f"{normal.mean().item():.1f} {normal.std().item():.1f}")
x = torch.empty(3, 4).uniform_(-1, 1)
print(x.shape, bool((x.abs() <= 1).all()))
y = torch.empty(1000).normal_(mean=5.0, std=0.1)
print(f"{y.mean().item():.1f}")
i = torch.randint(0, 5, (3, 3))
print(i.shape, i.dtype, bool(((i >= 0) & (i < 5)).all()))
torch.manual_seed(7)
d1 = torch.nn.functional.dropout(torch.ones(8), p=0.5)
torch.manual_seed(7)
d2 = torch.nn.functional.dropout(torch.ones(8), p=0.5)
print(torch.equal(d1, d2), bool(((d1 == 0) | (d1 == 2)).all()))
