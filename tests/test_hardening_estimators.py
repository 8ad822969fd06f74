"""Issue 21, estimators: divergence, concurrent fits, parameter ranges,
conflicting settings, the loss curve on every fit, scikit-learn conventions.

Each regression test failed on the code before the fix (items 2, 3, 7, 8).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.utils._param_validation import InvalidParameterError

from fastloss import SGDClassifier, SGDRegressor
from fastloss.losses import FocalLoss, Huber
from fastloss.optim import LinearWarmup, Momentum

DIVERGED = "training diverged"


def _as(X, layout, dtype=np.float64):
    X = np.asarray(X, dtype=dtype)
    return sp.csr_matrix(X) if layout == "csr" else X


@pytest.fixture(scope="module")
def classification():
    # hinge / perceptron on these rows scaled by 1e160 and more used to end
    # with finite weights near 1e298 and NaN scores (a hinge loss of 0)
    return make_classification(2000, 50, n_informative=2, n_redundant=2, random_state=2)


@pytest.fixture(scope="module")
def regression():
    return make_regression(1000, 5, noise=1.0, random_state=1)


# ------------------------------------------------------------ item 2: divergence
@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss", ["hinge", "perceptron"])
@pytest.mark.parametrize(("dtype", "scale"), [(np.float64, 1e300), (np.float64, 1e160),
                                              (np.float32, 1e30)])  # fmt: skip
def test_overflowing_scores_raise_the_divergence_error(classification, layout, loss, dtype, scale):
    X, y = classification
    clf = SGDClassifier(loss=loss, random_state=0).fit(_as(X, layout, dtype), y)
    before = {k: np.copy(v) for k, v in vars(clf).items() if k.endswith("_") and v is not None}
    with pytest.raises(ValueError, match=DIVERGED):
        clf.fit(_as(X * scale, layout, dtype), y)
    for name, value in before.items():  # the previous model is untouched
        np.testing.assert_array_equal(getattr(clf, name), value)


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize(
    "params",
    [
        # the loss grew from 4e4 to 2e10 within four epochs, then "converged"
        {"optimizer": Momentum(momentum=0.99999, lr=1.0)},
        # R^2 near -1e8 after the first epoch, published without a word
        {"optimizer": "adam", "eta0": 1e6},
        {"optimizer": "adam", "eta0": 1e6, "tol": None, "max_iter": 20},
    ],
    ids=["momentum", "adam", "adam-tol-None"],
)
def test_exploding_trajectories_raise_the_divergence_error(regression, layout, params):
    X, y = regression
    reg = SGDRegressor(random_state=0, **params)
    with pytest.raises(ValueError, match=DIVERGED):
        reg.fit(_as(X, layout), y)
    assert not hasattr(reg, "coef_")


def test_a_fitted_model_has_finite_scores(classification):
    X, y = classification
    for scale in (1.0, 1e3, 1e100):
        try:
            clf = SGDClassifier(random_state=0, tol=None, max_iter=5).fit(X * scale, y)
        except ValueError as error:
            assert DIVERGED in str(error)
            continue
        assert np.isfinite(clf.decision_function(X * scale)).all()
        assert np.isfinite(clf.loss_curve_).all()


# ------------------------------------------------- item 3: one object, two threads
def _run_together(*calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        barrier.wait()
        try:
            call()
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_concurrent_fits_publish_one_consistent_set():
    X4, y4 = make_regression(20_000, 4, noise=1.0, random_state=0)
    X6, y6 = make_regression(20_000, 6, noise=1.0, random_state=1)
    params = {"random_state": 0, "tol": None, "max_iter": 3}
    alone = {4: SGDRegressor(**params).fit(X4, y4), 6: SGDRegressor(**params).fit(X6, y6)}
    reg = SGDRegressor(**params)
    for _ in range(12):
        _run_together(lambda: reg.fit(X4, y4), lambda: reg.fit(X6, y6))
        n = reg.n_features_in_
        assert reg.coef_.shape == (n,)
        # the last fit wins whole: every attribute is that fit's
        np.testing.assert_array_equal(reg.coef_, alone[n].coef_)
        np.testing.assert_array_equal(reg.intercept_, alone[n].intercept_)
        np.testing.assert_array_equal(reg.loss_curve_, alone[n].loss_curve_)
        assert reg.t_ == alone[n].t_
        assert reg.predict(X4 if n == 4 else X6).shape == (20_000,)


def test_concurrent_partial_fits_all_count():
    X, y = make_regression(20_000, 20, noise=1.0, random_state=0)
    reg = SGDRegressor(random_state=0)
    n_calls = 8

    def chunks():
        for _ in range(n_calls):
            reg.partial_fit(X, y)

    _run_together(chunks, chunks)
    # each call adds its rows to the step counter: none was lost
    assert reg.t_ == 1 + 2 * n_calls * X.shape[0]
    assert reg.loss_curve_.shape == (2 * n_calls,)


def test_the_fit_lock_stays_off_the_estimator():
    X, y = make_classification(300, 5, random_state=0)
    clf = SGDClassifier(random_state=0).fit(X, y)
    assert not any("lock" in name.lower() for name in vars(clf))
    assert set(clf.get_params()) == set(SGDClassifier().get_params())
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    _run_together(lambda: again.partial_fit(X, y), lambda: again.partial_fit(X, y))
    clone(clf).fit(X, y)


# ----------------------------------------------------- item 7: parameter ranges
@pytest.fixture(scope="module")
def binary():
    return make_classification(200, 5, random_state=0)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        # overflowed into a model that never trained (zero weights, t_ = 1)
        ({"batch_size": 2**63 - 1, "optimizer": "adam"}, InvalidParameterError, "batch_size"),
        ({"batch_size": 2**53 + 1}, InvalidParameterError, "batch_size"),
        ({"loss": FocalLoss(gamma=1e308)}, InvalidParameterError, "gamma"),  # a zero model
        ({"class_weight": {0: 0, 1: 0}}, ValueError, "class_weight=.*weight of zero"),
        (
            {"learning_rate": LinearWarmup(LinearWarmup()), "optimizer": "adam"},
            ValueError,
            "wraps another LinearWarmup",
        ),
    ],
    ids=["batch_size-2**63", "batch_size-2**53+1", "focal-gamma", "class_weight-0", "warmup"],
)
def test_out_of_range_settings_raise_at_fit(binary, params, error, match):
    X, y = binary
    with pytest.raises(error, match=match):
        SGDClassifier(**params).fit(X, y)


def test_a_warmup_wrapping_itself_raises_clearly(binary):
    X, y = binary
    warmup = LinearWarmup()
    warmup.set_params(schedule=warmup)  # was a RecursionError
    with pytest.raises(ValueError, match="wraps itself"):
        SGDClassifier(learning_rate=warmup, optimizer="adam").fit(X, y)


def test_the_largest_batch_size_trains(binary):
    X, y = binary
    clf = SGDClassifier(batch_size=2**53, optimizer="adam", max_iter=3, tol=None).fit(X, y)
    assert clf.t_ == 1 + 3 * X.shape[0]
    assert np.any(clf.coef_ != 0)


@pytest.mark.parametrize(
    ("init", "match"),
    [
        ({"coef_init": np.full((1, 5), np.nan)}, "coef_init contains NaN"),
        ({"intercept_init": [np.inf]}, "intercept_init contains NaN or infinity"),
    ],
)
def test_non_finite_initial_values_are_named(binary, init, match):
    X, y = binary
    with pytest.raises(ValueError, match=match):  # was "training diverged, lower eta0"
        SGDClassifier().fit(X, y, **init)


def test_initial_values_beyond_float32_are_named(binary):
    X, y = binary
    with pytest.raises(ValueError, match="coef_init overflows float32"):
        SGDClassifier().fit(X.astype(np.float32), y, coef_init=np.full((1, 5), 1e300))


# --------------------------------------------------- item 8: conflicting settings
def test_a_loss_object_wins_over_epsilon_with_a_warning():
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    with pytest.warns(UserWarning, match=r"epsilon=5.0 is ignored"):
        both = SGDRegressor(loss=Huber(epsilon=0.3), epsilon=5.0, random_state=0).fit(X, y)
    alone = SGDRegressor(loss=Huber(epsilon=0.3), random_state=0).fit(X, y)
    np.testing.assert_array_equal(both.coef_, alone.coef_)


def test_epsilon_with_a_loss_name_does_not_warn(recwarn):
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    SGDRegressor(loss="huber", epsilon=5.0, max_iter=3, tol=None).fit(X, y)
    SGDRegressor(loss=Huber(epsilon=0.3), max_iter=3, tol=None).fit(X, y)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


# ------------------------------------------------ item 13: the loss on every fit
def test_the_loss_curve_is_recorded_without_tol():
    """With ``tol=None`` the curve is the progressive training objective, as a
    NumPy replay of plain SGD computes it (it was NaN)."""
    X, y = make_regression(200, 4, noise=1.0, random_state=0)
    eta = 0.01
    reg = SGDRegressor(
        penalty=None, learning_rate="constant", eta0=eta, shuffle=False, tol=None, max_iter=2
    ).fit(X, y)
    w, b, curve = np.zeros(4), 0.0, []
    for _ in range(2):
        total = 0.0
        for x_i, y_i in zip(X, y, strict=True):
            residual = x_i @ w + b - y_i
            total += 0.5 * residual**2
            w, b = w - eta * residual * x_i, b - eta * residual
        curve.append(total / len(y))
    np.testing.assert_allclose(reg.loss_curve_, curve, rtol=1e-10)


def test_the_loss_curve_display_draws_without_tol():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from fastloss.plot import LossCurveDisplay

    X, y = make_classification(300, 5, random_state=0)
    clf = SGDClassifier(tol=None, max_iter=5, random_state=0).fit(X, y)
    assert np.isfinite(clf.loss_curve_).all()
    LossCurveDisplay.from_estimator(clf)


# ------------------------------------------- item 14: scikit-learn conventions
@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_predict_proba_exists_only_with_probabilities(layout):
    """scikit-learn's test_sgd_predict_proba_method_access, on fastloss, and on
    fitted models too."""
    from sklearn.linear_model import SGDClassifier as ScikitLearnSGD

    X, y = make_classification(100, 4, random_state=0)
    for loss in ScikitLearnSGD.loss_functions:
        for clf in (SGDClassifier(loss=loss), SGDClassifier(loss=loss, max_iter=2, tol=None)):
            if clf.max_iter == 2:
                clf.fit(_as(X, layout), y)
            if loss in ("log_loss", "modified_huber"):
                assert hasattr(clf, "predict_proba")
                assert hasattr(clf, "predict_log_proba")
                continue
            assert not hasattr(clf, "predict_proba")
            assert not hasattr(clf, "predict_log_proba")
            for method in ("predict_proba", "predict_log_proba"):
                with pytest.raises(AttributeError, match=f"has no attribute '{method}'") as info:
                    getattr(clf, method)
                assert isinstance(info.value.__cause__, AttributeError)
                inner = f"probability estimates are not available for loss={loss!r}"
                assert inner in str(info.value.__cause__)


@pytest.mark.parametrize("cls", [SGDClassifier, SGDRegressor])
def test_the_html_repr_links_to_the_api_page(cls, repository_root):
    link = cls()._get_doc_link()
    assert link == f"../generated/fastloss.{cls.__name__}.html"
    # the page docs/api.rst generates: fastloss.<Name> under generated/
    api = (repository_root / "docs" / "api.rst").read_text()
    assert ":toctree: generated/" in api and f"\n   {cls.__name__}\n" in api
    assert f'href="{link}"' in cls()._repr_html_()


def test_the_bench_usage_names_the_command(monkeypatch, capsys):
    from fastloss.bench.__main__ import main

    monkeypatch.setattr(sys, "argv", ["/venv/bin/fastloss-bench", "--help"])
    with pytest.raises(SystemExit):
        main(["--help"])
    assert capsys.readouterr().out.startswith("usage: fastloss-bench ")
    result = subprocess.run(
        [sys.executable, "-m", "fastloss.bench", "--help"], capture_output=True, text=True
    )
    assert result.stdout.startswith("usage: python -m fastloss.bench ")


@pytest.mark.parametrize(
    ("param", "public"),
    [
        ("loss", "fastloss.losses.Loss"),
        ("optimizer", "fastloss.optim.Optimizer"),
        ("learning_rate", "fastloss.optim.Schedule"),
    ],
)
def test_type_errors_name_the_public_class(binary, param, public):
    X, y = binary
    with pytest.raises(InvalidParameterError, match=f"an instance of '{public}'"):
        SGDClassifier(**{param: 3}).fit(X, y)
