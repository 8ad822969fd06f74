"""Pipelines, searches over losses, cross-validation, pickling, partial_fit."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastloss
from fastloss.losses import Hinge, Huber, LogLoss


@pytest.fixture(scope="module")
def breast_cancer():
    return load_breast_cancer(return_X_y=True)


def test_grid_search_over_alpha_losses_and_loss_parameters(breast_cancer):
    X, y = breast_cancer
    pipe = make_pipeline(StandardScaler(), fastloss.SGDClassifier(random_state=0))
    grid = [
        {"sgdclassifier__alpha": [1e-4, 1e-2]},
        {"sgdclassifier__loss": [Hinge(), LogLoss(), "modified_huber"]},
        {
            "sgdclassifier__loss": [Huber()],
            "sgdclassifier__loss__epsilon": [0.1, 1.0],
            "sgdclassifier__learning_rate": ["adaptive"],
        },
    ]
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 2 + 3 + 2
    assert search.best_score_ > 0.9
    epsilons = [
        p["sgdclassifier__loss__epsilon"]
        for p in search.cv_results_["params"]
        if "sgdclassifier__loss__epsilon" in p
    ]
    assert epsilons == [0.1, 1.0]
    # the searched Loss object in the grid was cloned, not mutated
    assert grid[2]["sgdclassifier__loss"][0].epsilon == 0.1


def test_cross_val_score(breast_cancer):
    X, y = breast_cancer
    scores = cross_val_score(
        make_pipeline(StandardScaler(), fastloss.SGDClassifier(random_state=0)), X, y, cv=5
    )
    assert scores.shape == (5,) and scores.mean() > 0.9


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber", "hinge"])
def test_pickle_and_joblib_round_trips(breast_cancer, loss, tmp_path):
    X, y = breast_cancer
    X = StandardScaler().fit_transform(X)
    est = fastloss.SGDClassifier(loss=loss, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    for other in (restored, loaded):
        np.testing.assert_array_equal(other.decision_function(X), est.decision_function(X))
        np.testing.assert_array_equal(other.predict(X), est.predict(X))


def test_predict_proba_binary_and_multiclass():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    multi = fastloss.SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    proba = multi.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    expit = 1 / (1 + np.exp(-multi.decision_function(X)))
    np.testing.assert_allclose(proba, expit / expit.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(multi.predict_log_proba(X), np.log(proba))
    binary = fastloss.SGDClassifier(loss="modified_huber", random_state=0).fit(X, y == 0)
    p = (np.clip(binary.decision_function(X), -1, 1) + 1) / 2
    np.testing.assert_allclose(binary.predict_proba(X), np.column_stack([1 - p, p]))
    assert not hasattr(fastloss.SGDClassifier(loss="hinge").fit(X, y), "predict_proba")


def test_partial_fit_continues_like_fit_epochs():
    X, y = make_regression(n_samples=300, n_features=6, noise=1.0, random_state=0)
    params = dict(shuffle=False, learning_rate="invscaling", average=True)
    online = fastloss.SGDRegressor(**params)
    for _ in range(4):
        online.partial_fit(X, y)
    batch = fastloss.SGDRegressor(max_iter=4, tol=None, **params).fit(X, y)
    np.testing.assert_allclose(online.coef_, batch.coef_, rtol=1e-12)
    np.testing.assert_allclose(online.intercept_, batch.intercept_, rtol=1e-12)
    assert online.t_ == batch.t_ == 4 * 300 + 1


def test_partial_fit_classifier_chunks_equal_one_epoch(breast_cancer):
    X, y = breast_cancer
    X = StandardScaler().fit_transform(X)
    online = fastloss.SGDClassifier(shuffle=False, loss="log_loss")
    for chunk in np.array_split(np.arange(len(y)), 5):
        online.partial_fit(X[chunk], y[chunk], classes=[0, 1])
    once = fastloss.SGDClassifier(shuffle=False, loss="log_loss", max_iter=1, tol=None).fit(X, y)
    # the L2 shrink is folded at chunk boundaries, so equality is to rounding
    np.testing.assert_allclose(online.coef_, once.coef_, rtol=1e-9, atol=1e-12)


def test_warm_start_continues_from_previous_solution():
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    cold = fastloss.SGDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
    warm = clone(cold).set_params(warm_start=True).fit(X, y)
    warm_coef = warm.coef_.copy()
    warm.fit(X, y)
    assert not np.array_equal(warm.coef_, warm_coef)
    init = fastloss.SGDRegressor(max_iter=2, tol=None, random_state=0).fit(
        X, y, coef_init=warm_coef, intercept_init=warm.intercept_
    )
    assert init.coef_.shape == (4,)


def test_early_stopping_and_adaptive_schedule(breast_cancer):
    X, y = breast_cancer
    X = StandardScaler().fit_transform(X)
    est = fastloss.SGDClassifier(
        early_stopping=True, n_iter_no_change=3, random_state=0, learning_rate="adaptive", eta0=0.1
    ).fit(X, y)
    assert 3 <= est.n_iter_ < 1000
    assert est.score(X, y) > 0.9


def test_verbose_reports_each_epoch(capsys):
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    fastloss.SGDRegressor(max_iter=3, tol=None, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("-- Epoch") == 3 and "Avg. loss" in out and "Norm:" in out


def test_metadata_routing_of_sample_weight(breast_cancer):
    """sample_weight reaches fit (and the scorer) through a Pipeline in GridSearchCV."""
    import sklearn

    X, y = breast_cancer
    weights = np.where(y == 1, 1.0, 5.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = (
            fastloss.SGDClassifier(loss="log_loss", random_state=0)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), est)
        search = GridSearchCV(pipe, {"sgdclassifier__alpha": [1e-4, 1e-3]}, cv=3)
        search.fit(X, y, sample_weight=weights)
        routed = search.best_estimator_[-1]
        scaled = search.best_estimator_[0].transform(X)
    unweighted = fastloss.SGDClassifier(loss="log_loss", random_state=0, alpha=routed.alpha).fit(
        scaled, y
    )
    weighted = fastloss.SGDClassifier(loss="log_loss", random_state=0, alpha=routed.alpha).fit(
        scaled, y, sample_weight=weights
    )
    np.testing.assert_array_equal(routed.coef_, weighted.coef_)
    assert not np.array_equal(routed.coef_, unweighted.coef_)
