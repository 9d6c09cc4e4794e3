# A tour of tensor basics as a first tutorial shows them: creation, shapes, dtypes, indexing,
# arithmetic, reductions, reshaping and NumPy interop.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
print(x_data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
print(x_np)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \n {x_ones} \n")
x_rand = torch.rand_like(x_data, dtype=torch.float)
print(x_rand.shape, x_rand.dtype)

shape = (2, 3,)
print(torch.ones(shape))
print(torch.zeros(shape))
tensor = torch.ones(4, 4)
print(f"Shape of tensor: {tensor.shape}")
print("Shape of tensor:", tensor.shape)
print(f"Device tensor is stored on: {tensor.device}")
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
print(y1, torch.equal(y1, y2))
z1 = tensor * tensor
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
tensor.add_(5)
print(tensor)

t = torch.ones(5)
n = t.numpy()
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")

a = torch.arange(12)
print(a, a.view(3, 4), a.reshape(2, -1).size(), a.size(0))
b = a.float() / 3
print(b)
print(b[2:5], b[-1], b.max(), b.argmax(), b.mean(), b.std())
print(torch.tensor([1.5, -0.25, 1000.0]), torch.tensor([1e-6, 1.0]), torch.tensor(3.14159))
print(torch.tensor([[1e10, 1.0], [2.0, 3.0]]), torch.tensor([True, False]))
print(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([1, 2], dtype=torch.int32))
print(torch.linspace(0, 1, 5), torch.eye(3), torch.full((2, 2), 7.0))
print(torch.randn(3, 4).shape, torch.rand(2, 2).size())
c = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(c.t(), c.transpose(0, 1).shape, c.unsqueeze(0).shape, c.flatten())
print(c.sum(dim=0), c.mean(dim=1), c.max(dim=1).values, c.min(dim=0).values)
values, indices = c.max(dim=1)
print(values, indices, c.sort(dim=1, descending=True), c.flatten().topk(2))
print(torch.stack([c, c]).shape, c.numel(), c.dim(), len(c))
print(c.tolist(), c[1, 2].item())
