"""Loss objects: hyperparameters, compiled scalar kernels and vectorised methods.

Every loss has ``loss(y_true, raw_prediction)`` (per sample),
``gradient(y_true, raw_prediction)`` and ``__call__(y_true, raw_prediction,
sample_weight=None)`` (weighted mean), and ``get_params`` / ``set_params``.

Users write their own loss by subclassing :class:`Loss` with two static
methods, ``sample_loss(y, p, ...)`` and ``sample_derivative(y, p, ...)`` (see
its docstring and docs/losses.md); :func:`check_loss` compares a loss's
derivative with finite differences.
"""

from ._base import Loss
from ._check import LossCheckReport, check_loss
from ._classification import (
    FocalLoss,
    Hinge,
    LogLoss,
    ModifiedHuber,
    Perceptron,
    SmoothHinge,
    SquaredHinge,
)
from ._glm import CrossEntropy, Poisson, Tweedie
from ._link import IdentityLink, LogitLink, LogLink
from ._multiclass import MulticlassHinge, MulticlassLoss, Multinomial
from ._regression import (
    EpsilonInsensitive,
    Huber,
    LogCosh,
    Quantile,
    SquaredEpsilonInsensitive,
    SquaredError,
)

__all__ = [
    "Loss",
    "Hinge",
    "SquaredHinge",
    "LogLoss",
    "ModifiedHuber",
    "Perceptron",
    "SquaredError",
    "Huber",
    "EpsilonInsensitive",
    "SquaredEpsilonInsensitive",
    "FocalLoss",
    "SmoothHinge",
    "CrossEntropy",
    "Quantile",
    "LogCosh",
    "Poisson",
    "Tweedie",
    "IdentityLink",
    "LogitLink",
    "LogLink",
    "check_loss",
    "LossCheckReport",
    "Multinomial",
    "MulticlassHinge",
    "MulticlassLoss",
    "CLASSIFICATION_LOSSES",
    "REGRESSION_LOSSES",
    "EXTRA_CLASSIFICATION_LOSSES",
    "EXTRA_REGRESSION_LOSSES",
    "loss_from_name",
]

#: scikit-learn's loss names for regression, each with its fastloss class.
REGRESSION_LOSSES = {
    "squared_error": SquaredError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "squared_epsilon_insensitive": SquaredEpsilonInsensitive,
}

#: scikit-learn's loss names for ``SGDClassifier`` (which also accepts the
#: regression losses, applied to targets in {-1, +1}).
CLASSIFICATION_LOSSES = {
    "hinge": Hinge,
    "squared_hinge": SquaredHinge,
    "perceptron": Perceptron,
    "log_loss": LogLoss,
    "modified_huber": ModifiedHuber,
    **REGRESSION_LOSSES,
}


#: fastloss's own loss names for ``SGDRegressor`` (default hyperparameters; pass
#: an object to set them).
EXTRA_REGRESSION_LOSSES = {
    "quantile": Quantile,
    "log_cosh": LogCosh,
    "poisson": Poisson,
    "tweedie": Tweedie,
    "cross_entropy": CrossEntropy,
}

#: fastloss's own loss names for ``SGDClassifier``.
EXTRA_CLASSIFICATION_LOSSES = {
    "focal": FocalLoss,
    "smooth_hinge": SmoothHinge,
}


def loss_from_name(name: str, epsilon: float = 0.1) -> Loss:
    """The loss object for a scikit-learn or fastloss loss name.

    ``epsilon`` goes to the losses that have one (``huber``,
    ``epsilon_insensitive``, ``squared_epsilon_insensitive``), as the
    ``epsilon`` parameter of scikit-learn's SGD estimators does.
    """
    cls = {**CLASSIFICATION_LOSSES, **EXTRA_CLASSIFICATION_LOSSES, **EXTRA_REGRESSION_LOSSES}[name]
    if name in ("huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        return cls(epsilon=epsilon)
    return cls()
