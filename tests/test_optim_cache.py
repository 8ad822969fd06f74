"""The mini-batch kernel is a cache hit in a fresh process, for every optimizer and schedule."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import scipy.sparse as sp
    from numba.core import event

    compiled = []

    class Recorder(event.Listener):
        def on_start(self, ev):
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)

        def on_end(self, ev):
            pass

    event.register("numba:compile", Recorder())

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
    print(json.dumps({"compiled": compiled}))
    """
)


def _run(cache_dir):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["compiled"]


def test_second_process_compiles_nothing(tmp_path):
    first = _run(tmp_path)
    # one specialisation per input layout, whatever the optimizer and schedule
    assert sorted(n for n in first if n.startswith("minibatch_epoch")) == [
        "minibatch_epoch_csr",
        "minibatch_epoch_dense",
    ], first
    second = _run(tmp_path)
    assert second == [], f"recompiled in a warm-cache process: {second}"
