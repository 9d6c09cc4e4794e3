"""Gradients for chosen tensors only: ``autograd.grad`` and ``backward(inputs=...)``.

Both run the engine (:func:`tinygrad_lr.autograd.engine._execute`) on the nodes that lie on a path
from the outputs to a chosen tensor and on no others, as PyTorch does: a node elsewhere does not
run, so a graph freed there, or a value it saved and that changed in place since, raises nothing.
A chosen leaf's gradient is the one it would accumulate; a chosen non-leaf's is its node's output
gradient.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_lr.autograd import engine
from tinygrad_lr.tensor import Tensor


def _needed(outputs: Sequence[Tensor], keys: dict[int, Any]) -> set[int]:
    """Ids of the nodes with a path to a chosen node or leaf (``keys``): the rest need not run."""
    needed: set[int] = set()
    # Oldest first, so that a node's parents are settled before the node.
    for node in engine._reachable([t.grad_fn for t in outputs if t.grad_fn is not None]):
        if id(node) in keys or any(id(p) in keys or id(p) in needed
                                   for p in node.edges()[1] if p is not None):
            needed.add(id(node))
    return needed


def _run(what: str, outputs: list[Tensor], grad_outputs: Any, inputs: list[Tensor],
         retain_graph: bool | None, create_graph: bool, take: Callable[[int, Any], None]) -> None:
    """Backpropagate from ``outputs`` through the nodes needed for ``inputs``, calling
    ``take(i, g)`` with each gradient that reaches the i-th input."""
    root_grads = engine._check_roots(what, outputs, grad_outputs, create_graph)
    # The engine hands over a leaf's gradient under the leaf, a non-leaf's under its node.
    slots: dict[int, list[int]] = {}
    for i, t in enumerate(inputs):
        slots.setdefault(id(t) if t.grad_fn is None else id(t.grad_fn), []).append(i)

    def deliver(key: Any, g: Any) -> None:
        for i in slots.get(id(key), ()):
            take(i, g)

    engine._execute(outputs, root_grads, create_graph if retain_graph is None else retain_graph,
                    create_graph, deliver, _needed(outputs, slots))


def backward_into(inputs: list[Tensor], outputs: list[Tensor], grad_outputs: Any,
                  retain_graph: bool | None, create_graph: bool) -> None:
    """``backward(inputs=...)``: accumulate into the ``.grad`` of ``inputs`` only."""
    _run("backward", outputs, grad_outputs, inputs, retain_graph, create_graph,
         lambda i, g: engine._accumulate(inputs[i], g, create_graph))


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned without touching ``.grad``."""
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(ins):
        if not t._requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    results: list[Any] = [None] * len(ins)

    def take(i: int, g: Any) -> None:
        results[i] = g if results[i] is None else results[i] + g

    _run("grad", outs, grad_outputs, ins, retain_graph, create_graph, take)
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
            answer.append(Tensor._make(np.array(g, dtype=t._data.dtype)))
    return tuple(answer)
