"""User-defined losses: written in the test, checked against built-in losses,
SciPy on the same objective, and finite differences."""

import json
import math
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import AsymmetricSquaredError
from numba import njit
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifier, SGDRegressor
from fastloss._kernels import _layout, _loss_switch
from fastloss.losses import LogitLink, Loss, check_loss
from fastloss.losses._user import kernel_for


class UserHuber(Loss):
    """Huber re-written as a user loss (a reference: the built-in Huber)."""

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    @staticmethod
    def sample_loss(y, p, epsilon):
        r = abs(p - y)
        if r <= epsilon:
            return 0.5 * r * r
        return epsilon * (r - 0.5 * epsilon)

    @staticmethod
    def sample_derivative(y, p, epsilon):
        r = p - y
        if abs(r) <= epsilon:
            return r
        return epsilon if r > 0.0 else -epsilon


class UserLogLoss(Loss):
    """Logistic loss as a user margin loss with probabilities."""

    is_classification = True
    link = LogitLink()

    @staticmethod
    def sample_loss(y, p):
        z = y * p
        if z > 0.0:
            return math.log1p(math.exp(-z))
        return -z + math.log1p(math.exp(z))

    @staticmethod
    def sample_derivative(y, p):
        z = y * p
        if z > 0.0:
            e = math.exp(-z)
            return -y * e / (1.0 + e)
        return -y / (1.0 + math.exp(z))


class WrongDerivative(Loss):
    """log(cosh(r)) whose derivative forgot nothing but is scaled wrong."""

    def __init__(self, scale=1.0):
        self.scale = scale

    @staticmethod
    def sample_loss(y, p, scale):
        return scale * math.log(math.cosh(p - y))

    @staticmethod
    def sample_derivative(y, p, scale):
        return math.tanh(p - y)  # should be scale * tanh(p - y)


def _regression_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = X @ np.array([1.0, -0.5, 0.0, 2.0]) + 0.5 + rng.normal(size=n)
    return X, y


def _classification_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] - 2 * X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


# ------------------------------------------------------- same as built-in
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_user_huber_equals_builtin_huber(penalty, sparse):
    X, y = _regression_data()
    X = sp.csr_matrix(X) if sparse else X
    kw = {"penalty": penalty, "max_iter": 30, "random_state": 0, "average": 10}
    ours = SGDRegressor(loss=UserHuber(epsilon=0.5), **kw).fit(X, y)
    builtin = SGDRegressor(loss="huber", epsilon=0.5, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, builtin.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.intercept_, builtin.intercept_, rtol=1e-12)
    assert ours.n_iter_ == builtin.n_iter_


@pytest.mark.parametrize("optimizer", ["adam", "nesterov", "adagrad"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_user_huber_equals_builtin_huber_with_other_optimizers(optimizer, sparse):
    # the mini-batch kernel is specialised for a user loss the same way
    X, y = _regression_data()
    X = sp.csr_matrix(X) if sparse else X
    kw = {"optimizer": optimizer, "batch_size": 8, "max_iter": 20, "random_state": 0}
    kw |= {"penalty": "elasticnet", "learning_rate": "constant", "eta0": 0.01, "tol": None}
    ours = SGDRegressor(loss=UserHuber(epsilon=0.5), **kw).fit(X, y)
    builtin = SGDRegressor(loss="huber", epsilon=0.5, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, builtin.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.intercept_, builtin.intercept_, rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_user_margin_loss_equals_log_loss_in_classifier(sparse):
    X, y = _classification_data()
    X = sp.csr_matrix(X) if sparse else X
    ours = SGDClassifier(loss=UserLogLoss(), random_state=0).fit(X, y)
    builtin = SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    np.testing.assert_allclose(ours.coef_, builtin.coef_, rtol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), builtin.predict_proba(X), rtol=1e-12)
    # one-vs-rest over three classes, threads included
    y3 = np.digitize(np.asarray(X[:, 0].todense()).ravel() if sparse else X[:, 0], [-0.5, 0.5])
    ours = SGDClassifier(loss=UserLogLoss(), random_state=0, n_jobs=2).fit(X, y3)
    builtin = SGDClassifier(loss="log_loss", random_state=0, n_jobs=2).fit(X, y3)
    np.testing.assert_allclose(ours.coef_, builtin.coef_, rtol=1e-12)


def test_asymmetric_with_under_one_is_squared_error():
    X, y = _regression_data()
    ours = SGDRegressor(loss=AsymmetricSquaredError(under=1.0), random_state=0).fit(X, y)
    builtin = SGDRegressor(loss="squared_error", random_state=0).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, builtin.coef_)


# ---------------------------------------------------- its own objective
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_asymmetric_squared_error_minimises_its_objective(sparse):
    """Against L-BFGS-B on mean asymmetric loss + alpha/2 ||w||^2 (tolerance 0.02)."""
    X, y = _regression_data(n=1000)
    under, alpha = 3.0, 1e-3

    def objective(theta):
        w, b = theta[:-1], theta[-1]
        r = X @ w + b - y
        k = np.where(r < 0, under, 1.0)
        g = k * r
        value = np.mean(0.5 * k * r * r) + 0.5 * alpha * w @ w
        return value, np.r_[X.T @ g / len(y) + alpha * w, g.mean()]

    ref = minimize(objective, np.zeros(5), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    model = SGDRegressor(
        loss=AsymmetricSquaredError(under=under),
        alpha=alpha,
        average=True,
        max_iter=100,
        tol=None,
        random_state=0,
    ).fit(sp.csr_matrix(X) if sparse else X, y)
    np.testing.assert_allclose(model.coef_, ref.x[:-1], atol=0.02)
    np.testing.assert_allclose(model.intercept_, ref.x[-1], atol=0.02)
    # heavier cost below: most targets end up below the predictions
    assert np.mean(y < model.predict(X)) > 0.6


def test_vectorised_methods_of_a_user_loss():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=200), rng.normal(size=200)
    loss = AsymmetricSquaredError(under=2.5)
    r = p - y
    k = np.where(r < 0, 2.5, 1.0)
    np.testing.assert_allclose(loss.loss(y, p), 0.5 * k * r * r, rtol=1e-15)
    np.testing.assert_allclose(loss.gradient(y, p), k * r, rtol=1e-15)
    w = rng.uniform(size=200)
    assert loss(y, p, sample_weight=w) == pytest.approx(np.average(0.5 * k * r * r, weights=w))
    np.testing.assert_allclose(UserLogLoss().loss([1.0, -1.0], [1e6, 1e6]), [0.0, 1e6])


# ------------------------------------------------------ sklearn machinery
def test_grid_search_clone_pickle_and_pipeline():
    X, y = _regression_data()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SGDRegressor(loss=AsymmetricSquaredError(), max_iter=20)),
        {"sgdregressor__loss__under": [0.5, 1.0, 4.0], "sgdregressor__alpha": [1e-4, 1e-2]},
        cv=3,
    ).fit(X, y)
    # R^2 rewards the symmetric loss on symmetric noise
    assert search.best_params_["sgdregressor__loss__under"] == 1.0
    model = search.best_estimator_[-1]
    assert clone(model).loss.under == 1.0
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
    restored.set_params(sgdregressor__loss__under=2.0).fit(X, y)  # refits after unpickling


@pytest.mark.slow
def test_pickled_model_predicts_and_refits_in_a_fresh_process(tmp_path, run_python):
    """A new process compiles the user loss's kernels itself (nothing compiled is
    pickled) and reproduces the model."""
    X, y = _regression_data()
    model = SGDRegressor(loss=AsymmetricSquaredError(under=3.0), random_state=0).fit(X, y)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    script = textwrap.dedent(
        f"""
        import json, pickle, sys
        import numpy as np
        sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]
        model = pickle.loads(open({str(tmp_path / "model.pkl")!r}, "rb").read())
        X, y = np.load({str(tmp_path / "X.npy")!r}), np.load({str(tmp_path / "y.npy")!r})
        prediction = model.predict(X).tolist()
        coef = model.fit(X, y).coef_.tolist()
        print(json.dumps({{"prediction": prediction, "coef": coef}}))
        """
    )
    child = json.loads(run_python(script, timeout=300))
    np.testing.assert_array_equal(child["prediction"], model.predict(X))
    np.testing.assert_array_equal(child["coef"], model.coef_)


def test_partial_fit_with_a_user_loss_equals_builtin():
    X, y = _regression_data()
    ours = SGDRegressor(loss=UserHuber(0.3), random_state=0)
    builtin = SGDRegressor(loss="huber", epsilon=0.3, random_state=0)
    for start in range(0, 400, 100):
        ours.partial_fit(X[start : start + 100], y[start : start + 100])
        builtin.partial_fit(X[start : start + 100], y[start : start + 100])
    np.testing.assert_allclose(ours.coef_, builtin.coef_, rtol=1e-12)


def test_compiles_once_per_process_whatever_the_hyperparameters(recording_compiles):
    X, y = _regression_data()
    SGDRegressor(loss=AsymmetricSquaredError(under=2.0), max_iter=3).fit(X, y)  # warm
    with recording_compiles() as compiled:
        for under in (0.5, 3.0, 7.0):
            loss = AsymmetricSquaredError(under=under)
            SGDRegressor(loss=loss, max_iter=3, tol=None).fit(X, y)
            loss.loss(y, y + 1.0)
    assert compiled == []
    # the specialised kernel is memoised per class
    loss = AsymmetricSquaredError()
    kernel = _loss_switch.loss_array
    assert kernel_for(kernel, loss) is kernel_for(kernel, clone(loss))
    assert kernel_for(_loss_switch.loss_array, _BuiltinLike()) is _loss_switch.loss_array


class _BuiltinLike(Loss):
    _code = _layout.SQUARED_ERROR


# -------------------------------------------------------- bad user losses
def test_check_loss_reports_where_the_derivative_is_wrong():
    report = check_loss(AsymmetricSquaredError(under=3.0))
    assert report.max_rel_error < 1e-4 and report.n_points > 100
    assert "matches finite differences" in str(report)
    with pytest.raises(ValueError, match="disagrees with finite differences") as info:
        check_loss(WrongDerivative(scale=2.0))
    message = str(info.value)
    assert "Worst points" in message and "y=" in message and "finite difference" in message
    # with scale=1 the "wrong" derivative happens to be right
    check_loss(WrongDerivative(scale=1.0))


def test_estimator_rejects_wrong_derivative_and_keeps_previous_fit():
    X, y = _regression_data()
    model = SGDRegressor(loss=WrongDerivative(scale=1.0), max_iter=5).fit(X, y)
    coef = model.coef_.copy()
    model.set_params(loss__scale=3.0)
    with pytest.raises(ValueError, match="sample_derivative"):
        model.fit(X, y)
    np.testing.assert_array_equal(model.coef_, coef)


class WithSelf(Loss):
    def sample_loss(self, y, p):
        return 0.0

    def sample_derivative(self, y, p):
        return 0.0


class UnknownHyperparameter(Loss):
    def __init__(self, width=1.0):
        self.width = width

    @staticmethod
    def sample_loss(y, p, height):
        return height * (p - y)

    @staticmethod
    def sample_derivative(y, p, height):
        return height


class NotCompilable(Loss):
    @staticmethod
    def sample_loss(y, p):
        return {"r": p - y}["r"] ** 2 + object().__hash__()

    @staticmethod
    def sample_derivative(y, p):
        return 2.0 * (p - y)


class NoMethods(Loss):
    pass


class OnlyValue(Loss):
    @staticmethod
    def sample_loss(y, p):
        return p - y


@pytest.mark.parametrize(
    "loss, error, message",
    [
        (WithSelf(), TypeError, "declare it with @staticmethod"),
        (UnknownHyperparameter(), TypeError, "not __init__ parameters"),
        (NotCompilable(), TypeError, "Numba could not compile NotCompilable.sample_loss"),
        (OnlyValue(), TypeError, "needs both static methods"),
        (NoMethods(), TypeError, "defines no compiled loss"),
        (
            AsymmetricSquaredError(under="big"),
            ValueError,
            r"'under' parameter of AsymmetricSquaredError .* range \(-inf, inf\)",
        ),
    ],
    ids=lambda v: type(v).__name__,
)
def test_bad_user_losses_get_clear_errors(loss, error, message):
    X, y = _regression_data(n=20)
    with pytest.raises(error, match=message):
        SGDRegressor(loss=loss).fit(X, y)


def test_specialise_reaches_helpers_of_any_kernel():
    """A kernel calling the loss switch through a helper (as mini-batch or
    multi-output kernels may) is specialised through the helper too."""
    loss = AsymmetricSquaredError(under=4.0)
    specialised = kernel_for(_kernel_through_helper, loss)
    y, p = np.array([0.0, 0.0]), np.array([-1.0, 1.0])
    out = specialised(_layout.USER_DEFINED, y, p, loss._kernel_params())
    np.testing.assert_array_equal(out, [-4.0 + 0.5 * 4.0, 1.0 + 0.5])  # dloss + loss
    # the original is untouched: it still runs built-in losses by code
    builtin = _kernel_through_helper(_layout.SQUARED_ERROR, y, p, np.zeros(1))
    np.testing.assert_array_equal(builtin, [-1.0 + 0.5, 1.0 + 0.5])
    assert specialised is not _kernel_through_helper


@njit
def _helper(code, y, p, params):
    return _loss_switch.loss_derivative(code, y, p, params) + loss_value(code, y, p, params)


loss_value = _loss_switch.loss_value  # imported by name, as kernels do


@njit
def _kernel_through_helper(code, y, p, params):
    out = np.empty_like(y)
    for i in range(y.shape[0]):
        out[i] = _helper(code, y[i], p[i], params)
    return out


def test_user_loss_probabilities_and_domain():
    X, y = _classification_data()
    model = SGDClassifier(loss=UserLogLoss(), random_state=0).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], expit(model.decision_function(X)))
    assert not hasattr(SGDClassifier(loss=AsymmetricSquaredError()).fit(X, y), "predict_proba")
