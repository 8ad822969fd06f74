"""Multiclass training: one-vs-rest from one read of each row, Multinomial and
MulticlassHinge, against independent references."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import logsumexp, softmax
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import fastloss
from fastloss import losses


def _problem(n_samples=600, n_features=12, n_classes=4, seed=0, density=1.0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(8, n_features - 2),
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    X = StandardScaler().fit_transform(X)
    if density < 1.0:
        mask = np.random.default_rng(seed).random(X.shape) < density
        X = X * mask
    return X, y


# ---------------------------------------------------------------- the losses
MULTICLASS_LOSSES = [losses.Multinomial(), losses.MulticlassHinge()]


def _reference_loss(loss, labels, raw):
    """The losses' formulas in NumPy."""
    own = raw[np.arange(labels.shape[0]), labels]
    if isinstance(loss, losses.Multinomial):
        return logsumexp(raw, axis=1) - own
    rival = np.where(np.arange(raw.shape[1]) == labels[:, None], -np.inf, raw).max(axis=1)
    return np.maximum(0.0, 1.0 + rival - own)


@pytest.mark.parametrize("loss", MULTICLASS_LOSSES, ids=repr)
def test_vector_loss_matches_numpy_reference_and_finite_differences(loss):
    rng = np.random.default_rng(0)
    n, k = 500, 5
    labels = rng.integers(0, k, size=n)
    raw = rng.normal(scale=3.0, size=(n, k))
    np.testing.assert_allclose(loss.loss(labels, raw), _reference_loss(loss, labels, raw))
    grad = loss.gradient(labels, raw)
    h = 1e-6
    for c in range(k):
        step = np.zeros(k)
        step[c] = h
        numeric = (loss.loss(labels, raw + step) - loss.loss(labels, raw - step)) / (2 * h)
        # the hinge has kinks: compare where the one-sided differences agree
        one_sided = (loss.loss(labels, raw + 2 * step) - loss.loss(labels, raw)) / (2 * h)
        smooth = np.abs(numeric - one_sided) < 1e-4
        assert smooth.mean() > 0.95
        np.testing.assert_allclose(grad[smooth, c], numeric[smooth], atol=1e-5)
    assert loss(labels, raw) == pytest.approx(_reference_loss(loss, labels, raw).mean())


def test_multinomial_exact_at_extreme_scores():
    loss = losses.Multinomial()
    labels = np.array([0, 1, 2])
    raw = np.array([[1e6, 0.0, -1e6], [1e6, 0.0, -1e6], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(loss.loss(labels, raw), [0.0, 1e6, np.log(3.0)], rtol=1e-15)
    np.testing.assert_allclose(
        loss.gradient(labels, raw), softmax(raw, axis=1) - np.eye(3)[labels], atol=1e-15
    )


@settings(max_examples=60, deadline=None)
@given(
    scores=arrays(
        np.float64,
        st.tuples(st.integers(1, 20), st.integers(2, 6)),
        elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([-1e6, -700.0, 0.0, 700.0, 1e6])),
    ),
    data=st.data(),
)
def test_vector_losses_exact_over_generated_scores(scores, data):
    """Property-generated scores, extreme ones included: both losses equal their
    NumPy formulas; the softmax gradient is softmax - onehot (SciPy's softmax)."""
    labels = np.array(
        data.draw(st.lists(st.integers(0, scores.shape[1] - 1), min_size=scores.shape[0],
                           max_size=scores.shape[0]))
    )  # fmt: skip
    for loss in MULTICLASS_LOSSES:
        values = loss.loss(labels, scores)
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        # the NumPy formula itself loses eps * max|score| to cancellation
        atol = 4 * np.finfo(np.float64).eps * max(1.0, np.abs(scores).max())
        np.testing.assert_allclose(
            values, _reference_loss(loss, labels, scores), rtol=1e-12, atol=atol
        )
    grad = losses.Multinomial().gradient(labels, scores)
    expected = softmax(scores, axis=1) - np.eye(scores.shape[1])[labels]
    np.testing.assert_allclose(grad, expected, atol=1e-12)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)
    hinge = losses.MulticlassHinge().gradient(labels, scores)
    assert set(np.unique(hinge)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(hinge.sum(axis=1), 0.0)


@pytest.mark.parametrize("loss", MULTICLASS_LOSSES, ids=repr)
def test_vector_loss_rejects_bad_targets(loss):
    raw = np.zeros((3, 3))
    with pytest.raises(ValueError, match="class indices"):
        loss.loss(np.array([0, 1, 3]), raw)
    with pytest.raises(ValueError, match="class indices"):
        loss.loss(np.array([0.5, 1, 2]), raw)
    with pytest.raises(ValueError, match=r"\(n_samples, n_classes\)"):
        loss.loss(np.array([0, 1, 2]), np.zeros(3))


# ------------------------------------- one-vs-rest from one read of each row
def _per_class_fits(X, y, sample_weight, class_weight, **params):
    """One binary fastloss fit per class (the per-class kernel), in the same row
    order (no shuffling), with one-vs-rest's weights: the class weight on the
    positive samples only."""
    fits = []
    for c in np.unique(y):
        cw = {True: class_weight.get(c, 1.0), False: 1.0}
        model = fastloss.SGDClassifier(class_weight=cw, **params)
        fits.append(model.fit(X, y == c, sample_weight=sample_weight))
    return fits


OVR_SETTINGS = {
    "hinge_l2_tol": dict(loss="hinge", tol=1e-3, max_iter=60),
    "log_elasticnet_average": dict(
        loss="log_loss", penalty="elasticnet", l1_ratio=0.5, average=100, tol=None, max_iter=6
    ),
    "modified_huber_adaptive": dict(
        loss="modified_huber", learning_rate="adaptive", eta0=0.05, tol=1e-2, max_iter=150
    ),
    "squared_hinge_l1_invscaling": dict(
        loss="squared_hinge",
        penalty="l1",
        learning_rate="invscaling",
        eta0=0.02,
        tol=None,
        max_iter=5,
    ),
}


@pytest.mark.parametrize("setting", OVR_SETTINGS)
def test_one_read_ovr_equals_one_binary_fit_per_class(setting):
    """The multi-output kernel, given the rows in the same order, gives every class
    the model the per-class kernel gives it: each class stops on its own
    criterion (n_iter), with its own step sizes, penalties, averages and weights."""
    params = dict(shuffle=False, alpha=1e-3, **OVR_SETTINGS[setting])
    X, y = _problem(density=0.5, seed=1)
    X = sp.csr_matrix(X)  # CSR dot products sum in the same order in both kernels
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=y.shape[0])
    class_weight = {0: 2.0, 2: 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        joint = fastloss.SGDClassifier(class_weight=class_weight, **params)
        joint.fit(X, y, sample_weight=sample_weight)
        fits = _per_class_fits(X, y, sample_weight, class_weight, **params)
    for k, fit in enumerate(fits):
        np.testing.assert_allclose(joint.coef_[k], fit.coef_[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(joint.intercept_[k], fit.intercept_[0], rtol=1e-12, atol=1e-14)
    assert joint.n_iter_ == max(f.n_iter_ for f in fits)
    assert joint.t_ == max(f.t_ for f in fits)
    if params["tol"] is not None:  # classes did stop at different epochs
        assert len({f.n_iter_ for f in fits}) > 1


@pytest.mark.parametrize("setting", ["hinge_l2_tol", "log_elasticnet_average"])
def test_one_read_ovr_dense_equals_one_binary_fit_per_class(setting):
    """On dense rows too: both kernels compute each class's scores with the same
    dot product, so the models are the same bit for bit."""
    params = dict(shuffle=False, alpha=1e-3, **OVR_SETTINGS[setting])
    X, y = _problem(seed=2)
    sample_weight = np.random.default_rng(1).uniform(0.5, 2.0, size=y.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        joint = fastloss.SGDClassifier(class_weight={1: 3.0}, **params)
        joint.fit(X, y, sample_weight=sample_weight)
        fits = _per_class_fits(X, y, sample_weight, {1: 3.0}, **params)
    np.testing.assert_array_equal(joint.coef_, np.vstack([f.coef_ for f in fits]))
    np.testing.assert_array_equal(joint.intercept_, np.concatenate([f.intercept_ for f in fits]))
    assert joint.n_iter_ == max(f.n_iter_ for f in fits)


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_dense_equals_sparse(loss, multi_class):
    X, y = _problem(density=0.4, seed=3)
    params = dict(loss=loss, multi_class=multi_class, random_state=0, alpha=1e-3)
    params.update(penalty="elasticnet", average=50, max_iter=8, tol=None)
    dense = fastloss.SGDClassifier(**params).fit(X, y)
    sparse = fastloss.SGDClassifier(**params).fit(sp.csr_matrix(X), y)
    # equal but for rounding: dense dot products are summed in another order
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dense.intercept_, sparse.intercept_, rtol=1e-9, atol=1e-12)


def test_ovr_n_jobs_splits_classes_and_changes_nothing():
    X, y = _problem(n_samples=900, n_classes=5, seed=4)
    params = dict(random_state=3, average=True, tol=1e-3)
    fits = [fastloss.SGDClassifier(n_jobs=n, **params).fit(X, y) for n in (1, 2, 3, 1)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
        assert other.n_iter_ == fits[0].n_iter_


def test_ovr_accuracy_matches_scikit_learn_on_digits():
    """All classes share one shuffled order (scikit-learn shuffles each class
    with its own seed): statistically the same, so accuracy agrees."""
    import sklearn.linear_model as sk

    X, y = load_digits(return_X_y=True)
    ours, theirs = [], []
    for seed in range(5):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=seed, stratify=y)
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        ours.append(fastloss.SGDClassifier(random_state=seed).fit(X_tr, y_tr).score(X_te, y_te))
        theirs.append(sk.SGDClassifier(random_state=seed).fit(X_tr, y_tr).score(X_te, y_te))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01, (ours, theirs)


# -------------------------------------------------------------- multinomial
def _converged_multinomial(X, y, alpha, sample_weight=None, class_weight=None):
    return fastloss.SGDClassifier(
        loss="log_loss",
        multi_class="multinomial",
        alpha=alpha,
        average=True,
        max_iter=300,
        tol=None,
        random_state=0,
        class_weight=class_weight,
    ).fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_classes", [3, 2])
def test_multinomial_probabilities_match_logistic_regression(n_classes, weighted):
    """Same objective: mean (weighted) cross-entropy + alpha/2 ||W||^2 (intercepts
    free) is LogisticRegression's with C = 1 / (alpha n_samples).  Averaged SGD
    run to convergence gives the same probabilities to within 0.01 (measured:
    0.003), with sample and class weights too."""
    X, y = _problem(n_samples=400, n_features=6, n_classes=n_classes, seed=5)
    alpha = 0.01
    sample_weight, class_weight = None, None
    if weighted:
        sample_weight = np.random.default_rng(1).uniform(0.5, 1.5, size=y.shape[0])
        class_weight = {0: 2.0, 1: 0.7}
    ours = _converged_multinomial(X, y, alpha, sample_weight, class_weight)
    reference = LogisticRegression(
        C=1.0 / (alpha * X.shape[0]), tol=1e-10, max_iter=10_000, class_weight=class_weight
    )
    reference.fit(X, y, sample_weight=sample_weight)
    np.testing.assert_allclose(ours.predict_proba(X), reference.predict_proba(X), atol=0.01)
    assert ours.coef_.shape == reference.coef_.shape
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)
    # and they are not the one-vs-rest probabilities
    if n_classes > 2:
        ovr = fastloss.SGDClassifier(loss="log_loss", alpha=alpha, average=True, random_state=0)
        ovr.fit(X, y)
        assert np.abs(ovr.predict_proba(X) - reference.predict_proba(X)).max() > 0.05


def test_multinomial_loss_object_selects_the_joint_model():
    X, y = _problem(seed=6)
    params = dict(random_state=0, max_iter=5, tol=None)
    by_name = fastloss.SGDClassifier(loss="log_loss", multi_class="multinomial", **params)
    by_object = fastloss.SGDClassifier(loss=losses.Multinomial(), **params)
    np.testing.assert_array_equal(by_name.fit(X, y).coef_, by_object.fit(X, y).coef_)
    assert isinstance(by_name.loss_function_, losses.Multinomial)


def test_multiclass_hinge_accuracy_close_to_crammer_singer_svm():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    alpha = 1e-3
    ours = fastloss.SGDClassifier(
        loss=losses.MulticlassHinge(), alpha=alpha, average=True, random_state=0
    ).fit(X_tr, y_tr)
    svm = LinearSVC(multi_class="crammer_singer", C=1.0 / (alpha * X_tr.shape[0]), max_iter=20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(X_tr, y_tr)
    assert ours.score(X_te, y_te) >= svm.score(X_te, y_te) - 0.03
    assert not hasattr(ours, "predict_proba")


def test_multinomial_partial_fit_chunks_equal_one_epoch():
    X, y = _problem(seed=7)
    params = dict(loss="log_loss", multi_class="multinomial", shuffle=False, alpha=1e-3)
    whole = fastloss.SGDClassifier(max_iter=1, tol=None, **params).fit(X, y)
    chunked = fastloss.SGDClassifier(**params)
    for part in np.array_split(np.arange(y.shape[0]), 3):
        chunked.partial_fit(X[part], y[part], classes=np.unique(y))
    # equal but for rounding: the weight scale is folded in at every chunk's end
    np.testing.assert_allclose(chunked.coef_, whole.coef_, rtol=1e-7)
    np.testing.assert_allclose(chunked.intercept_, whole.intercept_, rtol=1e-7)
    assert chunked.t_ == whole.t_


def test_multinomial_early_stopping_and_string_labels():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.array([f"digit {d}" for d in range(10)])[y]
    model = fastloss.SGDClassifier(
        loss="log_loss", multi_class="multinomial", early_stopping=True, random_state=0
    ).fit(X, labels)
    unstopped = fastloss.SGDClassifier(loss="log_loss", multi_class="multinomial", tol=None)
    unstopped.set_params(max_iter=model.n_iter_ + 20, random_state=0).fit(X, labels)
    assert model.n_iter_ < 100
    assert set(model.predict(X)) <= set(labels)
    assert model.score(X, labels) >= unstopped.score(X, labels) - 0.02


def test_multinomial_clone_pickle_and_search():
    X, y = _problem(seed=9)
    model = fastloss.SGDClassifier(loss="log_loss", multi_class="multinomial", random_state=0)
    model.fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert clone(model).get_params()["multi_class"] == "multinomial"
    search = GridSearchCV(
        fastloss.SGDClassifier(loss="log_loss", random_state=0),
        {"multi_class": ["ovr", "multinomial"], "alpha": [1e-4, 1e-2]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["multi_class"] in ("ovr", "multinomial")


def test_multinomial_rejects_other_losses_clearly():
    X, y = _problem(n_samples=60, seed=10)
    model = fastloss.SGDClassifier(loss="squared_hinge", multi_class="multinomial")
    with pytest.raises(ValueError, match="multi_class='multinomial' needs loss='log_loss'"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="classification loss"):
        fastloss.SGDRegressor(loss=losses.Multinomial()).fit(X, y.astype(float))


def test_multinomial_n_jobs_2_reproducible_and_as_good():
    """Rows split over two threads, private copies averaged after each epoch."""
    X, y = _problem(n_samples=8000, n_features=20, n_classes=4, seed=11)
    params = dict(loss="log_loss", multi_class="multinomial", max_iter=5, tol=None)
    serial = fastloss.SGDClassifier(random_state=0, **params).fit(X, y)
    parallel = [fastloss.SGDClassifier(n_jobs=2, random_state=0, **params).fit(X, y) for _ in "ab"]
    np.testing.assert_array_equal(parallel[0].coef_, parallel[1].coef_)
    assert not np.array_equal(parallel[0].coef_, serial.coef_)  # threads really ran
    assert parallel[0].score(X, y) >= serial.score(X, y) - 0.01


def test_other_optimizers_train_one_vs_rest_per_class_and_reject_joint_losses():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=1.0, random_state=0)
    kw = {"optimizer": "adam", "batch_size": 8, "learning_rate": "constant", "random_state": 0}
    ovr = fastloss.SGDClassifier(**kw).fit(X, y)
    assert ovr.coef_.shape == (3, 2) and ovr.score(X, y) > 0.9
    # each class is its own binary problem: refitting class 0 alone gives its row
    alone = fastloss.SGDClassifier(**kw).fit(X, np.where(y == 0, 1, 0))
    assert np.corrcoef(alone.coef_[0], ovr.coef_[0])[0, 1] > 0.99
    before = pickle.dumps(ovr)
    with pytest.raises(ValueError, match="trains with plain SGD only"):
        ovr.set_params(multi_class="multinomial").fit(X, y)
    ovr.set_params(multi_class="ovr")
    assert pickle.dumps(ovr) == before
