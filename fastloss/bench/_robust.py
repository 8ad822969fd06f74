"""Robust and composite losses, measured: ``python -m fastloss.bench._robust``.

Three measurements, printed as reStructuredText tables (the ones in
docs/user_guide/robust_losses.rst come from this script):

- **label noise**: held-out accuracy of the noise-robust classification losses
  (``Ramp``, ``GeneralizedCrossEntropy``, ``SymmetricCrossEntropy``) against
  ``LogLoss`` and ``Hinge``, with 0 %, 20 % and 40 % of the training labels
  flipped (symmetric noise; the test labels are clean), mean and standard
  deviation over the seeds, on three feature distributions and two solver
  settings (the estimator's defaults, and averaged SGD);
- **outliers**: coefficient error ``||(coef, intercept) - truth||`` of
  ``Tukey``, ``Cauchy`` and ``AbsoluteError`` against ``SquaredError`` and
  ``Huber`` with 0 %, 10 % and 30 % gross outliers in ``y``;
- **composite cost**: the whole fit of ``0.7 * Huber + 0.3 * Quantile(0.9)``
  against a fit with either term alone (same data, seeds and settings;
  median of interleaved repeats).

``--quick`` uses fewer seeds and smaller data (for a smoke test).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence

import numpy as np

from .. import SGDClassifier, SGDRegressor
from ..losses import (
    AbsoluteError,
    Cauchy,
    GeneralizedCrossEntropy,
    Hinge,
    Huber,
    LogLoss,
    Quantile,
    Ramp,
    SquaredError,
    SymmetricCrossEntropy,
    Tukey,
)

__all__ = ["label_noise", "outliers", "composite_cost", "main"]

CLASSIFICATION = {
    "log_loss": LogLoss(),
    "hinge": Hinge(),
    "ramp": Ramp(),
    "gce": GeneralizedCrossEntropy(),
    "sce": SymmetricCrossEntropy(),
}

REGRESSION = {
    "squared_error": SquaredError(),
    "huber(0.1)": Huber(),
    "huber(1.35)": Huber(epsilon=1.35),
    "tukey": Tukey(),
    "cauchy": Cauchy(),
    "absolute_error": AbsoluteError(),
}

#: Solver settings of the classification table: the estimator's defaults
#: ("optimal" schedule) and averaged SGD, which removes most of the step noise.
SOLVERS = {"default": {}, "averaged": {"average": True}}


def classification_data(kind: str, seed: int, noise: float, n: int = 4000, d: int = 10):
    """Train rows with a fraction ``noise`` of labels flipped, and clean test rows.

    ``kind``: "gaussian" (standard normal features, labels ``X w > 0`` for a
    random ``w``), "heavy-tailed" (Student t features with 2 degrees of
    freedom, same labels: some rows lie far out, where a flipped label pulls
    a convex loss hard) or "clusters" (four Gaussian clusters around random
    cube vertices, two a class: no linear boundary is exact).  Each training
    label is flipped with probability ``noise``; test labels are clean.
    """
    rng = np.random.default_rng(seed)
    if kind == "clusters":
        centres = rng.choice([-1.0, 1.0], size=(4, d))
        cluster = rng.integers(4, size=2 * n)
        X = centres[cluster] + rng.normal(size=(2 * n, d))
        y = (cluster < 2).astype(int)
    else:
        if kind == "gaussian":
            X = rng.normal(size=(2 * n, d))
        else:
            X = rng.standard_t(df=2, size=(2 * n, d))
        y = (X @ rng.normal(size=d) > 0).astype(int)
    flipped = rng.random(n) < noise
    y_train = np.where(flipped, 1 - y[:n], y[:n])
    return X[:n], y_train, X[n:], y[n:]


def regression_data(kind: str, seed: int, fraction: float, n: int = 2000, d: int = 5):
    """``y = X w + 1 + N(0, 1)`` with a fraction of gross outliers in ``y``:
    shifted by 10 to 30 noise standard deviations, upwards ("one-sided") or
    with a random sign ("two-sided").  Returns X, y and the true (w, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.uniform(-2, 2, size=d)
    y = X @ w + 1.0 + rng.normal(size=n)
    bad = rng.random(n) < fraction
    shift = rng.uniform(10, 30, size=bad.sum())
    if kind == "two-sided":
        shift *= rng.choice([-1.0, 1.0], size=shift.size)
    y[bad] += shift
    return X, y, np.append(w, 1.0)


def _mean_std(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def label_noise(
    kinds: Sequence[str] = ("gaussian", "clusters", "heavy-tailed"),
    noises: Sequence[float] = (0.0, 0.2, 0.4),
    seeds: int = 5,
    n: int = 4000,
) -> list[dict]:
    """Held-out accuracy, one row per (features, solver, noise), one column per loss."""
    rows = []
    for kind in kinds:
        for solver, settings in SOLVERS.items():
            for noise in noises:
                row = {"features": kind, "solver": solver, "noise": f"{noise:.0%}"}
                for name, loss in CLASSIFICATION.items():
                    scores = []
                    for seed in range(seeds):
                        X, y, X_test, y_test = classification_data(kind, seed, noise, n)
                        model = SGDClassifier(loss=loss, random_state=seed, **settings)
                        scores.append(model.fit(X, y).score(X_test, y_test))
                    row[name] = _mean_std(scores)
                rows.append(row)
    return rows


def outliers(
    kinds: Sequence[str] = ("one-sided", "two-sided"),
    fractions: Sequence[float] = (0.0, 0.1, 0.3),
    seeds: int = 5,
    n: int = 2000,
) -> list[dict]:
    """Coefficient error, one row per (outliers, fraction), one column per loss.

    ``SGDRegressor`` with ``alpha=1e-6`` (so that the error measures the loss,
    not the penalty's shrinkage) and otherwise its defaults.
    """
    rows = []
    for kind in kinds:
        for fraction in fractions:
            row = {"outliers": kind, "fraction": f"{fraction:.0%}"}
            for name, loss in REGRESSION.items():
                errors = []
                for seed in range(seeds):
                    X, y, truth = regression_data(kind, seed, fraction, n)
                    model = SGDRegressor(loss=loss, alpha=1e-6, random_state=seed).fit(X, y)
                    fitted = np.append(model.coef_, model.intercept_)
                    errors.append(float(np.linalg.norm(fitted - truth)))
                row[name] = _mean_std(errors)
            rows.append(row)
    return rows


def _fit_seconds(estimator, X, y) -> float:
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def composite_cost(n: int = 200_000, d: int = 100, epochs: int = 5, repeats: int = 7) -> list[dict]:
    """Whole-fit seconds (median) of a two-term sum and of each term alone,
    with the full reshuffle (the default) and without shuffling."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.standard_t(3, size=n)
    candidates = {
        "huber": Huber(epsilon=1.0),
        "quantile": Quantile(0.9),
        "0.7 huber + 0.3 quantile": 0.7 * Huber(epsilon=1.0) + 0.3 * Quantile(0.9),
    }
    rows = []
    for shuffle in (True, False):
        settings = dict(max_iter=epochs, tol=None, learning_rate="constant", eta0=1e-3)
        settings.update(shuffle=shuffle, random_state=0)
        for loss in candidates.values():  # load the kernels before timing
            SGDRegressor(loss=loss, **{**settings, "max_iter": 1}).fit(X[:100], y[:100])
        times = {name: [] for name in candidates}
        for _ in range(repeats):  # interleaved, so that machine load hits all alike
            for name, loss in candidates.items():
                times[name].append(_fit_seconds(SGDRegressor(loss=loss, **settings), X, y))
        medians = {name: float(np.median(t)) for name, t in times.items()}
        composite = medians.pop("0.7 huber + 0.3 quantile")
        for name, seconds in medians.items():
            rows.append({"shuffle": str(shuffle), "term": name, "term s": f"{seconds:.3f}"})
            rows[-1]["sum s"] = f"{composite:.3f}"
            rows[-1]["ratio"] = f"{composite / seconds:.2f}"
    return rows


def format_table(rows: list[dict]) -> str:
    """reStructuredText simple table of ``rows`` (dicts with the same keys)."""
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)), rule]
    for row in rows:
        lines.append("  ".join(str(row[k]).ljust(w) for k, w in zip(keys, widths, strict=True)))
    lines.append(rule)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the three tables (``--only`` one of them)."""
    parser = argparse.ArgumentParser(
        prog="python -m fastloss.bench._robust", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="2 seeds, smaller data")
    parser.add_argument("--only", choices=("noise", "outliers", "composite"))
    args = parser.parse_args(argv)
    seeds = 2 if args.quick else 5
    warnings.filterwarnings("ignore", message="Maximum number of iteration")
    if args.only in (None, "noise"):
        print("Label noise: held-out accuracy (mean ± std over seeds)\n")
        print(format_table(label_noise(seeds=seeds, n=1000 if args.quick else 4000)), "\n")
    if args.only in (None, "outliers"):
        print("Gross outliers in y: coefficient error (mean ± std over seeds)\n")
        print(format_table(outliers(seeds=seeds, n=500 if args.quick else 2000)), "\n")
    if args.only in (None, "composite"):
        print("Composite loss: whole-fit seconds (median), 5 epochs\n")
        size = dict(n=20_000, repeats=3) if args.quick else {}
        print(format_table(composite_cost(**size)))


if __name__ == "__main__":
    main()
