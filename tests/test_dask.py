"""Scale-out on Dask: dask-ml's Incremental over dask arrays, GridSearchCV on the
Dask joblib backend, on a real LocalCluster with worker processes (127.0.0.1)."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from fastloss import SGDClassifier

REASON = "the Dask tests need the dask extra: pip install fastloss[dask]"
da = pytest.importorskip("dask.array", reason=REASON)
distributed = pytest.importorskip("distributed", reason=REASON)
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers", reason=REASON)
joblib = pytest.importorskip("joblib")

# A cluster of worker processes, each importing fastloss and loading its kernels:
# about 15 s, so outside the fast tier.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    """One cluster for the module: two worker processes, loopback only."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
    assert cluster.status.name == "closed"


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=6000, n_features=20, n_informative=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def test_incremental_over_chunked_dask_array_matches_in_memory_fit(client, data):
    X_train, X_test, y_train, y_test = data
    n_epochs = 3
    X_blocks = da.from_array(X_train, chunks=(500, X_train.shape[1]))
    y_blocks = da.from_array(y_train, chunks=500)
    assert X_blocks.numblocks[0] == 9
    # shuffle_blocks=False: dask-ml's default visits the blocks in a random order
    # (random_state=None), which made this comparison differ run to run.
    incremental = dask_ml_wrappers.Incremental(
        SGDClassifier(average=True, random_state=0), scoring="accuracy", shuffle_blocks=False
    )
    local = SGDClassifier(average=True, random_state=0)
    for _ in range(n_epochs):  # one partial_fit a block, the blocks in order, on the workers
        incremental.partial_fit(X_blocks, y_blocks, classes=[0, 1])
        for start in range(0, X_train.shape[0], 500):
            rows = slice(start, start + 500)
            local.partial_fit(X_train[rows], y_train[rows], classes=[0, 1])
    # 9 blocks of 500 rows, n_epochs times: every row seen n_epochs times
    assert incremental.estimator_.t_ == n_epochs * X_train.shape[0] + 1
    assert incremental.estimator_.loss_curve_.shape == (9 * n_epochs,)
    # the workers trained exactly the model the same partial_fit calls train in memory
    np.testing.assert_allclose(incremental.estimator_.coef_, local.coef_, rtol=1e-12)
    np.testing.assert_allclose(incremental.estimator_.intercept_, local.intercept_, rtol=1e-12)
    # and block-wise training is as good as a fit over the whole array, within
    # the spread of one fit over seeds (0.735-0.748 over seeds 0-4 here)
    in_memory = SGDClassifier(average=True, max_iter=n_epochs, tol=None, random_state=0)
    in_memory_accuracy = in_memory.fit(X_train, y_train).score(X_test, y_test)
    assert in_memory_accuracy > 0.7
    assert abs(incremental.score(X_test, y_test) - in_memory_accuracy) <= 0.03


def test_grid_search_on_the_dask_backend_matches_the_default_backend(client, data):
    X_train, _, y_train, _ = data
    grid = {"alpha": [1e-4, 1e-3, 1e-2], "loss": ["hinge", "log_loss"]}

    def search():
        return GridSearchCV(SGDClassifier(random_state=0), grid, cv=3).fit(X_train, y_train)

    default = search()
    with joblib.parallel_backend("dask"):
        on_dask = search()
    assert on_dask.best_params_ == default.best_params_
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], default.cv_results_["mean_test_score"]
    )
    # the fits really ran on the cluster's workers
    prefixes = client.run_on_scheduler(_task_prefixes)
    assert any("_fit_and_score" in prefix for prefix in prefixes), prefixes


def _task_prefixes(dask_scheduler):
    return list(dask_scheduler.task_prefixes)
