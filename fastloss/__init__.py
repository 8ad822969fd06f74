"""fastloss: linear models trained by Numba-compiled stochastic optimisation.

Drop-in replacements for scikit-learn's SGD estimators with pluggable loss
objects (:mod:`fastloss.losses`) and optimizers (:mod:`fastloss.optim`).
"""

from . import losses, optim
from .linear_model import (
    SGDClassifier,
    SGDClassifierCV,
    SGDMetricLearner,
    SGDPairsMetricLearner,
    SGDRanker,
    SGDRegressor,
    SGDRegressorCV,
    SGDTripletsMetricLearner,
)

__version__ = "0.1.0"

__all__ = [
    "SGDClassifier",
    "SGDClassifierCV",
    "SGDRanker",
    "SGDRegressor",
    "SGDRegressorCV",
    "SGDMetricLearner",
    "SGDPairsMetricLearner",
    "SGDTripletsMetricLearner",
    "losses",
    "optim",
    "__version__",
]
