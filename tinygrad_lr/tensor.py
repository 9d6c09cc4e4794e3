"""The Tensor: a NumPy array plus the links autograd needs (``grad``, ``grad_fn``, ``requires_grad``).

Differentiable operations are defined in :mod:`tinygrad_lr.ops`, each op's forward and derivative
side by side, and installed onto :class:`Tensor` as methods and operators when the package loads.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinygrad_lr._printing import tensor_repr
from tinygrad_lr.devices import CPU, check_device, is_device_name
from tinygrad_lr.devices import device as _device
from tinygrad_lr.size import Size

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_default_dtype = float32

DTypeLike = Any


def get_default_dtype() -> np.dtype:
    """The dtype Python floats become (float32 unless changed, as in PyTorch)."""
    return _default_dtype


def set_default_dtype(dtype: DTypeLike) -> None:
    """Set the dtype Python floats become; only float32 and float64 are allowed, as in PyTorch."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 or float64 are supported, got {dtype}")
    _default_dtype = dtype


def is_floating(dtype: np.dtype) -> bool:
    """True for the dtypes that can carry gradients."""
    return dtype.kind == "f"


def _check_can_require_grad(dtype: np.dtype) -> None:
    if dtype.kind != "f":
        raise RuntimeError(
            f"only tensors of floating point dtype can require gradients, got dtype {dtype}")


def as_array(data: Any, dtype: DTypeLike = None, copy: bool = True) -> np.ndarray:
    """Convert ``data`` to a NumPy array with PyTorch's dtype rules (Python floats -> default dtype)."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.ndarray):
        if dtype is not None:
            return np.array(data, dtype=dtype, copy=copy or None)
        return data.copy() if copy else data
    if isinstance(data, np.generic):
        return np.array(data, dtype=dtype)
    arr = np.array(data, dtype=dtype)
    if dtype is None:
        if arr.dtype == float64:
            arr = arr.astype(_default_dtype, copy=False)
        elif arr.dtype.kind == "i" and arr.dtype != int64:
            arr = arr.astype(int64)
        elif arr.dtype.kind not in "fib":
            raise TypeError(f"tensor: cannot build a tensor from data of type {type(data).__name__} "
                            f"(NumPy dtype {arr.dtype})")
    return arr


class Tensor:
    """An n-dimensional array that records the operations applied to it, for reverse-mode autodiff."""

    # _version_counter: a one-element list, shared by every tensor over the same storage (views,
    # detach()); each in-place write adds 1, and nodes compare it with what they saved.
    # _view_of: (base tensor, view op class, its parameters), set only on a view made by a view
    # op (unset otherwise: read it with getattr(t, "_view_of", None)).
    __slots__ = ("_data", "_grad", "_requires_grad", "grad_fn", "_version_counter", "_view_of",
                 "__weakref__")
    __array_ufunc__ = None  # make NumPy defer `ndarray * Tensor` to Tensor.__rmul__

    def __init__(self, *data: Any, dtype: DTypeLike = None, requires_grad: bool = False,
                 device: Any = None) -> None:
        # PyTorch's legacy constructor: Tensor(list) holds the default float dtype whatever the
        # values, Tensor(2, 3) is an uninitialised 2x3 tensor, Tensor() is empty.
        check_device(device)
        dtype = _default_dtype if dtype is None else dtype
        if len(data) == 1 and not isinstance(data[0], (int, np.integer)):
            self._data: np.ndarray = as_array(data[0], dtype)
        else:
            self._data = np.empty(tuple(int(n) for n in data) if data else (0,), dtype)
        self._grad: Tensor | None = None
        self.grad_fn = None
        self._requires_grad = False
        self._version_counter = [0]
        if requires_grad:
            _check_can_require_grad(self._data.dtype)
            self._requires_grad = True

    @classmethod
    def _make(cls, data: np.ndarray, grad_fn: Any = None) -> "Tensor":
        """Wrap an array without copying; a node makes the result part of the graph."""
        t = object.__new__(cls)
        t._data = data
        t._grad = None
        t.grad_fn = grad_fn
        t._requires_grad = grad_fn is not None
        t._version_counter = [0]
        return t

    # ---- autograd attributes ------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a tensor outside the graph that shares their memory.

        As in PyTorch, changes made through ``.data`` are not seen by autograd (its escape
        hatch: the new tensor has a version counter of its own), and assigning
        ``t.data = other`` replaces the values, keeping ``t``'s place in the graph.
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"assigned data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (PyTorch's ``_version``)."""
        return self._version_counter[0]

    @property
    def _base(self) -> "Tensor | None":
        """The tensor this one is a view of, or None (PyTorch's ``_base``)."""
        view_of = getattr(self, "_view_of", None)
        return None if view_of is None else view_of[0]

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to (or through) this tensor."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors; "
                               "use detach() to get a tensor outside the graph")
        if value:
            _check_can_require_grad(self._data.dtype)
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> "Tensor | None":
        """The accumulated gradient (a Tensor of this shape) or None."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has shape {value.shape}, "
                                   f"but the tensor has shape {self.shape}")
        self._grad = value

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.grad_fn is None

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on a tensor that does not require grad")
        if self.grad_fn is not None and not self.retains_grad:
            self.grad_fn.retain_output(self)

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        retained = self.grad_fn.retained if self.grad_fn is not None else None
        return any(ref() is self for ref in retained or ())

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Iterable["Tensor"] | None = None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` by the chain rule."""
        Tensor._run_backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> "Tensor":
        """A tensor sharing this data and its version counter, outside the graph: writes
        through it are seen by the nodes that saved this tensor."""
        t = Tensor._make(self._data)
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> "Tensor":
        """Cut this tensor out of the graph in place."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    # ---- array attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The shape, as a :class:`Size` (a tuple, as PyTorch's torch.Size)."""
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the data."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    @property
    def device(self) -> _device:
        """Always ``device("cpu")``: there is only NumPy."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        """False: tensors live on the CPU."""
        return False

    def dim(self) -> int:
        """Number of dimensions (PyTorch's name)."""
        return self._data.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape, or the length of one dimension."""
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return self._data.size

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def item(self) -> Any:
        """The single element as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"item(): a tensor with {self._data.size} elements cannot be "
                               "converted to a Python scalar")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as PyTorch's ``numpy()``."""
        if self._requires_grad:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self._data

    def tolist(self) -> Any:
        """Nested Python lists of Python numbers."""
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("the truth value of a tensor with more than one element is ambiguous")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        extras = []
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return tensor_repr(self._data, _default_dtype, extras)

    def __format__(self, format_spec: str) -> str:
        # As PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}").
        if self._data.ndim == 0:
            return self._data.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    # ---- copies and conversions -----------------------------------------------------------------
    def to(self, *args: Any, dtype: DTypeLike = None, device: Any = None,
           non_blocking: bool = False, copy: bool = False) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other)`` (other's dtype), as
        PyTorch: converts differentiably, returns self when nothing changes unless ``copy``.
        Only the CPU exists; another device is an error that names it."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg._data.dtype
            elif isinstance(arg, _device) or (isinstance(arg, str) and is_device_name(arg)):
                device = arg
            elif isinstance(arg, int) and not isinstance(arg, bool):
                device = arg
            else:
                dtype = _as_dtype(arg)
        check_device(device)
        dtype = self._data.dtype if dtype is None else _as_dtype(dtype)
        if dtype == self._data.dtype:
            return self.clone() if copy else self
        return self._cast(dtype)

    def cpu(self) -> "Tensor":
        """This tensor (it is already on the CPU)."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        """Always an error: there is no GPU (check ``torch.cuda.is_available()`` first)."""
        check_device("cuda" if device is None else device)
        return self

    def float(self) -> "Tensor":
        """Convert to float32."""
        return self.to(float32)

    def double(self) -> "Tensor":
        """Convert to float64."""
        return self.to(float64)

    def long(self) -> "Tensor":
        """Convert to int64 (no gradient)."""
        return self.to(int64)

    def int(self) -> "Tensor":
        """Convert to int32 (no gradient)."""
        return self.to(int32)

    def bool(self) -> "Tensor":
        """Convert to bool (no gradient)."""
        return self.to(bool_)

    def type(self, dtype: DTypeLike = None) -> "Tensor | str":
        """``type()``: PyTorch's type name ('torch.FloatTensor'); ``type(dtype)`` converts, also
        for ``tinygrad_lr.FloatTensor`` and the names ``type()`` returns."""
        if dtype is None:
            return _LEGACY_NAMES.get(self._data.dtype, f"torch.{self._data.dtype.name}")
        return self.to(_as_dtype(dtype))

    # In-place methods (add_, mul_, __iadd__, __setitem__, zero_, copy_, ...) are installed with
    # the ops by tinygrad_lr.ops.inplace: they bump the version counter and, when recorded,
    # rebase this tensor's history.


_LEGACY_NAMES = {float64: "torch.DoubleTensor", float32: "torch.FloatTensor",
                 float16: "torch.HalfTensor", int64: "torch.LongTensor", int32: "torch.IntTensor",
                 np.dtype(np.int16): "torch.ShortTensor", np.dtype(np.int8): "torch.CharTensor",
                 np.dtype(np.uint8): "torch.ByteTensor", bool_: "torch.BoolTensor"}


def _as_dtype(value: Any) -> np.dtype:
    """A dtype from a dtype, a legacy tensor type (``FloatTensor``) or its name."""
    if isinstance(value, str):
        for dtype, name in _LEGACY_NAMES.items():
            if value == name:
                return dtype
    legacy = getattr(value, "legacy_dtype", None)
    return np.dtype(value if legacy is None else legacy)


def reset_grads(tensors: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Drop each tensor's gradient (``set_to_none``) or zero it in place where that is safe: the
    shared body of ``Module.zero_grad`` and ``Optimizer.zero_grad``."""
    for t in tensors:
        grad = t.grad
        if grad is None:
            continue
        if set_to_none:
            t.grad = None
        elif grad.requires_grad or not grad._data.flags.writeable:
            t.grad = Tensor._make(np.zeros_like(grad._data))
        else:
            grad._data[...] = 0
            grad._version_counter[0] += 1


def tensor(data: Any, dtype: DTypeLike = None, *, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Build a tensor from data (copied), as ``torch.tensor``: the dtype follows the values
    (Python floats -> the default dtype, ints -> int64, bools -> bool)."""
    check_device(device)
    t = Tensor._make(as_array(data, dtype))
    if requires_grad:
        _check_can_require_grad(t._data.dtype)
        t._requires_grad = True
    return t
