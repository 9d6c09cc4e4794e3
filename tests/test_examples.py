"""Every example runs from the repo root, as a user would run it, with small settings; plots go to
a temporary folder, with matplotlib's non-interactive backend. Beyond running, the examples teach
habits, and the tests below hold them to it: a pinned PyTorch, timings as medians of repetitions,
output files out of the current folder, panels numbered in order, convergence warnings shown."""
from __future__ import annotations

import importlib.util
import os
import re
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
    "09_compile.py": (["--steps", "10"], ["parameters bit-identical: True", "capture of step(",
                                          "compiled / eager", "graph break: 1 warning"]),
}


# Every test runs 04 with one BLAS thread: on a busy machine a multithreaded np.dot waits for the
# other cores (milliseconds instead of microseconds), so a repetition calibrated while they were
# free could run for minutes. The example itself prints a hint when that happens.
SCRIPT_ENV = {"04_vectorization.py": {"OPENBLAS_NUM_THREADS": "1"}}


def _run(script: str, args: list[str], cwd: Path, env_extra: dict[str, str] | None = None,
         prelude: str = "", postlude: str = "") -> subprocess.CompletedProcess:
    """Run examples/<script> as `python examples/<script> ARGS`, or between `prelude` and
    `postlude` (Python run in the same process before and after the script)."""
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=python_path, MPLBACKEND="Agg",
               **SCRIPT_ENV.get(script, {}), **(env_extra or {}))
    path = str(EXAMPLES / script)
    if prelude or postlude:
        code = (f"{prelude}\nimport runpy, sys\nsys.argv = {[path, *args]!r}\n"
                f"runpy.run_path({path!r}, run_name='__main__')\n{postlude}")
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


MEDIAN_LINE = re.compile(r"^(?P<label>.+?)\s+z = \S+\s+median\s+(?P<median>[\d.]+) ms "
                         r"\(fastest (?P<fastest>[\d.]+), slowest (?P<slowest>[\d.]+) ms; "
                         r"(?P<runs>\d+) runs of (?P<calls>\d+) calls?\)$", re.MULTILINE)


def _check_medians(stdout: str, out_dir: Path) -> None:
    """Each method is timed in several repetitions and reported as a median within its spread."""
    rows = {m["label"]: m for m in MEDIAN_LINE.finditer(stdout)}
    assert list(rows) == ["Python for loop", "np.dot", "engine: (w * x).sum()", "engine: w @ x",
                          "engine: forward + backward"], stdout
    for row in rows.values():
        assert int(row["runs"]) >= 3 and int(row["calls"]) >= 1, row[0]
        assert float(row["fastest"]) <= float(row["median"]) <= float(row["slowest"]), row[0]


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
                "04_vectorization.py": _check_medians,
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
                  'label="z = Xw + b\\nAddBackward0\\n(4, 1)\\ngrad', 'label="X\\n(4, 2)"',
                  'label="loss\\nBinaryCrossEntropyBackward0\\n()"'):
        assert label in dot_text


def test_pytorch_is_only_ever_suggested_pinned() -> None:
    """PyTorch installed without a version pulls gigabytes of CUDA packages: every suggestion in
    the examples pins it, and 03 prints the pinned command when PyTorch is missing."""
    sources = {path.name: path.read_text(encoding="utf-8")
               for path in [*EXAMPLES.iterdir(), Path(__file__)] if path.is_file()}
    for name, text in sources.items():
        for match in re.finditer(r"pip\s+install\s+torch\S*", text):
            assert re.fullmatch(r"pip\s+install\s+torch==\S+", match[0]), (name, match[0])
    result = _run("03_pytorch_style.py", ["--epochs", "2"], cwd=REPO,
                  prelude="import sys; sys.modules['torch'] = None")
    assert result.returncode == 0, result.stderr
    assert "PyTorch is not installed" in result.stdout
    assert "(pip install torch==2.13.0)" in result.stdout


def _written_folder(stdout: str, prefix: str) -> Path:
    """The folder of the file named on the output line starting with `prefix`."""
    line = next(line for line in stdout.splitlines() if line.startswith(prefix))
    return Path(line[len(prefix):].strip()).parent


@pytest.mark.parametrize("given_folder", [True, False], ids=["--out", "default"])
def test_graph_files_go_to_the_given_or_a_temporary_folder_never_the_cwd(
        tmp_path: Path, given_folder: bool) -> None:
    cwd, out, temp = tmp_path / "cwd", tmp_path / "out", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    result = _run("06_computation_graph.py", ["--out", str(out)] if given_folder else [], cwd=cwd,
                  env_extra={"TMPDIR": str(temp)})       # where tempfile makes its folders
    assert result.returncode == 0, result.stderr
    assert not list(cwd.iterdir())
    folder = _written_folder(result.stdout, "DOT text written to ")
    assert (folder == out) if given_folder else (folder.parent == temp)
    assert (folder / "06_computation_graph.dot").read_text().startswith("digraph {")


def test_optimizer_plot_goes_to_a_temporary_folder_by_default(tmp_path: Path) -> None:
    cwd, temp = tmp_path / "cwd", tmp_path / "temp"
    cwd.mkdir()
    temp.mkdir()
    result = _run("05_learning_rates_and_optimizers.py", [], cwd=cwd,
                  env_extra={"TMPDIR": str(temp)})
    assert result.returncode == 0, result.stderr
    assert not list(cwd.iterdir())
    if HAVE_MATPLOTLIB:
        folder = _written_folder(result.stdout, "plot written to ")
        assert folder.parent == temp
        assert (folder / "05_learning_rates_and_optimizers.png").read_bytes().startswith(b"\x89PNG")


# After 05 has run: every panel's title, in reading order (rows top to bottom, left to right).
PRINT_PANEL_TITLES = """
import matplotlib.pyplot as plt
def reading_order(ax):
    return -round(ax.get_position().y0, 2), round(ax.get_position().x0, 2)
for ax in sorted(plt.gcf().axes, key=reading_order):
    print("panel title:", ax.get_title())
"""


def test_optimizer_panels_are_numbered_in_reading_order(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the panels are drawn only with matplotlib")
    result = _run("05_learning_rates_and_optimizers.py", ["--out", str(tmp_path)], cwd=REPO,
                  postlude=PRINT_PANEL_TITLES)
    assert result.returncode == 0, result.stderr
    titles = [line.removeprefix("panel title: ") for line in result.stdout.splitlines()
              if line.startswith("panel title: ")]
    numbers = [int(title.split(".")[0]) for title in titles]
    assert numbers == [1, 2, 3, 4, 5, 6], titles


TABLE_ROW = re.compile(r"^(?P<solver>\S.*?)\s+(?P<iters>\d+)\s+(?P<converged>yes|no)\s+[\d.]+",
                       re.MULTILINE)
SOLVER_NAMES = ["lbfgs", "newton", "sgd (batches of 32)", "adam (batches of 32)",
                "rmsprop (full batch)"]


def _convergence(stdout: str) -> tuple[dict[str, str], dict[str, str]]:
    """The table's converged column by solver, and the solvers listed as not converged with the
    message of their warning."""
    table = {row["solver"]: row["converged"] for row in TABLE_ROW.finditer(stdout)}
    listed = {}
    if "did not converge" in stdout:
        block = stdout.split("did not converge (the ConvergenceWarning of each fit):\n")[1]
        for line in block.split("\n\n")[0].splitlines():
            name = next(name for name in [*SOLVER_NAMES, "scikit-learn (lbfgs)"]
                        if line.startswith(f"   {name} "))
            listed[name] = line[3 + len(name):].strip()
    return table, listed


def test_breast_cancer_shows_which_solvers_did_not_converge() -> None:
    """A tiny --max-iter stops every solver early: the table says so for each, and each is listed
    with its ConvergenceWarning's message, instead of the warnings being silenced."""
    result = _run("07_breast_cancer.py", ["--max-iter", "2"], cwd=REPO)
    assert result.returncode == 0, result.stderr
    table, listed = _convergence(result.stdout)
    assert all(table[name] == "no" for name in SOLVER_NAMES), table
    assert list(listed)[:5] == SOLVER_NAMES
    for name in SOLVER_NAMES:
        assert "max_iter=2" in listed[name], listed[name]   # the warning's own text


def test_breast_cancer_lists_exactly_the_solvers_marked_not_converged() -> None:
    """In the quick run lbfgs and newton converge and the 20-epoch first-order solvers do not."""
    result = _run("07_breast_cancer.py", ["--quick"], cwd=REPO)
    assert result.returncode == 0, result.stderr
    table, listed = _convergence(result.stdout)
    assert table["lbfgs"] == table["newton"] == "yes", table
    assert list(listed) == [name for name, converged in table.items() if converged == "no"]
    assert "sgd (batches of 32)" in listed
