"""The loss zoo (focal, smooth hinge, cross-entropy, quantile, log-cosh, Poisson,
Tweedie) against finite differences, NumPy formulas and independent solvers."""

import pickle

import numpy as np
import pytest
from conftest import stable_id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import expit, log_expit, xlogy
from sklearn.base import clone
from sklearn.linear_model import PoissonRegressor, QuantileRegressor, TweedieRegressor
from sklearn.metrics import mean_tweedie_deviance, precision_recall_curve
from sklearn.model_selection import train_test_split

from fastloss import SGDClassifier, SGDRegressor, losses
from fastloss._kernels import _loss_switch

NEW_LOSSES = [
    losses.FocalLoss(),
    losses.FocalLoss(gamma=0.5, alpha=0.25),
    losses.SmoothHinge(),
    losses.SmoothHinge(smoothness=0.3),
    losses.CrossEntropy(),
    losses.Quantile(quantile=0.2),
    losses.LogCosh(),
    losses.Poisson(),
    losses.Tweedie(power=1.5),
    losses.Tweedie(power=0.0),
    losses.Tweedie(power=1.0),
    losses.Tweedie(power=2.0),
    losses.Tweedie(power=3.0),
    losses.Tweedie(power=-0.5),
]

_TARGET_STRATEGY = {
    "binary": st.sampled_from([-1.0, 1.0]),
    "real": st.floats(-30, 30),
    "nonnegative": st.one_of(st.just(0.0), st.floats(0, 50)),
    "positive": st.floats(0.01, 50),
    "unit_interval": st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1)),
}


def _central_difference(loss, y, p):
    h = 1e-6 * max(1.0, abs(p))
    at = np.array([p - h, p, p + h])
    values = loss.loss(np.full(3, y), at)
    central = (values[2] - values[0]) / (2 * h)
    right, left = (values[2] - values[1]) / h, (values[1] - values[0]) / h
    return central, left, right


#: scikit-learn's losses too, so that every loss meets the same property test
SKLEARN_LOSSES = [
    losses.Hinge(),
    losses.SquaredHinge(threshold=0.5),
    losses.Perceptron(),
    losses.LogLoss(),
    losses.ModifiedHuber(),
    losses.SquaredError(),
    losses.Huber(epsilon=0.7),
    losses.EpsilonInsensitive(epsilon=0.3),
    losses.SquaredEpsilonInsensitive(epsilon=0.3),
]


def _raw_strategy(loss):
    if isinstance(loss.link, losses.LogLink):
        # exp(k p) is clipped at exp(300) (k up to 2.5 here): stay below it
        return st.floats(-100, 100)
    # extreme margins included: the losses are exact there
    return st.one_of(st.floats(-40, 40), st.floats(-1e6, 1e6))


@pytest.mark.parametrize("loss", NEW_LOSSES + SKLEARN_LOSSES, ids=repr)
def test_derivative_matches_finite_differences(loss):
    """Hypothesis draws targets from the loss's domain and raw predictions up to
    +-1e6 (+-100 for the log-link losses: exp(100) ~ 3e43)."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(y=_TARGET_STRATEGY[loss._target_domain()], p=_raw_strategy(loss))
    def check(y, p):
        central, left, right = _central_difference(loss, y, p)
        derivative = loss.gradient([y], [p])[0]
        scale = max(1.0, abs(central))
        if abs(right - left) > 1e-3 * max(1.0, abs(right) + abs(left)):
            # a kink (hinge at its threshold, quantile at p = y): a subgradient
            assert min(left, right) - 1e-6 * scale <= derivative <= max(left, right) + 1e-6 * scale
        else:
            assert abs(derivative - central) <= 1e-4 * scale, (y, p, derivative, central)

    check()


@pytest.mark.parametrize("loss", NEW_LOSSES, ids=repr)
def test_check_loss_accepts_builtin(loss):
    report = losses.check_loss(loss)
    assert report.n_points > 20 and report.max_rel_error < 1e-4


@pytest.mark.parametrize("loss", NEW_LOSSES, ids=repr)
def test_extreme_margins_are_finite(loss):
    domain = loss._target_domain()
    y = {"binary": 1.0, "real": 0.5, "nonnegative": 2.0, "positive": 2.0, "unit_interval": 0.3}
    p = np.array([-1e6, -1e3, -50.0, 50.0, 1e3, 1e6])
    targets = np.full(p.shape, y[domain])
    assert np.all(np.isfinite(loss.loss(targets, p)))
    assert np.all(np.isfinite(loss.gradient(targets, p)))
    if domain == "binary":
        assert np.all(np.isfinite(loss.loss(-targets, p)))
        assert np.all(np.isfinite(loss.gradient(-targets, p)))


def _focal_reference(y, p, gamma, alpha):
    z = y * p
    alpha_t = 1.0 if alpha is None else np.where(y > 0, alpha, 1 - alpha)
    return -alpha_t * expit(-z) ** gamma * log_expit(z)


def _tweedie_reference(y, p, power):
    # scikit-learn's unit deviance is twice our (halved) loss
    mu = np.exp(p)
    return np.array(
        [0.5 * mean_tweedie_deviance([yi], [mi], power=power) for yi, mi in zip(y, mu, strict=True)]
    )


FORMULAS = [
    (losses.FocalLoss(), lambda y, p: _focal_reference(y, p, 2.0, None)),
    (losses.FocalLoss(gamma=0.5, alpha=0.25), lambda y, p: _focal_reference(y, p, 0.5, 0.25)),
    (
        losses.SmoothHinge(smoothness=0.5),
        lambda y, p: np.where(
            y * p >= 1, 0.0, np.where(y * p <= 0.5, 0.75 - y * p, (1 - y * p) ** 2 / 1.0)
        ),
    ),
    (losses.CrossEntropy(), lambda y, p: -(y * log_expit(p) + (1 - y) * log_expit(-p))),
    (losses.Quantile(0.2), lambda y, p: np.maximum(0.2 * (y - p), -0.8 * (y - p))),
    (losses.LogCosh(), lambda y, p: np.log(np.cosh(p - y))),
    (losses.Poisson(), lambda y, p: xlogy(y, y) - y * p - y + np.exp(p)),
    (losses.Tweedie(1.5), lambda y, p: _tweedie_reference(y, p, 1.5)),
    (losses.Tweedie(3.0), lambda y, p: _tweedie_reference(y, p, 3.0)),
    (losses.Tweedie(2.0), lambda y, p: _tweedie_reference(y, p, 2.0)),
    (losses.Tweedie(0.0), lambda y, p: _tweedie_reference(y, p, 0.0)),
    (losses.Tweedie(1.0), lambda y, p: _tweedie_reference(y, p, 1.0)),
]


def _draw_targets(loss, n, rng):
    domain = loss._target_domain()
    if domain == "binary":
        return rng.choice([-1.0, 1.0], size=n)
    if domain == "unit_interval":
        return rng.uniform(0, 1, size=n)
    if domain == "nonnegative":
        return rng.poisson(2.0, size=n).astype(float)
    if domain == "positive":
        return rng.gamma(2.0, 1.0, size=n)
    return rng.normal(scale=2.0, size=n)


@pytest.mark.parametrize("loss, formula", FORMULAS, ids=stable_id)
def test_loss_values_match_formulas(loss, formula):
    rng = np.random.default_rng(3)
    y = _draw_targets(loss, 300, rng)
    p = rng.normal(scale=2.0, size=300)
    np.testing.assert_allclose(loss.loss(y, p), formula(y, p), rtol=1e-10, atol=1e-12)


SCALAR_PAIRS = [
    # (loss, scalar value, scalar derivative, hyperparameters they take)
    (
        losses.FocalLoss(gamma=1.5, alpha=0.3),
        _loss_switch.focal_loss,
        _loss_switch.focal_dloss,
        (1.5, 0.3, 0.7),
    ),
    (
        losses.SmoothHinge(0.7),
        _loss_switch.smooth_hinge_loss,
        _loss_switch.smooth_hinge_dloss,
        (0.7,),
    ),
    (losses.CrossEntropy(), _loss_switch.cross_entropy_loss, _loss_switch.cross_entropy_dloss, ()),
    (losses.Quantile(0.7), _loss_switch.quantile_loss, _loss_switch.quantile_dloss, (0.7,)),
    (losses.LogCosh(), _loss_switch.log_cosh_loss, _loss_switch.log_cosh_dloss, ()),
    (losses.Poisson(), _loss_switch.poisson_loss, _loss_switch.poisson_dloss, ()),
    (losses.Tweedie(1.3), _loss_switch.tweedie_loss, _loss_switch.tweedie_dloss, (1.3,)),
]


@pytest.mark.parametrize("loss, value, derivative, hyper", SCALAR_PAIRS, ids=stable_id)
def test_vectorised_methods_equal_scalar_kernels(loss, value, derivative, hyper):
    """The array methods (through the integer switch) return exactly what the
    scalar functions do."""
    rng = np.random.default_rng(4)
    y = _draw_targets(loss, 50, rng)
    p = rng.normal(scale=5.0, size=50)
    pairs = list(zip(y, p, strict=True))
    np.testing.assert_array_equal(loss.loss(y, p), [value(a, b, *hyper) for a, b in pairs])
    np.testing.assert_array_equal(loss.gradient(y, p), [derivative(a, b, *hyper) for a, b in pairs])
    weights = rng.uniform(0.5, 2.0, size=50)
    assert loss(y, p, sample_weight=weights) == pytest.approx(
        np.average(loss.loss(y, p), weights=weights)
    )


def test_focal_gamma_zero_is_log_loss():
    rng = np.random.default_rng(5)
    y = rng.choice([-1.0, 1.0], size=500)
    p = rng.normal(scale=10.0, size=500)
    focal, log = losses.FocalLoss(gamma=0.0), losses.LogLoss()
    np.testing.assert_array_equal(focal.loss(y, p), log.loss(y, p))
    np.testing.assert_array_equal(focal.gradient(y, p), log.gradient(y, p))
    X = rng.normal(size=(300, 4))
    labels = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    a = SGDClassifier(loss=losses.FocalLoss(gamma=0.0), random_state=0).fit(X, labels)
    b = SGDClassifier(loss="log_loss", random_state=0).fit(X, labels)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize(
    "loss, bad, message",
    [
        (
            losses.FocalLoss(gamma=-1.0),
            None,
            r"'gamma' parameter of FocalLoss must be a float in the range \[0.0, 50.0\]",
        ),
        (losses.FocalLoss(alpha=1.0), None, r"'alpha' .* in the range \(0.0, 1.0\) or None"),
        (losses.SmoothHinge(smoothness=-0.1), None, r"'smoothness' .* in the range \[0.0, inf\)"),
        (losses.Quantile(quantile=1.0), None, r"'quantile' .* in the range \(0.0, 1.0\)"),
        (losses.Quantile(quantile=0.0), None, r"'quantile' .* in the range \(0.0, 1.0\)\. Got 0.0"),
        (losses.Tweedie(power=0.5), None, r"\(-inf, 0.0\] or a float in the range \[1.0, inf\)"),
        (losses.Poisson(), [1.0, -2.0], "needs targets >= 0"),
        (losses.Tweedie(power=1.5), [0.0, -1.0], "needs targets >= 0"),
        (losses.Tweedie(power=2.0), [0.0, 1.0], "needs targets > 0"),
        (losses.CrossEntropy(), [0.5, 1.5], r"needs targets in \[0, 1\]"),
    ],
    ids=stable_id,
)
def test_bad_hyperparameters_and_targets(loss, bad, message):
    y = [1.0, 1.0] if bad is None else bad
    with pytest.raises(ValueError, match=message):
        loss.loss(y, [0.0, 0.0])


# --------------------------------------------------------------- estimators
def _quantile_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 1.0 + rng.standard_t(3, size=n)
    return X, y


@pytest.mark.parametrize("quantile", [0.2, 0.5, 0.9])
def test_quantile_matches_quantile_regressor(quantile):
    """Same objective: mean pinball loss + alpha * ||w||_1 (penalty="l1").

    Tolerance: 0.03 on coefficients of size ~1-2 (averaged SGD on a
    non-smooth objective); coverage within 0.01 of the requested fraction.
    """
    X, y = _quantile_data()
    alpha = 0.01
    ref = QuantileRegressor(quantile=quantile, alpha=alpha, solver="highs").fit(X, y)
    model = SGDRegressor(
        loss=losses.Quantile(quantile),
        penalty="l1",
        alpha=alpha,
        average=True,
        max_iter=200,
        tol=None,
        eta0=0.05,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=0.03)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=0.03)
    assert abs(np.mean(y <= model.predict(X)) - quantile) < 0.01
    X_new, y_new = _quantile_data(seed=1)
    assert abs(np.mean(y_new <= model.predict(X_new)) - quantile) < 0.03


def _count_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    mu = np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + 0.5)
    return X, mu, rng


@pytest.mark.parametrize("alpha", [1e-3, 0.1])
def test_poisson_matches_poisson_regressor(alpha):
    """PoissonRegressor minimises mean half deviance + alpha/2 ||w||^2, our
    objective with penalty="l2".  Tolerance 0.01 on coefficients and intercept."""
    X, mu, rng = _count_data()
    y = rng.poisson(mu).astype(float)
    ref = PoissonRegressor(alpha=alpha, tol=1e-10, max_iter=1000).fit(X, y)
    model = SGDRegressor(
        loss="poisson", alpha=alpha, average=True, max_iter=200, tol=None, eta0=0.05, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=0.01)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=0.01)
    np.testing.assert_allclose(model.predict(X), ref.predict(X), rtol=0.03)
    assert np.all(model.predict(X) > 0)  # the log link: predictions are means


@pytest.mark.parametrize("power", [1.5, 2.0, 3.0])
def test_tweedie_matches_tweedie_regressor(power):
    X, mu, rng = _count_data()
    y = rng.gamma(2.0, mu / 2.0)
    if power < 2:
        y[rng.random(y.shape[0]) < 0.3] = 0.0
    ref = TweedieRegressor(power=power, alpha=0.01, link="log", tol=1e-10, max_iter=1000)
    ref.fit(X, y)
    model = SGDRegressor(
        loss=losses.Tweedie(power=power),
        alpha=0.01,
        average=True,
        max_iter=200,
        tol=None,
        eta0=0.02,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=0.01)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, atol=0.01)


def test_cross_entropy_soft_labels_match_lbfgs():
    """Soft labels: mean cross-entropy + alpha/2 ||w||^2 minimised by L-BFGS-B
    on the same objective.  Tolerance 0.01 on coefficients, 1e-3 on predicted
    probabilities."""
    rng = np.random.default_rng(0)
    n, alpha = 3000, 1e-3
    X = rng.normal(size=(n, 5))
    prob = expit(X @ np.array([1.5, -1.0, 0.5, 0.0, 2.0]) - 0.5)
    y = np.clip(prob + rng.normal(scale=0.05, size=n), 0, 1)

    def objective(theta):
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        residual = expit(z) - y
        value = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * alpha * w @ w
        return value, np.r_[X.T @ residual / n + alpha * w, residual.mean()]

    ref = minimize(
        objective, np.zeros(6), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15}
    )
    model = SGDRegressor(
        loss=losses.CrossEntropy(),
        alpha=alpha,
        average=True,
        max_iter=200,
        tol=None,
        eta0=0.1,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(model.coef_, ref.x[:-1], atol=0.01)
    np.testing.assert_allclose(model.intercept_, ref.x[-1], atol=0.01)
    expected = expit(X @ ref.x[:-1] + ref.x[-1])
    np.testing.assert_allclose(model.predict(X), expected, atol=1e-3)  # the logit link
    assert objective(np.r_[model.coef_, model.intercept_])[0] - ref.fun < 1e-5


def test_focal_versus_log_loss_on_imbalanced_data():
    """1:20 imbalance, minority recall at equal precision (0.8 and 0.9).

    Measured honestly: on this linear problem focal loss (gamma 1 or 2) does
    *not* improve minority recall over log loss -- the ranking of the two
    linear scores is nearly the same (differences <= 0.01 in recall).  The
    test pins that finding; docs/user_guide/losses.rst states it.
    """
    rng = np.random.default_rng(1)
    n = 20000
    X = rng.normal(size=(n, 10))
    score = X @ rng.normal(size=10) + 0.7 * rng.normal(size=n) * np.abs(X[:, 0])
    y = (score > np.quantile(score, 20 / 21)).astype(int)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, random_state=0, stratify=y
    )

    def recall_at_precision(loss, precision):
        model = SGDClassifier(loss=loss, average=True, max_iter=50, tol=None, random_state=0).fit(
            X_train, y_train
        )
        prec, rec, _ = precision_recall_curve(y_test, model.decision_function(X_test))
        return rec[prec >= precision].max()

    for precision in (0.8, 0.9):
        log = recall_at_precision("log_loss", precision)
        assert log > 0.6  # a meaningful classifier to compare with
        for gamma in (1.0, 2.0):
            focal = recall_at_precision(losses.FocalLoss(gamma=gamma), precision)
            assert abs(focal - log) < 0.03, (precision, gamma, focal, log)


def test_focal_and_smooth_hinge_classify():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(600, 3))
    y = np.where(X[:, 0] - X[:, 1] > 0, "b", "a")
    for loss in ("focal", losses.FocalLoss(alpha=0.4), "smooth_hinge", losses.SmoothHinge(0.2)):
        model = SGDClassifier(loss=loss, random_state=0).fit(X, y)
        assert model.score(X, y) > 0.95
    focal = SGDClassifier(loss="focal", random_state=0).fit(X, y)
    proba = focal.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], expit(focal.decision_function(X)))
    assert not hasattr(SGDClassifier(loss="smooth_hinge").fit(X, y), "predict_proba")


@pytest.mark.parametrize(
    "loss", [losses.Poisson(), losses.Tweedie(), losses.CrossEntropy()], ids=repr
)
def test_classifier_rejects_losses_whose_domain_excludes_signed_labels(loss):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="Use it with fastloss.SGDRegressor"):
        SGDClassifier(loss=loss).fit(X, X[:, 0] > 0)


@pytest.mark.parametrize(
    "loss, y, message",
    [
        ("poisson", [0.0, 3.0, -1.0], "needs targets >= 0"),
        (losses.Tweedie(power=2.5), [1.0, 0.0, 2.0], "needs targets > 0"),
        ("cross_entropy", [0.2, 1.0, 2.0], "for hard class labels use SGDClassifier"),
    ],
)
def test_regressor_checks_target_domain_and_keeps_previous_fit(loss, y, message):
    X = np.array([[0.0], [1.0], [2.0]])
    model = SGDRegressor(loss=loss, max_iter=5, tol=None).fit(X, [0.5, 1.0, 1.0])
    coef = model.coef_.copy()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)


def test_log_link_predictions_and_names_and_pickle():
    X, mu, rng = _count_data(n=500)
    y = rng.poisson(mu).astype(float)
    model = SGDRegressor(loss="poisson", random_state=0).fit(X, y)
    raw = X @ model.coef_ + model.intercept_[0]
    np.testing.assert_allclose(model.predict(X), np.exp(raw))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert clone(SGDRegressor(loss=losses.Tweedie(power=1.2))).loss.power == 1.2
    for name, cls in losses.EXTRA_REGRESSION_LOSSES.items():
        assert isinstance(losses.loss_from_name(name), cls)
    # early stopping scores predictions on the link scale (R^2 of the means)
    stopped = SGDRegressor(loss="poisson", early_stopping=True, random_state=0).fit(X, y)
    assert stopped.score(X, y) > 0.1


def test_quantile_and_log_cosh_dense_equals_sparse():
    import scipy.sparse as sp

    X, y = _quantile_data(n=400)
    for loss in (losses.Quantile(0.7), losses.LogCosh()):
        kw = {"loss": loss, "penalty": "elasticnet", "max_iter": 20, "tol": None, "random_state": 0}
        dense = SGDRegressor(**kw).fit(X, y)
        sparse = SGDRegressor(**kw).fit(sp.csr_matrix(X), y)
        np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-10, atol=1e-12)
