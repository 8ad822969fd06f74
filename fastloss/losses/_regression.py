"""Regression losses on the residual ``p - y``."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import Loss, weighted_quantile
from ._classification import NON_NEGATIVE


class SquaredError(Loss):
    """Half squared error ``0.5 (p - y)^2``: ordinary least squares.

    Notes
    -----
    Any finite real target.  scikit-learn's ``loss="squared_error"``.
    """

    name = "squared_error"
    sklearn_name = True
    _code = L.SQUARED_ERROR

    def smoothness_constant(self) -> float:
        """1: the second derivative of ``0.5 (p - y)^2`` is 1."""
        return 1.0

    def best_constant(self, y, sample_weight=None) -> float:
        """The weighted mean of ``y``."""
        y, w = self._targets_and_weights(y, sample_weight)
        return float(np.average(y, weights=w))


class _EpsilonLoss(Loss):
    """A regression loss with one width parameter ``epsilon``."""

    _parameter_constraints = {"epsilon": [NON_NEGATIVE]}

    def __init__(self, epsilon: float = 0.1):
        self.epsilon = epsilon

    def _kernel_params(self):
        return np.array([float(self.epsilon)])


class Huber(_EpsilonLoss):
    """Huber loss: ``0.5 r^2`` for ``|r| <= epsilon``, ``epsilon (|r| - epsilon/2)``
    beyond, with ``r = p - y``.

    Parameters
    ----------
    epsilon : float, default=0.1
        Residual size where the loss turns from quadratic to linear.

    Notes
    -----
    Any finite real target.  Robust regression: outliers pull with a bounded
    force.  scikit-learn's ``loss="huber"``.
    """

    name = "huber"
    sklearn_name = True
    _code = L.HUBER

    def smoothness_constant(self) -> float:
        """1: the second derivative is 1 for ``|p - y| < epsilon`` and 0 beyond."""
        return 1.0


class EpsilonInsensitive(_EpsilonLoss):
    """Epsilon-insensitive loss ``max(0, |y - p| - epsilon)``: linear SVR.

    Parameters
    ----------
    epsilon : float, default=0.1
        Width of the tube inside which errors cost nothing.

    Notes
    -----
    Any finite real target.  scikit-learn's ``loss="epsilon_insensitive"``.
    """

    name = "epsilon_insensitive"
    sklearn_name = True
    _code = L.EPSILON_INSENSITIVE
    smooth_alternative = "SquaredEpsilonInsensitive, Huber or LogCosh"

    def smoothness_constant(self) -> None:
        """``None``: the derivative jumps from 0 to ±1 at ``|p - y| = epsilon``."""
        return None


class SquaredEpsilonInsensitive(_EpsilonLoss):
    """Squared epsilon-insensitive loss ``max(0, |y - p| - epsilon)^2``.

    Parameters
    ----------
    epsilon : float, default=0.1
        Width of the tube inside which errors cost nothing.

    Notes
    -----
    Any finite real target.  A smooth SVR loss; scikit-learn's
    ``loss="squared_epsilon_insensitive"``.
    """

    name = "squared_epsilon_insensitive"
    sklearn_name = True
    _code = L.SQUARED_EPSILON_INSENSITIVE

    def smoothness_constant(self) -> float:
        """2: the loss is not halved, its second derivative is 2 beyond
        ``|p - y| = epsilon`` and 0 inside."""
        return 2.0


class Quantile(Loss):
    """Pinball loss ``max(q (y - p), (q - 1)(y - p))``: quantile regression.

    Parameters
    ----------
    quantile : float, default=0.5
        The quantile ``q`` in (0, 1) to predict; 0.5 is the median (half the
        absolute error).

    Notes
    -----
    Any finite real target.  The fitted model predicts the conditional
    ``q``-quantile: about a fraction ``q`` of the training targets lie below
    its predictions.  Not differentiable at ``p = y``, where the derivative is
    taken as ``-q`` (as scikit-learn's pinball loss does).  Use averaging
    (``average=True``) or a decreasing step size for an accurate solution.

    **Start.**  ``fit`` starts the intercept at the weighted ``q``-quantile of
    the targets (:meth:`best_constant`), not at zero as scikit-learn's
    estimators do: the pinball loss's derivative is bounded by ``max(q, 1 - q)``,
    so from zero an intercept of order 100 needs thousands of small steps to
    arrive, and the default schedule's steps shrink before it does.  Pass
    ``intercept_init=[0.0]`` to start at zero.  Not smooth: the
    variance-reduced solvers need a smooth loss (:attr:`smooth_alternative`).
    """

    name = "quantile"
    _code = L.QUANTILE
    smooth_alternative = "Huber or LogCosh (for the median: no smooth loss here fits a quantile)"
    starts_at_best_constant = True
    _parameter_constraints = {"quantile": [Interval(Real, 0.0, 1.0, closed="neither")]}

    def __init__(self, quantile: float = 0.5):
        self.quantile = quantile

    def _kernel_params(self):
        return np.array([float(self.quantile)])

    def smoothness_constant(self) -> None:
        """``None``: the derivative jumps from ``-q`` to ``1 - q`` at ``p = y``."""
        return None

    def best_constant(self, y, sample_weight=None) -> float:
        """The weighted ``q``-quantile of ``y`` (a minimiser of the mean pinball loss)."""
        y, w = self._targets_and_weights(y, sample_weight)
        return weighted_quantile(y, w, float(self.quantile))


class LogCosh(Loss):
    """``log(cosh(p - y))``: quadratic for small residuals, linear for large ones.

    Notes
    -----
    Any finite real target.  A smooth alternative to Huber without a width to
    tune (it turns linear around ``|r| ~ 1``, so scale the targets); its
    derivative ``tanh(p - y)`` is bounded by 1, hence robust to outliers.
    Exact for large residuals (no overflow of ``cosh``).
    """

    name = "log_cosh"
    _code = L.LOG_COSH

    def smoothness_constant(self) -> float:
        """1: the second derivative is ``1 - tanh(p - y)^2``, at most 1 (at ``p = y``)."""
        return 1.0
