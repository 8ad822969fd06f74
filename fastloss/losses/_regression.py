"""Regression losses on the residual ``p - y``."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import Loss
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
    """

    name = "quantile"
    _code = L.QUANTILE
    _parameter_constraints = {"quantile": [Interval(Real, 0.0, 1.0, closed="neither")]}

    def __init__(self, quantile: float = 0.5):
        self.quantile = quantile

    def _kernel_params(self):
        return np.array([float(self.quantile)])


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
