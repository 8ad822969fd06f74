"""From the ``optimizer`` / ``learning_rate`` / ``batch_size`` settings to kernel inputs."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .._kernels import _layout as L
from .._registry import named_subclasses
from . import (
    _optimizers,  # noqa: F401 (defines the classes the registry lists)
    _variance_reduced,  # noqa: F401 (SAGA, SVRG)
)
from ._base import Optimizer
from ._schedules import SCHEDULES, Adaptive, LinearWarmup, Schedule, schedule_from_name

__all__ = [
    "OPTIMIZERS",
    "OptimConfig",
    "optimizer_from_name",
    "resolve_optimizer",
]


def _registry() -> dict:
    names = {}
    for cls in named_subclasses(Optimizer, __package__):
        names[cls.name] = cls
        for alias, params in cls.aliases.items():
            names[alias] = functools.partial(cls, **params)
    return names


#: Names accepted by the estimators' ``optimizer`` parameter, each with a
#: callable that makes a fresh optimizer; built from the classes' ``name`` and
#: ``aliases``.
OPTIMIZERS = _registry()


def optimizer_from_name(name: str) -> Optimizer:
    """A fresh optimizer object for one of :data:`OPTIMIZERS`' names.

    Raises
    ------
    ValueError
        For a name no built-in optimizer carries.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer {name!r}; the optimizer names are {list(OPTIMIZERS)}.")
    return OPTIMIZERS[name]()


@dataclass
class OptimConfig:
    """What the mini-batch kernel needs beyond the plain-SGD settings.

    Attributes
    ----------
    optimizer : Optimizer
    schedule : Schedule
    batch_size : int
    """

    optimizer: Optimizer
    schedule: Schedule
    batch_size: int

    def extend_hyper(self, hyper: np.ndarray, eta0: float, alpha: float) -> np.ndarray:
        """``hyper`` (``_layout``'s slots) extended with the optimizer's slots.

        ``eta0`` is the base step size; ``Optimal``'s offset becomes
        ``1 / (alpha eta0)`` for every rule other than plain SGD.
        """
        h = np.zeros(L.O_SIZE)
        h[: L.H_SIZE] = hyper
        h[L.H_SCHEDULE] = self.schedule._code
        h[L.H_ETA0] = eta0
        if self.schedule._code == L.OPTIMAL and not self.optimizer.is_plain_sgd:
            h[L.H_OPTIMAL_T0] = 1.0 / (alpha * eta0)
        if self.schedule._code == L.INVSCALING:
            inner = getattr(self.schedule, "_inner", lambda: self.schedule)()
            h[L.H_POWER_T] = inner.power_t
        h[L.O_CODE] = self.optimizer._code
        h[[L.O_P0, L.O_P1, L.O_EPS]] = self.optimizer._kernel_params()
        h[L.O_BATCH] = self.batch_size
        h[[L.O_SCHED_P0, L.O_SCHED_P1]] = self.schedule._kernel_params()
        h[L.O_WARMUP] = self.schedule._warmup_steps()
        return h


def _check_not_nested_warmup(schedule) -> None:
    """Raise ``ValueError`` for a ``LinearWarmup`` around another one (itself
    included), before ``clone`` or ``get_params`` recurse into it without end."""
    if isinstance(schedule, LinearWarmup) and isinstance(schedule.schedule, LinearWarmup):
        inner = "itself" if schedule.schedule is schedule else "another LinearWarmup"
        raise ValueError(
            f"The 'schedule' parameter of LinearWarmup must be a Schedule other than "
            f"LinearWarmup (or a scikit-learn schedule name); this LinearWarmup wraps "
            f"{inner}. Wrap the schedule to warm up once: LinearWarmup(schedule=...)."
        )


def resolve_optimizer(
    optimizer: Optimizer | str,
    learning_rate: Schedule | str,
    *,
    eta0: float,
    power_t: float,
    alpha: float,
    batch_size: int,
    average: bool | int,
    untuned: bool = False,
) -> tuple[str, float, float, OptimConfig | None]:
    """Resolve the optimizer settings of an estimator and check their combinations.

    A rule other than plain SGD whose ``lr`` is None trains *untuned* when
    ``untuned`` is true (the estimator's ``learning_rate`` and ``eta0`` are at
    their defaults): with its own default step (``_default_step``) under the
    ``"adaptive"`` schedule, so that the default ``tol`` lowers the step each
    time the epochs stall instead of stopping the fit at the noise level of the
    first step (``docs/user_guide/optimizers.rst``, "Defaults that converge
    untuned").  Any ``lr``, ``learning_rate`` or ``eta0`` the user set is used
    exactly as set; plain SGD keeps scikit-learn's defaults.

    Parameters
    ----------
    optimizer : Optimizer or str
        The estimator's ``optimizer`` parameter (an object is cloned, not changed).
    learning_rate : Schedule or str
        Its ``learning_rate`` parameter.
    eta0, power_t, alpha : float
        Its ``eta0``, ``power_t`` (for a schedule given by name) and ``alpha``.
    batch_size : int
    average : bool or int
    untuned : bool, default=False
        Whether the estimator's ``learning_rate`` and ``eta0`` are both at
        their defaults.

    Returns
    -------
    schedule : str
        scikit-learn's ``learning_rate`` name of the schedule (the training loop
        divides the step size of ``"adaptive"`` and tolerates clipped
        derivatives under ``"optimal"``), or the schedule class name.
    eta0 : float
        Base step size: the optimizer's ``lr``, else the estimator's ``eta0``.
    power_t : float
    config : OptimConfig or None
        ``None`` when scikit-learn's plain SGD kernel runs (plain SGD,
        ``batch_size=1``, one of scikit-learn's four schedules).
    """
    given_optimizer = optimizer
    if isinstance(optimizer, str):
        optimizer = optimizer_from_name(optimizer)
    else:
        optimizer = clone(optimizer)
    optimizer._validate()
    if isinstance(learning_rate, str):
        schedule = schedule_from_name(learning_rate, power_t)
    else:
        _check_not_nested_warmup(learning_rate)
        schedule = clone(learning_rate)
        schedule._validate()
    if optimizer.is_variance_reduced:
        return _variance_reduced_config(optimizer, given_optimizer, schedule, batch_size, average)
    step_size = optimizer._step_size(eta0)
    power_t = float(getattr(schedule, "power_t", power_t))
    name = schedule.name or type(schedule).__name__
    if untuned and optimizer.lr is None and hasattr(optimizer, "_default_step"):
        step_size = optimizer._default_step(int(batch_size))
        schedule, name = Adaptive(), Adaptive.name
    if name == "optimal" and alpha == 0:
        raise ValueError(
            "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
            "to compute the optimal learning rate."
        )
    sklearn_schedule = type(schedule) in SCHEDULES.values()
    if optimizer.is_plain_sgd and batch_size == 1 and sklearn_schedule:
        return name, step_size, power_t, None
    if average:
        raise ValueError(
            f"average={average!r} is supported only with plain SGD, batch_size=1 "
            "and one of scikit-learn's four learning-rate schedules; got "
            f"optimizer={given_optimizer!r}, batch_size={batch_size!r}, "
            f"learning_rate={learning_rate!r}. Set average=False (adaptive "
            "optimizers and mini-batches already reduce the gradient noise averaging "
            "is meant to remove)."
        )
    return name, step_size, power_t, OptimConfig(optimizer, schedule, int(batch_size))


def _variance_reduced_config(optimizer, given_optimizer, schedule, batch_size, average):
    """``resolve_optimizer``'s answer for SAGA / SVRG: a constant step of the
    solver's own choosing, one sample a step (``learning_rate``, ``eta0``,
    ``power_t`` and ``batch_size`` do not apply)."""
    if average:
        raise ValueError(
            f"average={average!r} does not apply to optimizer={given_optimizer!r}: "
            "a variance-reduced solver converges to the optimum itself. Set average=False."
        )
    return "constant", 1.0, 0.0, OptimConfig(optimizer, schedule, int(batch_size))
