"""The mini-batch kernel is a cache hit in a fresh process, for every optimizer and schedule."""

import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import scipy.sparse as sp

    import fastloss
    from fastloss.optim import OPTIMIZERS, Cosine, LinearWarmup, StepDecay

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    schedules = ["optimal", LinearWarmup(Cosine(), 5), StepDecay(10)]
    for data in (X, sp.csr_matrix(X)):
        for name in OPTIMIZERS:
            for schedule in schedules:
                fastloss.SGDClassifier(loss="log_loss", optimizer=name, learning_rate=schedule,
                                       penalty="elasticnet", batch_size=3, max_iter=2).fit(data, y)
    """
)


@pytest.mark.slow
def test_second_process_compiles_nothing(tmp_path, compiled_in_fresh_process):
    first = compiled_in_fresh_process(SCRIPT, tmp_path)
    # one specialisation per input layout, whatever the optimizer and schedule
    assert sorted(n for n in first if n.startswith("minibatch_epoch")) == [
        "minibatch_epoch_csr",
        "minibatch_epoch_dense",
    ], first
    second = compiled_in_fresh_process(SCRIPT, tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"
