"""A fresh process with a warm Numba cache fits without compiling anything."""

import json
import textwrap

import pytest

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


@pytest.mark.slow
def test_second_process_compiles_nothing(tmp_path, compiled_in_fresh_process):
    first = compiled_in_fresh_process(SCRIPT, tmp_path)
    # the cold process compiles the epoch kernels (dense and CSR, both dtypes)...
    assert sum(name.startswith("sgd_epoch") for name in first) >= 4, first
    assert any(name.startswith("sgd_epoch_csr") for name in first), first
    # ...and writes them where the next process finds them
    assert any(tmp_path.rglob("*.nbi"))
    second = compiled_in_fresh_process(SCRIPT, tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"


# Fits that load every kind of kernel, then count Numba context refreshes: the
# warm process must load without one (fastloss._config._KernelCache) and still
# compute what the compiling process computed.
LOAD_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import scipy.sparse as sp
    from numba.core.base import BaseContext

    refreshes = []
    refresh = BaseContext.refresh
    BaseContext.refresh = lambda self: (refreshes.append(1), refresh(self))[1]

    import fastloss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y3 = np.digitize(X[:, 1], [-0.5, 0.5])
    coefs = []
    for data in (X, sp.csr_matrix(X.astype(np.float32))):
        for model in (
            fastloss.SGDClassifier(loss="log_loss", max_iter=3, tol=None, random_state=0),
            fastloss.SGDClassifier(multi_class="multinomial", loss="log_loss", max_iter=3,
                                   tol=None, random_state=0),
            fastloss.SGDRegressor(optimizer="adam", batch_size=4, max_iter=3, tol=None,
                                  random_state=0),
        ):
            target = X[:, 2] if isinstance(model, fastloss.SGDRegressor) else y3
            coefs.append(model.fit(data, target).coef_.ravel().tolist())
    print(json.dumps({"refreshes": len(refreshes), "coefs": coefs}))
    """
)


@pytest.mark.slow
def test_warm_process_loads_without_refreshing_numba(tmp_path, run_python):
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    cold = json.loads(run_python(LOAD_SCRIPT, **env))
    assert cold["refreshes"] > 0  # compiling refreshes Numba's contexts
    warm = json.loads(run_python(LOAD_SCRIPT, **env))
    assert warm["refreshes"] == 0
    assert warm["coefs"] == cold["coefs"]  # the loaded code is the compiled code


# Editing a helper module (whose code LLVM inlines into the kernels calling it)
# recompiles its callers even when the edit keeps the file's size and
# modification time: tests/test_cache_hardening.py.
