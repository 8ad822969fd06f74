"""Failed fits leave the previous model bit-for-bit; extreme values fail cleanly."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

import fastloss
from fastloss.linear_model import _runners


@pytest.fixture(scope="module")
def classification():
    return make_classification(
        n_samples=120, n_features=6, n_classes=3, n_informative=4, random_state=0
    )


def _fitted(kind, X, y):
    """A fitted estimator reached through ``kind``: fit, partial_fit or warm start."""
    est = fastloss.SGDClassifier(random_state=0, average=True, max_iter=5, tol=None)
    if kind == "fit":
        return est.fit(X, y)
    if kind == "partial_fit":
        est.partial_fit(X, y, classes=np.unique(y))
        return est.partial_fit(X, y)
    return est.set_params(warm_start=True).fit(X, y)


def _fail_by(cause, est, X, y, monkeypatch):
    """Make the next training call of ``est`` fail by ``cause``; returns the call."""
    if cause == "bad input":
        X = X.copy()
        X[5, 2] = np.nan
    elif cause == "divergence":
        X = X * 1e5
        est.set_params(loss="squared_hinge", learning_rate="constant", eta0=1e3)
    elif cause == "interrupt":
        # the first compiled epoch runs (updating the weights in place), then
        # raises: a binary epoch, or, for these three classes, the multi-output
        # epoch that trains them all
        def interrupting(real_epoch):
            def interrupted(*args):
                real_epoch(*args)
                raise KeyboardInterrupt

            return interrupted

        for name in ("run_linear_epoch", "run_block_epoch"):
            monkeypatch.setattr(_runners, name, interrupting(getattr(_runners, name)))
    return X, y


@pytest.mark.parametrize("kind", ["fit", "partial_fit", "warm_start"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("cause", ["bad input", "divergence", "interrupt"])
def test_failed_call_leaves_model_untouched(classification, kind, method, cause, monkeypatch):
    X, y = classification
    est = _fitted(kind, X, y)
    params = est.get_params()
    before = pickle.dumps(est)
    X_bad, y_bad = _fail_by(cause, est, X, y, monkeypatch)
    expected = KeyboardInterrupt if cause == "interrupt" else ValueError
    with pytest.raises(expected), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(est, method)(X_bad, y_bad)
    est.set_params(**params)
    assert pickle.dumps(est) == before


def test_divergence_message_names_epoch_and_remedy():
    X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    with pytest.raises(ValueError, match=r"at epoch #1\b.*StandardScaler.*lower eta0"):
        fastloss.SGDRegressor(learning_rate="constant", eta0=1e6).fit(X * 1e3, y)


@pytest.mark.parametrize(
    ("optimizer", "remedy"),
    [
        (fastloss.optim.Adam(lr=1e6), r"optimizer=Adam\(lr=\.\.\.\)"),
        (fastloss.optim.SAGA(step=1e6), r"optimizer=SAGA\(step=\.\.\.\)"),
    ],
)
def test_divergence_message_names_the_step_of_the_rule_that_diverged(optimizer, remedy):
    # plain SGD's advice (lower eta0, learning_rate='optimal') does not move
    # an optimizer's own step
    X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    with pytest.raises(ValueError, match=r"training diverged.*" + remedy) as error:
        fastloss.SGDRegressor(optimizer=optimizer, max_iter=5, tol=None).fit(X * 1e3, y)
    assert "learning_rate='optimal'" not in str(error.value)


@pytest.mark.parametrize("scale", [1e150, 1e200, 1e307])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"loss": "log_loss"},
        {"average": True},
        {"learning_rate": "constant"},
        {"penalty": "elasticnet"},
    ],
    ids=str,
)
def test_huge_features_fit_or_fail_cleanly(scale, params):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    est = fastloss.SGDClassifier(random_state=0, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X * scale, y)
    except ValueError as exc:
        assert "overflow occurred at epoch" in str(exc)
        assert not hasattr(est, "coef_")
    else:
        assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive"])
@pytest.mark.parametrize("learning_rate", ["invscaling", "optimal", "adaptive"])
def test_huge_targets_fit_or_fail_cleanly(loss, learning_rate):
    X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    est = fastloss.SGDRegressor(loss=loss, learning_rate=learning_rate, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y * 1e8)  # targets of order 1e10
    except ValueError as exc:
        assert "overflow occurred at epoch" in str(exc)
    else:
        assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
