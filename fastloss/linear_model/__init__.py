"""scikit-learn estimators: validation, label handling, stopping, attributes."""

from ._classifier import SGDClassifier
from ._metric_learning import SGDMetricLearner, SGDPairsMetricLearner, SGDTripletsMetricLearner
from ._ranker import SGDRanker
from ._regressor import SGDRegressor

__all__ = [
    "SGDClassifier",
    "SGDRanker",
    "SGDRegressor",
    "SGDMetricLearner",
    "SGDPairsMetricLearner",
    "SGDTripletsMetricLearner",
]
