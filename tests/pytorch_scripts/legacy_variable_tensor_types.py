# Old-style (PyTorch 0.3 era) code: Variable, torch.FloatTensor / LongTensor constructors,
# .type(...) conversions, torch.Tensor(list) and .data everywhere.
# corpus: rtol=1e-4 atol=1e-5
import numpy as np
import torch
from torch.autograd import Variable

x_values = [i for i in range(11)]
x_train = np.array(x_values, dtype=np.float32).reshape(-1, 1)
y_train = np.array([2 * i + 1 for i in x_values], dtype=np.float32).reshape(-1, 1)


class LinearRegressionModel(torch.nn.Module):
    def __init__(self, input_dim, output_dim):
        super(LinearRegressionModel, self).__init__()
        self.linear = torch.nn.Linear(input_dim, output_dim)

    def forward(self, x):
        out = self.linear(x)
        return out


model = LinearRegressionModel(1, 1)
model.linear.weight.data = torch.FloatTensor([[0.1]])
model.linear.bias.data = torch.FloatTensor([0.0])
criterion = torch.nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

for epoch in range(50):
    inputs = Variable(torch.from_numpy(x_train))
    labels = Variable(torch.from_numpy(y_train))
    optimizer.zero_grad()
    outputs = model(inputs)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    if epoch % 10 == 0:
        print('epoch {}, loss {}'.format(epoch, loss.data.item()))

predicted = model(Variable(torch.from_numpy(x_train))).data.numpy()
print(predicted[:3].ravel())

a = torch.Tensor([0, 1, 1])
print(a, a.dtype, a.type())
b = torch.LongTensor([1, 2, 3])
print(b, b.type(), b.type(torch.FloatTensor), b.float().type())
c = torch.DoubleTensor([1.5, 2.5])
print(c, c.type(torch.LongTensor), isinstance(c, torch.DoubleTensor))
d = torch.Tensor(2, 3).zero_()
print(d.shape, d)
v = Variable(torch.ones(2), requires_grad=True)
(v * 3).sum().backward()
print(v.grad, v.grad.data)
