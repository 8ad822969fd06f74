"""Metric-learning losses: contrastive losses of pairs, triplet losses.

They score a linear map ``L`` through squared distances
``s(x, x') = ||L x - L x'||^2``, not a linear score, so they are not
:class:`~fastloss.losses.Loss` objects: ``SGDClassifier`` and ``SGDRegressor``
refuse them (their ``loss`` takes names and ``Loss`` objects only), and the
metric learners (:class:`fastloss.SGDMetricLearner` ...) take nothing else.
Their compiled core is ``_kernels/metric_epoch.py``, reached by code.
"""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, validate_parameter_constraints

from .._kernels import _layout as L
from .._kernels.metric_epoch import metric_loss_array

__all__ = [
    "METRIC_LOSSES",
    "Contrastive",
    "MetricLoss",
    "SoftContrastive",
    "SoftTriplet",
    "Triplet",
    "metric_loss_from_name",
]


class MetricLoss(BaseEstimator):
    """Base class of the metric-learning losses (not a :class:`Loss`).

    A metric loss has one hyperparameter, ``margin`` (> 0, in squared-distance
    units), and a kind: a *pair* loss (``tuple_size = 2``) is a loss of a
    pair's label (+1 similar, -1 dissimilar) and squared distance, a *triplet*
    loss (``tuple_size = 3``) a loss of ``s(anchor, positive) -
    s(anchor, negative)``.  Only the built-in losses below exist: user-defined
    metric losses are not supported.
    """

    name: ClassVar[str]
    tuple_size: ClassVar[int]
    _code: ClassVar[int]
    _parameter_constraints: ClassVar[dict] = {
        "margin": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, margin: float = 1.0):
        self.margin = margin

    def _validate(self) -> None:
        """Raise scikit-learn's ``InvalidParameterError`` for a bad margin."""
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )

    def _kernel_params(self) -> np.ndarray:
        return np.array([float(self.margin)])

    def _evaluate(self, y, u):
        """``(value, derivative in u)`` per sample, from the kernels' own code."""
        self._validate()
        u = np.ascontiguousarray(u, dtype=np.float64)
        y = np.ascontiguousarray(np.broadcast_to(y, u.shape), dtype=np.float64)
        if u.ndim != 1 or u.shape[0] == 0:
            raise ValueError(f"Expected a non-empty 1-D array of distances; got shape {u.shape}.")
        if not np.isfinite(u).all():
            raise ValueError("The squared distances contain NaN or infinity.")
        value, derivative = np.empty_like(u), np.empty_like(u)
        metric_loss_array(self._code, y, u, self._kernel_params(), value, derivative)
        return value, derivative


class _PairLoss(MetricLoss):
    tuple_size = 2

    def _pairs(self, y_true, sq_distance):
        y = np.asarray(y_true, dtype=np.float64)
        s = np.asarray(sq_distance, dtype=np.float64)
        if y.shape != s.shape:
            raise ValueError(
                f"y_true and sq_distance must have the same shape; got {y.shape} and {s.shape}."
            )
        if not np.isin(y, (-1.0, 1.0)).all():
            raise ValueError("Pair labels must be +1 (similar) or -1 (dissimilar).")
        return self._evaluate(y, s)

    def loss(self, y_true, sq_distance) -> np.ndarray:
        """Per-pair loss.

        Parameters
        ----------
        y_true : array-like of shape (n_pairs,)
            +1 for a similar pair, -1 for a dissimilar one.
        sq_distance : array-like of shape (n_pairs,)
            Squared distances ``||L x - L x'||^2``.

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        return self._pairs(y_true, sq_distance)[0]

    def gradient(self, y_true, sq_distance) -> np.ndarray:
        """Per-pair derivative of the loss in the squared distance.

        Parameters
        ----------
        y_true : array-like of shape (n_pairs,)
        sq_distance : array-like of shape (n_pairs,)

        Returns
        -------
        ndarray of shape (n_pairs,)
        """
        return self._pairs(y_true, sq_distance)[1]

    def __call__(self, y_true, sq_distance) -> float:
        """Mean loss over the pairs."""
        return float(self.loss(y_true, sq_distance).mean())


class _TripletLoss(MetricLoss):
    tuple_size = 3

    def _triplets(self, sq_distance_positive, sq_distance_negative):
        s_p = np.asarray(sq_distance_positive, dtype=np.float64)
        s_n = np.asarray(sq_distance_negative, dtype=np.float64)
        if s_p.shape != s_n.shape:
            raise ValueError(
                "sq_distance_positive and sq_distance_negative must have the same shape; "
                f"got {s_p.shape} and {s_n.shape}."
            )
        return self._evaluate(1.0, s_p - s_n)

    def loss(self, sq_distance_positive, sq_distance_negative) -> np.ndarray:
        """Per-triplet loss.

        Parameters
        ----------
        sq_distance_positive : array-like of shape (n_triplets,)
            Squared distances from each anchor to its positive.
        sq_distance_negative : array-like of shape (n_triplets,)
            Squared distances from each anchor to its negative.

        Returns
        -------
        ndarray of shape (n_triplets,)
        """
        return self._triplets(sq_distance_positive, sq_distance_negative)[0]

    def gradient(self, sq_distance_positive, sq_distance_negative) -> np.ndarray:
        """Per-triplet derivative of the loss in ``s(a, p) - s(a, n)`` (its
        derivative in ``s(a, n)`` is the opposite).

        Parameters
        ----------
        sq_distance_positive : array-like of shape (n_triplets,)
        sq_distance_negative : array-like of shape (n_triplets,)

        Returns
        -------
        ndarray of shape (n_triplets,)
        """
        return self._triplets(sq_distance_positive, sq_distance_negative)[1]

    def __call__(self, sq_distance_positive, sq_distance_negative) -> float:
        """Mean loss over the triplets."""
        return float(self.loss(sq_distance_positive, sq_distance_negative).mean())


class Contrastive(_PairLoss):
    """Contrastive loss of labelled pairs, on squared distances.

    ``s`` for a similar pair (``y = +1``), ``max(0, margin - s)`` for a
    dissimilar one (``y = -1``), where ``s = ||L x - L x'||^2``: similar pairs
    are pulled together, dissimilar ones pushed beyond the margin (Hadsell,
    Chopra and LeCun, 2006, written on squared distances as MMC and ITML
    constrain them, which keeps the gradient an outer product without a
    division by the distance).

    Parameters
    ----------
    margin : float, default=1.0
        Squared distance beyond which a dissimilar pair costs nothing.
    """

    name = "contrastive"
    _code = L.CONTRASTIVE


class SoftContrastive(_PairLoss):
    """Contrastive loss with a smooth push: ``s`` for a similar pair,
    ``softplus(margin - s) = log(1 + exp(margin - s))`` for a dissimilar one.

    Parameters
    ----------
    margin : float, default=1.0
        Squared distance around which the push on dissimilar pairs fades.
    """

    name = "soft_contrastive"
    _code = L.SOFT_CONTRASTIVE


class Triplet(_TripletLoss):
    """Triplet (large-margin) loss: ``max(0, margin + s(a, p) - s(a, n))``.

    The anchor ``a`` should be closer to the positive ``p`` (same class) than
    to the negative ``n`` by ``margin`` in squared distance (Weinberger and
    Saul's LMNN triplets; Schultz and Joachims, 2003).

    Parameters
    ----------
    margin : float, default=1.0
    """

    name = "triplet"
    _code = L.TRIPLET


class SoftTriplet(_TripletLoss):
    """Smooth triplet loss: ``softplus(margin + s(a, p) - s(a, n))``, the
    logistic loss of the triplet's order.

    Parameters
    ----------
    margin : float, default=1.0
    """

    name = "soft_triplet"
    _code = L.SOFT_TRIPLET


#: The metric losses by name, for the metric learners' ``loss`` parameter.
METRIC_LOSSES = {cls.name: cls for cls in (Contrastive, SoftContrastive, Triplet, SoftTriplet)}


def metric_loss_from_name(name: str) -> MetricLoss:
    """The metric loss object for a name of :data:`METRIC_LOSSES` (default margin)."""
    try:
        return METRIC_LOSSES[name]()
    except KeyError:
        raise ValueError(
            f"Unknown metric loss {name!r}; the names are {sorted(METRIC_LOSSES)}."
        ) from None
