"""Graph nodes. Each op subclasses :class:`Function` with its forward and its derivative rule."""
from __future__ import annotations

import itertools
import weakref
from typing import Any

import numpy as np

from tinygrad_lr.tensor import Tensor
from tinygrad_lr.autograd.grad_mode import _state

_sequence = itertools.count()
_new_tensor = object.__new__
# `needs` tuples for one and two inputs, shared rather than built per node.
_NEEDS_ONE = (True,)
_NEEDS_TWO = {(True, True): (True, True), (True, False): (True, False),
              (False, True): (False, True)}


def sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to ``shape``: the engine calls it on every gradient a rule
    returns, the single place broadcasting is undone (rules return gradients of the broadcast
    shape)."""
    grad_shape = grad.shape
    if grad_shape == shape:
        return grad
    is_array = type(grad) is np.ndarray
    if not shape:
        return np.add.reduce(grad, axis=None) if is_array else grad.sum()
    lead = len(grad_shape) - len(shape)
    axes = tuple(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and grad_shape[lead + i] != 1:
            axes += (lead + i,)
    if axes:
        grad = (np.add.reduce(grad, axis=axes, keepdims=True) if is_array
                else grad.sum(axis=axes, keepdims=True))
    return grad.reshape(shape) if lead else grad


def crossed() -> dict[tuple[bool, ...], tuple[int, ...]]:
    """``reads`` of a product (x * y, x @ y, and x @ w.T + b, whose b is never read): its rule
    reads the first input when the second needs its gradient and the second when the first
    does (d(xy)/dx = y)."""
    table = {}
    for arity in (2, 3):
        for needs in itertools.product((False, True), repeat=arity):
            table[needs] = tuple(i for i, other in ((0, 1), (1, 0)) if needs[other])
    return table


def _shape_error(cls: type, tensors: tuple[Tensor, ...], error: ValueError) -> RuntimeError:
    """NumPy's complaint about the inputs, restated with the op's name and the input shapes."""
    name = cls.__name__.lower()
    shapes = " and ".join(str(t._data.shape) for t in tensors)
    if "broadcast" in str(error):
        return RuntimeError(f"{name}: shapes {shapes} cannot be broadcast together")
    return RuntimeError(f"{name}: {error} (input shapes {shapes})")


class Function:
    """One recorded operation: ``forward`` runs on arrays, ``backward`` maps the output gradient to
    the input gradients.

    ``backward(grad, xp, *inputs)`` is written with operators and ``xp.*`` functions only, so the same
    rule runs on arrays (``xp`` = the array namespace, inputs as arrays) and, for higher-order
    gradients, on Tensors (``xp`` = the tensor namespace, inputs as Tensors tied to the graph). A rule
    returns one gradient per input (a bare value for one input), None where ``needs`` is False.

    A node keeps its inputs' arrays and parents (``a0``/``p0``, ``a1``/``p1``; tuples in ``a0``/``p0``
    for more inputs), not the input Tensors: intermediate Tensors die when the user drops them, and
    the graph costs one garbage-collected object per op. ``seq`` numbers nodes in creation order, so a
    node is always newer than the nodes it consumes. ``arity`` is 0 once the graph is freed.
    """

    __slots__ = ("arity", "a0", "p0", "a1", "p1", "needs", "out", "seq", "retained", "saved",
                 "__weakref__")
    array_ops: Any = None   # installed by tinygrad_lr.ops
    tensor_ops: Any = None  # installed by tinygrad_lr.ops
    # Ops whose result never shares memory with an input set this: their 0-d floating inputs
    # then reach forward and the rule as NumPy scalars, whose arithmetic is several times cheaper
    # than 0-d arrays' (scalar graphs are all such ops; see benchmarks/SPEED_LOG.md). Unary and
    # binary ops only; integers stay arrays, whose overflow wraps silently where a scalar's warns.
    on_scalars = False
    # The inputs the rule reads (indices), None for all of them, or a dict from ``needs`` to
    # indices for rules that read an input only for another input's gradient. The node records
    # the version of each, and of its output when saves_output, so that backward refuses values
    # changed in place after they were saved (PyTorch's version counters).
    reads: tuple[int, ...] | dict | None = None
    saves_output = False
    # View ops set this: a result that shares its input's memory shares its version counter,
    # and remembers how it was made (in-place writes into it are written through to the base).
    is_view = False


    def __init_subclass__(cls, **kwargs: Any) -> None:
        # PyTorch-style user functions (staticmethod forward(ctx, ...)) get their own apply.
        super().__init_subclass__(**kwargs)
        cls._reads_for = {}
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            from tinygrad_lr.autograd.custom import install_ctx_style
            install_ctx_style(cls)

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
        # Unary and binary ops are nearly all calls: spelled out, they skip building lists.
        try:
            if len(tensors) == 2:
                x, y = tensors
                a0, a1 = x._data, y._data
                if node.on_scalars and not (a0.ndim or a1.ndim) and a0.dtype.kind == "f":
                    a0, a1 = a0[()], a1[()]
                out = node.forward(a0, a1)
                record = x._requires_grad or y._requires_grad
            elif len(tensors) == 1:
                x = tensors[0]
                a0 = x._data
                if node.on_scalars and not a0.ndim and a0.dtype.kind == "f":
                    a0 = a0[()]
                out = node.forward(a0)
                record = x._requires_grad
            else:
                out = node.forward(*[t._data for t in tensors])
                record = any(t._requires_grad for t in tensors)
        except ValueError as error:
            raise _shape_error(cls, tensors, error) from None
        if type(out) is not np.ndarray:  # NumPy returns scalars for 0-d results
            out = np.asarray(out)
        result = _new_tensor(Tensor)
        result._data = out
        result._grad = None
        if cls.is_view and np.may_share_memory(out, tensors[0]._data):
            result._version_counter = tensors[0]._version_counter
            result._view_of = (tensors[0], cls, params)
        else:
            result._version_counter = [0]
        if not (record and _state.enabled):
            result.grad_fn = None
            result._requires_grad = False
            return result
        node.seq = next(_sequence)
        node.retained = None
        arity = node.arity = len(tensors)
        if arity == 2:
            rx, ry = x._requires_grad, y._requires_grad
            node.a0, node.a1 = a0, a1
            node.p0 = (x.grad_fn or x) if rx else None
            node.p1 = (y.grad_fn or y) if ry else None
            needs = node.needs = _NEEDS_TWO[rx, ry]
        elif arity == 1:
            node.a0, node.p0, node.needs = a0, x.grad_fn or x, _NEEDS_ONE
            needs = _NEEDS_ONE
        else:
            node.a0 = tuple(t._data for t in tensors)
            node.p0 = tuple((t.grad_fn or t) if t._requires_grad else None for t in tensors)
            needs = node.needs = tuple(t._requires_grad for t in tensors)
        # The version counter and the version now of each value the rule reads, flat: (counter,
        # version, counter, version, ...), one object per node for the garbage collector to scan.
        reads = cls._reads_for.get(needs)
        if reads is None:
            reads = cls._reads_for[needs] = cls._resolve_reads(needs)
        if not reads:
            node.saved = None
        elif len(reads) == 1:  # the common case (x * constant, tanh's output)
            i = reads[0]
            counter = (result if i < 0 else tensors[i])._version_counter
            node.saved = (counter, counter[0])
        else:
            operands = (*tensors, result)
            saved = ()
            for i in reads:
                counter = operands[i]._version_counter
                saved += (counter, counter[0])
            node.saved = saved
        result.grad_fn = node
        result._requires_grad = True
        return result

    @classmethod
    def _resolve_reads(cls, needs: tuple[bool, ...]) -> tuple[int, ...]:
        """The values the rule reads when the inputs' ``needs`` are these, as ``reads`` and
        ``saves_output`` declare them: input indices, -1 for the output (kept per class)."""
        reads = cls.reads
        if reads is None:
            reads = range(len(needs))
        elif type(reads) is dict:
            reads = reads[needs]
        return tuple(reads) + ((-1,) if cls.saves_output else ())

    def check_versions(self) -> None:
        """Raise if a value the rule reads was changed in place after this node saved it."""
        saved = self.saved
        for k, i in enumerate(type(self)._reads_for[self.needs]):
            counter, version = saved[2 * k], saved[2 * k + 1]
            if counter[0] != version:
                what = "its output" if i < 0 else f"its input {i}"
                array = self.out if i < 0 else self.edges()[0][i]
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: {what}, of shape {tuple(np.shape(array))}, saved by "
                    f"{self.name()}, is at version {counter[0]}; expected version {version} "
                    "instead")

    def rebind_output(self, tensor: Tensor) -> None:
        """Record ``tensor`` (which an in-place op made the output) as the output this node
        saved, at its current version (the output's pair is the last)."""
        if self.saved is not None and type(self)._reads_for[self.needs][-1] < 0:
            self.saved = self.saved[:-2] + (tensor._version_counter, tensor._version_counter[0])

    def edges(self) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The inputs' arrays and their parents (node, leaf Tensor or None), in input order."""
        if self.arity == 1:
            return (self.a0,), (self.p0,)
        if self.arity == 2:
            return (self.a0, self.a1), (self.p0, self.p1)
        return self.a0 or (), self.p0 or ()

    def input_tensors(self) -> list[Tensor]:
        """The inputs as Tensors tied to the graph (for rules that build a graph themselves)."""
        return [p if isinstance(p, Tensor) else Tensor._make(a, p)
                for a, p in zip(*self.edges())]

    def result(self, xp: Any) -> Any:
        """The forward output for the rule: the saved array, or a Tensor tied to this node."""
        return Tensor._make(self.out, self) if xp.graph else self.out

    def release(self) -> None:
        """Drop the references that keep the graph behind this node alive."""
        self.arity = 0
        self.a0 = self.p0 = self.a1 = self.p1 = self.out = self.saved = None

    def retain_output(self, tensor: Tensor) -> None:
        """Remember ``tensor`` (made by this node) so backward sets its ``.grad``."""
        self.retained = (self.retained or ()) + (weakref.ref(tensor),)

    def name(self) -> str:
        """The node's name as ``grad_fn`` prints it, ``MulBackward0`` (the op catalogue installs
        PyTorch's own names where they differ: ``tinygrad_lr.ops.catalogue.conversions``)."""
        return type(self).__name__ + "Backward0"

    @property
    def next_functions(self) -> tuple:
        """The nodes (or None for leaves and constants) that produced this node's inputs."""
        return tuple((p if isinstance(p, Function) else None, 0) for p in self.edges()[1])

    def __repr__(self) -> str:
        return f"<{self.name()}>"
