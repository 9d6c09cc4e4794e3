"""The chain rule on one neuron, by hand and by the engine.

A single neuron with a sigmoid activation and a squared-error loss:

    z = w * x + b          (pre-activation)
    a = sigmoid(z)         (activation, the neuron's output)
    L = 1/2 * (a - y)^2    (loss against the target y)

The chain rule writes dL/dw as a product of three local derivatives:

    dL/dw = dL/da * da/dz * dz/dw = (a - y) * a(1 - a) * x

Run: python examples/01_chain_rule.py
"""
import math

import tinygrad_lr as tl

x, w, b, y = 0.5, 0.2, 0.1, 0.7

# Forward pass with plain floats.
z = w * x + b                   # z = wx + b = 0.2
a = 1 / (1 + math.exp(-z))      # a = sigma(z)
loss = 0.5 * (a - y) ** 2       # L = 1/2 (a - y)^2

# Backward pass by hand: one local derivative per step, multiplied together.
dL_da = a - y                   # d/da 1/2 (a - y)^2 = a - y
da_dz = a * (1 - a)             # sigma'(z) = sigma(z) (1 - sigma(z))
dz_dw = x                       # d/dw (wx + b) = x
dL_dw = dL_da * da_dz * dz_dw   # the chain rule

print(f"forward:  z = {z:.6f}   a = sigmoid(z) = {a:.6f}   L = {loss:.6f}")
print(f"dL/da = a - y      = {dL_da:+.6f}")
print(f"da/dz = a(1 - a)   = {da_dz:+.6f}")
print(f"dz/dw = x          = {dz_dw:+.6f}")
print(f"dL/dw = product    = {dL_dw:+.10f}   (by hand)")

# The same neuron in the engine (float64 so both numbers agree to the last digits).
w_t = tl.tensor(w, dtype=tl.float64, requires_grad=True)
b_t = tl.tensor(b, dtype=tl.float64, requires_grad=True)
a_t = tl.sigmoid(w_t * x + b_t)
loss_t = 0.5 * (a_t - y) ** 2
loss_t.backward()               # reverse mode: the same product, computed node by node

print(f"w.grad             = {w_t.grad.item():+.10f}   (engine)")
assert math.isclose(w_t.grad.item(), dL_dw, rel_tol=1e-12), (w_t.grad.item(), dL_dw)
# dz/db = 1, so dL/db is the product without the last factor.
assert math.isclose(b_t.grad.item(), dL_da * da_dz, rel_tol=1e-12)
print("hand-computed chain rule == engine gradient")
