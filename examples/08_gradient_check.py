"""Gradient checking: a custom op's derivative against finite differences.

A new op is a Function subclass: `forward` on NumPy arrays, `backward` mapping the output
gradient g to the input gradient (the chain rule's local step, g * f'(x)). gradcheck compares
that with the central difference of every input element:

    f'(x) ~ (f(x + eps) - f(x - eps)) / (2 eps)         (error O(eps^2), float64 only)

Run: python examples/08_gradient_check.py
"""
import numpy as np

import tinygrad_lr as tl
from tinygrad_lr.autograd import Function, GradcheckError, gradcheck, gradgradcheck


class Softsign(Function):
    """softsign(x) = x / (1 + |x|), a smooth squashing function like tanh."""
    __slots__ = ()

    def forward(self, x):
        return x / (1 + np.abs(x))

    def backward(self, g, xp, x):
        # d/dx x / (1 + |x|) = 1 / (1 + |x|)^2      (|x| written as x * sign(x))
        return g / (1 + x * xp.sign(x)) ** 2


class BuggySoftsign(Softsign):
    """The same forward with a classic mistake: the square in the denominator forgotten."""
    __slots__ = ()

    def backward(self, g, xp, x):
        return g / (1 + x * xp.sign(x))


# float64 inputs (finite differences need them), away from the kink of |x| at 0.
x = tl.tensor(np.array([-2.5, -0.7, 0.3, 1.2, 4.0]), requires_grad=True)

print("softsign(x) =", np.round(Softsign.apply(x).detach().numpy(), 4))
print("gradcheck(Softsign):    ", gradcheck(Softsign.apply, (x,)))
# The rule uses only operators and xp.*, so it also runs on Tensors: second derivatives are free.
print("gradgradcheck(Softsign):", gradgradcheck(Softsign.apply, (x,)))

try:
    gradcheck(BuggySoftsign.apply, (x,))
except GradcheckError as error:
    print("gradcheck(BuggySoftsign) caught the wrong derivative:")
    print("   ", error)
else:
    raise SystemExit("the wrong derivative was not caught")
