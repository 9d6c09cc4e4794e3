# Softmax regression on three blobs: CrossEntropyLoss, output.data.max(1)[1], correct counting.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rs = np.random.RandomState(3)
centers = np.array([[0, 3], [3, -1], [-3, -1]])
X = np.concatenate([rs.randn(60, 2) + c for c in centers]).astype(np.float32)
Y = np.repeat(np.arange(3), 60)

inputs = torch.tensor(X)
labels = torch.tensor(Y)


class SoftmaxRegression(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        return self.fc(x)


net = SoftmaxRegression()
net.fc.weight.data.fill_(0.01)
net.fc.bias.data.zero_()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

for epoch in range(30):
    optimizer.zero_grad()
    output = net(inputs)
    loss = criterion(output, labels)
    loss.backward()
    optimizer.step()
    pred = output.data.max(1)[1]
    correct = 0
    correct += (pred == labels).sum().item()
    if epoch % 5 == 4:
        print('epoch %d loss %.4f acc %.3f' % (epoch, loss.item(), correct / len(labels)))

probs = F.softmax(net(inputs[:4]), dim=1)
print(probs)
_, predicted = torch.max(net(inputs).data, 1)
print(predicted[:10], predicted.shape)
print(torch.argmax(probs, dim=1))
