"""Mini-batch epochs of every optimizer on sparse rows, against plain SGD.

``python -m fastloss.bench._sparse_minibatch`` builds a CSR matrix of random
rows (default 200,000 x 100,000, 50 non-zeros a row, log loss on a linear
model's labels) and times, in one process, one epoch of each optimizer rule at
``batch_size=32`` beside one epoch of plain SGD (``optimizer="sgd"``,
``batch_size=1``, its default schedule), each through ``SGDClassifier.fit``
with every other parameter at its default.  An epoch's time is ``(t_E -
t_1) / (E - 1)`` of two fits with ``max_iter`` E and 1 (``tol=None``), so that
validation and the first epoch's kernel load do not count; the fits of the
rules alternate with those of plain SGD, and the medians over ``--repeat``
rounds are printed with their ratio to plain SGD's.  The sparse mini-batch
kernel (``fastloss._kernels.minibatch_epoch``) is what it measures.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import scipy.sparse as sp

__all__ = ["RULES", "main", "random_csr", "time_epochs"]

#: The optimizer rules timed at batch 32, each beside plain SGD.
RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad")


def random_csr(n_samples: int, n_features: int, nnz_per_row: int, seed: int = 0):
    """CSR rows with ``nnz_per_row`` standard-normal values at uniform random
    columns (duplicates summed), and labels ``sign(X w + noise)`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    indptr = np.arange(0, n_samples * nnz_per_row + 1, nnz_per_row, dtype=np.int64)
    indices = rng.integers(0, n_features, size=n_samples * nnz_per_row)
    data = rng.standard_normal(n_samples * nnz_per_row)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    X.sum_duplicates()
    X.sort_indices()
    scores = X @ rng.standard_normal(n_features) + 0.5 * rng.standard_normal(n_samples)
    return X, (scores > 0).astype(np.int64)


def _fit_seconds(params: dict, X, y, max_iter: int) -> float:
    from fastloss import SGDClassifier

    model = SGDClassifier(max_iter=max_iter, tol=None, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start


def _epoch_seconds(params: dict, X, y, epochs: int) -> float:
    """Seconds of one epoch: ``(t_E - t_1) / (E - 1)``."""
    short = _fit_seconds(params, X, y, 1)
    long = _fit_seconds(params, X, y, epochs)
    return (long - short) / (epochs - 1)


def time_epochs(X, y, rules=RULES, batch_size: int = 32, repeat: int = 5, epochs: int = 3):
    """Median seconds of an epoch of each rule and of plain SGD beside it.

    Returns ``{rule: (rule_seconds, sgd_seconds)}``, each median over
    ``repeat`` rounds in which the rule's fits and plain SGD's alternate.
    """
    plain = {"optimizer": "sgd", "batch_size": 1}
    _fit_seconds(plain, X, y, 1)  # load the kernels before timing
    result = {}
    for rule in rules:
        params = {"optimizer": rule, "batch_size": batch_size}
        _fit_seconds(params, X, y, 1)
        rule_times, sgd_times = [], []
        for _ in range(repeat):
            sgd_times.append(_epoch_seconds(plain, X, y, epochs))
            rule_times.append(_epoch_seconds(params, X, y, epochs))
        result[rule] = (statistics.median(rule_times), statistics.median(sgd_times))
    return result


def main(argv=None) -> None:
    """Print the table (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m fastloss.bench._sparse_minibatch",
        description="Per-epoch time of each optimizer at batch 32 against plain SGD, CSR rows.",
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--nnz", type=int, default=50, help="non-zeros a row")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (median)")
    parser.add_argument("--epochs", type=int, default=3, help="E of (t_E - t_1) / (E - 1)")
    parser.add_argument("--rules", default=",".join(RULES), help="comma-separated optimizers")
    args = parser.parse_args(argv)
    X, y = random_csr(args.rows, args.features, args.nnz)
    print(
        f"CSR {args.rows:,} x {args.features:,}, {X.nnz / args.rows:.1f} non-zeros a row, "
        f"log loss, batch {args.batch_size}; ms an epoch, median of {args.repeat}"
    )
    print(f"{'optimizer':<10} {'rule':>8} {'plain SGD':>10} {'ratio':>7}")
    rules = tuple(r for r in args.rules.split(",") if r)
    for rule, (seconds, sgd) in time_epochs(
        X, y, rules, args.batch_size, args.repeat, args.epochs
    ).items():
        ratio = seconds / sgd
        print(f"{rule:<10} {seconds * 1e3:8.1f} {sgd * 1e3:10.1f} {ratio:6.2f}x", flush=True)


if __name__ == "__main__":
    main()
