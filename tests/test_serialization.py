"""save/load: exact round trips of state-dict-like structures, and refusal (without running any
code) of pickles, object arrays, foreign and damaged files."""
from __future__ import annotations

import io
import json
import pathlib
import pickle
import struct

import numpy as np
import pytest
from helpers import needs_torch, torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lr as tl
from tinygrad_lr import optim
from tinygrad_lr.serialization import META_KEY, load, save


def _assert_identical(a, b, where: str = "obj") -> None:
    """Same types, keys (with their types), dtypes, shapes and bits all the way down."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, tl.Tensor):
        assert a.requires_grad == b.requires_grad, where
        _assert_identical(a.detach().numpy(), b.detach().numpy(), where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), where
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), where
    elif isinstance(a, dict):
        assert [(type(k), k) for k in a] == [(type(k), k) for k in b], where
        for k in a:
            _assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def _round_trip(obj):
    buffer = io.BytesIO()
    save(obj, buffer)
    buffer.seek(0)
    return load(buffer)


DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.float16, np.float32, np.float64, np.complex64, np.complex128,
          np.dtype(">f8"), np.dtype(">i4")]


@given(st.sampled_from(DTYPES).flatmap(
    lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))))
def test_arrays_round_trip_bit_for_bit(array: np.ndarray) -> None:
    obj = {"array": array, "tensor": tl.Tensor._make(array),
           "scalar": array.flat[0] if array.size else None}
    _assert_identical(_round_trip(obj), obj)


_leaves = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
_keys = st.one_of(st.text(max_size=5), st.integers(-5, 50), st.booleans(), st.none(),
                  st.floats(-1.0, 1.0))
_nested = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
    st.dictionaries(_keys, inner, max_size=4)), max_leaves=20)


@given(_nested)
def test_nested_python_values_round_trip_exactly(obj) -> None:
    _assert_identical(_round_trip(obj), obj)


def test_state_dict_like_structure_round_trips() -> None:
    weight = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    obj = {"model": {"weight": weight, "bias": tl.tensor(np.zeros(3, np.float32))},
           "optimizer": {"state": {0: {"step": 10, "exp_avg": tl.tensor(np.full(3, 0.1))},
                                   1: {"momentum_buffer": None}},
                         "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                           "nesterov": False, "line_search_fn": None}]},
           "epoch": 7, "name": "run-1", "best": float("-inf"), "history": [0.5, 0.25],
           "numpy_scalar": np.float32(0.1), "ids": np.arange(4, dtype=np.int32)}
    restored = _round_trip(obj)
    _assert_identical(restored, obj)
    assert restored["model"]["weight"].requires_grad
    assert restored["model"]["weight"].detach().numpy() is not weight.detach().numpy()
    assert restored["model"]["weight"].detach().numpy().flags.writeable


def test_optimizer_state_dict_survives_save_and_load(tmp_path: pathlib.Path) -> None:
    p = tl.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    for _ in range(3):
        p.grad = tl.tensor(np.array([0.3, -0.1, 0.2]))
        opt.step()
    save(opt.state_dict(), tmp_path / "opt.tlr")
    restored = load(tmp_path / "opt.tlr")
    _assert_identical(restored, opt.state_dict())
    assert list(restored["state"]) == [0]


def test_paths_and_file_objects(tmp_path: pathlib.Path) -> None:
    obj = {"x": np.arange(3.0)}
    save(obj, str(tmp_path / "a.bin"))
    assert (tmp_path / "a.bin").exists() and not (tmp_path / "a.bin.npz").exists()
    _assert_identical(load(str(tmp_path / "a.bin")), obj)
    with open(tmp_path / "b.bin", "wb") as f:
        save(obj, f)
    with open(tmp_path / "b.bin", "rb") as f:
        _assert_identical(load(f), obj)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_the_file_is_an_npz_with_json_metadata(tmp_path: pathlib.Path) -> None:
    save({"w": tl.tensor(np.ones(2)), 3: "x"}, tmp_path / "f.npz")
    with np.load(tmp_path / "f.npz", allow_pickle=False) as archive:
        document = json.loads(bytes(archive[META_KEY]).decode())
        arrays = [name for name in archive.files if name != META_KEY]
        assert [archive[name].tolist() for name in arrays] == [[1.0, 1.0]]
    assert document["format"] == "tinygrad_lr.save" and document["root"]["type"] == "dict"


@pytest.mark.parametrize("obj, fragment", [
    ({"a": {1, 2}}, "type set at obj['a']"),
    ({"model": [1, object()]}, "type object at obj['model'][1]"),
    ({(1, 2): 3}, "dict key of type tuple"),
    ({"arr": np.array([None, 1], dtype=object)}, "dtype object at obj['arr']"),
    ({"s": np.array(["a"])}, "dtype <U1"),
    ([lambda: 0], "type function at obj[0]"),
])
def test_unsupported_objects_raise_type_error_naming_type_and_key_path(obj, fragment) -> None:
    with pytest.raises(TypeError, match=fragment.replace("[", r"\[").replace("(", r"\(")):
        save(obj, io.BytesIO())


class _SideEffect:
    """Unpickling this creates ``marker``: proof that unpickling ran code."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (self.marker,)


def test_pickle_file_is_refused_without_running_it(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"state": _SideEffect(marker)})
    (tmp_path / "evil.pt").write_bytes(payload)
    with pytest.raises(ValueError, match=r"evil\.pt.*pickle file"):
        load(tmp_path / "evil.pt")
    assert not marker.exists()
    pickle.loads(payload)  # the payload really has a side effect when unpickled
    assert marker.exists()


@pytest.mark.parametrize("with_metadata", [False, True])
def test_npz_with_an_object_array_is_refused_without_unpickling(tmp_path: pathlib.Path,
                                                                with_metadata: bool) -> None:
    marker = tmp_path / "pwned"
    entries = {"a0": np.array([_SideEffect(marker)], dtype=object)}
    if with_metadata:
        document = {"format": "tinygrad_lr.save", "version": 1,
                    "root": {"type": "ndarray", "array": "a0"}}
        entries[META_KEY] = np.frombuffer(json.dumps(document).encode(), dtype=np.uint8)
    np.savez(tmp_path / "evil.npz", **entries)
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"evil\.npz"):
        load(tmp_path / "evil.npz")
    assert not marker.exists()


@pytest.mark.parametrize("content, fragment", [
    (b"", "the file is empty"),
    (b"hello, world\n", "not an archive written by tinygrad_lr.save"),
    (b"\x93NUMPY\x01\x00", "plain .npy array file"),
])
def test_foreign_files_are_refused(tmp_path: pathlib.Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "foreign.bin"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"foreign\.bin.*{fragment.replace('.', '[.]')}"):
        load(path)


def test_plain_npz_is_refused(tmp_path: pathlib.Path) -> None:
    np.savez(tmp_path / "plain.npz", weights=np.ones(3))
    with pytest.raises(ValueError, match=r"plain\.npz.*no __tinygrad_lr_metadata__ entry"):
        load(tmp_path / "plain.npz")


@pytest.mark.parametrize("document, fragment", [
    (b"not json", "not valid JSON"),
    (b'{"format": "other", "version": 1}', "does not describe"),
    (b'{"format": "tinygrad_lr.save", "version": 99, "root": {"type": "none"}}', "version 99"),
    (b'{"format": "tinygrad_lr.save", "version": 1, "root": {"type": "ndarray", "array": "a9"}}',
     "missing array entry 'a9'"),
    (b'{"format": "tinygrad_lr.save", "version": 1, "root": {"type": "code", "value": 1}}',
     "unknown or invalid item of type 'code'"),
    (b'{"format": "tinygrad_lr.save", "version": 1, "root": {"type": "dict", "items": [[1]]}}',
     "not a key-value pair"),
    (b'{"format": "tinygrad_lr.save", "version": 1, "root": {"type": "float", "bits": "7ff"}}',
     "malformed float '7ff'"),
])
def test_malformed_metadata_is_refused(tmp_path: pathlib.Path, document: bytes,
                                       fragment: str) -> None:
    np.savez(tmp_path / "bad.npz", **{META_KEY: np.frombuffer(document, dtype=np.uint8)})
    with pytest.raises(ValueError, match=fragment):
        load(tmp_path / "bad.npz")


@given(st.floats(0.0, 0.999))
def test_truncated_archives_are_refused(fraction: float) -> None:
    buffer = io.BytesIO()
    save({"w": np.arange(50.0), "step": 3}, buffer)
    data = buffer.getvalue()
    with pytest.raises(ValueError, match="load: "):
        load(io.BytesIO(data[:int(len(data) * fraction)]))


def test_corrupted_array_bytes_are_refused(tmp_path: pathlib.Path) -> None:
    buffer = io.BytesIO()
    save({"w": np.arange(50.0)}, buffer)
    data = bytearray(buffer.getvalue())
    position = data.index(np.arange(50.0).tobytes()[8:16])
    data[position] ^= 0xFF
    (tmp_path / "corrupt.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt\.npz.*damaged"):
        load(tmp_path / "corrupt.npz")


@needs_torch
def test_torch_save_files_are_refused(tmp_path: pathlib.Path) -> None:
    torch.save({"w": torch.ones(2)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"model\.pt"):
        load(tmp_path / "model.pt")
