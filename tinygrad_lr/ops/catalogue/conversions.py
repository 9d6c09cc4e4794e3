"""Op catalogue: the Tensor's PyTorch conveniences outside the lesson core: ``requires_grad_``,
``retain_grad``, ``detach_``, ``_version``/``_base``, ``expand``, its device, sizes and
Python number protocols (``len``, ``bool``, ``float``, ``int``, formatting), ``numpy()``/``item()``,
and the dtype and device conversions (``to``, ``float()``, ``type()``...), installed onto
:class:`~tinygrad_lr.tensor.Tensor` when the package loads; and PyTorch's names for the graph's
nodes (``grad_fn=<MmBackward0>``), installed as ``Function.name``."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_lr.autograd.function import Function
from tinygrad_lr.devices import CPU, check_device, is_device_name
from tinygrad_lr.devices import device as _device
from tinygrad_lr.size import Size
from tinygrad_lr.operands import (DTypeLike, bool_, float16, float32, float64, int32, int64,
                                  shape_arg)
from tinygrad_lr.tensor import Tensor

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


class TensorConveniences:
    """The members installed onto Tensor (a namespace, never instantiated)."""

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (PyTorch's ``_version``)."""
        return self._version_counter[0]

    @property
    def _base(self) -> "Tensor | None":
        """The tensor this one is a view of, or None (PyTorch's ``_base``)."""
        view_of = getattr(self, "_view_of", None)
        return None if view_of is None else view_of[0]


    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self


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


    def detach_(self) -> "Tensor":
        """Cut this tensor out of the graph in place."""
        self.grad_fn = None
        self._requires_grad = False
        return self

    def expand(self, *sizes: Any) -> "Tensor":
        """Broadcast to ``sizes``; -1 keeps that dimension's size."""
        sizes = shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes {sizes} is less than the number of "
                               f"dimensions of shape {self.shape}")
        if -1 in sizes[:lead]:
            raise RuntimeError(f"expand: size -1 is not allowed for the new leading dimension "
                               f"{sizes.index(-1)} of sizes {sizes} (tensor shape {self.shape})")
        return self.broadcast_to(tuple(self.shape[i - lead] if s == -1 else s
                                       for i, s in enumerate(sizes)))

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

    def __format__(self, format_spec: str) -> str:
        # As PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}").
        if self._data.ndim == 0:
            return self._data.item().__format__(format_spec)
        return object.__format__(self, format_spec)

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


for _name, _member in vars(TensorConveniences).items():
    if _name not in ("__module__", "__qualname__", "__doc__", "__dict__", "__weakref__"):
        setattr(Tensor, _name, _member)


# PyTorch's grad_fn names where they differ from the op's class name + "Backward0".
_TORCH_NAMES = {
    "Pow": "PowBackward1", "RPowScalar": "PowBackward1", "PowScalar": "PowBackward0",
    "Clamp": "ClampBackward1", "Cast": "ToCopyBackward0", "Reshape": "ViewBackward0",
    "MatMul": "MmBackward0", "Linear": "AddmmBackward0", "Extremum": "MaxBackward1",
    "LogSumExp": "LogsumexpBackward0", "MSELoss": "MseLossBackward0",
    "L1Loss": "MeanBackward0", "NegativeLogLikelihood": "NllLossBackward0",
    "ScaledSoftplus": "SoftplusBackward0", "Norm2": "LinalgVectorNormBackward0",
    "Determinant": "LinalgDetBackward0", "Inverse": "LinalgInvExBackward0",
    "Solve": "LinalgSolveExBackward0",
}


def _matmul_name(x_ndim: int, y_ndim: int) -> str:
    """PyTorch's node for ``x @ y`` by the operands' dimensions: dot, matrix-vector, vector-matrix
    (a matrix product whose promoted row is squeezed away), matrix, or batched (a product of the
    batch-flattened operands, viewed back; cloned where a matrix meets a batch)."""
    if x_ndim == 1 and y_ndim == 1:
        return "DotBackward0"
    if y_ndim == 1 and x_ndim == 2:
        return "MvBackward0"
    if x_ndim == 1 and y_ndim == 2:
        return "SqueezeBackward4"
    if x_ndim == 2 and y_ndim == 2:
        return "MmBackward0"
    return "CloneBackward0" if x_ndim == 2 else "UnsafeViewBackward0"


def torch_name(self: Function) -> str:
    """The node's name as PyTorch prints its ``grad_fn`` (``MulBackward0``): the class name
    or PyTorch's name for the same operation, then ``Backward`` and the overload number
    (a sum or mean over chosen dimensions is PyTorch's overload 1)."""
    cls = type(self).__name__
    if cls in ("Sum", "Mean") and getattr(self, "axes", None) is not None:
        return cls + "Backward1"
    if cls == "Extremum" and not getattr(self, "largest", True):
        return "MinBackward1"
    if cls == "Sub" and self.arity == 2 and self.p0 is None and not np.ndim(self.a0):
        return "RsubBackward1"  # a constant 0-d first operand: number - tensor
    if cls == "MatMul" and self.arity == 2:
        return _matmul_name(np.ndim(self.a0), np.ndim(self.a1))
    return _TORCH_NAMES.get(cls, cls + "Backward0")


Function.name = torch_name
