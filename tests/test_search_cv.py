"""SGDClassifierCV / SGDRegressorCV: the one-pass grid against per-fold fits and GridSearchCV."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastloss import SGDClassifier, SGDClassifierCV, SGDRegressor, SGDRegressorCV
from fastloss.linear_model._search import (
    candidate_estimator,
    candidate_params,
    plan_groups,
    train_fused,
)
from fastloss.losses import EpsilonInsensitive, Huber


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(400, 8, n_informative=5, random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(360, 6, n_informative=4, n_classes=3, random_state=1)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(300, 6, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def grid_models(search, X, y, n_jobs=1):
    """Every candidate's fitted (n_folds, K, n_features) weights, intercepts and
    epochs, from the search's fused groups (all candidates must fuse)."""
    base = search._base_estimator()
    candidates = candidate_params(search, base)
    estimators = [candidate_estimator(base, p) for p in candidates]
    X, y = search._validate_Xy(X, y)
    task = search._task(X, y, None)
    n_classes = 0 if task.classes is None else task.classes.shape[0]
    groups = plan_groups(estimators, task.classes is not None, n_classes)
    out = [None] * len(candidates)
    for group in groups:
        assert group.fused
        coef, intercept, n_iter, _ = train_fused(X, task, group, 0, n_jobs)
        for c, index in enumerate(group.indices):
            out[index] = (coef[c], intercept[c], n_iter[c])
    return candidates, task.splits, out


def mean_scores(results):
    """``(params key, mean_test_score)`` of each candidate of ``cv_results_``."""
    keys = [repr(sorted(p.items())) for p in results["params"]]
    return list(zip(keys, results["mean_test_score"], strict=True))


def mean_scores_by_params(results):
    return dict(mean_scores(results))


def per_fold_fit(estimator_class, base, params, X, y, train_rows):
    model = estimator_class(**base, **params)
    return model.fit(X[train_rows], y[train_rows])


# ------------------------------------------------------ exact: shuffle=False
@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("layout", ["dense", "csr", "float32"])
def test_binary_grid_models_equal_per_fold_fits_without_shuffling(binary, penalty, layout):
    X, y = binary
    if layout == "csr":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    elif layout == "float32":
        X = X.astype(np.float32)
    base = dict(penalty=penalty, shuffle=False, max_iter=30)
    search = SGDClassifierCV(
        **base, alphas=[1e-4, 1e-2], param_grid={"loss": ["hinge", "log_loss"]}, cv=3
    )
    candidates, splits, models = grid_models(search, X, y)
    rtol = 1e-4 if layout == "float32" else 1e-9
    for params, (coef, intercept, n_iter) in zip(candidates, models, strict=True):
        for f, (train_rows, _) in enumerate(splits):
            ref = per_fold_fit(SGDClassifier, base, params, X, y, train_rows)
            np.testing.assert_allclose(coef[f], ref.coef_, rtol=rtol, atol=1e-6 * rtol)
            np.testing.assert_allclose(intercept[f], ref.intercept_, rtol=rtol, atol=1e-6 * rtol)
            assert n_iter[f] == ref.n_iter_


@pytest.mark.parametrize("average", [False, True])
def test_csr_grid_in_cache_sized_blocks_equals_one_block(binary, monkeypatch, average):
    """Wide CSR grids train in blocks whose weights fit in cache, each of one
    fold's models (it skips the rows none of them trains on), regrouped as
    models stop; no model's arithmetic may depend on its block."""
    from fastloss._kernels import _layout as L
    from fastloss.linear_model import _grid_runner

    X, y = binary
    X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    search = SGDClassifierCV(
        penalty="elasticnet", average=average, max_iter=40, random_state=0,
        alphas=[1e-5, 1e-3, 1e-1], param_grid={"loss": ["hinge", "log_loss"]}, cv=3,
    )  # fmt: skip
    _, _, one_block = grid_models(search, X, y)
    regroups, block_folds = [], []
    regroup = _grid_runner.GridRunner._regroup

    def spy(runner):
        regroups.append(sum(b.active.shape[0] for b in runner.blocks))
        block_folds.extend(len(set(b.gstate[L.G_FOLD])) for b in runner.blocks)
        regroup(runner)

    # 4 models' weights a block: 6 models a fold in 2 blocks of 3, 6 blocks
    # (dealt round-robin, 5 blocks would mix the folds), fewer as they stop
    monkeypatch.setattr(_grid_runner, "CSR_BLOCK_BYTES", 4 * X.shape[1] * 8)
    monkeypatch.setattr(_grid_runner.GridRunner, "_regroup", spy)
    _, _, blocks = grid_models(search, X, y)
    assert regroups, "the models that still train were never regrouped"
    assert set(block_folds) == {1}
    for (coef, intercept, n_iter), (coef_b, intercept_b, n_iter_b) in zip(
        one_block, blocks, strict=True
    ):
        np.testing.assert_array_equal(coef_b, coef)
        np.testing.assert_array_equal(intercept_b, intercept)
        np.testing.assert_array_equal(n_iter_b, n_iter)
    assert len({int(n) for _, _, n_iter in blocks for n in n_iter.ravel()}) > 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_four_scores_in_one_pass_are_row_dots(dtype):
    """The dense grid scores four models a pass (``rows_dot4``): each score
    is ``row_dot``'s sum up to its order (bit for bit where LLVM vectorises
    both alike, as on the development machine), bounded by the rounding any
    order of the sum allows."""
    from fastloss._kernels.grid_epoch import rows_dot4
    from fastloss._kernels.sgd_epoch import row_dot

    rng = np.random.default_rng(0)
    eps = np.finfo(dtype).eps
    models = (0, 2, 3, 5)
    for width in (1, 3, 4, 7, 8, 15, 16, 17, 33, 64, 100, 129, 257, 1000):
        W = rng.standard_normal((6, width)).astype(dtype)
        X = rng.standard_normal((2, width)).astype(dtype)
        for i in range(2):
            scores = np.array(rows_dot4(W, *models, X, i), dtype=np.float64)
            expected = np.array([row_dot(W, m, X, i) for m in models], dtype=np.float64)
            bound = 2 * width * eps * np.abs(W[list(models)] * X[i]).sum(axis=1, dtype=np.float64)
            assert np.all(np.abs(scores - expected) <= bound), width


def test_sample_and_class_weights_reach_every_fold_as_in_per_fold_fits(binary):
    X, y = binary
    weights = np.random.default_rng(0).uniform(0.2, 2.0, y.shape[0])
    base = dict(shuffle=False, max_iter=20, class_weight="balanced")
    search = SGDClassifierCV(**base, alphas=[1e-3], param_grid={"loss": ["log_loss"]}, cv=3)
    X_checked, y_checked = search._validate_Xy(X, y)
    task = search._task(X_checked, y_checked, weights)
    estimators = [candidate_estimator(search._base_estimator(), p)
                  for p in candidate_params(search, search._base_estimator())]  # fmt: skip
    (group,) = plan_groups(estimators, True, 2)
    coef, intercept, _, _ = train_fused(X_checked, task, group, 0, 1)
    for f, (train_rows, _) in enumerate(task.splits):
        ref = SGDClassifier(**base, alpha=1e-3, loss="log_loss")
        ref.fit(X[train_rows], y[train_rows], sample_weight=weights[train_rows])
        np.testing.assert_allclose(coef[0, f], ref.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(intercept[0, f], ref.intercept_, rtol=1e-9, atol=1e-12)
    fitted = search.fit(X, y, sample_weight=weights)
    plain = SGDClassifier(**base, **fitted.best_params_).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(fitted.coef_, plain.coef_)


def test_one_vs_rest_grid_models_equal_per_fold_fits(three_classes):
    X, y = three_classes
    base = dict(shuffle=False, max_iter=20, average=True)
    search = SGDClassifierCV(**base, alphas=[1e-3, 1e-1], cv=3)
    candidates, splits, models = grid_models(search, X, y)
    for params, (coef, intercept, n_iter) in zip(candidates, models, strict=True):
        for f, (train_rows, _) in enumerate(splits):
            ref = per_fold_fit(SGDClassifier, base, params, X, y, train_rows)
            np.testing.assert_allclose(coef[f], ref.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(intercept[f], ref.intercept_, rtol=1e-9, atol=1e-12)
            assert n_iter[f] == ref.n_iter_


def test_regression_grid_models_and_r2_equal_per_fold_fits(regression):
    X, y = regression
    base = dict(shuffle=False, max_iter=40, penalty="elasticnet")
    grid = {"loss": ["squared_error", "huber"], "learning_rate": ["invscaling", "constant"]}
    search = SGDRegressorCV(**base, alphas=[1e-4, 1e-2], param_grid=grid, cv=KFold(3))
    candidates, splits, models = grid_models(search, X, y)
    for params, (coef, intercept, _) in zip(candidates, models, strict=True):
        for f, (train_rows, _) in enumerate(splits):
            ref = per_fold_fit(SGDRegressor, base, params, X, y, train_rows)
            np.testing.assert_allclose(coef[f, 0], ref.coef_, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(intercept[f, 0], ref.intercept_[0], rtol=1e-9, atol=1e-12)
    search.fit(X, y)
    reference = GridSearchCV(
        SGDRegressor(**base), {**grid, "alpha": [1e-4, 1e-2]}, cv=KFold(3)
    ).fit(X, y)
    by_params = mean_scores_by_params(reference.cv_results_)
    for params, score in mean_scores(search.cv_results_):
        np.testing.assert_allclose(score, by_params[params], rtol=1e-9)


def test_loss_objects_with_nested_parameters(regression):
    X, y = regression
    base = dict(shuffle=False, max_iter=30)
    grid = {"loss": [Huber(), EpsilonInsensitive()], "loss__epsilon": [0.1, 1.0]}
    search = SGDRegressorCV(**base, alphas=[1e-3], param_grid=grid, cv=KFold(3))
    candidates, splits, models = grid_models(search, X, y)
    assert len(candidates) == 4
    for params, (coef, _, _) in zip(candidates, models, strict=True):
        for f, (train_rows, _) in enumerate(splits):
            model = SGDRegressor(**base, alpha=1e-3, loss=clone(params["loss"]))
            model.set_params(loss__epsilon=params["loss__epsilon"])
            ref = model.fit(X[train_rows], y[train_rows])
            np.testing.assert_allclose(coef[f, 0], ref.coef_, rtol=1e-9, atol=1e-12)
    search.fit(X, y)
    assert {"param_loss", "param_loss__epsilon"} <= set(search.cv_results_)


# ------------------------------------------------------------ statistics
def test_mean_scores_agree_with_grid_search_within_seed_spread(binary):
    X, y = binary
    alphas = [1e-4, 1e-2]
    grid = {"loss": ["hinge", "log_loss"]}
    folds = StratifiedKFold(4)
    ours = SGDClassifierCV(alphas=alphas, param_grid=grid, cv=folds, random_state=0).fit(X, y)
    theirs = [
        GridSearchCV(SGDClassifier(random_state=seed), {**grid, "alpha": alphas}, cv=folds)
        .fit(X, y)
        .cv_results_
        for seed in range(4)
    ]
    by_params = [mean_scores_by_params(r) for r in theirs]
    for params, score in mean_scores(ours.cv_results_):
        seeds = np.array([b[params] for b in by_params])
        assert abs(score - seeds.mean()) <= max(3 * seeds.std(), 0.03), (params, score, seeds)


# ------------------------------------------------------- results and refit
def test_cv_results_have_grid_search_keys_and_refit_is_a_plain_fit(binary):
    X, y = binary
    grid = {"loss": ["hinge", "log_loss"]}
    search = SGDClassifierCV(alphas=3, param_grid=grid, cv=3, random_state=0).fit(X, y)
    reference = GridSearchCV(SGDClassifier(), {**grid, "alpha": [1e-7, 1e-4, 1e-1]}, cv=3)
    reference.fit(X, y)
    assert set(reference.cv_results_) == set(search.cv_results_)
    results = search.cv_results_
    assert len(results["params"]) == 6
    assert results["rank_test_score"].min() == 1
    assert search.best_index_ == int(np.argmax(results["mean_test_score"]))
    assert search.best_params_ == results["params"][search.best_index_]
    assert search.alpha_ == search.best_params_["alpha"]
    assert search.best_score_ == results["mean_test_score"][search.best_index_]
    plain = SGDClassifier(random_state=0, **search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.coef_, plain.coef_)
    np.testing.assert_array_equal(search.intercept_, plain.intercept_)
    assert search.n_iter_ == plain.n_iter_
    np.testing.assert_array_equal(search.classes_, plain.classes_)
    np.testing.assert_array_equal(search.predict(X), plain.predict(X))
    np.testing.assert_array_equal(search.decision_function(X), plain.decision_function(X))
    assert search.score(X, y) == plain.score(X, y)
    assert hasattr(search, "predict_proba") == hasattr(plain, "predict_proba")


@pytest.mark.parametrize("sparse", [False, True])
def test_results_do_not_depend_on_n_jobs(three_classes, sparse):
    X, y = three_classes
    X = sp.csr_matrix(X) if sparse else X
    search = SGDClassifierCV(alphas=[1e-4, 1e-3, 1e-2], cv=3, random_state=0)
    _, _, one = grid_models(search, X, y, n_jobs=1)
    _, _, two = grid_models(search, X, y, n_jobs=2)
    for a, b in zip(one, two, strict=True):
        for x, z in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, z)
    scores = [
        clone(search).set_params(n_jobs=n).fit(X, y).cv_results_["mean_test_score"] for n in (1, 2)
    ]
    np.testing.assert_array_equal(*scores)


def test_scoring_names_and_callables(binary):
    X, y = binary
    kw = dict(alphas=[1e-3], param_grid={"loss": ["log_loss"]}, cv=3, shuffle=False)
    by_name = SGDClassifierCV(scoring="neg_log_loss", **kw).fit(X, y)
    reference = GridSearchCV(
        SGDClassifier(shuffle=False), {"alpha": [1e-3], "loss": ["log_loss"]}, cv=3,
        scoring="neg_log_loss",
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(
        by_name.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
    )

    def balanced(estimator, X, y):
        return float(np.mean(estimator.predict(X) == y))

    by_callable = SGDClassifierCV(scoring=balanced, **kw).fit(X, y)
    default = SGDClassifierCV(**kw).fit(X, y)
    np.testing.assert_allclose(
        by_callable.cv_results_["mean_test_score"], default.cv_results_["mean_test_score"]
    )


def test_unfusable_groups_are_fitted_one_by_one(binary):
    X, y = binary
    grid = [{"optimizer": ["adam"], "batch_size": [4]}, {"loss": ["hinge"]}]
    search = SGDClassifierCV(alphas=[1e-3], param_grid=grid, cv=3, random_state=0).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# --------------------------------------------------------------- bad input
def test_bad_grids_raise_clear_errors(binary):
    X, y = binary
    with pytest.raises(ValueError, match="param_grid is an empty list"):
        SGDClassifierCV(param_grid=[]).fit(X, y)
    with pytest.raises(ValueError, match="'colour', which is not a parameter of SGDClassifier"):
        SGDClassifierCV(param_grid={"colour": [1]}).fit(X, y)
    with pytest.raises(ValueError, match="alphas is empty"):
        SGDClassifierCV(alphas=[]).fit(X, y)
    with pytest.raises(InvalidParameterError, match="alpha"):
        SGDClassifierCV(alphas=None, param_grid={"alpha": [-1.0]}).fit(X, y)
    with pytest.raises(ValueError, match="elasticnet"):
        SGDClassifierCV(l1_ratios=[0.5]).fit(X, y)
    with pytest.raises(ValueError, match="number of classes has to be greater than one"):
        SGDClassifierCV().fit(X, np.zeros_like(y))


def test_a_failed_fit_leaves_the_fitted_search_untouched(binary):
    X, y = binary
    search = SGDClassifierCV(alphas=[1e-3], cv=3).fit(X, y)
    coef = search.coef_.copy()
    with pytest.raises(ValueError):
        search.set_params(param_grid=[]).fit(X, y)
    np.testing.assert_array_equal(search.coef_, coef)


# ------------------------------------------------------------- composition
def test_pipeline_and_cross_val_score(binary, regression):
    X, y = binary
    pipe = make_pipeline(StandardScaler(), SGDClassifierCV(alphas=[1e-4, 1e-2], cv=3))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and (scores > 0.7).all()
    X, y = regression
    scores = cross_val_score(SGDRegressorCV(alphas=[1e-4, 1e-2], cv=3), X, y, cv=3)
    assert (scores > 0.8).all()


@pytest.mark.slow
def test_dask_cluster_gives_the_local_results(binary):
    distributed = pytest.importorskip("distributed")
    joblib = pytest.importorskip("joblib")
    X, y = binary
    grid = {"loss": ["hinge", "log_loss"], "average": [False, True]}
    search = SGDClassifierCV(alphas=[1e-4, 1e-2], param_grid=grid, cv=3, random_state=0)
    local = clone(search).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, host="127.0.0.1",
            protocol="tcp", dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_backend("dask"),
    ):  # fmt: skip
        remote = clone(search).fit(X, y)
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.task_prefixes)
        )
    assert any("fit_group" in prefix for prefix in prefixes), prefixes
    for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
