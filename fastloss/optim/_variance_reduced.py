"""Variance-reduced solvers: SAGA and SVRG.

Each class holds hyperparameters only; the epochs are compiled in
``fastloss._kernels.vr_epoch`` and run by ``linear_model._vr_runner``
(formulas, step sizes and stopping rule: ``docs/user_guide/optimizers.rst``,
"Variance-reduced solvers").
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

from sklearn.utils._param_validation import Interval

from .._kernels import _layout as L
from ._base import POSITIVE, Optimizer

__all__ = ["SAGA", "SVRG"]


class _VarianceReduced:
    """What SAGA and SVRG share (a mixin, not an optimizer itself): a constant
    step from the loss's smoothness, and ``tol`` as a bound on the relative
    change of the weights."""

    is_variance_reduced: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict] = {"step": [POSITIVE, None]}


class SAGA(_VarianceReduced, Optimizer):
    """SAGA (Defazio, Bach & Lacoste-Julien, 2014): one stored derivative a sample.

    Each step on sample ``i`` replaces its stored derivative ``d_i`` by a fresh
    one and moves the weights along
    ``(d_i(new) - d_i(old)) x_i + mean_j(d_j x_j) + l2 w``, then applies the L1
    part of the penalty as a proximal step (soft-thresholding).  The stored
    derivatives are one float a sample (a vector of one a class for a
    multinomial model); on sparse rows the steps of the features a row does
    not touch are applied just in time, so an epoch costs O(nnz).  It converges
    linearly to the exact optimum of a smooth loss with an L2 penalty, and to
    the optimum with L1 / elastic net.

    Parameters
    ----------
    step : float or None, default=None
        Constant step size.  ``None`` derives it from the data and the loss:
        ``1 / (2 L + min(2 n mu, L))`` with ``L = L_loss * max_i sw_i
        (||x_i||^2 + fit_intercept) + mu`` (``L_loss``: the loss's
        :meth:`~fastloss.losses.Loss.smoothness_constant`, ``mu = alpha (1 - l1_ratio)``
        the strong convexity of the L2 part, ``n`` the training rows), the
        step of Defazio et al. (2014) for strongly convex objectives as
        scikit-learn's SAG solver computes it; at most ``1 / (2 L)``.

    Notes
    -----
    ``tol`` (the estimator's) stops training at the end of the first epoch
    where ``max|w - w_prev| / max|w| < tol`` over the coefficients and the
    intercept (scikit-learn's SAG/SAGA rule; with ``early_stopping`` the
    validation score decides instead, as for the other optimizers);
    ``tol=None`` runs ``max_iter`` epochs.  ``learning_rate``, ``eta0``,
    ``power_t`` and ``batch_size`` do not apply (one sample a step), and
    ``average`` raises.  Needs a smooth loss
    (:meth:`~fastloss.losses.Loss.smoothness_constant` not None): hinge,
    perceptron, epsilon-insensitive, absolute error and quantile raise an
    error naming the smooth alternative.

    Each ``fit`` and ``partial_fit`` call starts its table with one
    full-gradient pass at its starting weights (``coef_init``, the
    ``warm_start`` solution or the previous ``partial_fit`` call's weights;
    from zero weights, a zero table), so a warm start at the optimum stays
    there; the table itself is not kept
    between calls (a ``partial_fit`` call on new rows has no derivatives stored
    for them anyway).
    """

    name = "saga"
    _code = L.SAGA

    def __init__(self, step: float | None = None):
        self.step = step


class SVRG(_VarianceReduced, Optimizer):
    """SVRG (Johnson & Zhang, 2013): a snapshot and its full gradient.

    Every ``update_every`` epochs the full gradient ``mu = mean_j(d_j x_j)`` is
    computed at the current weights (the snapshot), and each step on sample
    ``i`` moves along ``(d_i(w) - d_i(snapshot)) x_i + mu + l2 w``, then applies
    the L1 part as a proximal step.  The snapshot's derivatives are kept, one
    float a sample, so that a step needs one dot product.

    Parameters
    ----------
    step : float or None, default=None
        Constant step size.  ``None``: ``1 / (4 L)`` with ``L = L_loss *
        max_i sw_i (||x_i||^2 + fit_intercept) + mu`` as for :class:`SAGA`;
        Johnson & Zhang's analysis needs a step below ``1 / (4 L)``.
    update_every : int, default=2
        Epochs between snapshots: Johnson & Zhang's ``m = 2n`` inner steps
        for convex losses.  The full-gradient pass does not count as an epoch.

    Notes
    -----
    ``tol`` stops training as for :class:`SAGA` (the relative change of the
    weights over an epoch).  ``learning_rate``, ``eta0``, ``power_t`` and
    ``batch_size`` do not apply.  Each ``fit`` and ``partial_fit`` call starts
    with a snapshot at its starting weights.
    """

    name = "svrg"
    _code = L.SVRG
    _parameter_constraints: ClassVar[dict] = {
        **_VarianceReduced._parameter_constraints,
        "update_every": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, step: float | None = None, update_every: int = 2):
        self.step = step
        self.update_every = update_every
