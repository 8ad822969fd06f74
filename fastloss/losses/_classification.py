"""Binary classification losses on margins ``z = y * p`` with ``y`` in {-1, +1}."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import Loss
from ._link import CLIPPED_LINEAR, LOGIT

#: A finite real number >= 0 (the widths and exponents of the losses).
NON_NEGATIVE = Interval(Real, 0.0, np.inf, closed="left")


class Hinge(Loss):
    """Hinge loss ``max(0, threshold - y p)``: the linear SVM.

    Parameters
    ----------
    threshold : float, default=1.0
        Margin below which a sample is penalised; ``threshold=0`` is the
        perceptron criterion.

    Notes
    -----
    Target domain {-1, +1}; no probabilities (use ``LogLoss`` or
    ``ModifiedHuber``, or calibrate).  Use it for a maximum-margin linear
    classifier; it is scikit-learn's default ``loss="hinge"``.
    """

    name = "hinge"
    sklearn_name = True
    _code = L.HINGE
    is_classification = True
    _parameter_constraints = {"threshold": [NON_NEGATIVE]}

    def __init__(self, threshold: float = 1.0):
        self.threshold = threshold

    def _kernel_params(self):
        return np.array([float(self.threshold)])


class Perceptron(Hinge):
    """Perceptron criterion ``max(0, -y p)``: hinge loss with threshold 0.

    Notes
    -----
    Target domain {-1, +1}.  Updates only on mistakes; scikit-learn's
    ``loss="perceptron"``.
    """

    name = "perceptron"
    sklearn_name = True

    def __init__(self):
        pass

    def _kernel_params(self):
        return np.zeros(1)


class SquaredHinge(Loss):
    """Squared hinge ``max(0, threshold - y p) ** 2``: a differentiable SVM loss.

    Parameters
    ----------
    threshold : float, default=1.0
        Margin below which a sample is penalised.

    Notes
    -----
    Target domain {-1, +1}.  Smooth, so it converges more steadily than
    hinge; penalises large violations quadratically (less robust to outliers).
    """

    name = "squared_hinge"
    sklearn_name = True
    _code = L.SQUARED_HINGE
    is_classification = True
    _parameter_constraints = {"threshold": [NON_NEGATIVE]}

    def __init__(self, threshold: float = 1.0):
        self.threshold = threshold

    def _kernel_params(self):
        return np.array([float(self.threshold)])


class LogLoss(Loss):
    """Logistic loss ``log(1 + exp(-y p))``: logistic regression.

    Notes
    -----
    Target domain {-1, +1}; link logit, so ``predict_proba`` gives
    ``expit(p)``.  Evaluated without overflow: at ``|y p| = 1e6`` the loss is
    exactly ``1e6`` or ``0``.  scikit-learn's ``loss="log_loss"``.
    """

    name = "log_loss"
    sklearn_name = True
    _code = L.LOG
    is_classification = True
    link = LOGIT


class ModifiedHuber(Loss):
    """Modified Huber: ``(1 - y p)^2`` for ``y p`` in [-1, 1], ``-4 y p`` below,
    0 above.

    Notes
    -----
    Target domain {-1, +1}.  Smooth and robust to outliers; gives probability
    estimates ``(clip(p, -1, 1) + 1) / 2``.  scikit-learn's
    ``loss="modified_huber"``.
    """

    name = "modified_huber"
    sklearn_name = True
    _code = L.MODIFIED_HUBER
    is_classification = True
    link = CLIPPED_LINEAR


class SmoothHinge(Loss):
    """Quadratically smoothed hinge: 0 for ``z >= 1``, ``(1 - z)^2 / (2 s)`` on
    ``[1 - s, 1]``, ``1 - z - s / 2`` below, with ``z = y p`` and ``s`` the
    smoothness.

    Parameters
    ----------
    smoothness : float, default=1.0
        Width of the quadratic piece; 0 is the hinge loss.  Its derivative is
        ``1 / smoothness``-Lipschitz.

    Notes
    -----
    Target domain {-1, +1}; no probabilities.  A linear SVM whose loss is
    differentiable, so SGD steps do not jump at the margin (Shalev-Shwartz &
    Zhang, 2013); unlike the squared hinge it stays linear (robust) for badly
    misclassified samples.
    """

    name = "smooth_hinge"
    _code = L.SMOOTH_HINGE
    is_classification = True
    _parameter_constraints = {"smoothness": [NON_NEGATIVE]}

    def __init__(self, smoothness: float = 1.0):
        self.smoothness = smoothness

    def _kernel_params(self):
        return np.array([float(self.smoothness)])


class FocalLoss(Loss):
    """Binary focal loss ``-alpha_t (1 - q)^gamma log(q)``, ``q = expit(y p)`` the
    probability the model gives the true class (Lin et al., 2017).

    Parameters
    ----------
    gamma : float in [0, 50], default=2.0
        Focusing exponent: well-classified samples (``q`` near 1) are
        down-weighted by ``(1 - q)^gamma``.  ``gamma=0`` is the log loss.
    alpha : float or None, default=None
        Weight of the positive class in (0, 1), the negative class getting
        ``1 - alpha``; ``None`` weighs both classes 1.  (``class_weight`` of the
        estimator does the same job.)

    Notes
    -----
    Target domain {-1, +1}; link logit, so ``predict_proba`` gives
    ``expit(p)``.  For class imbalance with many easy negatives.  Not convex
    for ``gamma > 0``.  Evaluated in log space, finite at any margin.
    """

    name = "focal"
    _code = L.FOCAL
    is_classification = True
    link = LOGIT
    _parameter_constraints = {
        # beyond 50 the focusing factor of an undecided sample, 2**-gamma, is
        # below float64's resolution: a model starting at zero never moves
        "gamma": [Interval(Real, 0.0, 50.0, closed="both")],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither"), None],
    }

    def __init__(self, gamma: float = 2.0, alpha: float | None = None):
        self.gamma = gamma
        self.alpha = alpha

    def _kernel_params(self):
        if self.alpha is None:
            return np.array([float(self.gamma), 1.0, 1.0])
        return np.array([float(self.gamma), float(self.alpha), 1.0 - float(self.alpha)])
