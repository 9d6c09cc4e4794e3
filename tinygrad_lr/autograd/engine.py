"""Reverse-mode execution: the chain rule applied node by node, newest first, without recursion.

Nodes are numbered as they are created, and every node is newer than the nodes that produced its
inputs. Taking pending nodes from a max-heap on that number therefore reaches each node only
after all of its consumers have sent their gradients, in time linear in the graph's size.
"""
from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from tinygrad_lr.tensor import Tensor, as_array
from tinygrad_lr.autograd.function import Function, sum_to
from tinygrad_lr.autograd.grad_mode import _GradMode


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Iterable[Tensor] | None = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or only of
    ``inputs``: :func:`tinygrad_lr.autograd.partial.backward_into`)."""
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if inputs is not None:
        partial.backward_into(list(inputs), roots, grad_tensors, retain_graph, create_graph)
        return
    root_grads = _check_roots("backward", roots, grad_tensors, create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    _execute(roots, root_grads, retain_graph, create_graph,
             lambda t, g: _accumulate(t, g, create_graph), None)


def _check_roots(what: str, outputs: Sequence[Tensor], grads: Any, create_graph: bool) -> list:
    """One checked output gradient per output (each output must be in a graph)."""
    if not isinstance(grads, (list, tuple)):
        grads = [grads] * len(outputs) if grads is None else [grads]
    if len(grads) != len(outputs):
        raise RuntimeError(f"{what}: got {len(grads)} gradients for {len(outputs)} outputs")
    for t in outputs:
        if not t._requires_grad:
            raise RuntimeError(f"{what}: the tensor does not require grad and has no grad_fn; "
                               "create the inputs with requires_grad=True")
    return [_as_grad(g, t, create_graph, what) for t, g in zip(outputs, grads)]


def _as_grad(value: Any, like: Tensor, graph: bool, what: str) -> Any:
    """Check and convert a user-given output gradient to an array (or Tensor when building a graph)."""
    if value is None:
        if like._data.size != 1:
            raise RuntimeError(f"{what}: grad can be implicitly created only for outputs with one "
                               f"element, but the output has shape {like.shape}; pass `gradient`")
        if not (graph or like._data.ndim):  # a scalar, as rules on 0-d values get (see Function)
            return like._data.dtype.type(1)
        g = np.array(1, dtype=like._data.dtype).reshape(like._data.shape)
    else:
        g = as_array(value, dtype=like.dtype, copy=False)
        if g.shape != like.shape:
            raise RuntimeError(f"{what}: gradient has shape {g.shape}, but the output has shape "
                               f"{like.shape}; they must match")
    return Tensor._make(g) if graph else g


def _execute(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
             graph: bool, deliver: Callable[[Any, Any], None], needed: set[int] | None) -> None:
    """Propagate ``root_grads`` back through the graph and hand ``deliver`` each leaf's summed
    gradient. ``needed`` is None to run every node; ``autograd.grad`` and ``backward(inputs=)``
    (:mod:`tinygrad_lr.autograd.partial`) pass the ids of the nodes to run, and are handed each
    node's output gradient too."""
    pending: dict[Function, Any] = {}
    leaves: dict[int, list] = {}
    for t, g in zip(roots, root_grads):
        fn = t.grad_fn
        if fn is None:
            _add_leaf(leaves, t, g)
        else:
            pending[fn] = pending[fn] + g if fn in pending else g
    if graph:
        with _GradMode(True):  # the rules run on Tensors and must record
            _propagate(pending, leaves, retain_graph, Function.tensor_ops, deliver, needed)
    else:
        _propagate(pending, leaves, retain_graph, Function.array_ops, deliver, needed)
    for t, g in leaves.values():
        deliver(t, g)


def _propagate(pending: dict[Function, Any], leaves: dict[int, list], retain_graph: bool, xp: Any,
               deliver: Callable[[Any, Any], None], needed: set[int] | None) -> None:
    """The chain rule, node by node from the newest: each node's summed output gradient through
    its rule to its parents (pending nodes, or ``leaves``)."""
    graph = xp.graph
    heap = [(-node.seq, node) for node in pending]
    heapify(heap)
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        if node.retained is not None:
            _set_retained(node, g, graph)
        if needed is not None:  # only some gradients are wanted (autograd/partial.py)
            deliver(node, g)
            if id(node) not in needed:
                continue
        # A value the rule reads changed in place since the node saved it: raise, naming it. The
        # node saved (counter, version, counter, version, ...), most often one or two pairs.
        saved = node.saved
        if saved is not None and (saved[0][0] != saved[1] or len(saved) > 2 and (
                saved[2][0] != saved[3] or len(saved) > 4)):
            node.check_versions()
        # The rule, and the inputs' arrays and parents (unary and binary nodes spelled out: they
        # are nearly all of them).
        arity = node.arity
        if graph:
            if arity == 0:
                _raise_freed(node)
            in_grads = node.backward(g, xp, *node.input_tensors())
            if arity == 1:
                in_grads = (in_grads,)
            arrays, parents = node.edges()
        elif arity == 2:
            a0, a1 = node.a0, node.a1
            arrays, parents = (a0, a1), (node.p0, node.p1)
            in_grads = node.backward(g, xp, a0, a1)
        elif arity == 1:
            arrays, parents = (node.a0,), (node.p0,)
            in_grads = (node.backward(g, xp, node.a0),)
        elif arity == 0:
            _raise_freed(node)
        else:
            arrays, parents = node.a0, node.p0
            in_grads = node.backward(g, xp, *arrays)
        if not retain_graph:
            node.release()
        for parent, a, gi in zip(parents, arrays, in_grads):
            if gi is None or parent is None:
                continue
            # Two NumPy scalars of one type (a node that ran on scalars: Function.on_scalars) have
            # one shape and one dtype; anything else is checked.
            if type(a) is np.ndarray or type(gi) is not type(a):
                if gi.shape != a.shape:  # broadcasting is undone here, and only here
                    gi = sum_to(gi, a.shape)
                if gi.dtype is not a.dtype and gi.dtype != a.dtype:
                    gi = xp.cast(gi, a.dtype)
            if isinstance(parent, Tensor):
                _add_leaf(leaves, parent, gi)
            elif parent in pending:
                pending[parent] = pending[parent] + gi
            elif needed is None or id(parent) in needed:
                pending[parent] = gi
                heappush(heap, (-parent.seq, parent))


def _add_leaf(leaves: dict[int, list], t: Tensor, g: Any) -> None:
    """Sum ``g`` into leaf ``t``'s gradient for this backward."""
    entry = leaves.get(id(t))
    if entry is None:
        leaves[id(t)] = [t, g]
    else:
        entry[1] = entry[1] + g


def _set_retained(node: Function, g: Any, graph: bool) -> None:
    """Accumulate the node's output gradient into the tensors that ``retain_grad()`` asked."""
    for ref in node.retained:
        t = ref()
        if t is not None:
            _accumulate(t, g, graph)


def _accumulate(t: Tensor, g: Any, graph: bool) -> None:
    """Add ``g`` into ``t.grad``: in place on an owned array, or as a new graph node."""
    if graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = Tensor._make(np.array(g))  # a private, writable copy (dtype already matches)
    else:
        old = t._grad
        if old._requires_grad or not old._data.flags.writeable:
            t._grad = Tensor._make(old._data + g)
        else:
            np.add(old._data, g, out=old._data, casting="unsafe")
            old._version_counter[0] += 1


def _raise_freed(node: Function) -> None:
    """A node whose saved values the first backward freed cannot run again."""
    raise RuntimeError(
        f"trying to backward through the graph a second time ({node.name()}): its saved values "
        "were freed by the first backward; pass retain_graph=True to the first call")


def _reachable(roots: Iterable[Function]) -> list[Function]:
    """Every node behind ``roots``, oldest first."""
    seen = {id(node): node for node in roots}
    stack = list(seen.values())
    while stack:
        for parent in stack.pop().edges()[1]:
            if isinstance(parent, Function) and id(parent) not in seen:
                seen[id(parent)] = parent
                stack.append(parent)
    return sorted(seen.values(), key=lambda node: node.seq)


# Gradients for chosen tensors only build on this module.
from tinygrad_lr.autograd import partial  # noqa: E402
