# Models built from ModuleList and ModuleDict, initialised with model.apply(init_weights),
# inspected through named_parameters, named_modules and children.
# corpus: rtol=1e-7 atol=1e-9
import torch
import torch.nn as nn

torch.set_default_dtype(torch.float64)


class DeepNet(nn.Module):
    def __init__(self, sizes, activation="relu"):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.activations = nn.ModuleDict({
            "relu": nn.ReLU(),
            "tanh": nn.Tanh(),
            "leaky": nn.LeakyReLU(0.1),
        })
        self.activation = activation

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = self.activations[self.activation](layer(x))
        return self.layers[-1](x)


def init_weights(m):
    if isinstance(m, nn.Linear):
        torch.nn.init.constant_(m.weight, 0.1)
        m.bias.data.fill_(0.01)


x = torch.linspace(-2, 2, 30).view(-1, 1)
y = torch.sin(2 * x)
for act in ["relu", "tanh", "leaky"]:
    net = DeepNet([1, 10, 10, 1], act)
    net.apply(init_weights)
    with torch.no_grad():
        net.layers[0].weight.copy_(torch.linspace(-1, 1, 10).view(10, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    for i in range(150):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
    print(act, loss.item())

for name, param in net.named_parameters():
    print(name, param.shape, param.requires_grad)
print([name for name, _ in net.named_modules()])
print(len(list(net.children())), len(net.layers), "relu" in net.activations)
print(net)
print(sum(p.numel() for p in net.parameters()))
