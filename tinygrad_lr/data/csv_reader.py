"""Read a headed CSV file into a float feature matrix and a label vector; errors say where."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO, TypeVar

import numpy as np

from tinygrad_lr.exceptions import DataError, DataValueError

_Parsed = TypeVar("_Parsed")


def read_csv(path: str | os.PathLike[str], target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (X float64 (n, d), y 1-D, feature names) from a CSV whose header names the columns.

    Labels are int64 if all are integer-valued numbers, float64 if all are numbers, else str.
    """
    return _read(path, lambda handle, source: parse_csv(handle, source, target))


def read_features(path: str | os.PathLike[str], exclude: str | None = None
                  ) -> tuple[np.ndarray, list[str]]:
    """Return (X float64 (n, d), feature names): every column of a headed CSV but ``exclude``
    (when the header has it), for unlabelled data or data whose label column is known."""
    return _read(path, lambda handle, source: parse_features(handle, source, exclude))


def _read(path: str | os.PathLike[str], parse: Callable[[TextIO, str], _Parsed]) -> _Parsed:
    """``parse(handle, source)`` on the opened file, with missing, unreadable and non-UTF-8 files
    reported as DataError."""
    source = os.fspath(path)
    if not os.path.exists(source):
        raise DataError(f"{source}: no such file")
    if os.path.isdir(source):
        raise DataError(f"{source}: is a directory, not a CSV file")
    try:
        with open(source, newline="", encoding="utf-8-sig") as handle:
            return parse(handle, source)
    except UnicodeDecodeError as err:
        raise DataError(f"{source}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{source}: cannot be read: {err.strerror}") from None


def parse_csv(
    lines: Iterable[str], source: str, target: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse CSV text lines (header first) as `read_csv` does; `source` names the data in errors."""
    reader = csv.reader(lines)
    header = _read_header(reader, source)
    if target not in header:
        raise DataError(
            f"{source}: no column named {target!r}; available columns: {', '.join(header)}"
        )
    target_index = header.index(target)
    feature_names = [name for i, name in enumerate(header) if i != target_index]
    if not feature_names:
        raise DataError(f"{source}: the only column is the target {target!r}; no feature columns")
    rows: list[list[float]] = []
    labels: list[str] = []
    label_lines: list[int] = []
    for line, fields in _data_rows(reader, header, source):
        label = fields[target_index].strip()
        if not label:
            raise DataError(f"{source}: line {line}: missing value in target column {target!r}")
        labels.append(label)
        label_lines.append(line)
        features = fields[:target_index] + fields[target_index + 1 :]
        rows.append(
            [
                _parse_feature(v, source, n, line)
                for v, n in zip(features, feature_names, strict=True)
            ]
        )
    return (
        np.array(rows, dtype=np.float64),
        _parse_labels(labels, label_lines, source, target),
        feature_names,
    )


def parse_features(
    lines: Iterable[str], source: str, exclude: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """Parse CSV text lines (header first) as `read_features` does."""
    reader = csv.reader(lines)
    header = _read_header(reader, source)
    keep = [i for i, name in enumerate(header) if name != exclude]
    if not keep:
        raise DataError(f"{source}: the only column is {exclude!r}; no feature columns")
    rows = [
        [_parse_feature(fields[i], source, header[i], line) for i in keep]
        for line, fields in _data_rows(reader, header, source)
    ]
    return np.array(rows, dtype=np.float64), [header[i] for i in keep]


def _data_rows(reader: Any, header: list[str], source: str) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows after the header with their line numbers; each must be as wide as the
    header, and there must be at least one."""
    count = 0
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue
        if len(fields) != len(header):
            raise DataError(
                f"{source}: line {reader.line_num} has {len(fields)} fields but the header has "
                f"{len(header)}"
            )
        count += 1
        yield reader.line_num, fields
    if not count:
        raise DataError(f"{source}: has a header but no data rows")


def _read_header(reader: Iterable[list[str]], source: str) -> list[str]:
    """Return the stripped column names of the first non-blank row, checking it is a real header."""
    for fields in reader:
        header = [field.strip() for field in fields]
        if any(header):
            break
    else:
        raise DataError(f"{source}: file is empty")
    if all(_is_number(name) for name in header):
        raise DataError(
            f"{source}: no header row; the first line holds only numbers ({','.join(header)}), "
            "but the first line must name the columns"
        )
    empty = [i + 1 for i, name in enumerate(header) if not name]
    if empty:
        raise DataError(f"{source}: header has empty column names at positions {empty}")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{source}: header repeats column names {duplicates}")
    return header


def _is_number(text: str) -> bool:
    """True if `text` parses as a float (so a header made only of numbers is really data)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_feature(text: str, source: str, column: str, line: int) -> float:
    """Parse one feature cell as a finite float, naming file, column, line and value on failure."""
    stripped = text.strip()
    if not stripped:
        raise DataValueError(f"{source}: column {column!r}, line {line}: missing (empty) value")
    try:
        value = float(stripped)
    except ValueError:
        raise DataValueError(
            f"{source}: column {column!r}, line {line}: value {stripped!r} is not a number"
        ) from None
    if math.isnan(value):
        raise DataValueError(
            f"{source}: column {column!r}, line {line}: missing value ({stripped!r})"
        )
    if math.isinf(value):
        raise DataValueError(
            f"{source}: column {column!r}, line {line}: value {stripped!r} is not finite"
        )
    return value


def _parse_labels(labels: list[str], lines: list[int], source: str, target: str) -> np.ndarray:
    """Return labels as int64 if all are integer-valued numbers, float64 if all numbers, else str.

    Integer-valued labels beyond 2**53 stay float64, where int64 could not hold them exactly.
    """
    if not all(_is_number(label) for label in labels):
        return np.array(labels, dtype=str)
    values = np.array([float(label) for label in labels], dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            f"{source}: column {target!r}, line {lines[bad[0]]}: "
            f"label {labels[bad[0]]!r} is not finite"
        )
    if np.all(values == np.round(values)) and np.all(np.abs(values) <= 2.0**53):
        return values.astype(np.int64)
    return values
