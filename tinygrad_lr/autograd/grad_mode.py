"""Grad mode: whether operations record the graph. Thread-local, as in PyTorch."""
from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    enabled = True


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad record the graph."""
    return _state.enabled


class _GradMode:
    """Sets grad mode inside a ``with`` block or a decorated function, restoring it on exit."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.prev = _state.enabled

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self.prev

    def __call__(self, fn: F) -> F:
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(mode):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]


class _BareDecorator(_GradMode):
    """A mode usable as ``@mode()`` and, as PyTorch allows, as a bare ``@mode``."""

    def __new__(cls, func: Any = None, *args: Any, **kwargs: Any) -> Any:
        if callable(func):
            return cls()(func)
        return super().__new__(cls)


class no_grad(_BareDecorator):
    """Context manager and decorator (``@no_grad()`` or ``@no_grad``): operations inside record
    no graph."""

    def __init__(self, func: None = None) -> None:
        super().__init__(False)


class enable_grad(_BareDecorator):
    """Context manager and decorator: operations inside record the graph, even within no_grad."""

    def __init__(self, func: None = None) -> None:
        super().__init__(True)


class inference_mode(_BareDecorator):
    """PyTorch's faster no_grad for evaluation; here the same as ``no_grad`` when ``mode``."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return cls()(mode)
        return object.__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        super().__init__(not mode)


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: takes effect at once, or as a context manager/decorator."""

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        _state.enabled = self.mode

    def __enter__(self) -> None:
        return None

    def __call__(self, fn: F) -> F:
        _state.enabled = self.prev
        return super().__call__(fn)
