"""scikit-learn's own estimator checks, for both estimators and every loss."""

import pytest
from conftest import AsymmetricSquaredError, expected_failed_checks
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_class_weight_balanced_linear_classifier,
    parametrize_with_checks,
)

from fastloss import (
    SGDClassifier,
    SGDClassifierCV,
    SGDMetricLearner,
    SGDRanker,
    SGDRegressor,
    SGDRegressorCV,
)
from fastloss.losses import (
    CLASSIFICATION_LOSSES,
    REGRESSION_LOSSES,
    FocalLoss,
    LogCosh,
    MulticlassHinge,
    Quantile,
)
from fastloss.optim import Cosine, Momentum


def _classifier(loss_name):
    # Regression losses on {-1, +1} targets need a tamer step size than
    # "optimal", which is tuned for margin losses.
    if loss_name in REGRESSION_LOSSES:
        return SGDClassifier(loss=loss_name, learning_rate="adaptive")
    return SGDClassifier(loss=loss_name)


# Each loss once. scikit-learn's loss names reach the estimator as strings (what
# scikit-learn users pass); the estimator turns a name into the same loss object
# (fastloss.losses.loss_from_name) that ``loss=Huber()`` would give, so the same
# estimator again with the object would rerun every check on the same model.
# Loss objects with their own parameters (nested ``loss__*`` parameters under
# clone, get_params and set_params) are the fastloss-only and user losses below.
ESTIMATORS = (
    [SGDClassifier(), SGDRegressor()]
    + [_classifier(name) for name in CLASSIFICATION_LOSSES if name != "hinge"]
    + [SGDRegressor(loss=name) for name in REGRESSION_LOSSES if name != "squared_error"]
    # fastloss's own losses, by object and by name, and a user-defined loss
    + [SGDClassifier(loss=FocalLoss(alpha=0.3)), SGDClassifier(loss="smooth_hinge")]
    + [SGDRegressor(loss=Quantile(quantile=0.3)), SGDRegressor(loss=LogCosh())]
    + [SGDRegressor(loss="poisson"), SGDRegressor(loss=AsymmetricSquaredError())]
    # the mini-batch kernel: an adaptive rule, and momentum under a new schedule
    + [
        SGDClassifier(loss="log_loss", optimizer="adam", batch_size=4),
        SGDRegressor(
            optimizer=Momentum(nesterov=True), batch_size=8, learning_rate=Cosine(decay_steps=500)
        ),
    ]
    # the joint multiclass models
    + [
        SGDClassifier(loss="log_loss", multi_class="multinomial"),
        SGDClassifier(loss=MulticlassHinge()),
    ]
    # pairwise ranking (tests/test_ranker.py for the rest)
    + [SGDRanker(), SGDRanker(loss="pairwise_logistic", pairs_per_doc="all", optimizer="adam")]
    # supervised metric learning (tests/test_metric_learning.py for the pairs and
    # triplets learners, whose 3-D input these checks cannot feed)
    + [SGDMetricLearner(), SGDMetricLearner(loss="contrastive", mining="random")]
    # the one-pass searches (tests/test_search_cv.py for the rest)
    + [SGDClassifierCV(alphas=[1e-4, 1e-2], cv=3), SGDRegressorCV(alphas=[1e-4, 1e-2], cv=3)]
)


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# scikit-learn yields this check only for subclasses of its LinearClassifierMixin,
# which fastloss no longer imports (sklearn.linear_model costs a fresh process
# about 0.1 s): run it for every classifier here.
@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if isinstance(e, SGDClassifier)],
    ids=lambda e: repr(e),
)
def test_class_weight_balanced_linear_classifier(estimator):
    check_class_weight_balanced_linear_classifier(type(estimator).__name__, clone(estimator))
