"""Linear metric learners: losses, compiled steps, sampling, estimators.

References are independent of the code under test: closed forms and finite
differences of the losses written here in NumPy, scikit-learn's
``NeighborhoodComponentsAnalysis``, ``roc_auc_score`` and brute-force threshold
searches.  The weakly supervised learners take 3-D input that
``parametrize_with_checks`` cannot feed, so their scikit-learn behaviour
(clone, pickling, fitted-state errors, bad input) is tested here, as
metric-learn tests its own.
"""

import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastloss import (
    SGDClassifier,
    SGDMetricLearner,
    SGDPairsMetricLearner,
    SGDRegressor,
    SGDTripletsMetricLearner,
)
from fastloss._kernels import _layout as L
from fastloss._kernels.metric_epoch import draw_triplets, metric_epoch
from fastloss.losses import (
    CLASSIFICATION_LOSSES,
    EXTRA_CLASSIFICATION_LOSSES,
    EXTRA_REGRESSION_LOSSES,
    METRIC_LOSSES,
    REGRESSION_LOSSES,
    Contrastive,
    SoftContrastive,
    SoftTriplet,
    Triplet,
    loss_from_name,
)


# ------------------------------------------------------------ references
def softplus(x):
    return np.logaddexp(0.0, x)


def pair_loss(name, y, s, margin):
    """The pair losses written out: label y (+1 / -1), squared distance s."""
    push = {"contrastive": lambda v: max(0.0, v), "soft_contrastive": softplus}[name]
    return s if y > 0 else push(margin - s)


def triplet_loss(name, s_p, s_n, margin):
    outer = {"triplet": lambda v: max(0.0, v), "soft_triplet": softplus}[name]
    return outer(margin + s_p - s_n)


def sq_dist(components, a, b):
    z = components @ (a - b)
    return float(z @ z)


def numeric_gradient(f, components, h=1e-6):
    grad = np.zeros_like(components)
    for idx in np.ndindex(components.shape):
        up, down = components.copy(), components.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (2 * h)
    return grad


def one_step(X, tuples, y, loss, components, eta=1e-3, alpha=0.0):
    """Run the compiled epoch over ``tuples`` (in order) with a constant step;
    returns (new components, loss sum)."""
    hyper = np.zeros(L.H_SIZE)
    hyper[L.H_SCHEDULE] = L.CONSTANT
    hyper[L.H_ETA0] = eta
    hyper[L.H_ALPHA] = alpha
    hyper[L.H_L2] = 1.0
    hyper[L.H_COMPUTE_LOSS] = 1.0
    state = np.zeros(L.S_SIZE)
    state[L.S_T] = 1.0
    updated = components.copy()
    order = np.arange(tuples.shape[0], dtype=np.int64)
    total = metric_epoch(
        X, tuples, y, order, loss._code, loss._kernel_params(), hyper, updated, state
    )
    assert state[L.S_T] > 1.0
    return updated, total


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5)), rng.normal(size=(3, 5)) * 0.5


# ------------------------------------------------------------------ losses
@pytest.mark.parametrize("cls", [Contrastive, SoftContrastive])
def test_pair_losses_match_closed_forms_and_finite_differences(cls):
    loss = cls(margin=2.0)
    y = np.array([1, 1, -1, -1, -1, -1], dtype=float)
    s = np.array([0.0, 3.0, 0.5, 1.9, 2.5, 40.0])
    expected = [pair_loss(cls.name, yi, si, 2.0) for yi, si in zip(y, s, strict=True)]
    np.testing.assert_allclose(loss.loss(y, s), expected, rtol=1e-12)
    h = 1e-6
    numeric = [
        (pair_loss(cls.name, yi, si + h, 2.0) - pair_loss(cls.name, yi, si - h, 2.0)) / (2 * h)
        for yi, si in zip(y, s, strict=True)
    ]
    np.testing.assert_allclose(loss.gradient(y, s), numeric, atol=1e-6)
    assert loss(y, s) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("cls", [Triplet, SoftTriplet])
def test_triplet_losses_match_closed_forms_and_finite_differences(cls):
    loss = cls(margin=0.5)
    s_p = np.array([0.1, 2.0, 1.0, 5.0])
    s_n = np.array([3.0, 1.0, 1.2, 1e3])
    expected = [triplet_loss(cls.name, p, n, 0.5) for p, n in zip(s_p, s_n, strict=True)]
    np.testing.assert_allclose(loss.loss(s_p, s_n), expected, rtol=1e-12)
    h = 1e-6
    numeric = [
        (triplet_loss(cls.name, p + h, n, 0.5) - triplet_loss(cls.name, p - h, n, 0.5)) / (2 * h)
        for p, n in zip(s_p, s_n, strict=True)
    ]
    np.testing.assert_allclose(loss.gradient(s_p, s_n), numeric, atol=1e-6)


def test_metric_losses_are_not_losses_of_the_linear_estimators():
    for name in METRIC_LOSSES:
        for registry in (
            CLASSIFICATION_LOSSES,
            REGRESSION_LOSSES,
            EXTRA_CLASSIFICATION_LOSSES,
            EXTRA_REGRESSION_LOSSES,
        ):
            assert name not in registry
        with pytest.raises(ValueError, match="Unknown loss"):
            loss_from_name(name)
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    with pytest.raises(InvalidParameterError, match="'loss' parameter of SGDClassifier"):
        SGDClassifier(loss=Contrastive()).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'loss' parameter of SGDRegressor"):
        SGDRegressor(loss=Triplet()).fit(X, y.astype(float))
    with pytest.raises(InvalidParameterError, match="'loss' parameter of SGDRegressor"):
        SGDRegressor(loss="triplet").fit(X, y.astype(float))


def test_bad_margin_and_bad_labels():
    with pytest.raises(InvalidParameterError, match="'margin' parameter of Contrastive"):
        Contrastive(margin=0.0).loss([1.0], [1.0])
    with pytest.raises(ValueError, match=r"\+1 \(similar\) or -1"):
        Contrastive().loss([0.0], [1.0])
    with pytest.raises(InvalidParameterError, match="'margin' parameter of Triplet"):
        SGDMetricLearner(loss=Triplet(margin=-1)).fit([[0.0], [1.0]], [0, 1])


# ---------------------------------------------------- compiled steps vs FD
@pytest.mark.parametrize("cls", [Contrastive, SoftContrastive])
@pytest.mark.parametrize("label", [1.0, -1.0])
def test_pair_step_is_the_gradient_in_the_map(rows, cls, label):
    X, components = rows
    loss = cls(margin=30.0)  # dissimilar pairs inside the margin: the hinge is active
    tuples = np.array([[1, 4]], dtype=np.int64)
    eta = 1e-3
    updated, total = one_step(X, tuples, np.array([label]), loss, components, eta)

    def objective(m):
        return pair_loss(cls.name, label, sq_dist(m, X[1], X[4]), 30.0)

    assert total == pytest.approx(objective(components), rel=1e-12)
    np.testing.assert_allclose(
        (components - updated) / eta, numeric_gradient(objective, components), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("cls", [Triplet, SoftTriplet])
def test_triplet_step_is_the_gradient_in_the_map(rows, cls):
    X, components = rows
    loss = cls(margin=5.0)
    tuples = np.array([[0, 2, 3]], dtype=np.int64)
    eta = 1e-3
    updated, total = one_step(X, tuples, np.empty(0), loss, components, eta)

    def objective(m):
        return triplet_loss(cls.name, sq_dist(m, X[0], X[2]), sq_dist(m, X[0], X[3]), 5.0)

    assert objective(components) > 0.1  # not on the hinge's flat part
    assert total == pytest.approx(objective(components), rel=1e-12)
    np.testing.assert_allclose(
        (components - updated) / eta, numeric_gradient(objective, components), rtol=1e-5, atol=1e-7
    )


def test_a_triplet_under_a_pair_loss_is_its_similar_then_its_dissimilar_pair(rows):
    X, components = rows
    loss = SoftContrastive(margin=30.0)
    from_triplet, total = one_step(
        X, np.array([[0, 2, 3]], dtype=np.int64), np.empty(0), loss, components
    )
    from_pairs, expected = one_step(
        X, np.array([[0, 2], [0, 3]], dtype=np.int64), np.array([1.0, -1.0]), loss, components
    )
    np.testing.assert_array_equal(from_triplet, from_pairs)
    assert total == expected


def test_l2_penalty_shrinks_the_map_when_the_loss_is_flat(rows):
    X, components = rows
    far = 1e6 * np.eye(3, 5)  # every pair far beyond the margin: zero gradient
    eta, alpha = 0.01, 0.5
    updated, _ = one_step(X, np.array([[0, 1]]), np.array([-1.0]), Contrastive(), far, eta, alpha)
    np.testing.assert_allclose(updated, (1 - eta * alpha) * far, rtol=1e-12)
    del components


# ----------------------------------------------------------------- sampling
def _classes(labels):
    _, class_of = np.unique(labels, return_inverse=True)
    counts = np.bincount(class_of)
    members = np.argsort(class_of, kind="stable").astype(np.int64)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return members, start, class_of.astype(np.int64)


@pytest.mark.parametrize("n_candidates", [1, 4])
def test_sampler_draws_positives_of_the_class_and_negatives_of_others(n_candidates):
    rng = np.random.default_rng(1)
    labels = rng.integers(5, size=300)
    labels[7] = 9  # a class of one row: its positive is itself
    members, start, class_of = _classes(labels)
    embedding = rng.normal(size=(300, 3)) if n_candidates > 1 else np.empty((0, 0))
    tuples = np.empty((300, 3), dtype=np.int64)
    draw_triplets(members, start, class_of, embedding, n_candidates, 123, tuples)
    anchor, positive, negative = tuples.T
    np.testing.assert_array_equal(anchor, np.arange(300))
    assert (labels[positive] == labels).all()
    assert (labels[negative] != labels).all()
    alone = labels == 9
    assert (positive[~alone] != anchor[~alone]).all()
    assert positive[7] == 7
    # every row of a class is drawn as someone's positive, every other class's
    # rows as negatives: nothing is left out of the draws
    assert len(np.unique(positive)) > 0.5 * 300


def test_random_draws_are_uniform():
    labels = np.repeat([0, 1, 2], [4, 3, 3])
    members, start, class_of = _classes(labels)
    tuples = np.empty((10, 3), dtype=np.int64)
    counts = np.zeros((10, 10))
    for seed in range(3000):
        draw_triplets(members, start, class_of, np.empty((0, 0)), 1, seed, tuples)
        counts[0, tuples[0, 2]] += 1  # row 0's negatives: the 6 rows of classes 1, 2
        counts[1, tuples[0, 1]] += 1  # row 0's positives: rows 1, 2, 3
    np.testing.assert_allclose(counts[0, 4:] / 3000, 1 / 6, atol=0.03)
    np.testing.assert_allclose(counts[1, 1:4] / 3000, 1 / 3, atol=0.035)
    assert counts[0, :4].sum() == 0 and counts[1, 0] == 0


def test_hard_mining_keeps_the_closest_candidates():
    rng = np.random.default_rng(2)
    labels = rng.integers(3, size=200)
    members, start, class_of = _classes(labels)
    embedding = rng.normal(size=(200, 2))
    tuples = np.empty((200, 3), dtype=np.int64)
    sq = ((embedding[:, None, :] - embedding[None, :, :]) ** 2).sum(-1)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    # with many more candidates than rows, the closest is almost surely drawn
    draw_triplets(members, start, class_of, embedding, 2000, 5, tuples)
    rows = np.arange(200)
    nearest_positive = np.where(same, sq, np.inf).min(axis=1)
    nearest_negative = np.where(labels[:, None] != labels[None, :], sq, np.inf).min(axis=1)
    np.testing.assert_allclose(sq[rows, tuples[:, 1]], nearest_positive)
    np.testing.assert_allclose(sq[rows, tuples[:, 2]], nearest_negative)


# -------------------------------------------------------- supervised learner
def _noisy_blobs(n=600, seed=0):
    X, y = make_classification(
        n_samples=n, n_features=20, n_informative=3, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, class_sep=1.5, random_state=seed,
    )  # fmt: skip
    return StandardScaler().fit_transform(X), y


def _knn_accuracy(Z_train, y_train, Z_test, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


@pytest.mark.parametrize("loss", ["triplet", "soft_triplet", "contrastive"])
def test_learnt_space_beats_the_raw_features(loss):
    X, y = _noisy_blobs()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    raw = _knn_accuracy(X_train, y_train, X_test, y_test)
    learner = SGDMetricLearner(loss=loss, random_state=0).fit(X_train, y_train)
    learnt = _knn_accuracy(learner.transform(X_train), y_train, learner.transform(X_test), y_test)
    assert learnt > raw + 0.1  # 0.83 raw, 0.96-0.98 learnt
    assert learner.components_.shape == (20, 20)
    assert learner.loss_curve_.shape == (learner.n_iter_,)


@pytest.mark.slow
def test_digits_knn_accuracy_is_that_of_nca():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    nca = NeighborhoodComponentsAnalysis(random_state=0).fit(X_train, y_train)
    reference = _knn_accuracy(nca.transform(X_train), y_train, nca.transform(X_test), y_test)
    learner = SGDMetricLearner(random_state=0).fit(X_train, y_train)
    ours = _knn_accuracy(learner.transform(X_train), y_train, learner.transform(X_test), y_test)
    assert ours >= reference - 0.01


def test_pipeline_with_knn_and_a_search_over_the_margin():
    X, y = _noisy_blobs(300)
    pipe = make_pipeline(SGDMetricLearner(loss=Triplet(), random_state=0), KNeighborsClassifier())
    search = GridSearchCV(pipe, {"sgdmetriclearner__loss__margin": [0.5, 2.0]}, cv=2)
    search.fit(X, y)
    assert search.best_score_ > 0.8
    assert search.best_estimator_.score(X, y) > 0.8


def test_init_options_and_n_components():
    X, y = _noisy_blobs(200)
    for init in ("auto", "pca", "identity", "random"):
        learner = SGDMetricLearner(n_components=2, init=init, max_iter=2, tol=None).fit(X, y)
        assert learner.transform(X).shape == (200, 2)
        assert learner.get_feature_names_out().tolist() == [
            "sgdmetriclearner0",
            "sgdmetriclearner1",
        ]
    start = np.eye(2, 20)
    learner = SGDMetricLearner(init=start, max_iter=1, tol=None, eta0=1e-12).fit(X, y)
    np.testing.assert_allclose(learner.components_, start, atol=1e-8)
    assert learner.get_mahalanobis_matrix().shape == (20, 20)


def test_fits_are_reproducible_and_pickle():
    X, y = _noisy_blobs(200)
    first = SGDMetricLearner(random_state=3).fit(X, y)
    second = SGDMetricLearner(random_state=3).fit(X, y)
    np.testing.assert_array_equal(first.components_, second.components_)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.transform(X), first.transform(X))
    metric = restored.get_metric()
    expected = np.linalg.norm(first.transform(X[:1]) - first.transform(X[1:2]))
    assert metric(X[0], X[1]) == pytest.approx(expected)


def test_warm_start_continues_from_the_last_map():
    X, y = _noisy_blobs(200)
    learner = SGDMetricLearner(warm_start=True, max_iter=3, tol=None, random_state=0).fit(X, y)
    after_first = learner.components_.copy()
    learner.set_params(eta0=1e-12).fit(X, y)
    np.testing.assert_allclose(learner.components_, after_first, atol=1e-8)


def test_supervised_bad_input():
    X, y = _noisy_blobs(50)
    with pytest.raises(TypeError, match="dense data is required"):
        SGDMetricLearner().fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        SGDMetricLearner().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="Unknown label type"):
        SGDMetricLearner().fit(X, np.linspace(0, 1, 50))
    with pytest.raises(ValueError, match="cannot be greater"):
        SGDMetricLearner(n_components=21).fit(X, y)
    with pytest.raises(ValueError, match="must match the dimensionality"):
        SGDMetricLearner(init=np.eye(3, 4)).fit(X, y)
    with pytest.raises(InvalidParameterError, match="'mining' parameter"):
        SGDMetricLearner(mining="semi-hard").fit(X, y)
    with pytest.raises(InvalidParameterError, match="'learning_rate' parameter"):
        SGDMetricLearner(learning_rate="optimal").fit(X, y)
    with pytest.raises(NotFittedError):
        SGDMetricLearner().transform(X)


def test_a_diverged_fit_leaves_the_fitted_model_untouched():
    X, y = _noisy_blobs(200)
    learner = SGDMetricLearner(random_state=0).fit(X, y)
    before = learner.components_.copy()
    learner.set_params(eta0=1e3, learning_rate="constant", loss="contrastive")
    with pytest.raises(ValueError, match="training diverged"):
        learner.fit(X, y)
    np.testing.assert_array_equal(learner.components_, before)
    assert learner.loss == "contrastive"


# ------------------------------------------------- weakly supervised learners
def _pairs_problem(n_points=150, n_pairs=1500, seed=0):
    """Points whose first feature alone says which pairs are similar; the
    other features are louder noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_points, 4))
    X[:, 1:] *= 3.0
    pairs = rng.integers(n_points, size=(n_pairs, 2))
    y = np.where(np.abs(X[pairs[:, 0], 0] - X[pairs[:, 1], 0]) < 0.6, 1, -1)
    return X, pairs, y


def test_pairs_learner_reads_indices_as_it_reads_points():
    X, pairs, y = _pairs_problem()
    by_index = SGDPairsMetricLearner(preprocessor=X, random_state=0).fit(pairs, y)
    by_points = SGDPairsMetricLearner(random_state=0).fit(X[pairs], y)
    np.testing.assert_allclose(by_index.components_, by_points.components_, rtol=1e-10)
    assert by_index.threshold_ == pytest.approx(by_points.threshold_)
    assert by_index.score(pairs, y) > 0.9
    # the learnt map weighs the informative feature most
    M = by_index.get_mahalanobis_matrix()
    assert M[0, 0] > 3 * max(M[1, 1], M[2, 2], M[3, 3])


def test_pairs_learner_methods_follow_metric_learn():
    X, pairs, y = _pairs_problem()
    learner = SGDPairsMetricLearner(loss="soft_contrastive", preprocessor=X, random_state=0)
    learner.fit(pairs, y)
    M = learner.get_mahalanobis_matrix()
    diff = X[pairs[:, 0]] - X[pairs[:, 1]]
    distance = np.sqrt(np.einsum("ij,jk,ik->i", diff, M, diff))
    np.testing.assert_allclose(learner.pair_distance(pairs), distance, rtol=1e-8)
    np.testing.assert_allclose(learner.pair_score(pairs), -distance, rtol=1e-8)
    np.testing.assert_allclose(learner.decision_function(pairs), -distance, rtol=1e-8)
    assert learner.score(pairs, y) == pytest.approx(roc_auc_score(y, -distance))
    np.testing.assert_array_equal(
        learner.predict(pairs), np.where(distance <= learner.threshold_, 1, -1)
    )
    # fit calibrated the threshold for accuracy: no cut does better
    best = max(np.mean(np.where(distance <= c, 1, -1) == y) for c in np.r_[-1, distance])
    assert np.mean(learner.predict(pairs) == y) == pytest.approx(best)
    assert learner.classes_.tolist() == [-1, 1]


def test_calibrate_threshold_strategies():
    X, pairs, y = _pairs_problem()
    learner = SGDPairsMetricLearner(preprocessor=X, random_state=0).fit(pairs, y)
    distance = learner.pair_distance(pairs)
    cuts = np.r_[-1.0, np.sort(distance)]

    def rates(c):
        similar = distance <= c
        return similar[y == 1].mean(), (~similar)[y == -1].mean()

    learner.calibrate_threshold(pairs, y, strategy="max_tpr", min_rate=0.9)
    tpr, tnr = rates(learner.threshold_)
    assert tnr >= 0.9
    assert tpr == pytest.approx(max(rates(c)[0] for c in cuts if rates(c)[1] >= 0.9))
    learner.calibrate_threshold(pairs, y, strategy="max_tnr", min_rate=0.8)
    tpr, tnr = rates(learner.threshold_)
    assert tpr >= 0.8
    assert tnr == pytest.approx(max(rates(c)[1] for c in cuts if rates(c)[0] >= 0.8))
    learner.calibrate_threshold(pairs, y, strategy="f_beta", beta=1.0)

    def f1(c):
        predicted = distance <= c
        tp = np.sum(predicted & (y == 1))
        return 2 * tp / (predicted.sum() + np.sum(y == 1))

    assert f1(learner.threshold_) == pytest.approx(max(f1(c) for c in cuts))
    with pytest.raises(ValueError, match="needs min_rate"):
        learner.calibrate_threshold(pairs, y, strategy="max_tpr")
    with pytest.raises(ValueError, match="strategy must be one of"):
        learner.calibrate_threshold(pairs, y, strategy="auc")


def test_triplets_learner():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[:, 1:] *= 3.0
    triplets = rng.integers(300, size=(3000, 3))
    key = X[:, 0]
    right = np.abs(key[triplets[:, 0]] - key[triplets[:, 1]]) < np.abs(
        key[triplets[:, 0]] - key[triplets[:, 2]]
    )
    triplets[~right] = triplets[~right][:, [0, 2, 1]]
    by_index = SGDTripletsMetricLearner(preprocessor=X, random_state=0).fit(triplets)
    by_points = SGDTripletsMetricLearner(loss=Triplet(), random_state=0).fit(X[triplets])
    np.testing.assert_allclose(by_index.components_, by_points.components_, rtol=1e-10)
    decision = by_index.decision_function(triplets)
    d_p = by_index.pair_distance(triplets[:, :2])
    d_n = by_index.pair_distance(triplets[:, [0, 2]])
    np.testing.assert_allclose(decision, d_n - d_p, rtol=1e-8)
    accuracy = np.mean(d_n > d_p) + 0.5 * np.mean(d_n == d_p)
    assert by_index.score(triplets) == pytest.approx(accuracy)
    assert accuracy > 0.9
    np.testing.assert_array_equal(by_index.predict(triplets), np.sign(decision))
    soft = SGDTripletsMetricLearner(loss="soft_triplet", preprocessor=X, random_state=0)
    assert soft.fit(triplets).score(triplets) > 0.9


def test_index_tuples_are_never_gathered_into_a_3d_copy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 40))
    pairs = rng.integers(500, size=(100_000, 2))
    y = np.where(rng.random(100_000) < 0.5, 1, -1)
    learner = SGDPairsMetricLearner(preprocessor=X, max_iter=1, tol=None, random_state=0)
    learner.fit(pairs[:10], y[:10])  # compile outside the measurement
    tracemalloc.start()
    learner.fit(pairs, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gathered = pairs.shape[0] * 2 * X.shape[1] * 8  # 64 MB
    assert peak < gathered / 4


def test_weakly_supervised_bad_input_and_clone():
    X, pairs, y = _pairs_problem(n_pairs=100)
    with pytest.raises(ValueError, match="need a preprocessor"):
        SGDPairsMetricLearner().fit(pairs, y)
    with pytest.raises(ValueError, match=r"index rows 0 to 149"):
        SGDPairsMetricLearner(preprocessor=X).fit(pairs + 100, y)
    with pytest.raises(ValueError, match=r"shape \(n_pairs, 2, n_features\)"):
        SGDPairsMetricLearner().fit(np.zeros((5, 3, 4)), np.ones(5))
    with pytest.raises(ValueError, match=r"\+1 \(similar\) or -1"):
        SGDPairsMetricLearner(preprocessor=X).fit(pairs, (y > 0).astype(int))
    with pytest.raises(ValueError, match="is not a loss of pairs"):
        SGDPairsMetricLearner(loss="triplet", preprocessor=X).fit(pairs, y)
    with pytest.raises(ValueError, match="is not a loss of triplets"):
        SGDTripletsMetricLearner(loss=Contrastive()).fit(np.zeros((5, 3, 2)))
    with pytest.raises(TypeError, match="sparse input is not supported"):
        SGDPairsMetricLearner(preprocessor=sp.csr_matrix(X)).fit(pairs, y)
    with pytest.raises(ValueError, match="NaN"):
        SGDPairsMetricLearner().fit(np.full((3, 2, 2), np.nan), [1, -1, 1])
    with pytest.raises(NotFittedError):
        SGDPairsMetricLearner(preprocessor=X).pair_distance(pairs)
    learner = SGDPairsMetricLearner(preprocessor=X, random_state=0).fit(pairs, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        learner.pair_distance(np.zeros((2, 2, 3)))
    fresh = clone(learner)
    assert not hasattr(fresh, "components_")
    restored = pickle.loads(pickle.dumps(learner))
    np.testing.assert_array_equal(restored.predict(pairs), learner.predict(pairs))


# --------------------------------------------------------------- compile cache
CACHE_SCRIPT = """
import warnings
import numpy as np
from fastloss import SGDMetricLearner, SGDPairsMetricLearner, SGDTripletsMetricLearner
from fastloss.losses import SoftContrastive
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
y = np.arange(60) % 3
SGDMetricLearner(max_iter=2).fit(X, y)
SGDPairsMetricLearner(preprocessor=X, max_iter=2).fit(
    rng.integers(60, size=(30, 2)), np.where(rng.random(30) < 0.5, 1, -1)
).score(rng.integers(60, size=(30, 2)), np.tile([1, -1], 15))
SGDTripletsMetricLearner(max_iter=2).fit(X[rng.integers(60, size=(30, 3))])
SoftContrastive().loss([1.0, -1.0], [0.5, 0.5])
"""


@pytest.mark.slow
def test_a_warm_process_compiles_no_metric_kernel(tmp_path, compiled_in_fresh_process):
    first = compiled_in_fresh_process(CACHE_SCRIPT, tmp_path)
    assert {"metric_epoch", "draw_triplets", "metric_loss_array"} <= set(first), first
    second = compiled_in_fresh_process(CACHE_SCRIPT, tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"


def test_index_pairs_cross_validate_like_any_classifier_input():
    from sklearn.model_selection import cross_val_score

    X, pairs, y = _pairs_problem()
    scores = cross_val_score(SGDPairsMetricLearner(preprocessor=X, random_state=0), pairs, y, cv=3)
    assert scores.min() > 0.9  # ROC AUC on each held-out third


# ------------------------------------------------------------------ harness
def test_harness_rows_compare_with_nca_on_the_same_rows(monkeypatch):
    from fastloss.bench import _metric_learning as bench

    X, y = bench.make_metric_data(400, n_features=12)
    assert X.shape == (400, 12) and set(np.unique(y)) == set(range(5))
    train, test = (X[:300], y[:300]), (X[300:], y[300:])
    row = bench._knn_row("tiny", train, test, seed=0)
    assert row.reference == "NeighborhoodComponentsAnalysis"
    assert 0.0 <= row.fastloss_value <= 1.0 and 0.0 <= row.reference_value <= 1.0
    assert row.fastloss_seconds > 0 and row.reference_seconds > 0
    # without the memory NCA needs, the row says so and keeps the smaller run's time
    monkeypatch.setattr(bench, "_available_bytes", lambda: 1_000)
    skipped = bench._knn_row("tiny", train, test, seed=0, smaller_nca=row)
    assert np.isnan(skipped.reference_value)
    assert "NCA skipped" in skipped.note and "lower bound" in skipped.reference
    assert skipped.reference_seconds == row.reference_seconds
