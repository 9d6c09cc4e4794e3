"""Check reverse-mode derivatives against central finite differences (first and second order)."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tinygrad_lr.tensor import Tensor
from tinygrad_lr.autograd.partial import grad


class GradcheckError(RuntimeError):
    """A derivative disagrees with its finite-difference estimate."""


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _leaves(inputs: Sequence[Any], datas: Sequence[np.ndarray] | None = None) -> list[Any]:
    """Fresh copies of the inputs (never the caller's), keeping which ones require grad."""
    out = []
    for k, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            out.append(x)
            continue
        data = (datas[k] if datas is not None else x._data).copy()
        leaf = Tensor._make(data)
        leaf._requires_grad = x.requires_grad
        out.append(leaf)
    return out


def _outputs(fn: Callable[..., Any], args: Sequence[Any]) -> tuple[Tensor, ...]:
    return tuple(o for o in _as_tuple(fn(*args)) if isinstance(o, Tensor))


def _numerical(fn: Callable[..., Any], inputs: Sequence[Any], k: int, eps: float) -> list[np.ndarray]:
    """d outputs / d inputs[k] by central differences: one array per output, (out.size, in.size)."""
    base = [x._data if isinstance(x, Tensor) else None for x in inputs]
    size = base[k].size
    columns: list[list[np.ndarray]] | None = None
    for j in range(size):
        values = []
        for sign in (1, -1):
            datas = list(base)
            datas[k] = base[k].copy()
            datas[k].reshape(-1)[j] += sign * eps
            values.append([o._data.astype(np.float64).reshape(-1)
                           for o in _outputs(fn, _leaves(inputs, datas))])
        diffs = [(plus - minus) / (2 * eps) for plus, minus in zip(*values)]
        if columns is None:
            columns = [[] for _ in diffs]
        for col, d in zip(columns, diffs):
            col.append(d)
    return [np.stack(col, axis=1) if col else np.zeros((0, size)) for col in columns or []]


def _analytical(fn: Callable[..., Any], inputs: Sequence[Any], k: int) -> list[np.ndarray]:
    """d outputs / d inputs[k] by reverse mode, one backward pass per output element."""
    args = _leaves(inputs)
    outs = _outputs(fn, args)
    result = []
    for out in outs:
        jac = np.zeros((out._data.size, args[k]._data.size))
        if out.requires_grad:
            for i in range(out._data.size):
                seed = np.zeros(out._data.size, dtype=out._data.dtype)
                seed[i] = 1
                (g,) = grad(out, args[k], seed.reshape(out.shape), retain_graph=True,
                            allow_unused=True)
                if g is not None:
                    if g.shape != args[k].shape:
                        raise GradcheckError(f"gradcheck: gradient for input {k} has shape "
                                             f"{g.shape}, but the input has shape {args[k].shape}")
                    jac[i] = g._data.reshape(-1)
        result.append(jac)
    return result


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare every derivative of ``fn`` at ``inputs`` with central differences (use float64).

    On a mismatch the error names the output, the input, the element and both values.
    """
    inputs = _as_tuple(inputs)
    for k, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype != np.float64:
            raise GradcheckError(f"gradcheck: input {k} is {x.dtype}; finite differences need "
                                 "float64 inputs")
        numerical = _numerical(fn, inputs, k, eps)
        analytical = _analytical(fn, inputs, k)
        for o, (num, ana) in enumerate(zip(numerical, analytical)):
            bad = ~(np.abs(ana - num) <= atol + rtol * np.abs(num))
            if bad.any():
                i, j = (int(v[0]) for v in np.nonzero(bad))
                element = np.unravel_index(j, x.shape) if x.ndim else ()
                message = (f"gradcheck: Jacobian mismatch for output {o} with respect to input {k}"
                           f" at input element {tuple(int(e) for e in element)} (output element "
                           f"{i}): analytical {float(ana[i, j])!r}, numerical {float(num[i, j])!r}")
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  seed: int = 0) -> bool:
    """Check second derivatives: gradcheck the function (inputs -> vector-Jacobian products)."""
    inputs = _as_tuple(inputs)
    differentiable = [k for k, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        outs = _outputs(fn, _leaves(inputs))
        grad_outputs = [rng.standard_normal(o.shape) for o in outs]
    vectors = [g._data if isinstance(g, Tensor) else np.asarray(g) for g in _as_tuple(grad_outputs)]

    def first_derivatives(*args: Any) -> tuple[Tensor, ...]:
        outs = [o for o in _outputs(fn, args)]
        kept = [(o, v) for o, v in zip(outs, vectors) if o.requires_grad]
        grads = grad([o for o, _ in kept], [args[k] for k in differentiable],
                     [v.astype(o.dtype) for o, v in kept], create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception)
