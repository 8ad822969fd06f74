"""The optimizer contract: hyperparameters, validation and a compiled rule's code."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["Optimizer", "check_real"]


def check_real(owner, name, value, low=None, high=None, low_open=False, high_open=False):
    """Raise ``ValueError`` unless ``value`` is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise ValueError(
            f"{type(owner).__name__}: {name} must be a finite real number; got {value!r}."
        )
    too_low = low is not None and (value < low or (low_open and value == low))
    too_high = high is not None and (value > high or (high_open and value == high))
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        interval = (
            f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        )
        raise ValueError(f"{type(owner).__name__}: {name} must be in {interval}; got {value!r}.")


class Optimizer(BaseEstimator):
    """Base class of fastloss optimizers: hyperparameters and one compiled update rule.

    An optimizer is a scikit-learn style parameter holder (``get_params`` /
    ``set_params``, so ``clone`` and nested search such as ``optimizer__lr``
    work).  Its compiled rule lives in ``fastloss._kernels._optim_rules`` and is
    named by an integer code (``_code``); its hyperparameters reach the kernel as
    float64 values (:meth:`_kernel_params`).  The per-weight state (momentum,
    moment estimates) is created by the estimator and kept between
    ``partial_fit`` calls.

    Every optimizer has ``lr``, its base step size: ``None`` (the default) uses
    the estimator's ``eta0``.  The estimator's ``learning_rate`` schedule then
    scales it over the updates.
    """

    _code: ClassVar[int]
    #: Whether the rule is plain SGD (then scikit-learn's kernel may run).
    is_plain_sgd: ClassVar[bool] = False

    def _kernel_params(self) -> np.ndarray:
        """``(p0, p1, eps)``: the rule's hyperparameters as the kernel reads them."""
        return np.zeros(3)

    def _validate(self) -> None:
        """Raise ``ValueError`` for invalid hyperparameters."""
        if self.lr is not None:
            check_real(self, "lr", self.lr, low=0.0, low_open=True)

    def _step_size(self, eta0: float) -> float:
        """The base step size: ``lr``, or the estimator's ``eta0`` when ``lr`` is None."""
        return float(eta0 if self.lr is None else self.lr)
