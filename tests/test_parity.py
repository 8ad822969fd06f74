"""Parity with scikit-learn's SGD estimators and with L-BFGS optima."""

import warnings

import numpy as np
import pytest
import sklearn.linear_model as sk
from scipy.optimize import minimize
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import fastloss
from fastloss import losses

CLASSIFICATION_DATA = {
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "digits": lambda: load_digits(return_X_y=True),
    "make_classification": lambda: make_classification(
        n_samples=4000, n_features=20, n_informative=5, class_sep=1.5, random_state=0
    ),
}
REGRESSION_DATA = {
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "make_regression": lambda: make_regression(
        n_samples=2000, n_features=20, noise=10.0, random_state=0
    ),
}
SEEDS = range(10)


def _split(X, y, seed, stratify):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def _mean_held_out_scores(ours, theirs, X, y, loss, seeds, stratify):
    """Mean held-out score of each estimator class over paired seeds (split + shuffle)."""
    scores = {ours: [], theirs: []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in seeds:
            X_tr, X_te, y_tr, y_te = _split(X, y, seed, stratify=stratify)
            for Est in scores:
                model = Est(loss=loss, random_state=seed).fit(X_tr, y_tr)
                scores[Est].append(model.score(X_te, y_te))
    return np.mean(scores[ours]), np.mean(scores[theirs])


@pytest.mark.parametrize("dataset", CLASSIFICATION_DATA)
@pytest.mark.parametrize(
    "loss", ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"]
)
def test_classification_accuracy_matches_scikit_learn(dataset, loss):
    """Held-out accuracy averaged over 10 seeds (split and shuffling) within 1 point."""
    X, y = CLASSIFICATION_DATA[dataset]()
    ours, theirs = _mean_held_out_scores(
        fastloss.SGDClassifier, sk.SGDClassifier, X, y, loss, SEEDS, stratify=True
    )
    assert abs(ours - theirs) <= 0.01, (ours, theirs)


@pytest.mark.parametrize("dataset", REGRESSION_DATA)
@pytest.mark.parametrize(
    "loss", ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
)
def test_regression_r2_matches_scikit_learn(dataset, loss):
    """Held-out R^2 averaged over 5 seeds within 0.02."""
    X, y = REGRESSION_DATA[dataset]()
    ours, theirs = _mean_held_out_scores(
        fastloss.SGDRegressor, sk.SGDRegressor, X, y, loss, range(5), stratify=False
    )
    assert abs(ours - theirs) <= 0.02, (ours, theirs)


def _lbfgs_optimum(loss, X, y, alpha):
    """min_w,b mean(loss(y, X w + b)) + alpha/2 ||w||^2 by SciPy's L-BFGS-B."""
    n, d = X.shape

    def objective(theta):
        w, b = theta[:d], theta[d]
        raw = X @ w + b
        g = loss.gradient(y, raw)
        value = loss(y, raw) + 0.5 * alpha * w @ w
        return value, np.append(X.T @ g / n + alpha * w, g.mean())

    res = minimize(
        objective,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10_000, "gtol": 1e-12, "ftol": 1e-15},
    )
    return res.fun


@pytest.mark.parametrize(
    "name, loss",
    [
        ("log_loss", losses.LogLoss()),
        ("modified_huber", losses.ModifiedHuber()),
        ("squared_error", losses.SquaredError()),
    ],
)
def test_averaged_sgd_reaches_lbfgs_objective(name, loss):
    """Averaged SGD with a small constant step ends within 0.5% of the optimum.

    (Constant-step SGD has an O(eta) bias for non-quadratic losses, hence the
    small step and 300 epochs.)
    """
    alpha = 1e-2
    if name == "squared_error":
        X, y = load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
        est = fastloss.SGDRegressor
    else:
        X, y = load_breast_cancer(return_X_y=True)
        est = fastloss.SGDClassifier
    X = StandardScaler().fit_transform(X)
    model = est(
        loss=name,
        alpha=alpha,
        average=True,
        learning_rate="constant",
        eta0=0.003,
        max_iter=300,
        tol=None,
        random_state=0,
    ).fit(X, y)
    target = np.where(y == 1, 1.0, -1.0) if est is fastloss.SGDClassifier else y
    coef, intercept = np.ravel(model.coef_), model.intercept_[0]
    ours = loss(target, X @ coef + intercept) + 0.5 * alpha * coef @ coef
    optimum = _lbfgs_optimum(loss, X, target, alpha)
    assert optimum - 1e-9 <= ours <= optimum * (1 + 5e-3), (ours, optimum)
