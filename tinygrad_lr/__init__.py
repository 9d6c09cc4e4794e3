"""tinygrad_lr: a small reverse-mode autodiff engine on NumPy, with PyTorch's names and semantics."""
from . import autograd, data, linear_model, metrics, nn, ops, optim
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .factories import (arange, as_tensor, empty, eye, from_numpy, full, full_like, linspace,
                        manual_seed, ones, ones_like, rand, randint, randn, zeros, zeros_like)
from .linear_model import LinearRegression, LogisticRegression
from .ops._parallel import get_num_threads, set_num_threads
from .ops.functional import (abs, add, amax, amin, argmax, argmin, broadcast_to, cat, clamp, clip,
                             clone, div, eq, exp, flatten, ge, gt, le, log, log1p, logsigmoid,
                             logsumexp, lt, matmul, max, maximum, mean, min, minimum, mm, mul, ne,
                             neg, permute, pow, prod, relu, reshape, sigmoid, softplus, sqrt,
                             squeeze, stack, std, sub, sum, t, tanh, transpose, unsqueeze, var,
                             where)
from .serialization import load, save
from .tensor import (Tensor, bool_, float16, float32, float64, get_default_dtype, int32, int64,
                     set_default_dtype, tensor)

# PyTorch's dtype aliases (kept out of tensor.py, where they would shadow the builtins).
bool, half, float, double, long = bool_, float16, float32, float64, int64
__version__ = "0.1.0"
