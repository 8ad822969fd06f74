"""Thread scaling: fastloss's parallel fits from one thread to many.

Three workloads, each at every thread count ``T`` asked for:

* *dense f64 hinge*, 500,000 x 100: one binary model, ``n_jobs=T`` threads on
  private weight copies averaged once an epoch.  scikit-learn cannot
  parallelise one model, so it fits single-threaded beside every ``T``;
* *sparse CSR hinge*, 200,000 x 100,000 with 50 non-zeros a row: the same, on
  text-like rows;
* *10-class one-vs-rest*, 100,000 x 100: every class served from one read of
  each row, the classes split over ``T`` threads; scikit-learn parallelises its
  one-vs-rest over classes too, so it gets the same ``n_jobs=T``.

Each point is one case of a :func:`fastloss.bench.run` call (no floors, no
cold start): alternating pairs of ``(t_E - t_1) / (E - 1)`` epochs, the ratio
taken pair by pair, and one untimed fit of each library for the training
objective and held-out accuracy: parameter mixing changes the single model
with ``T``, so the table shows what the speed costs.  The command line prints the table as Markdown,
for ``benchmarks/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ._run import CaseResult, run
from ._suites import Case, suite

__all__ = ["ScalingResult", "default_threads", "format_scaling", "run_scaling", "scaling_case"]

#: The workloads, in the order they run.
WORKLOADS = ("dense f64 hinge", "sparse CSR hinge", "10-class OvR")

#: The full suite's case each workload varies the threads of.
_SUITE_CASES = {
    "dense f64 hinge": "dense f64 hinge",
    "sparse CSR hinge": "sparse CSR hinge",
    "10-class OvR": "10-class OvR n_jobs=2",
}


def default_threads(cpu_count: int | None = None) -> list[int]:
    """1, 2, 4, ... up to the machine's logical CPUs, and that count itself.

    Parameters
    ----------
    cpu_count : int, optional
        ``os.cpu_count()`` when ``None``.
    """
    cpus = max(1, cpu_count or os.cpu_count() or 1)
    threads = [1]
    while threads[-1] * 2 <= cpus:
        threads.append(threads[-1] * 2)
    if threads[-1] != cpus:
        threads.append(cpus)
    return threads


def scaling_case(workload: str, threads: int, scale: float = 1.0) -> Case:
    """The full suite's case of one of :data:`WORKLOADS` (rows times ``scale``),
    at ``threads`` threads."""
    if workload not in _SUITE_CASES:
        raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}.")
    case = next(c for c in suite("full", scale) if c.name == _SUITE_CASES[workload])
    name, jobs = f"{workload} n_jobs={threads}", {"n_jobs": threads}
    if "n_jobs" in case.params:  # one-vs-rest: both libraries get the threads
        return replace(case, name=name, params={**case.params, **jobs})
    return replace(case, name=name, fastloss_only={**case.fastloss_only, **jobs})


@dataclass
class ScalingPoint:
    """One workload at one thread count.

    Attributes
    ----------
    workload : str
        One of :data:`WORKLOADS`.
    threads : int
    result : CaseResult
        Its timing (fastloss and scikit-learn, pair by pair) and both fits' quality.
    """

    workload: str
    threads: int
    result: CaseResult


@dataclass
class ScalingResult:
    """Every point of a scaling run.

    Attributes
    ----------
    threads : list of int
    epochs, repeat : int
    cpu_count : int
        Logical CPUs of the machine that ran it.
    points : list of ScalingPoint
    seconds : float
        Wall time of the run.
    """

    threads: list[int]
    epochs: int
    repeat: int
    cpu_count: int
    points: list[ScalingPoint] = field(default_factory=list)
    seconds: float = 0.0

    def over_one_thread(self, point: ScalingPoint) -> float | None:
        """fastloss's speed-up at ``point.threads`` over its own one-thread epoch
        (``None`` when the run has no one-thread point for that workload)."""
        for other in self.points:
            if other.workload == point.workload and other.threads == 1:
                one = other.result.timing.fastloss_seconds
                return one / point.result.timing.fastloss_seconds
        return None

    def to_dict(self) -> dict:
        """A JSON-ready summary, every raw repeat included."""
        return {
            "mode": "thread scaling",
            "threads": self.threads,
            "epochs": self.epochs,
            "repeat": self.repeat,
            "cpu_count": self.cpu_count,
            "seconds": self.seconds,
            "points": [
                {
                    "workload": p.workload,
                    "threads": p.threads,
                    "fastloss_over_one_thread": self.over_one_thread(p),
                    **p.result.to_dict(),
                }
                for p in self.points
            ],
        }


def run_scaling(
    threads: Sequence[int] | None = None,
    *,
    scale: float = 1.0,
    epochs: int = 5,
    repeat: int = 3,
    random_state: int = 0,
    log: Callable[[str], None] | None = None,
) -> ScalingResult:
    """Time the three workloads at every thread count.

    Parameters
    ----------
    threads : sequence of int, optional
        Thread counts, each at least 1; :func:`default_threads` when ``None``.
    scale : float, default=1.0
        Multiplies every dataset's training rows.
    epochs : int, default=5
    repeat : int, default=3
        Alternating scikit-learn / fastloss pairs per point.
    random_state : int, default=0
    log : callable, optional
        Called with a progress message as each step starts.

    Returns
    -------
    ScalingResult
    """
    threads = list(default_threads() if threads is None else threads)
    if not threads or min(threads) < 1:
        raise ValueError(f"thread counts must be at least 1; got {threads}.")
    points = [(workload, n) for workload in WORKLOADS for n in threads]
    measured = run(
        "full",
        cases=[scaling_case(workload, n, scale) for workload, n in points],
        epochs=epochs,
        repeat=repeat,
        random_state=random_state,
        cold_start=False,
        floors=False,
        logistic=False,
        log=log,
    )
    measured_points = [
        ScalingPoint(*p, case) for p, case in zip(points, measured.cases, strict=True)
    ]
    return ScalingResult(
        threads, epochs, repeat, os.cpu_count() or 1, measured_points, measured.seconds
    )


def format_scaling(result: ScalingResult) -> str:
    """The run as a Markdown table, one row a point, and a line of notes."""
    header = (
        "| workload | threads | fastloss ms/epoch | over 1 thread | scikit-learn ms/epoch "
        "| speed-up | fastloss objective | scikit-learn objective | accuracy fl / sk |"
    )
    lines = [header, "|" + " --- |" * 9]
    for p in result.points:
        r = p.result
        gain = result.over_one_thread(p)
        lines.append(
            f"| {p.workload} | {p.threads} | {r.timing.fastloss_seconds * 1e3:.1f} "
            f"| {'-' if gain is None else f'{gain:.2f}x'} "
            f"| {r.timing.sklearn_seconds * 1e3:.1f} | {r.timing.speedup:.2f}x "
            f"| {r.fastloss.objective:.4f} | {r.sklearn.objective:.4f} "
            f"| {r.fastloss.score:.4f} / {r.sklearn.score:.4f} |"
        )
    lines += [
        "",
        f"{result.cpu_count} logical CPUs; ms/epoch: (t_{result.epochs} - t_1) / "
        f"{result.epochs - 1}, median of {result.repeat} alternating pairs; speed-up: median "
        "pair-by-pair ratio scikit-learn / fastloss.  scikit-learn fits the single models "
        "(dense, sparse) with one thread, which is all it has for them, and one-vs-rest "
        "with the same n_jobs.",
        f"total wall time: {result.seconds:.1f} s",
    ]
    return "\n".join(lines)
