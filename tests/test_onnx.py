"""ONNX export (``fastloss.onnx``): onnxruntime's outputs against the model's own
``predict``, ``predict_proba`` and ``decision_function``.

Every built-in loss is enumerated from the registry (``named_losses`` and the
subclasses of ``MulticlassLoss``), so a loss added later is exported and
checked without editing this file; binary, one-vs-rest and multinomial
models; float32 and float64.  Skipped when the extra ``fastloss[onnx]`` is
not installed (``.ci/run`` installs it).
"""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

try:
    import onnxruntime
    from skl2onnx import to_onnx

    import fastloss.onnx  # noqa: F401  (registers the converters)
except ImportError as error:
    pytest.skip(
        f'the extra fastloss[onnx] is not installed ({error}); pip install -e ".[onnx]"',
        allow_module_level=True,
    )

from fastloss import SGDClassifier, SGDRegressor
from fastloss.losses import MulticlassLoss, named_losses

# float32 sums in another order than NumPy's: relative agreement to 1e-5
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}
DTYPES = [np.float32, np.float64]


def all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from all_subclasses(sub)


MARGIN_LOSSES = [cls for cls in named_losses() if cls().is_classification]
REGRESSION_LOSSES = [cls for cls in named_losses() if not cls().is_classification]
JOINT_LOSSES = [cls for cls in all_subclasses(MulticlassLoss) if not cls.__name__.startswith("_")]
# the losses SGDClassifier accepts on {-1, +1} targets: margin and real-valued ones
CLASSIFIER_LOSSES = MARGIN_LOSSES + [
    cls for cls in REGRESSION_LOSSES if cls()._target_domain() == "real"
]


def run(onx, X):
    """onnxruntime's outputs of ``onx`` on ``X``, by output name."""
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    values = session.run(None, {session.get_inputs()[0].name: X})
    return dict(zip([output.name for output in session.get_outputs()], values, strict=True))


def classification_data(n_classes, dtype):
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=n_classes, random_state=0
    )
    return StandardScaler().fit_transform(X).astype(dtype), y


def regression_targets(loss, X, rng):
    """Targets in the loss's domain, linear in ``X`` on its link scale."""
    raw = X @ rng.normal(scale=0.3, size=X.shape[1])
    domain = loss._target_domain()
    if domain == "nonnegative":
        return rng.poisson(np.exp(raw)).astype(np.float64)
    if domain == "positive":
        return rng.gamma(2.0, np.exp(raw) / 2.0)
    if domain == "unit_interval":
        return 1.0 / (1.0 + np.exp(-raw))
    return raw + rng.normal(scale=0.1, size=raw.shape)


def check_classifier(model, X):
    outputs = run(to_onnx(model, X[:1]), X)
    np.testing.assert_array_equal(outputs["label"], model.predict(X))
    np.testing.assert_allclose(outputs["scores"], model.decision_function(X), **TOLERANCE)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(outputs["probabilities"], model.predict_proba(X), **TOLERANCE)
    else:
        assert "probabilities" not in outputs
    return outputs


def fitted(estimator, X, y):
    """Five epochs at a small constant step: every loss trains without diverging."""
    settings = {"learning_rate": "constant", "eta0": 0.01, "max_iter": 5, "tol": None}
    return estimator.set_params(**settings, random_state=0).fit(X, y)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "one-vs-rest"])
@pytest.mark.parametrize("loss", CLASSIFIER_LOSSES, ids=lambda cls: cls.__name__)
def test_classifier_matches_the_model(loss, n_classes, dtype):
    X, y = classification_data(n_classes, dtype)
    model = fitted(SGDClassifier(loss=loss()), X, y)
    assert model.coef_.dtype == dtype
    check_classifier(model, X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize("loss", JOINT_LOSSES, ids=lambda cls: cls.__name__)
def test_joint_multiclass_losses_match_the_model(loss, n_classes, dtype):
    X, y = classification_data(n_classes, dtype)
    check_classifier(fitted(SGDClassifier(loss=loss()), X, y), X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("loss", REGRESSION_LOSSES, ids=lambda cls: cls.__name__)
def test_regressor_matches_the_model(loss, dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(dtype)
    y = regression_targets(loss(), X, rng)
    model = fitted(SGDRegressor(loss=loss()), X, y)
    outputs = run(to_onnx(model, X[:1]), X)
    assert list(outputs) == ["variable"]
    assert outputs["variable"].shape == (X.shape[0], 1)
    np.testing.assert_allclose(outputs["variable"].ravel(), model.predict(X), **TOLERANCE)


def test_all_zero_one_vs_rest_probabilities_become_uniform():
    """Modified Huber gives 0 to every class whose score is below -1;
    predict_proba then returns the uniform row, and so must the graph."""
    X, y = classification_data(3, np.float64)
    model = fitted(SGDClassifier(loss="modified_huber"), X, y)
    model.coef_[1:] = 0.0
    model.intercept_[1:] = -2.0  # classes 1 and 2 score -2 everywhere
    model.coef_[0] *= 1e6  # class 0 scores far below -1 on about half of the rows
    outputs = check_classifier(model, X)
    uniform = (outputs["probabilities"] == 1 / 3).all(axis=1)
    assert 0 < uniform.sum() < X.shape[0]


def composite_losses():
    """Weighted sums of built-in losses that share a link (fastloss.losses.Sum)."""
    from fastloss.losses import (
        GeneralizedCrossEntropy,
        Huber,
        LogLoss,
        Poisson,
        Quantile,
        Tweedie,
    )

    return {
        "logit": (SGDClassifier, 0.7 * LogLoss() + 0.3 * GeneralizedCrossEntropy()),
        "identity": (SGDRegressor, 0.7 * Huber() + 0.3 * Quantile(0.9)),
        "log": (SGDRegressor, Poisson() + 0.5 * Tweedie(power=1.5)),
    }


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("link", ["logit", "identity", "log"])
def test_composite_losses_match_the_model(link, dtype):
    estimator, loss = composite_losses()[link]
    if estimator is SGDClassifier:
        X, y = classification_data(3, dtype)
        check_classifier(fitted(SGDClassifier(loss=loss), X, y), X)
        return
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(dtype)
    model = fitted(SGDRegressor(loss=loss), X, regression_targets(loss, X, rng))
    outputs = run(to_onnx(model, X[:1]), X)
    np.testing.assert_allclose(outputs["variable"].ravel(), model.predict(X), **TOLERANCE)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize(
    "settings",
    [{"loss": "log_loss"}, {"loss": "modified_huber"}, {"multi_class": "multinomial"}],
    ids=["log_loss", "modified_huber", "multinomial"],
)
def test_probabilities_in_the_tails(settings, dtype):
    """Rows whose class probabilities are all tiny (scores of -30 to -1000):
    normalising one-vs-rest rows magnifies any relative error of the link."""
    X, y = classification_data(3, dtype)
    model = fitted(SGDClassifier(**{"loss": "log_loss", **settings}), X, y)
    model.coef_ = (model.coef_ * 200).astype(dtype)
    model.intercept_ = (model.intercept_ * 200 - 100).astype(dtype)
    outputs = check_classifier(model, X)
    assert (outputs["scores"].max(axis=1) < -30).any()


def test_string_labels_a_pipeline_and_sparsified_coefficients():
    X, y = classification_data(3, np.float64)
    labels = np.array(["ant", "bee", "cat"])[y]
    pipe = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0))
    pipe.fit(X * 10, labels)
    outputs = run(to_onnx(pipe, X[:1] * 10), X * 10)
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X * 10))
    np.testing.assert_allclose(outputs["probabilities"], pipe.predict_proba(X * 10), **TOLERANCE)

    model = fitted(SGDClassifier(penalty="l1", alpha=0.05), X, y).sparsify()
    check_classifier(model, X)


@pytest.mark.parametrize("estimator", [SGDClassifier(), SGDRegressor()])
def test_an_unfitted_model_is_refused(estimator):
    with pytest.raises(NotFittedError):
        to_onnx(estimator, np.zeros((1, 3)))


def test_an_unknown_link_is_refused_by_name():
    X, y = classification_data(2, np.float64)
    model = fitted(SGDClassifier(), X, y)
    model.loss_function_ = SimpleNamespace(link=object())
    with pytest.raises(NotImplementedError, match="cannot export the link object"):
        to_onnx(model, X[:1])
