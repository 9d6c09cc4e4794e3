"""tinygrad_lr: a small reverse-mode autodiff engine on NumPy, with PyTorch's names and semantics."""
from builtins import bool as builtins_bool
from builtins import int as builtins_int

import numpy as _np

from tinygrad_lr._printing import set_printoptions
from tinygrad_lr import (autograd, backends, cuda, data, linalg, linear_model, metrics, nn, ops,
                         optim, utils)
from tinygrad_lr.compiler import compile
from tinygrad_lr.autograd import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                  set_grad_enabled)
from tinygrad_lr.devices import device
from tinygrad_lr.factories import (BoolTensor, ByteTensor, DoubleTensor, FloatTensor, Generator,
                                   IntTensor, LongTensor, arange, as_tensor, bernoulli, empty,
                                   empty_like, eye, from_numpy, full, full_like, initial_seed,
                                   linspace, manual_seed, multinomial, normal, ones, ones_like,
                                   rand, rand_like, randint, randint_like, randn, randn_like,
                                   randperm, seed, zeros, zeros_like)
from tinygrad_lr.linear_model import LinearRegression, LogisticRegression
from tinygrad_lr.nn.functional import log_softmax, softmax
from tinygrad_lr.kernels.threads import get_num_threads, set_num_threads
from tinygrad_lr.ops.functional import (abs, add, amax, amin, argmax, argmin, broadcast_to, cat,
                                        clamp, clip, clone, div, eq, exp, flatten, ge, gt, le, log,
                                        log1p, logsigmoid, logsumexp, lt, matmul, max, maximum,
                                        mean, min, minimum, mm, mul, ne, neg, permute, pow, prod,
                                        relu, reshape, sigmoid, softplus, sqrt, squeeze, stack, std,
                                        sub, sum, t, tanh, transpose, unsqueeze, var, where)
from tinygrad_lr.ops.functional import logical_not
from tinygrad_lr.ops.linalg import det, dot, norm, outer
from tinygrad_lr.ops.linalg import inv as inverse
from tinygrad_lr.ops.linalg import pinv as pinverse
from tinygrad_lr.ops.logical import (all, allclose, any, bitwise_and, bitwise_not, bitwise_or,
                                     bitwise_xor, equal, floor_divide, isclose, isfinite, isinf,
                                     isnan, logical_and, logical_or, logical_xor, nan_to_num,
                                     remainder)
from tinygrad_lr.ops.reshaping import (addmm, bmm, chunk, corrcoef, count_nonzero, cov, diag, diff,
                                       flip, is_floating_point, lerp, masked_fill, median, meshgrid,
                                       mv, nonzero, roll, split, std_mean, trace, unique, var_mean)
from tinygrad_lr.ops.sorting import argsort, cumsum, gather, sort, topk
from tinygrad_lr.ops.trig_round import (atan, ceil, clamp_max, clamp_min, cos, erf, expm1, floor,
                                        log2, log10, reciprocal, round, rsqrt, sign, sin, square,
                                        tan)
from tinygrad_lr.serialization import load, save
from tinygrad_lr.size import Size
from tinygrad_lr.tensor import (Tensor, bool_, float16, float32, float64, get_default_dtype, int32,
                                int64, set_default_dtype, tensor)

# PyTorch's dtype aliases (kept out of tensor.py, where they would shadow the builtins).
bool, half, float, double, long, int = bool_, float16, float32, float64, int64, int32
uint8, int8, int16 = _np.dtype(_np.uint8), _np.dtype(_np.int8), _np.dtype(_np.int16)
__version__ = "0.1.0"


def is_tensor(obj: object) -> builtins_bool:
    """True for tensors (and Parameters), as ``torch.is_tensor``."""
    return isinstance(obj, Tensor)


def use_deterministic_algorithms(mode: builtins_bool, *, warn_only: builtins_bool = False
                                 ) -> None:
    """Accepted for PyTorch scripts: every operation here is already deterministic."""


def numel(input: Tensor) -> builtins_int:
    """The number of elements of ``input``."""
    return input.numel()
