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


class no_grad(_GradMode):
    """Context manager and decorator: operations inside record no graph."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Context manager and decorator: operations inside record the graph, even within no_grad."""

    def __init__(self) -> None:
        super().__init__(True)


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
