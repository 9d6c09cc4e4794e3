"""Draw the computation graph behind a tensor as Graphviz DOT text (render it with ``dot -Tpng``).

Nodes are numbered in the order a breadth-first walk from the output meets them, so the same graph
always gives the same text. Data flows along the arrows: inputs point to the ops that consume them.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.nn.module import Module
from tinygrad_lr.tensor import Tensor

# Arrays with at most this many elements are printed in full; larger ones are summarised.
_MAX_SHOWN = 4

_STYLES = {
    "op": 'shape=box, style="rounded,filled", fillcolor=lightgray',
    "leaf": "shape=box, style=filled, fillcolor=lightblue",
    "const": "shape=plaintext, fontsize=10",
}


def _values(array: np.ndarray) -> str:
    """A short text for an array: its values when small, its shape and norm otherwise."""
    if array.size <= _MAX_SHOWN:
        if array.ndim == 0:
            return f"{array.item():.4g}"
        return np.array2string(array, precision=4, separator=", ").replace("\n", "")
    return f"norm {np.linalg.norm(array.astype(np.float64)):.4g}"


def _shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def _quote(text: str) -> str:
    """A DOT string literal; lines of ``text`` become label lines."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _name_table(names: Mapping[Tensor, str] | Module | None) -> dict[int, str]:
    """Display names keyed by the id of what the walk meets for each named tensor: the tensor
    (a leaf), its array (a constant) or its node (an op's output), from a mapping or from a
    Module's named parameters."""
    if names is None:
        return {}
    pairs = (((param, name) for name, param in names.named_parameters())
             if isinstance(names, Module) else names.items())
    table = {}
    for t, name in pairs:
        table[id(t._data)] = table[id(t)] = str(name)
        if t.grad_fn is not None:
            table[id(t.grad_fn)] = str(name)
    return table


def _grad_line(grad: Tensor | None) -> list[str]:
    return [] if grad is None else ["grad " + _values(grad._data)]


def _retained(node: Function, root: Tensor) -> list[Tensor]:
    """The live tensors made by ``node`` whose ``.grad`` may be set: those that retain it, and
    the drawn tensor itself."""
    tensors = [t for t in (ref() for ref in node.retained or ()) if t is not None]
    if root.grad_fn is node and all(t is not root for t in tensors):
        tensors.insert(0, root)
    return tensors


def to_dot(tensor: Tensor, names: Mapping[Tensor, str] | Module | None = None) -> str:
    """Graphviz DOT text for the graph that produced ``tensor``: each op with its output shape,
    each leaf with its (optional) name, shape and gradient, each constant input compactly.

    ``names`` maps tensors (leaves, constants or op outputs) to labels, or is a Module whose named
    parameters label its leaves. Gradients show for leaves, for non-leaf tensors that retain their
    grad, and for ``tensor`` itself when it does. Draw before ``backward()``, or after
    ``backward(retain_graph=True)``: plain backward frees the graph, and that raises RuntimeError.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    labels = _name_table(names)
    ids: dict[int, str] = {}
    nodes: list[tuple[str, str, str]] = []  # (id, style, label) in walk order
    edges: list[tuple[str, str]] = []

    def leaf_id(leaf: Tensor) -> str:
        key = id(leaf)
        if key not in ids:
            ids[key] = f"n{len(nodes)}"
            lines = [labels[key]] if key in labels else []
            lines += [_shape(leaf.shape)] + _grad_line(leaf.grad)
            nodes.append((ids[key], "leaf", "\n".join(lines)))
        return ids[key]

    if tensor.grad_fn is None:
        leaf_id(tensor)
        return _render(nodes, edges)

    op_nodes: list[tuple[str, Function, tuple[int, ...]]] = []

    def op_id(node: Function, shape: tuple[int, ...]) -> str:
        key = id(node)
        if key not in ids:
            ids[key] = f"n{len(nodes)}"
            nodes.append((ids[key], "op", ""))  # label filled in once the walk is done
            op_nodes.append((ids[key], node, shape))
            queue.append(node)
        return ids[key]

    queue: deque[Function] = deque()
    op_id(tensor.grad_fn, tensor.shape)
    while queue:
        node = queue.popleft()
        if node.arity == 0:
            raise RuntimeError(
                f"to_dot: the graph behind {node.name()} was freed by backward(); draw it before "
                "backward(), or call backward(retain_graph=True) to draw it afterwards")
        child = ids[id(node)]
        for array, parent in zip(*node.edges()):
            if isinstance(parent, Function):
                source = op_id(parent, array.shape)
            elif isinstance(parent, Tensor):
                source = leaf_id(parent)
            else:
                source = f"n{len(nodes)}"
                if id(array) in labels:
                    text = f"{labels[id(array)]}\n{_shape(array.shape)}"
                else:
                    text = _values(array) if array.size == 1 else "const " + _shape(array.shape)
                nodes.append((source, "const", text))
            edges.append((source, child))

    label_of = {}
    for node_id, node, shape in op_nodes:
        lines = [labels[id(node)]] if id(node) in labels else []
        lines += [node.name(), _shape(shape)]
        for t in _retained(node, tensor):
            lines += _grad_line(t.grad)
        label_of[node_id] = "\n".join(lines)
    nodes = [(i, style, label_of.get(i, label)) for i, style, label in nodes]
    return _render(nodes, edges)


def _render(nodes: list[tuple[str, str, str]], edges: list[tuple[str, str]]) -> str:
    lines = ["digraph {", "  node [fontname=Helvetica]"]
    lines += [f"  {i} [label={_quote(label)}, {_STYLES[style]}]" for i, style, label in nodes]
    lines += [f"  {source} -> {target}" for source, target in edges]
    return "\n".join(lines + ["}"]) + "\n"
