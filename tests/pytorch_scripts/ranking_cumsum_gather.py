# Ranking utilities: top-k accuracy, argsort ranks, cumulative sums for a precision curve and
# gather to pick the score of the true class (differentiable).
# corpus: rtol=1e-4 atol=1e-5
import torch
import torch.nn.functional as F

scores = torch.tensor([[0.1, 2.0, 0.3, -1.0],
                       [1.5, 0.2, 0.1, 0.0],
                       [0.0, 0.1, 0.2, 3.0],
                       [0.9, 1.0, 1.1, 0.8]], requires_grad=True)
target = torch.tensor([1, 2, 3, 0])

top2 = scores.topk(2, dim=1).indices
top1_acc = (scores.argmax(dim=1) == target).float().mean()
top2_acc = (top2 == target.unsqueeze(1)).any(dim=1).float().mean()
print(top2, top1_acc.item(), top2_acc.item())

ranks = scores.detach().argsort(dim=1, descending=True).argsort(dim=1)
print(ranks)
true_rank = ranks.gather(1, target.view(-1, 1)).squeeze(1)
print(true_rank, (1.0 / (true_rank + 1).float()).mean())

picked = scores.gather(1, target.unsqueeze(1))
loss = -F.log_softmax(scores, dim=1).gather(1, target.unsqueeze(1)).mean()
loss.backward()
print(picked.detach().squeeze(), loss, scores.grad)

relevance = torch.tensor([1, 0, 1, 1, 0, 0, 1])
hits = relevance.cumsum(dim=0)
precision = hits.float() / torch.arange(1, 8).float()
print(hits, precision)
values, order = torch.sort(torch.tensor([3.0, 1.0, 2.0, 1.0]))
print(values, order)
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
x.cumsum(0).sum().backward()
print(x.grad)
