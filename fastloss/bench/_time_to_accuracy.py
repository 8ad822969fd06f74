"""Time to accuracy: epochs and seconds each solver needs to reach an objective gap.

Every solver minimises the same objective on the same data: mean log loss +
``alpha / 2 ||w||^2`` (intercept unpenalised, as in :func:`training_objective`).
The reference minimum comes from ``scipy.optimize.minimize(method="L-BFGS-B")``
on that objective; a solver has reached accuracy when its relative gap
``(f - f*) / f*`` is at most ``target_gap`` (1e-3).

Stochastic solvers (fastloss's optimizers, scikit-learn's ``SGDClassifier``)
run epoch by epoch through ``partial_fit`` (a new shuffle seed each epoch);
only the ``partial_fit`` calls are timed, the objective is evaluated between
them, untimed.  scikit-learn's ``LogisticRegression`` (``saga``, ``lbfgs``)
fits from scratch with ``max_iter`` = 1, 2, 4, ... and reports the first fit
that reaches the gap (its ``n_iter_`` and its time); one ``lbfgs`` iteration
is one full gradient pass (or a few, in line searches), not an SGD epoch.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import SGDClassifier as SkSGDClassifier

import fastloss
from fastloss.optim import Adam, AdamW, AMSGrad, Cosine, Momentum, RMSProp

from ._report import text_table
from ._suites import DataSpec, make_dataset

__all__ = ["SolverResult", "format_time_to_accuracy", "reference_optimum", "time_to_accuracy"]

#: Relative objective gap to reach.
TARGET_GAP = 1e-3


@dataclass
class SolverResult:
    """How one solver did.

    Attributes
    ----------
    name : str
    epochs : int or None
        Epochs (``LogisticRegression``: iterations) to reach the gap; None if not reached.
    seconds : float or None
        Fit seconds until then.
    gap : float
        Relative gap when it stopped (reached, or at the budget).
    """

    name: str
    epochs: int | None
    seconds: float | None
    gap: float


def _objective(coef, intercept, X, target, alpha):
    margin = target * (np.asarray(X @ coef).ravel() + intercept)
    return float(np.logaddexp(0.0, -margin).mean() + 0.5 * alpha * coef @ coef)


def reference_optimum(X, target, alpha: float) -> float:
    """The L-BFGS-B minimum of mean log loss + alpha / 2 ||w||^2 (targets in {-1, +1})."""

    def value_and_grad(z):
        coef, intercept = z[:-1], z[-1]
        margin = target * (np.asarray(X @ coef).ravel() + intercept)
        d = -target * np.exp(-np.logaddexp(0.0, margin)) / margin.shape[0]
        grad = np.append(np.asarray(X.T @ d).ravel() + alpha * coef, d.sum())
        return np.logaddexp(0.0, -margin).mean() + 0.5 * alpha * coef @ coef, grad

    result = minimize(
        value_and_grad,
        np.zeros(X.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000},
    )
    return float(result.fun)


def _stochastic_solvers(alpha: float, n_samples: int, max_epochs: int) -> dict:
    """Name -> unfitted estimator run epoch by epoch (fastloss's rules, sklearn's SGD)."""
    batch = 32
    steps = max_epochs * -(-n_samples // batch)  # cosine decay over the whole budget
    common = {"loss": "log_loss", "alpha": alpha, "tol": None}

    def minibatch(optimizer, lr):
        return fastloss.SGDClassifier(
            optimizer=optimizer,
            batch_size=batch,
            learning_rate=Cosine(decay_steps=steps),
            eta0=lr,
            **common,
        )

    return {
        "fastloss sgd (optimal, batch 1)": fastloss.SGDClassifier(**common),
        "fastloss sgd (batch 32)": minibatch("sgd", 1.0),
        "fastloss momentum": minibatch(Momentum(), 0.1),
        "fastloss nesterov": minibatch(Momentum(nesterov=True), 0.1),
        "fastloss adagrad": minibatch("adagrad", 0.1),
        "fastloss rmsprop": minibatch(RMSProp(), 0.003),
        "fastloss adam": minibatch(Adam(), 0.01),
        "fastloss adamw": minibatch(AdamW(), 0.01),
        "fastloss amsgrad": minibatch(AMSGrad(), 0.01),
        "sklearn SGDClassifier (optimal)": SkSGDClassifier(**common),
    }


def _epoch_by_epoch(model, X, y, target, alpha, optimum, max_epochs, gap, seed):
    classes = np.unique(y)
    seconds = 0.0
    current = np.inf
    for epoch in range(1, max_epochs + 1):
        model.set_params(random_state=seed + epoch)
        start = time.perf_counter()
        model.partial_fit(X, y, classes=classes)
        seconds += time.perf_counter() - start
        value = _objective(np.ravel(model.coef_), model.intercept_[0], X, target, alpha)
        current = (value - optimum) / optimum
        if current <= gap:
            return epoch, seconds, current
    return None, None, current


def _doubling_max_iter(make, X, y, target, alpha, optimum, max_iter, gap):
    iters, current = 1, np.inf
    while iters <= max_iter:
        model = make(iters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
        value = _objective(np.ravel(model.coef_), model.intercept_[0], X, target, alpha)
        current = (value - optimum) / optimum
        if current <= gap:
            return int(np.max(model.n_iter_)), seconds, current
        iters *= 2
    return None, None, current


def time_to_accuracy(
    n_samples: int = 50_000,
    n_features: int = 100,
    alpha: float = 1e-4,
    max_epochs: int = 30,
    gap: float = TARGET_GAP,
    random_state: int = 0,
) -> list[SolverResult]:
    """Epochs and seconds of every solver to a relative objective gap of ``gap``.

    Parameters
    ----------
    n_samples, n_features : int, default=50_000, 100
        Size of the planted binary problem (``DataSpec("binary", ...)``).
    alpha : float, default=1e-4
    max_epochs : int, default=30
        Budget of the stochastic solvers (and of ``LogisticRegression``'s
        ``max_iter`` doubling, times 8 for ``lbfgs`` and ``saga``).
    gap : float, default=1e-3
    random_state : int, default=0

    Returns
    -------
    list of SolverResult
    """
    data = make_dataset(DataSpec("binary", n_samples, n_features), random_state)
    X, y = data.X_train, data.y_train
    target = np.where(y == 1, 1.0, -1.0)
    optimum = reference_optimum(X, target, alpha)
    results = []
    for name, model in _stochastic_solvers(alpha, n_samples, max_epochs).items():
        # load (or compile) the kernels first: one-time costs are not time to accuracy
        clone(model).partial_fit(X[:64], y[:64], classes=np.unique(y))
        epochs, seconds, final = _epoch_by_epoch(
            model, X, y, target, alpha, optimum, max_epochs, gap, random_state
        )
        results.append(SolverResult(name, epochs, seconds, final))
    C = 1.0 / (alpha * n_samples)
    for solver in ("saga", "lbfgs"):

        def make(max_iter, solver=solver):
            return LogisticRegression(solver=solver, C=C, tol=1e-12, max_iter=max_iter)

        epochs, seconds, final = _doubling_max_iter(
            make, X, y, target, alpha, optimum, 8 * max_epochs, gap
        )
        results.append(
            SolverResult(f"sklearn LogisticRegression ({solver})", epochs, seconds, final)
        )
    return results


def format_time_to_accuracy(results: list[SolverResult], gap: float = TARGET_GAP) -> str:
    """The results as an aligned text table.

    Parameters
    ----------
    results : list of SolverResult
    gap : float, default=1e-3

    Returns
    -------
    str
    """
    rows = [
        (
            r.name,
            "not reached" if r.epochs is None else str(r.epochs),
            "-" if r.seconds is None else f"{r.seconds:.3f}",
            f"{r.gap:.1e}",
        )
        for r in results
    ]
    headers = ("solver", f"epochs to {gap:g}", "seconds", "final gap")
    return text_table(headers, rows, (False, True, True, True))
