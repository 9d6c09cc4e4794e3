"""Read a headed CSV file into a float feature matrix and a label vector; errors say where.

Two readers share one specification. The fast one hands the data rows to NumPy's C parser
(``np.loadtxt``) and holds little more than the result in memory; it gives up on anything
unusual (a cell that is not a finite number, a blank-looking row, a missing label, a ragged row).
The careful one, in Python, then reads the file again: it accepts what the specification accepts
and names the column and the 1-based file line of the first problem. So a file either reads at
NumPy's speed, or exactly as the careful reader reads it.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from tinygrad_lr.exceptions import DataError, DataValueError

DELIMITERS = (",", ";", "\t")
"""The delimiters recognised in a header line when none is given (the most frequent one wins)."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(characters_read, file_size_in_bytes)`` while a file is read."""

_ROWS_PER_BLOCK = 4096  # careful reader: rows collected before they become one float64 block
_ROWS_PER_PROGRESS = 16384  # lines between two progress calls
_ROWS_PER_CHUNK = 8192  # fast reader: rows checked or moved at a time (bounded temporaries)


# ---- the public readers ----------------------------------------------------------------------------
def read_csv(path: str | os.PathLike[str], target: str, *, features: Sequence[str] | None = None,
             delimiter: str | None = None, progress: ProgressCallback | None = None
             ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return (X float64 (n, d), y 1-D, feature names) from a CSV whose header names the columns.

    Parameters
    ----------
    path : str or path-like
        The file: a header row naming the columns, then one row per sample. Blank rows are skipped.
    target : str
        The column holding the labels. Labels are int64 if all are integer-valued numbers,
        float64 if all are numbers, else str.
    features : sequence of str, optional
        The feature columns to read, in this order (X's columns follow it; other columns are
        ignored and may hold anything). Default: every column but ``target``, in file order.
    delimiter : str, optional
        The field separator. Default: detected from the header line among comma, semicolon and
        tab.
    progress : callable, optional
        Called now and then as ``progress(characters_read, file_size)``, for a progress display.

    Raises
    ------
    DataError
        Naming the file and the problem: missing, unreadable or not UTF-8; no header; a missing
        column; a ragged row (with its line); a label that is missing or not finite (with its
        line). A feature cell that is empty, not a number or not finite raises the subclass
        DataValueError naming its column and line (1-based, as an editor shows them).
    """
    spec = _Selection(target=target, features=_names(features, "features"), exclude=None)
    X, y, names = _read(path, spec, delimiter, progress)
    assert y is not None
    return X, y, names


def read_features(path: str | os.PathLike[str], exclude: str | None = None, *,
                  columns: Sequence[str] | None = None, delimiter: str | None = None,
                  progress: ProgressCallback | None = None) -> tuple[np.ndarray, list[str]]:
    """Return (X float64 (n, d), feature names) from a headed CSV without labels.

    ``columns`` names the columns to read, in this order (the others are ignored and may hold
    anything); without it every column is read but ``exclude`` (when the header has it).
    ``delimiter``, ``progress`` and the errors are those of `read_csv`.
    """
    spec = _Selection(target=None, features=_names(columns, "columns"), exclude=exclude)
    X, _, names = _read(path, spec, delimiter, progress)
    return X, names


def parse_csv(lines: Iterable[str], source: str, target: str, *,
              features: Sequence[str] | None = None, delimiter: str | None = None
              ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Parse CSV text lines (header first) as `read_csv` does; `source` names the data in errors."""
    spec = _Selection(target=target, features=_names(features, "features"), exclude=None)
    X, y, names = _parse_careful(lines, source, spec, delimiter)
    assert y is not None
    return X, y, names


def parse_features(lines: Iterable[str], source: str, exclude: str | None = None, *,
                   columns: Sequence[str] | None = None, delimiter: str | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """Parse CSV text lines (header first) as `read_features` does."""
    spec = _Selection(target=None, features=_names(columns, "columns"), exclude=exclude)
    X, _, names = _parse_careful(lines, source, spec, delimiter)
    return X, names


def detect_delimiter(line: str) -> str:
    """The most frequent of comma, semicolon and tab outside double quotes in ``line`` (ties go to
    the earlier one); a comma when the line holds none of them."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


# ---- which columns ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Selection:
    """What to read: the label column (or None), the feature columns by name (None: all but the
    target and ``exclude``)."""

    target: str | None
    features: tuple[str, ...] | None
    exclude: str | None


@dataclass(frozen=True)
class _Columns:
    """A selection resolved against a header: positions of the features (in output order) and of
    the target."""

    header: list[str]
    feature_index: list[int]
    target_index: int | None

    @property
    def feature_names(self) -> list[str]:
        return [self.header[i] for i in self.feature_index]


def _names(names: Sequence[str] | None, parameter: str) -> tuple[str, ...] | None:
    """Column names as a tuple of str; a bare string (a common slip for a one-name list) raises."""
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"{parameter} must be a sequence of column names, got the string "
                        f"{names!r} (write [{names!r}])")
    if len(names) == 0:
        raise ValueError(f"{parameter} must name at least one column, got an empty sequence")
    return tuple(str(name) for name in names)


def _resolve(header: list[str], spec: _Selection, source: str) -> _Columns:
    """Positions of the selected columns in ``header``; a missing column raises naming it."""
    position = {name: i for i, name in enumerate(header)}
    available = ", ".join(header)
    target_index = None
    if spec.target is not None:
        if spec.target not in position:
            raise DataError(f"{source}: no column named {spec.target!r}; available columns: "
                            f"{available}")
        target_index = position[spec.target]
    if spec.features is not None:
        missing = [name for name in spec.features if name not in position]
        if missing:
            listed = ", ".join(repr(name) for name in missing)
            raise DataError(f"{source}: missing feature column{'s' * (len(missing) > 1)} "
                            f"{listed}; available columns: {available}")
        if spec.target in spec.features:
            raise DataError(f"{source}: column {spec.target!r} is asked for as both the target "
                            "and a feature")
        feature_index = [position[name] for name in spec.features]
    else:
        feature_index = [i for i, name in enumerate(header)
                         if i != target_index and name != spec.exclude]
    if not feature_index:
        only = spec.target if spec.target is not None else spec.exclude
        what = "the target " if spec.target is not None else ""
        raise DataError(f"{source}: the only column is {what}{only!r}; no feature columns")
    return _Columns(header, feature_index, target_index)


# ---- the file --------------------------------------------------------------------------------------
def _read(path: str | os.PathLike[str], spec: _Selection, delimiter: str | None,
          progress: ProgressCallback | None) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Read ``path`` by the fast reader, or by the careful one when the fast one gives up."""
    source = os.fspath(path)
    _check_delimiter(delimiter)
    with _open(source) as handle:
        size = os.fstat(handle.fileno()).st_size
        lines = iter(handle.readline, "")  # leaves the handle just after the header
        reader, columns, found, skipped = _start(lines, source, spec, delimiter)
        # Without a progress display NumPy reads the file by its path, in large blocks (5-15%
        # faster than line by line from our handle), skipping the header's physical lines.
        if progress is None:
            fast = _read_fast(source, skipped + reader.line_num, columns, found,
                              spec.target is not None)
        else:
            fast = _read_fast(_reporting(handle, progress, size), 0, columns, found,
                              spec.target is not None)
    if fast is not None:
        return fast
    with _open(source) as handle:
        body = handle if progress is None else _reporting(handle, progress, size)
        return _parse_careful(body, source, spec, delimiter)


class _open:
    """``open(source)`` as UTF-8 text (a byte-order mark is skipped), with every failure to open
    or decode turned into a DataError naming the file."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.handle: TextIO = open(source, newline="", encoding="utf-8-sig")
        except FileNotFoundError:
            raise DataError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise DataError(f"{source}: is a directory, not a CSV file") from None
        except PermissionError:
            raise DataError(f"{source}: cannot be read: permission denied") from None
        except OSError as err:
            raise DataError(f"{source}: cannot be read: {err.strerror or err}") from None

    def __enter__(self) -> TextIO:
        return self.handle

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        self.handle.close()
        if isinstance(error, UnicodeDecodeError):
            raise DataError(f"{self.source}: not UTF-8 text ({error.reason})") from None
        if isinstance(error, OSError) and not isinstance(error, DataError):
            raise DataError(f"{self.source}: cannot be read: {error.strerror or error}") from None


def _check_delimiter(delimiter: str | None) -> None:
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                  or delimiter in '"\r\n'):
        raise ValueError(f"delimiter must be one character other than a quote or a line break, "
                         f"got {delimiter!r}")


def _reporting(lines: Iterable[str], progress: ProgressCallback, size: int) -> Iterator[str]:
    """``lines`` passed through, with ``progress(characters so far, size)`` every few thousand
    lines and once at the end."""
    done = 0
    for count, line in enumerate(lines, 1):
        done += len(line)
        if count % _ROWS_PER_PROGRESS == 0:
            progress(done, size)
        yield line
    progress(size, size)


# ---- the fast reader -------------------------------------------------------------------------------
def _read_fast(data: str | Iterable[str], skip_lines: int, columns: _Columns, delimiter: str,
               labelled: bool) -> tuple[np.ndarray, np.ndarray | None, list[str]] | None:
    """The data rows through ``np.loadtxt``, from the file's path (its first ``skip_lines`` lines
    skipped) or from the lines after the header; None whenever anything is unusual
    (the careful reader then decides). Label cells are coded as numbers by a converter, ignored
    columns read as 0, and the feature columns are then moved into place inside the same buffer,
    so the peak stays near the size of the whole table."""
    width = len(columns.header)
    codes: dict[str, int] = {}
    converters: dict[int, Callable[[str], float]] = {
        i: _ignored for i in range(width)
        if i not in columns.feature_index and i != columns.target_index}
    if labelled:
        converters[columns.target_index] = lambda text: codes.setdefault(text.strip(), len(codes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data": the careful reader says it
        try:
            table = np.loadtxt(data, dtype=np.float64, delimiter=delimiter, comments=None,
                               quotechar='"', ndmin=2, converters=converters or None,
                               skiprows=skip_lines, encoding="utf-8-sig")
        except (ValueError, OSError):  # a cell that is not a number, a ragged row, a decoding
            return None  # or read error: the careful reader names it
    if table.shape[0] == 0 or table.shape[1] != width or not _all_finite(table):
        return None
    y = None
    if labelled:
        labels = _label_values(list(codes))
        if labels is None:  # a missing or non-finite label: the careful reader names its line
            return None
        y = labels[table[:, columns.target_index].astype(np.intp)]
    return _select_in_place(table, columns.feature_index), y, columns.feature_names


def _ignored(text: str) -> float:
    """Converter of a column that is not read: any content, counted as 0."""
    return 0.0


def _all_finite(table: np.ndarray) -> bool:
    """No NaN or infinity in ``table``, checked a chunk of rows at a time."""
    return all(np.isfinite(table[start:start + _ROWS_PER_CHUNK]).all()
               for start in range(0, table.shape[0], _ROWS_PER_CHUNK))


def _select_in_place(table: np.ndarray, keep: list[int]) -> np.ndarray:
    """``table[:, keep]`` as a C-contiguous array built inside ``table``'s own buffer: row block by
    row block, each block's selected columns are copied to the front of the buffer (the target
    never reaches rows not yet moved, since it advances by len(keep) <= width values per row),
    then the buffer is shrunk."""
    rows, width = table.shape
    if keep == list(range(width)):
        return table
    if not table.flags.owndata:
        return np.ascontiguousarray(table[:, keep])
    flat = table.reshape(-1)
    selected = len(keep)
    for start in range(0, rows, _ROWS_PER_CHUNK):
        stop = min(rows, start + _ROWS_PER_CHUNK)
        block = table[start:stop, keep]  # a copy: the source may overlap its destination
        flat[start * selected:stop * selected] = block.reshape(-1)
    del block, flat
    table.shape = (rows * width,)
    table.resize(rows * selected, refcheck=False)
    table.shape = (rows, selected)
    return table


def _label_values(labels: list[str]) -> np.ndarray | None:
    """The distinct labels (in first-seen order) typed as `read_csv` types them; None when one is
    empty or a non-finite number (errors whose line only the careful reader knows)."""
    if any(not label for label in labels):
        return None
    if not all(_is_number(label) for label in labels):
        return np.array(labels, dtype=str)
    values = np.array([float(label) for label in labels], dtype=np.float64)
    if not np.isfinite(values).all():
        return None
    return _typed_numbers(values)


def _typed_numbers(values: np.ndarray) -> np.ndarray:
    """int64 when every value is an integer within 2**53 (exact in both types), else float64."""
    if np.all(values == np.round(values)) and np.all(np.abs(values) <= 2.0**53):
        return values.astype(np.int64)
    return values


# ---- the careful reader ----------------------------------------------------------------------------
def _start(lines: Iterable[str], source: str, spec: _Selection, delimiter: str | None
           ) -> tuple[Any, _Columns, str, int]:
    """Skip blank lines, detect the delimiter from the header line, read and check the header.
    Returns the csv reader positioned after the header, the resolved columns, the delimiter and
    the number of lines skipped before the header (to add to the reader's line numbers)."""
    iterator = iter(lines)
    skipped = 0
    for first in iterator:
        if first.strip():
            break
        skipped += 1
    else:
        raise DataError(f"{source}: file is empty")
    found = delimiter or detect_delimiter(first)
    reader = csv.reader(itertools.chain([first], iterator), delimiter=found)
    header = _read_header(reader, source, found)
    return reader, _resolve(header, spec, source), found, skipped


def _parse_careful(lines: Iterable[str], source: str, spec: _Selection, delimiter: str | None
                   ) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """The specification: every cell checked in Python, the first problem named with its column
    and file line; rows gathered in float64 blocks of a few thousand."""
    _check_delimiter(delimiter)
    reader, columns, _, skipped = _start(lines, source, spec, delimiter)
    names = columns.header
    blocks: list[np.ndarray] = []
    rows: list[list[float]] = []
    labels: list[str] = []
    label_lines: list[int] = []
    for line, fields in _data_rows(reader, names, source, skipped):
        if columns.target_index is not None:
            label = fields[columns.target_index].strip()
            if not label:
                raise DataError(f"{source}: line {line}: missing value in target column "
                                f"{spec.target!r}")
            labels.append(label)
            label_lines.append(line)
        rows.append([_parse_feature(fields[i], source, names[i], line)
                     for i in columns.feature_index])
        if len(rows) == _ROWS_PER_BLOCK:
            blocks.append(np.array(rows, dtype=np.float64))
            rows = []
    if rows or not blocks:
        blocks.append(np.array(rows, dtype=np.float64).reshape(-1, len(columns.feature_index)))
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    y = None
    if columns.target_index is not None:
        y = _parse_labels(labels, label_lines, source, columns.header[columns.target_index])
    return X, y, columns.feature_names


def _data_rows(reader: Any, header: list[str], source: str, skipped: int
               ) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows after the header with their file line numbers; each must be as wide as
    the header, and there must be at least one."""
    count = 0
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue
        line = reader.line_num + skipped
        if len(fields) != len(header):
            raise DataError(f"{source}: line {line} has {len(fields)} fields but the header has "
                            f"{len(header)}")
        count += 1
        yield line, fields
    if not count:
        raise DataError(f"{source}: has a header but no data rows")


def _read_header(reader: Iterable[list[str]], source: str, delimiter: str) -> list[str]:
    """Return the stripped column names of the first non-blank row, checking it is a real header."""
    for fields in reader:
        header = [field.strip() for field in fields]
        if any(header):
            break
    else:
        raise DataError(f"{source}: file is empty")
    if all(_is_number(name) for name in header):
        raise DataError(
            f"{source}: no header row; the first line holds only numbers "
            f"({delimiter.join(header)}), but the first line must name the columns"
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
    return _typed_numbers(values)
