"""Fitting L2-regularised logistic regression (C = 1).

Case fit-breast-cancer: our ``lbfgs`` and ``newton`` solvers race scikit-learn's lbfgs (default
tol) and ``torch.optim.LBFGS(line_search_fn="strong_wolfe")`` on standardized breast-cancer data;
each fit is then scored against the optimum found by scikit-learn with tol=1e-12.

Case fit-optimum (issue 15): time to scikit-learn's optimum at tol=1e-6 on breast cancer, digits
(10 classes) and two synthetic sets, one BLAS thread each, ours against scikit-learn's fastest of
lbfgs / newton-cg / newton-cholesky, and our peak memory on the large sets.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .cases import optional
from .harness import (Check, Settings, Table, best_ratio, fmt_noise, fmt_ratio, fmt_time,
                      interleave, one_thread, ratio)

C = 1.0
# A fit counts as reaching the optimum when its relative objective gap is of the order of
# scikit-learn lbfgs's own (default tol): at most this many times it, and never held below 1e-8.
GAP_FACTOR = 10.0
GAP_FLOOR = 1e-8


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """The training part of a stratified 80/20 split (seed 42), standardized on itself."""
    from tinygrad_lr.data import StandardScaler, load_breast_cancer, train_test_split
    X, y = load_breast_cancer(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=42, stratify=y)
    return StandardScaler().fit(X_train).transform(X_train), np.asarray(y_train)


def objective(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    """scikit-learn's primal: C * sum of log-losses + ||w||^2 / 2 (intercept not penalised)."""
    z = X @ w + b
    return float(C * np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * w @ w)


def sklearn_fit(X: np.ndarray, y: np.ndarray, **params: Any) -> tuple[np.ndarray, float]:
    """Coefficients and intercept from scikit-learn's LogisticRegression."""
    from sklearn.linear_model import LogisticRegression
    model = LogisticRegression(C=C, **params).fit(X, y)
    return model.coef_.ravel(), float(model.intercept_[0])


def ours_fit(solver: str) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]] | None:
    """A fit with our LogisticRegression and ``solver`` (default tol); None while it is missing."""
    model_cls = optional("tinygrad_lr.linear_model", "LogisticRegression")
    if model_cls is None:
        return None

    def fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        model = model_cls(C=C, solver=solver).fit(X, y)
        return np.asarray(model.coef_).ravel(), float(np.ravel(model.intercept_)[0])
    return fit


def torch_fit(torch: Any) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]]:
    """torch.optim.LBFGS with the strong-Wolfe line search on the same objective, scaled by 1/m as
    scikit-learn's lbfgs scales it (the optimum is the same); float64, started from zero."""
    def fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
        m, n = X.shape
        features, labels = torch.from_numpy(X), torch.from_numpy(y.astype(np.float64))
        w = torch.zeros(n, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], lr=1, max_iter=100, line_search_fn="strong_wolfe")
        bce = torch.nn.functional.binary_cross_entropy_with_logits

        def closure() -> Any:
            opt.zero_grad()
            loss = bce(features @ w + b, labels) + (w * w).sum() / (2 * C * m)
            loss.backward()
            return loss
        opt.step(closure)
        return w.detach().numpy().copy(), float(b.item())
    return fit


def _timed_call(fit: Callable[[np.ndarray, np.ndarray], Any], X: np.ndarray, y: np.ndarray
                ) -> Callable[[], None]:
    """A no-argument side for the harness that runs one fit."""
    def run() -> None:
        fit(X, y)
    return run


def fit_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Case 4: time to fit, objective gap and coefficient error for each solver."""
    X, y = breast_cancer()
    w_star, b_star = sklearn_fit(X, y, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    f_star = objective(X, y, w_star, b_star)
    fits: dict[str, Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, float]] | None] = {
        "ours lbfgs": ours_fit("lbfgs"),
        "ours newton": ours_fit("newton"),
        "sklearn lbfgs": lambda X, y: sklearn_fit(X, y, solver="lbfgs"),
        "torch LBFGS": torch_fit(torch) if torch is not None else None,
    }
    available = {name: fit for name, fit in fits.items() if fit is not None}
    stats = interleave({name: _timed_call(fit, X, y) for name, fit in available.items()}, settings)
    reference = stats["sklearn lbfgs"].median()
    table = Table("fit-breast-cancer",
                  f"fit to scikit-learn's optimum, breast cancer train split {X.shape[0]} x "
                  f"{X.shape[1]}, C = {C:g}",
                  ["solver", "time", "time / sklearn lbfgs", "rel. objective gap",
                   "max |coef diff|", "target", "status", "noise"])
    errors = {}
    for name, fit in available.items():
        w, b = fit(X, y)
        errors[name] = ((objective(X, y, w, b) - f_star) / abs(f_star),
                        float(max(np.max(np.abs(w - w_star)), abs(b - b_star))))
    gap_limit = max(GAP_FACTOR * errors["sklearn lbfgs"][0], GAP_FLOOR)
    checks = []
    for name in fits:
        if name not in available:
            table.rows.append([name, "n/a", "n/a", "n/a", "n/a", "", "", ""])
            continue
        gap, coef_diff = errors[name]
        seconds = stats[name].median()
        rule, status = "", ""
        if name.startswith("ours"):
            # Faster than scikit-learn counts only for a fit about as close to the optimum.
            converged = gap <= gap_limit
            check = Check("fit-breast-cancer", name,
                          ratio(seconds, reference) if converged else float("inf"), 1.0,
                          f"time < sklearn lbfgs, gap <= {gap_limit:.1e}",
                          best_ratio(stats, name, "sklearn lbfgs") if converged else None)
            checks.append(check)
            rule, status = check.rule, check.status
        table.rows.append([name, fmt_time(seconds), fmt_ratio(ratio(seconds, reference)),
                           f"{gap:.1e}", f"{coef_diff:.1e}", rule, status,
                           fmt_noise(stats[name])])
    table.notes.append(f"Optimum: scikit-learn newton-cholesky, tol=1e-12 (objective {f_star:.10g} "
                       "= C*sum log-loss + ||w||^2/2). Every solver starts from its own default "
                       "and uses its default tolerance; torch LBFGS: lr=1, max_iter=100, "
                       "line_search_fn='strong_wolfe', the objective divided by m.")
    table.notes.append("max |coef diff| includes the intercept. Times include each library's own "
                       "input checks (a full fit() call).")
    if optional("tinygrad_lr.linear_model._solvers", "clear_evaluations") is not None:
        table.notes.append("ours: each fit after the first replays the objective captured by an "
                           "earlier fit of its kind (the solvers keep one capture per kind); the "
                           "fit-optimum case times fits that capture it again ('cold' rows) and a "
                           "new process's first fits.")
    if "ours lbfgs" not in available:
        table.notes.append("ours: n/a (tinygrad_lr.linear_model is not available yet)")
    return table, checks


# ---- time to scikit-learn's optimum (issue 15) --------------------------------------------------
OPTIMUM_TOL = 1e-6
OPTIMUM_DISTANCE = 1e-4  # relative to the largest coefficient of the optimum
SKLEARN_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky")
FEW = Settings(samples=3, min_sample_time=0.0, warmup=1, quick=False, settle=0.02)


def _standardized(X: np.ndarray) -> np.ndarray:
    scale = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def synthetic(n_samples: int, n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standard normal features and labels drawn from a logistic model whose logits have standard
    deviation 2 (classes overlap, as in real data: no separable directions)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features) * (2 / np.sqrt(n_features))
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y


def optimum_datasets(quick: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The issue's four data sets (whole, standardized), smaller synthetic ones with --quick."""
    from tinygrad_lr.data import load_breast_cancer, load_digits
    sets = []
    for name, loader in (("breast cancer", load_breast_cancer), ("digits", load_digits)):
        X, y = loader(return_X_y=True)
        sets.append((name, _standardized(X), np.asarray(y)))
    for n, p in ((10_000, 100), (5_000, 500)) if quick else ((100_000, 100), (50_000, 500)):
        X, y = synthetic(n, p)
        sets.append((f"synthetic {n:,}x{p}", X, y))
    return sets


def _coefficients(model: Any) -> np.ndarray:
    return np.column_stack([np.asarray(model.coef_), np.ravel(model.intercept_)])


def _peak_extra(fit: Callable[[], Any]) -> int:
    """Peak bytes allocated during one fit (tracemalloc sees NumPy's arrays)."""
    import tracemalloc
    tracemalloc.start()
    try:
        fit()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def optimum_case(settings: Settings, torch: Any) -> tuple[Table, list[Check]]:
    """Time to scikit-learn's optimum at tol=1e-6, one BLAS thread each, side by side."""
    import warnings

    model_cls = optional("tinygrad_lr.linear_model", "LogisticRegression")
    ours_lib = optional("tinygrad_lr")
    forget = optional("tinygrad_lr.linear_model._solvers", "clear_evaluations")
    cache_limit = getattr(optional("tinygrad_lr.kernels.tuning"), "FIT_CACHE_MAX_BYTES", 0)
    table = Table("fit-optimum", "fit to scikit-learn's optimum (tol=1e-6, C=1), one thread each",
                  ["data", "solver", "time", "time / sklearn fastest", "distance", "reached",
                   "status", "noise"])
    try:
        from sklearn.linear_model import LogisticRegression as SK
        from threadpoolctl import threadpool_limits
    except ImportError:
        table.notes.append("n/a: scikit-learn (and threadpoolctl) are needed as the reference")
        return table, []
    checks: list[Check] = []
    with threadpool_limits(limits=1), one_thread(ours_lib), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, X, y in optimum_datasets(settings.quick):
            optimum = _coefficients(SK(solver="newton-cholesky", tol=OPTIMUM_TOL,
                                       max_iter=1000).fit(X, y))
            sides: dict[str, Callable[[], Any]] = {
                f"sklearn {s}": (lambda s=s: SK(solver=s, tol=OPTIMUM_TOL, max_iter=1000
                                                ).fit(X, y)) for s in SKLEARN_SOLVERS}
            if model_cls is not None:
                for s in ("lbfgs", "newton"):
                    sides[f"ours {s}"] = (lambda s=s: model_cls(solver=s, tol=OPTIMUM_TOL,
                                                                max_iter=1000).fit(X, y))
            cold: dict[str, Callable[[], Any]] = {}
            if model_cls is not None and forget is not None and X.nbytes <= cache_limit:
                # Each fit above replays the objective captured by the fit before it (the
                # solvers keep one capture per kind of fit); these capture it again, as the
                # first fit of its kind does (a new shape, dtype or kind of penalty). Timed
                # apart: forgetting the captures between the fits above would make them cold too.
                for s in ("lbfgs", "newton"):
                    cold[f"ours {s}, cold"] = (
                        lambda s=s: (forget(), model_cls(solver=s, tol=OPTIMUM_TOL,
                                                         max_iter=1000).fit(X, y))[1])
            timing = settings if (settings.quick or X.size < 1_000_000) else FEW
            stats = interleave({k: (lambda f=f: (f(), None)[1]) for k, f in sides.items()},
                               timing)
            sklearn = [k for k in sides if k.startswith("sklearn")]
            fastest = min(sklearn, key=lambda k: stats[k].median())
            reference = stats[fastest].median()
            cold_reference = reference
            if cold:
                # With scikit-learn's fastest again, so that the cold rows' ratios are taken side
                # by side too (the machine's speed drifts between interleaves).
                cold_stats = interleave({k: (lambda f=f: (f(), None)[1])
                                         for k, f in {**cold, fastest: sides[fastest]}.items()},
                                        timing)
                cold_reference = cold_stats[fastest].median()
                stats.update({k: cold_stats[k] for k in cold})
                sides.update(cold)
            distance = {k: float(np.abs(_coefficients(f()) - optimum).max()
                                 / np.abs(optimum).max()) for k, f in sides.items()}
            for k in sides:
                seconds = stats[k].median()
                base = cold_reference if k in cold else reference
                reached = distance[k] <= OPTIMUM_DISTANCE
                status = ""
                if k.startswith("ours") and not k.endswith("cold"):
                    check = Check("fit-optimum", f"{name}: {k}",
                                  ratio(seconds, reference) if reached else float("inf"), 1.0,
                                  f"time <= {fastest}, within {OPTIMUM_DISTANCE:g}",
                                  best_ratio(stats, k, fastest) if reached else None)
                    checks.append(check)
                    status = check.status
                table.rows.append([name, k, fmt_time(seconds),
                                   fmt_ratio(ratio(seconds, base)), f"{distance[k]:.1e}",
                                   "yes" if reached else "no", status, fmt_noise(stats[k])])
            if model_cls is not None and X.size >= 1_000_000:
                for s in ("lbfgs", "newton"):
                    peak = _peak_extra(sides[f"ours {s}"])
                    limit = 0.25 * X.nbytes + 50 * 2**20
                    checks.append(Check("fit-optimum", f"{name}: ours {s} peak extra memory "
                                        "(MiB)", peak / 2**20, limit / 2**20,
                                        "<= 0.25 X + 50 MB (tracemalloc)"))
                    table.notes.append(f"{name}: ours {s} peak extra memory "
                                       f"{peak / 2**20:.1f} MiB (X is {X.nbytes / 2**20:.0f} MiB; "
                                       f"limit {limit / 2**20:.0f} MiB)")
    if forget is not None:
        table.notes.append("ours: every fit after the first of its kind in a process replays the "
                           "objective captured by an earlier fit (one capture per kind of fit, "
                           "as torch.compile's cache; data of at most "
                           f"{cache_limit / 2**20:g} MiB); the 'cold' rows capture it again at "
                           "each fit, as the first fit of a kind does (not targets; timed "
                           "apart, beside scikit-learn's fastest solver again, their ratio is to "
                           "that second timing). "
                           + _fresh_process_note())
    table.notes.append("The optimum: scikit-learn newton-cholesky at tol=1e-6 (its lbfgs and "
                       "newton-cg at tol=1e-6 may stop short: the 'distance' column, relative "
                       "to the optimum's largest coefficient). Ours count only when within "
                       f"{OPTIMUM_DISTANCE:g}; the reference is scikit-learn's fastest solver at "
                       "tol=1e-6, whatever its distance. One BLAS thread (threadpoolctl) and "
                       "tl.set_num_threads(1). Data: breast cancer and digits whole, "
                       "standardized; synthetic: see benchmarks/fit.py `synthetic`.")
    return table, checks


_FIRST_FIT = """
import sys, time, warnings
from functools import partial
import numpy as np
from threadpoolctl import threadpool_limits
import tinygrad_lr
from tinygrad_lr.data import load_breast_cancer
from benchmarks.fit import _standardized
if sys.argv[1].startswith("sklearn "):
    from sklearn.linear_model import LogisticRegression
    LogisticRegression = partial(LogisticRegression, solver=sys.argv[1].split()[1])
else:
    from tinygrad_lr.linear_model import LogisticRegression
    LogisticRegression = partial(LogisticRegression, solver=sys.argv[1])
X, y = load_breast_cancer(return_X_y=True)
X, y = _standardized(X), np.asarray(y)
tinygrad_lr.set_num_threads(1)
times = []
with threadpool_limits(limits=1), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _ in range(3):
        start = time.perf_counter()
        LogisticRegression(tol=1e-6, max_iter=1000).fit(X, y)
        times.append(time.perf_counter() - start)
print(" ".join(f"{t:.6f}" for t in times))
"""


def _fresh_process_note() -> str:
    """The first, second and third breast-cancer fits of a new Python process (imports and data
    loading not counted), ours lbfgs and newton and scikit-learn's newton-cholesky, one process
    each: what one script's single fit costs."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for solver in ("lbfgs", "newton", "sklearn newton-cholesky"):
        try:
            out = subprocess.run([sys.executable, "-c", _FIRST_FIT, solver], cwd=root,
                                 capture_output=True, text=True, timeout=120, check=True).stdout
            first, second, third = (float(t) for t in out.split())
        except (subprocess.SubprocessError, OSError, ValueError):
            continue
        found.append(f"{'' if solver.startswith('sklearn') else 'ours '}{solver} "
                     f"{fmt_time(first)}, then {fmt_time(second)} and "
                     f"{fmt_time(third)}")
    if not found:
        return ""
    return ("Breast cancer, the first three fits in a new process (one sample each): "
            + "; ".join(found) + ".")
