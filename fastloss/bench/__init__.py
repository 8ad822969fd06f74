"""Benchmark harness: fastloss against scikit-learn, same data and settings.

Run it as ``python -m fastloss.bench [--quick] [--json PATH] [--png PATH]``, or
from Python::

    from fastloss.bench import run, format_report
    print(format_report(run("quick")))

``python -m fastloss.bench --suite datasets`` runs scikit-learn's bundled and
generated datasets, with the estimators' default stopping rule too;
``python -m fastloss.bench --scaling`` (:func:`run_scaling`) times the
parallel fits at 1, 2, 4, ... threads instead (``benchmarks/scaling.md``);
``python -m fastloss.bench --convergence`` (:func:`run_convergence`) draws each
solver's gap to the optimum against time (``docs/user_guide/solvers.rst``).

Every case fits both libraries' SGD estimator with the same loss, ``alpha``,
learning rate, ``random_state`` and number of epochs (``tol=None``), and
reports seconds per epoch, the speed-up (median of alternating pairs), the
training objective and held-out score of both models, their peak traced
memory, and, for dense data, fastloss's epoch as a multiple of two memory
floors measured on the same machine.  See ``benchmarks/suites.md``.
"""

from ._cold import ColdStart, measure_cold_start
from ._convergence import (
    ConvergenceResult,
    Curve,
    ProblemResult,
    convergence_figure,
    format_convergence,
    run_convergence,
    write_convergence_pngs,
)
from ._floors import Floors, measure_floors
from ._measure import EpochTiming, FitQuality, fit_quality, time_epochs, training_objective
from ._report import format_report, format_table, write_json, write_png
from ._run import BenchResult, CaseResult, Progress, run
from ._scaling import ScalingResult, format_scaling, run_scaling
from ._suites import Case, Dataset, DataSpec, make_dataset, suite

__all__ = [
    "BenchResult",
    "Case",
    "CaseResult",
    "ColdStart",
    "ConvergenceResult",
    "Curve",
    "DataSpec",
    "Dataset",
    "EpochTiming",
    "FitQuality",
    "Floors",
    "Progress",
    "ProblemResult",
    "ScalingResult",
    "convergence_figure",
    "fit_quality",
    "format_convergence",
    "format_report",
    "format_scaling",
    "format_table",
    "make_dataset",
    "measure_cold_start",
    "measure_floors",
    "run",
    "run_convergence",
    "run_scaling",
    "suite",
    "time_epochs",
    "training_objective",
    "write_json",
    "write_convergence_pngs",
    "write_png",
]
