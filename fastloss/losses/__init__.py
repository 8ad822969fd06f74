"""Loss objects: hyperparameters, compiled scalar kernels and vectorised methods.

Every loss has ``loss(y_true, raw_prediction)`` (per sample),
``gradient(y_true, raw_prediction)`` and ``__call__(y_true, raw_prediction,
sample_weight=None)`` (weighted mean), and ``get_params`` / ``set_params``.

Each built-in loss class carries its ``name`` (the string the estimators
accept); the name registries below are built from the classes.

Users write their own loss by subclassing :class:`Loss` with two static
methods, ``sample_loss(y, p, ...)`` and ``sample_derivative(y, p, ...)`` (see
its docstring and docs/user_guide/custom_losses.rst); :func:`check_loss` compares a loss's
derivative with finite differences.
"""

from ._base import Loss, named_losses
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
from ._composite import Sum
from ._glm import CrossEntropy, Poisson, Tweedie
from ._link import IdentityLink, LogitLink, LogLink
from ._metric import METRIC_LOSSES, Contrastive, MetricLoss, SoftContrastive, SoftTriplet, Triplet
from ._multiclass import MulticlassHinge, MulticlassLoss, Multinomial
from ._ranking import (
    RANKING_LOSSES,
    Pairwise,
    PairwiseHinge,
    PairwiseLogistic,
    PairwiseLoss,
    PairwiseSquaredHinge,
)
from ._regression import (
    EpsilonInsensitive,
    Huber,
    LogCosh,
    Quantile,
    SquaredEpsilonInsensitive,
    SquaredError,
)
from ._robust import (
    AbsoluteError,
    Cauchy,
    GeneralizedCrossEntropy,
    Ramp,
    SymmetricCrossEntropy,
    Tukey,
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
    "Ramp",
    "GeneralizedCrossEntropy",
    "SymmetricCrossEntropy",
    "Tukey",
    "Cauchy",
    "AbsoluteError",
    "Sum",
    "IdentityLink",
    "LogitLink",
    "LogLink",
    "check_loss",
    "LossCheckReport",
    "Multinomial",
    "MulticlassHinge",
    "MulticlassLoss",
    "PairwiseLoss",
    "Pairwise",
    "PairwiseHinge",
    "PairwiseLogistic",
    "PairwiseSquaredHinge",
    "RANKING_LOSSES",
    "CLASSIFICATION_LOSSES",
    "REGRESSION_LOSSES",
    "EXTRA_CLASSIFICATION_LOSSES",
    "EXTRA_REGRESSION_LOSSES",
    "loss_from_name",
    "MetricLoss",
    "Contrastive",
    "SoftContrastive",
    "Triplet",
    "SoftTriplet",
    "METRIC_LOSSES",
]

_BY_NAME = {cls.name: cls for cls in named_losses()}


def _names(sklearn: bool, classification: bool) -> dict:
    return {
        name: cls
        for name, cls in _BY_NAME.items()
        if cls.sklearn_name == sklearn and cls.is_classification == classification
    }


#: scikit-learn's loss names for regression, each with its fastloss class.
REGRESSION_LOSSES = _names(sklearn=True, classification=False)

#: scikit-learn's loss names for ``SGDClassifier`` (which also accepts the
#: regression losses, applied to targets in {-1, +1}).
CLASSIFICATION_LOSSES = {**_names(sklearn=True, classification=True), **REGRESSION_LOSSES}

#: fastloss's own loss names for ``SGDRegressor`` (default hyperparameters; pass
#: an object to set them).
EXTRA_REGRESSION_LOSSES = _names(sklearn=False, classification=False)

#: fastloss's own loss names for ``SGDClassifier``.
EXTRA_CLASSIFICATION_LOSSES = _names(sklearn=False, classification=True)


def loss_from_name(name: str, epsilon: float = 0.1) -> Loss:
    """The loss object for a scikit-learn or fastloss loss name.

    ``epsilon`` goes to the losses that have one (``huber``,
    ``epsilon_insensitive``, ``squared_epsilon_insensitive``), as the
    ``epsilon`` parameter of scikit-learn's SGD estimators does.

    Raises
    ------
    ValueError
        For a name no built-in loss carries.
    """
    cls = _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown loss {name!r}; the loss names are {sorted(_BY_NAME)}.")
    if "epsilon" in cls._get_param_names():
        return cls(epsilon=epsilon)
    return cls()
