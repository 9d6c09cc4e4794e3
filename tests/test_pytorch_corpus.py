"""PyTorch scripts run by import swap: every script in ``tests/pytorch_scripts`` is run as written
under PyTorch and again with only its import lines rewritten to tinygrad_lr (``import torch`` ->
``import tinygrad_lr as torch``, ``torch.nn`` -> ``tinygrad_lr.nn``, ...), each in its own
process, and the two outputs must agree: the same text once numbers are set aside (so tensors,
shapes and ``grad_fn`` names print as PyTorch prints them), and the numbers within the script's
tolerance.

A script states its tolerance in a header line ``# corpus: rtol=... atol=...`` (float64
scripts 1e-7 / 1e-9, float32 ones 1e-4 / 1e-5; scripts with random initialisation print only
converged quantities, with a tolerance measured over PyTorch seeds and noted beside it).
``# corpus: xfail=<missing feature>`` marks a script that needs an engine feature not yet built.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="PyTorch is the oracle of the script corpus: "
                                    "pip install torch==2.13.0")

SCRIPTS = Path(__file__).parent / "pytorch_scripts"
ROOT = Path(__file__).parent.parent
NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b")
HEADER = re.compile(r"^# corpus:(.*)$", re.MULTILINE)
IMPORT = re.compile(r"^(\s*)(import|from)\s+torch\b(\S*)(.*)$", re.MULTILINE)
TIMEOUT = 300


def swap_imports(source: str) -> str:
    """The script with every import of torch rewritten to tinygrad_lr, nothing else changed."""
    def rewrite(match: re.Match) -> str:
        indent, keyword, submodule, rest = match.groups()
        if keyword == "from":
            return f"{indent}from tinygrad_lr{submodule}{rest}"
        if " as " in rest:
            return f"{indent}import tinygrad_lr{submodule}{rest}"
        # `import torch` or `import torch.nn`: both bind the name torch.
        return f"{indent}import tinygrad_lr as torch{rest}"
    return IMPORT.sub(rewrite, source)


def options(source: str) -> dict[str, str]:
    """The ``key=value`` settings of the script's ``# corpus:`` header lines."""
    found: dict[str, str] = {}
    for line in HEADER.findall(source):
        for key, _, value in (item.partition("=") for item in line.split(";")[0].split()):
            found[key] = value
    xfail = re.search(r"^# corpus: xfail=(.*)$", source, re.MULTILINE)
    if xfail:
        found["xfail"] = xfail.group(1).strip()
    return found


def run(path: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=TIMEOUT, cwd=path.parent, env=env)
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr[-3000:]}"
    return result.stdout


def _form(match: re.Match) -> str:
    """A number's printed form without its value: '#' for integers, '#.4' for four decimals,
    '#.4e' in scientific notation (so 1.0000 and 1. differ, 0.5000 and 0.5001 do not); beyond
    six decimals '#.*', as Python prints a float's shortest round-trip digits, whose count
    varies with the value."""
    text = match.group(0)
    decimals = len(text.split(".")[1].split("e")[0].split("E")[0]) if "." in text else None
    if decimals is not None and decimals > 6:
        decimals = "*"
    exponent = "e" if "e" in text.lower() and text.lower() not in ("nan", "inf") else ""
    return "#" if decimals is None and not exponent else f"#.{decimals or 0}{exponent}"


DTYPE_NAME = re.compile(r"(?<![\w.=])torch\.(?=(float|int|bool|uint)\d*\b)")


def skeleton(text: str) -> str:
    """The output with each number replaced by its form and the library's name by torch's.
    A dtype printed alone reads ``float32`` here (NumPy's dtype) and ``torch.float32`` under
    PyTorch: that prefix is set aside (inside a tensor's repr, ``dtype=`` is compared)."""
    text = DTYPE_NAME.sub("", text.replace("tinygrad_lr", "torch"))
    return NUMBER.sub(_form, text)


def numbers(text: str) -> np.ndarray:
    return np.array([float(n) for n in NUMBER.findall(text)])


def compare(theirs: str, ours: str, rtol: float, atol: float) -> None:
    their_lines, our_lines = skeleton(theirs).splitlines(), skeleton(ours).splitlines()
    for i, (a, b) in enumerate(zip(their_lines, our_lines)):
        assert a == b, (f"line {i + 1} differs in its text:\n  torch:       "
                        f"{theirs.splitlines()[i]}\n  tinygrad_lr: {ours.splitlines()[i]}")
    assert len(their_lines) == len(our_lines), \
        f"torch printed {len(their_lines)} lines, tinygrad_lr {len(our_lines)}:\n{ours}"
    a, b = numbers(theirs), numbers(ours)
    bad = ~np.isclose(b, a, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        lines = [line for line in ours.splitlines() if NUMBER.search(line)]
        first = int(np.argmax(bad))
        raise AssertionError(f"{int(bad.sum())} of {a.size} numbers differ beyond rtol={rtol}, "
                             f"atol={atol}; first: torch {a[first]!r}, tinygrad_lr {b[first]!r}"
                             f"\n--- torch:\n{theirs}\n--- tinygrad_lr:\n{ours}\n({len(lines)})")


def test_swap_imports_rewrites_only_import_lines():
    source = ("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
              "from torch.utils.data import DataLoader, TensorDataset\nfrom torch import optim\n"
              "import torch.optim\n    import torch\nx = torch.zeros(2)  # import torch\n")
    assert swap_imports(source) == (
        "import tinygrad_lr as torch\nimport tinygrad_lr.nn as nn\n"
        "import tinygrad_lr.nn.functional as F\n"
        "from tinygrad_lr.utils.data import DataLoader, TensorDataset\n"
        "from tinygrad_lr import optim\nimport tinygrad_lr as torch\n"
        "    import tinygrad_lr as torch\nx = torch.zeros(2)  # import torch\n")


def test_compare_catches_a_changed_number_and_changed_text():
    compare("loss 0.5000\n", "loss 0.5000\n", 1e-7, 1e-9)
    with pytest.raises(AssertionError, match="numbers differ"):
        compare("loss 0.5000\n", "loss 0.5001\n", 1e-7, 1e-9)
    with pytest.raises(AssertionError, match="text"):
        compare("tensor([1.0000, 2.5000])\n", "tensor([1., 2.5])\n", 1e-7, 1e-9)


def test_the_corpus_holds_at_least_25_scripts():
    assert len(sorted(SCRIPTS.glob("*.py"))) >= 25


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.py")), ids=lambda p: p.stem)
def test_script_prints_the_same_under_torch_and_tinygrad_lr(script: Path, tmp_path: Path,
                                                             request: pytest.FixtureRequest):
    source = script.read_text()
    opts = options(source)
    if "xfail" in opts:
        request.applymarker(pytest.mark.xfail(reason=opts["xfail"], strict=True))
    swapped = tmp_path / script.name
    swapped.write_text(swap_imports(source))
    theirs = run(script)
    ours = run(swapped)
    compare(theirs, ours, float(opts.get("rtol", 1e-7)), float(opts.get("atol", 1e-9)))
