"""Tests for tinygrad_lr.data: data sets, CSV reading, generators, splitting, scaling, batches."""

import contextlib
import errno
import io
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lr.data import (
    Bunch,
    DataError,
    DataLoader,
    DataValueError,
    NotFittedError,
    StandardScaler,
    iterate_minibatches,
    load_breast_cancer,
    load_digits,
    make_classification,
    make_regression,
    read_csv,
    read_features,
    train_test_split,
)
from tinygrad_lr.data import csv_reader
from tinygrad_lr.data.csv_reader import parse_csv
from tinygrad_lr.data.split import _split_sizes, _stratified_allocation

SKLEARN_REASON = "scikit-learn is needed to compare with its reference implementation"


@pytest.fixture(scope="module")
def sklearn_datasets():
    return pytest.importorskip("sklearn.datasets", reason=SKLEARN_REASON)


@pytest.fixture(scope="module")
def sklearn_model_selection():
    return pytest.importorskip("sklearn.model_selection", reason=SKLEARN_REASON)


@pytest.fixture(scope="module")
def sklearn_preprocessing():
    return pytest.importorskip("sklearn.preprocessing", reason=SKLEARN_REASON)


# ---------------------------------------------------------------- packaged data sets


def test_breast_cancer_contents():
    data = load_breast_cancer()
    assert isinstance(data, Bunch)
    assert data.data.shape == (569, 30) and data.data.dtype == np.float64
    assert data.target.shape == (569,) and data.target.dtype == np.int64
    assert np.bincount(data.target).tolist() == [212, 357]
    assert data.target_names.tolist() == ["malignant", "benign"]
    assert data.feature_names[0] == "mean_radius" and len(data.feature_names) == 30
    assert data.data[0, 0] == 17.99
    assert "CC BY 4.0" in data.DESCR and "Wolberg" in data.DESCR


def test_digits_contents():
    data = load_digits()
    assert data.data.shape == (1797, 64) and data.data.dtype == np.float64
    assert data.target.dtype == np.int64
    assert data.target_names.tolist() == list(range(10))
    counts = np.bincount(data.target)
    assert counts.size == 10 and counts.min() >= 174 and counts.max() <= 183
    assert data.data.min() == 0 and data.data.max() == 16
    assert np.array_equal(data.data, np.round(data.data))
    assert np.array_equal(data.images.reshape(1797, 64), data.data)
    assert data.feature_names[63] == "pixel_63"
    assert "Alpaydin" in data.DESCR and "CC BY 4.0" in data.DESCR


def test_loaders_return_fresh_copies():
    X, y = load_breast_cancer(return_X_y=True)
    X[:] = -1.0
    y[:] = 7
    assert X.flags.writeable
    X2, y2 = load_breast_cancer(return_X_y=True)
    assert X2[0, 0] == 17.99 and set(np.unique(y2)) == {0, 1}
    bunch = load_digits()
    bunch.data[0, 0] = 99.0
    assert load_digits().data[0, 0] == 0.0


def test_bunch_attribute_access():
    bunch = Bunch(a=1)
    bunch.b = 2
    assert bunch["b"] == 2 and bunch.a == 1 and "b" in dir(bunch)
    assert not hasattr(bunch, "missing")


def test_breast_cancer_equals_sklearn(sklearn_datasets):
    ours, theirs = load_breast_cancer(), sklearn_datasets.load_breast_cancer()
    assert np.array_equal(ours.data, theirs.data)
    assert np.array_equal(ours.target, theirs.target)
    assert np.array_equal(ours.target_names, theirs.target_names)
    assert [name.replace("_", " ") for name in ours.feature_names] == list(theirs.feature_names)


def test_digits_equals_sklearn(sklearn_datasets):
    ours, theirs = load_digits(), sklearn_datasets.load_digits()
    X, y = load_digits(return_X_y=True)
    assert np.array_equal(X, theirs.data) and np.array_equal(y, theirs.target)
    assert np.array_equal(ours.images, theirs.images)
    assert np.array_equal(ours.target_names, theirs.target_names)


# ---------------------------------------------------------------- read_csv


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_string_labels_and_target_in_middle(tmp_path):
    path = _write(tmp_path, 'a,label,b\n1,cat,2.5\n-3e2,"dog",4\n\n')
    X, y, names = read_csv(path, "label")
    assert names == ["a", "b"]
    assert X.dtype == np.float64 and X.tolist() == [[1.0, 2.5], [-300.0, 4.0]]
    assert y.tolist() == ["cat", "dog"] and y.dtype.kind == "U"


@pytest.mark.parametrize(
    ("labels", "expected", "kind"),
    [
        (["0", "1", "1"], [0, 1, 1], "i"),
        (["1.0", "-2.0", "3"], [1, -2, 3], "i"),
        (["0.5", "1", "2"], [0.5, 1.0, 2.0], "f"),
        (["1", "x", "2"], ["1", "x", "2"], "U"),
    ],
)
def test_read_csv_label_types(tmp_path, labels, expected, kind):
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    _, y, _ = read_csv(_write(tmp_path, "x,y\n" + rows), "y")
    assert y.tolist() == expected and y.dtype.kind == kind


def test_read_csv_strips_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefff1,t\n1,0\n".encode("utf-8"))
    assert read_csv(path, "t")[2] == ["f1"]


@given(
    st.lists(
        st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    )
)
def test_read_csv_round_trips_floats_exactly(tmp_path_factory, rows):
    text = "p,q,r,target\n" + "".join(",".join(map(repr, row)) + ",1\n" for row in rows)
    X, y, _ = read_csv(_write(tmp_path_factory.mktemp("csv"), text), "target")
    assert np.array_equal(X, np.array(rows)) and y.tolist() == [1] * len(rows)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"data\.csv: file is empty"),
        ("\n  \n", r"file is empty"),
        ("1,2,3\n4,5,6\n", r"no header row.*1,2,3"),
        ("a,target\n", r"header but no data rows"),
        ("a,b\n1,2\n", r"no column named 'target'; available columns: a, b"),
        ("a,target\n1,0\n2,1,5\n", r"line 3 has 3 fields but the header has 2"),
        (
            "a,b,target\n1,2,0\n3,x7,1\n",
            r"data\.csv: column 'b', line 3: value 'x7' is not a number",
        ),
        ("a,b,target\n1,,0\n", r"column 'b', line 2: missing \(empty\) value"),
        ("a,b,target\n1,2,0\n1,NaN,1\n", r"column 'b', line 3: missing value \('NaN'\)"),
        ("a,target\n-inf,0\n", r"column 'a', line 2: value '-inf' is not finite"),
        ("a,target\n1,\n", r"line 2: missing value in target column 'target'"),
        ("a,target\n1,nan\n", r"column 'target', line 2: label 'nan' is not finite"),
        ("target\n1\n", r"no feature columns"),
        ("a,a,target\n1,2,0\n", r"repeats column names \['a'\]"),
        ("a,,target\n1,2,0\n", r"empty column names at positions \[2\]"),
    ],
)
def test_read_csv_errors_name_the_problem(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern):
        read_csv(_write(tmp_path, text), "target")


def test_read_csv_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_csv(tmp_path / "nope.csv", "target")
    with pytest.raises(DataError, match="is a directory"):
        read_csv(tmp_path, "target")
    assert issubclass(DataError, ValueError)


def test_read_csv_rejects_non_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,target\n\xe9,1\n")
    with pytest.raises(DataError, match="not UTF-8"):
        read_csv(path, "target")



def test_read_features_keeps_every_column_but_the_excluded_one(tmp_path):
    path = _write(tmp_path, "a,label,b\n1,x,2\n\n3,y,4.5\n")
    X, names = read_features(path, exclude="label")
    assert names == ["a", "b"] and X.dtype == np.float64
    np.testing.assert_array_equal(X, [[1.0, 2.0], [3.0, 4.5]])
    X, names = read_features(_write(tmp_path, "a,b\n1,2\n", "plain.csv"), exclude="label")
    assert names == ["a", "b"] and X.tolist() == [[1.0, 2.0]]
    assert read_features(_write(tmp_path, "a\n7\n", "one.csv"))[0].tolist() == [[7.0]]


@pytest.mark.parametrize(
    ("text", "exclude", "error", "pattern"),
    [
        ("", None, DataError, r"data\.csv: file is empty"),
        ("1,2\n", None, DataError, r"no header row"),
        ("a,b\n", None, DataError, r"header but no data rows"),
        ("a,b\n1,2\n3\n", None, DataError, r"line 3 has 1 fields but the header has 2"),
        ("label\n1\n", "label", DataError, r"the only column is 'label'; no feature columns"),
        ("a,label\n1,x\n", None, DataValueError, r"column 'label', line 2: value 'x' is not a"),
        ("a,b\n1,inf\n", "c", DataValueError, r"column 'b', line 2: value 'inf' is not finite"),
    ],
)
def test_read_features_errors_name_the_problem(tmp_path, text, exclude, error, pattern):
    with pytest.raises(error, match=pattern):
        read_features(_write(tmp_path, text), exclude=exclude)
    assert issubclass(DataValueError, DataError)


def test_read_features_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        read_features(tmp_path / "nope.csv")


def _data_text(n_rows, bad_row=None, bad_cell="", column=1, blank_every=3):
    """A CSV text of `n_rows` rows (features a, b, c; label y), with a blank line after every
    `blank_every` rows, and the cell `bad_cell` in `column` of row `bad_row` (0-based); returns
    the text and the 1-based file line of that row."""
    lines, bad_line = ["a,b,c,y"], None
    for row in range(n_rows):
        cells = [f"{row}.5", f"{-row}", f"{row % 7}e-1", str(row % 2)]
        if row == bad_row:
            cells[column] = bad_cell
            bad_line = len(lines) + 1
        lines.append(",".join(cells))
        if row % blank_every == blank_every - 1:
            lines.append("")
    return "\n".join(lines) + "\n", bad_line


@pytest.mark.parametrize(
    ("column", "cell", "pattern"),
    [
        (1, "x7", "column 'b', line {line}: value 'x7' is not a number"),
        (2, "nan", r"column 'c', line {line}: missing value \('nan'\)"),
        (0, "", r"column 'a', line {line}: missing \(empty\) value"),
        (3, "nan", "column 'y', line {line}: label 'nan' is not finite"),
        (3, "inf", "column 'y', line {line}: label 'inf' is not finite"),
        (3, " ", "line {line}: missing value in target column 'y'"),
    ],
)
@pytest.mark.parametrize("bad_row", [4, 7, 49])
def test_read_csv_errors_name_the_file_line_of_a_later_row(tmp_path, column, cell, pattern,
                                                           bad_row):
    """Multi-row files with blank lines, the bad cell well after the first data row: the line
    named is the file's own (header = line 1, blank lines counted), never the row's index."""
    text, line = _data_text(50, bad_row, cell, column)
    assert line > bad_row + 2  # blank lines before it: an index-based count would be wrong
    with pytest.raises(DataError, match=pattern.format(line=line)):
        read_csv(_write(tmp_path, text), "y")
    with pytest.raises(DataError, match=pattern.format(line=line)):
        parse_csv(text.splitlines(keepends=True), "data.csv", "y")


def test_read_features_error_names_a_later_line(tmp_path):
    text, line = _data_text(30, 20, "1,5", 2)  # "1,5" is two cells: a ragged row
    with pytest.raises(DataError, match=f"line {line} has 5 fields but the header has 4"):
        read_features(_write(tmp_path, text), exclude="y")
    text, line = _data_text(30, 20, "abc", 0)
    with pytest.raises(DataValueError, match=f"column 'a', line {line}: value 'abc'"):
        read_features(_write(tmp_path, text), exclude="y")


@contextlib.contextmanager
def _unreadable(path):
    """`path` made unreadable for real: mode 000, and, when the tests run as root (whom file modes
    do not stop), the effective user switched to nobody for the duration."""
    mode = path.stat().st_mode
    path.chmod(0)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if as_root:
        os.seteuid(65534)
    try:
        yield
    finally:
        if as_root:
            os.seteuid(0)
        path.chmod(mode)


def test_unreadable_file_is_one_data_error(tmp_path):
    path = _write(tmp_path, "a,target\n1,0\n2,1\n")
    with _unreadable(path):
        with pytest.raises(OSError):
            open(path).close()  # the premise: the file really cannot be opened
        with pytest.raises(DataError, match=r"data\.csv: cannot be read: permission denied"):
            read_csv(path, "target")
        with pytest.raises(DataError, match=r"data\.csv: cannot be read: permission denied"):
            read_features(path)
    assert read_csv(path, "target")[1].tolist() == [0, 1]


def test_read_error_while_reading_is_a_data_error(tmp_path, monkeypatch):
    """An I/O error after the file opened (a failing disk, a vanished network share)."""
    path = _write(tmp_path, "a,target\n1,0\n2,1\n")

    real = open(path)

    class FailingFile(io.StringIO):
        def fileno(self):
            return real.fileno()

        def readline(self, *args):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(csv_reader, "open", lambda *a, **k: FailingFile(), raising=False)
    request_close = real.close
    with pytest.raises(DataError, match=r"data\.csv: cannot be read: Input/output error"):
        read_csv(path, "target")
    request_close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a;b;t\n1,5;2;x\n", None),  # decimal comma: 1,5 is not a number with ';'
        ("a;b;t\n1.5;2;x\n3;4;y\n", [[1.5, 2.0], [3.0, 4.0]]),
        ("a\tb\tt\n1.5\t2\tx\n", [[1.5, 2.0]]),
        ('"a,1";b;t\n1;2;x\n', [[1.0, 2.0]]),  # commas inside quotes do not count: "a,1", b
        ("a,b,t\r\n1,2,x\r\n\r\n3,4,y\r\n", [[1.0, 2.0], [3.0, 4.0]]),
    ],
)
def test_read_csv_detects_the_delimiter(tmp_path, text, expected):
    path = _write(tmp_path, text)
    if expected is None:
        with pytest.raises(DataValueError, match="column 'a', line 2: value '1,5' is not a number"):
            read_csv(path, "t")
        return
    X, y, names = read_csv(path, "t")
    assert X.tolist() == expected and names[1] == "b" and y[0] == "x"


def test_read_csv_given_delimiter(tmp_path):
    path = _write(tmp_path, "a|b|t\n1|2|x\n3|4|y\n")
    X, y, names = read_csv(path, "t", delimiter="|")
    assert X.tolist() == [[1.0, 2.0], [3.0, 4.0]] and names == ["a", "b"]
    with pytest.raises(DataError, match=r"no column named 't'; available columns: a\|b\|t"):
        read_csv(path, "t")  # detected: a comma, so one column named "a|b|t"
    for bad in ("", ";;", '"', "\n"):
        with pytest.raises(ValueError, match="delimiter must be one character"):
            read_csv(path, "t", delimiter=bad)


def test_read_csv_selects_features_by_name(tmp_path):
    path = _write(tmp_path, "id,b,label,a,note\nr1,2,x,1,hello\nr2,4,y,3,\n")
    X, y, names = read_csv(path, "label", features=["a", "b"])
    assert names == ["a", "b"] and X.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert X.flags.c_contiguous and y.tolist() == ["x", "y"]
    X, names = read_features(path, columns=["b", "a"])
    assert names == ["b", "a"] and X.tolist() == [[2.0, 1.0], [4.0, 3.0]]
    with pytest.raises(DataError, match=r"missing feature columns 'c', 'd'; available columns: "
                                        "id, b, label, a, note"):
        read_csv(path, "label", features=["a", "c", "d"])
    with pytest.raises(DataError, match="missing feature column 'c';"):
        read_features(path, columns=["c"])
    with pytest.raises(DataError, match="both the target and a feature"):
        read_csv(path, "label", features=["a", "label"])
    with pytest.raises(TypeError, match="sequence of column names"):
        read_features(path, columns="a")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(["1", "-2.5", "3e2", " 4 ", "", "x", "nan", "inf", '"5"', "1_0",
                                  '"a,b"', "0x1", "+.5"]),
                 min_size=1, max_size=4),
        min_size=1, max_size=6,
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_fast_reader_agrees_with_the_careful_one(tmp_path_factory, rows, delimiter):
    """read_csv (NumPy's C parser, falling back to the careful reader) and parse_csv (the careful
    reader alone) give the same arrays, or the same error, on any such file."""
    text = delimiter.join(["p", "q", "r", "t"]) + "\n"
    text += "".join(delimiter.join((row * 4)[:3] + [row[-1]]) + "\n" for row in rows)
    path = _write(tmp_path_factory.mktemp("csv"), text)
    outcomes = []
    for read in (lambda: read_csv(path, "t"),  # NumPy reads the file by its path
                 lambda: read_csv(path, "t", progress=lambda done, size: None),  # line by line
                 lambda: parse_csv(text.splitlines(keepends=True), str(path), "t")):
        try:
            X, y, names = read()
            outcomes.append((X.tolist(), X.dtype, y.tolist(), y.dtype, names))
        except DataError as error:
            outcomes.append((type(error), str(error)))
    assert outcomes[0] == outcomes[2] and outcomes[1] == outcomes[2]


def test_plain_numeric_files_take_the_fast_reader(tmp_path, monkeypatch):
    """The careful reader is only the fallback: a clean file never reaches it, whether NumPy
    reads by path or line by line (so the agreement test above really compares the readers)."""
    text, _ = _data_text(40)
    path = _write(tmp_path, text.replace("\n\n", "\n"))

    def careful(*args, **kwargs):
        raise AssertionError("the careful reader was used")

    expected = parse_csv(path.read_text().splitlines(), "data.csv", "y")
    monkeypatch.setattr(csv_reader, "_parse_careful", careful)
    X, y, names = read_csv(path, "y")
    np.testing.assert_array_equal(X, expected[0])
    assert y.tolist() == expected[1].tolist() and y.dtype == np.int64 and names == ["a", "b", "c"]
    X, names = read_features(path, columns=["c", "a"])
    np.testing.assert_array_equal(X, expected[0][:, [2, 0]])
    X, names = read_features(path, columns=["c", "a"], progress=lambda done, size: None)
    np.testing.assert_array_equal(X, expected[0][:, [2, 0]])
    with pytest.raises(AssertionError, match="careful reader was used"):
        read_csv(_write(tmp_path, "a,y\n1_0,1\n", "odd.csv"), "y")  # NumPy refuses 1_0


@pytest.mark.parametrize("chunk", [1, 7, 64, 10**6])
def test_columns_are_moved_into_place_across_row_blocks(tmp_path, monkeypatch, chunk):
    """The fast reader's in-buffer column selection, block by block (blocks of `chunk` rows): the
    same values as NumPy's own indexing, C-contiguous, for any order of the kept columns."""
    rng = np.random.default_rng(5)
    table = rng.standard_normal((100, 6))
    header = ["u", "label", "v", "w", "note", "z"]
    lines = [",".join(header)] + [
        ",".join([repr(r[0]), f"c{int(r[1] > 0)}", repr(r[2]), repr(r[3]), "text", repr(r[5])])
        for r in table.tolist()]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    monkeypatch.setattr(csv_reader, "_ROWS_PER_CHUNK", chunk)
    monkeypatch.setattr(csv_reader, "_parse_careful", None)  # the fast reader must do it all
    X, y, names = read_csv(path, "label", features=["z", "u", "w", "v"])
    assert names == ["z", "u", "w", "v"] and X.flags.c_contiguous and X.shape == (100, 4)
    np.testing.assert_array_equal(X, table[:, [5, 0, 3, 2]])
    assert y.tolist() == [f"c{int(v > 0)}" for v in table[:, 1]]
    X, names = read_features(path, columns=["w"])
    np.testing.assert_array_equal(X, table[:, [3]])


def test_progress_is_reported_up_to_the_file_size(tmp_path):
    text, _ = _data_text(40_000, blank_every=10**9)
    path = _write(tmp_path, text)
    calls = []
    read_csv(path, "y", progress=lambda done, total: calls.append((done, total)))
    size = path.stat().st_size
    assert len(calls) >= 3 and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


# ---------------------------------------------------------------- make_classification


def test_make_classification_shapes_and_determinism():
    X, y = make_classification(random_state=0)
    assert X.shape == (100, 20) and X.dtype == np.float64
    assert y.shape == (100,) and y.dtype == np.int64 and set(y.tolist()) <= {0, 1}
    X2, y2 = make_classification(random_state=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, make_classification(random_state=1)[0])


def test_make_classification_weights_set_class_sizes():
    _, y = make_classification(
        n_samples=1000, n_classes=3, n_informative=3, weights=[0.2, 0.5], flip_y=0.0, random_state=3
    )
    assert np.bincount(y).tolist() == [200, 500, 300]
    _, y = make_classification(
        n_samples=10,
        n_classes=3,
        n_informative=3,
        n_clusters_per_class=1,
        flip_y=0.0,
        random_state=3,
    )
    assert sorted(np.bincount(y).tolist()) == [3, 3, 4]


def test_make_classification_structure_without_shuffle():
    X, y = make_classification(
        n_samples=200,
        n_features=7,
        n_informative=3,
        n_redundant=2,
        flip_y=0.0,
        shuffle=False,
        random_state=5,
    )
    assert np.all(np.diff(y) >= 0)
    assert np.linalg.matrix_rank(X[:, :5]) == 3
    coef, *_ = np.linalg.lstsq(X[:, :3], X[:, 3:5], rcond=None)
    np.testing.assert_allclose(X[:, :3] @ coef, X[:, 3:5], atol=1e-10)
    assert np.linalg.matrix_rank(X) == 5


def test_make_classification_class_sep_separates_clusters():
    X, y = make_classification(
        n_samples=300,
        n_features=2,
        n_informative=2,
        n_redundant=0,
        n_clusters_per_class=1,
        class_sep=20.0,
        flip_y=0.0,
        random_state=0,
    )
    centroids = np.array([X[y == k].mean(axis=0) for k in (0, 1)])
    nearest = np.argmin(((X[:, None, :] - centroids) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == y) > 0.97


def test_make_classification_many_informative_features():
    X, y = make_classification(
        n_samples=50, n_features=80, n_informative=70, n_redundant=5, n_classes=4, random_state=0
    )
    assert X.shape == (50, 80) and set(y.tolist()) <= {0, 1, 2, 3}


@given(
    n_samples=st.integers(1, 60),
    n_informative=st.integers(1, 4),
    n_redundant=st.integers(0, 3),
    n_noise=st.integers(0, 3),
    n_classes=st.integers(1, 4),
    n_clusters=st.integers(1, 3),
    flip_y=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_make_classification_properties(
    n_samples, n_informative, n_redundant, n_noise, n_classes, n_clusters, flip_y, seed
):
    kwargs = dict(
        n_samples=n_samples,
        n_features=n_informative + n_redundant + n_noise,
        n_informative=n_informative,
        n_redundant=n_redundant,
        n_classes=n_classes,
        n_clusters_per_class=n_clusters,
        flip_y=flip_y,
        random_state=seed,
    )
    if n_classes * n_clusters > 2**n_informative:
        with pytest.raises(ValueError, match=r"must be <= 2\*\*n_informative"):
            make_classification(**kwargs)
        return
    X, y = make_classification(**kwargs)
    assert X.shape == (n_samples, kwargs["n_features"]) and np.all(np.isfinite(X))
    assert y.min() >= 0 and y.max() < n_classes
    X2, y2 = make_classification(**kwargs)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            dict(n_features=3, n_informative=2, n_redundant=2),
            r"n_informative \(2\) \+ n_redundant \(2\) must be <= n_features \(3\)",
        ),
        (
            dict(n_classes=3, n_informative=2),
            r"\(3\) \* n_clusters_per_class \(2\) = 6 must be <= 2\*\*n_informative = 4",
        ),
        (
            dict(weights=[0.2, 0.3, 0.5]),
            r"weights must have n_classes \(2\) or n_classes - 1 entries",
        ),
        (dict(weights=[-0.5, 1.5]), r"finite and non-negative"),
        (dict(n_classes=3, n_informative=3, weights=[0.7, 0.6]), r"sum must be <= 1"),
        (dict(flip_y=1.5), r"flip_y must be a finite number in \[0.0, 1.0\], got 1.5"),
        (dict(class_sep=0.0), r"class_sep must be a finite number in \(0.0"),
        (dict(n_samples=0), r"n_samples must be >= 1, got 0"),
        (dict(n_samples=10.0), r"n_samples must be an int, got 10.0"),
        (dict(n_informative=True), r"n_informative must be an int"),
        (dict(random_state="seed"), r"random_state must be None"),
        (dict(random_state=-1), r"non-negative int, got -1"),
    ],
)
def test_make_classification_validation(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_classification(**kwargs)


# ---------------------------------------------------------------- make_regression


def test_make_regression_linear_model():
    X, y, coef = make_regression(
        n_samples=50, n_features=8, n_informative=3, bias=2.5, coef=True, random_state=0
    )
    assert X.shape == (50, 8) and y.shape == (50,) and coef.shape == (8,)
    assert np.count_nonzero(coef) == 3 and np.all((coef >= 0) & (coef < 100))
    np.testing.assert_allclose(X @ coef + 2.5, y, rtol=1e-12, atol=1e-10)
    X2, y2 = make_regression(n_samples=50, n_features=8, n_informative=3, bias=2.5, random_state=0)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_make_regression_unshuffled_informative_first_and_multi_target():
    X, y, coef = make_regression(
        n_samples=20,
        n_features=5,
        n_informative=2,
        n_targets=3,
        shuffle=False,
        coef=True,
        random_state=1,
    )
    assert y.shape == (20, 3) and coef.shape == (5, 3)
    assert np.all(coef[:2] > 0) and np.all(coef[2:] == 0)
    np.testing.assert_allclose(X @ coef, y, atol=1e-10)


def test_make_regression_noise_level():
    X, y, coef = make_regression(
        n_samples=4000, n_features=3, n_informative=3, noise=2.0, coef=True, random_state=2
    )
    assert abs(np.std(y - X @ coef) - 2.0) < 0.1


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(n_features=3, n_informative=4), r"n_informative \(4\) must be <= n_features \(3\)"),
        (dict(noise=-1.0), r"noise must be a finite number in \[0.0, inf\], got -1.0"),
        (dict(n_targets=0), r"n_targets must be >= 1"),
        (dict(bias=float("nan")), r"bias must be a finite number"),
    ],
)
def test_make_regression_validation(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        make_regression(**kwargs)


# ---------------------------------------------------------------- train_test_split

_SIZES = st.one_of(
    st.none(), st.integers(-2, 70), st.floats(-0.5, 1.5), st.sampled_from([0.07, 0.33, 0.5, 1.0])
)


@given(n=st.integers(1, 60), test_size=_SIZES, train_size=_SIZES)
def test_split_sizes_match_sklearn(sklearn_model_selection, n, test_size, train_size):
    X = np.arange(n)
    try:
        expected = [
            len(part)
            for part in sklearn_model_selection.train_test_split(
                X, test_size=test_size, train_size=train_size
            )
        ]
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(X, test_size=test_size, train_size=train_size)
        return
    train, test = train_test_split(X, test_size=test_size, train_size=train_size, random_state=0)
    assert [len(train), len(test)] == expected
    assert len(set(train.tolist()) | set(test.tolist())) == len(train) + len(test)


@pytest.mark.parametrize(
    ("n", "test_size", "train_size", "expected"),
    [
        (10, None, None, (7, 3)),
        (10, 0.33, None, (6, 4)),
        (10, None, 0.55, (5, 5)),
        (100, 0.07, None, (92, 8)),
        (10, 2, 5, (5, 2)),
        (10, 0.2, 0.3, (3, 2)),
        (4, 0.25, None, (3, 1)),
    ],
)
def test_split_sizes_by_hand(n, test_size, train_size, expected):
    assert _split_sizes(n, test_size, train_size) == expected


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (dict(test_size=10), r"test_size=10 as an int must be in \[1, 9\]"),
        (dict(test_size=1.0), r"test_size=1.0 as a float must be in the open interval \(0, 1\)"),
        (dict(test_size=0.6, train_size=0.5), r"must not exceed 1"),
        (dict(test_size=6, train_size=5), r"give 5 train \+ 6 test samples, more than the 10"),
        (dict(train_size=0.05), r"the train set would be empty"),
        (dict(test_size="a"), r"test_size must be an int, a float or None, got 'a'"),
        (dict(shuffle=False, stratify=[0, 1] * 5), r"stratify requires shuffle=True"),
    ],
)
def test_split_size_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        train_test_split(np.arange(10), **kwargs)


def test_split_aligns_arrays_keeps_lists_and_inputs():
    X = np.arange(20).reshape(10, 2)
    y = list("abcdefghij")
    X_before = X.copy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=3, random_state=4)
    assert isinstance(y_train, list) and isinstance(X_train, np.ndarray)
    assert [y[row // 2] for row in X_train[:, 0]] == y_train
    assert [y[row // 2] for row in X_test[:, 0]] == y_test
    assert sorted(X_train[:, 0].tolist() + X_test[:, 0].tolist()) == X[:, 0].tolist()
    assert np.array_equal(X, X_before)


def test_split_is_deterministic_and_unshuffled_is_contiguous():
    X = np.arange(30)
    first = train_test_split(X, random_state=11)
    second = train_test_split(X, random_state=np.random.default_rng(11))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    train, test = train_test_split(X, shuffle=False, test_size=0.2)
    assert train.tolist() == list(range(24)) and test.tolist() == list(range(24, 30))


def test_split_inconsistent_lengths_and_no_arrays():
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[3, 4\]"):
        train_test_split(np.zeros(3), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()


@given(
    counts=st.lists(st.integers(2, 30), min_size=1, max_size=5),
    test_frac=st.floats(0.05, 0.95),
    train_frac=st.one_of(st.none(), st.floats(0.05, 0.95)),
    seed=st.integers(0, 1000),
)
def test_stratified_split_keeps_class_ratios(counts, test_frac, train_frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    rng = np.random.default_rng(seed)
    y = y[rng.permutation(y.size)]
    if train_frac is not None and train_frac + test_frac > 1:
        train_frac = 1 - test_frac
    try:
        n_train, n_test = _split_sizes(y.size, test_frac, train_frac)
    except ValueError:
        return
    if min(n_train, n_test) < len(counts):
        with pytest.raises(ValueError, match="smaller than the number of classes"):
            train_test_split(y, test_size=test_frac, train_size=train_frac, stratify=y)
        return
    y_train, y_test = train_test_split(
        y, test_size=test_frac, train_size=train_frac, stratify=y, random_state=seed
    )
    assert (y_train.size, y_test.size) == (n_train, n_test)
    for part in (y_train, y_test):
        proportional = np.array(counts) * part.size / y.size
        assert np.all(np.abs(np.bincount(part, minlength=len(counts)) - proportional) <= 1)


def test_stratified_split_by_hand_and_deterministic():
    y = np.array([0] * 8 + [1] * 4)
    X = np.arange(12)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    assert np.bincount(y_test).tolist() == [2, 1] and np.bincount(y_train).tolist() == [6, 3]
    assert np.array_equal(y[X_train], y_train) and np.array_equal(y[X_test], y_test)
    again = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    assert np.array_equal(again[0], X_train) and np.array_equal(again[1], X_test)


@pytest.mark.parametrize(
    ("y", "kwargs", "pattern"),
    [
        ([0, 0, 0, 1] * 2 + [2], {}, r"class 2 has only 1 member"),
        (
            ["a", "b", "c"] * 3,
            dict(test_size=2),
            r"test set size 2 is smaller than the number of classes 3",
        ),
        ([0, 1] * 3, dict(stratify=[0, 1]), r"stratify has 2 labels but the arrays have 6 samples"),
    ],
)
def test_stratified_split_errors(y, kwargs, pattern):
    kwargs.setdefault("stratify", y)
    with pytest.raises(ValueError, match=pattern):
        train_test_split(np.asarray(y), **kwargs)


@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=6), data=st.data())
def test_stratified_allocation_rounds_every_cell(counts, data):
    counts = np.array(counts)
    n = int(counts.sum())
    n_train = data.draw(st.integers(0, n))
    n_test = data.draw(st.integers(0, n - n_train))
    sizes = np.array([n_train, n_test, n - n_train - n_test])
    table = _stratified_allocation(
        counts, sizes, np.random.default_rng(data.draw(st.integers(0, 99)))
    )
    exact = np.outer(counts, sizes) / n
    assert np.array_equal(table.sum(axis=1), counts) and np.array_equal(table.sum(axis=0), sizes)
    assert np.all((table == np.floor(exact)) | (table == np.ceil(exact)))


def test_stratified_allocation_is_unbiased():
    rng = np.random.default_rng(0)
    counts, sizes = np.array([5, 3, 7]), np.array([6, 4, 5])
    mean = np.mean([_stratified_allocation(counts, sizes, rng) for _ in range(3000)], axis=0)
    np.testing.assert_allclose(mean, np.outer(counts, sizes) / 15, atol=0.05)


# ---------------------------------------------------------------- StandardScaler


def test_standard_scaler_by_hand():
    X = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    scaler = StandardScaler().fit(X)
    np.testing.assert_array_equal(scaler.mean_, [3.0, 2.0])
    np.testing.assert_allclose(scaler.var_, [8 / 3, 0.0], rtol=1e-15)
    np.testing.assert_allclose(scaler.scale_, [np.sqrt(8 / 3), 1.0], rtol=1e-15)
    assert scaler.n_features_in_ == 2 and scaler.n_samples_seen_ == 3
    expected = np.array([[-np.sqrt(1.5), 0.0], [0.0, 0.0], [np.sqrt(1.5), 0.0]])
    np.testing.assert_allclose(scaler.transform(X), expected, rtol=1e-15)
    np.testing.assert_allclose(scaler.inverse_transform(expected), X, rtol=1e-15)


def test_standard_scaler_constant_feature_with_rounding_gets_scale_one():
    X = np.full((3, 1), 0.1)
    scaler = StandardScaler().fit(X)
    assert scaler.var_[0] < 1e-30 and scaler.scale_[0] == 1.0


def test_standard_scaler_options_and_params():
    X = np.array([[1.0, 4.0], [3.0, 8.0]])
    assert StandardScaler(with_std=False).fit(X).scale_ is None
    none = StandardScaler(with_mean=False, with_std=False).fit(X)
    assert none.mean_ is None and none.var_ is None
    result = none.transform(X)
    assert np.array_equal(result, X) and result is not X
    np.testing.assert_allclose(StandardScaler(with_mean=False).fit_transform(X), [[1, 2], [3, 4]])
    scaler = StandardScaler()
    assert scaler.get_params() == {"with_mean": True, "with_std": True}
    assert scaler.set_params(with_mean=False) is scaler and scaler.with_mean is False
    with pytest.raises(
        ValueError, match=r"invalid parameters \['copy'\].*\['with_mean', 'with_std'\]"
    ):
        scaler.set_params(copy=True)


def test_standard_scaler_does_not_modify_input():
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    before = X.copy()
    scaler = StandardScaler()
    scaler.fit_transform(X)
    scaler.inverse_transform(X)
    assert np.array_equal(X, before)


def test_standard_scaler_errors():
    with pytest.raises(
        NotFittedError, match="not fitted yet. Call 'fit' with appropriate arguments before "
                              "using 'transform'"
    ) as info:
        StandardScaler().transform(np.ones((2, 2)))
    assert isinstance(info.value, ValueError) and isinstance(info.value, AttributeError)
    scaler = StandardScaler().fit(np.ones((2, 3)))
    with pytest.raises(ValueError, match="X has 2 features, but StandardScaler is expecting 3 "
                                         "features as input"):
        scaler.transform(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"NaN or infinity \(nan at row 1, column 0\)"):
        StandardScaler().fit([[1.0], [np.nan]])
    with pytest.raises(ValueError, match="infinity"):
        scaler.transform([[1.0, np.inf, 0.0]])
    with pytest.raises(ValueError, match=r"expected a 2-D array .* got shape \(3,\)"):
        StandardScaler().fit([1.0, 2.0, 3.0])
    with pytest.raises(
        ValueError, match=r"at least one sample and one feature, got shape \(0, 2\)"
    ):
        StandardScaler().fit(np.zeros((0, 2)))


def test_standard_scaler_errors_are_sklearns_when_it_is_loaded():
    """With scikit-learn imported, the unfitted scaler raises a subclass of its NotFittedError
    (what sklearn.utils.validation.check_is_fitted users and its estimator checks catch)."""
    exceptions = pytest.importorskip("sklearn.exceptions", reason="scikit-learn's class is the "
                                     "one to be compatible with")
    with pytest.raises(exceptions.NotFittedError):
        StandardScaler().inverse_transform(np.ones((2, 2)))


_COLUMN = st.one_of(
    st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=1, max_size=12),
    st.sampled_from([0.1, -7.7, 1e5 + 0.3]).map(lambda v: [v] * 5),
)


@given(
    columns=st.lists(_COLUMN, min_size=1, max_size=4),
    with_mean=st.booleans(),
    with_std=st.booleans(),
)
def test_standard_scaler_matches_sklearn(sklearn_preprocessing, columns, with_mean, with_std):
    n = min(len(column) for column in columns)
    X = np.array([column[:n] for column in columns]).T
    ours = StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    theirs = sklearn_preprocessing.StandardScaler(with_mean=with_mean, with_std=with_std).fit(X)
    for name in ("mean_", "var_", "scale_"):
        expected = getattr(theirs, name)
        if expected is None:
            assert getattr(ours, name) is None
        else:
            np.testing.assert_allclose(getattr(ours, name), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-12, atol=1e-12)
    Z = theirs.transform(X)
    np.testing.assert_allclose(
        ours.inverse_transform(Z), theirs.inverse_transform(Z), rtol=1e-12, atol=1e-9
    )


# ---------------------------------------------------------------- minibatches


def test_iterate_minibatches_in_order_are_views():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    batches = list(iterate_minibatches(X, y, batch_size=3, shuffle=False))
    assert [len(bx) for bx, _ in batches] == [3, 3, 3, 1]
    assert all(np.shares_memory(bx, X) and np.shares_memory(by, y) for bx, by in batches)
    assert np.array_equal(np.concatenate([by for _, by in batches]), y)
    dropped = list(iterate_minibatches(X, batch_size=3, shuffle=False, drop_last=True))
    assert [len(b[0]) for b in dropped] == [3, 3, 3] and isinstance(dropped[0], tuple)


def test_iterate_minibatches_shuffled_aligned_and_deterministic():
    X = np.arange(10) * 10
    y = np.arange(10)
    batches = list(iterate_minibatches(X, y, batch_size=4, random_state=3))
    assert all(np.array_equal(bx, by * 10) for bx, by in batches)
    order = np.concatenate([by for _, by in batches])
    assert sorted(order.tolist()) == list(range(10)) and order.tolist() != list(range(10))
    again = np.concatenate(
        [by for _, by in iterate_minibatches(X, y, batch_size=4, random_state=3)]
    )
    assert np.array_equal(order, again)


def test_iterate_minibatches_validates_on_call():
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        iterate_minibatches(np.arange(3), batch_size=0)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[3, 2\]"):
        iterate_minibatches(np.arange(3), np.arange(2), batch_size=1)


def test_data_loader_reshuffles_each_epoch():
    X = np.arange(50)
    loader = DataLoader(X, batch_size=8, shuffle=True, random_state=0)
    assert len(loader) == 7
    epochs = [np.concatenate([b[0] for b in loader]) for _ in range(2)]
    assert all(sorted(e.tolist()) == list(range(50)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1])
    twin = DataLoader(X, batch_size=8, shuffle=True, random_state=0)
    assert np.array_equal(np.concatenate([b[0] for b in twin]), epochs[0])
    plain = DataLoader(X, batch_size=8)
    assert all(np.array_equal(np.concatenate([b[0] for b in plain]), X) for _ in range(2))


@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 45),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
)
def test_data_loader_length_matches_iteration(n, batch_size, drop_last, shuffle):
    loader = DataLoader(
        np.arange(n),
        np.arange(n) * 2,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        random_state=1,
    )
    batches = list(loader)
    sizes = [len(b[0]) for b in batches]
    assert len(batches) == len(loader)
    assert all(size == batch_size for size in (sizes if drop_last else sizes[:-1]))
    assert sum(sizes) == (n - n % batch_size if drop_last else n)
    assert all(np.array_equal(b[1], b[0] * 2) for b in batches)
