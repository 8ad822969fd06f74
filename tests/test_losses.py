"""Loss objects against finite differences, closed forms and scikit-learn."""

import pickle

import numpy as np
import pytest
from conftest import stable_id
from scipy.special import expit, log_expit
from sklearn.base import clone

from fastloss import losses

ALL_LOSSES = [
    losses.Hinge(),
    losses.Hinge(threshold=0.5),
    losses.SquaredHinge(),
    losses.LogLoss(),
    losses.ModifiedHuber(),
    losses.Perceptron(),
    losses.SquaredError(),
    losses.Huber(epsilon=0.7),
    losses.EpsilonInsensitive(epsilon=0.3),
    losses.SquaredEpsilonInsensitive(epsilon=0.3),
]


def _targets(loss, n, rng):
    if loss.is_classification:
        return rng.choice([-1.0, 1.0], size=n)
    return rng.normal(scale=3.0, size=n)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=repr)
def test_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(0)
    y = _targets(loss, 2000, rng)
    p = rng.normal(scale=4.0, size=2000)
    h = 1e-6
    numeric = (loss.loss(y, p + h) - loss.loss(y, p - h)) / (2 * h)
    # Kinks (hinge at the threshold, Huber at epsilon...) have one-sided
    # derivatives: compare away from them.
    smooth = np.abs(numeric - (loss.loss(y, p + 2 * h) - loss.loss(y, p)) / (2 * h)) < 1e-4
    assert smooth.mean() > 0.95
    np.testing.assert_allclose(loss.gradient(y, p)[smooth], numeric[smooth], atol=1e-5)


def test_log_loss_closed_form_and_extreme_margins():
    loss = losses.LogLoss()
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    p = np.array([1e6, 1e6, -1e6, -1e6, 0.3])
    np.testing.assert_array_equal(loss.loss(y, p)[:4], [0.0, 1e6, 1e6, 0.0])
    np.testing.assert_allclose(loss.loss(y, p)[4], -log_expit(0.3), rtol=1e-15)
    np.testing.assert_array_equal(loss.gradient(y, p)[:4], [0.0, 1.0, -1.0, 0.0])
    np.testing.assert_allclose(loss.gradient(y, p)[4], -expit(-0.3), rtol=1e-15)
    assert np.all(np.isfinite(loss.gradient(y, p)))


@pytest.mark.parametrize(
    "loss, formula",
    [
        (losses.Hinge(), lambda y, p: np.maximum(0, 1 - y * p)),
        (losses.SquaredHinge(), lambda y, p: np.maximum(0, 1 - y * p) ** 2),
        (losses.Perceptron(), lambda y, p: np.maximum(0, -y * p)),
        (losses.SquaredError(), lambda y, p: 0.5 * (p - y) ** 2),
        (losses.EpsilonInsensitive(0.3), lambda y, p: np.maximum(0, np.abs(y - p) - 0.3)),
        (
            losses.Huber(0.7),
            lambda y, p: np.where(
                np.abs(y - p) <= 0.7, 0.5 * (y - p) ** 2, 0.7 * (np.abs(y - p) - 0.35)
            ),
        ),
    ],
    ids=stable_id,
)
def test_loss_values_match_formulas(loss, formula):
    rng = np.random.default_rng(1)
    y = _targets(loss, 500, rng)
    p = rng.normal(scale=2.0, size=500)
    np.testing.assert_allclose(loss.loss(y, p), formula(y, p), rtol=1e-12, atol=1e-12)


def test_weighted_mean():
    loss = losses.SquaredError()
    y, p, w = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 3.0])
    assert loss(y, p) == pytest.approx(np.mean(0.5 * (p - y) ** 2))
    assert loss(y, p, sample_weight=w) == pytest.approx((0.5 * 1 + 3 * 0.5 * 4) / 4)


@pytest.mark.parametrize("loss", [losses.Hinge(), losses.LogLoss(), losses.ModifiedHuber()])
def test_classification_losses_reject_other_labels(loss):
    with pytest.raises(ValueError, match=r"expects y_true in \{-1, \+1\}"):
        loss.loss([0.0, 1.0], [0.5, 0.5])


def test_bad_shapes_and_hyperparameters():
    with pytest.raises(ValueError, match="same length"):
        losses.SquaredError().loss([1.0, 2.0], [1.0])
    with pytest.raises(
        ValueError, match=r"'epsilon' parameter of Huber must be a float in the range \[0.0, inf\)"
    ):
        losses.Huber(epsilon=-1).loss([1.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        losses.SquaredError().loss([np.nan], [1.0])


def test_params_clone_and_pickle():
    loss = losses.Huber(epsilon=0.3)
    assert loss.get_params() == {"epsilon": 0.3}
    assert loss.set_params(epsilon=2.0).epsilon == 2.0
    assert clone(loss).epsilon == 2.0
    restored = pickle.loads(pickle.dumps(loss))
    np.testing.assert_array_equal(restored.loss([0.0], [5.0]), loss.loss([0.0], [5.0]))


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (losses.Hinge(), "Hinge(1.0)"),
        (losses.Hinge(threshold=0.0), "Hinge(0.0)"),
        (losses.SquaredHinge(), "SquaredHinge(1.0)"),
        (losses.ModifiedHuber(), "ModifiedHuber()"),
        (losses.EpsilonInsensitive(0.3), "EpsilonInsensitive(0.3)"),
        (losses.SquaredEpsilonInsensitive(0.3), "SquaredEpsilonInsensitive(0.3)"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_matches_scikit_learn_sgd_losses(ours, theirs):
    """scikit-learn's compiled SGD losses (``py_loss(p, y)``, ``py_dloss(p, y)``)."""
    from sklearn.linear_model import _sgd_fast

    ref = eval(theirs, vars(_sgd_fast))
    rng = np.random.default_rng(2)
    y = _targets(ours, 300, rng)
    p = rng.normal(scale=2.0, size=300)
    expected_loss = [ref.py_loss(pi, yi) for pi, yi in zip(p, y, strict=False)]
    expected_grad = [ref.py_dloss(pi, yi) for pi, yi in zip(p, y, strict=False)]
    np.testing.assert_allclose(ours.loss(y, p), expected_loss, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.gradient(y, p), expected_grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ALL_LOSSES, ids=repr)
def test_derivative_is_negative_below_the_target(loss):
    """The 'optimal' schedule's first step relies on dloss(1, p) < 0 for p < 1."""
    p = -np.logspace(-3, 3, 50)
    assert np.all(loss.gradient(np.ones_like(p), p) < 0)
