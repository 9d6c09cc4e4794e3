"""Tensor printing with PyTorch's layout, so a script prints the same text under either library.

The rules, as PyTorch documents and prints them: integer-valued floats print as ``1.``; other
floats with four decimals (``2.5000``); scientific notation (``1.0000e-05``) when the finite
non-zero magnitudes span more than a factor of 1000, exceed 1e8 or (for non-integers) fall below
1e-4. Every element is right-aligned to the widest, rows wrap at 80 characters, and tensors of
more than 1000 elements show their first and last three entries along each dimension.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
             "sci_mode": None}
_options = dict(_DEFAULTS)


def set_printoptions(precision: int | None = None, threshold: int | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """PyTorch's print options: digits after the point, the element count above which tensors
    are summarized, the entries shown at each edge when summarized, the line width, and
    ``sci_mode`` (True/False forces scientific notation on or off, None chooses). ``profile``
    'default', 'short' or 'full' sets the first four at once."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                   "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}")
        for key, value in zip(("precision", "threshold", "edgeitems", "linewidth"),
                              presets[profile]):
            _options[key] = value
    for key, value in (("precision", precision), ("threshold", threshold),
                       ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _options[key] = value
    _options["sci_mode"] = sci_mode


class _Formatter:
    """Formats single values of one tensor at a common width."""

    def __init__(self, values: np.ndarray) -> None:
        self.kind = values.dtype.kind
        self.int_mode = True
        self.sci_mode = False
        measured = values.reshape(-1)
        if self.kind == "f":
            # As PyTorch: the mode and the width come from the finite non-zero values only
            # (so zeros, -0., nan and inf are padded to them, or stick out).
            flat = measured.astype(np.float64)
            measured = flat[np.isfinite(flat) & (flat != 0)]
            magnitudes = np.abs(measured)
            self.int_mode = bool(np.all(measured == np.ceil(measured)))
            if magnitudes.size:
                low, high = float(magnitudes.min()), float(magnitudes.max())
                self.sci_mode = high / low > 1000.0 or high > 1.0e8 or \
                    (not self.int_mode and low < 1.0e-4)
            if _options["sci_mode"] is not None:
                self.sci_mode = bool(_options["sci_mode"])
        self.width = max((len(self._text(v)) for v in measured.tolist()), default=1)

    def _text(self, value: Any) -> str:
        if self.kind == "b":
            return str(bool(value))
        if self.kind != "f":
            return str(value)
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if self.sci_mode:
            return f"{value:.{_options['precision']}e}"
        if self.int_mode:
            return f"{value:.0f}."
        return f"{value:.{_options['precision']}f}"

    def format(self, value: Any) -> str:
        text = self._text(value)
        return " " * (self.width - len(text)) + text


def _summary(data: np.ndarray) -> np.ndarray:
    """The entries a summarized print shows: the first and last ``edgeitems`` of each dimension."""
    if data.ndim == 0:
        return data
    edge = _options["edgeitems"]
    if data.shape[0] > 2 * edge:
        data = np.concatenate([data[:edge], data[-edge:]])
    return np.stack([_summary(row) for row in data]) if data.ndim > 1 else data


def _vector(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int(math.floor((_options["linewidth"] - indent) / (fmt.width + 2))))
    values = data.tolist()
    edge = _options["edgeitems"]
    if summarize and len(values) > 2 * edge:
        items = ([fmt.format(v) for v in values[:edge]] + [" ..."]
                 + [fmt.format(v) for v in values[-edge:]])
    else:
        items = [fmt.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(data: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if data.ndim == 0:
        return fmt.format(data.item())
    if data.ndim == 1:
        return _vector(data, indent, summarize, fmt)
    rows = range(data.shape[0])
    edge = _options["edgeitems"]
    if summarize and data.shape[0] > 2 * edge:
        parts = ([_nested(data[i], indent + 1, summarize, fmt) for i in rows[:edge]]
                 + ["..."]
                 + [_nested(data[i], indent + 1, summarize, fmt) for i in rows[-edge:]])
    else:
        parts = [_nested(data[i], indent + 1, summarize, fmt) for i in rows]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_values(data: np.ndarray, indent: int) -> str:
    """The bracketed values of ``data`` as PyTorch prints them, ``indent`` columns in."""
    if data.size == 0:
        return "[]"
    summarize = data.size > _options["threshold"]
    fmt = _Formatter(_summary(data) if summarize else data)
    return _nested(data, indent, summarize, fmt)


def tensor_repr(data: np.ndarray, default_float: np.dtype, suffixes: list[str],
                prefix: str = "tensor(") -> str:
    """``tensor([...], <dtype if not implied>, <suffixes>)``, PyTorch's repr of a tensor."""
    parts = [format_values(data, len(prefix))]
    if data.size == 0 and data.ndim != 1:
        parts.append(f"size={tuple(data.shape)}")
    implied = data.dtype in (default_float, np.dtype(np.int64), np.dtype(np.bool_))
    if not implied or (data.size == 0 and data.dtype != default_float):
        parts.append(f"dtype=tinygrad_lr.{data.dtype.name}")
    return _add_suffixes(prefix + parts[0], parts[1:] + suffixes, len(prefix))


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """Append ", suffix" for each suffix, starting a new line (indented) where the line would
    pass the line width, as PyTorch does."""
    pieces = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        # Lines break where PyTorch's do: its dtype names ("torch.float64") are measured.
        width = len(suffix.replace("tinygrad_lr.", "torch."))
        if last_line + width + 2 > _options["linewidth"]:
            pieces.append(",\n" + " " * indent + suffix)
            last_line = indent + width
        else:
            pieces.append(", " + suffix)
            last_line += width + 2
    return "".join(pieces) + ")"
