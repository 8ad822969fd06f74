"""Loss objects: hyperparameters, compiled scalar kernels and vectorised methods.

Every loss has ``loss(y_true, raw_prediction)`` (per sample),
``gradient(y_true, raw_prediction)`` and ``__call__(y_true, raw_prediction,
sample_weight=None)`` (weighted mean), and ``get_params`` / ``set_params``.
"""

from ._base import Loss
from ._classification import Hinge, LogLoss, ModifiedHuber, Perceptron, SquaredHinge
from ._multiclass import MulticlassHinge, MulticlassLoss, Multinomial
from ._regression import EpsilonInsensitive, Huber, SquaredEpsilonInsensitive, SquaredError

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
    "Multinomial",
    "MulticlassHinge",
    "MulticlassLoss",
    "CLASSIFICATION_LOSSES",
    "REGRESSION_LOSSES",
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


def loss_from_name(name: str, epsilon: float = 0.1) -> Loss:
    """The loss object for a scikit-learn loss name.

    ``epsilon`` goes to the losses that have one (``huber``,
    ``epsilon_insensitive``, ``squared_epsilon_insensitive``), as the
    ``epsilon`` parameter of scikit-learn's SGD estimators does.
    """
    cls = CLASSIFICATION_LOSSES[name]
    if name in ("huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        return cls(epsilon=epsilon)
    return cls()
