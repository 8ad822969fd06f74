"""Optimizers and learning-rate schedules for fastloss's estimators.

Pass an optimizer as ``optimizer=`` (an object or one of the names
{optimizer_names}) and a schedule as ``learning_rate=`` (an object or one of
scikit-learn's names) to :class:`fastloss.SGDClassifier` or
:class:`fastloss.SGDRegressor`; their hyperparameters are searchable as
``optimizer__lr``, ``learning_rate__decay_steps`` and so on.  See
``docs/user_guide/optimizers.rst``.
"""

from ._base import Optimizer
from ._optimizers import SGD, AdaGrad, Adam, AdamW, AMSGrad, Momentum, RMSProp
from ._resolve import OPTIMIZERS, optimizer_from_name
from ._schedules import (
    Adaptive,
    Constant,
    Cosine,
    ExponentialDecay,
    InvScaling,
    LinearWarmup,
    Optimal,
    Schedule,
    StepDecay,
)
from ._variance_reduced import SAGA, SVRG

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdamW",
    "AMSGrad",
    "SAGA",
    "SVRG",
    "OPTIMIZERS",
    "optimizer_from_name",
    "Schedule",
    "Constant",
    "Optimal",
    "InvScaling",
    "Adaptive",
    "Cosine",
    "ExponentialDecay",
    "StepDecay",
    "LinearWarmup",
]

# the names in the docstring come from the classes, as OPTIMIZERS does
if __doc__:  # None under python -OO
    __doc__ = __doc__.format(optimizer_names=", ".join(f'``"{name}"``' for name in OPTIMIZERS))
