"""scikit-learn estimators: validation, label handling, stopping, attributes."""

from ._classifier import SGDClassifier
from ._regressor import SGDRegressor

__all__ = ["SGDClassifier", "SGDRegressor"]
