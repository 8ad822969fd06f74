"""scikit-learn estimators: validation, label handling, stopping, attributes."""

from ._classifier import SGDClassifier
from ._metric_learning import SGDMetricLearner, SGDPairsMetricLearner, SGDTripletsMetricLearner
from ._ranker import SGDRanker
from ._regressor import SGDRegressor
from ._search import SGDClassifierCV, SGDRegressorCV

__all__ = [
    "SGDClassifier",
    "SGDClassifierCV",
    "SGDRegressorCV",
    "SGDRanker",
    "SGDRegressor",
    "SGDMetricLearner",
    "SGDPairsMetricLearner",
    "SGDTripletsMetricLearner",
]
