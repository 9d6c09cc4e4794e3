# A LogisticRegression nn.Module with sigmoid output, BCELoss and Adam; float64 throughout.
# corpus: rtol=1e-7 atol=1e-9
import numpy as np
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)
np.random.seed(1)
n_samples, n_features = 200, 4
X = np.random.randn(n_samples, n_features)
true_w = np.array([1.5, -2.0, 0.5, 0.0])
y = (X @ true_w + 0.3 * np.random.randn(n_samples) > 0).astype(np.float64)

X_train = torch.from_numpy(X[:150])
y_train = torch.from_numpy(y[:150]).view(-1, 1)
X_test = torch.from_numpy(X[150:])
y_test = torch.from_numpy(y[150:]).view(-1, 1)


class LogisticRegression(nn.Module):
    def __init__(self, n_input_features):
        super(LogisticRegression, self).__init__()
        self.linear = nn.Linear(n_input_features, 1)

    def forward(self, x):
        y_predicted = torch.sigmoid(self.linear(x))
        return y_predicted


model = LogisticRegression(n_features)
with torch.no_grad():
    model.linear.weight.copy_(torch.tensor([[0.1, 0.1, 0.1, 0.1]]))
    model.linear.bias.fill_(0.0)

criterion = nn.BCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)

for epoch in range(100):
    y_predicted = model(X_train)
    loss = criterion(y_predicted, y_train)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    if (epoch + 1) % 10 == 0:
        print(f'epoch: {epoch+1}, loss = {loss.item():.4f}')

with torch.no_grad():
    y_predicted = model(X_test)
    y_predicted_cls = y_predicted.round()
    acc = y_predicted_cls.eq(y_test).sum() / float(y_test.shape[0])
    print(f'accuracy: {acc.item():.4f}')
    print(model.linear.weight, model.linear.bias)
