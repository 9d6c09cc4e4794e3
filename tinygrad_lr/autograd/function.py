"""Graph nodes. Each op subclasses :class:`Function` with its forward and its derivative rule."""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ..tensor import Tensor
from .grad_mode import _state

# Non-leaf tensors whose .grad is kept (``retain_grad``), keyed by the node that made them.
retained_outputs: "weakref.WeakKeyDictionary[Function, list]" = weakref.WeakKeyDictionary()


class Function:
    """One recorded operation: ``forward`` runs on arrays, ``backward`` maps the output gradient to
    the input gradients.

    ``backward(grad, xp, *inputs)`` is written with operators and ``xp.*`` functions only, so the same
    rule runs on arrays (``xp`` = the array namespace, inputs as arrays) and, for higher-order
    gradients, on Tensors (``xp`` = the tensor namespace, inputs as the recorded Tensors). A rule
    returns one gradient per input (a bare value for one input), None where ``needs`` is False.
    """

    __slots__ = ("inputs", "needs", "out", "__weakref__")
    array_ops: Any = None   # installed by tinygrad_lr.ops
    tensor_ops: Any = None  # installed by tinygrad_lr.ops

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        """Compute the output array from the input arrays."""
        raise NotImplementedError

    def backward(self, grad: Any, xp: Any, *inputs: Any) -> Any:
        """Vector-Jacobian product: gradients for the inputs given the output gradient."""
        raise NotImplementedError

    @classmethod
    def apply(cls, *tensors: Tensor, **params: Any) -> Tensor:
        """Run the op; record a node only when grad mode is on and some input requires grad."""
        node = cls(**params) if params else cls()
        out = node.forward(*[t.data for t in tensors])
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if _state.enabled:
            for t in tensors:
                if t._requires_grad:
                    node.inputs = tensors
                    node.needs = tuple([s._requires_grad for s in tensors])
                    return Tensor._make(out, node)
        return Tensor._make(out)

    def result(self, xp: Any) -> Any:
        """The forward output for the rule: the saved array, or a Tensor tied to this node."""
        return Tensor._make(self.out, self) if xp.graph else self.out

    def release(self) -> None:
        """Drop the references that keep the graph behind this node alive."""
        self.inputs = None
        self.out = None

    def retain_output(self, tensor: Tensor) -> None:
        """Remember ``tensor`` (made by this node) so backward sets its ``.grad``."""
        retained_outputs.setdefault(self, []).append(weakref.ref(tensor))

    @classmethod
    def name(cls) -> str:
        """Readable node name, as in PyTorch's ``grad_fn`` (e.g. ``MulBackward``)."""
        return cls.__name__ + "Backward"

    @property
    def next_functions(self) -> tuple:
        """The nodes (or None for leaves and constants) that produced this node's inputs."""
        return tuple((t.grad_fn, 0) for t in (self.inputs or ()))

    def __repr__(self) -> str:
        return f"<{self.name()}>"
