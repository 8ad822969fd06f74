"""Every optimizer reaches the L-BFGS-B optimum of the same convex objective.

Objective: mean loss + alpha / 2 ||w||^2 (intercept unpenalised), the objective
of ``fastloss.bench.training_objective``; the reference minimum comes from
``scipy.optimize.minimize(method="L-BFGS-B")`` on a NumPy version written here.
Budget: 50 epochs of mini-batches of 10 rows (2,000 updates on 400 rows) with a
cosine schedule that decays the step size to zero over exactly that budget,
so the stochastic-gradient noise vanishes at the end.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from sklearn.datasets import make_classification, make_regression
from sklearn.preprocessing import StandardScaler

import fastloss
from fastloss.optim import SGD, AdaGrad, Adam, AdamW, AMSGrad, Cosine, Momentum, RMSProp

ALPHA = 1e-3
EPOCHS, BATCH, N_SAMPLES = 50, 10, 400
MAX_GAP = 1e-3

# Base step sizes: one per rule, the same for every problem.  AdamW's decoupled
# decay makes its fixed point the minimum of loss + (alpha / 2) w' diag(D) w
# (D its adaptive metric), not of the objective below; with alpha = 1e-3 that
# moves the objective by less than MAX_GAP (measured 5e-4 at worst).
OPTIMIZERS = {
    "sgd": SGD(lr=0.1),
    "momentum": Momentum(lr=0.01),
    "nesterov": Momentum(lr=0.01, nesterov=True),
    "adagrad": AdaGrad(lr=0.1),
    "rmsprop": RMSProp(lr=0.01),
    "adam": Adam(lr=0.01),
    "adamw": AdamW(lr=0.01),
    "amsgrad": AMSGrad(lr=0.01),
}


def _objective(coef, intercept, X, target, loss):
    p = X @ coef + intercept
    if loss == "log_loss":
        mean_loss = np.logaddexp(0.0, -target * p).mean()
    else:
        mean_loss = 0.5 * np.mean((p - target) ** 2)
    return mean_loss + 0.5 * ALPHA * coef @ coef


def _problem(loss, sparse):
    if loss == "log_loss":
        X, y = make_classification(N_SAMPLES, 8, n_informative=5, flip_y=0.1, random_state=0)
        target = np.where(y == 1, 1.0, -1.0)
    else:
        X, y = make_regression(N_SAMPLES, 8, noise=5.0, random_state=0)
        y = (y - y.mean()) / y.std()
        target = y
    X = StandardScaler().fit_transform(X)
    if sparse:  # 70 % of the entries zero: lazy updates do real catching up
        X = sp.csr_matrix(X * (np.random.default_rng(1).random(X.shape) < 0.3))
    n_features = X.shape[1]
    result = minimize(
        lambda z: _objective(z[:-1], z[-1], X, target, loss),
        np.zeros(n_features + 1),
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10_000},
    )
    return X, y, target, result.fun


PROBLEMS = {}


def _cached_problem(loss, sparse):
    if (loss, sparse) not in PROBLEMS:
        PROBLEMS[loss, sparse] = _problem(loss, sparse)
    return PROBLEMS[loss, sparse]


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_reaches_lbfgs_optimum(loss, sparse, name):
    X, y, target, optimum = _cached_problem(loss, sparse)
    Estimator = fastloss.SGDClassifier if loss == "log_loss" else fastloss.SGDRegressor
    model = Estimator(
        loss=loss,
        alpha=ALPHA,
        optimizer=OPTIMIZERS[name],
        batch_size=BATCH,
        learning_rate=Cosine(decay_steps=EPOCHS * N_SAMPLES // BATCH),
        max_iter=EPOCHS,
        tol=None,
        random_state=0,
    ).fit(X, y)
    value = _objective(np.ravel(model.coef_), model.intercept_[0], X, target, loss)
    gap = (value - optimum) / optimum
    assert -1e-9 < gap < MAX_GAP, f"relative gap {gap:.2e}"
