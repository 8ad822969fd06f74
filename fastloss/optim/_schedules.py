"""Learning-rate schedules: the step size ``eta_t`` of update ``t`` (t = 1, 2, ...).

A schedule scales the optimizer's base step size ``lr`` (the estimator's
``eta0`` unless the optimizer sets ``lr``).  Like optimizers, schedules are
parameter holders whose compiled form is an integer code plus float64
parameters (``fastloss._kernels._optim_rules.step_eta``); ``t`` counts
optimizer updates (mini-batches), not epochs.  scikit-learn's four schedules
carry their ``learning_rate`` name, from which :data:`SCHEDULES` is built.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from .._kernels import _layout as L
from .._registry import named_subclasses

__all__ = [
    "Schedule",
    "Constant",
    "Optimal",
    "InvScaling",
    "Adaptive",
    "Cosine",
    "ExponentialDecay",
    "StepDecay",
    "LinearWarmup",
    "SCHEDULES",
    "schedule_from_name",
]

#: A number of updates >= 1.
STEPS = Interval(Integral, 1, None, closed="left")


class Schedule(BaseEstimator):
    """Base class of learning-rate schedules.

    Subclasses set ``_code`` (one of ``_kernels._layout``'s schedule codes),
    ``name`` (scikit-learn's ``learning_rate`` string, for its four schedules),
    ``_parameter_constraints`` (scikit-learn's) and implement :meth:`value`,
    the closed form the compiled kernel evaluates.
    """

    _code: ClassVar[int]
    name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict] = {}

    def _kernel_params(self) -> tuple[float, float]:
        """``(P0, P1)`` as ``step_eta`` reads them."""
        return 0.0, 0.0

    def _validate(self) -> None:
        """Raise ``ValueError`` (scikit-learn's ``InvalidParameterError``) for
        invalid parameters."""
        self._validate_params()

    def _warmup_steps(self) -> int:
        return 0

    def value(self, t: int, lr: float, alpha: float = 0.0, optimal_t0: float = 0.0) -> float:
        """Step size of update ``t`` (t >= 1) for base step size ``lr``.

        Parameters
        ----------
        t : int
            Update number, from 1.
        lr : float
            Base step size.
        alpha : float, default=0.0
            Penalty strength (``Optimal`` only).
        optimal_t0 : float, default=0.0
            Offset of ``Optimal`` (set by the estimator).

        Returns
        -------
        float
        """
        raise NotImplementedError


class Constant(Schedule):
    """``eta_t = lr`` (scikit-learn's ``"constant"``)."""

    _code = L.CONSTANT
    name = "constant"

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        return lr


class Adaptive(Constant):
    """``lr``, divided by 5 whenever ``n_iter_no_change`` epochs fail to improve by ``tol``
    (scikit-learn's ``"adaptive"``; the division happens between epochs)."""

    name = "adaptive"


class InvScaling(Schedule):
    """``eta_t = lr / t ** power_t`` (scikit-learn's ``"invscaling"``).

    Parameters
    ----------
    power_t : float, default=0.5
    """

    _code = L.INVSCALING
    name = "invscaling"
    _parameter_constraints = {"power_t": [Interval(Real, 0.0, np.inf, closed="left")]}

    def __init__(self, power_t: float = 0.5):
        self.power_t = power_t

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        return lr / t**self.power_t


class Optimal(Schedule):
    """``eta_t = 1 / (alpha (t0 + t - 1))`` (scikit-learn's ``"optimal"``, Bottou's).

    For plain SGD ``t0`` follows Bottou's heuristic, as in scikit-learn (and
    ``lr`` is not used); for every other optimizer ``t0 = 1 / (alpha lr)``, so
    that the first step is ``lr`` and steps decay like ``1 / (alpha t)`` once
    ``t`` passes ``t0``.  Needs ``alpha > 0``.
    """

    _code = L.OPTIMAL
    name = "optimal"

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        return 1.0 / (alpha * (optimal_t0 + t - 1.0))


class Cosine(Schedule):
    """Cosine decay (Loshchilov & Hutter, 2017, without restarts).

    ``eta_t = lr (f + (1 - f) (1 + cos(pi min(t - 1, T) / T)) / 2)``: from ``lr``
    down to ``f lr`` over ``T = decay_steps`` updates, then constant.

    Parameters
    ----------
    decay_steps : int, default=1000
    final_fraction : float, default=0.0
        ``f`` in [0, 1].
    """

    _code = L.COSINE
    _parameter_constraints = {
        "decay_steps": [STEPS],
        "final_fraction": [Interval(Real, 0.0, 1.0, closed="both")],
    }

    def __init__(self, decay_steps: int = 1000, final_fraction: float = 0.0):
        self.decay_steps = decay_steps
        self.final_fraction = final_fraction

    def _kernel_params(self):
        return float(self.decay_steps), float(self.final_fraction)

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        u = min(t - 1, self.decay_steps) / self.decay_steps
        f = self.final_fraction
        return lr * (f + (1.0 - f) * 0.5 * (1.0 + math.cos(math.pi * u)))


class ExponentialDecay(Schedule):
    """``eta_t = lr * decay_rate ** ((t - 1) / decay_steps)``.

    Parameters
    ----------
    decay_rate : float, default=0.5
        In (0, 1].
    decay_steps : int, default=1000
        Updates over which the step size is multiplied by ``decay_rate``.
    """

    _code = L.EXPONENTIAL
    _parameter_constraints = {
        "decay_rate": [Interval(Real, 0.0, 1.0, closed="right")],
        "decay_steps": [STEPS],
    }

    def __init__(self, decay_rate: float = 0.5, decay_steps: int = 1000):
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps

    def _kernel_params(self):
        return float(self.decay_rate), float(self.decay_steps)

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        return lr * self.decay_rate ** ((t - 1) / self.decay_steps)


class StepDecay(Schedule):
    """``eta_t = lr * gamma ** floor((t - 1) / step_size)``: a drop every ``step_size`` updates.

    Parameters
    ----------
    step_size : int, default=1000
    gamma : float, default=0.1
        In (0, 1].
    """

    _code = L.STEP
    _parameter_constraints = {
        "step_size": [STEPS],
        "gamma": [Interval(Real, 0.0, 1.0, closed="right")],
    }

    def __init__(self, step_size: int = 1000, gamma: float = 0.1):
        self.step_size = step_size
        self.gamma = gamma

    def _kernel_params(self):
        return float(self.gamma), float(self.step_size)

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        return lr * self.gamma ** ((t - 1) // self.step_size)


class LinearWarmup(Schedule):
    """Linear warm-up before another schedule.

    ``eta_t = s(1) t / W`` for ``t <= W = warmup_steps``, then ``s(t - W)``,
    where ``s`` is the wrapped schedule.

    Parameters
    ----------
    schedule : Schedule or str, default="constant"
        The schedule after the warm-up (not another warm-up), or the name of
        one of scikit-learn's four.
    warmup_steps : int, default=100
        0 means no warm-up (handy in a parameter search).
    """

    # set below SCHEDULES, whose names it accepts; that the schedule is no
    # LinearWarmup is checked by _validate
    _parameter_constraints: ClassVar[dict]

    def __init__(self, schedule: Schedule | str = "constant", warmup_steps: int = 100):
        self.schedule = schedule
        self.warmup_steps = warmup_steps

    def _inner(self) -> Schedule:
        return (
            schedule_from_name(self.schedule) if isinstance(self.schedule, str) else self.schedule
        )

    @property
    def _code(self):
        return self._inner()._code

    @property
    def name(self):
        return self._inner().name

    def _validate(self):
        super()._validate()
        if isinstance(self.schedule, LinearWarmup):
            raise ValueError(
                "The 'schedule' parameter of LinearWarmup must be a Schedule other than "
                f"LinearWarmup (or a scikit-learn schedule name). Got {self.schedule!r} instead."
            )
        self._inner()._validate()

    def _kernel_params(self):
        return self._inner()._kernel_params()

    def _warmup_steps(self):
        return int(self.warmup_steps)

    def value(self, t, lr, alpha=0.0, optimal_t0=0.0):
        inner, w = self._inner(), self.warmup_steps
        if t <= w:
            return inner.value(1, lr, alpha, optimal_t0) * t / w
        return inner.value(t - w, lr, alpha, optimal_t0)


#: scikit-learn's ``learning_rate`` names, each with its schedule class.
SCHEDULES = {cls.name: cls for cls in named_subclasses(Schedule, __package__)}

LinearWarmup._parameter_constraints = {
    "schedule": [StrOptions(set(SCHEDULES)), Schedule],
    "warmup_steps": [Interval(Integral, 0, None, closed="left")],
}


def schedule_from_name(name: str, power_t: float = 0.5) -> Schedule:
    """The schedule object of a scikit-learn ``learning_rate`` name; ``power_t``
    goes to the schedule that has one, as the estimators' ``power_t`` does."""
    cls = SCHEDULES[name]
    if "power_t" in cls._get_param_names():
        return cls(power_t=power_t)
    return cls()
