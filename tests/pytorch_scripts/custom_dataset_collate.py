# A custom Dataset returning (features, label) pairs from NumPy arrays, batched by the
# default collate function, with drop_last and a dict-returning dataset.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


class CSVLikeDataset(Dataset):
    def __init__(self, n=50):
        rng = np.random.RandomState(0)
        self.x = rng.randn(n, 3).astype(np.float32)
        self.y = (self.x.sum(axis=1) > 0).astype(np.int64)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


class DictDataset(Dataset):
    def __init__(self):
        self.values = [float(i) / 4 for i in range(10)]

    def __len__(self):
        return len(self.values)

    def __getitem__(self, i):
        return {"value": self.values[i], "index": i, "pair": torch.tensor([i, 2 * i])}


ds = CSVLikeDataset()
print(len(ds))
x0, y0 = ds[0]
print(x0.shape, y0)
loader = DataLoader(ds, batch_size=16, shuffle=False, drop_last=True)
print(len(loader))
for batch_idx, (features, labels) in enumerate(loader):
    print(batch_idx, features.shape, features.dtype, labels.dtype, labels.sum().item())

model = torch.nn.Linear(3, 2)
torch.nn.init.ones_(model.weight)
torch.nn.init.zeros_(model.bias)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    total = 0.0
    for features, labels in loader:
        loss = torch.nn.functional.cross_entropy(model(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * features.size(0)
    print(f"epoch {epoch}: {total / (len(loader) * loader.batch_size):.4f}")

batch = next(iter(DataLoader(DictDataset(), batch_size=4)))
print(batch["value"], batch["index"], batch["pair"])
print(batch["value"].dtype, batch["index"].dtype)
single = next(iter(DataLoader(DictDataset(), batch_size=None)))
print(single)
