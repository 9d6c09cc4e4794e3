"""Every example runs from the repo root, as a user would run it, with small settings; plots go to
a temporary folder, with matplotlib's non-interactive backend."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None

# example -> (arguments for a quick run, lines its output must contain)
CASES = {
    "01_chain_rule.py": ([], ["dL/dw = product    = -0.0185842872",
                              "w.grad             = -0.0185842872",
                              "hand-computed chain rule == engine gradient"]),
    "02_logistic_from_scratch.py": (["--steps", "100"], ["gradient by hand :", "max difference",
                                                         "step   100", "test loss"]),
    "03_pytorch_style.py": (["--epochs", "15"], ["tinygrad_lr: loss"]),
    "04_vectorization.py": (["--n", "20000"], ["np.dot", "all agree"]),
    "05_learning_rates_and_optimizers.py": ([], ["lr = 1.05  too large", "StepLR", "RMSprop",
                                                "Adam", "no clipping                  diverged",
                                                "clip_grad_norm_(max_norm=5)  final loss"]),
    "06_computation_graph.py": ([], ["DOT text written to"]),
    "07_breast_cancer.py": (["--quick"], ["lbfgs", "newton", "sgd", "adam", "rmsprop"]),
    "08_gradient_check.py": ([], ["gradcheck(Softsign):     True",
                                  "gradgradcheck(Softsign): True",
                                  "caught the wrong derivative",
                                  "Jacobian mismatch for output 0 with respect to input 0"]),
}


def _run(script: str, args: list[str], cwd: Path, env_extra: dict[str, str] | None = None,
         prelude: str = "") -> subprocess.CompletedProcess:
    """Run examples/<script> as `python examples/<script> ARGS`, or through `prelude` first."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg", **(env_extra or {}))
    path = str(EXAMPLES / script)
    if prelude:
        code = (f"{prelude}\nimport runpy, sys\nsys.argv = {[path, *args]!r}\n"
                f"runpy.run_path({path!r}, run_name='__main__')")
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, path, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
                          check=False)


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


def _check_pytorch_agrees(stdout: str, out_dir: Path) -> None:
    """With PyTorch installed, the same loop ran under it from the same weights."""
    if importlib.util.find_spec("torch") is None:
        assert "PyTorch is not installed" in stdout
        return
    ours = float(stdout.split("tinygrad_lr: loss ")[1].split()[2])
    theirs = float(stdout.split("PyTorch:     loss ")[1].split()[2])
    assert abs(ours - theirs) <= 1e-4 * abs(theirs) + 1e-5


def _check_scikit_learn_agrees(stdout: str, out_dir: Path) -> None:
    """With scikit-learn installed, our newton solution is scikit-learn's minimiser."""
    if importlib.util.find_spec("sklearn") is None:
        assert "scikit-learn is not installed" in stdout
        return
    assert float(stdout.split("   scikit-learn (lbfgs)")[1].split()[0]) < 1e-4


def _check_plot(stdout: str, out_dir: Path) -> None:
    png = out_dir / "05_learning_rates_and_optimizers.png"
    if HAVE_MATPLOTLIB:
        assert png.read_bytes().startswith(b"\x89PNG")
    else:
        assert "matplotlib is not installed" in stdout and not png.exists()


def _check_graph_files(stdout: str, out_dir: Path) -> None:
    assert (out_dir / "06_computation_graph.dot").read_text().startswith("digraph {")
    if "graph drawn to" in stdout:
        assert (out_dir / "06_computation_graph.png").read_bytes().startswith(b"\x89PNG")


EXTRA_CHECKS = {"03_pytorch_style.py": _check_pytorch_agrees,
                "05_learning_rates_and_optimizers.py": _check_plot,
                "06_computation_graph.py": _check_graph_files,
                "07_breast_cancer.py": _check_scikit_learn_agrees}


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script: str, tmp_path: Path) -> None:
    args, expected = CASES[script]
    if script in ("05_learning_rates_and_optimizers.py", "06_computation_graph.py"):
        args = [*args, "--out", str(tmp_path)]
    result = _run(script, args, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for line in expected:
        assert line in result.stdout, (line, result.stdout)
    if script in EXTRA_CHECKS:
        EXTRA_CHECKS[script](result.stdout, tmp_path)


def test_optimizers_without_matplotlib_print_numbers_and_skip_the_plot(tmp_path: Path) -> None:
    result = _run("05_learning_rates_and_optimizers.py", ["--out", str(tmp_path)], cwd=REPO,
                  prelude="import sys; sys.modules['matplotlib'] = None")
    assert result.returncode == 0, result.stderr
    assert "matplotlib is not installed: no plot" in result.stdout
    assert "final loss" in result.stdout and not list(tmp_path.iterdir())


def test_graph_without_graphviz_prints_the_dot_text(tmp_path: Path) -> None:
    result = _run("06_computation_graph.py", ["--out", str(tmp_path)], cwd=REPO,
                  env_extra={"PATH": str(tmp_path / "empty")})  # no `dot` on this PATH
    assert result.returncode == 0, result.stderr
    assert "Graphviz's `dot` is not installed" in result.stdout
    dot_text = (tmp_path / "06_computation_graph.dot").read_text()
    assert dot_text in result.stdout
    for label in ('label="w\\n(2, 1)\\ngrad [[-0.3118], [ 0.2677]]"',
                  'label="z = Xw + b\\nAddBackward\\n(4, 1)\\ngrad', 'label="X\\n(4, 2)"',
                  'label="loss\\nBinaryCrossEntropyBackward\\n()"'):
        assert label in dot_text
