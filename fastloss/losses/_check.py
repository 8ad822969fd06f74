"""check_loss: a loss's derivative against central finite differences of its value."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from .._config import fork_safe
from ._base import Loss

__all__ = ["LossCheckReport", "check_loss"]

#: Raw predictions probed, from small to large margins, both signs.
_MAGNITUDES = np.array([0.0, 1e-3, 0.05, 0.3, 0.7, 1.0, 1.5, 3.0, 8.0, 20.0, 40.0])

#: Targets probed for each target domain.
_TARGETS = {
    "binary": np.array([-1.0, 1.0]),
    "real": np.array([-10.0, -1.0, -0.3, 0.0, 0.4, 2.0, 25.0]),
    "nonnegative": np.array([0.0, 0.2, 1.0, 3.0, 17.0]),
    "positive": np.array([0.05, 0.5, 1.0, 3.0, 17.0]),
    "unit_interval": np.array([0.0, 0.1, 0.5, 0.9, 1.0]),
}

#: {user loss class: hyperparameter values checked}: weak, so that a class
#: that is gone is not kept alive with its compiled kernels (issue 21).
_CHECKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_CHECKED_LOCK = fork_safe(threading.Lock())


@dataclass
class LossCheckReport:
    """What :func:`check_loss` compared.

    Attributes
    ----------
    loss : str
        ``repr`` of the loss checked.
    n_points : int
        (target, raw prediction) pairs probed.
    n_compared : int
        Pairs where the loss is smooth and the derivative was compared with a
        central difference; at the others (kinks, e.g. the hinge at its
        margin) it was checked to lie between the one-sided differences.
    max_abs_error, max_rel_error : float
        Largest ``|derivative - finite difference|`` and that error relative
        to ``max(1, |finite difference|)``.
    worst : list of dict
        The points with the largest relative error, worst first: ``y``, ``p``,
        ``derivative``, ``finite_difference``, ``error``.
    """

    loss: str
    n_points: int
    n_compared: int
    max_abs_error: float
    max_rel_error: float
    worst: list = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.loss}: derivative matches finite differences at {self.n_points} points "
            f"({self.n_compared} smooth); max error {self.max_abs_error:.3g} "
            f"(relative {self.max_rel_error:.3g})."
        )


def _probe_points(loss: Loss, margins):
    targets = _TARGETS[loss._target_domain()]
    raw = np.unique(np.concatenate([-margins, margins])) + 0.0  # no -0.0 in reports
    if loss._target_domain() not in ("binary",):
        # regression losses are functions of p - y (or of p on a link scale):
        # probe around each target too
        raw = np.unique(np.concatenate([raw, raw / 10.0]))
    y, p = np.meshgrid(targets, raw, indexing="ij")
    return y.ravel(), p.ravel()


def check_loss(loss: Loss, *, rtol: float = 1e-4, margins=None) -> LossCheckReport:
    """Check a loss's derivative against central finite differences of its value.

    Probes targets from the loss's target domain and raw predictions from 0 to
    ±40 (``margins``), through the same compiled functions the estimators use.
    At smooth points the derivative must equal the central difference
    ``(L(p + h) - L(p - h)) / 2h`` to ``rtol`` relative to
    ``max(1, |difference|)``; at kinks (where the one-sided differences
    disagree) it must lie between them.  Value and derivative must be finite.

    Parameters
    ----------
    loss : Loss
        Built-in or user-defined loss object.
    rtol : float, default=1e-4
        Tolerated error, relative to ``max(1, |finite difference|)``.
    margins : array-like of float, optional
        Non-negative magnitudes of the raw predictions probed (both signs);
        defaults to 0 ... 40.

    Returns
    -------
    LossCheckReport

    Raises
    ------
    ValueError
        Naming the worst points (target, raw prediction, derivative returned,
        finite difference) when the derivative is wrong or a value is not finite.
    """
    if not isinstance(loss, Loss):
        raise TypeError(f"check_loss expects a fastloss.losses.Loss; got {type(loss).__name__}.")
    loss._validate()
    margins = _MAGNITUDES if margins is None else np.abs(np.asarray(margins, dtype=np.float64))
    y, p = _probe_points(loss, margins)
    h = 1e-5 * np.maximum(1.0, np.abs(p))
    with np.errstate(all="ignore"):
        value = loss.loss(y, p)
        derivative = loss.gradient(y, p)
        up, down = loss.loss(y, p + h), loss.loss(y, p - h)
        central = (up - down) / (2 * h)
        right = (up - value) / h
        left = (value - down) / h
    name = repr(loss)

    not_finite = ~(np.isfinite(value) & np.isfinite(derivative))
    if not_finite.any():
        idx = np.flatnonzero(not_finite)[:5]
        points = "; ".join(
            f"y={y[i]:g}, p={p[i]:g}: loss={value[i]!r}, derivative={derivative[i]!r}" for i in idx
        )
        raise ValueError(
            f"{name}: the loss or its derivative is not finite at {not_finite.sum()} of "
            f"{y.size} probed points, e.g. {points}. Evaluate it in a numerically stable "
            "form (log1p/expm1, split on the sign of the argument)."
        )

    scale = np.maximum(1.0, np.abs(central))
    one_sided_gap = np.abs(right - left) / np.maximum(1.0, np.abs(right) + np.abs(left))
    kink = one_sided_gap > 50 * rtol
    error = np.abs(derivative - central)
    # at a kink any value between the one-sided derivatives is a subgradient
    low, high = np.minimum(left, right), np.maximum(left, right)
    tolerance = rtol * scale
    outside = np.maximum(low - derivative, derivative - high)
    kink_error = np.maximum(outside, 0.0)
    error = np.where(kink, kink_error, error)
    relative = error / scale
    order = np.argsort(-relative)
    worst = [
        {
            "y": float(y[i]),
            "p": float(p[i]),
            "derivative": float(derivative[i]),
            "finite_difference": float(central[i]),
            "error": float(error[i]),
        }
        for i in order[:5]
    ]
    bad = error > tolerance
    if bad.any():
        points = "\n".join(
            f"  y={w['y']:g}, p={w['p']:g}: derivative {w['derivative']:.6g}, finite "
            f"difference {w['finite_difference']:.6g} (off by {w['error']:.3g})"
            for w in worst
            if w["error"] > 0
        )
        raise ValueError(
            f"{name}: the derivative disagrees with finite differences of the loss at "
            f"{int(bad.sum())} of {y.size} probed points (tolerance {rtol:g} relative to "
            f"max(1, |difference|)). Worst points:\n{points}\n"
            "Check sample_derivative: it must be d sample_loss / dp, the derivative in "
            "the raw prediction p."
        )
    return LossCheckReport(
        loss=name,
        n_points=int(y.size),
        n_compared=int((~kink).sum()),
        max_abs_error=float(error.max()),
        max_rel_error=float(relative.max()),
        worst=worst,
    )


def check_loss_once(loss: Loss) -> None:
    """Run :func:`check_loss` on a user-defined loss once per process for each
    class and hyperparameter values (what estimators call before fitting)."""
    if not type(loss)._is_user_defined():
        return
    cls, params = type(loss), tuple(loss._kernel_params().tolist())
    if params in _CHECKED.get(cls, ()):
        return
    check_loss(loss)
    with _CHECKED_LOCK:
        _CHECKED.setdefault(cls, set()).add(params)
