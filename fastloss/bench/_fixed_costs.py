"""Fixed per-fit costs: what a fit spends outside its epochs, fastloss against scikit-learn.

Run it as ``python -m fastloss.bench._fixed_costs [--scale S] [--repeat N]``.

Fixed cost
    A fit at ``max_iter=1`` minus one epoch, the epoch being
    ``(t_3 - t_1) / 2`` of fits at ``max_iter=3`` and ``max_iter=1``
    (``tol=None``, so exactly that many epochs run): validation, label
    encoding, targets, row orders, thread set-up and the attribute copies;
    on dense 500,000 x 100 rows, float64 and float32.
Whole fits
    The estimators' defaults (``max_iter=1000``, ``tol=1e-3``) on 2,000 x 20
    and 20,000 x 50 rows, where those costs are a large part of every fit (a
    ``GridSearchCV`` of small folds pays them once a fit).  Repeat ``r`` fits
    both libraries with ``random_state=r``: the epochs a fit runs before
    ``tol`` stops it vary with the seed (40-65 here), so one seed would
    compare shuffles, not costs; the mean epochs are reported beside.

Repeats alternate the libraries (fastloss, scikit-learn, fastloss, ...) in one
process and every number is a median over the repeats, so that slow phases of
a busy machine hit both sides.  Times are the process's CPU seconds by default
(``--clock cpu``): every fit here runs on one thread, and on a shared machine
CPU time is far steadier than wall time, whose noise (tens of milliseconds an
epoch) swamps a difference of two fits; ``--clock wall`` measures wall time.
Binary ``SGDClassifier`` (hinge) and ``SGDRegressor`` (squared error) on
standardised Gaussian rows.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["FixedCost", "format_fixed_costs", "main", "measure_fixed_costs"]


@dataclass
class FixedCost:
    """Median seconds of one measurement, both libraries.

    Attributes
    ----------
    name : str
        What was measured (estimator, data, fixed cost or whole fit).
    fastloss, sklearn : float
        Median seconds.
    epoch_fastloss, epoch_sklearn : float or None
        Median seconds of one epoch (fixed-cost rows only).
    epochs_fastloss, epochs_sklearn : float or None
        Mean epochs of a whole fit (whole-fit rows only).
    """

    name: str
    fastloss: float
    sklearn: float
    epoch_fastloss: float | None = None
    epoch_sklearn: float | None = None
    epochs_fastloss: float | None = None
    epochs_sklearn: float | None = None


def _data(n: int, d: int, dtype, task: str, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float64).astype(dtype, copy=False)
    scores = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)
    y = (scores > 0).astype(np.int64) if task == "classification" else scores
    return X, y


def _estimators(task: str):
    import sklearn.linear_model as sk

    import fastloss

    if task == "classification":
        return fastloss.SGDClassifier, sk.SGDClassifier
    return fastloss.SGDRegressor, sk.SGDRegressor


#: The clock of every measurement: ``time.process_time`` or ``time.perf_counter``.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = CLOCKS["cpu"]


def _timed_fits(make: Callable[[], object], X, y, min_time: float) -> float:
    """Mean seconds of as many fits of fresh ``make()`` estimators as last
    ``min_time``, garbage collection run before (a collection costs about
    0.1 s once scikit-learn and Numba are loaded) and paused during them."""
    fits, total = 0, 0.0
    gc.collect()
    gc.disable()
    try:
        while True:
            estimator = make()
            start = _clock()
            estimator.fit(X, y)
            total += _clock() - start
            fits += 1
            if total >= min_time:
                return total / fits
    finally:
        gc.enable()


def _fixed_cost(task: str, n: int, d: int, dtype, repeat: int, seed: int) -> FixedCost:
    X, y = _data(n, d, dtype, task, seed)
    classes = _estimators(task)
    one, three = [[], []], [[], []]
    for est in classes:  # warm-up: compiled kernels loaded, caches filled
        est(max_iter=1, tol=None, random_state=seed).fit(X, y)
    for _ in range(repeat):
        for which, est in enumerate(classes):
            one[which].append(
                _timed_fits(lambda e=est: e(max_iter=1, tol=None, random_state=seed), X, y, 0)
            )
            three[which].append(
                _timed_fits(lambda e=est: e(max_iter=3, tol=None, random_state=seed), X, y, 0)
            )
    fixed, epochs = [], []
    for which in range(2):
        epoch = [(t3 - t1) / 2 for t1, t3 in zip(one[which], three[which], strict=True)]
        epochs.append(statistics.median(epoch))
        fixed.append(statistics.median(one[which]) - epochs[-1])
    kind = f"{classes[0].__name__} {n:,} x {d} {np.dtype(dtype).name}"
    name = f"{kind}: fit at max_iter=1 minus an epoch"
    return FixedCost(name, fixed[0], fixed[1], epochs[0], epochs[1])


def _whole_fit(task: str, n: int, d: int, repeat: int, seed: int) -> FixedCost:
    X, y = _data(n, d, np.float64, task, seed)
    classes = _estimators(task)
    times, epochs = [[], []], [[], []]
    for est in classes:
        est(random_state=seed).fit(X, y)
    for r in range(repeat):
        for which, est in enumerate(classes):
            times[which].append(
                _timed_fits(lambda e=est, s=seed + r: e(random_state=s), X, y, 0.05)
            )
            epochs[which].append(est(random_state=seed + r).fit(X, y).n_iter_)
    name = f"{classes[0].__name__} {n:,} x {d} float64: whole default fit"
    mean_epochs = [float(np.mean(e)) for e in epochs]
    return FixedCost(
        name, statistics.median(times[0]), statistics.median(times[1]), None, None, *mean_epochs
    )


def measure_fixed_costs(
    scale: float = 1.0, repeat: int = 7, seed: int = 0, clock: str = "cpu"
) -> list[FixedCost]:
    """Every measurement of the module docstring.

    Parameters
    ----------
    scale : float, default=1.0
        Multiplies the 500,000 rows of the fixed-cost data (not the small fits).
    repeat : int, default=7
        Alternating repeats per measurement.
    seed : int, default=0
    clock : {"cpu", "wall"}, default="cpu"
        Process CPU time or wall time.

    Returns
    -------
    list of FixedCost
    """
    global _clock
    _clock = CLOCKS[clock]
    n_large = max(1_000, int(500_000 * scale))
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=None fits warn of convergence
        for task in ("classification", "regression"):
            for dtype in (np.float64, np.float32):
                results.append(_fixed_cost(task, n_large, 100, dtype, repeat, seed))
            for n, d in ((2_000, 20), (20_000, 50)):
                results.append(_whole_fit(task, n, d, repeat, seed))
    return results


def format_fixed_costs(results: Sequence[FixedCost]) -> str:
    """A Markdown table of :func:`measure_fixed_costs`'s results (milliseconds)."""
    lines = [
        "| measurement | fastloss ms | scikit-learn ms | ratio | an epoch / epochs: fl / sk |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.epoch_fastloss is not None:
            epoch = f"{r.epoch_fastloss * 1e3:.1f} / {r.epoch_sklearn * 1e3:.1f} ms"
        else:
            epoch = f"{r.epochs_fastloss:.1f} / {r.epochs_sklearn:.1f} epochs"
        ratio = r.fastloss / r.sklearn if r.sklearn > 0 else float("nan")
        lines.append(
            f"| {r.name} | {r.fastloss * 1e3:.2f} | {r.sklearn * 1e3:.2f} | {ratio:.2f} | {epoch} |"
        )
    lines.append("")
    lines.append(
        "ratio: fastloss / scikit-learn (below 1: fastloss costs less); medians of "
        "alternating repeats"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m fastloss.bench._fixed_costs``: print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m fastloss.bench._fixed_costs",
        description="Fixed per-fit costs of fastloss and scikit-learn's SGD estimators.",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="rows of the large data x S")
    parser.add_argument("--repeat", type=int, default=7, help="alternating repeats (default 7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock", choices=tuple(CLOCKS), default="cpu", help="CPU (default) or wall time"
    )
    args = parser.parse_args(argv)
    if not args.scale > 0 or args.repeat < 1:
        parser.error("--scale must be positive and --repeat at least 1")
    results = measure_fixed_costs(args.scale, args.repeat, args.seed, args.clock)
    print(format_fixed_costs(results))
    print(f"clock: {args.clock} time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
