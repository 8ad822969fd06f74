"""What a fit records: ``loss_curve_``, ``validation_scores_`` and the verbose lines."""

import re

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from fastloss import SGDClassifier, SGDRegressor
from fastloss.linear_model import _training
from fastloss.linear_model._runners import LinearRunner
from fastloss.linear_model._state import TrainingState

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    return X / 10.0, y / 100.0


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=8, random_state=0)


def reference_squared_error_curve(X, y, eta, epochs):
    """Plain NumPy SGD on 0.5 (w.x + b - y)^2, rows in order, constant step, no penalty:
    the average loss of each epoch as the samples were met."""
    w, b, curve = np.zeros(X.shape[1]), 0.0, []
    for _ in range(epochs):
        total = 0.0
        for x_i, y_i in zip(X, y, strict=True):
            p = x_i @ w + b
            total += 0.5 * (p - y_i) ** 2
            w -= eta * (p - y_i) * x_i
            b -= eta * (p - y_i)
        curve.append(total / len(y))
    return np.array(curve), w, b


def _constant_regressor(**params):
    # tol=0 with patience beyond max_iter: the loss is computed, no early stop
    return SGDRegressor(
        learning_rate="constant",
        eta0=0.05,
        penalty=None,
        shuffle=False,
        tol=0.0,
        n_iter_no_change=50,
        **params,
    )


def test_loss_curve_is_the_average_loss_of_each_epoch(regression):
    X, y = regression
    est = _constant_regressor(max_iter=4).fit(X, y)
    expected, w, b = reference_squared_error_curve(X, y, 0.05, 4)
    np.testing.assert_allclose(est.coef_, w, rtol=1e-10)
    np.testing.assert_allclose(est.loss_curve_, expected, rtol=1e-10)
    assert est.loss_curve_.shape == (est.n_iter_,)
    assert est.validation_scores_ is None


def test_loss_curve_accumulates_over_partial_fit_and_warm_start(regression):
    X, y = regression
    expected, _, _ = reference_squared_error_curve(X, y, 0.05, 3)
    est = _constant_regressor()
    for k in range(1, 4):
        est.partial_fit(X, y)
        assert est.loss_curve_.shape == (k,)
    np.testing.assert_allclose(est.loss_curve_, expected, rtol=1e-10)

    warm = _constant_regressor(max_iter=2, warm_start=True).fit(X, y)
    first = warm.loss_curve_.copy()
    warm.fit(X, y)
    assert warm.loss_curve_.shape == (4,)
    np.testing.assert_array_equal(warm.loss_curve_[:2], first)
    # without warm_start a new fit starts a new curve
    cold = _constant_regressor(max_iter=2).fit(X, y)
    cold.fit(X, y)
    np.testing.assert_array_equal(cold.loss_curve_, first)


def test_loss_curve_is_recorded_on_every_fit(binary):
    # tol=None and verbose=0 once skipped the loss (a NaN curve); issue 21
    X, y = binary
    quiet = SGDClassifier(tol=None, max_iter=3, random_state=0).fit(X, y)
    assert quiet.loss_curve_.shape == (3,) and np.isfinite(quiet.loss_curve_).all()
    est = SGDClassifier(tol=None, max_iter=3, verbose=1, random_state=0)
    np.testing.assert_array_equal(est.fit(X, y).loss_curve_, quiet.loss_curve_)


def _refit_scores(make, X, y, epochs, score):
    """Score of a fresh fit stopped after k epochs, for each k in ``epochs``: the
    same seed gives the same first k epochs."""
    return [score(make(max_iter=k).fit(X, y)) for k in epochs]


def test_validation_scores_classifier(binary):
    X, y = binary

    def make(max_iter):
        return SGDClassifier(
            early_stopping=True, validation_fraction=0.2, max_iter=max_iter, random_state=3
        )

    est = make(100).fit(X, y)
    _, val = next(
        StratifiedShuffleSplit(test_size=0.2, random_state=3).split(np.zeros((len(y), 1)), y)
    )
    # (max_iter=1 disables early stopping, as in scikit-learn: start at 2 epochs)
    expected = _refit_scores(
        lambda max_iter: make(max_iter).set_params(tol=None),
        X,
        y,
        range(2, est.n_iter_ + 1),
        lambda e: accuracy_score(y[val], e.predict(X[val])),
    )
    np.testing.assert_allclose(est.validation_scores_[1:], expected, rtol=1e-12)
    assert est.loss_curve_.shape == (est.n_iter_,)


def test_validation_scores_regressor(regression):
    X, y = regression
    est = SGDRegressor(early_stopping=True, max_iter=30, tol=1e-4, random_state=1).fit(X, y)
    _, val = next(ShuffleSplit(test_size=0.1, random_state=1).split(X))
    final = r2_score(y[val], est.predict(X[val]))
    assert est.validation_scores_.shape == (est.n_iter_,)
    assert est.validation_scores_[-1] == pytest.approx(final, rel=1e-10)


def test_one_vs_rest_curves_average_the_classes():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    est = SGDClassifier(max_iter=30, random_state=0).fit(X, y)
    per_class = []
    for k in range(3):
        # one-vs-rest class k alone, in the one order all classes share
        seed = np.random.RandomState(0).randint(np.iinfo(np.int32).max)
        binary = SGDClassifier(max_iter=30, random_state=0)
        settings = binary._settings(binary._resolve_loss(), 30)
        target = np.where(y == k, 1.0, -1.0)
        start = TrainingState.zeros(1, X.shape[1], X.dtype)
        rows = np.arange(len(y))
        X_c = np.ascontiguousarray(X)
        runner = LinearRunner(X_c, target, np.ones(len(y)), rows, settings, start, 0)
        per_class.append(_training.train(runner, settings, seed).loss_curves[0])
    n = max(map(len, per_class))
    padded = np.array([c + c[-1:] * (n - len(c)) for c in per_class])
    np.testing.assert_allclose(est.loss_curve_, padded.mean(axis=0), rtol=1e-12)


LINE_PATTERNS = {
    "epoch": r"-- Epoch \d+",
    "report": r"Norm: \d+\.\d{2}, NNZs: \d+, Bias: -?\d+\.\d{6}, T: \d+, "
    r"Avg\. loss: \d+\.\d{6}, Objective: \d+\.\d{6}(, Validation score: -?\d+\.\d{6})?",
    "time": r"Total training time: \d+\.\d{2} seconds\.",
    "converged": r"Convergence after \d+ epochs took \d+\.\d{2} seconds",
}


def line_kinds(text):
    kinds = []
    for line in text.strip().splitlines():
        matches = [k for k, pattern in LINE_PATTERNS.items() if re.fullmatch(pattern, line)]
        assert len(matches) == 1, f"unexpected verbose line: {line!r}"
        kinds.append(matches[0])
    return kinds


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_lines_have_scikit_learns_format(binary, capsys, early_stopping):
    X, y = binary
    params = dict(max_iter=4, tol=None, random_state=0, early_stopping=early_stopping, verbose=1)
    SkSGDClassifier(**params).fit(X, y)
    sklearn_out = capsys.readouterr().out
    est = SGDClassifier(**params).fit(X, y)
    ours = capsys.readouterr().out
    assert line_kinds(ours) == line_kinds(sklearn_out) == ["epoch", "report", "time"] * 4
    # the numbers printed are the model's own
    reports = [line for line in ours.splitlines() if line.startswith("Norm")]
    last = dict(item.split(": ") for item in reports[-1].split(", "))
    assert float(last["Norm"]) == pytest.approx(np.linalg.norm(est.coef_), abs=0.006)
    assert int(last["NNZs"]) == np.count_nonzero(est.coef_)
    assert float(last["Bias"]) == pytest.approx(est.intercept_[0], abs=1e-6)
    n_train = len(y) - (round(0.1 * len(y)) if early_stopping else 0)
    assert int(last["T"]) == 4 * n_train
    objectives = [float(r.split("Objective: ")[1].split(",")[0]) for r in reports]
    np.testing.assert_allclose(objectives, est.loss_curve_, atol=1e-6)
    if early_stopping:
        scores = [float(r.split("Validation score: ")[1]) for r in reports]
        np.testing.assert_allclose(scores, est.validation_scores_, atol=1e-6)


def test_verbose_reports_convergence_as_scikit_learn_does(binary, capsys):
    X, y = binary
    SkSGDClassifier(random_state=0, verbose=1).fit(X, y)
    sklearn_kinds = line_kinds(capsys.readouterr().out)
    est = SGDClassifier(random_state=0, verbose=1).fit(X, y)
    kinds = line_kinds(capsys.readouterr().out)
    assert kinds[-1] == sklearn_kinds[-1] == "converged"
    assert kinds == ["epoch", "report", "time"] * est.n_iter_ + ["converged"]
