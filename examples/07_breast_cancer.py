"""Real data end to end: breast-cancer diagnosis with every solver, beside scikit-learn.

    split (stratified 80/20) -> standardise with the training part's mean and std ->
    fit LogisticRegression(solver=...) -> accuracy, log loss, ROC AUC on the test part

All solvers minimise the same objective, mean log loss + ||w||^2 / (2 C n), so they should land
on (nearly) the same coefficients: lbfgs and newton use curvature and need few iterations;
sgd, adam and rmsprop follow the gradient alone and need many more (epochs, with minibatches).

Run: python examples/07_breast_cancer.py [--quick]
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
args = parser.parse_args()
epochs = 20 if args.quick else 200

data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.2, stratify=data.target, random_state=0)
scaler = StandardScaler().fit(X_train)          # z = (x - mean_train) / std_train
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"{len(y_train)} training and {len(y_test)} test tumours, {X_train.shape[1]} features; "
      f"classes 0 = {data.target_names[0]}, 1 = {data.target_names[1]}")

# lbfgs and newton stop when the largest gradient entry is below tol: cheap to make tiny.
SOLVERS = {
    "lbfgs": dict(solver="lbfgs", tol=1e-8),
    "newton": dict(solver="newton", tol=1e-8),
    "sgd (batches of 32)": dict(solver="sgd", batch_size=32, max_iter=epochs),
    "adam (batches of 32)": dict(solver="adam", batch_size=32, lr=0.01, max_iter=epochs),
    "rmsprop (full batch)": dict(solver="rmsprop", lr=0.01, max_iter=epochs),
}


def report(name: str, model: Any, seconds: float, iterations: int) -> None:
    proba = model.predict_proba(X_test)[:, 1]                        # P(benign)
    print(f"{name:<22}{iterations:>6}{seconds:>9.3f}"
          f"{accuracy_score(y_test, model.predict(X_test)):>10.4f}"
          f"{log_loss(y_test, proba):>10.4f}{roc_auc_score(y_test, proba):>9.4f}")


print(f"\n{'solver':<22}{'iters':>6}{'time s':>9}{'accuracy':>10}{'log loss':>10}{'ROC AUC':>9}")
models = {}
for name, settings in SOLVERS.items():
    model = LogisticRegression(C=1.0, random_state=0, **settings)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # short runs in --quick mode
        model.fit(X_train, y_train)
    report(name, model, time.perf_counter() - start, int(np.max(model.n_iter_)))
    models[name] = model

try:
    from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression
except ImportError:
    print("(scikit-learn is not installed: no comparison; pip install scikit-learn)")
else:
    # scikit-learn minimises C * sum(log loss) + ||w||^2 / 2: the same minimiser as ours.
    start = time.perf_counter()
    sk = SklearnLogisticRegression(C=1.0, tol=1e-8, max_iter=1000).fit(X_train, y_train)
    report("scikit-learn (lbfgs)", sk, time.perf_counter() - start, int(np.max(sk.n_iter_)))
    models["scikit-learn (lbfgs)"] = sk

print("\nlargest coefficient difference from newton's, relative to the largest coefficient:")
reference = models["newton"].coef_
for name, model in models.items():
    if name != "newton":
        gap = np.abs(model.coef_ - reference).max() / np.abs(reference).max()
        print(f"   {name:<22}{gap:.1e}")
