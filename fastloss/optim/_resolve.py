"""From an estimator's ``optimizer`` / ``learning_rate`` / ``batch_size`` to kernel inputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone

from .._kernels import _layout as L
from .._kernels import _optim_rules as R
from ._base import Optimizer
from ._optimizers import SGD, AdaGrad, Adam, AdamW, AMSGrad, Momentum, RMSProp
from ._schedules import SCHEDULES, Schedule, schedule_from_name

__all__ = [
    "OPTIMIZERS",
    "OptimConfig",
    "optimizer_from_name",
    "previous_optimizer_state",
    "resolve_optimizer",
    "saved_optimizer_state",
]

#: Names accepted by the estimators' ``optimizer`` parameter.
OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": lambda: Momentum(nesterov=True),
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
    "amsgrad": AMSGrad,
}


def optimizer_from_name(name: str) -> Optimizer:
    """A fresh optimizer object for one of :data:`OPTIMIZERS`' names."""
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
        h = np.zeros(R.O_SIZE)
        h[: L.H_SIZE] = hyper
        h[L.H_SCHEDULE] = self.schedule._code
        h[L.H_ETA0] = eta0
        if self.schedule._code == L.OPTIMAL and not self.optimizer.is_plain_sgd:
            h[L.H_OPTIMAL_T0] = 1.0 / (alpha * eta0)
        if self.schedule._code == L.INVSCALING:
            inner = getattr(self.schedule, "_inner", lambda: self.schedule)()
            h[L.H_POWER_T] = inner.power_t
        h[R.O_CODE] = self.optimizer._code
        h[[R.O_P0, R.O_P1, R.O_EPS]] = self.optimizer._kernel_params()
        h[R.O_BATCH] = self.batch_size
        h[[R.O_SCHED_P0, R.O_SCHED_P1]] = self.schedule._kernel_params()
        h[R.O_WARMUP] = self.schedule._warmup_steps()
        return h


def resolve_optimizer(estimator) -> tuple[str, float, float, OptimConfig | None]:
    """Resolve an estimator's optimizer settings and check their combinations.

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
    optimizer = estimator.optimizer
    if isinstance(optimizer, str):
        optimizer = optimizer_from_name(optimizer)
    else:
        optimizer = clone(optimizer)
    optimizer._validate()
    learning_rate = estimator.learning_rate
    if isinstance(learning_rate, str):
        schedule = schedule_from_name(learning_rate, estimator.power_t)
    else:
        schedule = clone(learning_rate)
        schedule._validate()
    eta0 = optimizer._step_size(estimator.eta0)
    power_t = float(getattr(schedule, "power_t", estimator.power_t))
    name = schedule.name or type(schedule).__name__
    if name == "optimal" and estimator.alpha == 0:
        raise ValueError(
            "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
            "to compute the optimal learning rate."
        )
    sklearn_schedule = type(schedule) in SCHEDULES.values()
    if optimizer.is_plain_sgd and estimator.batch_size == 1 and sklearn_schedule:
        return name, eta0, power_t, None
    if estimator.average:
        raise ValueError(
            f"average={estimator.average!r} is supported only with plain SGD, batch_size=1 "
            "and one of scikit-learn's four learning-rate schedules; got "
            f"optimizer={estimator.optimizer!r}, batch_size={estimator.batch_size!r}, "
            f"learning_rate={estimator.learning_rate!r}. Set average=False (adaptive "
            "optimizers and mini-batches already reduce the gradient noise averaging "
            "is meant to remove)."
        )
    return name, eta0, power_t, OptimConfig(optimizer, schedule, int(estimator.batch_size))


def saved_optimizer_state(states, settings) -> tuple[np.ndarray | None, int | None]:
    """What a fitted estimator keeps of its optimizer: the stacked per-model
    states (n_models, N_SLOTS, n_features + 1) and the rule's code, or Nones."""
    if settings.optim is None or states[0].opt_state is None:
        return None, None
    return np.array([s.opt_state for s in states]), settings.optim.optimizer._code


def previous_optimizer_state(estimator) -> np.ndarray | None:
    """The state a ``partial_fit`` continues from: the last call's, unless the
    rule changed since (through ``set_params``), which starts it afresh."""
    state = getattr(estimator, "_optimizer_state", None)
    if state is None:
        return None
    config = resolve_optimizer(estimator)[3]
    if config is None or config.optimizer._code != estimator._optimizer_code:
        return None
    return state
