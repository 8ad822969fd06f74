"""Multinomial SGD against one-vs-rest SGD and against LogisticRegression.

A fastloss ``multi_class="multinomial"`` model minimises the same objective as
scikit-learn's ``LogisticRegression`` (mean softmax cross-entropy plus
``alpha/2 ||W||^2`` is its objective with ``C = 1 / (alpha n_samples)``,
intercepts unpenalised), so the comparison is of two solvers on one problem:
a few SGD epochs against L-BFGS run to its default tolerance.  scikit-learn's
one-vs-rest SGD, run for the same epochs, shows what the joint model buys
over ten binary ones.  Each model is timed as a whole fit (median of
``repeat`` alternating runs; the last run's model is scored) on one thread
(BLAS limited to one thread, as the SGD fits are single-threaded), and scored
by the same objective and held-out accuracy.
"""

from __future__ import annotations

import statistics
import warnings
from dataclasses import asdict, dataclass, field

from sklearn import linear_model as sk_linear_model
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import fastloss
from fastloss.losses import Multinomial

from ._measure import _fit_seconds, multiclass_objective
from ._suites import Dataset, DataSpec

__all__ = ["LogisticComparison", "ModelFit", "compare_with_logistic_regression"]

#: The harness's penalty strength (both libraries' default ``alpha``).
ALPHA = 1e-4


@dataclass
class ModelFit:
    """One model of the comparison.

    Attributes
    ----------
    name : str
    fit_seconds : float
        Median seconds of a whole ``fit``.
    objective : float
        Mean softmax cross-entropy of the model's scores + ``alpha/2 ||W||^2``.
    score : float
        Held-out accuracy.
    n_iter : int
        Epochs (SGD) or L-BFGS iterations.
    """

    name: str
    fit_seconds: float
    objective: float
    score: float
    n_iter: int


@dataclass
class LogisticComparison:
    """The three fits on one multiclass dataset.

    Attributes
    ----------
    data : DataSpec
    alpha : float
    epochs : int
        Epochs of both SGD fits.
    fits : list of ModelFit
    """

    data: DataSpec
    alpha: float
    epochs: int
    fits: list[ModelFit] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {
            "data": asdict(self.data),
            "alpha": self.alpha,
            "epochs": self.epochs,
            "fits": [asdict(fit) for fit in self.fits],
        }


def _models(n_samples: int, epochs: int, random_state: int) -> dict:
    """Fresh estimators, by display name."""
    sgd = {"max_iter": epochs, "tol": None, "random_state": random_state, "alpha": ALPHA}
    return {
        "fastloss SGD multinomial": fastloss.SGDClassifier(
            loss="log_loss", multi_class="multinomial", **sgd
        ),
        "scikit-learn SGD one-vs-rest": sk_linear_model.SGDClassifier(loss="log_loss", **sgd),
        "scikit-learn LogisticRegression (lbfgs)": sk_linear_model.LogisticRegression(
            C=1.0 / (ALPHA * n_samples)
        ),
    }


def compare_with_logistic_regression(
    data: Dataset, epochs: int = 5, repeat: int = 3, random_state: int = 0
) -> LogisticComparison:
    """Fit and score the three models on ``data`` (a multiclass dataset).

    Parameters
    ----------
    data : Dataset
    epochs : int, default=5
        Epochs of the SGD fits.
    repeat : int, default=3
        Timed fits of each model, alternating the models; the harness's quick
        suite uses 1 (an L-BFGS fit lasts seconds).
    random_state : int, default=0

    Returns
    -------
    LogisticComparison
    """
    X, y = data.X_train, data.y_train
    times: dict[str, list[float]] = {}
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(repeat):
            fitted = _models(X.shape[0], epochs, random_state)
            for name, model in fitted.items():
                times.setdefault(name, []).append(_fit_seconds(model, X, y))
    result = LogisticComparison(data.spec, ALPHA, epochs)
    loss = Multinomial()
    for name, model in fitted.items():
        objective = multiclass_objective(
            loss, model.coef_, model.intercept_, model.classes_, X, y, ALPHA
        )
        result.fits.append(
            ModelFit(
                name=name,
                fit_seconds=statistics.median(times[name]),
                objective=objective,
                score=float(model.score(data.X_test, data.y_test)),
                n_iter=int(
                    max(model.n_iter_) if hasattr(model.n_iter_, "__len__") else model.n_iter_
                ),
            )
        )
    return result


def format_logistic(comparison: LogisticComparison) -> list[str]:
    """The comparison as report lines."""
    spec = comparison.data
    lines = [
        f"multinomial vs one-vs-rest SGD vs LogisticRegression ({spec.n_classes}-class "
        f"{spec.shape_label}, alpha={comparison.alpha:g}, C=1/(alpha n); SGD "
        f"{comparison.epochs} epochs; obj: softmax cross-entropy + alpha/2 ||W||^2):",
        f"  {'model':40s} {'fit s':>8s} {'iters':>6s} {'obj':>8s} {'acc':>7s}",
    ]
    for fit in comparison.fits:
        lines.append(
            f"  {fit.name:40s} {fit.fit_seconds:8.3f} {fit.n_iter:6d} "
            f"{fit.objective:8.4f} {fit.score:7.4f}"
        )
    return lines
