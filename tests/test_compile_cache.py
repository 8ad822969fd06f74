"""A fresh process with a warm Numba cache fits without compiling anything."""

import textwrap

from _subprocess import compiled_in_fresh_process

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import scipy.sparse as sp

    import fastloss
    from fastloss.losses import Huber, LogLoss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    for data in (X, X.astype(np.float32), sp.csr_matrix(X), sp.csr_matrix(X.astype(np.float32))):
        fastloss.SGDClassifier(loss="log_loss", penalty="elasticnet", average=True,
                               max_iter=3).fit(data, y)
        fastloss.SGDClassifier(n_jobs=2, max_iter=3).fit(data, y3)
        fastloss.SGDRegressor(loss=Huber(), max_iter=3).fit(data, X[:, 2])
    LogLoss().loss([1.0], [0.5]), LogLoss().gradient([1.0], [0.5])
    """
)


def _run(cache_dir):
    return compiled_in_fresh_process(SCRIPT, cache_dir)


def test_second_process_compiles_nothing(tmp_path):
    first = _run(tmp_path)
    # the cold process compiles the epoch kernels (dense and CSR, both dtypes)...
    assert sum(name.startswith("sgd_epoch") for name in first) >= 4, first
    assert any(name.startswith("sgd_epoch_csr") for name in first), first
    # ...and writes them where the next process finds them
    assert any(tmp_path.rglob("*.nbi"))
    second = _run(tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"
