"""SAGA and SVRG (optimizer="saga" / "svrg"): solutions against SciPy's L-BFGS-B
and scikit-learn's saga / lbfgs on the same objective, dense against CSR,
float32, weights, penalties, multinomial, errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import AsymmetricSquaredError
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils._param_validation import InvalidParameterError

from fastloss import SGDClassifier, SGDRegressor
from fastloss._kernels.vr_epoch import crossing_steps, skipped_steps
from fastloss.losses import Huber, Quantile, SmoothHinge
from fastloss.optim import SAGA, SVRG

SOLVERS = ["saga", "svrg"]


def _data(n=300, d=8, seed=0, sparse_fraction=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if sparse_fraction:
        X[rng.random(X.shape) < sparse_fraction] = 0.0
    w = rng.normal(size=d)
    score = X @ w + 0.3 + 0.5 * rng.normal(size=n)
    return X, w, score


# ---------------------------------------------- per-sample losses, written here
def _log(y, p):
    return np.logaddexp(0.0, -y * p), -y * expit(-y * p)


def _smooth_hinge(s):
    def f(y, p):
        z = y * p
        value = np.where(z >= 1, 0.0, np.where(z <= 1 - s, 1 - z - s / 2, (1 - z) ** 2 / (2 * s)))
        slope = np.where(z >= 1, 0.0, np.where(z <= 1 - s, -1.0, -(1 - z) / s))
        return value, y * slope

    return f


def _squared(y, p):
    return 0.5 * (p - y) ** 2, p - y


def _huber(eps):
    def f(y, p):
        r = p - y
        small = np.abs(r) <= eps
        return np.where(small, 0.5 * r**2, eps * np.abs(r) - 0.5 * eps**2), np.clip(r, -eps, eps)

    return f


def lbfgs_optimum(X, y, per_sample, alpha, sample_weight=None):
    """min (1/n) sum sw_i loss(y_i, x_i w + b) + alpha/2 ||w||^2 (b unpenalised)."""
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else sample_weight

    def fun(wb):
        value, slope = per_sample(y, X @ wb[:-1] + wb[-1])
        g = sw * slope / n
        f = (sw * value).sum() / n + 0.5 * alpha * wb[:-1] @ wb[:-1]
        return f, np.append(X.T @ g + alpha * wb[:-1], g.sum())

    options = {"gtol": 1e-12, "ftol": 1e-16, "maxiter": 50_000, "maxcor": 30}
    result = minimize(fun, np.zeros(d + 1), jac=True, method="L-BFGS-B", options=options)
    return result.fun, lambda coef, b: fun(np.append(np.ravel(coef), b))[0]


CASES = {
    "log_loss": (SGDClassifier, "log_loss", _log),
    "smooth_hinge": (SGDClassifier, SmoothHinge(smoothness=0.5), _smooth_hinge(0.5)),
    "squared_error": (SGDRegressor, "squared_error", _squared),
    "huber": (SGDRegressor, Huber(epsilon=1.0), _huber(1.0)),
}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", CASES)
def test_reaches_the_lbfgs_optimum(case, solver):
    estimator, loss, per_sample = CASES[case]
    X, _, score = _data()
    classify = estimator is SGDClassifier
    y = np.where(score > 0, 1.0, -1.0) if classify else score
    alpha = 1e-2
    best, objective = lbfgs_optimum(X, y, per_sample, alpha)
    model = estimator(loss=loss, optimizer=solver, alpha=alpha, tol=1e-9, max_iter=5000)
    model.fit(X, y)
    assert model.n_iter_ < 5000
    gap = (objective(model.coef_, model.intercept_) - best) / abs(best)
    assert gap <= 1e-6, gap


@pytest.mark.parametrize("solver", SOLVERS)
def test_sample_weight_is_the_weighted_objective(solver):
    X, _, score = _data(seed=1)
    y = np.where(score > 0, 1.0, -1.0)
    sw = np.random.default_rng(1).integers(0, 4, size=y.shape[0]).astype(float)
    alpha = 1e-2
    best, objective = lbfgs_optimum(X, y, _log, alpha, sw)
    model = SGDClassifier(loss="log_loss", optimizer=solver, alpha=alpha, tol=1e-9, max_iter=5000)
    model.fit(X, y, sample_weight=sw)
    assert (objective(model.coef_, model.intercept_) - best) / best <= 1e-6
    # integer weights are repeated rows (the objective averages over rows: alpha rescaled)
    rows = np.repeat(np.arange(y.shape[0]), sw.astype(int))
    alpha_repeated = alpha * y.shape[0] / rows.shape[0]
    repeated = SGDClassifier(
        loss="log_loss", optimizer=solver, alpha=alpha_repeated, tol=1e-9, max_iter=5000
    ).fit(X[rows], y[rows])
    np.testing.assert_allclose(model.coef_, repeated.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, repeated.intercept_, rtol=1e-5, atol=1e-6)


def test_class_weight_folds_into_sample_weight():
    X, _, score = _data(seed=2)
    y = (score > 0).astype(int)
    common = {
        "loss": "log_loss",
        "optimizer": "saga",
        "max_iter": 5,
        "tol": None,
        "random_state": 0,
    }
    weighted = SGDClassifier(class_weight={0: 3.0, 1: 1.0}, **common).fit(X, y)
    folded = SGDClassifier(**common).fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    np.testing.assert_array_equal(weighted.coef_, folded.coef_)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
def test_dense_and_csr_agree(solver, penalty):
    X, _, score = _data(n=400, d=30, seed=3, sparse_fraction=0.8)
    y = np.where(score > 0, 1.0, -1.0)
    common = dict(loss="log_loss", optimizer=solver, penalty=penalty, l1_ratio=0.5,
                  alpha=1e-2, max_iter=6, tol=None, random_state=0)  # fmt: skip
    dense = SGDClassifier(**common).fit(X, y)
    sparse = SGDClassifier(**common).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9)
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_float32_rows(solver):
    X, _, score = _data(seed=4)
    y = np.where(score > 0, 1.0, -1.0)
    common = dict(loss="log_loss", optimizer=solver, alpha=1e-2, tol=1e-6, max_iter=2000)
    reference = SGDClassifier(**common).fit(X, y)
    for rows in (X.astype(np.float32), sp.csr_matrix(X.astype(np.float32))):
        model = SGDClassifier(**common).fit(rows, y)
        assert model.coef_.dtype == np.float32
        np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_elastic_net_matches_sklearn_saga(solver, l1_ratio, sparse):
    X, _, score = _data(n=300, d=20, seed=5)
    X[:, 10:] *= 0.1  # weak features, zeroed by the L1 part
    y = (score > 0).astype(int)
    n, alpha = X.shape[0], 2e-2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's l1_ratio/penalty deprecations
        reference = LogisticRegression(
            solver="saga", l1_ratio=l1_ratio, C=1 / (alpha * n), tol=1e-12, max_iter=100_000
        ).fit(X, y)
    rows = sp.csr_matrix(X) if sparse else X
    model = SGDClassifier(
        loss="log_loss", optimizer=solver, penalty="elasticnet", l1_ratio=l1_ratio,
        alpha=alpha, tol=1e-10, max_iter=20_000,
    ).fit(rows, y)  # fmt: skip
    assert (reference.coef_ == 0).sum() >= 3  # the L1 part zeroes some weights
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-5)
    np.testing.assert_array_equal(model.coef_ == 0, reference.coef_ == 0)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True])
def test_multinomial_matches_sklearn_lbfgs(solver, sparse):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 6))
    y = np.argmax(X @ rng.normal(size=(6, 4)) + rng.gumbel(size=(400, 4)), axis=1)
    n, alpha = X.shape[0], 1e-2
    reference = LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=10_000).fit(X, y)
    rows = sp.csr_matrix(X) if sparse else X
    model = SGDClassifier(
        loss="log_loss", multi_class="multinomial", optimizer=solver, alpha=alpha, tol=1e-10,
        max_iter=10_000, class_weight={0: 1.0},
    ).fit(rows, y)  # fmt: skip
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-6)


def test_one_vs_rest_matches_sklearn():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 5))
    y = np.argmax(X @ rng.normal(size=(5, 3)) + rng.gumbel(size=(300, 3)), axis=1)
    n, alpha = X.shape[0], 1e-2
    reference = OneVsRestClassifier(
        LogisticRegression(C=1 / (alpha * n), tol=1e-12, max_iter=10_000)
    ).fit(X, y)
    model = SGDClassifier(loss="log_loss", optimizer="saga", alpha=alpha, tol=1e-10,
                          max_iter=10_000, n_jobs=2).fit(X, y)  # fmt: skip
    expected = np.array([e.coef_.ravel() for e in reference.estimators_])
    np.testing.assert_allclose(model.coef_, expected, atol=1e-6)


@pytest.mark.parametrize(
    "estimator, loss, alternative",
    [
        (SGDClassifier, "hinge", "SmoothHinge"),
        (SGDClassifier, "perceptron", "SmoothHinge"),
        (SGDRegressor, "epsilon_insensitive", "Huber"),
        (SGDRegressor, Quantile(quantile=0.8), "Huber"),
    ],
)
def test_non_smooth_loss_names_the_alternative(estimator, loss, alternative):
    X, _, score = _data(n=50)
    y = np.where(score > 0, 1.0, -1.0)
    with pytest.raises(ValueError, match=f"(?s)not smooth|needs a smooth loss.*{alternative}"):
        estimator(loss=loss, optimizer="saga").fit(X, y)


class _SmoothAsymmetricSquaredError(AsymmetricSquaredError):
    """The conftest's user loss with its smoothness constant declared."""

    def smoothness_constant(self):
        return max(1.0, self.under)


@pytest.mark.parametrize("solver", SOLVERS)
def test_user_loss_with_declared_smoothness(solver):
    X, _, y = _data(seed=8)
    under, alpha = 3.0, 1e-2

    def per_sample(y, p):
        r = p - y
        k = np.where(r < 0, under, 1.0)
        return 0.5 * k * r**2, k * r

    best, objective = lbfgs_optimum(X, y, per_sample, alpha)
    loss = _SmoothAsymmetricSquaredError(under=under)
    model = SGDRegressor(loss=loss, optimizer=solver, alpha=alpha, tol=1e-9, max_iter=5000)
    model.fit(X, y)
    assert (objective(model.coef_, model.intercept_) - best) / best <= 1e-6
    with pytest.raises(ValueError, match="smooth"):  # without the constant
        SGDRegressor(loss=AsymmetricSquaredError(), optimizer=solver).fit(X, y)


def test_parameters_and_training_state():
    X, _, score = _data(seed=9)
    y = np.where(score > 0, 1.0, -1.0)
    with pytest.raises(InvalidParameterError):
        SGDClassifier(loss="log_loss", optimizer=SVRG(update_every=0)).fit(X, y)
    with pytest.raises(InvalidParameterError):
        SGDClassifier(loss="log_loss", optimizer=SAGA(step=-1.0)).fit(X, y)
    with pytest.raises(ValueError, match="average"):
        SGDClassifier(loss="log_loss", optimizer="saga", average=True).fit(X, y)
    # a given step is used; tol stops; t_ counts the samples seen
    model = SGDClassifier(loss="log_loss", optimizer=SAGA(step=0.05), alpha=1e-2, tol=1e-6)
    model.fit(X, y)
    assert model.n_iter_ < model.max_iter
    assert model.t_ == 1 + model.n_iter_ * X.shape[0]
    assert len(model.loss_curve_) == model.n_iter_
    # warm_start starts from the last solution: converged at once
    model.set_params(warm_start=True).fit(X, y)
    assert model.n_iter_ <= 2
    # partial_fit: one epoch a call, from the previous weights
    online = SGDClassifier(loss="log_loss", optimizer="saga", alpha=1e-2)
    for _ in range(3):
        online.partial_fit(X, y, classes=[-1.0, 1.0])
    assert online.t_ == 1 + 3 * X.shape[0] and len(online.loss_curve_) == 3
    assert online.loss_curve_[-1] < online.loss_curve_[0]


def _steps_one_by_one(v, g, l1, steps):
    for c in steps:
        z = v - c * g
        v = np.sign(z) * max(abs(z) - c * l1, 0.0)
    return v


def test_skipped_steps_compose_exactly():
    """The just-in-time catch-up of the CSR kernels equals the steps one by one."""
    rng = np.random.default_rng(10)
    for _ in range(2000):
        steps = rng.uniform(0.01, 1.0, size=rng.integers(1, 12))
        cumsum = np.concatenate([[0.0], np.cumsum(steps)])
        v, g = rng.normal(scale=3.0), rng.normal()
        l1 = rng.choice([0.0, abs(rng.normal())])
        value, exact = skipped_steps(v, g, l1, cumsum[-1])
        if not exact:
            value = crossing_steps(v, g, l1, cumsum, 0, steps.shape[0])
        assert value == pytest.approx(_steps_one_by_one(v, g, l1, steps), abs=1e-9)


CACHE_SCRIPT = """
import numpy as np
import scipy.sparse as sp

import fastloss

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
y = (X[:, 0] > 0).astype(int)
y3 = np.digitize(X[:, 1], [-0.5, 0.5])
for data in (X, X.astype(np.float32), sp.csr_matrix(X), sp.csr_matrix(X.astype(np.float32))):
    for solver in ("saga", "svrg"):
        fastloss.SGDClassifier(loss="log_loss", optimizer=solver, penalty="elasticnet",
                               max_iter=3).fit(data, y)
        fastloss.SGDClassifier(loss="log_loss", optimizer=solver, multi_class="multinomial",
                               max_iter=3).fit(data, y3)
"""


@pytest.mark.slow
def test_second_process_compiles_nothing(tmp_path, compiled_in_fresh_process):
    first = compiled_in_fresh_process(CACHE_SCRIPT, tmp_path)
    assert any(name.startswith("saga_epoch_csr") for name in first), first
    assert any(name.startswith("saga_multinomial_dense") for name in first), first
    second = compiled_in_fresh_process(CACHE_SCRIPT, tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"


@pytest.mark.parametrize("solver", ["saga", "svrg"])
def test_row_norms_overflowing_float64_raise_instead_of_a_zero_model(solver):
    """Rows of norm 1e160: their squared norm is inf, the derived step would be
    0 and the fit would stop at once, "converged", on the zero model."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="overflows float64"):
        SGDClassifier(loss="log_loss", optimizer=solver, random_state=0).fit(X * 1e160, y)
