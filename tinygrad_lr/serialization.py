"""Safe ``save``/``load`` of state dicts: one ``.npz`` archive holding the arrays plus a JSON entry
that describes the structure, so that loading never unpickles and so can never run code.

Supported values: dicts (keys str, int, float, bool or None), lists, tuples, Tensors (with their
``requires_grad``), NumPy arrays and scalars of bool/int/uint/float/complex dtypes, Python ``int``,
``float``, ``bool``, ``None`` and ``str``. Round trips are exact: values bit for bit, dtypes, tuple
versus list and key types are preserved.
"""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from typing import IO, Any

import numpy as np

from tinygrad_lr.devices import check_device, device
from tinygrad_lr.factories import from_numpy
from tinygrad_lr.tensor import Tensor

FORMAT = "tinygrad_lr.save"
VERSION = 1
META_KEY = "__tinygrad_lr_metadata__"
_ARRAY_KINDS = "biufc"  # dtypes NumPy stores without pickling
_PICKLE_PROTOCOL_BYTE = 0x80
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"

PathOrFile = str | os.PathLike | IO[bytes]


class _FileError(ValueError):
    """A problem with the file being loaded, already worded with the file's name."""


def _key_path(path: str, key: Any) -> str:
    return f"{path}[{key!r}]"


class _Encoder:
    """Turns an object into a JSON-able description, collecting its arrays as archive entries."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _array_entry(self, array: np.ndarray, where: str) -> str:
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"save: cannot save an array of dtype {array.dtype} at {where}; only "
                            "bool, integer, float and complex arrays are supported")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def encode(self, obj: Any, where: str) -> dict[str, Any]:
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, np.generic):  # before the Python numbers: np.float64 is a float
            return {"type": "numpy_scalar", "array": self._array_entry(np.asarray(obj), where)}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):  # the IEEE bits, so NaN payloads and signs survive too
            return {"type": "float", "bits": struct.pack(">d", obj).hex()}
        if isinstance(obj, str):
            return {"type": "str", "value": obj}
        if isinstance(obj, Tensor):
            return {"type": "tensor", "array": self._array_entry(obj._data, where),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            return {"type": "ndarray", "array": self._array_entry(obj, where)}
        if isinstance(obj, dict):
            return {"type": "dict", "items": [[self.encode_key(k, where),
                                               self.encode(v, _key_path(where, k))]
                                              for k, v in obj.items()]}
        if type(obj) in (list, tuple):
            return {"type": type(obj).__name__,
                    "items": [self.encode(v, _key_path(where, i)) for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot save an object of type {type(obj).__name__} at {where}")

    def encode_key(self, key: Any, where: str) -> dict[str, Any]:
        if key is None or isinstance(key, (bool, int, float, str, np.generic)):
            return self.encode(key, where)
        raise TypeError(f"save: cannot save a dict key of type {type(key).__name__} "
                        f"({key!r}) in {where}; keys must be str, int, float, bool or None")


def save(obj: Any, f: PathOrFile, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` (a state dict or other nested structure of supported values) to ``f``, a
    file name or a binary file object, as an ``.npz`` archive that :func:`load` reads back exactly.
    A file name is written as given (no suffix added) and replaced only once complete.

    PyTorch's signature, keywords included (``save(obj=..., f=...)``); the pickle options are
    accepted and ignored, as nothing is pickled. A whole Module cannot be saved (that would need
    pickle): save its ``state_dict()`` and load it into a new model with ``load_state_dict``.
    """
    path = f
    if hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"):
        raise TypeError(f"save: cannot save a whole {type(obj).__name__} object (that would need "
                        "pickle, which tinygrad_lr never uses); save its state instead: "
                        "save(model.state_dict(), path), then model.load_state_dict(load(path))")
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    document = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    entries = dict(encoder.arrays)
    entries[META_KEY] = np.frombuffer(document.encode("utf-8"), dtype=np.uint8)
    if hasattr(path, "write"):
        np.savez(path, allow_pickle=False, **entries)
        return
    target = os.fspath(path)
    partial = f"{target}.partial"
    with open(partial, "wb") as out:
        np.savez(out, allow_pickle=False, **entries)
    os.replace(partial, target)


class _Decoder:
    """Rebuilds an object from its description, reading arrays from an open archive."""

    def __init__(self, archive: Any, name: str) -> None:
        self.archive = archive
        self.name = name

    def fail(self, problem: str) -> _FileError:
        return _FileError(f"load: {self.name}: {problem}")

    def array(self, spec: dict[str, Any]) -> np.ndarray:
        entry = spec.get("array")
        if not isinstance(entry, str) or entry == META_KEY or entry not in self.archive.files:
            raise self.fail(f"the metadata refers to a missing array entry {entry!r}")
        array = self.archive[entry]
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise self.fail(f"array entry {entry!r} has unsupported dtype {array.dtype}")
        return array

    def decode(self, spec: Any) -> Any:
        if not isinstance(spec, dict):
            raise self.fail("the metadata is malformed (an item is not an object)")
        kind = spec.get("type")
        value = spec.get("value")
        if kind == "none":
            return None
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "float":
            bits = spec.get("bits")
            try:
                return struct.unpack(">d", bytes.fromhex(bits))[0]
            except (TypeError, ValueError, struct.error):
                raise self.fail(f"the metadata holds a malformed float {bits!r}") from None
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "tensor":
            tensor = from_numpy(self.array(spec))
            if spec.get("requires_grad") is True:
                if tensor.dtype.kind != "f":
                    raise self.fail(f"a tensor of dtype {tensor.dtype} is marked requires_grad")
                tensor.requires_grad = True
            return tensor
        if kind == "ndarray":
            return self.array(spec)
        if kind == "numpy_scalar":
            return self.array(spec)[()]
        items = spec.get("items")
        if kind in ("list", "tuple") and isinstance(items, list):
            values = [self.decode(item) for item in items]
            return values if kind == "list" else tuple(values)
        if kind == "dict" and isinstance(items, list):
            result = {}
            for item in items:
                if not isinstance(item, list) or len(item) != 2:
                    raise self.fail("the metadata is malformed (a dict item is not a key-value "
                                    "pair)")
                result[self.decode(item[0])] = self.decode(item[1])
            return result
        raise self.fail(f"the metadata is malformed (unknown or invalid item of type {kind!r})")


def _describe(path: PathOrFile) -> str:
    if hasattr(path, "read"):
        return repr(getattr(path, "name", f"<{type(path).__name__}>"))
    return repr(os.fspath(path))


def _sniff(head: bytes, name: str) -> None:
    """Refuse, with the reason, a file that is not a zip archive before NumPy looks at it."""
    if head.startswith(_ZIP_MAGIC):
        return
    if not head:
        raise _FileError(f"load: {name}: the file is empty")
    if head[0] == _PICKLE_PROTOCOL_BYTE:
        raise _FileError(f"load: {name}: this is a pickle file; it is refused, as unpickling "
                         "can run arbitrary code")
    if head.startswith(_NPY_MAGIC):
        raise _FileError(f"load: {name}: this is a plain .npy array file, not an archive written "
                         "by tinygrad_lr.save")
    raise _FileError(f"load: {name}: not an archive written by tinygrad_lr.save (it is not a "
                     "zip/.npz file)")


def load(f: PathOrFile, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any
         ) -> Any:
    """Read an object written by :func:`save` from a file name or a binary file object.

    Never unpickles: a pickle file, an archive holding object arrays, a foreign or truncated file
    raise ValueError naming the file and the problem. PyTorch's signature: ``map_location`` may
    name the CPU (or be a function or dict, which have nothing to move here); ``weights_only``
    is accepted (loading is always weights-only safe).
    """
    path = f
    if isinstance(map_location, (str, device)):
        check_device(map_location)
    name = _describe(path)
    if hasattr(path, "read"):
        data = path.read()
    else:
        with open(os.fspath(path), "rb") as stream:
            data = stream.read()
    _sniff(data[:8], name)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            if META_KEY not in archive.files:
                raise _FileError(f"load: {name}: the archive has no {META_KEY} entry, so it was "
                                 "not written by tinygrad_lr.save (a plain .npz? use np.load)")
            try:
                document = json.loads(bytes(archive[META_KEY]).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _FileError(f"load: {name}: the metadata entry is not valid JSON ({exc})") \
                    from None
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise _FileError(f"load: {name}: the metadata does not describe a "
                                 f"{FORMAT} archive")
            if document.get("version") != VERSION:
                raise _FileError(f"load: {name}: unsupported format version "
                                 f"{document.get('version')!r} (this version reads {VERSION})")
            return _Decoder(archive, name).decode(document.get("root"))
    except _FileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _FileError(f"load: {name}: the archive is damaged or truncated ({exc})") from None
    except ValueError as exc:
        raise _FileError(f"load: {name}: cannot read an entry of the archive ({exc})") from None
