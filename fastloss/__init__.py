"""fastloss: linear models trained by Numba-compiled stochastic optimisation.

Drop-in replacements for scikit-learn's SGD estimators with pluggable loss
objects (:mod:`fastloss.losses`) and optimizers (:mod:`fastloss.optim`).
"""

from . import losses, optim
from .linear_model import (
    SGDClassifier,
    SGDMetricLearner,
    SGDPairsMetricLearner,
    SGDRanker,
    SGDRegressor,
    SGDTripletsMetricLearner,
)

__version__ = "0.1.0"

__all__ = [
    "SGDClassifier",
    "SGDRanker",
    "SGDRegressor",
    "SGDMetricLearner",
    "SGDPairsMetricLearner",
    "SGDTripletsMetricLearner",
    "losses",
    "optim",
    "__version__",
]
