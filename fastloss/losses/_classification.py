"""Binary classification losses on margins ``z = y * p`` with ``y`` in {-1, +1}."""

from __future__ import annotations

import functools
from numbers import Real

import numpy as np
from scipy.special import expit
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
    smooth_alternative = "SmoothHinge or SquaredHinge"
    _parameter_constraints = {"threshold": [NON_NEGATIVE]}

    def __init__(self, threshold: float = 1.0):
        self.threshold = threshold

    def _kernel_params(self):
        return np.array([float(self.threshold)])

    def smoothness_constant(self) -> None:
        """``None``: the derivative jumps from ``-y`` to 0 at ``y p = threshold``."""
        return None


class Perceptron(Hinge):
    """Perceptron criterion ``max(0, -y p)``: hinge loss with threshold 0.

    Notes
    -----
    Target domain {-1, +1}.  Updates only on mistakes; scikit-learn's
    ``loss="perceptron"``.
    """

    name = "perceptron"
    sklearn_name = True
    smooth_alternative = "SmoothHinge, SquaredHinge or LogLoss"

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

    def smoothness_constant(self) -> float:
        """2: the second derivative is ``2 y^2 = 2`` where ``y p < threshold``, 0 beyond."""
        return 2.0


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

    def smoothness_constant(self) -> float:
        """1/4: the second derivative is ``s (1 - s) <= 1/4``, ``s = expit(y p)``."""
        return 0.25

    def best_constant(self, y, sample_weight=None) -> float:
        """The logit of the weighted fraction of positive targets (clipped to ±40)."""
        y, w = self._targets_and_weights(y, sample_weight)
        return _logit(np.dot(w, y > 0) / w.sum())


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

    def smoothness_constant(self) -> float:
        """2: the second derivative is 2 on ``-1 <= y p <= 1``, 0 elsewhere (C^1 joins)."""
        return 2.0


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
    smooth_alternative = "SmoothHinge(smoothness > 0) or SquaredHinge"
    _parameter_constraints = {"smoothness": [NON_NEGATIVE]}

    def __init__(self, smoothness: float = 1.0):
        self.smoothness = smoothness

    def _kernel_params(self):
        return np.array([float(self.smoothness)])

    def smoothness_constant(self) -> float | None:
        """``1 / smoothness``: the second derivative is ``y^2 / s = 1 / s`` on
        ``1 - s <= y p <= 1``, 0 elsewhere; ``None`` for ``s = 0`` (the hinge)."""
        self._validate()
        s = float(self.smoothness)
        return 1.0 / s if s > 0.0 else None


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
    is_convex = False  # for gamma > 0
    _parameter_constraints = {
        # beyond 50 the focusing factor of an undecided sample, 2**-gamma, is
        # below float64's resolution: a model starting at zero never moves
        "gamma": [Interval(Real, 0.0, 50.0, closed="both")],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither"), None],
    }

    def __init__(self, gamma: float = 2.0, alpha: float | None = None):
        self.gamma = gamma
        self.alpha = alpha

    def smoothness_constant(self) -> float:
        """``alpha_t max |f''|``, where with ``s = expit(y p)``, ``m = 1 - s``:
        ``f'' = s m^gamma (-gamma^2 s log s + gamma m log s + (2 gamma + 1) m)``,
        bounded (it vanishes at both ends), its maximum found on a fine grid."""
        self._validate()
        gamma, alpha_pos, alpha_neg = self._kernel_params().tolist()
        return max(alpha_pos, alpha_neg) * _max_on_grid(_focal_curvature, gamma)

    def _kernel_params(self):
        if self.alpha is None:
            return np.array([float(self.gamma), 1.0, 1.0])
        return np.array([float(self.gamma), float(self.alpha), 1.0 - float(self.alpha)])


def _logit(fraction: float) -> float:
    """``log(f / (1 - f))``, clipped to ``[-40, 40]`` (finite for 0 and 1)."""
    f = min(max(float(fraction), 1e-300), 1.0)
    return float(np.clip(np.log(f) - np.log1p(-f) if f < 1.0 else 40.0, -40.0, 40.0))


def _focal_curvature(z, gamma):
    """Second derivative of the focal loss (alpha_t = 1) in the margin ``z``."""
    s, m = expit(z), expit(-z)
    log_s = -np.logaddexp(0.0, -z)
    return s * m**gamma * (-(gamma**2) * s * log_s + gamma * m * log_s + (2 * gamma + 1) * m)


@functools.cache
def _max_on_grid(curvature, *params) -> float:
    """``max |curvature(z, *params)|`` over the margins ``z`` in [-60, 60] (the
    bound a smooth loss on the logit scale declares; memoised).

    Those curvatures vanish like ``exp(-|z|)`` in both tails for every
    hyperparameter allowed; the maximum on a grid of step 0.005 is refined on
    a grid of step 1e-6 around it, and raised by 1e-6 of itself (what the
    finer grid could still miss is far smaller).
    """
    grid = np.linspace(-60.0, 60.0, 24_001)
    k = int(np.argmax(np.abs(curvature(grid, *params))))
    fine = np.linspace(grid[k] - 0.005, grid[k] + 0.005, 10_001)
    return float(np.abs(curvature(fine, *params)).max()) * (1 + 1e-6)
