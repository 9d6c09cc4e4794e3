"""In-place operations with PyTorch's semantics: every write bumps the version of the storage it
writes, and a write that autograd records rebases the written tensor's history.

``y.mul_(x)`` while recording is ``y <- y * x`` computed out of place from a copy of y's old values
(the new node keeps the values it read), written into y's memory (views of y see the change), with
the new node as ``y.grad_fn``. A write into a view is written through to its base the same way, so
the base's history records it too. A leaf that requires grad, or a view of one, cannot be written
while grad mode records: its gradient would describe values it no longer holds.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tinygrad_lr.autograd.grad_mode import _state
from tinygrad_lr.ops.rules import Expand, Index, IndexPut, Permute, Reshape
from tinygrad_lr.tensor import Tensor, index_key


def _recording(t: Tensor, args: tuple) -> bool:
    """True when the write is recorded: grad mode on and the tensor or an argument requires grad."""
    return _state.enabled and (t._requires_grad or any(
        isinstance(a, Tensor) and a._requires_grad for a in args))


def _check_not_leaf(name: str, t: Tensor) -> None:
    root = t
    while getattr(root, "_view_of", None) is not None:
        root = root._view_of[0]
    if root.grad_fn is None and root._requires_grad:
        what = "a leaf tensor" if root is t else "a view of a leaf tensor"
        raise RuntimeError(f"{name}: {what} that requires grad (shape "
                           f"{tuple(root._data.shape)}) is being used in an in-place operation; "
                           "make the update inside `with tinygrad_lr.no_grad():`")


def _write(t: Tensor, name: str, value: Any, index: Any = Ellipsis) -> None:
    """Store ``value`` at ``index`` of t's memory and bump its storage's version."""
    if not t._data.flags.writeable:
        raise RuntimeError(f"{name}: the tensor of shape {tuple(t._data.shape)} is read-only (an "
                           "expanded view, several elements in one memory location); clone() it "
                           "first")
    try:
        t._data[index] = value
    except ValueError:
        raise RuntimeError(f"{name}: a value of shape {np.shape(value)} cannot be broadcast to the "
                           f"indexed part of a tensor of shape {tuple(t._data.shape)}") from None
    t._version_counter[0] += 1


def _check_result(t: Tensor, name: str, value: np.ndarray) -> None:
    if value.shape != t._data.shape:
        raise RuntimeError(f"{name}: output with shape {tuple(t._data.shape)} doesn't match the "
                           f"broadcast shape {tuple(value.shape)}")
    if not np.can_cast(value.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(f"{name}: result type {value.dtype} can't be cast to the desired output "
                           f"type {t._data.dtype}")


def _expanded(base: Tensor, value: Tensor, **params: Any) -> None:
    raise RuntimeError(f"unsupported operation: more than one element of the written-to tensor "
                       f"(expanded to shape {params['shape']}) refers to a single memory location; "
                       "clone() the tensor before writing into it")


# How a write into a view reaches its base, by the view op that made it.
_WRITE_BACK: dict[type, Callable[..., None]] = {
    Index: lambda base, value, index: setitem(base, index, value),
    Reshape: lambda base, value, shape: base.copy_(value.reshape(base._data.shape)),
    Permute: lambda base, value, axes: base.copy_(
        value.permute(tuple(int(i) for i in np.argsort(axes)))),
    Expand: _expanded,
}


def _rebase(t: Tensor, name: str, result: Tensor) -> None:
    """Make ``result`` (computed out of place) t's values and history."""
    _check_result(t, name, result._data)
    if getattr(t, "_view_of", None) is not None:
        base, view_op, params = t._view_of
        _WRITE_BACK[view_op](base, result, **params)
        fresh = view_op.apply(base, **params)
        t.grad_fn, t._requires_grad = fresh.grad_fn, fresh._requires_grad
        return
    _write(t, name, result._data)
    node = result.grad_fn
    if node is not None:
        node.rebind_output(t)
    t.grad_fn, t._requires_grad = node, node is not None


def apply_inplace(t: Tensor, name: str, op: Callable[..., Tensor], *args: Any,
                  reads_self: bool = True) -> Tensor:
    """``t <- op(t, *args)`` in place, recorded when grad mode is on and t or an argument requires
    grad; returns t. ``reads_self=False`` for ops whose rule never reads t's old values (they
    need no copy of them)."""
    if not _recording(t, args):
        result = op(t, *args)
        _check_result(t, name, result._data)
        _write(t, name, result._data)
        return t
    _check_not_leaf(name, t)
    old = Tensor._make(t._data.copy() if reads_self else t._data, t.grad_fn)
    result = op(old, *args)
    if result is old or any(result is a for a in args):  # an op that returned its input
        result = result.clone()
    _rebase(t, name, result)
    return t


def _put(old: Tensor, value: Any, index: Any) -> Tensor:
    """``old`` with ``old[index] = value``, out of place (value cast to old's dtype)."""
    if not isinstance(value, Tensor):
        value = Tensor._make(np.asarray(value, dtype=old._data.dtype))
    elif value._data.dtype != old._data.dtype:
        value = value._cast(old._data.dtype)
    return IndexPut.apply(old, value, index=index)


def setitem(t: Tensor, key: Any, value: Any) -> None:
    """``t[key] = value`` for ints, slices, masks and integer arrays, a Tensor or a number:
    differentiable in t's other elements and in ``value``, as in PyTorch."""
    index = index_key(key)
    if _recording(t, (value,)):
        apply_inplace(t, "setitem", _put, value, index, reads_self=False)
    else:
        _write(t, "setitem", value._data if isinstance(value, Tensor) else value, index)


def fill_(t: Tensor, value: Any) -> Tensor:
    """Fill with ``value`` (a number or a 0-d tensor) in place."""
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"fill_: only supports a 0-dimension value tensor, but got one of "
                           f"shape {tuple(value._data.shape)}")
    setitem(t, Ellipsis, value)
    return t


def zero_(t: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(t, 0)


def copy_(t: Tensor, src: Any) -> Tensor:
    """Copy ``src`` (broadcast to t's shape, cast to its dtype) into t in place."""
    src_shape = np.shape(src._data if isinstance(src, Tensor) else src)
    try:
        fits = np.broadcast_shapes(src_shape, t._data.shape) == t._data.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"copy_: source of shape {tuple(src_shape)} cannot be broadcast to "
                           f"shape {tuple(t._data.shape)}")
    setitem(t, Ellipsis, src)
    return t


def inplace_variant(name: str, op: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The in-place method ``name`` (``exp_``) of the out-of-place ``op`` (``exp``)."""
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return apply_inplace(self, name, lambda old, *a: op(old, *a, **kwargs), *args)
    method.__name__ = name
    method.__doc__ = f"In-place version of ``{op.__name__}``: the result is written into self."
    return method


_VARIANTS = {
    "add_": Tensor.add, "sub_": Tensor.sub, "mul_": Tensor.mul, "div_": Tensor.div,
    "pow_": Tensor.pow, "neg_": Tensor.neg, "abs_": Tensor.abs, "exp_": Tensor.exp,
    "log_": Tensor.log, "sqrt_": Tensor.sqrt, "sigmoid_": Tensor.sigmoid, "tanh_": Tensor.tanh,
    "relu_": Tensor.relu, "__iadd__": Tensor.add,
    "__isub__": Tensor.sub, "__imul__": Tensor.mul, "__itruediv__": Tensor.div,
    "__ipow__": Tensor.pow,
}
_NAMES = {"__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
          "__ipow__": "pow_"}


def install_inplace(cls: type) -> None:
    """Attach the in-place methods and operators to the Tensor class."""
    for name, op in _VARIANTS.items():
        setattr(cls, name, inplace_variant(_NAMES.get(name, name), op))
    cls.__setitem__ = setitem
    cls.fill_ = fill_
    cls.zero_ = zero_
    cls.copy_ = copy_


install_inplace(Tensor)
