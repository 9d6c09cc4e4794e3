"""to_dot: the DOT text of a computation graph, exact on small graphs, deterministic, iterative."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import tinygrad_lr as tl
from tinygrad_lr.viz import to_dot

OP = 'shape=box, style="rounded,filled", fillcolor=lightgray'
LEAF = "shape=box, style=filled, fillcolor=lightblue"
CONST = "shape=plaintext, fontsize=10"


def _dot(nodes: list[str], edges: list[str]) -> str:
    lines = ["digraph {", "  node [fontname=Helvetica]"] + [f"  {n}" for n in nodes]
    return "\n".join(lines + [f"  {e}" for e in edges] + ["}"]) + "\n"


def _labels(dot: str) -> list[str]:
    return re.findall(r'label="((?:[^"\\]|\\.)*)"', dot)


def test_small_graph_exact_text() -> None:
    a = tl.tensor(np.array([1.0, -2.0]), requires_grad=True)
    loss = (a * 2).sum()
    assert to_dot(loss, {a: "a"}) == _dot(
        [f'n0 [label="SumBackward0\\n()", {OP}]',
         f'n1 [label="MulBackward0\\n(2,)", {OP}]',
         f'n2 [label="a\\n(2,)", {LEAF}]',
         f'n3 [label="2", {CONST}]'],
        ["n1 -> n0", "n2 -> n1", "n3 -> n1"])


def test_gradients_of_leaves_and_retained_nonleaves_after_backward() -> None:
    x = tl.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    w = tl.tensor(np.array([[0.5], [-1.0]]), requires_grad=True)
    z = x @ w
    z.retain_grad()
    loss = z.sigmoid().mean()
    loss.backward(retain_graph=True)
    # z = (-1.5, -2.5); dL/dz = s(z)(1 - s(z)) / 2 = (0.074573, 0.035052); dL/dw = X^T dL/dz.
    assert _labels(to_dot(loss, {w: "w", z: "z", x: "X"})) == [
        "MeanBackward0\\n()",
        "SigmoidBackward0\\n(2, 1)",
        "z\\nMmBackward0\\n(2, 1)\\ngrad [[0.0746], [0.0351]]",
        "X\\n(2, 2)",
        "w\\n(2, 1)\\ngrad [[0.1797], [0.2894]]",
    ]


def test_no_gradient_lines_before_backward_or_for_unretained_nodes() -> None:
    w = tl.tensor(np.array([0.5, 1.5]), requires_grad=True)
    hidden = w * w
    loss = hidden.sum()
    assert "grad" not in to_dot(loss)
    loss.backward(retain_graph=True)
    labels = _labels(to_dot(loss))
    assert [label for label in labels if "grad" in label] == ["(2,)\\ngrad [1., 3.]"]


def test_root_named_and_retained_shows_its_own_gradient() -> None:
    w = tl.tensor(np.array([2.0]), requires_grad=True)
    loss = (w ** 2).sum()
    loss.retain_grad()
    loss.backward(retain_graph=True)
    assert _labels(to_dot(loss, {loss: "loss"}))[0] == "loss\\nSumBackward0\\n()\\ngrad 1"


def test_named_op_output_without_retain_grad_is_labelled() -> None:
    w = tl.tensor(np.ones(2), requires_grad=True)
    hidden = w.exp()
    loss = hidden.sum()
    loss.backward(retain_graph=True)
    assert _labels(to_dot(loss, {hidden: "h"}))[1] == "h\\nExpBackward0\\n(2,)"


def test_shared_leaf_and_shared_node_appear_once_with_one_edge_per_use() -> None:
    w = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    shared = w.exp()
    out = (shared * shared + w).sum()
    dot = to_dot(out, {w: "w"})
    assert _labels(dot).count("w\\n(2,)") == 1
    assert _labels(dot).count("ExpBackward0\\n(2,)") == 1
    exp_id = re.search(r'(n\d+) \[label="ExpBackward', dot).group(1)
    mul_id = re.search(r'(n\d+) \[label="MulBackward', dot).group(1)
    assert dot.count(f"{exp_id} -> {mul_id}") == 2


def test_output_is_deterministic_and_ids_follow_walk_order() -> None:
    def build() -> str:
        a = tl.tensor(np.ones(3), requires_grad=True)
        b = tl.tensor(np.full(3, 2.0), requires_grad=True)
        return to_dot(((a * b).exp() + a.log()).sum(), {a: "a", b: "b"})
    first = build()
    assert first == build()
    ids = re.findall(r"^  (n\d+) \[", first, flags=re.MULTILINE)
    assert ids == [f"n{i}" for i in range(len(ids))]


def test_module_parameters_name_the_leaves() -> None:
    layer = tl.nn.Linear(3, 1)
    out = layer(tl.ones(2, 3)).sum()
    labels = _labels(to_dot(out, layer))
    assert "weight\\n(1, 3)" in labels and "bias\\n(1,)" in labels


def test_constants_scalar_value_array_shape_and_leaf_root() -> None:
    x = tl.tensor(np.zeros((4, 5)))
    w = tl.tensor(np.ones(5), requires_grad=True)
    labels = _labels(to_dot(((x * w) * 0.5).sum()))
    assert "const (4, 5)" in labels and "0.5" in labels
    assert to_dot(w, {w: "w"}) == _dot([f'n0 [label="w\\n(5,)", {LEAF}]'], [])


def test_large_gradient_is_summarised_by_its_norm() -> None:
    w = tl.tensor(np.full(9, 3.0), requires_grad=True)
    (w * 2).sum().backward(retain_graph=True)
    assert "w\\n(9,)\\ngrad norm 6" in _labels(to_dot((w * 2).sum(), {w: "w"}))


def test_names_with_quotes_and_backslashes_are_escaped() -> None:
    w = tl.tensor(np.ones(1), requires_grad=True)
    dot = to_dot(w.exp(), {w: 'say "hi"\\'})
    assert 'label="say \\"hi\\"\\\\\\n(1,)"' in dot


def test_freed_graph_raises_with_the_remedy() -> None:
    w = tl.tensor(np.ones(2), requires_grad=True)
    loss = (w * 3).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        to_dot(loss)


def test_not_a_tensor_raises_type_error() -> None:
    with pytest.raises(TypeError, match="expected a Tensor, got ndarray"):
        to_dot(np.ones(2))


def test_deep_graph_is_walked_without_recursion() -> None:
    x = tl.tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    dot = to_dot(y.sum())
    assert dot.count("AddBackward") == 5000 and dot.count(" -> ") == 2 * 5000 + 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graphviz_accepts_the_text() -> None:
    w = tl.tensor(np.ones((2, 1)), requires_grad=True)
    loss = tl.sigmoid(tl.tensor(np.ones((3, 2))) @ w).mean()
    loss.backward(retain_graph=True)
    result = subprocess.run(["dot", "-Tsvg"], input=to_dot(loss, {w: 'w "q"'}),
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout
