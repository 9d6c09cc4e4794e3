"""The functional forms of the lesson core's operations (``tl.add(x, y)``, ``tl.sum(x, 0)``): the
Tensor methods themselves, whose first operand may also be a number or an array, and the fused
losses for callers that already checked their arguments. The op catalogue's functions are in its
modules (:mod:`tinygrad_lr.ops.catalogue`)."""
from __future__ import annotations

import numpy as np

from tinygrad_lr.ops.catalogue.bounds import clamp, clip, maximum, minimum
from tinygrad_lr.ops.catalogue.losses import LogSoftmax
from tinygrad_lr.ops.rules import BinaryCrossEntropyWithLogits
from tinygrad_lr.tensor import Tensor, softplus, where

add, sub, mul, div, pow, matmul = Tensor.add, Tensor.sub, Tensor.mul, Tensor.div, Tensor.pow, \
    Tensor.matmul
neg, abs, exp, log, sqrt = Tensor.neg, Tensor.abs, Tensor.exp, Tensor.log, Tensor.sqrt
sigmoid, tanh, relu, clone = Tensor.sigmoid, Tensor.tanh, Tensor.relu, Tensor.clone
sum, mean = Tensor.sum, Tensor.mean
reshape, permute, broadcast_to = Tensor.reshape, Tensor.permute, Tensor.broadcast_to

__all__ = ["add", "sub", "mul", "div", "pow", "matmul", "neg", "abs", "exp", "log", "sqrt",
           "sigmoid", "tanh", "relu", "clone", "clamp", "clip", "maximum", "minimum", "sum",
           "mean", "reshape", "permute", "broadcast_to", "softplus", "where",
           "binary_cross_entropy_with_logits", "log_softmax"]


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean",
                                     weight: np.ndarray | None = None,
                                     pos_weight: np.ndarray | None = None) -> Tensor:
    """The logistic loss on logits as one op, without nn.functional's argument checks: for
    callers (the estimators) that already hold ``input`` and ``target`` of one floating dtype,
    target broadcastable to input, and ``weight``/``pos_weight`` as arrays of that dtype."""
    return BinaryCrossEntropyWithLogits.apply(input, target, reduction=reduction, weight=weight,
                                              pos_weight=pos_weight)


def log_softmax(input: Tensor, axis: int) -> Tensor:
    """x - logsumexp(x) along ``axis`` (a normalised, non-negative index), without
    nn.functional's argument handling."""
    return LogSoftmax.apply(input, axis=axis)
