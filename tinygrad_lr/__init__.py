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
from tinygrad_lr.ops.catalogue.conveniences import (addmm, bmm, chunk, corrcoef, count_nonzero,
                                                    cov, diag, diff, flip, is_floating_point, lerp,
                                                    masked_fill, median, meshgrid, mv, nonzero,
                                                    roll, split, std_mean, trace, unique, var_mean)
from tinygrad_lr.ops.catalogue.conveniences import mm
from tinygrad_lr.ops.catalogue.linalg import det, dot, norm, outer
from tinygrad_lr.ops.catalogue.linalg import inv as inverse
from tinygrad_lr.ops.catalogue.linalg import pinv as pinverse
from tinygrad_lr.ops.catalogue.logical import (all, allclose, any, bitwise_and, bitwise_not,
                                               bitwise_or, bitwise_xor, eq, equal, floor_divide,
                                               ge, gt, isclose, isfinite, isinf, isnan, le,
                                               logical_and, logical_not, logical_or, logical_xor,
                                               lt, nan_to_num, ne, remainder)
from tinygrad_lr.ops.catalogue.pointwise import (atan, ceil, clamp_max, clamp_min, cos, erf, expm1,
                                                 floor, log1p, log2, log10, logsigmoid, reciprocal,
                                                 round, rsqrt, sign, sin, square, tan)
from tinygrad_lr.ops.catalogue.reductions import (amax, amin, argmax, argmin, logsumexp, max, min,
                                                  prod, std, var)
from tinygrad_lr.ops.catalogue.shape import cat, flatten, squeeze, stack, t, transpose, unsqueeze
from tinygrad_lr.ops.catalogue.sorting import argsort, cumsum, gather, sort, topk
from tinygrad_lr.ops.functional import (abs, add, broadcast_to, clamp, clip, clone, div, exp, log,
                                        matmul, maximum, mean, minimum, mul, neg, permute, pow,
                                        relu, reshape, sigmoid, softplus, sqrt, sub, sum, tanh,
                                        where)
from tinygrad_lr.serialization import load, save
from tinygrad_lr.size import Size
from tinygrad_lr.operands import (bool_, float16, float32, float64, get_default_dtype, int32, int64,
                                  set_default_dtype)
from tinygrad_lr.tensor import Tensor, tensor

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
