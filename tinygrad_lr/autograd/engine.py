"""Reverse-mode execution: topological order (iterative), chain rule, gradient accumulation."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..tensor import Tensor, as_array
from .function import Function, retained_outputs
from .grad_mode import _GradMode


def _topological_order(roots: Iterable[Function]) -> list[Function]:
    """Nodes reachable from ``roots``, every node before the nodes that produced its inputs."""
    postorder: list[Function] = []
    expanded: set[int] = set()
    stack: list[tuple[Function, bool]] = [(node, False) for node in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            postorder.append(node)
            continue
        if id(node) in expanded:
            continue
        expanded.add(id(node))
        stack.append((node, True))
        inputs = node.inputs
        if inputs is None:
            continue
        for t in inputs:
            fn = t.grad_fn
            if fn is not None and id(fn) not in expanded:
                stack.append((fn, False))
    postorder.reverse()
    return postorder


def _as_grad(value: Any, like: Tensor, graph: bool, what: str) -> Any:
    """Check and convert a user-given output gradient to an array (or Tensor when building a graph)."""
    if value is None:
        if like.data.size != 1:
            raise RuntimeError(f"{what}: grad can be implicitly created only for outputs with one "
                               f"element, but the output has shape {like.shape}; pass `gradient`")
        g = np.ones(like.shape, dtype=like.dtype)
    else:
        g = as_array(value, dtype=like.dtype, copy=False)
        if g.shape != like.shape:
            raise RuntimeError(f"{what}: gradient has shape {g.shape}, but the output has shape "
                               f"{like.shape}; they must match")
    return Tensor._make(g) if graph else g


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _execute(roots: Sequence[Tensor], root_grads: Sequence[Any], retain_graph: bool,
             graph: bool, deliver: Any, wanted: set[int] | None) -> None:
    """Propagate ``root_grads`` back through the graph, handing leaf gradients to ``deliver``.

    ``wanted`` (ids of nodes and leaves) prunes the walk to the nodes that lead to them.
    """
    xp = Function.tensor_ops if graph else Function.array_ops
    pending: dict[Function, Any] = {}
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            deliver(t, g)
        else:
            pending[t.grad_fn] = _add(pending.get(t.grad_fn), g)
    order = _topological_order(list(pending))
    if wanted is not None:
        order = _prune(order, wanted)
    with _GradMode(graph):
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            if retained_outputs and node in retained_outputs:
                _set_retained(node, g, graph)
            if wanted is not None and id(node) in wanted:
                deliver(node, g)
            inputs = node.inputs
            if inputs is None:
                raise RuntimeError(
                    f"trying to backward through the graph a second time ({node.name()}): its saved "
                    "values were freed by the first backward; pass retain_graph=True to the first call")
            if graph:
                in_grads = node.backward(g, xp, *inputs)
            else:
                in_grads = node.backward(g, xp, *[t.data for t in inputs])
            if len(inputs) == 1:
                in_grads = (in_grads,)
            if not retain_graph:
                node.release()
            for t, gi, need in zip(inputs, in_grads, node.needs):
                if gi is None or not need:
                    continue
                if gi.dtype != t.data.dtype:
                    gi = xp.cast(gi, t.data.dtype)
                fn = t.grad_fn
                if fn is None:
                    deliver(t, gi)
                elif wanted is None or id(fn) in wanted:
                    pending[fn] = _add(pending.get(fn), gi)


def _prune(order: list[Function], wanted: set[int]) -> list[Function]:
    """Keep the nodes with a path to a wanted node or leaf; extend ``wanted`` with them."""
    for node in reversed(order):
        if id(node) in wanted:
            continue
        for t in node.inputs or ():
            key = id(t) if t.grad_fn is None else id(t.grad_fn)
            if key in wanted:
                wanted.add(id(node))
                break
    return [node for node in order if id(node) in wanted]


def _set_retained(node: Function, g: Any, graph: bool) -> None:
    for ref in retained_outputs[node]:
        t = ref()
        if t is not None:
            _accumulate(t, g, graph)


def _accumulate(t: Tensor, g: Any, graph: bool) -> None:
    """Add ``g`` into ``t.grad``: in place on an owned array, or as a new graph node."""
    if graph:
        t._grad = g if t._grad is None else t._grad + g
    elif t._grad is None:
        t._grad = Tensor._make(np.array(g, dtype=t.data.dtype))
    else:
        old = t._grad
        if old._requires_grad or not old.data.flags.writeable:
            t._grad = Tensor._make(old.data + g)
        else:
            np.add(old.data, g, out=old.data, casting="unsafe")


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Iterable[Tensor] | None = None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of the leaves (or only ``inputs``)."""
    roots = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, (Tensor, np.ndarray)) and len(roots) == 1:
        grad_tensors = [grad_tensors]
    if len(grad_tensors) != len(roots):
        raise RuntimeError(f"backward: got {len(grad_tensors)} gradients for {len(roots)} outputs")
    for t in roots:
        if not t._requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn; "
                               "create the inputs with requires_grad=True")
    if retain_graph is None:
        retain_graph = create_graph
    root_grads = [_as_grad(g, t, create_graph, "backward") for t, g in zip(roots, grad_tensors)]

    only = None if inputs is None else {id(t) for t in inputs}

    def deliver(t: Any, g: Any) -> None:
        if isinstance(t, Tensor) and t._requires_grad and (only is None or id(t) in only):
            _accumulate(t, g, create_graph)
        elif only is not None and isinstance(t, Function):
            for ref in _non_leaf_inputs.get(id(t), ()):
                _accumulate(ref, g, create_graph)

    _non_leaf_inputs: dict[int, list[Tensor]] = {}
    wanted = None
    if inputs is not None:
        wanted = set()
        for t in inputs:
            if t.grad_fn is None:
                wanted.add(id(t))
            else:
                wanted.add(id(t.grad_fn))
                _non_leaf_inputs.setdefault(id(t.grad_fn), []).append(t)
    _execute(roots, root_grads, retain_graph, create_graph, deliver, wanted)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned without touching ``.grad``."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)) and len(outs) == 1:
        grad_outputs = [grad_outputs] * len(outs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outs):
        raise RuntimeError(f"grad: got {len(grad_outputs)} grad_outputs for {len(outs)} outputs")
    for i, t in enumerate(ins):
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    for t in outs:
        if not t._requires_grad:
            raise RuntimeError("grad: an output does not require grad and has no grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    root_grads = [_as_grad(g, t, create_graph, "grad") for t, g in zip(outs, grad_outputs)]

    slots: dict[int, list[int]] = {}
    for i, t in enumerate(ins):
        key = id(t) if t.grad_fn is None else id(t.grad_fn)
        slots.setdefault(key, []).append(i)
    results: list[Any] = [None] * len(ins)

    def deliver(t: Any, g: Any) -> None:
        for i in slots.get(id(t), ()):
            results[i] = _add(results[i], g)

    _execute(outs, root_grads, retain_graph, create_graph, deliver, set(slots))
    answer: list[Tensor | None] = []
    for i, (t, g) in enumerate(zip(ins, results)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t.shape}) was not used to compute "
                                   "the outputs; pass allow_unused=True to get None for it")
            answer.append(None)
        elif create_graph:
            answer.append(g)
        else:
            answer.append(Tensor._make(np.array(g, dtype=t.data.dtype)))
    return tuple(answer)
