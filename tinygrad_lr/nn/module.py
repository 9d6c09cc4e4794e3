"""Module: the base class of layers and models, with PyTorch's registration, traversal,
train/eval switch and state_dict round trip."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from tinygrad_lr.autograd.grad_mode import no_grad
from tinygrad_lr.devices import check_device, is_device_name
from tinygrad_lr.devices import device as _device
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.operands import DTypeLike, float32, float64
from tinygrad_lr.tensor import Tensor, reset_grads
from tinygrad_lr.nn.parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` did not match: keys the module expected but did not get, and
    keys it got but does not have."""
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


def _shape_of(value: Any) -> tuple[int, ...]:
    return value.shape if isinstance(value, Tensor) else np.shape(value)


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``remove()`` unregisters the hook (also on
    leaving a ``with`` block)."""

    _next_id = 0

    def __init__(self, hooks: OrderedDict) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self.hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class Module:
    """Base class for layers and models: assigning a Parameter, Module or registered buffer as an
    attribute records it, so ``parameters()``, ``state_dict()``, ``train()`` and the dtype
    conversions reach everything the model holds. Subclasses define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass must define it."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hooks = self.__dict__.get("_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        for kind, hook in list(hooks.values()):
            if kind == "pre":
                changed = hook(self, args)
                if changed is not None:
                    args = changed if isinstance(changed, tuple) else (changed,)
        output = self.forward(*args, **kwargs)
        for kind, hook in list(hooks.values()):
            if kind == "post":
                changed = hook(self, args, output)
                if changed is not None:
                    output = changed
        return output

    def _add_hook(self, kind: str, hook: Callable[..., Any]) -> "RemovableHandle":
        hooks = self.__dict__.setdefault("_hooks", OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (kind, hook)
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> "RemovableHandle":
        """Call ``hook(module, args)`` before every forward; a non-None result replaces the
        positional arguments. Returns a handle whose ``remove()`` unregisters it."""
        return self._add_hook("pre", hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> "RemovableHandle":
        """Call ``hook(module, args, output)`` after every forward; a non-None result replaces
        the output. Returns a handle whose ``remove()`` unregisters it."""
        return self._add_hook("post", hook)

    # ---- registration -------------------------------------------------------------------------
    def _registry(self, name: str, what: str) -> OrderedDict:
        registry = self.__dict__.get(name)
        if registry is None:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call")
        return registry

    def _check_name(self, name: Any, kind: str, registry: dict) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or None, a declared but absent parameter such as a missing bias)."""
        params = self._registry("_parameters", "parameters")
        self._check_name(name, "parameter", params)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__!r} object to parameter "
                            f"{name!r} (tinygrad_lr.nn.Parameter or None required)")
        params[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not learnable (saved in ``state_dict`` if persistent)."""
        buffers = self._registry("_buffers", "buffers")
        self._check_name(name, "buffer", buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__!r} object to buffer {name!r} "
                            "(Tensor or None required)")
        buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Add a child module (its parameters become this module's, under ``name.``)."""
        modules = self._registry("_modules", "module")
        self._check_name(name, "module", modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        modules[name] = module

    register_module = add_module

    def _forget(self, name: str, keep: str) -> None:
        """Drop ``name`` from every registry but ``keep`` (so its position there is kept)."""
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self.__dict__.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._registry("_parameters", "parameters")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self._registry("_modules", "module")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif name in self.__dict__.get("_parameters", ()):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__!r} as parameter {name!r} "
                                "(tinygrad_lr.nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__!r} as child module "
                                f"{name!r} (Module or None expected)")
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__!r} as buffer {name!r} "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Called only when normal lookup fails: look in the registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                del entries[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    # ---- traversal ----------------------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """This module and all below it, with dotted names ("" for this one), each once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        """This module and all below it, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """The direct child modules with their attribute names, each once."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        """The direct child modules, each once."""
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names ("0.weight"), in registration order, shared ones once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters, in the order of ``named_parameters``."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Buffers with dotted names, each once."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers, in the order of ``named_buffers``."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def apply(self, fn: Callable[["Module"], Any]) -> "Module":
        """Call ``fn`` on every child module (depth first), then on this one; return self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and all below it; return self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode is expected to be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (``train(False)``); return self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Switch gradient tracking of every parameter; return self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the parameters' gradients: drop them (default) or fill them with zeros."""
        reset_grads(self.parameters(), set_to_none)

    # ---- dtype conversion ---------------------------------------------------------------------
    def to(self, *args: Any, dtype: DTypeLike = None, device: Any = None,
           non_blocking: bool = False) -> "Module":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``, as PyTorch:
        floating parameters (and their gradients) and buffers are converted in place, so the
        Parameter objects stay the same and references to them remain valid. Only the CPU
        exists; another device is an error that names it."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, _device) or (isinstance(arg, str) and is_device_name(arg)) or \
                    (isinstance(arg, int) and not isinstance(arg, bool)):
                device = arg
            else:
                dtype = arg
        check_device(device)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got "
                            f"desired dtype={dtype}")
        for module in self.modules():
            for param in module._parameters.values():
                if param is None or param.dtype.kind != "f":
                    continue
                param._data = param._data.astype(dtype, copy=False)
                if param.grad is not None:
                    param.grad = from_numpy(param.grad._data.astype(dtype, copy=False))
            for name, buf in module._buffers.items():
                if buf is not None and buf.dtype.kind == "f":
                    module._buffers[name] = buf.detach().to(dtype)
        return self

    def half(self) -> "Module":
        """Convert floating parameters and buffers to float16."""
        return self.to(np.dtype(np.float16))

    def type(self, dst_type: DTypeLike) -> "Module":
        """Convert floating parameters and buffers to ``dst_type``."""
        return self.to(dst_type)

    def get_submodule(self, target: str) -> "Module":
        """The module at the dotted path ``target`` ("" is this module)."""
        module = self
        for name in target.split(".") if target else []:
            if name not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
            module = module._modules[name]
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target``."""
        owner, _, name = target.rpartition(".")
        module = self.get_submodule(owner)
        if module._parameters.get(name) is None:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def cpu(self) -> "Module":
        """This module (it is already on the CPU)."""
        return self

    def cuda(self, device: Any = None) -> "Module":
        """Always an error: there is no GPU (check ``torch.cuda.is_available()`` first)."""
        check_device("cuda" if device is None else device)
        return self

    def double(self) -> "Module":
        """Convert floating parameters and buffers to float64."""
        return self.to(float64)

    def float(self) -> "Module":
        """Convert floating parameters and buffers to float32."""
        return self.to(float32)

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self, *, destination: OrderedDict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, detached (sharing the data) unless
        ``keep_vars``; shared tensors appear under every name, as in PyTorch."""
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination=destination, prefix=f"{prefix}{name}.",
                                 keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy values into the existing parameters and buffers in place.

        Shape mismatches always raise RuntimeError; with ``strict`` so do missing and unexpected
        keys, all listed in one message. Nothing is copied when an error is raised.
        """
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        if strict:
            if missing:
                errors.append("Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
        for key, target in own.items():
            if key in state_dict and _shape_of(state_dict[key]) != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{_shape_of(state_dict[key])} from checkpoint, the shape in "
                              f"current model is {target.shape}.")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                with no_grad():
                    target.copy_(value if isinstance(value, Tensor) else np.asarray(value))
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown inside the parentheses of ``repr`` (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(child), 2)}"
                       for name, child in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            body = ""
        elif len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        else:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"
