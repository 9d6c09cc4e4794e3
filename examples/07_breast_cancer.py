"""Real data end to end: breast-cancer diagnosis with every solver, beside scikit-learn.

    split (stratified 80/20) -> standardise with the training part's mean and std ->
    fit LogisticRegression(solver=...) -> accuracy, log loss, ROC AUC on the test part

All solvers minimise the same objective, mean log loss + ||w||^2 / (2 C n), so they should land
on (nearly) the same coefficients: lbfgs and newton use curvature and need few iterations;
sgd, adam and rmsprop follow the gradient alone and need many more (epochs, with minibatches).

A solver that reaches max_iter before its stopping rule holds warns ConvergenceWarning. Such a
warning is information, not noise: each fit records its warnings, and the table says which solvers
did not converge (their coefficients are not yet the minimiser). --max-iter 3 shows it for all.

Run: python examples/07_breast_cancer.py [--quick] [--max-iter N]
"""
import argparse
import time
import warnings
from typing import Any

import numpy as np

from tinygrad_lr.data import StandardScaler, load_breast_cancer, train_test_split
from tinygrad_lr.exceptions import ConvergenceWarning
from tinygrad_lr.linear_model import LogisticRegression
from tinygrad_lr.metrics import accuracy_score, log_loss, roc_auc_score

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--quick", action="store_true", help="fewer epochs for the first-order solvers")
parser.add_argument("--max-iter", type=int, help="iterations (epochs) for every solver (default: "
                    "100 for lbfgs and newton, 200 or with --quick 20 for the others)")
args = parser.parse_args()
epochs = args.max_iter or (20 if args.quick else 200)
curvature_iterations = args.max_iter or 100

data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.2, stratify=data.target, random_state=0)
scaler = StandardScaler().fit(X_train)          # z = (x - mean_train) / std_train
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(y_train)} training and {len(y_test)} test tumours, {X_train.shape[1]} features; "
      f"classes 0 = {data.target_names[0]}, 1 = {data.target_names[1]}")

# lbfgs and newton stop when the largest gradient entry is below tol: cheap to make tiny.
SOLVERS = {
    "lbfgs": dict(solver="lbfgs", tol=1e-8, max_iter=curvature_iterations),
    "newton": dict(solver="newton", tol=1e-8, max_iter=curvature_iterations),
    "sgd (batches of 32)": dict(solver="sgd", batch_size=32, max_iter=epochs),
    "adam (batches of 32)": dict(solver="adam", batch_size=32, lr=0.01, max_iter=epochs),
    "rmsprop (full batch)": dict(solver="rmsprop", lr=0.01, max_iter=epochs),
}


def fit_and_report(name: str, model: Any, warning_class: type[Warning]) -> str | None:
    """Fit on the training part and print the model's row of the table; return the text of the
    convergence warning the fit raised, or None when it converged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", warning_class)      # record it, even if seen before
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    convergence = [str(w.message) for w in caught if issubclass(w.category, warning_class)]
    for other in (w for w in caught if not issubclass(w.category, warning_class)):
        warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
    proba = model.predict_proba(X_test)[:, 1]                        # P(benign)
    print(f"{name:<22}{int(np.max(model.n_iter_)):>6}{'no' if convergence else 'yes':>11}"
          f"{seconds:>9.3f}{accuracy_score(y_test, model.predict(X_test)):>10.4f}"
          f"{log_loss(y_test, proba):>10.4f}{roc_auc_score(y_test, proba):>9.4f}")
    return convergence[0] if convergence else None


print(f"\n{'solver':<22}{'iters':>6}{'converged':>11}{'time s':>9}{'accuracy':>10}"
      f"{'log loss':>10}{'ROC AUC':>9}")
models, unconverged = {}, {}
for name, settings in SOLVERS.items():
    models[name] = LogisticRegression(C=1.0, random_state=0, **settings)
    unconverged[name] = fit_and_report(name, models[name], ConvergenceWarning)

try:
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
except ImportError:
    print("(scikit-learn is not installed: no comparison; pip install scikit-learn)")
else:
    # scikit-learn minimises C * sum(log loss) + ||w||^2 / 2: the same minimiser as ours.
    name = "scikit-learn (lbfgs)"
    models[name] = SklearnLogisticRegression(C=1.0, tol=1e-8, max_iter=1000)
    unconverged[name] = fit_and_report(name, models[name], SklearnConvergenceWarning)

unconverged = {name: message for name, message in unconverged.items() if message}
if unconverged:
    print("\ndid not converge (the ConvergenceWarning of each fit):")
    for name, message in unconverged.items():
        print(f"   {name:<22}{message}")
else:
    print("\nevery solver converged (no ConvergenceWarning)")

print("\nlargest coefficient difference from newton's, relative to the largest coefficient:")
reference = models["newton"].coef_
for name, model in models.items():
    if name != "newton":
        gap = np.abs(model.coef_ - reference).max() / np.abs(reference).max()
        print(f"   {name:<22}{gap:.1e}")
