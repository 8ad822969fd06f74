"""Many small partial_fit calls leave the process's memory flat.

Run in a fresh interpreter, so that nothing else the test session allocates (or
frees) moves the figures.  Three measurements, each catching what the others
cannot:

* resident set size (``VmRSS``, current, not peak): native leaks anywhere, e.g.
  in compiled code or C extensions.  It moves in 4 KiB pages and ``malloc``
  keeps some freed memory, so its bound is loose: 2 MiB over 10,000 calls, i.e.
  a leak of about 200 bytes a call (one small leaked NumPy array) would fail it.
* ``tracemalloc``: Python objects and NumPy buffers still alive, to the byte;
  bound 100 KiB, about 10 bytes a call, beyond the 8 bytes a call that the
  documented training history (``loss_curve_``, one float64 an epoch) keeps.
* Numba's own allocation counters (``NUMBA_NRT_STATS``): arrays allocated inside
  compiled code and never freed; bound: none at all.

Measured here (Linux, Python 3.11, 2 cores): RSS +64 to +480 KiB, a one-off
settling during the first ~2,000 calls after the warm-up (sampled every 2,000
calls it then stayed within +20 KiB over 38,000 more); tracemalloc +2 to +8 KiB;
Numba 0.  Run ``pytest -s tests/test_memory.py`` to print the figures.
"""

import json
import os
import textwrap

import pytest

N_WARMUP, N_CALLS = 500, 10_000
RSS_BOUND = 2 * 2**20
PYTHON_BOUND = 100 * 2**10

SCRIPT = textwrap.dedent(
    """
    import gc, json, sys, time, tracemalloc

    import numpy as np
    import scipy.sparse as sp
    from numba.core.runtime import rtsys

    import fastloss

    N_WARMUP, N_CALLS = int(sys.argv[1]), int(sys.argv[2])


    def rss():
        # current resident set size, not the peak (VmHWM / ru_maxrss)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc/self/status")


    def numba_live():
        stats = rtsys.get_allocation_stats()
        return stats.alloc - stats.free


    rng = np.random.default_rng(0)
    batches = []
    for _ in range(50):
        X = rng.normal(size=(20, 10))
        X[rng.random(X.shape) < 0.5] = 0.0
        y = rng.integers(0, 3, 20)
        y[:3] = [0, 1, 2]
        batches.append((X, y, sp.csr_matrix(X), X[:, 0] + 0.1 * rng.normal(size=20)))

    # both kernels: a dense one-vs-rest classifier and a sparse regressor, alternately
    clf = fastloss.SGDClassifier(loss="log_loss", average=True)
    reg = fastloss.SGDRegressor(penalty="elasticnet")


    def run(n_calls, start):
        for i in range(start, start + n_calls):
            X, y, X_csr, target = batches[i % len(batches)]
            if i % 2 == 0:
                clf.partial_fit(X, y, classes=[0, 1, 2])
            else:
                reg.partial_fit(X_csr, target)


    tracemalloc.start()
    run(N_WARMUP, 0)  # compile / load caches, fill every lazily built structure
    gc.collect()
    rss0, py0, nb0 = rss(), tracemalloc.get_traced_memory()[0], numba_live()
    curve0 = clf.loss_curve_.nbytes + reg.loss_curve_.nbytes
    t0 = time.perf_counter()
    run(N_CALLS, N_WARMUP)
    seconds = time.perf_counter() - t0
    gc.collect()
    rss1, py1, nb1 = rss(), tracemalloc.get_traced_memory()[0], numba_live()
    curve1 = clf.loss_curve_.nbytes + reg.loss_curve_.nbytes
    assert curve1 - curve0 == 8 * N_CALLS, (curve0, curve1)
    assert clf.t_ + reg.t_ == (N_WARMUP + N_CALLS) * 20 + 2, (clf.t_, reg.t_)
    print(json.dumps(dict(
        rss_before=rss0, rss_after=rss1, python_before=py0, python_after=py1,
        numba_live_before=nb0, numba_live_after=nb1, seconds=seconds,
        curve_bytes=curve1 - curve0,
    )))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from /proc")
@pytest.mark.slow
def test_many_partial_fit_calls_leave_memory_flat(run_python):
    m = json.loads(run_python(SCRIPT, N_WARMUP, N_CALLS, timeout=300, NUMBA_NRT_STATS="1"))
    rss_growth = m["rss_after"] - m["rss_before"]
    # the recorded loss curve grows by design, one float64 a call
    python_growth = m["python_after"] - m["python_before"] - m["curve_bytes"]
    numba_growth = m["numba_live_after"] - m["numba_live_before"]
    print(
        f"\n{N_CALLS} partial_fit calls (after {N_WARMUP} warm-up) in {m['seconds']:.1f} s: "
        f"RSS {m['rss_before'] / 2**20:.2f} -> {m['rss_after'] / 2**20:.2f} MiB "
        f"({rss_growth / 2**10:+.1f} KiB, {rss_growth / N_CALLS:+.1f} B/call); "
        f"tracemalloc {m['python_before'] / 2**20:.3f} -> {m['python_after'] / 2**20:.3f} MiB "
        f"({python_growth / 2**10:+.1f} KiB, {python_growth / N_CALLS:+.2f} B/call); "
        f"Numba live allocations {m['numba_live_before']} -> {m['numba_live_after']}"
    )
    assert rss_growth < RSS_BOUND
    assert python_growth < PYTHON_BOUND
    assert numba_growth == 0
