"""Losses with a non-identity link for regression: counts, positive amounts, probabilities.

The raw prediction ``p = x w + b`` is on the link scale: the log of the mean for
``Poisson`` and ``Tweedie``, the logit of the probability for ``CrossEntropy``;
``SGDRegressor.predict`` returns the mean (``exp(p)``) or the probability
(``expit(p)``).  The deviance losses are halved unit deviances, zero where the
predicted mean equals the target, as in ``sklearn.linear_model.PoissonRegressor``
and ``TweedieRegressor``, whose objectives they reproduce.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import Loss
from ._classification import _logit
from ._link import LOG, LOGIT

#: Why the log-link losses declare no smoothness constant, and what to do.
UNBOUNDED_CURVATURE = (
    "SquaredError on log1p(y) (the curvature exp(p) of the log link has no bound, so no "
    "step size derived from it is safe for every prediction)"
)


class CrossEntropy(Loss):
    """Cross-entropy with soft labels ``-y log(expit(p)) - (1 - y) log(1 - expit(p))``.

    Notes
    -----
    Target domain [0, 1]: each target is the probability that the sample is
    positive (label smoothing, weak supervision, aggregated annotator votes).
    Link logit: ``SGDRegressor(loss=CrossEntropy()).predict`` returns
    probabilities ``expit(p)``.  With targets in {0, 1} it is the log loss.
    Computed as ``softplus(p) - y p``, exact at any margin; it is not zero at
    its minimum when ``0 < y < 1`` (the minimum is the entropy of ``y``).
    """

    name = "cross_entropy"
    _code = L.CROSS_ENTROPY
    target_domain = "unit_interval"
    link = LOGIT

    def smoothness_constant(self) -> float:
        """1/4: the second derivative of ``softplus(p) - y p`` is ``expit(p) (1 - expit(p))``."""
        return 0.25

    def best_constant(self, y, sample_weight=None) -> float:
        """The logit of the weighted mean target (clipped to ±40)."""
        y, w = self._targets_and_weights(y, sample_weight)
        return _logit(np.average(y, weights=w))

    def _domain_advice(self):
        return (
            "Targets are probabilities of the positive class; for hard class labels "
            "use SGDClassifier(loss='log_loss')."
        )


class Poisson(Loss):
    """Half Poisson deviance ``y log(y / mu) - y + mu`` with ``mu = exp(p)``.

    Notes
    -----
    Target domain ``y >= 0`` (counts, rates with ``sample_weight`` exposure).
    Link log: ``predict`` returns ``exp(p)``.  Poisson regression, the same
    objective as :class:`sklearn.linear_model.PoissonRegressor` (whose
    ``alpha`` equals ``alpha`` here with ``penalty="l2"``).  ``exp`` is
    evaluated at ``min(p, 700)`` so that an exploding prediction yields a huge
    derivative (the divergence check then fires), never NaN.
    """

    name = "poisson"
    _code = L.POISSON
    target_domain = "nonnegative"
    link = LOG
    smooth_alternative = UNBOUNDED_CURVATURE

    def smoothness_constant(self) -> None:
        """``None``: the second derivative ``exp(p)`` has no bound over every ``p``."""
        return None

    def best_constant(self, y, sample_weight=None) -> float:
        """``log`` of the weighted mean target (``-40`` when every target is 0)."""
        return _log_mean(*self._targets_and_weights(y, sample_weight))

    def _domain_advice(self):
        return "Poisson regression models counts; shift or drop negative targets."


class Tweedie(Loss):
    """Half Tweedie deviance with log link ``mu = exp(p)``; see ``power``.

    Parameters
    ----------
    power : float, default=1.5
        Variance power, ``<= 0`` or ``>= 1``: 0 is squared error on the log
        link, 1 Poisson, in (1, 2) compound Poisson-Gamma (non-negative
        amounts with exact zeros, e.g. insurance claims), 2 Gamma, 3 inverse
        Gaussian.

    Notes
    -----
    Target domain: any real for ``power <= 0``, ``y >= 0`` for
    ``1 <= power < 2``, ``y > 0`` for ``power >= 2``.  Link log: ``predict``
    returns ``exp(p)``.  The objective of
    :class:`sklearn.linear_model.TweedieRegressor` with ``link="log"``; for
    ``power`` not in {0, 1, 2}:
    ``max(y, 0)^(2-power) / ((1-power)(2-power)) - y mu^(1-power) / (1-power)
    + mu^(2-power) / (2-power)``.
    """

    name = "tweedie"
    _code = L.TWEEDIE
    link = LOG
    smooth_alternative = UNBOUNDED_CURVATURE
    # no Tweedie distribution exists for a power in (0, 1)
    _parameter_constraints = {
        "power": [
            Interval(Real, -np.inf, 0.0, closed="right"),
            Interval(Real, 1.0, np.inf, closed="left"),
        ]
    }

    def __init__(self, power: float = 1.5):
        self.power = power

    def _kernel_params(self):
        return np.array([float(self.power)])

    def _target_domain(self):
        if self.power <= 0:
            return "real"
        return "nonnegative" if self.power < 2 else "positive"

    def smoothness_constant(self) -> None:
        """``None``: the second derivative ``(2 - power) mu^(2 - power) - (1 - power) y
        mu^(1 - power)``, ``mu = exp(p)``, has no bound over every ``p``."""
        return None

    def best_constant(self, y, sample_weight=None) -> float:
        """``log`` of the weighted mean target, where the deviance's derivative
        ``mu^(1 - power) sum w (mu - y)`` vanishes (``-40`` for a mean <= 0)."""
        return _log_mean(*self._targets_and_weights(y, sample_weight))


def _log_mean(y: np.ndarray, w: np.ndarray) -> float:
    """``log(sum(w y) / sum(w))``, ``-40`` when that mean is not positive."""
    mean = float(np.average(y, weights=w))
    return float(np.log(mean)) if mean > np.exp(-40.0) else -40.0
