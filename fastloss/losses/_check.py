"""check_loss: a loss's derivative against central finite differences of its value,
and its declared smoothness constant against finite differences of the derivative."""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from numbers import Real

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
    smoothness : float or None
        The constant the loss declares (``smoothness_constant()``).
    max_curvature : float or None
        Largest ``|d^2 loss / dp^2|`` measured by central differences of the
        derivative at the probed points and midway between them (only when a
        constant is declared).
    max_curvature_at : dict or None
        Where: ``y`` and ``p``.
    """

    loss: str
    n_points: int
    n_compared: int
    max_abs_error: float
    max_rel_error: float
    worst: list = field(default_factory=list)
    smoothness: float | None = None
    max_curvature: float | None = None
    max_curvature_at: dict | None = None

    def __str__(self) -> str:
        text = (
            f"{self.loss}: derivative matches finite differences at {self.n_points} points "
            f"({self.n_compared} smooth); max error {self.max_abs_error:.3g} "
            f"(relative {self.max_rel_error:.3g})."
        )
        if self.max_curvature is not None:
            text += (
                f" Declared smoothness {self.smoothness:.6g} >= measured curvature "
                f"{self.max_curvature:.6g}."
            )
        return text


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

    When the loss declares a smoothness constant ``L``
    (``smoothness_constant()`` is not ``None``), the curvature
    ``|dloss(p + h) - dloss(p - h)| / 2h`` is measured at the probed points
    and midway between them; it must not exceed ``L`` by more than 0.1 %
    (plus the rounding of the difference).

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
        finite difference) when the derivative is wrong or a value is not finite;
        naming the declared constant, the curvature measured and where, when the
        declared smoothness constant is smaller than the curvature.
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
    declared = _declared_smoothness(loss)
    curvature = None if declared is None else _check_curvature(loss, declared, margins)
    return LossCheckReport(
        loss=name,
        n_points=int(y.size),
        n_compared=int((~kink).sum()),
        max_abs_error=float(error.max()),
        max_rel_error=float(relative.max()),
        worst=worst,
        smoothness=declared,
        max_curvature=None if curvature is None else curvature[0],
        max_curvature_at=None if curvature is None else curvature[1],
    )


#: Declared smoothness constants may be exceeded by this fraction of
#: themselves (the central difference of a derivative that bends within
#: ``h`` of a point may overshoot the curvature slightly).
_CURVATURE_RTOL = 1e-3


def _declared_smoothness(loss: Loss) -> float | None:
    """``loss.smoothness_constant()``, checked to be ``None`` or a finite number >= 0."""
    declared = loss.smoothness_constant()
    if declared is None:
        return None
    if isinstance(declared, bool) or not isinstance(declared, Real):
        raise TypeError(
            f"{type(loss).__name__}.smoothness_constant() must return a number or None; "
            f"got {declared!r} ({type(declared).__name__})."
        )
    if not np.isfinite(declared) or declared < 0:
        raise ValueError(
            f"{type(loss).__name__}.smoothness_constant() returned {declared!r}; an upper "
            "bound on |d^2 loss / dp^2| is a finite number >= 0 (return None for a loss "
            "whose derivative is not Lipschitz)."
        )
    return float(declared)


def _check_curvature(loss: Loss, declared: float, margins) -> tuple[float, dict]:
    """The largest ``|d^2 loss / dp^2|`` measured (central differences of the
    derivative at the probed points and midway between them) and where;
    raise ``ValueError`` when it exceeds ``declared``."""
    targets, raw = _probe_points(loss, margins)
    raw = np.unique(raw)
    raw = np.concatenate([raw, 0.5 * (raw[1:] + raw[:-1])])
    y, p = np.meshgrid(np.unique(targets), raw, indexing="ij")
    y, p = y.ravel(), p.ravel()
    h = 1e-5 * np.maximum(1.0, np.abs(p))
    with np.errstate(all="ignore"):
        up, down = loss.gradient(y, p + h), loss.gradient(y, p - h)
        curvature = np.abs(up - down) / (2 * h)
    curvature = np.where(np.isfinite(curvature), curvature, np.inf)
    # what rounding the two derivatives can put into their difference
    rounding = 4 * np.finfo(float).eps * np.maximum(np.abs(up), np.abs(down)) / (2 * h)
    allowed = declared * (1 + _CURVATURE_RTOL) + 1e-9 + np.nan_to_num(rounding)
    k = int(np.argmax(curvature))
    where = {"y": float(y[k]), "p": float(p[k])}
    bad = curvature > allowed
    if bad.any():
        raise ValueError(
            f"{type(loss).__name__}: smoothness_constant() declares {declared:.6g}, but "
            f"finite differences of the derivative measure a curvature |d^2 loss / dp^2| "
            f"of {curvature[k]:.6g} at y={where['y']:g}, p={where['p']:g} (above the "
            f"declared value at {int(bad.sum())} of {y.size} points). Return an upper "
            "bound on |d^2 loss / dp^2| over every target and raw prediction, or None "
            "when the derivative jumps."
        )
    return float(curvature[k]), where


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
