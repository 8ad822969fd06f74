"""Smoothness constants, best constants and the best-constant start of the intercept.

References are independent of the code under test: second differences of the
loss *values* on a wide grid (not the compiled derivatives the constants are
checked with in ``check_loss``), a finite-difference Hessian for the
multinomial loss, scalar minimisation for the best constants, and the
fraction of training targets below the predictions for quantile coverage.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import AsymmetricSquaredError
from scipy.optimize import minimize_scalar

from fastloss import SGDRegressor
from fastloss import losses as fl
from fastloss.losses import named_losses

# ---------------------------------------------------------------- the grid
#: Raw predictions: a dense sweep (step 0.005, containing 0 and every kink of
#: the built-in losses at their default hyperparameters) plus large margins.
_SWEEP = np.round(np.arange(-12000, 12001) * 0.0005, 10)
_RAW = np.unique(np.concatenate([_SWEEP, [-40.0, -25.0, 25.0, 40.0]]))

_TARGETS = {
    "binary": [-1.0, 1.0],
    "real": [-10.0, -1.0, 0.0, 0.4, 2.0, 25.0],
    "unit_interval": [0.0, 0.3, 0.5, 1.0],
}


def measured_curvature(loss, h=1e-3):
    """``max |L(p + h) - 2 L(p) + L(p - h)| / h^2`` over targets x raw predictions."""
    best = 0.0
    for y in _TARGETS[loss._target_domain()]:
        yy = np.full_like(_RAW, y)
        second = (loss.loss(yy, _RAW + h) - 2 * loss.loss(yy, _RAW) + loss.loss(yy, _RAW - h)) / (
            h * h
        )
        best = max(best, float(np.abs(second).max()))
    return best


SMOOTH = [
    (fl.LogLoss(), 0.25),
    (fl.SquaredError(), 1.0),
    (fl.Huber(), 1.0),
    (fl.Huber(epsilon=2.0), 1.0),
    (fl.SmoothHinge(), 1.0),
    (fl.SmoothHinge(smoothness=0.5), 2.0),
    (fl.ModifiedHuber(), 2.0),
    (fl.SquaredHinge(), 2.0),
    (fl.SquaredEpsilonInsensitive(), 2.0),  # max(0, |r| - eps)^2 is not halved
    (fl.LogCosh(), 1.0),
    (fl.CrossEntropy(), 0.25),
    (fl.Cauchy(), 1.0),
    (fl.Cauchy(c=0.5), 1.0),
    (fl.Tukey(), 1.0),
    (fl.FocalLoss(gamma=0.0), 0.25),
    (fl.FocalLoss(), None),  # no closed form: the finite differences decide
    (fl.FocalLoss(gamma=5.0, alpha=0.25), None),
    (fl.GeneralizedCrossEntropy(), None),
    (fl.GeneralizedCrossEntropy(q=0.0), 0.25),
    (fl.SymmetricCrossEntropy(), None),
    (fl.SymmetricCrossEntropy(alpha=1.0, beta=0.0), 0.25),
    (0.7 * fl.Huber() + 0.3 * fl.LogCosh(), 1.0),
    (fl.PairwiseLogistic(), 0.25),
]


@pytest.mark.parametrize(("loss", "closed_form"), SMOOTH, ids=lambda v: repr(v)[:40])
def test_constant_bounds_the_curvature_tightly(loss, closed_form):
    """Every declared constant is >= the curvature measured on the grid and
    within 5 % of it (each of these bounds is attained)."""
    declared = loss.smoothness_constant()
    if closed_form is not None:
        assert declared == pytest.approx(closed_form, rel=1e-5)
    measured = measured_curvature(loss)
    assert measured <= declared * (1 + 1e-4) + 1e-9
    assert declared <= 1.05 * measured


NOT_SMOOTH = [
    (fl.Hinge(), 1.0, 1.0),
    (fl.Perceptron(), 1.0, 0.0),
    (fl.SmoothHinge(smoothness=0.0), 1.0, 1.0),
    (fl.EpsilonInsensitive(), 0.0, 0.1),
    (fl.Quantile(0.8), 0.0, 0.0),
    (fl.AbsoluteError(), 0.0, 0.0),
    (fl.Ramp(), 1.0, -1.0),
    (fl.PairwiseHinge(), 1.0, 1.0),
]


@pytest.mark.parametrize(("loss", "y", "kink"), NOT_SMOOTH, ids=lambda v: repr(v)[:30])
def test_non_smooth_losses_declare_none(loss, y, kink):
    """``None``, and rightly: at the kink the second difference grows like 1 / h,
    so no constant bounds it; the error names the smooth alternative."""
    assert loss.smoothness_constant() is None
    assert loss.smooth_alternative

    def second(h):
        p = np.array([kink - h, kink, kink + h])
        v = loss.loss(np.full(3, y), p)
        return abs(v[0] - 2 * v[1] + v[2]) / h**2

    assert second(1e-5) > 5 * second(1e-4) > 5 * second(1e-3) > 0
    with pytest.raises(ValueError, match=re.escape(loss.smooth_alternative)):
        loss._smoothness_or_raise("optimizer='saga'")


@pytest.mark.parametrize("loss", [fl.Poisson(), fl.Tweedie(), fl.Tweedie(power=2.0)], ids=repr)
def test_log_link_losses_have_unbounded_curvature(loss):
    """Their curvature grows like exp(|p|) (towards +inf, or -inf for Gamma)."""
    assert loss.smoothness_constant() is None
    y = np.ones(4)
    p = np.array([-10.0, 10.0, -20.0, 20.0])
    h = 1e-4
    second = np.abs(loss.loss(y, p + h) - 2 * loss.loss(y, p) + loss.loss(y, p - h)) / h**2
    assert second[2:].max() > 100 * second[:2].max() > 100
    with pytest.raises(ValueError, match="no bound"):
        loss._smoothness_or_raise("optimizer='saga'")


def test_every_named_loss_declares_its_smoothness():
    """No named loss is left with the base class's answer by accident."""
    for cls in named_losses():
        assert cls.smoothness_constant is not fl.Loss.smoothness_constant, cls.__name__
        loss = cls()
        if loss.smoothness_constant() is None:
            assert loss.smooth_alternative, cls.__name__


def test_convexity_flags():
    for loss in [fl.Tukey(), fl.Cauchy(), fl.Ramp(), fl.FocalLoss(), fl.SymmetricCrossEntropy()]:
        assert not loss.is_convex
    assert fl.GeneralizedCrossEntropy().is_convex is False
    for loss in [fl.LogLoss(), fl.Huber(), fl.Quantile(), fl.SmoothHinge(), fl.Poisson()]:
        assert loss.is_convex
    assert (fl.Huber() + fl.LogCosh()).is_convex
    assert not (fl.Huber() + fl.Tukey()).is_convex


def test_multinomial_joint_constant():
    """1/2 bounds the largest eigenvalue of the finite-difference Hessian of the
    loss in the score vector, and is attained (two classes, equal scores)."""
    loss = fl.Multinomial()
    assert loss.smoothness_constant() == 0.5
    assert fl.MulticlassHinge().smoothness_constant() is None
    rng = np.random.default_rng(0)
    points = [np.zeros(2), np.array([3.0, -1.0])]
    points += [rng.normal(scale=s, size=k) for k in (2, 3, 5) for s in (0.5, 2.0, 6.0)]
    h, largest = 1e-4, 0.0
    for p in points:
        k = p.size
        basis = np.eye(k) * h
        rows = []  # value at p + a e_i + b e_j for the central second differences
        for i in range(k):
            for j in range(k):
                for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    rows.append(p + a * basis[i] + b * basis[j])
        values = loss.loss(np.zeros(len(rows), dtype=int), np.array(rows)).reshape(k, k, 4)
        hessian = (values[..., 0] - values[..., 1] - values[..., 2] + values[..., 3]) / (4 * h * h)
        largest = max(largest, float(np.linalg.eigvalsh(0.5 * (hessian + hessian.T)).max()))
    assert largest <= 0.5 + 1e-6
    assert largest >= 0.5 / 1.05


def test_sum_constant():
    """The weighted sum of the terms' constants (flattened); None with a
    non-smooth term of positive weight."""
    smooth = fl.Sum([fl.SquaredHinge(), fl.SmoothHinge(smoothness=0.5)], weights=[2.0, 3.0])
    assert smooth.smoothness_constant() == pytest.approx(2 * 2.0 + 3 * 2.0)
    # both curvatures are at their maximum on 0.5 <= y p <= 1
    assert measured_curvature(smooth) == pytest.approx(smooth.smoothness_constant(), rel=1e-4)
    nested = 0.5 * (fl.Huber() + 2.0 * fl.LogCosh())
    assert nested.smoothness_constant() == pytest.approx(0.5 * 1.0 + 1.0 * 1.0)
    with_kink = fl.Huber() + fl.Quantile(0.9)
    assert with_kink.smoothness_constant() is None
    assert "Quantile" in with_kink.smooth_alternative
    assert fl.Sum([fl.Huber(), fl.Quantile()], weights=[1.0, 0.0]).smoothness_constant() == 1.0


# ----------------------------------------------------- user-declared constants
class DeclaresTooLittle(AsymmetricSquaredError):
    """Curvature ``under`` (2 by default) below the target, 1 above: 1 is too small."""

    def smoothness_constant(self):
        return 1.0


class DeclaresEnough(AsymmetricSquaredError):
    def smoothness_constant(self):
        return max(float(self.under), 1.0)


class DeclaresNonsense(AsymmetricSquaredError):
    def smoothness_constant(self):
        return "2"


def test_check_loss_rejects_a_constant_below_the_curvature():
    with pytest.raises(ValueError) as info:
        fl.check_loss(DeclaresTooLittle())
    message = str(info.value)
    assert "DeclaresTooLittle" in message
    assert "declares 1," in message
    assert "curvature |d^2 loss / dp^2| of 2 at y=" in message
    # the estimators run the same check before fitting
    X, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20.0)
    with pytest.raises(ValueError, match="DeclaresTooLittle: smoothness_constant"):
        SGDRegressor(loss=DeclaresTooLittle(), max_iter=2).fit(X, y)


def test_check_loss_accepts_a_correct_constant():
    report = fl.check_loss(DeclaresEnough())
    assert report.smoothness == 2.0
    assert report.max_curvature == pytest.approx(2.0, rel=1e-4)
    assert report.max_curvature_at["p"] < report.max_curvature_at["y"]  # below the target
    assert fl.check_loss(DeclaresEnough(under=0.5)).max_curvature == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(TypeError, match="must return a number or None"):
        fl.check_loss(DeclaresNonsense())


def test_undeclared_user_loss_says_how_to_declare():
    loss = AsymmetricSquaredError()
    assert loss.smoothness_constant() is None
    assert fl.check_loss(loss).max_curvature is None
    with pytest.raises(ValueError, match="smoothness_constant"):
        loss._smoothness_or_raise("optimizer='saga'")


# ----------------------------------------------------------- best constants
_Y = np.random.default_rng(3).gamma(2.0, 3.0, size=41) + 0.5
_W = np.random.default_rng(4).uniform(0.0, 3.0, size=41)


@pytest.mark.parametrize(
    ("loss", "y"),
    [
        (fl.SquaredError(), _Y),
        (fl.Quantile(0.8), _Y),
        (fl.Quantile(0.1), _Y),
        (fl.AbsoluteError(), _Y),
        (fl.Huber(epsilon=1.0), _Y),
        (fl.Poisson(), _Y),
        (fl.Tweedie(power=1.5), _Y),
        (fl.CrossEntropy(), _Y / _Y.max()),
        (fl.LogLoss(), np.where(_Y > 5.0, 1.0, -1.0)),
    ],
    ids=lambda v: repr(v)[:30] if not isinstance(v, np.ndarray) else "",
)
@pytest.mark.parametrize("weighted", [False, True])
def test_best_constant_minimises_the_loss(loss, y, weighted):
    """No constant does better (scalar minimisation of the weighted mean loss)."""
    w = _W if weighted else None
    c = loss.best_constant(y, w)
    objective = lambda v: loss(y, np.full_like(y, v), w)  # noqa: E731
    ref = minimize_scalar(
        objective, bounds=(-10.0, 40.0), method="bounded", options={"xatol": 1e-10}
    )
    assert objective(c) <= ref.fun + 1e-9


def test_weighted_median_and_quantile():
    y = np.array([5.0, 1.0, 3.0, 2.0])
    assert fl.AbsoluteError().best_constant(y) == np.median(y)
    assert fl.AbsoluteError().best_constant(y[:3]) == 3.0
    # weight 3 on 1.0 holds half the total: every value in [1, 2] minimises
    assert fl.AbsoluteError().best_constant(y, [1.0, 3.0, 1.0, 1.0]) == 1.5
    assert fl.Quantile(0.8).best_constant(y, [1.0, 0.0, 0.0, 0.0]) == 5.0


# --------------------------------------------------- the start of the intercept
def test_only_fastloss_losses_start_at_the_best_constant():
    """scikit-learn's named losses keep its start at zero (bit-exact parity)."""
    for cls in named_losses():
        if cls.sklearn_name:
            assert not cls.starts_at_best_constant, cls.__name__
    assert fl.Quantile.starts_at_best_constant and fl.AbsoluteError.starts_at_best_constant


def _unscaled(seed, n=2000, d=5):
    """A linear problem with targets of order 100, not centred."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=d) + 100.0 + 5.0 * rng.normal(size=n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantile_coverage_with_defaults_on_unscaled_targets(seed):
    """Every other parameter at its default: the training coverage is within
    0.02 of q (from zero it was 0.776-0.777 on these problems)."""
    X, y = _unscaled(seed)
    model = SGDRegressor(loss=fl.Quantile(0.8), random_state=seed).fit(X, y)
    assert abs(np.mean(y <= model.predict(X)) - 0.8) < 0.02


#: (rows, features, noise, |slope|): targets 100 + X w + noise; slopes large
#: against the noise put the best constant far from the right intercept, which
#: only the default step in the targets' units (Loss.step_scale) undoes.  Rows
#: at least 50 a feature: an exact quantile fit interpolates about one point a
#: coefficient, so its coverage itself may be off by (n_features + 1) / n.
_COVERAGE_PROBLEMS = [(2000, 20, 10, 10), (5000, 10, 20, 5), (1000, 10, 50, 1), (500, 5, 1, 1)]


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.8])
@pytest.mark.parametrize("problem", _COVERAGE_PROBLEMS)
def test_quantile_coverage_with_defaults_across_scales(problem, quantile):
    n, d, noise, slope = problem
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((n, d))
    y = X @ (slope * rng.choice([-1.0, 1.0], d)) + 100.0 + noise * rng.standard_normal(n)
    model = SGDRegressor(loss=fl.Quantile(quantile), random_state=0).fit(X, y)
    assert abs(np.mean(y <= model.predict(X)) - quantile) < 0.02


def test_step_scale_is_the_spread_around_the_best_constant():
    y = np.array([0.0, 1.0, 2.0, 10.0])
    median = fl.AbsoluteError().best_constant(y)
    assert fl.AbsoluteError().step_scale(y) == pytest.approx(np.mean(np.abs(y - median)))
    assert fl.Quantile(0.8).step_scale(y) == pytest.approx(
        np.mean(np.abs(y - fl.Quantile(0.8).best_constant(y)))
    )
    assert fl.SquaredError().step_scale(y) == 1.0  # its derivative carries the scale
    assert fl.Quantile(0.5).step_scale(np.full(4, 3.0)) == 1.0  # no spread: unscaled


def test_absolute_error_starts_at_the_weighted_median():
    X, y = _unscaled(0, n=301)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=y.size)
    tiny = {"max_iter": 1, "tol": None, "eta0": 1e-12, "learning_rate": "constant"}
    model = SGDRegressor(loss=fl.AbsoluteError(), **tiny).fit(X, y)
    assert model.intercept_[0] == pytest.approx(np.median(y), abs=1e-6)
    weighted = SGDRegressor(loss=fl.AbsoluteError(), **tiny).fit(X, y, sample_weight=w)
    candidates = np.sort(y)  # a weighted median is one of the targets (or between two)
    costs = [np.dot(w, np.abs(y - c)) for c in candidates]
    assert np.dot(w, np.abs(y - weighted.intercept_[0])) == pytest.approx(min(costs), rel=1e-9)
    # given starting values, warm starts and no intercept keep their start
    given = SGDRegressor(loss=fl.AbsoluteError(), **tiny).fit(X, y, intercept_init=[0.0])
    assert abs(given.intercept_[0]) < 1e-6
    no_intercept = SGDRegressor(loss=fl.AbsoluteError(), fit_intercept=False, **tiny).fit(X, y)
    assert no_intercept.intercept_[0] == 0.0
    first = SGDRegressor(loss=fl.AbsoluteError(), **tiny).partial_fit(X, y)
    assert first.intercept_[0] == pytest.approx(np.median(y), abs=1e-6)
