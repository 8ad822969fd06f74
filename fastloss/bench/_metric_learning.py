"""Metric learning in ``python -m fastloss.bench --ranking``: the learners
against scikit-learn's ``NeighborhoodComponentsAnalysis`` on the same data.

- 5-nearest-neighbour accuracy on held-out rows in the learnt space, and fit
  time, of ``SGDMetricLearner()`` (its defaults) and
  ``NeighborhoodComponentsAnalysis()`` (its defaults) on scikit-learn's digits
  and on a synthetic 50-feature set (10 informative features, 5 classes of
  two clusters each) of 10,000 and 20,000 training rows (``--quick``: 5,000),
  5,000 held-out rows; both after ``StandardScaler``.
- verification: ROC AUC of ``SGDPairsMetricLearner`` on held-out digit pairs
  (same digit or not), beside the Euclidean distance on the same features
  and, where it installs and fits, metric-learn's ``MMC`` (metric-learn 0.7.0
  fails every fit on scikit-learn 1.9: the row says so).

NCA's iterations hold several n x n float64 arrays (13.1 GB resident at
20,000 rows, measured: the out-of-memory killer stopped it on a 23 GB machine
shared with other work); where the machine has less than twice that
available, the NCA fit is skipped and the row says so, giving NCA's time on 10,000 rows as a
lower bound of its time on 20,000.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..linear_model import SGDMetricLearner, SGDPairsMetricLearner
from ._ranking import Row

__all__ = ["metric_learning_rows", "make_metric_data"]

#: n x n float64 arrays NCA holds at its peak, rounded up (measured: 510 MB
#: above the data at 4,000 rows, 13.1 GB resident at 20,000 rows).
_NCA_ARRAYS = 5


def make_metric_data(n_samples, n_features=50, seed=0):
    """Labelled rows for metric learning: 10 informative features (the rest
    noise), 5 classes of two Gaussian clusters each, standardised.

    Returns
    -------
    X : float64 (n_samples, n_features)
    y : int64 (n_samples,)
    """
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=10, n_redundant=0,
        n_classes=5, n_clusters_per_class=2, class_sep=1.5, random_state=seed,
    )  # fmt: skip
    return StandardScaler().fit_transform(X), y


def _available_bytes():
    """MemAvailable of /proc/meminfo, or None where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _timed(fit):
    """``(result, wall seconds)``; the CPU seconds of the process go to ``_cpu``."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fit()
    _cpu.append(time.process_time() - cpu)
    return result, time.perf_counter() - start


#: CPU seconds of the ``_timed`` calls, newest last: on a shared machine the
#: wall-clock time of a fit includes waiting for a core, its CPU time does not.
_cpu: list[float] = []


def _knn_accuracy(model, train, test):
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=5).fit(model.transform(train[0]), train[1])
    return knn.score(model.transform(test[0]), test[1])


def _knn_row(task, train, test, seed, smaller_nca=None):
    """SGDMetricLearner against NCA: 5-NN accuracy and fit seconds.

    Where NCA does not fit in the memory available, it is skipped; with
    ``smaller_nca`` (the row of the same comparison on fewer rows) the row
    reports NCA's time there as a lower bound of its time here (its
    iterations cost O(n^2)), so the speed-up is a lower bound too.
    """
    from sklearn.neighbors import NeighborhoodComponentsAnalysis

    n = train[0].shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SGDMetricLearner(max_iter=1, tol=None).fit(*train)  # compile or load the kernels
        ours, seconds = _timed(lambda: SGDMetricLearner(random_state=seed).fit(*train))
    cpu = f"CPU s: fastloss {_cpu[-1]:.3g}"
    value = _knn_accuracy(ours, train, test)
    needed = _NCA_ARRAYS * n * n * 8
    available = _available_bytes()
    reference = "NeighborhoodComponentsAnalysis"
    if available is not None and needed > 0.5 * available:  # room for the machine's other work
        reference_value, ref_seconds = float("nan"), float("nan")
        note = (
            f"NCA skipped: it needs about {needed / 1e9:.0f} GB, "
            f"{available / 1e9:.0f} GB available; {cpu}"
        )
        if smaller_nca is not None:
            ref_seconds = smaller_nca.reference_seconds
            reference = f"NCA time on {smaller_nca.task.rsplit(', ', 1)[-1]} (a lower bound)"
    else:
        nca, ref_seconds = _timed(
            lambda: NeighborhoodComponentsAnalysis(random_state=seed).fit(*train)
        )
        reference_value = _knn_accuracy(nca, train, test)
        note = f"NCA {nca.n_iter_} iterations; {cpu}, NCA {_cpu[-1]:.3g}"
    return Row(
        task=f"{task}, {n:,} training rows",
        metric="5-NN accuracy (test rows)",
        fastloss_value=value,
        reference=reference,
        reference_value=reference_value,
        fastloss_seconds=seconds,
        reference_seconds=ref_seconds,
        note=f"fastloss {ours.n_iter_} epochs; {note}",
    )


def _digit_pairs(X, y, n_pairs, rng):
    """Random pairs of row indices, half of the same digit, labelled +1 / -1."""
    first = rng.integers(X.shape[0], size=n_pairs)
    second = np.empty(n_pairs, dtype=np.int64)
    same = rng.random(n_pairs) < 0.5
    for k in range(n_pairs):
        pool = np.flatnonzero((y == y[first[k]]) == same[k])
        second[k] = pool[rng.integers(pool.shape[0])]
    return np.column_stack([first, second]), np.where(y[first] == y[second], 1, -1)


def _verification_rows(X, y, seed):
    """ROC AUC on held-out pairs: the pairs learner, the Euclidean distance,
    metric-learn's MMC where it works."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    half = X.shape[0] // 2  # pairs of disjoint rows for training and testing
    train_pairs, train_y = _digit_pairs(X[:half], y[:half], 5_000, rng)
    test_pairs, test_y = _digit_pairs(X[half:], y[half:], 5_000, rng)
    test_pairs += half
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SGDPairsMetricLearner(preprocessor=X, max_iter=1, tol=None).fit(train_pairs, train_y)
        learner, seconds = _timed(
            lambda: SGDPairsMetricLearner(preprocessor=X, random_state=seed).fit(
                train_pairs, train_y
            )
        )
    euclid = -np.linalg.norm(X[test_pairs[:, 0]] - X[test_pairs[:, 1]], axis=1)
    reference, ref_value = "Euclidean distance", roc_auc_score(test_y, euclid)
    ref_seconds = float("nan")  # nothing to fit
    try:
        from metric_learn import MMC

        mmc, ref_seconds = _timed(
            lambda: MMC(preprocessor=X, random_state=seed).fit(train_pairs, train_y)
        )
        reference, ref_value = "metric-learn MMC", mmc.score(test_pairs, test_y)
        peer = "metric-learn MMC fitted"
    except ImportError:
        peer = "metric-learn not installed"
    except Exception as error:  # noqa: BLE001 (report the peer's failure, whatever it is)
        peer = f"metric-learn MMC failed: {type(error).__name__}: {error}"[:160]
    return [
        Row(
            task="verification, digits pairs (5,000 train / 5,000 held-out, disjoint rows)",
            metric="ROC AUC (held-out pairs)",
            fastloss_value=learner.score(test_pairs, test_y),
            reference=reference,
            reference_value=ref_value,
            fastloss_seconds=seconds,
            reference_seconds=ref_seconds,
            note=f"SGDPairsMetricLearner {learner.n_iter_} epochs; {peer}; "
            f"Euclidean ROC AUC {roc_auc_score(test_y, euclid):.4f}",
        )
    ]


def metric_learning_rows(quick: bool, seed: int) -> list[Row]:
    """The metric-learning comparisons of ``--ranking`` (a ``SECTIONS`` entry)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=seed, stratify=y
    )
    rows = [_knn_row("digits (64 features)", (X_train, y_train), (X_test, y_test), seed)]
    sizes = [5_000] if quick else [10_000, 20_000]
    X_syn, y_syn = make_metric_data(sizes[-1] + 5_000, seed=seed)
    test = (X_syn[-5_000:], y_syn[-5_000:])
    for n_train in sizes:
        rows.append(
            _knn_row(
                "synthetic, 50 features (10 informative), 5 classes x 2 clusters",
                (X_syn[:n_train], y_syn[:n_train]),
                test,
                seed,
                smaller_nca=rows[-1] if n_train > sizes[0] else None,
            )
        )
    rows.extend(_verification_rows(X, y, seed))
    return rows
