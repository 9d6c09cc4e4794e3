"""The op catalogue: PyTorch's operations beyond the lesson core, written in the core's pattern
(each rule's forward beside its derivative, in the rule vocabulary) and installed onto Tensor as
methods when the package loads. Not part of the reference layer's line budget: the lesson is
``tensor.py``, ``autograd/function.py``, ``autograd/engine.py`` and ``ops/rules.py``.

- :mod:`.bounds`: maximum, minimum, clamp/clip;
- :mod:`.pointwise`: log1p, logsigmoid, trigonometry, erf, reciprocals, rounding;
- :mod:`.reductions`: var/std, prod, amax/amin, max/min with indices, argmax/argmin, logsumexp;
- :mod:`.shape`: flatten, squeeze, unsqueeze, transpose, cat, stack;
- :mod:`.losses`: log-softmax and NLL (cross-entropy), softmax, softplus with beta, BCE on
  probabilities, MSE, L1;
- :mod:`.logical`: comparisons, bitwise and logical ops, ``//`` and ``%``, isnan and friends;
- :mod:`.linalg`: nn.Linear's fused node, dot, outer, norms, inv, solve, det, pinv, lstsq;
- :mod:`.sorting`: sort, argsort, topk, gather, cumsum;
- :mod:`.sparse`: products with a sparse constant matrix;
- :mod:`.conveniences`: PyTorch's Tensor helpers (view_as, new_*, masked_fill, repeat, split...);
- :mod:`.conversions`: dtype and device conversions and the Python number protocols.
"""
from tinygrad_lr.ops.catalogue import (bounds, conversions, conveniences, linalg, logical, losses,
                                       pointwise, reductions, shape, sorting, sparse)

__all__ = ["bounds", "conversions", "conveniences", "linalg", "logical", "losses", "pointwise",
           "reductions", "shape", "sorting", "sparse"]
