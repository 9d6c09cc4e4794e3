"""User-defined differentiable functions in PyTorch's style::

    class MyReLU(torch.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    y = MyReLU.apply(x)

A :class:`~tinygrad_lr.autograd.function.Function` subclass whose ``forward`` is a staticmethod
gets this ``apply``: the user's forward runs on Tensors outside the graph, and one node is
recorded whose derivative rule calls the user's backward (on Tensors, recorded too under
``create_graph=True``, so such functions are differentiable again when their backward is).
"""
from __future__ import annotations

from typing import Any

from tinygrad_lr.tensor import Tensor
from tinygrad_lr.autograd.function import Function
from tinygrad_lr.autograd.grad_mode import _GradMode


class FunctionCtx:
    """The ``ctx`` a custom function's forward and backward share: ``save_for_backward`` /
    ``saved_tensors``, ``needs_input_grad``, and any attributes the forward sets."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Any, ...] = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep tensors (or None) for the backward."""
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for PyTorch's API: outputs carry the gradient their backward returns."""

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Accepted for PyTorch's API (inputs modified in place by the forward)."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch's API: the output gradient is always a tensor here."""
        self.materialize_grads = value


class _CustomNode(Function):
    """The recorded node of a custom function: its forward hands back the output the user's
    forward computed; its rule calls the user's backward."""
    __slots__ = ("user", "ctx", "result_array", "positions")
    reads = ()

    def __init__(self, user: type, ctx: FunctionCtx, result_array: Any,
                 positions: tuple[int, ...]) -> None:
        self.user, self.ctx = user, ctx
        self.result_array, self.positions = result_array, positions

    def forward(self, *arrays):
        return self.result_array

    def name(self) -> str:
        """PyTorch's name for a custom function's node (``MyReLUBackward``)."""
        return f"{self.user.__name__}Backward"

    def backward(self, g, xp, *inputs):
        if xp.graph:
            grads = self.user.backward(self.ctx, g)
        else:
            with _GradMode(False):
                grads = self.user.backward(self.ctx, Tensor._make(g))
        if not isinstance(grads, tuple):
            grads = (grads,)
        picked = []
        for i, position in enumerate(self.positions):
            grad = grads[position] if position < len(grads) else None
            if grad is None or not self.needs[i]:
                picked.append(None)
            elif xp.graph:
                picked.append(grad if isinstance(grad, Tensor) else Tensor._make(grad))
            else:
                picked.append(grad._data if isinstance(grad, Tensor) else grad)
        return picked[0] if len(picked) == 1 else tuple(picked)


def apply_custom(cls: type, *args: Any) -> Any:
    """Run ``cls.forward(ctx, *args)`` outside the graph and record one node for the result."""
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    tensors = [args[i] for i in positions]
    ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
    with _GradMode(False):
        output = cls.forward(ctx, *args)
    if not isinstance(output, Tensor):
        raise TypeError(f"{cls.__name__}.forward must return a single Tensor here, got "
                        f"{type(output).__name__}")
    if not tensors:
        return output
    return _CustomNode.apply(*tensors, user=cls, ctx=ctx, result_array=output._data,
                             positions=positions)


def install_ctx_style(cls: type) -> None:
    """Give ``cls`` (a Function subclass with a staticmethod forward) the ctx-style apply."""
    cls.apply = classmethod(apply_custom)
