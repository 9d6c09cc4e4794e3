"""The computation graph of a logistic-regression loss, drawn from the engine.

    z = X w + b,   p = sigmoid(z),   L = BCE(p, y)

Every op records a node (MmBackward0, AddBackward0, ...) holding its inputs; backward() walks
these nodes from L back to the leaves w and b, applying each node's derivative rule. The drawing
shows each op with its output shape, each leaf with its name, shape and gradient, and each
constant (the data) compactly. The arrows follow the data from the inputs to the loss.

Writes OUT/06_computation_graph.dot, and OUT/06_computation_graph.png when Graphviz's `dot`
program is installed (apt-get install graphviz); without it the DOT text is printed. OUT is the
folder given with --out, or else a new temporary folder (never the current one); the script
prints where the files went.

Run: python examples/06_computation_graph.py [--out DIR]
"""
import argparse
import os
import shutil
import subprocess
import tempfile

import numpy as np

import tinygrad_lr as tl
import tinygrad_lr.nn.functional as F
from tinygrad_lr.viz import to_dot

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", help="folder for the .dot/.png files (default: a new temporary "
                    "folder)")
args = parser.parse_args()
out = args.out or tempfile.mkdtemp(prefix="tinygrad_lr_graph_")   # not the current folder

X = tl.tensor(np.array([[0.5, 1.0], [-1.0, 2.0], [1.5, -0.5], [0.0, 1.0]]))   # 4 examples
y = tl.tensor(np.array([[1.0], [0.0], [1.0], [0.0]]))
w = tl.tensor(np.array([[0.2], [-0.1]]), requires_grad=True)
b = tl.tensor(np.array([0.1]), requires_grad=True)

z = X @ w + b            # MmBackward0, then AddBackward0 (b broadcast over the 4 rows)
z.retain_grad()          # keep dL/dz too, though z is not a leaf
p = tl.sigmoid(z)        # SigmoidBackward0
loss = F.binary_cross_entropy(p, y)   # BinaryCrossEntropyBackward0: a scalar
loss.backward(retain_graph=True)      # keep the graph so it can still be drawn

names = {X: "X", y: "y", w: "w", b: "b", z: "z = Xw + b", loss: "loss"}
dot = to_dot(loss, names)

# Check the drawn gradients against the formulas: dL/dz = (p - y) / m, dL/dw = X^T dL/dz.
dz = (p.detach().numpy() - y.numpy()) / len(y)
assert np.allclose(z.grad.numpy(), dz) and np.allclose(w.grad.numpy(), X.numpy().T @ dz)
print(f"loss {loss.item():.4f};  dL/dw = {w.grad.numpy().ravel()},  dL/db = {b.grad.numpy()}")

os.makedirs(out, exist_ok=True)
dot_path = os.path.join(out, "06_computation_graph.dot")
with open(dot_path, "w", encoding="utf-8") as handle:
    handle.write(dot)
print(f"DOT text written to {dot_path}")
if shutil.which("dot"):
    png_path = os.path.join(out, "06_computation_graph.png")
    subprocess.run(["dot", "-Tpng", dot_path, "-o", png_path], check=True)
    print(f"graph drawn to {png_path}")
else:
    print("Graphviz's `dot` is not installed (apt-get install graphviz); the DOT text:\n")
    print(dot)
