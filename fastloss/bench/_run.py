"""Run a suite: generate each dataset once, measure every case, collect results."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ._cold import ColdStart, measure_cold_start
from ._floors import Floors, measure_floors
from ._logistic import LogisticComparison, compare_with_logistic_regression
from ._measure import (
    EpochTiming,
    FitQuality,
    fit_quality,
    make_estimators,
    quiet_fit,
    time_epochs,
)
from ._shuffle_effect import ShuffleEffect, is_block_case, measure_shuffle_effect
from ._suites import Case, Dataset, DataSpec, make_dataset, suite

__all__ = ["BenchResult", "CaseResult", "Progress", "run"]


@dataclass
class CaseResult:
    """Everything measured for one case.

    Attributes
    ----------
    case : Case
    timing : EpochTiming
    sklearn, fastloss : FitQuality
    floors : Floors or None
        Memory floors of the case's dense ``X`` (``None`` for sparse data and
        for a case without fixed epochs).
    shuffle_effect : ShuffleEffect or None
        Block vs full reshuffle over several seeds (block-shuffle cases only).
    """

    case: Case
    timing: EpochTiming
    sklearn: FitQuality
    fastloss: FitQuality
    floors: Floors | None = None
    shuffle_effect: ShuffleEffect | None = None

    @property
    def metric(self) -> str:
        """``"acc"`` (held-out accuracy) or ``"R2"``."""
        return "R2" if self.case.data.task == "regression" else "acc"

    def floor_multiple(self, which: str) -> float | None:
        """fastloss's epoch time over the ``"stream"`` or ``"random"`` floor."""
        if self.floors is None:
            return None
        floor = getattr(self.floors, f"{which}_seconds")
        return self.timing.fastloss_seconds / floor

    def to_dict(self) -> dict:
        """A JSON-ready summary (medians, ratios and every raw repeat)."""
        case = self.case
        return {
            "name": case.name,
            "data": asdict(case.data),
            "params": case.params,
            "fastloss_only": case.fastloss_only,
            "sklearn_only": case.sklearn_only,
            "metric": self.metric,
            "sklearn_epoch_seconds": self.timing.sklearn_seconds,
            "fastloss_epoch_seconds": self.timing.fastloss_seconds,
            "speedup": self.timing.speedup,
            "timing_repeats": asdict(self.timing),
            "sklearn": asdict(self.sklearn),
            "fastloss": asdict(self.fastloss),
            "floors": None if self.floors is None else asdict(self.floors),
            "fastloss_over_stream_floor": self.floor_multiple("stream"),
            "fastloss_over_random_floor": self.floor_multiple("random"),
            "block_vs_full_reshuffle": None
            if self.shuffle_effect is None
            else self.shuffle_effect.to_dict(),
        }


@dataclass
class BenchResult:
    """One run of the harness.

    Attributes
    ----------
    suite : str
    epochs : int
        ``E`` of the epoch-time measurement (and of the scored fits).
    repeat : int
    cases : list of CaseResult
    cold_start : ColdStart or None
    logistic : LogisticComparison or None
        Multinomial SGD against one-vs-rest SGD and LogisticRegression, on
        the dataset of the suite's multinomial case.
    seconds : float
        Wall time of the whole run.
    min_time : float
        Shortest timed measurement (shorter fits were repeated within one).
    """

    suite: str
    epochs: int
    repeat: int
    cases: list[CaseResult] = field(default_factory=list)
    cold_start: ColdStart | None = None
    logistic: LogisticComparison | None = None
    seconds: float = 0.0
    min_time: float = 0.0

    @property
    def geometric_mean_speedup(self) -> float:
        """Geometric mean of the cases' speed-ups."""
        return float(np.exp(np.mean([np.log(c.timing.speedup) for c in self.cases])))

    def to_dict(self) -> dict:
        """The whole run as a JSON-ready dict."""
        cold = self.cold_start
        return {
            "suite": self.suite,
            "epochs": self.epochs,
            "repeat": self.repeat,
            "min_time": self.min_time,
            "seconds": self.seconds,
            "geometric_mean_speedup": self.geometric_mean_speedup if self.cases else None,
            "cases": [c.to_dict() for c in self.cases],
            "cold_start": None
            if cold is None
            else {
                **asdict(cold),
                "warm_ratio": cold.warm_ratio,
                "cold_cache_ratio": cold.cold_cache_ratio,
            },
            "multinomial_vs_logistic": None if self.logistic is None else self.logistic.to_dict(),
            "memory_measure": "tracemalloc peak during one fit (NumPy/Python allocations)",
        }


class Progress:
    """One line per step on a stream (stderr by default), with elapsed seconds.

    Parameters
    ----------
    stream : file-like, optional
        ``None`` means ``sys.stderr``.
    """

    def __init__(self, stream=None):
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        """Print ``message`` prefixed with the elapsed time."""
        elapsed = time.perf_counter() - self.start
        print(f"[{elapsed:7.1f} s] {message}", file=self.stream, flush=True)


def progress_bar(done: int, total: int, width: int = 20) -> str:
    """A text progress bar, ``done`` of ``total`` steps: ``|#####.....|  50%``.

    Plain characters, so that it reads the same in a terminal and in a CI log.
    """
    filled = round(width * done / total) if total else width
    percent = round(100 * done / total) if total else 100
    return f"|{'#' * filled}{'.' * (width - filled)}| {percent:3d}%"


#: Rows of the warm-up problems: enough for fastloss's parallel epochs (which
#: need a few thousand rows per thread) to load their kernels too.
WARM_UP_ROWS = 5_000

#: Shortest timed measurement of the ``datasets`` suite, whose bundled
#: datasets fit in about a millisecond: too short to time one fit at a time.
DATASETS_MIN_TIME = 0.05


def _warm_up(cases: Sequence[Case], random_state: int) -> None:
    """Fit every case's estimators once on a small problem of its kind.

    Loads (or compiles) every Numba specialisation before anything is timed.
    """
    for case in cases:
        spec = case.data
        tiny = DataSpec(
            spec.kind, WARM_UP_ROWS, min(spec.n_features, 50), spec.dtype, min(spec.nnz_per_row, 5)
        )
        data = make_dataset(spec if spec.is_bundled else tiny, random_state)
        for estimator in make_estimators(case, 2, random_state):
            quiet_fit(estimator, data.X_train, data.y_train)


def run_case(
    case: Case,
    data: Dataset,
    epochs: int,
    repeat: int,
    random_state: int,
    floors: bool,
    min_time: float = 0.0,
) -> CaseResult:
    """Measure one case: epoch times, objective, score, memory and floors, and
    for a block-shuffle case its effect on the objective and score.

    Parameters
    ----------
    case : Case
    data : Dataset
        Generated from ``case.data``.
    epochs, repeat, random_state : int
    floors : bool
        Measure the memory floors (dense data and fixed epochs only).
        A block-shuffle case is also fitted with both shuffles for ``repeat``
        seeds from ``random_state`` on (:mod:`._shuffle_effect`).
    min_time : float, default=0.0
        Shortest timed measurement (see :func:`fastloss.bench.time_epochs`).

    Returns
    -------
    CaseResult
    """
    timing = time_epochs(case, data, epochs, repeat, random_state, min_time)
    sk_quality, fl_quality = fit_quality(case, data, epochs, random_state)
    # floors bound an epoch: not a whole fit of a case without fixed epochs
    floors = floors and case.data.is_dense and case.fixed_epochs
    floor = measure_floors(data.X_train) if floors else None
    effect = None
    if is_block_case(case):
        seeds = list(range(random_state, random_state + repeat))
        effect = measure_shuffle_effect(case, data, epochs, seeds)
    return CaseResult(case, timing, sk_quality, fl_quality, floor, effect)


def run(
    suite_name: str = "quick",
    *,
    cases: Sequence[Case] | None = None,
    scale: float = 1.0,
    epochs: int = 5,
    repeat: int | None = None,
    random_state: int = 0,
    cold_start: bool = True,
    cold_cache: bool = True,
    floors: bool = True,
    logistic: bool = True,
    min_time: float | None = None,
    log: Callable[[str], None] | None = None,
) -> BenchResult:
    """Run a benchmark suite.

    Parameters
    ----------
    suite_name : {"quick", "full", "datasets"}, default="quick"
    cases : sequence of Case, optional
        Run these instead of the named suite's cases.
    scale : float, default=1.0
        Multiplies every dataset's training rows (see :func:`fastloss.bench.suite`).
    epochs : int, default=5
        ``E``: seconds per epoch are ``(t_E - t_1) / (E - 1)``.
    repeat : int, optional
        Alternating sklearn / fastloss measurement pairs per case; 3 for the
        quick and datasets suites, 5 for the full one.
    random_state : int, default=0
        Seeds the data and both estimators.
    cold_start : bool, default=True
        Measure import + first fit in fresh processes.
    cold_cache : bool, default=True
        With ``cold_start``, also measure it with an empty Numba cache.
    floors : bool, default=True
        Measure the streaming and random-order memory floors of dense cases.
    logistic : bool, default=True
        Compare multinomial SGD with one-vs-rest SGD and LogisticRegression on
        the data of the first multinomial case, if there is one.
    min_time : float, optional
        Shortest timed measurement in seconds: a shorter fit is repeated
        within each measurement and the mean kept.  By default
        :data:`DATASETS_MIN_TIME` for the ``datasets`` suite, 0 (one fit per
        measurement) for the others.
    log : callable, optional
        Called with a progress message as each step starts (see :class:`Progress`).

    Returns
    -------
    BenchResult
    """
    log = log or (lambda message: None)
    if repeat is None:
        repeat = 3 if suite_name in ("quick", "datasets") else 5
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1; got {repeat}.")
    if min_time is None:
        min_time = DATASETS_MIN_TIME if suite_name == "datasets" else 0.0
    cases = list(cases) if cases is not None else suite(suite_name, scale)
    start = time.perf_counter()
    result = BenchResult(suite_name, epochs, repeat, min_time=min_time)
    log(f"warming up {len(cases)} cases (Numba compile or cache load)")
    _warm_up(cases, random_state)
    datasets: dict[DataSpec, Dataset] = {}
    for i, case in enumerate(cases, start=1):
        if case.data not in datasets:
            log(f"generating {case.data.kind} {case.data.shape_label} {case.data.dtype}")
            datasets = {case.data: make_dataset(case.data, random_state)}  # keep one in memory
        log(
            f"{progress_bar(i - 1, len(cases))} case {i}/{len(cases)}: {case.name} "
            f"({case.data.shape_label})"
        )
        result.cases.append(
            run_case(case, datasets[case.data], epochs, repeat, random_state, floors, min_time)
        )
    multinomial = [c for c in cases if c.fastloss_only.get("multi_class") == "multinomial"]
    if logistic and multinomial:
        spec = multinomial[0].data
        log(f"multinomial vs LogisticRegression ({spec.shape_label})")
        data = datasets.get(spec) or make_dataset(spec, random_state)
        logistic_repeat = 1 if suite_name == "quick" else repeat
        result.logistic = compare_with_logistic_regression(
            data, epochs, logistic_repeat, random_state
        )
    if cold_start:
        log("cold start: import + first fit in fresh processes")
        parts = 1 if suite_name == "quick" else repeat
        result.cold_start = measure_cold_start(repeat, cold_cache, parts)
    result.seconds = time.perf_counter() - start
    return result
