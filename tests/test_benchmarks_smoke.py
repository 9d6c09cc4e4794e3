"""Smoke tests of the benchmark suite: it runs end to end and reports every case (no timings)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every case, by the names the suite prints (the benchmarks package is not installed,
# so it is run as a module from the repo root rather than imported here).
CASES = ("train-step", "compile-step", "scalar-chain", "optimizer-step", "fit-breast-cancer",
         "fit-optimum", "peak-memory", "backward-chain", "csv-read", "dask-fit")


def _run_benchmarks(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", "--quick", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_quick_run_reports_every_case_and_writes_results(tmp_path):
    output = tmp_path / "RESULTS.md"
    proc = _run_benchmarks("--output", str(output))
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in CASES:
        assert f"== {name}:" in proc.stdout, f"case {name} missing from the output"
    assert "== summary: targets" in proc.stdout
    written = output.read_text()
    for field in ("| CPU |", "| cores |", "| RAM |", "| numpy |", "| torch threads |", "| date |"):
        assert field in written, f"{field} missing from the results file"
    for name in CASES:
        assert f"### {name}:" in written
    assert "## What we tried and what each change bought" in written  # benchmarks/SPEED_LOG.md
    assert "of the machine's CPU time during the run" in written  # other processes' share


def test_runs_without_torch_and_shows_na(tmp_path):
    proc = _run_benchmarks("--no-torch", "--cases", "scalar-chain", "optimizer-step",
                           "--output", str(tmp_path / "RESULTS.md"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "== scalar-chain:" in proc.stdout and "== optimizer-step:" in proc.stdout
    chain = proc.stdout.split("== scalar-chain:")[1].split("==")[0]
    total_row = next(line for line in chain.splitlines() if line.startswith("total"))
    assert "n/a" in total_row.split()
    assert "torch: not used (--no-torch)" in proc.stdout


def test_several_runs_add_each_targets_range(tmp_path):
    output = tmp_path / "RESULTS.md"
    proc = _run_benchmarks("--runs", "2", "--cases", "scalar-chain", "--output", str(output))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("#### run ") == 2 and "== runs: targets over 2 runs" in proc.stdout
    table = output.read_text().split("### runs: targets over 2 runs")[1].split("###")[0]
    row = next(line for line in table.splitlines() if line.startswith("| scalar-chain"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    if importlib.util.find_spec("torch") is None:  # the chain's ratio is against PyTorch
        assert cells[2:5] == ["n/a"] * 3
    else:
        low, mid, high = (float(cell) for cell in cells[2:5])
        assert low <= mid <= high and cells[6] in ("0/2", "1/2", "2/2")
    bad = _run_benchmarks("--runs", "0")
    assert bad.returncode == 2 and "must be at least 1, got 0" in bad.stderr
