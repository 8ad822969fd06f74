"""Memory floors for one epoch over a dense ``X`` on this machine.

An SGD epoch must read every row of ``X`` once.  Two passes with (almost) no
arithmetic bound how fast any epoch can be here:

* *stream*: every row in storage order (hardware prefetchers at their best);
* *random*: every row in a random permutation, as a shuffled epoch reads them
  (bound by memory latency: one row at a time, no software prefetch).

fastloss's epoch time is reported as a multiple of each.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from .._config import jit

__all__ = ["Floors", "measure_floors"]


@jit(fastmath=True)
def _row_sums(X, order, out):  # pragma: no cover - compiled
    """``out[k] = sum(X[order[k]])``: one read of each listed row."""
    n_features = X.shape[1]
    for k in range(order.shape[0]):
        row = order[k]
        total = 0.0
        for j in range(n_features):
            total += X[row, j]
        out[k] = total


@dataclass
class Floors:
    """Seconds of one pass over ``X``.

    Attributes
    ----------
    stream_seconds : float
        Rows in storage order.
    random_seconds : float
        Rows in a random permutation.
    """

    stream_seconds: float
    random_seconds: float


def _median_pass(X: np.ndarray, order: np.ndarray, repeat: int) -> float:
    """Median seconds of ``repeat`` row-sum passes in ``order``."""
    out = np.empty(order.shape[0], dtype=np.float64)
    _row_sums(X, order[:2], out[:2])  # compile or load the specialisation
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        _row_sums(X, order, out)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_floors(X: np.ndarray, repeat: int = 5, random_state: int = 0) -> Floors:
    """Time a streaming and a random-order pass over the rows of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous
    repeat : int, default=5
        Each floor is the median of this many passes (alternating the two orders
        would not help: they run in a few milliseconds each).
    random_state : int, default=0

    Returns
    -------
    Floors
    """
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    sequential = np.arange(n, dtype=np.intp)
    permutation = np.random.default_rng(random_state).permutation(n).astype(np.intp)
    return Floors(
        stream_seconds=_median_pass(X, sequential, repeat),
        random_seconds=_median_pass(X, permutation, repeat),
    )
