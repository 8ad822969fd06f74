"""The optimizer contract: hyperparameters, validation and a compiled rule's code."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval

__all__ = ["Optimizer", "POSITIVE", "UNIT_DECAY"]

#: A finite real number > 0 (step sizes, epsilons).
POSITIVE = Interval(Real, 0.0, np.inf, closed="neither")
#: A decay rate in [0, 1) (momentum, RMSProp's rho, Adam's betas).
UNIT_DECAY = Interval(Real, 0.0, 1.0, closed="left")


class Optimizer(BaseEstimator):
    """Base class of fastloss optimizers: hyperparameters and one compiled update rule.

    An optimizer is a scikit-learn style parameter holder (``get_params`` /
    ``set_params``, so ``clone`` and nested search such as ``optimizer__lr``
    work).  Its compiled rule lives in ``fastloss._kernels._optim_rules`` and is
    named by an integer code (``_code``, one of ``_kernels._layout``'s); its
    hyperparameters reach the kernel as float64 values (:meth:`_kernel_params`).
    The per-weight state (momentum, moment estimates) is created by the
    estimator and kept between ``partial_fit`` calls.

    Every optimizer has ``lr``, its base step size: ``None`` (the default) uses
    the rule's own default step when the estimator's ``learning_rate`` and
    ``eta0`` are at their defaults too (``_default_step``, see "Defaults that
    converge untuned" in the optimizers guide), and otherwise
    the estimator's ``eta0``.  The estimator's ``learning_rate`` schedule then
    scales it over the updates.

    A built-in subclass sets ``name`` (the string the estimators' ``optimizer``
    parameter accepts; :data:`fastloss.optim.OPTIMIZERS` is built from it),
    ``aliases`` for other names with their parameters, and
    ``_parameter_constraints`` (scikit-learn's, checked by :meth:`_validate`).
    """

    _code: ClassVar[int]
    #: The string that selects the optimizer in an estimator's ``optimizer``
    #: parameter (built-in optimizers only).
    name: ClassVar[str | None] = None
    #: Other names that select the class, each with the parameters it sets.
    aliases: ClassVar[dict[str, dict]] = {}
    #: Whether the rule is plain SGD (then scikit-learn's kernel may run).
    is_plain_sgd: ClassVar[bool] = False
    #: Whether it is a variance-reduced solver (SAGA, SVRG: its own runner).
    is_variance_reduced: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict] = {"lr": [POSITIVE, None]}

    def _kernel_params(self) -> np.ndarray:
        """``(p0, p1, eps)``: the rule's hyperparameters as the kernel reads them."""
        return np.zeros(3)

    def _validate(self) -> None:
        """Raise ``ValueError`` (scikit-learn's ``InvalidParameterError``) for
        invalid hyperparameters."""
        self._validate_params()

    def _step_size(self, eta0: float) -> float:
        """The base step size: ``lr``, or the estimator's ``eta0`` when ``lr`` is None."""
        return float(eta0 if self.lr is None else self.lr)
