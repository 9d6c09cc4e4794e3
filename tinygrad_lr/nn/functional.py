"""Activations and losses with PyTorch's ``torch.nn.functional`` names, arguments and semantics.

Import as ``import tinygrad_lr.nn.functional as F``. The losses are fused ops (one graph node with
its own derivative rule), numerically stable at extreme logits and twice differentiable where
PyTorch is (BCE with logits, cross-entropy, MSE), so Hessians through them are exact.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tinygrad_lr.autograd.grad_mode import is_grad_enabled, no_grad
from tinygrad_lr.ops import rules
from tinygrad_lr import factories
from tinygrad_lr.ops import functional as fn
from tinygrad_lr.ops.catalogue import losses
from tinygrad_lr.ops.catalogue.linalg import Linear
from tinygrad_lr.ops.catalogue.pointwise import erf, logsigmoid
from tinygrad_lr.operands import check_reduction
from tinygrad_lr.ops.functional import sigmoid, tanh
from tinygrad_lr.tensor import Tensor, coerce, get_default_dtype, int64

__all__ = ["sigmoid", "relu", "tanh", "softplus", "logsigmoid", "softmax", "log_softmax",
           "leaky_relu", "elu", "gelu", "silu", "batch_norm", "hardtanh", "relu6", "selu",
           "softsign", "mish", "prelu", "cosine_similarity", "pairwise_distance", "kl_div",
           "soft_margin_loss", "dropout", "one_hot", "normalize", "linear",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
           "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss"]


# ---- argument handling ------------------------------------------------------------------------
def _float_tensor(x: Any) -> Tensor:
    """``x`` as a Tensor of a floating dtype (integers become the default dtype)."""
    if not isinstance(x, Tensor):
        x = factories.from_numpy(np.asarray(x))
    return x if x.dtype.kind == "f" else x.to(get_default_dtype())


def _input_and_target(name: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """Promote input and target to one floating dtype and require equal shapes."""
    x, y = coerce(input, target)
    if x.dtype.kind != "f":
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    if x.shape != y.shape:
        raise ValueError(f"{name}: target size {y.shape} is different from input size {x.shape}; "
                         "they must be the same (no broadcasting)")
    return x, y


def _check_bce_target(name: str, input: Any, target: Any, exact: bool) -> None:
    """PyTorch's dtype rule for BCE targets: floating (of the input's dtype when ``exact``)."""
    if not (isinstance(input, Tensor) and isinstance(target, Tensor)):
        return
    x, y = input.dtype, target.dtype
    if y.kind != "f" or (exact and x.kind == "f" and y != x):
        if exact:
            raise RuntimeError(f"{name}: Found dtype {_torch_name(y)} but expected "
                               f"{_torch_name(x)} (the target must have the input's dtype; "
                               "convert it with target.float() or target.to(input.dtype))")
        raise RuntimeError(f"{name}: result type {_torch_name(x)} can't be cast to the desired "
                           f"output type {_torch_name(y)} (the target must be floating; "
                           "convert it with target.float())")


def _torch_name(dtype: np.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "bool": "Bool", "float16": "Half", "uint8": "Byte"}.get(dtype.name, dtype.name)


def _broadcast_pair(name: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """Promote input and target to one floating dtype; of different shapes, warn as PyTorch
    does and broadcast them (an (N, 1) prediction against an (N,) target is the classic bug)."""
    x, y = coerce(input, target)
    if x.dtype.kind != "f":
        x, y = x.to(get_default_dtype()), y.to(get_default_dtype())
    if x.shape != y.shape:
        warnings.warn(f"{name}: Using a target size {y.shape} that is different to the input "
                      f"size {x.shape}. This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)
        try:
            shape = np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            raise RuntimeError(f"{name}: the size of the input {x.shape} must match the size "
                               f"of the target {y.shape} or broadcast with it") from None
        x, y = x.broadcast_to(shape), y.broadcast_to(shape)
    return x, y


def _constant(name: str, what: str, value: Any, dtype: np.dtype,
              shape: tuple[int, ...]) -> np.ndarray | None:
    """A weight argument as a constant array of ``dtype`` that broadcasts to ``shape``."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        if value.requires_grad and is_grad_enabled():
            raise RuntimeError(f"{name}: the loss is not differentiable with respect to "
                               f"argument {what!r}; pass a tensor that does not require grad")
        value = value._data
    array = np.asarray(value).astype(dtype, copy=False)
    if array.shape == shape:
        return array
    try:
        fits = np.broadcast_shapes(array.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name}: {what} of shape {array.shape} cannot be broadcast to the input "
                         f"shape {shape}")
    return array


def _check_unit_interval(name: str, what: str, t: Tensor) -> None:
    """Values must lie in [0, 1] (nan fails too); the first bad value is named."""
    data = t._data
    if not data.size or (np.minimum.reduce(data, axis=None) >= 0
                         and np.maximum.reduce(data, axis=None) <= 1):
        return
    bad = ~((data >= 0) & (data <= 1))
    if bad.any():
        where = np.unravel_index(int(np.argmax(bad)), data.shape) if data.ndim else ()
        raise ValueError(f"{name}: all elements of {what} should be between 0 and 1, got "
                         f"{data[where].item()!r} at index {tuple(int(i) for i in where)}")


def _softmax_axis(name: str, input: Tensor, dim: int | None) -> int | None:
    """The axis to normalise along (None for a 0-d input); dim=None picks PyTorch's legacy
    default (0 for 0-, 1- and 3-d inputs, else 1) with a warning, as PyTorch does."""
    ndim = input.ndim
    if dim is None:
        warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim explicitly",
                      UserWarning, stacklevel=3)
        dim = 0 if ndim in (0, 1, 3) else 1
    limit = max(ndim, 1)
    if not -limit <= dim < limit:
        raise IndexError(f"{name}: dimension {dim} is out of range for a tensor of shape "
                         f"{input.shape} (expected in [{-limit}, {limit - 1}])")
    return dim % limit if ndim else None


# ---- activations ------------------------------------------------------------------------------
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, reverting to x where beta x > threshold (for stability)."""
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero, got 0")
    return losses.ScaledSoftplus.apply(_float_tensor(input), beta=beta, threshold=threshold)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). ``inplace`` is accepted for PyTorch's signature; the result is a new tensor
    (the value is the same)."""
    return fn.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (derivative negative_slope at 0, as PyTorch)."""
    x = _float_tensor(input)
    return fn.where(x > 0, x, x * negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (e^x - 1)."""
    x = _float_tensor(input)
    return fn.where(x > 0, x, (fn.exp(fn.clamp(x, max=0.0)) - 1) * alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) with Phi the standard normal CDF (``approximate='tanh'``: PyTorch's tanh
    formula)."""
    x = _float_tensor(input)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)
        return x * 0.5 * (tanh(inner) + 1)
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh, got "
                           f"{approximate!r}")
    return x * 0.5 * (erf(x * (1 / math.sqrt(2))) + 1)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient passes strictly inside, as PyTorch's."""
    x = _float_tensor(input)
    inside = (x._data > min_val) & (x._data < max_val)
    return fn.where(inside, x, fn.clamp(x, min_val, max_val).detach())


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale (max(0, x) + min(0, alpha (e^x - 1))) with SELU's constants."""
    return elu(input, 1.6732632423543772848170429916717) * 1.0507009873554804934193349852946


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _float_tensor(input)
    return x / (fn.abs(x) + 1)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x))."""
    x = _float_tensor(input)
    return x * tanh(softplus(x))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x (one weight, or one per channel of dimension 1)."""
    x = _float_tensor(input)
    if weight.numel() > 1 and x.ndim > 1:
        weight = fn.reshape(weight, (1, weight.numel()) + (1,) * (x.ndim - 2))
    return fn.where(x > 0, x, x * weight)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / max(||x1|| ||x2||, eps) along ``dim``."""
    from tinygrad_lr.ops.catalogue.linalg import vector_norm
    a, b = coerce(_float_tensor(x1), _float_tensor(x2))
    dot = fn.sum(a * b, dim)
    norms = vector_norm(a, 2, dim) * vector_norm(b, 2, dim)
    return dot / fn.clamp(norms, min=eps)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dimension."""
    from tinygrad_lr.ops.catalogue.linalg import vector_norm
    a, b = coerce(_float_tensor(x1), _float_tensor(x2))
    return vector_norm(a - b + eps, p, -1, keepdim)


def kl_div(input: Tensor, target: Tensor, *, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence of ``target`` from log-probabilities ``input``:
    target (log target - input) pointwise (0 where target is 0), then reduced; ``batchmean``
    divides the sum by the batch size."""
    x, y = coerce(_float_tensor(input), _float_tensor(target))
    if log_target:
        pointwise = fn.exp(y) * (y - x)
    else:
        positive = y._data > 0
        safe = fn.where(positive, y, 1.0)
        pointwise = fn.where(positive, y * (fn.log(safe) - x), 0.0)
    if reduction == "batchmean":
        return fn.sum(pointwise) / (x.shape[0] if x.ndim else 1)
    check_reduction(reduction)
    return _reduce(pointwise, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)) for targets y in {-1, 1}."""
    check_reduction(reduction)
    x, y = _broadcast_pair("soft_margin_loss", input, target)
    return _reduce(softplus(-(x * y)), reduction)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    x = _float_tensor(input)
    return x * sigmoid(x)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each feature (dimension 1) over the batch (and any trailing dimensions): with
    the batch's statistics when ``training`` (updating the running ones in place by
    ``momentum``, the variance unbiased, as PyTorch), else with the running statistics."""
    x = _float_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected 2D or 3D input (got {x.ndim}D input)")
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training or running_mean is None:
        count = x.numel() // x.shape[1]
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {x.shape}")
        mean = fn.mean(x, axes, keepdim=True)
        var = fn.mean((x - mean) ** 2, axes, keepdim=True)
        if training and running_mean is not None:
            with no_grad():
                batch_mean = fn.reshape(mean.detach(), -1)
                unbiased = fn.reshape(var.detach(), -1) * (count / (count - 1))
                running_mean.mul_(1 - momentum).add_(batch_mean * momentum)
                running_var.mul_(1 - momentum).add_(unbiased * momentum)
    else:
        mean, var = fn.reshape(running_mean, shape), fn.reshape(running_var, shape)
    out = (x - mean) / fn.sqrt(var + eps)
    if weight is not None:
        out = out * fn.reshape(weight, shape)
    if bias is not None:
        out = out + fn.reshape(bias, shape)
    return out


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
            ) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 - p) when
    ``training``; the identity otherwise. The mask comes from the global generator
    (``tinygrad_lr.manual_seed`` makes it reproducible)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    x = _float_tensor(input)
    if p == 1.0:
        return x * 0.0
    keep = factories.default_generator().random(x.shape) >= p
    return x * factories.from_numpy((keep / (1.0 - p)).astype(x.dtype))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64) as rows of 0s and 1s (int64), ``num_classes`` wide (by default
    one more than the largest index)."""
    data = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if data.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor, "
                           f"got dtype {data.dtype}")
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (data.min() < 0 or data.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes - 1}], got "
                           f"values from {int(data.min())} to {int(data.max())}")
    return factories.from_numpy((data[..., None] == np.arange(num_classes)).astype(int64))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(||input||_p along dim, eps)."""
    from tinygrad_lr.ops.catalogue.linalg import vector_norm
    x = _float_tensor(input)
    return x / fn.clamp(vector_norm(x, p, dim, keepdim=True), min=eps)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, without overflow for any finite logits."""
    x = _float_tensor(input) if dtype is None else factories.as_tensor(input).to(np.dtype(dtype))
    return losses.Softmax.apply(x, axis=_softmax_axis("softmax", x, dim))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim`` as x - logsumexp(x): stable, and twice differentiable."""
    x = _float_tensor(input) if dtype is None else factories.as_tensor(input).to(np.dtype(dtype))
    return losses.LogSoftmax.apply(x, axis=_softmax_axis("log_softmax", x, dim))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias, with weight of shape (out_features, in_features): one graph node
    when the operands share a dtype and weight is a matrix, else the product and the sum."""
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and input.dtype != weight.dtype:
        raise RuntimeError(f"linear: mat1 and mat2 must have the same dtype, but got "
                           f"{_torch_name(input.dtype)} and {_torch_name(weight.dtype)} (input "
                           f"{input.dtype}, weight {weight.dtype}; convert the input with "
                           ".float() or the model with .double())")
    x, w = coerce(input, weight)
    if w.ndim != 2 or x.ndim == 0 or (bias is not None and not (
            isinstance(bias, Tensor) and bias.dtype == w.dtype)):
        out = x @ w.T
        return out if bias is None else out + bias
    if bias is None:
        return Linear.apply(x, w)
    return Linear.apply(x, w, bias)


# ---- losses on probabilities and logits -------------------------------------------------------
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` against ``target`` in [0, 1].

    Each log is clamped at -100 and the derivative's denominator x(1 - x) at 1e-12, as PyTorch,
    so inputs of exactly 0 or 1 give finite values and gradients.
    """
    check_reduction(reduction)
    _check_bce_target("binary_cross_entropy", input, target, exact=True)
    x, y = _input_and_target("binary_cross_entropy", input, target)
    _check_unit_interval("binary_cross_entropy", "input", x)
    _check_unit_interval("binary_cross_entropy", "target", y)
    w = _constant("binary_cross_entropy", "weight", weight, x.dtype, x.shape)
    return losses.BinaryCrossEntropy.apply(x, y, reduction=reduction, weight=w)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     *, pos_weight: Tensor | None = None,
                                     reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(input) against ``target`` in [0, 1], computed from the
    logits in one stable op: finite for any logit, derivative weight * (sigmoid(x) - y).

    ``pos_weight`` multiplies the positive term: -w [p y log s(x) + (1 - y) log(1 - s(x))].
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(reduction)
    _check_bce_target(name, input, target, exact=False)
    x, y = _input_and_target(name, input, target)
    _check_unit_interval(name, "target", y)
    w = _constant(name, "weight", weight, x.dtype, x.shape)
    p = _constant(name, "pos_weight", pos_weight, x.dtype, x.shape)
    return rules.BinaryCrossEntropyWithLogits.apply(x, y, reduction=reduction, weight=w,
                                                     pos_weight=p)


def mse_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)^2, averaged, summed or per element."""
    check_reduction(reduction)
    x, y = _broadcast_pair("mse_loss", input, target)
    return losses.MSELoss.apply(x, y, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Absolute error |input - target|, averaged, summed or per element."""
    check_reduction(reduction)
    x, y = _broadcast_pair("l1_loss", input, target)
    return losses.L1Loss.apply(x, y, reduction=reduction)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def smooth_l1_loss(input: Tensor, target: Tensor, *, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target)."""
    check_reduction(reduction)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss does not support negative values for beta, got {beta}")
    x, y = _broadcast_pair("smooth_l1_loss", input, target)
    d = x - y
    a = fn.abs(d)
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(fn.where(a < beta, d * d * (0.5 / beta), a - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, *, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target)."""
    check_reduction(reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss does not support non-positive values for delta, got "
                           f"{delta}")
    x, y = _broadcast_pair("huber_loss", input, target)
    d = x - y
    a = fn.abs(d)
    return _reduce(fn.where(a < delta, d * d * 0.5, (a - 0.5 * delta) * delta), reduction)


# ---- losses over classes ----------------------------------------------------------------------
def _class_coefficients(name: str, scores: Tensor, target: Any, weight: Any, reduction: str,
                        ignore_index: int, label_smoothing: float) -> np.ndarray:
    """The coefficients A with loss = -sum A * log-probabilities (see NegativeLogLikelihood).

    Class-index targets: A = w[t] onehot(t) (1 - eps) + eps w / C on rows whose target is not
    ``ignore_index``; ``mean`` divides by the sum of w[t] over those rows, as PyTorch.
    Probability targets (same shape as the input): A = w (y (1 - eps) + eps / C); ``mean``
    divides by the number of samples.
    """
    if scores.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a 0-d tensor")
    axis = 1 if scores.ndim > 1 else 0
    n_classes = scores.shape[axis]
    class_shape = tuple(n_classes if i == axis else 1 for i in range(scores.ndim))
    dtype = scores.dtype
    if weight is None:
        w = np.ones(n_classes, dtype)
    else:
        w = _constant(name, "weight", weight, dtype, (n_classes,))
        if w.shape != (n_classes,):
            raise ValueError(f"{name}: weight should have one entry per class ({n_classes}), "
                             f"got shape {w.shape}")
    t = target._data if isinstance(target, Tensor) else np.asarray(target)

    if t.dtype.kind == "f":
        if t.shape != scores.shape:
            raise RuntimeError(f"{name}: expected target dtype to be Long or Byte (class "
                               f"indices of shape {scores.shape[:axis] + scores.shape[axis + 1:]})"
                               f" or float class probabilities of the input's shape "
                               f"{scores.shape}, got dtype {t.dtype} and shape {t.shape}")
        coef = w.reshape(class_shape) * (t.astype(dtype) * (1 - label_smoothing)
                                         + label_smoothing / n_classes)
        if reduction == "mean":
            coef = coef / (t.size // n_classes)
        return coef

    if t.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected target dtype to be Long (class indices) or a "
                           f"float dtype (class probabilities), but got dtype {t.dtype}")
    expected = scores.shape[:axis] + scores.shape[axis + 1:]
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError(f"{name}: expected target dtype to be Long or Byte, but got dtype "
                           f"{t.dtype} (of shape {t.shape}; class indices are int64)")
    if t.shape != expected:
        if axis == 1 and t.ndim >= 1 and t.shape[0] != scores.shape[0]:
            raise ValueError(f"{name}: expected input batch_size ({scores.shape[0]}) to match "
                             f"target batch_size ({t.shape[0]})")
        raise ValueError(f"{name}: target of shape {t.shape} does not match input of shape "
                         f"{scores.shape} (expected target shape {expected})")
    keep = t != ignore_index
    out_of_range = keep & ((t < 0) | (t >= n_classes))
    if out_of_range.any():
        bad = t[out_of_range].reshape(-1)[0]
        raise IndexError(f"{name}: target {int(bad)} is out of bounds (expected a class index in "
                         f"[0, {n_classes - 1}] or ignore_index={ignore_index})")
    index = np.expand_dims(np.where(keep, t, 0), axis)
    row_weight = np.expand_dims(w[np.where(keep, t, 0)] * keep, axis)
    coef = np.zeros(scores.shape, dtype)
    np.put_along_axis(coef, index, row_weight * (1 - label_smoothing), axis=axis)
    if label_smoothing:
        coef += np.expand_dims(keep, axis) * w.reshape(class_shape) * (label_smoothing / n_classes)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):  # all ignored: nan, as PyTorch
            coef = coef / row_weight.sum()
    return coef


def _negative_log_likelihood(name: str, logp: Tensor, target: Any, weight: Any, reduction: str,
                             ignore_index: int, label_smoothing: float) -> Tensor:
    coef = _class_coefficients(name, logp, target, weight, reduction, ignore_index,
                               label_smoothing)
    axis = 1 if logp.ndim > 1 else 0
    return losses.NegativeLogLikelihood.apply(logp, coef=coef, axis=axis,
                                               total=reduction != "none")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets given log-probabilities ``input``
    ((C,), (N, C) or (N, C, d1, ...)); ``mean`` divides by the summed target weights."""
    check_reduction(reduction)
    dtype = (target._data if isinstance(target, Tensor) else np.asarray(target)).dtype
    if dtype != np.int64 and dtype != np.uint8:
        raise RuntimeError(f"nll_loss: expected target dtype to be Long or Byte (class "
                           f"indices), but got dtype {dtype}")
    return _negative_log_likelihood("nll_loss", _float_tensor(input), target, weight, reduction,
                                    ignore_index, 0.0)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, *,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` ((C,), (N, C) or (N, C, d1, ...)) against class indices
    (or class probabilities of the input's shape): nll_loss(log_softmax(input, class dim)) with
    PyTorch's label smoothing and weighted mean."""
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                         f"got {label_smoothing}")
    x = _float_tensor(input)
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must have a class dimension, got a 0-d tensor")
    logp = losses.LogSoftmax.apply(x, axis=1 if x.ndim > 1 else 0)
    return _negative_log_likelihood("cross_entropy", logp, target, weight, reduction,
                                    ignore_index, label_smoothing)


def _install_methods() -> None:
    """softmax and log_softmax as Tensor methods, as PyTorch has them."""
    Tensor.softmax = lambda self, dim, dtype=None: softmax(self, dim, dtype=dtype)
    Tensor.log_softmax = lambda self, dim, dtype=None: log_softmax(self, dim, dtype=dtype)


_install_methods()
