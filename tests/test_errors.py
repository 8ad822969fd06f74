"""Bad input gets scikit-learn's errors; failed fits leave the model untouched."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

import fastloss
from fastloss.losses import Huber, LogLoss


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    return X, y


def _with(X, idx, value):
    X = X.astype(float).copy()
    X[idx] = value
    return X


BAD_FITS = [
    ("nan in X", lambda X, y: (_with(X, (0, 0), np.nan), y), ValueError, "Input X contains NaN"),
    (
        "inf in X",
        lambda X, y: (_with(X, (3, 1), np.inf), y),
        ValueError,
        "Input X contains infinity",
    ),
    ("nan in y", lambda X, y: (X, _with(y, 0, np.nan)), ValueError, "Input y contains NaN"),
    ("length mismatch", lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
    ("one class", lambda X, y: (X, np.zeros_like(y)), ValueError, "has to be greater than one"),
    ("3-d X", lambda X, y: (X[:, :, None], y), ValueError, "Found array with dim 3"),
    ("2-d y", lambda X, y: (X, np.column_stack([y, y])), ValueError, "y should be a 1d array"),
    ("continuous y", lambda X, y: (X, y + 0.5), ValueError, "Unknown label type"),
    ("strings in X", lambda X, y: (np.full(X.shape, "a"), y), ValueError, "could not convert"),
]


@pytest.mark.parametrize("case, make, error, match", BAD_FITS, ids=[c[0] for c in BAD_FITS])
def test_bad_input_raises_and_keeps_fitted_model(data, case, make, error, match):
    X, y = data
    est = fastloss.SGDClassifier(random_state=0).fit(X, y)
    before = pickle.dumps(est)
    bad_X, bad_y = make(X, y)
    with pytest.raises(error, match=match):
        est.fit(bad_X, bad_y)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "not_a_loss"}, "'loss' parameter of SGDClassifier must be"),
        ({"penalty": "l3"}, "'penalty' parameter"),
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"eta0": 0.0}, "'eta0' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"learning_rate": "fast"}, "'learning_rate' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"alpha": 0.0}, "alpha must be > 0 since learning_rate is 'optimal'"),
        (
            {"loss": Huber(epsilon=-1.0)},
            r"'epsilon' parameter of Huber must be a float in the range \[0.0, inf\)",
        ),
        ({"class_weight": "heavy"}, "'class_weight' parameter"),
        ({"class_weight": {0: -1.0, 1: 1.0}}, "class_weight must be finite and non-negative"),
    ],
)
def test_invalid_hyperparameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        fastloss.SGDClassifier(**params).fit(X, y)


def test_regressor_rejects_classification_loss():
    X, y = make_regression(n_samples=20, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="LogLoss is a classification loss"):
        fastloss.SGDRegressor(loss=LogLoss()).fit(X, y)
    with pytest.raises(ValueError, match="'loss' parameter of SGDRegressor"):
        fastloss.SGDRegressor(loss="hinge").fit(X, y)


def test_partial_fit_classes(data):
    X, y = data
    est = fastloss.SGDClassifier()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    assert not hasattr(est, "coef_")
    est.partial_fit(X, y, classes=[0, 1])
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match=r"target label\(s\) \[2\] in y do not exist"):
        est.partial_fit(X, np.where(y == 1, 2, y))
    with pytest.raises(ValueError, match="is not the same as on last call"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 4 features, but SGDClassifier is expecting 5"):
        est.partial_fit(X[:, :4], y)
    assert pickle.dumps(est) == before


def test_negative_sample_weight(data):
    X, y = data
    w = np.ones(len(y))
    w[0] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        fastloss.SGDClassifier().fit(X, y, sample_weight=w)


def test_divergence_names_epoch_and_remedy_and_keeps_model():
    X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    X = X * 1e3
    est = fastloss.SGDRegressor(random_state=0, max_iter=5, tol=None).fit(X / 1e3, y)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match=r"overflow occurred at epoch #1.*StandardScaler.*eta0"):
        est.set_params(learning_rate="constant", eta0=1e6).fit(X, y)
    assert pickle.dumps(est.set_params(learning_rate="invscaling", eta0=0.01)) == before
    assert np.all(np.isfinite(est.coef_))


def test_keyboard_interrupt_between_epochs_leaves_model_untouched(data, monkeypatch):
    X, y = data
    est = fastloss.SGDClassifier(random_state=0).fit(X, y)
    before = pickle.dumps(est)
    from fastloss.linear_model import _runners

    calls = {"n": 0}
    real_epoch = _runners.run_linear_epoch

    def interrupted(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_epoch(*args)

    monkeypatch.setattr(_runners, "run_linear_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.set_params(warm_start=True).fit(X, y)
    assert pickle.dumps(est.set_params(warm_start=False)) == before
