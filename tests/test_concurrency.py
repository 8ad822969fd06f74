"""Fits running at the same time: in threads, nested in threads, then in a process pool.

The kernels are serial ``nogil`` Numba functions (no ``prange``, no threading
layer), so Python threads really do run them in parallel.  These tests pin
down what that must never change: a fit's result depends only on its data,
parameters and ``random_state``, never on what else runs at the same time, and
no fit writes into its caller's arrays.
"""

import json
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import Parallel, delayed
from sklearn.base import clone

import fastloss


def make_problem(n_samples=3000, n_features=40, n_classes=3, seed=0, density=1.0):
    """Standardised features (exact zeros below ``density``), labels and a real target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features))
    if density < 1.0:
        X[rng.random(X.shape) >= density] = 0.0
    W = rng.normal(size=(n_features, n_classes))
    scores = X @ W + 0.5 * rng.normal(size=(n_samples, n_classes))
    return X, scores.argmax(axis=1), scores[:, 0]


@pytest.fixture(scope="module")
def dense():
    return make_problem(seed=0)


@pytest.fixture(scope="module")
def sparse():
    X, y, target = make_problem(seed=1, density=0.1)
    return sp.csr_matrix(X), y, target


def fitted(est, X, y):
    return est.fit(X, y)


def assert_bitwise_equal(a, b):
    """coef_, intercept_, n_iter_ and t_ identical, bit for bit."""
    assert a.coef_.dtype == b.coef_.dtype
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert a.intercept_.tobytes() == b.intercept_.tobytes()
    assert a.n_iter_ == b.n_iter_ and a.t_ == b.t_


def jobs(dense, sparse):
    """(estimator, X, y): several losses, seeds, penalties, dense and sparse, all n_jobs=1."""
    common = dict(max_iter=40, tol=None)
    out = []
    for X, y, target in (dense, sparse):
        out += [
            (fastloss.SGDClassifier(random_state=0, **common), X, y),
            (fastloss.SGDClassifier("log_loss", random_state=1, average=True, **common), X, y),
            (
                fastloss.SGDClassifier(
                    "modified_huber", penalty="elasticnet", alpha=1e-3, random_state=2, **common
                ),
                X,
                y == 0,
            ),
            (fastloss.SGDRegressor(random_state=3, **common), X, target),
            (fastloss.SGDRegressor("huber", penalty="l1", random_state=4, **common), X, target),
            (
                fastloss.SGDRegressor(
                    "epsilon_insensitive", learning_rate="adaptive", random_state=5, **common
                ),
                X,
                target,
            ),
        ]
    return out


def test_concurrent_fits_in_threads_equal_serial_fits(dense, sparse):
    work = jobs(dense, sparse)
    serial = [fitted(clone(est), X, y) for est, X, y in work]
    for _ in range(2):  # twice: a race has two chances to show
        threaded = Parallel(n_jobs=4, backend="threading")(
            delayed(fitted)(clone(est), X, y) for est, X, y in work
        )
        assert len(threaded) == len(serial)
        for a, b in zip(threaded, serial, strict=True):
            assert_bitwise_equal(a, b)


@pytest.mark.parametrize("input_kind", ["dense", "sparse"])
def test_eight_threads_fitting_shared_read_only_data(dense, sparse, input_kind):
    X, y, _ = dense if input_kind == "dense" else sparse
    X = X.copy()
    y = y.copy()
    arrays = [X] if input_kind == "dense" else [X.data, X.indices, X.indptr]
    arrays.append(y)
    for a in arrays:
        a.flags.writeable = False  # any write into them would raise
    before = [a.copy() for a in arrays]
    params = dict(loss="log_loss", penalty="elasticnet", average=True, max_iter=30, tol=None)

    reference = fastloss.SGDClassifier(random_state=42, **params).fit(X, y)
    with ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(fitted, fastloss.SGDClassifier(random_state=42, **params), X, y)
            for _ in range(8)
        ]
        models = [f.result() for f in futures]

    assert len(models) == 8
    for m in models:
        assert_bitwise_equal(m, reference)
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not a.flags.writeable


def test_multiclass_n_jobs_2_fitted_from_several_threads():
    # each thread runs an estimator that itself spreads its classes over two
    # joblib threads: nested thread pools, all in one process
    X, y, _ = make_problem(n_classes=5, seed=2)
    seeds = [0, 1, 2, 3, 0, 1]
    params = dict(loss="hinge", max_iter=10, tol=None, average=10)
    serial = [fastloss.SGDClassifier(random_state=s, n_jobs=1, **params).fit(X, y) for s in seeds]
    with ThreadPoolExecutor(len(seeds)) as pool:
        futures = [
            pool.submit(fitted, fastloss.SGDClassifier(random_state=s, n_jobs=2, **params), X, y)
            for s in seeds
        ]
        models = [f.result() for f in futures]
    for m, ref in zip(models, serial, strict=True):
        assert m.coef_.shape == (5, X.shape[1])
        assert_bitwise_equal(m, ref)
    # the same seed gives the same model, whichever thread ran it
    assert_bitwise_equal(models[0], models[4])


# A fresh interpreter, so that "right after a parallel fit" is exactly that, and a
# hang (a fork-unsafe threading layer, a deadlocked pool) fails the test on a
# timeout instead of stalling the suite.
PROCESS_POOL_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from sklearn.model_selection import GridSearchCV
    from sklearn.datasets import make_classification
    import fastloss

    if __name__ == "__main__":
        X, y = make_classification(
            n_samples=800, n_features=12, n_informative=8, n_classes=4, random_state=0
        )
        # a one-vs-rest fit on two threads in the parent, first
        parent = fastloss.SGDClassifier(n_jobs=2, random_state=0).fit(X, y)
        assert parent.coef_.shape == (4, 12)

        grid = {"alpha": [1e-4, 1e-2], "loss": ["hinge", "log_loss"], "average": [False, True]}
        est = fastloss.SGDClassifier(max_iter=20, tol=None, random_state=0)
        result = {}
        for n_jobs in (2, 1):  # loky workers (the default backend), then serial
            search = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs).fit(X, y)
            result[n_jobs] = {
                "best_params": search.best_params_,
                "scores": search.cv_results_["mean_test_score"].tolist(),
            }
        # and the parent can still fit on threads after its pool ran
        again = fastloss.SGDClassifier(n_jobs=2, random_state=0).fit(X, y)
        result["refit_equal"] = bool(np.array_equal(again.coef_, parent.coef_))
        print(json.dumps(result))
    """
)


@pytest.mark.slow
def test_process_pool_search_after_a_threaded_fit(run_python):
    result = json.loads(run_python(PROCESS_POOL_SCRIPT, timeout=240))
    parallel, serial = result["2"], result["1"]
    assert parallel["best_params"] == serial["best_params"]
    # same compiled code, same seeds: the scores agree exactly
    assert parallel["scores"] == serial["scores"]
    assert result["refit_equal"]


FORK_SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import numpy as np
    import fastloss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = np.digitize(X[:, 0], [-0.5, 0.5])

    def fit_coef(seed):
        return fastloss.SGDClassifier(random_state=seed, max_iter=5, tol=None).fit(X, y).coef_

    if __name__ == "__main__":
        fastloss.SGDClassifier(n_jobs=2, random_state=0).fit(X, y)  # threads in the parent
        with mp.get_context("fork").Pool(2) as pool:
            forked = pool.map(fit_coef, [0, 1])
        assert all(np.array_equal(a, fit_coef(s)) for a, s in zip(forked, [0, 1]))
        print("ok")
    """
)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_fork_pool_after_a_threaded_fit(run_python):
    # the hazard docs/developer/architecture.rst records for GNU OpenMP kernels: a fork after the
    # parent ran parallel compiled code must not hang
    assert run_python(FORK_SCRIPT, timeout=120) == "ok"


class _BlasThreadsSeen:
    """A scikit-learn callback recording BLAS's thread counts at each epoch's end."""

    def __init__(self):
        self.seen = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        from threadpoolctl import threadpool_info

        if context.task_name == "epoch":
            self.seen.append(
                [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
            )
        return False


def test_blas_holds_one_thread_while_epochs_run_in_threads():
    # OpenBLAS threads woken between epochs would spin on the epoch threads' cores
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5_000, 20))
    y = (X[:, 0] > 0).astype(int)
    seen = _BlasThreadsSeen()
    fastloss.SGDClassifier(n_jobs=2, max_iter=3, tol=None).set_callbacks(seen).fit(X, y)
    assert len(seen.seen) == 3
    if any(p["user_api"] == "blas" for p in threadpool_info()):
        assert all(counts and set(counts) == {1} for counts in seen.seen), seen.seen
    # and the limit ends with the fit
    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    fastloss.SGDClassifier(n_jobs=2, max_iter=2, tol=None).fit(X, y)
    assert [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"] == before
