"""Robust losses: classification under label noise, regression with outliers.

What makes them robust is a bounded loss: a sample the model gets badly wrong
costs at most a constant, so its derivative fades (``Ramp``, ``Tukey``: to
exactly zero; ``GeneralizedCrossEntropy``, ``SymmetricCrossEntropy``,
``Cauchy``: towards zero) and a flipped label or a gross outlier stops
pulling the weights.  The price is non-convexity: the objective may have
several minima, SGD finds one near where it starts (at zero weights, where
every sample still pulls), and a poor start or a step size too large for the
early epochs can leave it in a worse one.  Measured on noisy problems in
docs/user_guide/robust_losses.rst.

The regression losses have a width ``c`` in the units of the residual and no
scale estimate of their own: standardise the targets (or give ``c`` in the
targets' units).  Their defaults are the classical 95 %-efficiency constants
for residuals of unit standard deviation.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import expit
from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import Loss, weighted_quantile
from ._classification import NON_NEGATIVE, _max_on_grid
from ._link import LOGIT

#: A width > 0 (the residual scale of Tukey's and Cauchy's losses).
POSITIVE = Interval(Real, 0.0, np.inf, closed="neither")


class Ramp(Loss):
    """Ramp loss (truncated hinge) ``min(1 - s, max(0, 1 - y p))``.

    Equal to the hinge loss for margins ``z = y p`` above ``s`` and constant
    (``1 - s``) below: a sample misclassified by more than ``-s`` no longer
    moves the weights (Collobert et al., 2006).

    Parameters
    ----------
    s : float, default=-1.0
        Margin below which the loss is flat; must be below 1.  The default
        caps the loss at 2 (a sample counts as at most two margin violations),
        as in Collobert et al.; ``s -> -inf`` is the hinge loss.

    Notes
    -----
    Target domain {-1, +1}; link identity (no probabilities).  Use it for a
    linear SVM on labels of which a fraction is wrong (symmetric label noise).
    **Not convex** and not differentiable (derivative ``-y`` on ``s <= z <= 1``,
    0 elsewhere): SGD from zero weights starts as the hinge loss does, since
    every margin is 0 there; with averaging (``average=True``) the solution is
    steadier.  With no label noise it is the hinge loss up to the few samples
    beyond ``s``.
    """

    name = "ramp"
    _code = L.RAMP
    can_stall = True
    is_classification = True
    is_convex = False
    smooth_alternative = "SymmetricCrossEntropy or GeneralizedCrossEntropy (robust), or SmoothHinge"
    _parameter_constraints = {"s": [Interval(Real, None, 1.0, closed="neither")]}

    def __init__(self, s: float = -1.0):
        self.s = s

    def _kernel_params(self):
        return np.array([float(self.s)])

    def smoothness_constant(self) -> None:
        """``None``: the derivative jumps at ``y p = 1`` and at ``y p = s``."""
        return None


class GeneralizedCrossEntropy(Loss):
    """Generalized cross-entropy ``(1 - f^q) / q``, ``f = expit(y p)`` the
    probability the model gives the true class (Zhang & Sabuncu, 2018).

    Parameters
    ----------
    q : float, default=0.7
        In [0, 1]: ``q -> 0`` is the log loss ``-log f``, ``q = 1`` the mean
        absolute error of the probability, ``1 - f``.  Its derivative is the log
        loss's times ``f^q``: confidently misclassified samples (small ``f``),
        which under label noise are mostly the flipped ones, are down-weighted.
        0.7 is the value Zhang & Sabuncu recommend.

    Notes
    -----
    Target domain {-1, +1}; link logit, so ``predict_proba`` gives
    ``expit(p)``.  Use it for logistic regression on labels of which a fraction
    is wrong.  Smooth, bounded by ``1 / q``, and **not convex** for ``q > 0``.
    Evaluated as ``-expm1(-q softplus(-y p)) / q``, finite at any margin.
    """

    name = "generalized_cross_entropy"
    _code = L.GENERALIZED_CROSS_ENTROPY
    is_classification = True
    is_convex = False  # for q > 0
    link = LOGIT
    _parameter_constraints = {"q": [Interval(Real, 0.0, 1.0, closed="both")]}

    def __init__(self, q: float = 0.7):
        self.q = q

    def smoothness_constant(self) -> float:
        """``max |f''|`` with ``f'' = s^q m (s - q m)``, ``s = expit(y p)``,
        ``m = 1 - s`` (bounded by 1/4; 1/4 at ``q = 0``), found on a fine grid."""
        self._validate()
        return _max_on_grid(_gce_curvature, float(self.q))

    def _kernel_params(self):
        return np.array([float(self.q)])


class SymmetricCrossEntropy(Loss):
    """Symmetric cross-entropy ``alpha CE + beta RCE`` (Wang et al., 2019).

    ``CE = log(1 + exp(-y p))`` is the log loss and ``RCE`` the reverse
    cross-entropy, which with ``log 0`` taken as ``A = -4`` is
    ``-A (1 - f) = 4 expit(-y p)`` for two classes: a bounded term, four
    times the probability given to the wrong class.

    Parameters
    ----------
    alpha : float, default=0.1
        Weight of the log loss (>= 0): it drives learning where the model is
        still unsure.
    beta : float, default=1.0
        Weight of the reverse cross-entropy (>= 0): bounded, hence tolerant of
        wrong labels.  The defaults are Wang et al.'s for CIFAR-10.

    Notes
    -----
    Target domain {-1, +1}; link logit, so ``predict_proba`` gives
    ``expit(p)``.  Use it for logistic regression under label noise.  Smooth;
    **not convex** when ``beta > 0``; ``beta = 0`` is ``alpha`` times the log
    loss.  Finite at any margin.
    """

    name = "symmetric_cross_entropy"
    _code = L.SYMMETRIC_CROSS_ENTROPY
    is_classification = True
    is_convex = False  # for beta > 0
    link = LOGIT
    _parameter_constraints = {"alpha": [NON_NEGATIVE], "beta": [NON_NEGATIVE]}

    def __init__(self, alpha: float = 0.1, beta: float = 1.0):
        self.alpha = alpha
        self.beta = beta

    def smoothness_constant(self) -> float:
        """``max |f''|`` with ``f'' = s m (alpha + 4 beta (2 s - 1))``, ``s = expit(y p)``,
        ``m = 1 - s`` (at most ``alpha / 4 + 4 beta / (6 sqrt 3)``), found on a fine grid."""
        self._validate()
        return _max_on_grid(_sce_curvature, float(self.alpha), float(self.beta))

    def _kernel_params(self):
        return np.array([float(self.alpha), float(self.beta)])


class Tukey(Loss):
    """Tukey's biweight ``c^2 / 6 (1 - (1 - (r / c)^2)^3)`` for ``|r| < c``, the
    constant ``c^2 / 6`` beyond, with ``r = p - y``.

    Parameters
    ----------
    c : float, default=4.685
        Residual beyond which a sample is ignored (> 0), in the targets' units.
        4.685 gives 95 % of least squares' efficiency when the residuals'
        standard deviation is 1: standardise the targets, or set ``c`` to about
        4.7 times the noise level.

    Notes
    -----
    Any finite real target; link identity.  Use it for regression with gross
    outliers in ``y``: its derivative ``r (1 - (r / c)^2)^2`` vanishes beyond
    ``c`` (a redescending M-estimator), so an outlier, however large, stops
    pulling the fit.  **Not convex**: samples whose residual at the start
    exceeds ``c`` pull with no force, so targets far from 0 (an unscaled
    intercept) can leave SGD with nothing to learn from (when no sample pulls
    at the start, ``fit`` raises saying so); centre and scale the targets, or
    start from a Huber fit (``warm_start=True``).
    """

    name = "tukey"
    _code = L.TUKEY
    can_stall = True
    is_convex = False
    _parameter_constraints = {"c": [POSITIVE]}

    def __init__(self, c: float = 4.685):
        self.c = c

    def _kernel_params(self):
        return np.array([float(self.c)])

    def smoothness_constant(self) -> float:
        """1: with ``t = (p - y) / c``, the second derivative is ``(1 - t^2)(1 - 5 t^2)``
        for ``|t| < 1`` (1 at ``t = 0``, -0.8 at its minimum) and 0 beyond."""
        return 1.0


class Cauchy(Loss):
    """Cauchy (Lorentzian) loss ``c^2 / 2 log(1 + (r / c)^2)``, ``r = p - y``.

    Parameters
    ----------
    c : float, default=2.385
        Residual scale (> 0), in the targets' units.  2.385 gives 95 % of least
        squares' efficiency when the residuals' standard deviation is 1.

    Notes
    -----
    Any finite real target; link identity.  The negative log-likelihood of
    Cauchy-distributed residuals: for regression with heavy-tailed noise or
    outliers in ``y``.  Its derivative ``r / (1 + (r / c)^2)`` is largest at
    ``|r| = c`` and decays like ``c^2 / r``, so outliers pull little but never
    nothing (which makes it easier to start than :class:`Tukey`).  Smooth and
    **not convex** (its second derivative is negative beyond ``|r| = c``).
    Finite for any residual.
    """

    name = "cauchy"
    _code = L.CAUCHY
    is_convex = False
    _parameter_constraints = {"c": [POSITIVE]}

    def smoothness_constant(self) -> float:
        """1: with ``t = (p - y) / c``, the second derivative is
        ``(1 - t^2) / (1 + t^2)^2``, 1 at ``t = 0`` and at least -1/8."""
        return 1.0

    def __init__(self, c: float = 2.385):
        self.c = c

    def _kernel_params(self):
        return np.array([float(self.c)])


class AbsoluteError(Loss):
    """Absolute error ``|p - y|``: median (least absolute deviations) regression.

    Notes
    -----
    Any finite real target; link identity.  The fitted model predicts the
    conditional median, which outliers in ``y`` move little; the same
    minimiser as ``Quantile(0.5)`` (twice its value).  Convex but not
    differentiable at ``p = y`` (derivative taken as 0 there): use averaging
    (``average=True``) or a decreasing step size for an accurate solution.
    ``fit`` starts the intercept at the weighted median of the targets
    (:meth:`best_constant`), not at zero as scikit-learn does (see
    :class:`~fastloss.losses.Quantile`).

    The root mean squared error is not a separate loss: it is a monotone
    function of the mean squared error, so it has the same minimiser as
    :class:`SquaredError`; use it as a metric.
    """

    name = "absolute_error"
    _code = L.ABSOLUTE_ERROR
    smooth_alternative = "Huber or LogCosh"
    starts_at_best_constant = True

    def smoothness_constant(self) -> None:
        """``None``: the derivative jumps from -1 to 1 at ``p = y``."""
        return None

    def best_constant(self, y, sample_weight=None) -> float:
        """The weighted median of ``y`` (a minimiser of the mean absolute error)."""
        y, w = self._targets_and_weights(y, sample_weight)
        return weighted_quantile(y, w, 0.5)


def _gce_curvature(z, q):
    """Second derivative of the generalized cross-entropy in the margin ``z``."""
    s, m = expit(z), expit(-z)
    return s**q * m * (s - q * m)


def _sce_curvature(z, alpha, beta):
    """Second derivative of the symmetric cross-entropy in the margin ``z``."""
    s, m = expit(z), expit(-z)
    return s * m * (alpha + 4.0 * beta * (s - m))
