"""Tensor factories (``zeros``, ``randn``, ...) and the global random generator (``manual_seed``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygrad_lr.devices import CPU, check_device, device
from tinygrad_lr.tensor import DTypeLike, Tensor, as_array, get_default_dtype, int64

class Generator:
    """A random number generator, as ``torch.Generator``: an object that random functions take
    as ``generator=``, seeded with ``manual_seed`` (which returns the generator, so
    ``Generator().manual_seed(42)`` chains). Backed by NumPy's PCG64: reproducible under a seed,
    but not the same stream of numbers as PyTorch's."""

    def __init__(self, device: Any = "cpu") -> None:
        check_device(device)
        self._seed = int(np.random.SeedSequence().entropy % (1 << 63))
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``; return self."""
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy and return the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (1 << 63)))
        return self._seed

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def get_state(self) -> dict:
        """The stream's state, for ``set_state``."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        """Resume the stream at a state from ``get_state``; return self."""
        self.rng.bit_generator.state = state
        return self

    @property
    def device(self) -> device:
        """The CPU: the only device."""
        return CPU


_default = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator behind every random function and layer initialisation."""
    return _default.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from fresh entropy; return the seed."""
    return _default.seed()


def initial_seed() -> int:
    """The seed the global generator started from."""
    return _default.initial_seed()


def default_generator() -> np.random.Generator:
    """The NumPy generator the random functions draw from when given no ``generator``."""
    return _default.rng


def numpy_generator(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (the global one for None): what a function taking
    PyTorch's ``generator=`` argument draws from. Raises TypeError for anything else."""
    if generator is None:
        return _default.rng
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tinygrad_lr.Generator, got "
                        f"{type(generator).__name__}")
    return generator.rng


def _size(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _finish(data: np.ndarray, requires_grad: bool) -> Tensor:
    return from_numpy(data).requires_grad_(requires_grad)


def _dtype(dtype: DTypeLike) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A tensor of zeros."""
    check_device(device)
    return _finish(np.zeros(_size(size), _dtype(dtype)), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
         device: Any = None) -> Tensor:
    """A tensor of ones."""
    check_device(device)
    return _finish(np.ones(_size(size), _dtype(dtype)), requires_grad)


def empty(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """An uninitialised tensor."""
    check_device(device)
    return _finish(np.empty(_size(size), _dtype(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: DTypeLike = None,
         requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it, as PyTorch)."""
    check_device(device)
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool) else
                 int64 if isinstance(fill_value, int) else get_default_dtype())
    return _finish(np.full(tuple(size), fill_value, np.dtype(dtype)), requires_grad)


def zeros_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """Zeros with the shape (and dtype) of ``input``."""
    check_device(device)
    return _finish(np.zeros(input.shape, dtype or input.dtype), requires_grad)


def ones_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    """Ones with the shape (and dtype) of ``input``."""
    check_device(device)
    return _finish(np.ones(input.shape, dtype or input.dtype), requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: DTypeLike = None,
              requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """``fill_value`` with the shape (and dtype) of ``input``."""
    check_device(device)
    return _finish(np.full(input.shape, fill_value, dtype or input.dtype), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: DTypeLike = None,
           requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Evenly spaced values in [start, end); int64 for integer arguments, else the default dtype."""
    check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if integral else get_default_dtype()
    return _finish(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: DTypeLike = None,
             requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    check_device(device)
    return _finish(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike = None,
        requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """The identity matrix (n x m)."""
    check_device(device)
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*size: Any, generator: Generator | None = None, dtype: DTypeLike = None,
         requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    check_device(device)
    return _finish(numpy_generator(generator).random(_size(size)).astype(_dtype(dtype)),
                   requires_grad)


def randn(*size: Any, generator: Generator | None = None, dtype: DTypeLike = None,
          requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Standard normal samples."""
    check_device(device)
    return _finish(numpy_generator(generator).standard_normal(_size(size)).astype(_dtype(dtype)),
                   requires_grad)


def randint(low: int, high: Any = None, size: Sequence[int] = (), *,
            generator: Generator | None = None, dtype: DTypeLike = None,
            requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (``randint(high, size)`` also works, as PyTorch)."""
    check_device(device)
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    values = numpy_generator(generator).integers(low, high, tuple(size))
    return _finish(values.astype(dtype or int64), requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (changes to one show in the other), as
    ``torch.from_numpy``: a leaf outside the graph, with a version counter of its own.

    The layers above the engine (nn, optim, utils, linear_model, serialization) wrap the arrays
    they build with it, never with the engine's private ``Tensor._make`` (tests/test_layers.py
    holds them to that). Ask for gradients with ``from_numpy(array).requires_grad_()``.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(array)


def as_tensor(data: Any, dtype: DTypeLike = None) -> Tensor:
    """Like ``tensor`` but without copying where it can: a Tensor or NumPy array of the right dtype
    is shared, not copied (the ops use it to wrap their non-Tensor operands)."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data._data.dtype):
        return data
    return from_numpy(as_array(data, dtype, copy=False))


def randperm(n: int, *, generator: Generator | None = None, dtype: DTypeLike = None,
             requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """A random permutation of 0..n-1 (int64 by default)."""
    check_device(device)
    return _finish(numpy_generator(generator).permutation(int(n)).astype(dtype or int64),
                   requires_grad)


def rand_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False,
              device: Any = None) -> Tensor:
    """Uniform samples in [0, 1) with the shape (and dtype) of ``input``."""
    return rand(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                device=device)


def randn_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """Standard normal samples with the shape (and dtype) of ``input``."""
    return randn(input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad,
                 device=device)


def randint_like(input: Tensor, low: int, high: int | None = None, dtype: DTypeLike = None,
                 device: Any = None) -> Tensor:
    """Random integers in [low, high) with the shape (and dtype) of ``input``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device)


def empty_like(input: Tensor, dtype: DTypeLike = None, requires_grad: bool = False,
               device: Any = None) -> Tensor:
    """An uninitialised tensor with the shape (and dtype) of ``input``."""
    check_device(device)
    return _finish(np.empty(input.shape, dtype or input.dtype), requires_grad)


def _probabilities(name: str, input: Any) -> np.ndarray:
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point tensor of probabilities, got "
                           f"dtype {data.dtype}")
    return data


def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    """1 with probability ``input`` (or ``p``) elementwise, else 0, in the input's dtype."""
    probs = _probabilities("bernoulli", input)
    if p is not None:
        probs = np.full(probs.shape, p, probs.dtype)
    if np.any((probs < 0) | (probs > 1)):
        raise RuntimeError("bernoulli: all probabilities must be in [0, 1]")
    return from_numpy((numpy_generator(generator).random(probs.shape) < probs).astype(probs.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices drawn from each row's categorical distribution (weights need not sum to 1);
    without ``replacement`` each index appears at most once per row."""
    weights = _probabilities("multinomial", input).astype(np.float64)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {weights.ndim}")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or "
                           "element < 0")
    rows = weights.reshape(-1, weights.shape[-1])
    if np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > np.count_nonzero(rows, axis=1).min():
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > "
                           "prob_dist.size(-1) samples without replacement")
    rng = numpy_generator(generator)
    out = np.stack([rng.choice(row.size, size=num_samples, replace=replacement,
                               p=row / row.sum()) for row in rows])
    return from_numpy(out.reshape(weights.shape[:-1] + (num_samples,)).astype(int64))


def normal(mean: Any, std: Any = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: DTypeLike = None,
           requires_grad: bool = False,
          device: Any = None) -> Tensor:
    """Normal samples of the given ``mean`` and ``std`` (numbers with ``size``, or tensors whose
    broadcast shape the result takes)."""
    check_device(device)
    m = mean._data if isinstance(mean, Tensor) else np.asarray(mean)
    s = std._data if isinstance(std, Tensor) else np.asarray(std)
    shape = tuple(size) if size is not None else np.broadcast_shapes(m.shape, s.shape)
    if dtype is None:
        dtype = next((a.dtype for a in (m, s) if a.dtype.kind == "f" and a.ndim), None)
    values = m + s * numpy_generator(generator).standard_normal(shape)
    return _finish(np.asarray(values).astype(_dtype(dtype)), requires_grad)


def _fill_random(t: Tensor, values: np.ndarray) -> Tensor:
    """Write ``values`` into ``t`` through ``copy_``: PyTorch's in-place rules and version
    counting apply (a leaf that requires grad must be filled under no_grad)."""
    return t.copy_(from_numpy(np.asarray(values).astype(t._data.dtype, copy=False)))


def _uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *,
              generator: Generator | None = None) -> Tensor:
    """Fill with samples uniform in [a, b), in place."""
    return _fill_random(self, numpy_generator(generator).uniform(a, b, self._data.shape))


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *,
             generator: Generator | None = None) -> Tensor:
    """Fill with normal samples of ``mean`` and ``std``, in place."""
    return _fill_random(self, numpy_generator(generator).normal(mean, std, self._data.shape))


def _bernoulli_(self: Tensor, p: float = 0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill with 1 (probability ``p``) or 0, in place."""
    return _fill_random(self, numpy_generator(generator).random(self._data.shape) < p)


def _install_random_methods() -> None:
    Tensor.uniform_ = _uniform_
    Tensor.normal_ = _normal_
    Tensor.bernoulli_ = _bernoulli_
    Tensor.bernoulli = lambda self, p=None, *, generator=None: bernoulli(
        self, p, generator=generator)
    Tensor.multinomial = multinomial


_install_random_methods()


class _LegacyType(type):
    """``isinstance(t, FloatTensor)`` is true for tensors of that dtype, as in PyTorch."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor) and instance.dtype == cls.legacy_dtype

    def __repr__(cls) -> str:
        return f"<class 'tinygrad_lr.{cls.__name__}'>"


class _LegacyTensor(metaclass=_LegacyType):
    legacy_dtype = np.dtype(np.float32)

    def __new__(cls, *data: Any, requires_grad: bool = False,
          device: Any = None) -> Tensor:  # type: ignore[misc]
        return Tensor(*data, dtype=cls.legacy_dtype, requires_grad=requires_grad, device=device)


class FloatTensor(_LegacyTensor):
    """PyTorch's legacy constructor: a float32 tensor from data or a shape."""
    legacy_dtype = np.dtype(np.float32)


class DoubleTensor(_LegacyTensor):
    """PyTorch's legacy constructor: a float64 tensor from data or a shape."""
    legacy_dtype = np.dtype(np.float64)


class LongTensor(_LegacyTensor):
    """PyTorch's legacy constructor: an int64 tensor from data or a shape."""
    legacy_dtype = np.dtype(np.int64)


class IntTensor(_LegacyTensor):
    """PyTorch's legacy constructor: an int32 tensor from data or a shape."""
    legacy_dtype = np.dtype(np.int32)


class BoolTensor(_LegacyTensor):
    """PyTorch's legacy constructor: a bool tensor from data or a shape."""
    legacy_dtype = np.dtype(np.bool_)


class ByteTensor(_LegacyTensor):
    """PyTorch's legacy constructor: a uint8 tensor from data or a shape."""
    legacy_dtype = np.dtype(np.uint8)
