"""Property tests: invariances every fit should have, over generated data and settings.

Data are built with NumPy from a drawn seed (hypothesis draws only shapes, seeds
and settings), standardised so that SGD's steps stay moderate.  Tolerances are
stated per property: dense and sparse kernels differ only in how the dot product
is associated (the dense one is vectorised with ``fastmath`` reassociation), so
their models agree to rounding, not bit for bit.

Losses are the smooth ones (log loss, modified Huber, squared error, Huber),
except in the bit-for-bit pickle test: a hinge derivative jumps at the margin, so
a rounding difference of 1e-16 in a margin that happens to sit on the kink
changes a whole update, which is correct behaviour but not a property with a
tolerance.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastloss

# Deterministic in CI: the same examples on every run, no example database.
FEW = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SMOOTH_CLASSIFICATION = ["log_loss", "modified_huber", "squared_error", "huber"]
SMOOTH_REGRESSION = ["squared_error", "huber"]


# ------------------------------------------------------------------ data
def make_data(kind, n_samples, n_features, seed, n_classes=2, density=1.0):
    """Standardised X (with exact zeros when ``density < 1``) and a target.

    Classification targets have every one of ``n_classes`` classes at least once.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    if density < 1.0:
        X[rng.random(X.shape) >= density] = 0.0
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    if density < 1.0:
        # standardising moved the zeros; put sparsity back (scale stays ~1)
        X[rng.random(X.shape) >= density] = 0.0
    w = rng.normal(size=n_features)
    raw = X @ w + 0.3 * rng.normal(size=n_samples)
    if kind == "regression":
        return X, raw
    cuts = np.quantile(raw, np.linspace(0, 1, n_classes + 1)[1:-1])
    y = np.digitize(raw, cuts)
    # guarantee every class is present, whatever the quantiles did
    y[:n_classes] = np.arange(n_classes)
    return X, y


shapes = st.tuples(
    st.integers(5, 60),  # n_samples
    st.integers(1, 8),  # n_features
    st.integers(0, 2**32 - 1),  # seed
)

PENALTIES = ("l2", "l1", "elasticnet", None)
SCHEDULES = [
    dict(learning_rate="constant", eta0=0.01),
    dict(learning_rate="invscaling", eta0=0.05),
    dict(learning_rate="adaptive", eta0=0.05),
]
# "optimal" starts at a step of about alpha**-0.25 (Bottou's heuristic), meant for
# margin losses.  With squared error the weights grow geometrically (to 1e12 within
# 2-4 epochs here, as in scikit-learn); with Huber on real targets they stay finite
# but steps that large multiply a rounding difference by ~10 a step wherever the
# loss is curved (seen: 1e-16 -> 1e-7 in 4 epochs).  Either way no tolerance is
# meaningful, so "optimal" is drawn only for the margin losses.
OPTIMAL = dict(learning_rate="optimal", alpha=1e-3)
MARGIN_LOSSES = {"hinge", "log_loss", "modified_huber"}


@st.composite
def problems(draw, losses_for_classifier=SMOOTH_CLASSIFICATION, penalties=PENALTIES):
    """(estimator class, params, X, y) with X dense, some of it exactly zero."""
    n_samples, n_features, seed = draw(shapes)
    classifier = draw(st.booleans())
    density = draw(st.sampled_from([1.0, 0.6, 0.3]))
    if classifier:
        n_classes = draw(st.integers(2, min(4, n_samples)))
        X, y = make_data("classification", n_samples, n_features, seed, n_classes, density)
        Est, loss = fastloss.SGDClassifier, draw(st.sampled_from(losses_for_classifier))
    else:
        X, y = make_data("regression", n_samples, n_features, seed, density=density)
        Est, loss = fastloss.SGDRegressor, draw(st.sampled_from(SMOOTH_REGRESSION))
    schedules = SCHEDULES + [OPTIMAL] * (loss in MARGIN_LOSSES)
    params = dict(
        loss=loss,
        penalty=draw(st.sampled_from(penalties)),
        average=draw(st.sampled_from([False, True, 7])),
        random_state=draw(st.integers(0, 1000)),
        max_iter=draw(st.integers(1, 4)),
        tol=None,
        l1_ratio=0.3,
        **{"alpha": 1e-4, **draw(st.sampled_from(schedules))},
    )
    if params["penalty"] in ("l1", "elasticnet"):
        params["alpha"] = max(params["alpha"], 1e-3)
    return Est, params, X, y


def assert_same_model(a, b, rtol, coef_b=None):
    """coef_ and intercept_ equal to ``rtol`` relative to the model's size."""
    coef_b = b.coef_ if coef_b is None else coef_b
    size = max(np.abs(coef_b).max(initial=0.0), np.abs(b.intercept_).max(), 1.0)
    np.testing.assert_allclose(a.coef_, coef_b, rtol=rtol, atol=rtol * size)
    np.testing.assert_allclose(a.intercept_, b.intercept_, rtol=rtol, atol=rtol * size)


# ------------------------------------------------------------ properties
@FEW
@given(problems())
def test_dense_and_sparse_input_give_the_same_model(problem):
    Est, params, X, y = problem
    dense = Est(**params).fit(X, y)
    sparse = Est(**params).fit(sp.csr_matrix(X), y)
    assert sparse.coef_.dtype == dense.coef_.dtype == np.float64
    assert sparse.n_iter_ == dense.n_iter_ and sparse.t_ == dense.t_
    assert_same_model(sparse, dense, rtol=1e-10)


@FEW
@given(problems(), st.booleans())
def test_float32_agrees_with_float64(problem, sparse_input):
    Est, params, X, y = problem
    # a small constant step: large steps amplify float32 rounding chaotically
    params = {
        **params,
        "learning_rate": "constant",
        "eta0": 0.01,
        "max_iter": 3,
    }
    as_input = sp.csr_matrix if sparse_input else np.asarray
    f64 = Est(**params).fit(as_input(X), y)
    f32 = Est(**params).fit(as_input(X.astype(np.float32)), y)
    assert f64.coef_.dtype == np.float64
    assert f32.coef_.dtype == np.float32 and f32.intercept_.dtype == np.float32
    assert_same_model(f32, f64, rtol=2e-4)


@FEW
@given(problems(), st.randoms(use_true_random=False))
def test_permuting_columns_permutes_coef(problem, random):
    Est, params, X, y = problem
    perm = np.array(random.sample(range(X.shape[1]), X.shape[1]))
    original = Est(**params).fit(X, y)
    permuted = Est(**params).fit(np.ascontiguousarray(X[:, perm]), y)
    # the dense dot product is reassociated differently, hence a tolerance
    assert_same_model(permuted, original, rtol=1e-9, coef_b=original.coef_[..., perm])


@FEW
@given(problems(), st.data())
def test_partial_fit_over_chunks_equals_one_unshuffled_epoch(problem, data):
    Est, params, X, y = problem
    n_samples = X.shape[0]
    n_cuts = data.draw(st.integers(0, min(5, n_samples - 1)), label="n_cuts")
    cuts = sorted(
        data.draw(
            st.lists(st.integers(1, n_samples - 1), min_size=n_cuts, max_size=n_cuts, unique=True),
            label="cuts",
        )
    )
    # partial_fit has no early stopping and one epoch; "adaptive" is "constant" there
    params = {**params, "shuffle": False}
    online = Est(**params)
    extra = {"classes": np.unique(y)} if Est is fastloss.SGDClassifier else {}
    for rows in np.split(np.arange(n_samples), cuts):
        online.partial_fit(X[rows], y[rows], **extra)
    once = Est(**{**params, "max_iter": 1, "tol": None}).fit(X, y)
    assert online.t_ == once.t_ == n_samples + 1
    # the L2 scale is folded into the weights at chunk boundaries: equal to rounding
    assert_same_model(online, once, rtol=1e-9)


def _l1_chunk_case(Est):
    """Data on which the L1 truncation clips a weight at zero in the first chunk."""
    X = np.array([[0.22218151], [-0.4511837], [1.56635845], [0.16778136], [-1.50513762]])
    if Est is fastloss.SGDClassifier:
        return X, np.array([0, 1, 1, 0, 0]), {"loss": "log_loss", "classes": np.array([0, 1])}
    return X, np.array([0.001, -0.3, 0.8, 0.1, -0.7]), {"loss": "squared_error"}


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("Est", [fastloss.SGDClassifier, fastloss.SGDRegressor])
def test_partial_fit_chunks_keep_the_cumulative_l1_penalty(Est, penalty):
    X, y, extra = _l1_chunk_case(Est)
    loss = extra.pop("loss")
    params = dict(
        loss=loss,
        penalty=penalty,
        l1_ratio=0.5,
        alpha=1e-3,
        learning_rate="constant",
        eta0=0.01,
        shuffle=False,
    )
    online = Est(**params)
    online.partial_fit(X[:1], y[:1], **extra)
    online.partial_fit(X[1:], y[1:], **extra)
    once = Est(**params, max_iter=1, tol=None).fit(X, y)
    assert_same_model(online, once, rtol=1e-9)


@FEW
@given(problems(losses_for_classifier=["hinge", *SMOOTH_CLASSIFICATION]), st.booleans())
def test_predictions_survive_pickle_bit_for_bit(problem, sparse_input):
    Est, params, X, y = problem
    est = Est(**params).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    X_pred = sp.csr_matrix(X) if sparse_input else X
    methods = ["predict", "decision_function", "predict_proba", "predict_log_proba"]
    checked = 0
    for name in methods:
        if not hasattr(est, name):
            continue
        assert hasattr(restored, name)
        # assert_array_equal treats NaN == NaN and would not see -0.0 vs 0.0: compare bytes
        before, after = getattr(est, name)(X_pred), getattr(restored, name)(X_pred)
        assert before.dtype == after.dtype and before.shape == after.shape
        assert before.tobytes() == after.tobytes(), name
        checked += 1
    assert checked >= 1
    np.testing.assert_array_equal(restored.coef_, est.coef_)
    if params["loss"] in ("log_loss", "modified_huber"):
        assert hasattr(restored, "predict_proba")


@pytest.mark.parametrize("Est", [fastloss.SGDClassifier, fastloss.SGDRegressor])
def test_data_builder_gives_what_the_properties_assume(Est):
    # guards the generator itself: every class present, sparsity as asked
    kind = "classification" if Est is fastloss.SGDClassifier else "regression"
    X, y = make_data(kind, 5, 3, seed=0, n_classes=4, density=0.3)
    if kind == "classification":
        assert set(np.unique(y)) == {0, 1, 2, 3}
    assert np.all(np.isfinite(X)) and (X == 0).any()
