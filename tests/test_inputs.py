"""Dense and sparse, float32 and float64, C and F order: the same model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression

import fastloss


@pytest.fixture(scope="module")
def sparse_classification():
    rng = np.random.default_rng(0)
    X = sp.random(300, 50, density=0.1, format="csr", random_state=1, dtype=np.float64)
    y = (X @ rng.normal(size=50) + 0.1 * rng.normal(size=300) > 0).astype(int)
    return X, y


SETTINGS = [
    dict(penalty="l2"),
    dict(penalty="l1", alpha=1e-3),
    dict(penalty="elasticnet", alpha=1e-3, l1_ratio=0.5),
    dict(penalty="l2", average=True),
    dict(penalty="elasticnet", alpha=1e-3, average=10),
    dict(penalty=None, learning_rate="invscaling", eta0=0.1),
]


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "csr_array"])
def test_sparse_equals_dense(sparse_classification, settings, fmt):
    X, y = sparse_classification
    params = dict(loss="log_loss", max_iter=5, tol=None, random_state=3, **settings)
    dense = fastloss.SGDClassifier(**params).fit(X.toarray(), y)
    X_fmt = sp.csr_array(X) if fmt == "csr_array" else X.asformat(fmt)
    sparse = fastloss.SGDClassifier(**params).fit(X_fmt, y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(sparse.predict(X_fmt), dense.predict(X.toarray()))


def test_l1_gives_exact_zeros(sparse_classification):
    X, y = sparse_classification
    est = fastloss.SGDClassifier(penalty="l1", alpha=0.02, random_state=0).fit(X, y)
    assert 0 < np.count_nonzero(est.coef_) < X.shape[1]
    est.sparsify()
    assert sp.issparse(est.coef_)
    est.densify()
    assert isinstance(est.coef_, np.ndarray)


def test_float32_stays_float32_and_agrees_with_float64():
    X, y = make_classification(n_samples=400, n_features=10, random_state=0)
    # a small step keeps SGD from amplifying float32 rounding chaotically
    params = dict(
        loss="log_loss", learning_rate="constant", eta0=0.01, max_iter=5, tol=None, random_state=0
    )
    f64 = fastloss.SGDClassifier(**params).fit(X, y)
    f32 = fastloss.SGDClassifier(**params).fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32 and f32.intercept_.dtype == np.float32
    assert f64.coef_.dtype == np.float64
    np.testing.assert_allclose(f32.coef_, f64.coef_, rtol=1e-3, atol=1e-4)


def test_fortran_order_equals_c_order():
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    params = dict(max_iter=5, tol=None, random_state=0)
    c = fastloss.SGDRegressor(**params).fit(np.ascontiguousarray(X), y)
    f = fastloss.SGDRegressor(**params).fit(np.asfortranarray(X), y)
    np.testing.assert_array_equal(c.coef_, f.coef_)


def test_reproducible_and_independent_of_n_jobs():
    X, y = make_classification(
        n_samples=600, n_features=15, n_informative=8, n_classes=4, random_state=0
    )
    fits = [fastloss.SGDClassifier(random_state=7, n_jobs=n).fit(X, y) for n in (1, 1, 2, -1)]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.coef_, fits[0].coef_)
        np.testing.assert_array_equal(other.intercept_, fits[0].intercept_)
    assert fits[0].coef_.shape == (4, 15)


def test_sample_weight_zero_equals_dropping_rows_without_shuffle():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    w = np.ones(200)
    w[::3] = 0.0
    params = dict(shuffle=False, max_iter=3, tol=None, penalty=None, learning_rate="constant")
    weighted = fastloss.SGDRegressor(**params).fit(X, y, sample_weight=w)
    dropped = fastloss.SGDRegressor(**params).fit(X[w > 0], y[w > 0])
    # a zero-weight sample makes no update (the step counter still advances,
    # which a constant step size ignores)
    np.testing.assert_allclose(weighted.coef_, dropped.coef_, rtol=1e-12)


def test_class_weight_shifts_the_boundary():
    X, y = make_classification(n_samples=600, weights=[0.9, 0.1], random_state=0)
    plain = fastloss.SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
    balanced = fastloss.SGDClassifier(loss="log_loss", class_weight="balanced", random_state=0).fit(
        X, y
    )
    as_dict = fastloss.SGDClassifier(
        loss="log_loss", class_weight={0: 1.0, 1: 1.0}, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(as_dict.coef_, plain.coef_)
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


@pytest.mark.parametrize("Est", [fastloss.SGDClassifier, fastloss.SGDRegressor])
def test_parallel_single_model_is_reproducible_and_as_good(Est):
    """n_jobs=2 on one model: private weight copies averaged after every epoch."""
    if Est is fastloss.SGDClassifier:
        X, y = make_classification(n_samples=8000, n_features=20, random_state=0)
    else:
        X, y = make_regression(n_samples=8000, n_features=20, noise=5.0, random_state=0)
        y = y / y.std()
    params = dict(max_iter=5, tol=None, random_state=0)
    serial = Est(**params).fit(X, y)
    parallel = [Est(n_jobs=2, **params).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(parallel[0].coef_, parallel[1].coef_)
    assert not np.array_equal(parallel[0].coef_, serial.coef_)  # threads really ran
    assert parallel[0].score(X, y) >= serial.score(X, y) - 0.01


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("settings", SETTINGS[:5], ids=str)
def test_parallel_epoch_equals_the_mean_of_private_copies(monkeypatch, settings, sparse):
    """Thread 0 trains the model's own arrays and the others copy only what the
    epoch writes (thread_weights); every epoch must still equal the mean of
    fully private copies, trained one after the other (parameter mixing)."""
    from fastloss.linear_model import _runners

    X, y = make_classification(n_samples=6000, n_features=12, random_state=0)
    X = _sparsified(X) if sparse else X
    parallel_epoch, checked = _runners.row_split_epoch, []

    def checked_epoch(pool, n_threads, order, weights, small, slots, hyper, run_part, *wait):
        copies = [[a.copy() for a in (*weights, small)] for _ in range(n_threads)]
        parts = np.array_split(order, n_threads)
        expected = [
            run_part(part, tuple(copy[:3]), copy[3])
            for part, copy in zip(parts, copies, strict=True)
        ]
        args = (pool, n_threads, order, weights, small, slots, hyper, run_part)
        results = parallel_epoch(*args, *wait)
        for k, array in enumerate(weights):
            np.testing.assert_array_equal(array, np.mean([c[k] for c in copies], axis=0))
        intercept = slots[0]
        assert small[intercept] == np.mean([c[3][intercept] for c in copies])
        assert results == expected
        checked.append(n_threads)
        return results

    monkeypatch.setattr(_runners, "row_split_epoch", checked_epoch)
    params = dict(loss="log_loss", max_iter=3, tol=None, random_state=0, n_jobs=2, **settings)
    model = fastloss.SGDClassifier(**params).fit(X, y)
    assert checked == [2, 2, 2] and model.score(X, y) > 0.8


def _sparsified(X):
    """X as CSR, its small entries dropped (about 40% of a standard normal)."""
    return sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "task",
    [
        dict(),  # binary: sgd_epoch
        dict(optimizer="adam", batch_size=4),  # minibatch_epoch
        dict(n_classes=3),  # one-vs-rest: multi_epoch
        dict(n_classes=3, multi_class="multinomial", loss="log_loss"),
    ],
    ids=["sgd", "minibatch", "ovr", "multinomial"],
)
def test_unit_weights_read_no_weights_and_train_the_same(monkeypatch, sparse, task):
    """Weights all 1 reach the kernels as an empty array (one random cache line a
    sample fewer); the kernels then train exactly as on an array of ones."""
    from fastloss.linear_model import _runners

    assert _runners.kernel_weights(np.ones(4)).shape == (0,)
    w = np.array([1.0, 1.0, 0.5])
    assert _runners.kernel_weights(w) is w
    task = dict(task)
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=task.pop("n_classes", 2),
        random_state=0,
    )  # fmt: skip
    X = _sparsified(X) if sparse else X
    params = dict(max_iter=3, tol=None, random_state=0, **task)
    unit = fastloss.SGDClassifier(**params).fit(X, y)
    monkeypatch.setattr(_runners, "kernel_weights", lambda sample_weight: sample_weight)
    ones = fastloss.SGDClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(unit.coef_, ones.coef_)
    np.testing.assert_array_equal(unit.intercept_, ones.intercept_)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_row_orders_are_uint32_and_int64_beyond_2_to_the_32(monkeypatch, sparse):
    """Kernels visit rows in a uint32 order (half the memory of int64); from 2**32
    rows on the order is int64, and trains exactly the same."""
    from fastloss._kernels.sgd_epoch import sgd_epoch_csr, sgd_epoch_dense
    from fastloss.linear_model import _runners

    rows = np.arange(5, dtype=np.int64)
    assert _runners.kernel_rows(rows, 5).dtype == np.uint32
    assert _runners.kernel_rows(rows, 2**32).dtype == np.int64
    X, y = make_classification(n_samples=300, n_features=8, random_state=0)
    X = _sparsified(X) if sparse else X
    params = dict(max_iter=3, tol=None, random_state=0)
    narrow = fastloss.SGDClassifier(**params).fit(X, y)
    kernel, position = (sgd_epoch_csr, 5) if sparse else (sgd_epoch_dense, 3)
    assert "uint32" in {str(sig[position].dtype) for sig in kernel.signatures}
    kernel_rows = _runners.kernel_rows
    monkeypatch.setattr(_runners, "kernel_rows", lambda idx, n: kernel_rows(idx, 2**32))
    wide = fastloss.SGDClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(narrow.coef_, wide.coef_)
    np.testing.assert_array_equal(narrow.intercept_, wide.intercept_)


def test_labels_travel_in_bit_31_of_the_order_only_when_all_are_plus_minus_one():
    from fastloss.linear_model import _runners

    rows = np.array([0, 2, 3], dtype=np.uint32)
    y = np.array([1.0, 1.0, -1.0, 1.0])
    packed_y, packed = _runners.kernel_targets(y, rows)
    assert packed_y.shape == (0,)
    np.testing.assert_array_equal(packed, [2**31, 2, 2**31 + 3])
    for y_other, rows_other in [
        (np.array([1.0, -1.0, 0.0, 1.0]), rows),  # a regression target of 0
        (np.array([1.0, 0.5, -1.0, 1.0]), rows),  # even in a row not trained on
        (y, rows.astype(np.int64)),  # from 2**32 rows on
        (y, np.array([0, 2**31], dtype=np.uint32)),  # a row that needs bit 31
    ]:
        got_y, got_rows = _runners.kernel_targets(y_other, rows_other)
        assert got_y is y_other and got_rows is rows_other


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize(
    "params",
    [dict(), dict(shuffle="block", average=True), dict(n_jobs=2, penalty="elasticnet")],
    ids=["full", "block-averaged", "n_jobs=2-elasticnet"],
)
def test_labels_read_from_the_order_train_the_same_model(monkeypatch, sparse, params):
    """Binary labels reach the plain SGD kernels in the order's bit 31, not in
    y; they train exactly the model that reading y trains (weighted or not)."""
    from fastloss.linear_model import _runners

    X, y = make_classification(n_samples=5000, n_features=8, random_state=0)
    X = _sparsified(X) if sparse else X
    weights = np.random.default_rng(0).uniform(0.5, 2.0, y.shape[0])
    seen = []
    run_epoch = _runners.run_linear_epoch

    def spy(X, y, *args):
        seen.append(y.shape[0])
        return run_epoch(X, y, *args)

    monkeypatch.setattr(_runners, "run_linear_epoch", spy)
    fit = dict(max_iter=3, tol=None, random_state=0, **params)
    packed = [fastloss.SGDClassifier(**fit).fit(X, y, sample_weight=w) for w in (None, weights)]
    assert set(seen) == {0}
    monkeypatch.setattr(_runners, "kernel_targets", lambda y, rows: (y, rows))
    seen.clear()
    plain = [fastloss.SGDClassifier(**fit).fit(X, y, sample_weight=w) for w in (None, weights)]
    assert set(seen) == {y.shape[0]}
    for a, b in zip(packed, plain, strict=True):
        np.testing.assert_array_equal(a.coef_, b.coef_)
        np.testing.assert_array_equal(a.intercept_, b.intercept_)
