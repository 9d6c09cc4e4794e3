"""The optimizer base class: parameter groups, per-parameter state, torch's state_dict layout."""
from __future__ import annotations

import numbers
from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from tinygrad_lr.autograd.grad_mode import enable_grad
from tinygrad_lr.factories import from_numpy
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
        if array.dtype.kind == "f":
            return from_numpy(array.astype(param.dtype, copy=True))
        return from_numpy(array.copy())
    if isinstance(value, (list, tuple)):
        return type(value)(_loaded_state_value(key, v, param) for v in value)
    if isinstance(value, dict):
        return {k: _loaded_state_value(k, v, param) for k, v in value.items()}
    return value


class Optimizer:
    """Base class of the optimizers: holds ``param_groups`` (each a dict of parameters and
    hyperparameters) and ``state`` (a dict per parameter), with PyTorch's API.

    Subclasses give their defaults, check hyperparameters in :meth:`_check_group` and update one
    parameter in :meth:`_update`; :meth:`step` calls it for every parameter that has a gradient.
    """

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
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad._data, self.state[p], group)
                    p._version_counter[0] += 1  # an in-place write, as PyTorch counts it
        return loss

    def _update(self, param: Tensor, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply one step of the algorithm to ``param`` in place."""
        raise NotImplementedError(f"{type(self).__name__} does not implement a parameter update")

    def _scratch_arrays(self, like: np.ndarray, count: int) -> list[np.ndarray]:
        """``count`` work arrays of ``like``'s shape and dtype, reused across steps and params."""
        views = self._scratch_views.get((like.dtype, like.shape))
        if views is not None and len(views) >= count:
            return views[:count]
        buffers = self._scratch.get(like.dtype, [])
        if len(buffers) < count or buffers[0].size < like.size:
            size = max([like.size] + [b.size for b in buffers])
            buffers = [np.empty(size, dtype=like.dtype) for _ in range(max(count, len(buffers)))]
            self._scratch[like.dtype] = buffers
            self._scratch_views.clear()
        views = [b[:like.size].reshape(like.shape) for b in buffers]
        self._scratch_views[(like.dtype, like.shape)] = views
        return views[:count]

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
