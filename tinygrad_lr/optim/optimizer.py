"""The optimizer base class: parameter groups, per-parameter state, torch's state_dict layout."""
from __future__ import annotations

import numbers
from collections import defaultdict
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np

from tinygrad_lr.autograd.grad_mode import enable_grad
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.kernels import threads
from tinygrad_lr.kernels.tuning import ALIGNMENT
from tinygrad_lr.tensor import Tensor, reset_grads

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]
_UNORDERED = ("optimizer parameters need to be organized in ordered collections, but the ordering "
              "of tensors in sets changes between runs; use a list")


def check_real(name: str, value: Any) -> float:
    """``value`` as a float; a TypeError naming the hyperparameter if it is not a real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def check_nonnegative(name: str, value: Any) -> None:
    """ValueError naming the hyperparameter when it is negative (or NaN), as PyTorch's checks."""
    if not check_real(name, value) >= 0.0:
        raise ValueError(f"Invalid {name} value: {value} (it must be >= 0)")


def aligned_empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array, as ``np.empty``, whose data starts on a multiple of ``ALIGNMENT``
    bytes (a cache line): the passes of an update over a state buffer run faster on it."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.__array_interface__["data"][0] % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def state_buffer(param: Tensor, fill: float | None = 0.0) -> Tensor:
    """A buffer of the optimizer state for ``param``: its shape and dtype, filled with ``fill``
    (None: left uninitialised, for a buffer the first step writes whole), cache-line aligned."""
    array = aligned_empty(param.shape, param.dtype)
    if fill is not None:
        array.fill(fill)
    return from_numpy(array)


def effective_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool,
                   out: np.ndarray) -> np.ndarray:
    """The gradient the update uses: negated when maximizing, plus ``weight_decay * param``.

    Returns ``grad`` itself when neither applies; otherwise the result is written into ``out``.
    """
    if weight_decay != 0:
        np.multiply(param, weight_decay, out=out)
        return (np.subtract if maximize else np.add)(out, grad, out=out)
    if maximize:
        return np.negative(grad, out=out)
    return grad


def _copy_state_value(value: Any) -> Any:
    """A deep copy of a state entry, so a state dict does not change as training goes on."""
    if isinstance(value, Tensor):
        return from_numpy(value._data.copy())
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy_state_value(v) for k, v in value.items()}
    return value


def _loaded_state_value(key: str, value: Any, param: Tensor) -> Any:
    """A copy of a loaded state entry: arrays become Tensors, floating-point ones cast to the
    parameter's dtype as PyTorch does; a one-element ``step`` becomes a Python number."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value._data if isinstance(value, Tensor) else value
        if key == "step" and array.size == 1:
            return array.item()
        copy = aligned_empty(array.shape, param.dtype if array.dtype.kind == "f" else array.dtype)
        np.copyto(copy, array, casting="unsafe")
        return from_numpy(copy)
    if isinstance(value, (list, tuple)):
        return type(value)(_loaded_state_value(key, v, param) for v in value)
    if isinstance(value, dict):
        return {k: _loaded_state_value(k, v, param) for k, v in value.items()}
    return value


class FusedUpdate(NamedTuple):
    """How an optimizer's ``step()`` updates each parameter that has a gradient: one call ::

        kernel(param, grad, *buffers, *scratch, *scalars)

    of a fused kernel that changes the arrays in place. ``param`` and ``grad`` are the
    parameter's array and its gradient's; ``buffers`` the arrays of the state entries that
    ``buffers(group)`` names (None where the kernel takes no buffer: SGD without momentum);
    ``scratch`` the work arrays ``scratch(param)``, whose contents do not matter; and ``scalars``
    what ``advance(param, group, state)`` returns: the step's scalar arguments (learning rate,
    bias corrections, ...) from the group's hyperparameters and the parameter's state, which it
    first brings to this step (creating buffers still missing, counting the step).

    ``step()`` runs exactly this, through ``threads.run`` (which splits a large parameter's arrays
    across threads), so a caller that repeats steps without ``step()``'s loop over groups and
    parameters, ``tl.compile``'s replay, gets ``step()``'s results bit for bit by calling the
    same functions: every formula has one copy, read live at every call. Such a caller keeps its
    shortcut only while ``buffers(group)`` names what it named before and each parameter's state
    dict is the one it saw, with as many entries (so ``advance`` creates nothing); else it calls
    ``step()``.
    """
    kernel: Callable[..., None]
    buffers: Callable[[dict[str, Any]], tuple[str | None, ...]]
    advance: Callable[[Tensor, dict[str, Any], dict[str, Any]], tuple]
    scratch: Callable[[np.ndarray], list[np.ndarray]]


class Optimizer:
    """Base class of the optimizers: holds ``param_groups`` (each a dict of parameters and
    hyperparameters) and ``state`` (a dict per parameter), with PyTorch's API.

    Subclasses give their defaults and check hyperparameters in :meth:`_check_group`. An update
    that is one fused kernel call per parameter (see :class:`FusedUpdate`) is given by three
    members: ``_kernel``, ``_buffer_keys`` and ``_advance``; :meth:`step` then calls it for every
    parameter that has a gradient, and :meth:`fused_update` hands it to ``tl.compile``. Another
    update overrides :meth:`_update` (or :meth:`step`, as L-BFGS).
    """

    # The fused update kernel (a staticmethod), or None where _update or step says the update.
    _kernel: Callable[..., None] | None = None

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch: dict[np.dtype, list[np.ndarray]] = {}
        self._scratch_views: dict[tuple[np.dtype, tuple[int, ...]], list[np.ndarray]] = {}
        if isinstance(params, Tensor):
            raise TypeError("params given to the optimizer should be an iterable of Tensors or "
                            "dicts, but got a Tensor; wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines + [")"])

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise ValueError for a bad hyperparameter of ``group``; subclasses define the checks."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones: the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        index = len(self.param_groups)
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_UNORDERED)
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} of group "
                                f"{index} is a {type(p).__name__}")
            if p.dtype.kind != "f":
                raise TypeError(f"optimizer can only optimize floating-point Tensors, but "
                                f"parameter {i} of group {index} has dtype {p.dtype}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i} of group "
                                 f"{index})")
        seen: dict[int, int] = {}
        for i, p in enumerate(params):
            if id(p) in seen:
                raise ValueError(f"parameter group {index} contains the same parameter more than "
                                 f"once (positions {seen[id(p)]} and {i})")
            seen[id(p)] = i
        if any(id(p) in seen for group in self.param_groups for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        group = dict(param_group)
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (default) or to zeros in place."""
        reset_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def _evaluate(self, closure: Callable[[], Any] | None) -> Any:
        """The closure's loss, computed with gradient recording on; None without a closure."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return the closure's loss (if given)."""
        loss = self._evaluate(closure)
        kernel = self._kernel if type(self)._update is Optimizer._update else None
        for group in self.param_groups:
            keys = None if kernel is None else self._buffer_keys(group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if keys is None:
                    self._update(p, p.grad._data, state, group)
                else:  # the fused kernel's call, as FusedUpdate describes it
                    scalars = self._advance(p, group, state)
                    arrays = [p._data, p.grad._data]
                    for key in keys:
                        arrays.append(None if key is None else state[key]._data)
                    threads.run(kernel, arrays + self._scratch_arrays(p._data), *scalars)
                p._version_counter[0] += 1  # an in-place write, as PyTorch counts it
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply one step of the algorithm to ``param`` in place (for an optimizer without a
        fused kernel: ``step`` calls the kernel itself otherwise)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement a parameter update")

    def _buffer_keys(self, group: dict[str, Any]) -> tuple[str | None, ...]:
        """The state entries the fused kernel updates, in its argument order; None where the
        group's hyperparameters leave a buffer out."""
        raise NotImplementedError(f"{type(self).__name__} has no fused update")

    def _advance(self, param: Tensor, group: dict[str, Any], state: dict[str, Any]) -> tuple:
        """Bring ``param``'s state to this step (create what is missing, count the step) and
        return the fused kernel's scalar arguments for it."""
        raise NotImplementedError(f"{type(self).__name__} has no fused update")

    def fused_update(self) -> FusedUpdate | None:
        """What :meth:`step` runs for each parameter, for a caller that repeats steps without
        going through it (``tl.compile``'s replay; see :class:`FusedUpdate`); None when the
        update is not one fused kernel call per parameter (this class or a subclass overrides
        :meth:`step` or :meth:`_update`, as L-BFGS does)."""
        if self._kernel is None:
            return None
        for cls in type(self).__mro__:
            if cls is Optimizer:
                break
            if "step" in vars(cls) or "_update" in vars(cls):
                return None
        return FusedUpdate(self._kernel, self._buffer_keys, self._advance, self._scratch_arrays)

    def _scratch_arrays(self, like: np.ndarray) -> list[np.ndarray]:
        """The fused kernel's two work arrays for ``like``'s shape and dtype: views into buffers
        reused across steps and parameters (the list is shared: not to be changed)."""
        views = self._scratch_views.get((like.dtype, like.shape))
        if views is None:
            buffers = self._scratch.get(like.dtype)
            if buffers is None or buffers[0].size < like.size:
                buffers = [aligned_empty((like.size,), like.dtype) for _ in range(2)]
                self._scratch[like.dtype] = buffers
                self._scratch_views.clear()
            views = [b[:like.size].reshape(like.shape) for b in buffers]
            self._scratch_views[(like.dtype, like.shape)] = views
        return views

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{"state": {index: {...}},
        "param_groups": [{..., "params": [index, ...]}]}``, parameters numbered in group order.
        Arrays are copies, so the dict does not change as training goes on."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: _copy_state_value(s) for p, s in self.state.items()
                 if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state and hyperparameters saved by :meth:`state_dict` (groups of equal size)."""
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError("an optimizer state dict must be a dict with 'state' and "
                             "'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, but the "
                             f"optimizer has {len(self.param_groups)}")
        by_index: dict[Any, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has "
                                 f"{len(saved['params'])} parameters, but the optimizer's group "
                                 f"has {len(group['params'])}")
            by_index.update(zip(saved["params"], group["params"]))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            if key not in by_index:
                raise ValueError(f"loaded state dict has state for parameter {key!r}, which no "
                                 "parameter group lists")
            param = by_index[key]
            state[param] = {k: _loaded_state_value(k, v, param) for k, v in entries.items()}
        groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new_group = {k: v for k, v in saved.items() if k != "params"}
            new_group["params"] = group["params"]
            for name, default in self.defaults.items():
                new_group.setdefault(name, default)
            self._check_group(new_group)
            groups.append(new_group)
        self.state = state
        self.param_groups = groups
