"""SGDRanker and the pairwise ranking losses, against independent references.

References: central finite differences (loss gradients), brute-force
enumeration of the valid pairs (the sampler), scikit-learn's ``LinearSVC`` on
the explicit pairwise differences (RankSVM solved exactly), scikit-learn's
``ndcg_score`` query by query (``score`` and the LambdaRank weights).
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import ndcg_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.svm import LinearSVC

from fastloss import SGDClassifier, SGDRanker, SGDRegressor
from fastloss._kernels import _layout as L
from fastloss._kernels.pair_epoch import draw_partners
from fastloss.linear_model._ranker import QueryLayout, query_codes
from fastloss.losses import (
    CLASSIFICATION_LOSSES,
    EXTRA_CLASSIFICATION_LOSSES,
    EXTRA_REGRESSION_LOSSES,
    RANKING_LOSSES,
    REGRESSION_LOSSES,
    Hinge,
    LogLoss,
    Loss,
    Pairwise,
    PairwiseHinge,
    PairwiseLogistic,
    PairwiseSquaredHinge,
    SmoothHinge,
    SquaredError,
)
from fastloss.optim import Cosine, Momentum


def ranking_data(n_queries=30, n_docs=20, n_features=8, noise=0.3, seed=0, levels=5):
    """Queries of documents whose relevance (0..levels-1) is a hidden linear
    score plus noise, cut at its quantiles; rows shuffled (not sorted by query)."""
    rng = np.random.default_rng(seed)
    n = n_queries * n_docs
    X = rng.normal(size=(n, n_features))
    w = rng.normal(size=n_features)
    latent = X @ w + noise * rng.normal(size=n)
    y = np.digitize(latent, np.quantile(latent, np.linspace(0, 1, levels + 1)[1:-1]))
    qid = np.repeat(np.arange(n_queries), n_docs)
    perm = rng.permutation(n)
    return X[perm], y[perm].astype(np.float64), qid[perm]


class SoftplusMargin(Loss):
    """A user-defined binary margin loss: softplus(threshold - y p)."""

    is_classification = True

    def __init__(self, threshold=1.0):
        self.threshold = threshold

    @staticmethod
    def sample_loss(y, p, threshold):
        z = threshold - y * p
        return z + np.log1p(np.exp(-z)) if z > 0 else np.log1p(np.exp(z))

    @staticmethod
    def sample_derivative(y, p, threshold):
        z = threshold - y * p
        return -y / (1.0 + np.exp(-z))


# ------------------------------------------------------------------- losses
@pytest.mark.parametrize(
    "loss",
    [
        PairwiseHinge(margin=0.5),
        PairwiseSquaredHinge(margin=2.0),
        PairwiseLogistic(),
        Pairwise(SmoothHinge(smoothness=0.7)),
        Pairwise(SoftplusMargin(threshold=0.5)),
    ],
    ids=repr,
)
def test_pairwise_gradient_matches_finite_differences(loss):
    rng = np.random.default_rng(1)
    diff = rng.uniform(-4, 4, size=200)
    target = rng.choice([-1.0, 1.0], size=200)
    h = 1e-6
    numeric = (loss.loss(target, diff + h) - loss.loss(target, diff - h)) / (2 * h)
    # away from the kinks of the hinges (|margin - target * diff| > 10 h)
    margin = {"margin": loss.get_params().get("margin", 0.0)}["margin"]
    smooth = np.abs(margin - target * diff) > 1e-4
    np.testing.assert_allclose(loss.gradient(target, diff)[smooth], numeric[smooth], atol=1e-5)


def test_pairwise_losses_are_binary_losses_of_differences():
    rng = np.random.default_rng(2)
    diff, target = rng.normal(size=50) * 3, rng.choice([-1.0, 1.0], size=50)
    hinge = np.maximum(0, 1.5 - target * diff)
    np.testing.assert_allclose(PairwiseHinge(margin=1.5).loss(target, diff), hinge)
    np.testing.assert_allclose(PairwiseSquaredHinge(margin=1.5).loss(target, diff), hinge**2)
    np.testing.assert_allclose(
        PairwiseLogistic().loss(target, diff), np.logaddexp(0, -target * diff), rtol=1e-12
    )
    np.testing.assert_allclose(
        Pairwise(LogLoss()).gradient(target, diff), PairwiseLogistic().gradient(target, diff)
    )


def test_pairwise_losses_stay_out_of_classifier_and_regressor():
    names = {**CLASSIFICATION_LOSSES, **EXTRA_CLASSIFICATION_LOSSES, **REGRESSION_LOSSES}
    names.update(EXTRA_REGRESSION_LOSSES)
    assert not set(RANKING_LOSSES) & set(names)
    assert set(RANKING_LOSSES) == {"pairwise_hinge", "pairwise_logistic", "pairwise_squared_hinge"}
    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.tile([0, 1], 10)
    for estimator in (SGDClassifier(loss=PairwiseHinge()), SGDRegressor(loss=PairwiseLogistic())):
        with pytest.raises(ValueError, match="SGDRanker"):
            estimator.fit(X, y)


def test_pairwise_needs_a_margin_loss():
    X, y, qid = ranking_data(n_queries=3, n_docs=5)
    with pytest.raises(ValueError, match="binary margin loss"):
        SGDRanker(loss=Pairwise(SquaredError())).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="regression"):
        SGDRanker(loss=SquaredError()).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="margin"):
        SGDRanker(loss=PairwiseHinge(margin=-1.0)).fit(X, y, qid=qid)


# ------------------------------------------------------------------ sampling
def _layout(seed=3):
    rng = np.random.default_rng(seed)
    n = 400
    relevance = rng.integers(0, 4, size=n).astype(np.float64)
    qid = rng.integers(0, 25, size=n) * 7 + 100  # ids need not be 0..n-1
    relevance[qid == qid[0]] = 2.0  # one query whose documents all tie: no pairs
    codes = query_codes(qid, n)
    rows = np.arange(n, dtype=np.int64)
    return QueryLayout.build(relevance, codes, rows), relevance, qid


def _valid_partners(layout, relevance, qid, a):
    i = layout.docs[a]
    return {
        b
        for b in range(layout.docs.shape[0])
        if qid[layout.docs[b]] == qid[i] and relevance[layout.docs[b]] != relevance[i]
    }


def test_sampler_draws_only_pairs_within_a_query_with_different_relevance():
    layout, relevance, qid = _layout()
    order = layout.anchors
    out = np.empty(order.shape[0] * 40, dtype=np.int64)
    draw_partners(layout.spans, layout.docs, order, 40, 7, out)
    anchors = np.repeat(order, 40)
    i, j = layout.docs[anchors], layout.docs[out]
    assert (qid[i] == qid[j]).all()
    assert (relevance[i] != relevance[j]).all()
    # the kernels' target: +1 exactly when the anchor is the more relevant
    anchor_first = out >= layout.spans[anchors, L.SPAN_TIE_END]
    np.testing.assert_array_equal(anchor_first, relevance[i] > relevance[j])
    # anchors are exactly the documents that have a partner
    tied = qid == qid[0]
    assert set(layout.docs[order]) == set(np.flatnonzero(~tied))


def test_sampler_all_pairs_and_uniform_draws():
    layout, relevance, qid = _layout()
    order = layout.anchors
    out = np.empty(int(layout.n_partners[order].sum()), dtype=np.int64)
    draw_partners(layout.spans, layout.docs, order, 0, 0, out)  # 0: every partner
    start = 0
    for a in order:
        m = layout.n_partners[a]
        found = out[start : start + m]
        assert len(set(found)) == m
        assert set(found) == _valid_partners(layout, relevance, qid, a)
        start += m
    # one anchor, many draws: every valid partner about equally often
    a = order[0]
    draws = np.empty(40_000, dtype=np.int64)
    draw_partners(layout.spans, layout.docs, np.array([a]), 40_000, 11, draws)
    counts = np.bincount(draws, minlength=layout.docs.shape[0])
    valid = sorted(_valid_partners(layout, relevance, qid, a))
    assert set(np.flatnonzero(counts)) == set(valid)
    expected = 40_000 / len(valid)
    assert np.abs(counts[valid] - expected).max() < 5 * np.sqrt(expected)


# ----------------------------------------------------------------- accuracy
def _explicit_pairs(X, y, qid):
    """Every pair (i more relevant than j) of every query, both orientations:
    the difference rows RankSVM is trained on."""
    diffs, labels = [], []
    for q in np.unique(qid):
        rows = np.flatnonzero(qid == q)
        i, j = np.meshgrid(rows, rows, indexing="ij")
        better = y[i] > y[j]
        d = X[i[better]] - X[j[better]]
        diffs += [d, -d]
        labels += [np.ones(len(d)), -np.ones(len(d))]
    return np.vstack(diffs), np.concatenate(labels)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_matches_exact_ranksvm_ndcg():
    X, y, qid = ranking_data(n_queries=60, n_docs=20, noise=1.0, seed=4)
    test = qid >= 40
    D, s = _explicit_pairs(X[~test], y[~test], qid[~test])
    alpha = 1e-3
    # RankSVM: alpha/2 ||w||^2 + mean pair hinge  ->  LinearSVC's C = 1 / (alpha n_pairs)
    svc = LinearSVC(C=1 / (alpha * len(s)), loss="hinge", fit_intercept=False, dual=True,
                    max_iter=100_000, tol=1e-6).fit(D, s)  # fmt: skip
    ranker = SGDRanker(alpha=alpha, max_iter=200, tol=1e-5, average=10, random_state=0)
    ranker.fit(X[~test], y[~test], qid=qid[~test])
    exact = SGDRanker(ndcg_k=10).fit(X[:40], y[:40])  # an estimator to score with
    exact.coef_ = svc.coef_.ravel()
    ndcg_exact = exact.score(X[test], y[test], qid=qid[test])
    ndcg_sgd = ranker.score(X[test], y[test], qid=qid[test])
    assert ndcg_sgd > ndcg_exact - 0.01
    cosine = ranker.coef_ @ exact.coef_ / np.linalg.norm(ranker.coef_) / np.linalg.norm(exact.coef_)
    assert cosine > 0.99

    # trained longer, SGD reaches RankSVM's objective (every pair weighs the same:
    # drawn pairs are reweighted, pair_epoch.pair_weight), and loss_curve_ reports it
    def objective(w):
        return alpha / 2 * w @ w + np.maximum(0, 1 - s * (D @ w)).mean()

    # (one drawn pair per document: noisier steps, averaged from the tenth epoch)
    for pairs, average, rel in [("all", 1, 0.01), (1, 10 * 800, 0.03)]:
        long = SGDRanker(alpha=alpha, max_iter=150, tol=None, average=average,
                         pairs_per_doc=pairs, random_state=0)  # fmt: skip
        long.fit(X[~test], y[~test], qid=qid[~test])
        assert objective(long.coef_) == pytest.approx(objective(exact.coef_), rel=rel)
    # every pair each epoch, no averaging: loss_curve_ is the objective along the way
    every = SGDRanker(alpha=alpha, max_iter=150, tol=None, pairs_per_doc="all", random_state=0)
    every.fit(X[~test], y[~test], qid=qid[~test])
    assert every.loss_curve_[-1] == pytest.approx(objective(exact.coef_), rel=0.01)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_drawn_pairs_reach_ranksvm_objective_with_skewed_relevance():
    """85 % of the documents irrelevant: an irrelevant anchor has few partners,
    a relevant one many, so uniform anchors alone would weigh pairs unevenly;
    the drawn pairs' weights (pair_epoch.next_pairs) restore RankSVM's mean."""
    rng = np.random.default_rng(14)
    X = rng.normal(size=(600, 6))
    latent = X @ rng.normal(size=6) + rng.normal(size=600)
    y = np.digitize(latent, np.quantile(latent, [0.85, 0.95])).astype(float)
    qid = np.repeat(np.arange(30), 20)
    D, s = _explicit_pairs(X, y, qid)
    alpha = 1e-2
    svc = LinearSVC(C=1 / (alpha * len(s)), loss="hinge", fit_intercept=False, dual=True,
                    max_iter=100_000, tol=1e-8).fit(D, s)  # fmt: skip

    def objective(w):
        return alpha / 2 * w @ w + np.maximum(0, 1 - s * (D @ w)).mean()

    ranker = SGDRanker(alpha=alpha, max_iter=300, tol=None, average=6000, random_state=0)
    ranker.fit(X, y, qid=qid)
    assert objective(ranker.coef_) == pytest.approx(objective(svc.coef_.ravel()), rel=3e-3)


@pytest.mark.parametrize("loss", ["pairwise_hinge", "pairwise_logistic", "pairwise_squared_hinge"])
def test_learns_the_hidden_order(loss):
    X, y, qid = ranking_data(seed=5)
    ranker = SGDRanker(loss=loss, random_state=0).fit(X, y, qid=qid)
    assert ranker.score(X, y, qid=qid) > 0.95
    assert ranker.loss_curve_.shape == (ranker.n_iter_,)
    assert ranker.intercept_.tolist() == [0.0]


@pytest.mark.parametrize(
    "params",
    [
        {"pairs_per_doc": "all"},
        {"pairs_per_doc": 3},
        {"pair_weighting": "ndcg"},
        {"penalty": "l1"},
        {"penalty": "elasticnet", "average": True},
        {"learning_rate": "adaptive", "eta0": 0.05},
        {"early_stopping": True},
        {"loss": Pairwise(SoftplusMargin())},
    ],
    ids=repr,
)
def test_every_option_trains(params):
    X, y, qid = ranking_data(seed=6)
    ranker = SGDRanker(random_state=0, **params).fit(X, y, qid=qid)
    assert ranker.score(X, y, qid=qid) > 0.93


def test_score_is_mean_of_sklearn_ndcg_per_query():
    rng = np.random.default_rng(7)
    sizes = [1, 1, 2, 5, 5, 12, 30]
    qid = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(len(qid), 4))
    y = rng.integers(0, 3, size=len(qid)).astype(float)
    y[qid == 4] = 0  # a query without relevant documents counts 0, as in ndcg_score
    y[qid == 0] = 2
    ranker = SGDRanker(random_state=0, ndcg_k=3, max_iter=5, tol=None).fit(X, y, qid=qid)
    scores = X @ ranker.coef_
    expected = []
    for q in range(len(sizes)):
        rows = qid == q
        if rows.sum() == 1:  # ndcg_score needs two documents; one alone is ranked perfectly
            expected.append(1.0 if y[rows][0] > 0 else 0.0)
        else:
            expected.append(ndcg_score(y[rows][None], scores[rows][None], k=3))
    perm = rng.permutation(len(qid))  # rows in any order
    assert ranker.score(X[perm], y[perm], qid=qid[perm]) == pytest.approx(np.mean(expected))


def test_ndcg_weights_are_the_change_of_ndcg_on_a_swap():
    rng = np.random.default_rng(8)
    relevance = rng.integers(0, 4, size=12).astype(float)
    codes = np.zeros(12, dtype=np.int64)
    layout = QueryLayout.build(relevance, codes, np.arange(12))
    scores = rng.normal(size=12)
    gains, discounts = layout.ndcg_gains(), layout.discounts(scores)
    base = ndcg_score(relevance[None], scores[None])
    for a, b in [(0, 5), (2, 11), (4, 7)]:
        i, j = layout.docs[a], layout.docs[b]
        swapped = scores.copy()
        swapped[[i, j]] = swapped[[j, i]]
        change = abs(ndcg_score(relevance[None], swapped[None]) - base)
        weight = abs(gains[a] - gains[b]) * abs(discounts[a] - discounts[b])
        assert weight == pytest.approx(change, abs=1e-12)


# ------------------------------------------------------------------- inputs
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_and_csr_train_alike(dtype):
    X, y, qid = ranking_data(seed=9)
    X = X.astype(dtype)
    X[np.abs(X) < 0.5] = 0.0
    params = dict(random_state=0, penalty="elasticnet", average=5, max_iter=8, tol=None)
    dense = SGDRanker(**params).fit(X, y, qid=qid)
    csr = SGDRanker(**params).fit(sp.csr_matrix(X), y, qid=qid)
    assert dense.coef_.dtype == dtype
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=rtol, atol=rtol * 1e-2)


def test_pickle_round_trip_and_partial_fit():
    X, y, qid = ranking_data(seed=10)
    ranker = SGDRanker(random_state=0)
    for part in np.array_split(np.unique(qid), 3):
        rows = np.isin(qid, part)
        ranker.partial_fit(X[rows], y[rows], qid=qid[rows])
    assert ranker.n_iter_ == 1 and ranker.loss_curve_.shape == (3,)
    assert ranker.score(X, y, qid=qid) > 0.9
    copy = pickle.loads(pickle.dumps(ranker))
    np.testing.assert_array_equal(copy.predict(X), ranker.predict(X))
    copy.partial_fit(X, y, qid=qid)
    assert copy.t_ > ranker.t_


def test_grid_search_over_queries_routes_qid():
    X, y, qid = ranking_data(n_queries=24, n_docs=10, seed=11)
    with sklearn.config_context(enable_metadata_routing=True):
        base = SGDRanker(random_state=0, max_iter=20)
        base = base.set_fit_request(qid=True).set_score_request(qid=True)
        search = GridSearchCV(base, {"alpha": [1e-4, 1e-1]}, cv=GroupKFold(n_splits=3))
        search.fit(X, y, qid=qid, groups=qid)
        # the same folds by hand: fit on the training queries, score the others
        manual = []
        for train, test in GroupKFold(n_splits=3).split(X, y, groups=qid):
            model = clone(base).set_params(alpha=1e-1).fit(X[train], y[train], qid=qid[train])
            manual.append(model.score(X[test], y[test], qid=qid[test]))
    assert search.cv_results_["mean_test_score"][1] == pytest.approx(np.mean(manual))


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X, y, q: (X, y, q[:-1]), "one query id per row"),
        (lambda X, y, q: (X, np.where(y == 0, -1.0, y), q), "non-negative"),
        (lambda X, y, q: (X, np.where(y == 0, np.nan, y), q), "NaN"),
        (lambda X, y, q: (X, y, np.where(q == 0, np.nan, q.astype(float))), "qid contains NaN"),
        (lambda X, y, q: (X, np.ones_like(y), q), "different relevance"),
    ],
)
def test_bad_input_is_refused_and_keeps_the_fitted_model(change, match):
    X, y, qid = ranking_data(n_queries=5, n_docs=8, seed=12)
    ranker = SGDRanker(random_state=0).fit(X, y, qid=qid)
    before = ranker.coef_.copy()
    X_bad, y_bad, qid_bad = change(X, y, qid)
    with pytest.raises(ValueError, match=match):
        ranker.fit(X_bad, y_bad, qid=qid_bad)
    np.testing.assert_array_equal(ranker.coef_, before)


@pytest.mark.parametrize(
    "params",
    [
        {"optimizer": "adam", "batch_size": 4, "eta0": 0.01},
        {"optimizer": Momentum(), "learning_rate": Cosine(decay_steps=5_000), "eta0": 0.01},
        {"optimizer": "adagrad", "penalty": "l1", "eta0": 0.1, "pair_weighting": "ndcg"},
    ],
    ids=repr,
)
def test_optimizers_train_on_pairs_dense_and_csr_alike(params):
    X, y, qid = ranking_data(seed=13)
    X[np.abs(X) < 0.3] = 0.0
    dense = SGDRanker(random_state=0, max_iter=15, tol=None, **params).fit(X, y, qid=qid)
    assert dense.score(X, y, qid=qid) > 0.93
    csr = SGDRanker(random_state=0, max_iter=15, tol=None, **params)
    csr.fit(sp.csr_matrix(X), y, qid=qid)
    # the CSR mini-batch kernel catches skipped weights up in closed form, with
    # the mean step size of a varying schedule (tests/test_kernel_pairs.py)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-4, atol=1e-6)
    # partial_fit continues the optimizer's state
    dense.partial_fit(X, y, qid=qid)
    assert dense._training_state.opt_state is not None


def test_unfitted_and_unsupported_settings():
    X, y, qid = ranking_data(n_queries=3, n_docs=5)
    with pytest.raises(NotFittedError):
        SGDRanker().predict(X)
    with pytest.raises(ValueError, match="average"):
        SGDRanker(optimizer="adam", average=True).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="two queries"):
        SGDRanker(early_stopping=True).fit(X, y)
    assert isinstance(SGDRanker(loss=Hinge()).fit(X, y, qid=qid).loss_function_, Pairwise)


# ------------------------------------------------------------------ harness
def test_harness_pairs_and_table():
    from fastloss.bench._ranking import Row, explicit_pairs, format_ranking, make_ranking_data

    X, y, qid = make_ranking_data(n_queries=4, n_docs=9, n_features=3, seed=1)
    D, s = explicit_pairs(X, y, qid)
    D_all, s_all = _explicit_pairs(X, y, qid)  # both orientations
    assert 2 * len(s) == len(s_all)
    # each pair once, oriented so that label * difference points to the more relevant
    positive = D * s[:, None]
    assert {tuple(np.round(r, 12)) for r in positive} == {
        tuple(np.round(r, 12)) for r in D_all[s_all > 0]
    }
    table = format_ranking([Row("t", "m", 0.9, "ref", 0.8, 1.0, 4.0, "n")])
    assert "| t | m | 0.9 | ref | 0.8 | 1 | 4 | 4.0x | n |" in table


RANKER_SCRIPT = """
import numpy as np
import scipy.sparse as sp
from fastloss import SGDRanker
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
y, qid = rng.integers(0, 3, size=60), np.repeat(np.arange(6), 10)
for rows in (X, sp.csr_matrix(X)):
    SGDRanker(max_iter=2, tol=None).fit(rows, y, qid=qid)
"""


@pytest.mark.slow
def test_second_process_compiles_nothing_subprocess(tmp_path, compiled_in_fresh_process):
    """The pair kernels reach their loss through the integer switch: cached on
    disk like the other kernels, a warm process fits without compiling."""
    first = compiled_in_fresh_process(RANKER_SCRIPT, tmp_path)
    assert any(name.startswith("pair_epoch_csr") for name in first), first
    second = compiled_in_fresh_process(RANKER_SCRIPT, tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"
