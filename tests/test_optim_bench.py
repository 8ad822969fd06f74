"""Smoke test of the time-to-accuracy table (``python -m fastloss.bench --time-to-accuracy``).

Structure and sanity only (never the times' values): the reference optimum is
the minimum that scikit-learn's LogisticRegression(lbfgs) also reaches, every
solver that reports success is really within the gap, and the command line
prints the table.
"""

import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fastloss.bench import DataSpec, make_dataset
from fastloss.bench import __main__ as bench_main
from fastloss.bench._time_to_accuracy import (
    format_time_to_accuracy,
    reference_optimum,
    time_to_accuracy,
)

N_SAMPLES, ALPHA = 1_000, 1e-3


@pytest.fixture(scope="module")
def results():
    return time_to_accuracy(n_samples=N_SAMPLES, n_features=10, alpha=ALPHA, max_epochs=30)


def test_reference_optimum_matches_lbfgs_logistic_regression():
    data = make_dataset(DataSpec("binary", N_SAMPLES, 10))
    X, y = data.X_train, data.y_train
    target = np.where(y == 1, 1.0, -1.0)
    model = LogisticRegression(C=1.0 / (ALPHA * N_SAMPLES), tol=1e-12, max_iter=10_000).fit(X, y)
    margin = target * (X @ model.coef_.ravel() + model.intercept_[0])
    theirs = (
        np.logaddexp(0.0, -margin).mean() + 0.5 * ALPHA * model.coef_.ravel() @ model.coef_.ravel()
    )
    assert reference_optimum(X, target, ALPHA) == pytest.approx(theirs, rel=1e-9)


def test_every_solver_reported(results):
    names = [r.name for r in results]
    assert len(names) == len(set(names)) == 12
    for name in ("adam", "adamw", "amsgrad", "nesterov", "adagrad", "rmsprop"):
        assert any(name in n for n in names)
    assert "sklearn LogisticRegression (saga)" in names
    assert "sklearn LogisticRegression (lbfgs)" in names
    reached = [r for r in results if r.epochs is not None]
    # at this tiny size the adaptive rules' fixed step sizes are too small to get
    # there in 30 epochs; plain mini-batch SGD and LogisticRegression do
    assert {"fastloss sgd (batch 32)", "sklearn LogisticRegression (lbfgs)"} <= {
        r.name for r in reached
    }
    for r in reached:
        assert r.gap <= 1e-3 and r.epochs >= 1 and r.seconds > 0 and math.isfinite(r.seconds)
    table = format_time_to_accuracy(results)
    assert all(name in table for name in names)


def test_command_line(capsys, monkeypatch):
    from fastloss.bench import _time_to_accuracy

    calls = {}

    def small(**kwargs):
        calls.update(kwargs)
        return time_to_accuracy(n_samples=500, n_features=5, alpha=ALPHA, max_epochs=3)

    monkeypatch.setattr(_time_to_accuracy, "time_to_accuracy", small)
    assert bench_main.main(["--time-to-accuracy", "--quick", "--scale", "0.1", "--seed", "3"]) == 0
    assert calls == {"n_samples": 2_000, "random_state": 3}
    assert "epochs to 0.001" in capsys.readouterr().out
