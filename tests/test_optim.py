"""Optimizers, schedules and mini-batches: update rules against NumPy references
written here from the papers' formulas, sparse lazy == dense eager, schedules'
closed forms, the estimator API (search, clone, pickle, errors)."""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import fastloss
from fastloss.optim import (
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    AMSGrad,
    Constant,
    Cosine,
    ExponentialDecay,
    InvScaling,
    LinearWarmup,
    Momentum,
    Optimal,
    RMSProp,
    StepDecay,
)

OPTIMIZERS = {
    "sgd": SGD(lr=0.05),
    "momentum": Momentum(lr=0.02, momentum=0.8),
    "nesterov": Momentum(lr=0.02, momentum=0.7, nesterov=True),
    "adagrad": AdaGrad(lr=0.1, eps=1e-6),
    "rmsprop": RMSProp(lr=0.01, rho=0.8, eps=1e-6),
    "adam": Adam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6),
    "adamw": AdamW(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6),
    "amsgrad": AMSGrad(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6),
}


# --------------------------------------------------------------- references
def soft(x, tau):
    return np.sign(x) * np.maximum(np.abs(x) - tau, 0.0)


class ReferenceRule:
    """One optimizer's published rule on the vector theta = [w, b], in NumPy.

    SGD: theta -= eta g.  Momentum (PyTorch's form of Sutskever et al., 2013):
    v = mu v + g; theta -= eta v, or theta -= eta (g + mu v) for Nesterov.
    AdaGrad (Duchi et al., 2011): G += g^2; theta -= eta g / (sqrt(G) + eps).
    RMSProp (Tieleman & Hinton, 2012): s = rho s + (1 - rho) g^2;
    theta -= eta g / (sqrt(s) + eps).  Adam (Kingma & Ba, 2015, Algorithm 1):
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; mhat = m / (1 - b1^t);
    vhat = v / (1 - b2^t); theta -= eta mhat / (sqrt(vhat) + eps).  AdamW
    (Loshchilov & Hutter, 2019, Algorithm 2 with eta_t lambda = eta l2):
    theta -= eta (mhat / (sqrt(vhat) + eps) + l2 theta).  AMSGrad (Reddi et
    al., 2018, Algorithm 2): vmax = max(vmax, v); theta -= eta m / (sqrt(vmax) + eps).

    Penalty (fastloss's documented choice, docs/user_guide/optimizers.rst): a proximal step
    of size eta / D in the rule's metric D (1 for SGD, 1 - mu for momentum,
    the adaptive denominator otherwise); AdamW's L1 part a plain soft threshold.
    """

    def __init__(self, name, opt, size):
        self.name, self.opt = name, opt
        self.a, self.b, self.c = np.zeros(size), np.zeros(size), np.zeros(size)
        self.t = 0

    def step(self, theta, g, eta, l1, l2):
        o, name = self.opt, self.name
        self.t += 1
        t = self.t
        metric = np.ones_like(theta)
        if name == "sgd":
            d = g
        elif name in ("momentum", "nesterov"):
            self.a = o.momentum * self.a + g
            d = g + o.momentum * self.a if name == "nesterov" else self.a
            metric[:] = 1.0 - o.momentum
        elif name == "adagrad":
            self.a = self.a + g**2
            metric = np.sqrt(self.a) + o.eps
            d = g / metric
        elif name == "rmsprop":
            self.a = o.rho * self.a + (1 - o.rho) * g**2
            metric = np.sqrt(self.a) + o.eps
            d = g / metric
        else:
            self.a = o.beta1 * self.a + (1 - o.beta1) * g
            self.b = o.beta2 * self.b + (1 - o.beta2) * g**2
            if name == "amsgrad":
                self.c = np.maximum(self.c, self.b)
                metric = np.sqrt(self.c) + o.eps
                d = self.a / metric
            else:
                m_hat = self.a / (1 - o.beta1**t)
                v_hat = self.b / (1 - o.beta2**t)
                metric = np.sqrt(v_hat) + o.eps
                d = m_hat / metric
        if name == "adamw":
            return soft(theta - eta * (d + l2 * theta), eta * l1)
        return soft(theta - eta * d, eta * l1 / metric) / (1 + eta * l2 / metric)


def reference_fit(name, opt, X, y, w0, b0, batch_size, epochs, etas, l1, l2):
    """Mini-batch training with squared error 0.5 (p - y)^2, rows in order."""
    n, d = X.shape
    rule = ReferenceRule(name, opt, d + 1)
    theta = np.append(w0, b0)
    penalised = np.append(np.ones(d), 0.0)  # the intercept is not penalised
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            rows = slice(start, start + batch_size)
            residual = X[rows] @ theta[:d] + theta[d] - y[rows]
            g = np.append(X[rows].T @ residual, residual.sum()) / residual.shape[0]
            theta = rule.step(theta, g, etas[rule.t], l1 * penalised, l2 * penalised)
    return theta[:d], theta[d]


@pytest.fixture(scope="module")
def small_regression():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 5))
    y = X @ rng.standard_normal(5) + 0.5 + 0.3 * rng.standard_normal(12)
    w0, b0 = 0.3 * rng.standard_normal(5), 0.2
    return X, y, w0, b0


def _fit_regressor(X, y, w0, b0, **params):
    model = fastloss.SGDRegressor(loss="squared_error", shuffle=False, tol=None, **params)
    return model.fit(X, y, coef_init=w0, intercept_init=[b0])


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("penalty", [None, "elasticnet"])
def test_update_rule_matches_reference(small_regression, name, penalty):
    """Six updates (two epochs of three batches of four rows) from a non-zero start."""
    X, y, w0, b0 = small_regression
    opt, alpha, l1_ratio = OPTIMIZERS[name], 0.05, 0.3
    model = _fit_regressor(
        X,
        y,
        w0,
        b0,
        optimizer=opt,
        batch_size=4,
        max_iter=2,
        learning_rate="constant",
        penalty=penalty,
        alpha=alpha,
        l1_ratio=l1_ratio,
    )
    strength = 0.0 if penalty is None else alpha
    w, b = reference_fit(
        name,
        opt,
        X,
        y,
        w0,
        b0,
        4,
        2,
        np.full(6, opt.lr),
        strength * l1_ratio,
        strength * (1 - l1_ratio),
    )
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.intercept_[0], b, rtol=1e-12, atol=1e-14)
    assert model.t_ == 1 + 2 * 12  # samples seen, as scikit-learn counts


# Closed forms of the schedules, written from their definitions.
def _cosine(t, lr, T=7, f=0.1):
    return lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(t - 1, T) / T)))


SCHEDULES = {
    "constant": (Constant(), lambda t, lr: lr),
    "invscaling": (InvScaling(power_t=0.3), lambda t, lr: lr / t**0.3),
    "cosine": (Cosine(decay_steps=7, final_fraction=0.1), _cosine),
    "exponential": (
        ExponentialDecay(decay_rate=0.5, decay_steps=4),
        lambda t, lr: lr * 0.5 ** ((t - 1) / 4),
    ),
    "step": (StepDecay(step_size=3, gamma=0.2), lambda t, lr: lr * 0.2 ** ((t - 1) // 3)),
    "no-warmup-step": (
        LinearWarmup(StepDecay(step_size=3, gamma=0.2), warmup_steps=0),
        lambda t, lr: lr * 0.2 ** ((t - 1) // 3),
    ),
    "warmup-cosine": (
        LinearWarmup(Cosine(decay_steps=7, final_fraction=0.1), warmup_steps=3),
        lambda t, lr: _cosine(1, lr) * t / 3 if t <= 3 else _cosine(t - 3, lr),
    ),
}


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedule_closed_forms(schedule):
    obj, closed_form = SCHEDULES[schedule]
    for t in range(1, 30):
        assert obj.value(t, 0.2) == pytest.approx(closed_form(t, 0.2), rel=1e-12)


@pytest.mark.parametrize(
    "schedule", ["invscaling", "cosine", "step", "no-warmup-step", "warmup-cosine"]
)
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_schedule_reaches_kernel(small_regression, schedule, name):
    """The kernel's step sizes follow the closed form: 12 updates of 3 rows."""
    X, y, w0, b0 = small_regression
    obj, closed_form = SCHEDULES[schedule]
    opt = OPTIMIZERS[name]
    model = _fit_regressor(
        X, y, w0, b0, optimizer=opt, batch_size=3, max_iter=3, learning_rate=obj, penalty=None
    )
    etas = [closed_form(t, opt.lr) for t in range(1, 13)]
    w, b = reference_fit(name, opt, X, y, w0, b0, 3, 3, etas, 0.0, 0.0)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12, atol=1e-14)


def test_optimal_schedule_for_adaptive_rules(small_regression):
    """'optimal' with a non-SGD rule: eta_t = 1 / (alpha (1 / (alpha lr) + t - 1))."""
    X, y, w0, b0 = small_regression
    alpha, opt = 0.5, OPTIMIZERS["adam"]
    model = _fit_regressor(
        X,
        y,
        w0,
        b0,
        optimizer=opt,
        batch_size=6,
        max_iter=3,
        learning_rate="optimal",
        alpha=alpha,
        penalty="l2",
    )
    etas = [1.0 / (alpha * (1.0 / (alpha * opt.lr) + t - 1)) for t in range(1, 7)]
    w, b = reference_fit("adam", opt, X, y, w0, b0, 6, 3, etas, 0.0, alpha)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-12)
    assert Optimal().value(3, opt.lr, alpha, 1.0 / (alpha * opt.lr)) == pytest.approx(etas[2])


def test_named_optimizers_are_the_objects():
    names = fastloss.optim.OPTIMIZERS
    assert set(names) == {
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "amsgrad",
        "saga",
        "svrg",
    }
    assert fastloss.optim.optimizer_from_name("nesterov").get_params()["nesterov"] is True
    X = np.random.default_rng(0).standard_normal((40, 3))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(loss="log_loss", batch_size=5, max_iter=3, tol=None, random_state=0)
    by_name = fastloss.SGDClassifier(optimizer="adam", **kw).fit(X, y)
    by_object = fastloss.SGDClassifier(optimizer=Adam(), **kw).fit(X, y)
    np.testing.assert_array_equal(by_name.coef_, by_object.coef_)


# ------------------------------------------------------------ sparse == dense
@pytest.fixture(scope="module")
def sparse_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20)) * (rng.random((300, 20)) < 0.2)
    y = (X @ rng.standard_normal(20) + 0.3 * rng.standard_normal(300) > 0).astype(int)
    return X, y


# Where the closed-form catch-up is exact (see _optim_rules.catch_up): under a
# constant schedule, every rule but Adam / AdamW without a penalty; SGD,
# AdaGrad, momentum, Nesterov and AMSGrad with L2; SGD and AdaGrad with any
# penalty; under a decaying schedule SGD and AdaGrad up to the L2 product
# prod(1 + eta_i l2) ~ (1 + mean(eta) l2)^k (measured 2e-8).  Elsewhere the
# catch-up approximates; the largest relative coefficient difference measured
# over 10 epochs was 2e-2 (Adam under a cosine schedule that falls to zero),
# hence 5e-2.
EXACT = {
    (None, "constant"): ({"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "amsgrad"}, 1e-12),
    ("l2", "constant"): ({"sgd", "momentum", "nesterov", "adagrad", "amsgrad"}, 1e-12),
    ("elasticnet", "constant"): ({"sgd", "adagrad"}, 1e-12),
    ("elasticnet", "cosine"): ({"sgd", "adagrad"}, 1e-7),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("case", list(EXACT), ids=lambda c: f"{c[0]}-{c[1]}")
@pytest.mark.parametrize("batch_size", [1, 4])
def test_sparse_lazy_equals_dense_eager(sparse_problem, name, case, batch_size):
    X, y = sparse_problem
    penalty, schedule = case
    kw = dict(
        loss="log_loss",
        penalty=penalty,
        alpha=1e-2,
        optimizer=OPTIMIZERS[name],
        batch_size=batch_size,
        learning_rate=Cosine(decay_steps=3000) if schedule == "cosine" else "constant",
        max_iter=10,
        tol=None,
        random_state=0,
    )
    dense = fastloss.SGDClassifier(**kw).fit(X, y)
    lazy = fastloss.SGDClassifier(**kw).fit(sp.csr_matrix(X), y)
    scale = np.abs(dense.coef_).max()
    exact, exact_rtol = EXACT[case]
    rtol = exact_rtol if name in exact else 5e-2
    np.testing.assert_allclose(lazy.coef_, dense.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(lazy.intercept_, dense.intercept_, rtol=0, atol=rtol * scale)


# ----------------------------------------------------------------- estimator
def test_default_sgd_object_runs_scikit_learns_algorithm():
    """optimizer=SGD() with batch_size=1 and a scikit-learn schedule is the default path."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    kw = dict(max_iter=5, tol=None, random_state=0)
    default = fastloss.SGDClassifier(**kw).fit(X, y)
    explicit = fastloss.SGDClassifier(optimizer=SGD(), learning_rate=Optimal(), **kw).fit(X, y)
    np.testing.assert_array_equal(default.coef_, explicit.coef_)
    lr_object = fastloss.SGDClassifier(optimizer=SGD(lr=0.05), learning_rate="constant", **kw).fit(
        X, y
    )
    eta0 = fastloss.SGDClassifier(eta0=0.05, learning_rate="constant", **kw).fit(X, y)
    np.testing.assert_array_equal(lr_object.coef_, eta0.coef_)


def test_partial_fit_carries_optimizer_state():
    """Two partial_fit epochs equal one fit of two epochs (moments and t carried)."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    y = X @ rng.standard_normal(4)
    kw = dict(optimizer=Adam(lr=0.05), batch_size=7, shuffle=False, tol=None)
    fitted = fastloss.SGDRegressor(max_iter=2, **kw).fit(X, y)
    partial = fastloss.SGDRegressor(**kw)
    partial.partial_fit(X, y)
    restored = pickle.loads(pickle.dumps(partial))
    partial.partial_fit(X, y)
    restored.partial_fit(X, y)
    np.testing.assert_array_equal(partial.coef_, fitted.coef_)
    np.testing.assert_array_equal(restored.coef_, fitted.coef_)
    assert partial.t_ == fitted.t_


def test_partial_fit_restarts_state_when_the_rule_changes():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    kw = dict(batch_size=5, shuffle=False, tol=None)
    model = fastloss.SGDRegressor(optimizer=AdaGrad(lr=0.1), **kw).partial_fit(X, y)
    coef, intercept = model.coef_.copy(), model.intercept_.copy()
    model.set_params(optimizer=Adam(lr=0.05)).partial_fit(X, y)
    # the same as Adam from fresh moments, starting at AdaGrad's weights
    fresh = fastloss.SGDRegressor(optimizer=Adam(lr=0.05), max_iter=1, **kw)
    fresh.fit(X, y, coef_init=coef, intercept_init=intercept)
    np.testing.assert_allclose(model.coef_, fresh.coef_, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_float32_input_stays_float32(sparse):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((200, 5)) * (rng.random((200, 5)) < 0.5)
    y = (X @ rng.standard_normal(5) > 0).astype(int)
    kw = dict(loss="log_loss", optimizer="adam", batch_size=8, max_iter=5, tol=None)
    kw["random_state"] = 0
    wrap = sp.csr_matrix if sparse else np.asarray
    model32 = fastloss.SGDClassifier(**kw).fit(wrap(X.astype(np.float32)), y)
    model64 = fastloss.SGDClassifier(**kw).fit(wrap(X), y)
    assert model32.coef_.dtype == np.float32
    np.testing.assert_allclose(model32.coef_, model64.coef_, rtol=1e-4, atol=1e-5)


def test_grid_search_over_optimizer_params():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((120, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    model = fastloss.SGDClassifier(
        loss="log_loss", optimizer=Adam(), batch_size=8, max_iter=5, tol=None, random_state=0
    )
    grid = {"optimizer__lr": [1e-4, 0.05], "learning_rate": ["constant", Cosine(decay_steps=50)]}
    search = GridSearchCV(model, grid, cv=3).fit(X, y)
    assert search.best_params_["optimizer__lr"] == 0.05  # 1e-4 barely moves in 5 epochs
    assert search.best_estimator_.optimizer.lr == 0.05
    assert model.optimizer.lr is None  # the search left the original alone
    lrs = search.cv_results_["param_optimizer__lr"]
    assert set(lrs) == {1e-4, 0.05}


def test_clone_and_set_params_nested():
    model = fastloss.SGDRegressor(
        optimizer=Momentum(nesterov=True), learning_rate=LinearWarmup(Cosine(), 10)
    )
    model.set_params(optimizer__momentum=0.5, learning_rate__schedule__decay_steps=20)
    copy = clone(model)
    assert copy.optimizer is not model.optimizer
    assert copy.get_params()["optimizer__momentum"] == 0.5
    assert copy.get_params()["learning_rate__schedule__decay_steps"] == 20


@pytest.mark.parametrize("n_classes", [2, 3])
def test_n_jobs_with_the_minibatch_kernel_is_reproducible(n_classes):
    """A binary model runs serially; one-vs-rest classes run in threads, each
    with its own optimizer state: both equal n_jobs=1."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((5000, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5]) if n_classes == 3 else (X[:, 0] > 0).astype(int)
    kw = dict(optimizer="adam", batch_size=16, max_iter=2, tol=None, random_state=0)
    one = fastloss.SGDClassifier(n_jobs=1, **kw).fit(X, y)
    two = fastloss.SGDClassifier(n_jobs=2, **kw).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    assert two._training_state.opt_state.shape == (1 if n_classes == 2 else 3, 5, 4)


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, match",
    [
        ({"optimizer": "adam", "average": True}, "average=True is supported only"),
        ({"batch_size": 8, "average": 10}, "average=10 is supported only"),
        (
            {"optimizer": Adam(beta1=1.0)},
            r"'beta1' parameter of Adam must be a float in the range \[0.0, 1.0\)",
        ),
        ({"optimizer": Momentum(momentum=-0.1)}, "'momentum' parameter of Momentum must be"),
        ({"optimizer": RMSProp(eps=0.0)}, "'eps' parameter of RMSProp must be"),
        ({"optimizer": SGD(lr=-1.0)}, "'lr' parameter of SGD must be"),
        (
            {"optimizer": Momentum(nesterov="yes")},
            "'nesterov' parameter of Momentum must be an instance of 'bool'",
        ),
        (
            {"learning_rate": Cosine(decay_steps=0)},
            r"'decay_steps' .* an int in the range \[1, inf\)",
        ),
        ({"learning_rate": StepDecay(gamma=2.0)}, "'gamma' parameter of StepDecay must be"),
        ({"learning_rate": LinearWarmup(LinearWarmup())}, "other than LinearWarmup"),
        (
            {"learning_rate": LinearWarmup(warmup_steps=-1)},
            r"'warmup_steps' .* an int in the range \[0, inf\)",
        ),
        (
            {"learning_rate": LinearWarmup("cosine")},
            "'schedule' parameter of LinearWarmup must be a str among",
        ),
        ({"learning_rate": Optimal(), "alpha": 0.0}, "alpha must be > 0"),
    ],
)
def test_clear_errors(params, match):
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=match):
        fastloss.SGDClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "params", [{"optimizer": "lbfgs"}, {"batch_size": 0}, {"learning_rate": Adam()}]
)
def test_invalid_parameter_types(params):
    X = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(InvalidParameterError):
        fastloss.SGDRegressor(**params).fit(X, X[:, 0])


def test_failed_fit_leaves_model_untouched():
    X = np.random.default_rng(0).standard_normal((30, 2))
    model = fastloss.SGDRegressor(optimizer="adam", batch_size=4, max_iter=3, tol=None)
    model.fit(X, X[:, 0])
    before = model.coef_.copy(), model._training_state.opt_state.copy()
    model.set_params(optimizer=Adam(beta2=-1.0))
    with pytest.raises(ValueError, match="beta2"):
        model.partial_fit(X, X[:, 0])
    np.testing.assert_array_equal(model.coef_, before[0])
    np.testing.assert_array_equal(model._training_state.opt_state, before[1])


# ------------------------------------------------ closed forms of the catch-up
@pytest.mark.parametrize(
    "root, ratio, eps, k",
    [
        (1.0, 0.95, 1e-8, 5),
        (1e8, 0.9995, 1e-8, 3),  # eps negligible: the cancelling branch
        (1.0, 0.9, 1e-8, 400),  # decays through eps
        (1e-9, 0.9, 1e-8, 50),
        (1e-3, 0.9995, 1e-6, 100_000),
    ],
)
def test_decaying_metric_is_the_harmonic_mean(root, ratio, eps, k):
    from fastloss._kernels._optim_rules import decaying_metric

    metric = root * ratio ** np.arange(1, k + 1) + eps
    harmonic_mean = k / np.sum(1.0 / metric)
    got = decaying_metric(root, ratio, ratio**k, eps, k)
    assert got == pytest.approx(harmonic_mean, rel=1e-4)


@pytest.mark.parametrize("k", [1, 2, 7, 300])
@pytest.mark.parametrize("ratio, shrink", [(0.9, 0.99), (0.5, 0.5), (0.0, 0.9), (0.99, 0.3)])
def test_interleaved_shrink_matches_the_loop(k, ratio, shrink):
    from fastloss._kernels._optim_rules import interleaved_shrink

    w, move = 0.7, 0.05
    for i in range(1, k + 1):
        w = shrink * (w - move * ratio**i)
    got = interleaved_shrink(0.7, move, ratio, ratio**k, shrink, k)
    assert got == pytest.approx(w, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("k", [1, 3, 50])
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("w0", [0.8, -0.3, 0.0])
def test_repeated_penalty_matches_the_loop(k, decoupled, w0):
    from fastloss._kernels._optim_rules import repeated_penalty

    tau, shrink = 0.01, 0.97
    w = w0
    for _ in range(k):
        w = soft(shrink * w, tau) if decoupled else shrink * soft(w, tau)
    assert repeated_penalty(w0, tau, shrink, k, decoupled) == pytest.approx(w, abs=1e-15)


@pytest.mark.parametrize("power_t", [0.25, 0.5, 0.3, 1.0])
def test_inverse_scaling_equals_the_power_formula(power_t):
    # the two default exponents take square roots instead of a pow per sample
    from fastloss._kernels._weights import inverse_scaling

    t = np.concatenate([np.arange(1.0, 1000.0), np.geomspace(1e3, 1e12, 50)])
    got = np.array([inverse_scaling(0.01, s, power_t) for s in t])
    np.testing.assert_allclose(got, 0.01 / t**power_t, rtol=2e-15, atol=0)
